package web

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/support"
)

// FuzzReportForm sends arbitrary form bodies to POST /report, through the
// whole portal and into a real SQLite database. Whatever arrives, the
// portal answers with a page, never a panic or an unexpected status. The
// anti-forgery token is valid (it comes first, so a token in the fuzzed
// body does not replace it) and the rate limit is off, so the fuzzer
// reaches the form decoding and intake rather than the guards.
//
// Seeds are in testdata/fuzz/FuzzReportForm. Run with
//
//	go test -run '^$' -fuzz FuzzReportForm -fuzztime 60s -fuzzminimizetime 3s ./internal/web/
//
// (The default minimisation time of a minute per new input leaves little
// time for fuzzing at this function's speed.)
func FuzzReportForm(f *testing.F) {
	svc, db := newIntake(f)
	s, err := newServer(Config{Intake: svc, Support: &support.Service{DB: db}, RateLimit: limit.New(1<<30, 1<<30)})
	if err != nil {
		f.Fatal(err)
	}
	session := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, tokenBytes))
	prefix := []byte("csrf=" + s.formToken(session) + "&")

	f.Add([]byte("reporter=child&category=grooming&description=hello&lang=en"))
	f.Add([]byte("reporter=child&category=csam&urls=example.com%0D%0A%0D%0Ajavascript:x&contact=yes&email=a@b"))

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/report", bytes.NewReader(append(prefix[:len(prefix):len(prefix)], body...)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "session", Value: session})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case 200, 303, 400, 403, 413, 422, 429:
		default:
			t.Fatalf("status %d for %q:\n%s", w.Code, body, w.Body.String())
		}
		if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("security headers missing for %q", body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("Content-Type %q for %q", ct, body)
		}
		if w.Code == http.StatusOK && !receiptRE.MatchString(w.Body.String()) {
			t.Fatalf("200 without a receipt for %q", body)
		}
		if rawKeyRE.MatchString(w.Body.String()) {
			t.Fatalf("untranslated key %v for %q", rawKeyRE.FindAllString(w.Body.String(), -1), body)
		}
	})
}
