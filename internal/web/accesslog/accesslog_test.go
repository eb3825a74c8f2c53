package accesslog

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogsRouteNotRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("secret-in-panic? no: " + r.URL.Query().Get("x")) })
	h := Handler(log, "portal", mux)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/reports/r-12345?receipt=K7QM3XPA", nil)
	req.Header.Set("User-Agent", "AgentSecret")
	req.RemoteAddr = "203.0.113.9:5555"
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot {
		t.Fatalf("status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("panic answered %d", rec.Code)
	}
	out := buf.String()
	for _, want := range []string{`route="GET /reports/{id}"`, "status=418", "portal: panic", "status=500"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{"r-12345", "K7QM3XPA", "AgentSecret", "203.0.113.9"} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds %q:\n%s", leak, out)
		}
	}
}
