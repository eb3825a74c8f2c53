package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsEndpoint: with a token, /metrics answers only to it, and
// counts requests by route pattern, never by path.
func TestMetricsEndpoint(t *testing.T) {
	m := NewMain(io.Discard)
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Addr, m.DataDir, m.SubmitRate, m.LeaveURL, m.DatabaseURL = "127.0.0.1:0", t.TempDir(), 0, neutralSite(), ""
	m.MetricsToken = strings.Repeat("s3cret-", 6)
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", m.URL()+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get("/staff/reports/06h1snqcvesdihc0pr0m6qdubk", "")
	get("/api/v1/cases/06h1snqcvesdihc0pr0m6qdubk", "")
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := get("/metrics", "wrong"+m.MetricsToken); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	code, body := get("/metrics", m.MetricsToken)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{`canopy_http_requests_total{`, `route="/api/v1/cases/{id}"`, "canopy_audit_log_entries", "canopy_triage_open_reports"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "06h1snqcvesdihc0pr0m6qdubk") {
		t.Error("metrics name a report")
	}
}
