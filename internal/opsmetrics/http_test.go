package opsmetrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/opsmetrics"
)

// node builds a handler shaped like the node's: an outer mux handing
// prefixes to inner muxes, as cmd/canopy does with the workspace and the
// API, wrapped in the middleware.
func node(r *opsmetrics.Registry) http.Handler {
	staff := http.NewServeMux()
	staff.HandleFunc("GET /staff/reports/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a report") })
	staff.HandleFunc("POST /staff/reports/{id}/claim", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "conflict", http.StatusConflict)
	})
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/reports", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	api.HandleFunc("GET /api/v1/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	api.HandleFunc("GET /api/v1/late", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})
	api.HandleFunc("GET /api/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no flusher", http.StatusInternalServerError)
			return
		}
		f.Flush()
	})
	mux := http.NewServeMux()
	mux.Handle("/staff/", staff)
	mux.Handle("/api/", api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return opsmetrics.NewHTTPMetrics(r).Wrap(mux)
}

func TestMiddlewareLabels(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	h := node(r)
	// Identifiers that must never reach the output.
	const reportID, token, secretPath = "R-7K3M9QX2", "tok-5e1b2d8c", "/no-such-page-for-alice"
	requests := []struct {
		method, target string
		want           int
	}{
		{"GET", "/staff/reports/" + reportID + "?token=" + token, 200},
		{"GET", "/staff/reports/" + reportID, 200},
		{"POST", "/staff/reports/" + reportID + "/claim", 409},
		{"POST", "/api/v1/reports", 201},
		{"GET", "/healthz", 200},
		{"HEAD", "/healthz", 200},
		{"GET", secretPath, 404},
		{"DELETE", "/healthz", 405},
		{"BREW", "/healthz", 405},
		{"GET", "/api/v1/stream", 200},
	}
	for _, q := range requests {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(q.method, q.target, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (alice's laptop)")
		req.RemoteAddr = "203.0.113.77:4711"
		h.ServeHTTP(w, req)
		if w.Code != q.want {
			t.Fatalf("%s %s = %d; want %d", q.method, q.target, w.Code, q.want)
		}
	}
	for _, target := range []string{"/api/v1/boom", "/api/v1/late"} {
		func() {
			defer func() {
				if v := recover(); v == nil {
					t.Errorf("%s: the panic did not reach the server", target)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
		}()
	}

	e, text := scrape(t, r)
	for _, leak := range []string{reportID, token, secretPath, "alice", "203.0.113", "Mozilla", "BREW"} {
		if strings.Contains(text, leak) {
			t.Errorf("output holds %q:\n%s", leak, text)
		}
	}
	counts := []struct {
		route, method, status string
		want                  float64
	}{
		{"/staff/reports/{id}", "GET", "2xx", 2},
		{"/staff/reports/{id}/claim", "POST", "4xx", 1},
		{"/api/v1/reports", "POST", "2xx", 1},
		{"/healthz", "GET", "2xx", 1},
		{"/healthz", "HEAD", "2xx", 1},
		// No pattern matched: a 404 and a 405 come from the mux itself.
		{"other", "GET", "4xx", 1},
		{"other", "DELETE", "4xx", 1},
		{"other", "other", "4xx", 1},
		{"/api/v1/stream", "GET", "2xx", 1},
		// A panic before any answer is a 5xx; after one began, the
		// status already sent.
		{"/api/v1/boom", "GET", "5xx", 1},
		{"/api/v1/late", "GET", "2xx", 1},
	}
	total := 0.0
	for _, c := range counts {
		got := e.value(t, "canopy_http_requests_total", "route", c.route, "method", c.method, "status", c.status)
		if got != c.want {
			t.Errorf("requests{%s %s %s} = %v; want %v", c.route, c.method, c.status, got, c.want)
		}
		total += c.want
	}
	if n := len(e.families["canopy_http_requests_total"].samples); n != len(counts) {
		t.Errorf("%d request series; want %d:\n%s", n, len(counts), text)
	}
	if got := e.value(t, "canopy_http_request_duration_seconds_count", "route", "/staff/reports/{id}", "method", "GET"); got != 2 {
		t.Errorf("duration count for the report page = %v; want 2", got)
	}
	durations := 0.0
	for _, s := range e.families["canopy_http_request_duration_seconds"].samples {
		if s.name == "canopy_http_request_duration_seconds_count" {
			durations += s.value
		}
	}
	if durations != total {
		t.Errorf("%v requests timed; want %v", durations, total)
	}
}

func TestRouteMethodStatus(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "other",
		"/":                        "/",
		"GET /staff/reports/{id}":  "/staff/reports/{id}",
		"POST  /api/v1/reports":    "/api/v1/reports",
		"example.org/":             "example.org/",
		"GET example.org/x/{y...}": "example.org/x/{y...}",
	} {
		if got := opsmetrics.Route(in); got != want {
			t.Errorf("Route(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "other", "PROPFIND": "other", "": "other"} {
		if got := opsmetrics.Method(in); got != want {
			t.Errorf("Method(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[int]string{100: "1xx", 200: "2xx", 204: "2xx", 301: "3xx", 404: "4xx", 599: "5xx", 99: "other", 600: "other", 0: "other"} {
		if got := opsmetrics.StatusClass(in); got != want {
			t.Errorf("StatusClass(%d) = %q; want %q", in, got, want)
		}
	}
}

const goodToken = "0123456789abcdef0123456789abcdef-metrics"

func TestBearerHandler(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	r.NewCounter("test_scraped_total", "Scraped.").Inc()
	h, err := r.BearerHandler(goodToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, auth string
		want               int
	}{
		{"missing", "GET", "", 401},
		{"wrong", "GET", "Bearer " + strings.Repeat("x", len(goodToken)), 401},
		{"prefix of the token", "GET", "Bearer " + goodToken[:len(goodToken)-1], 401},
		{"token and more", "GET", "Bearer " + goodToken + "x", 401},
		{"basic scheme", "GET", "Basic " + goodToken, 401},
		{"no scheme", "GET", goodToken, 401},
		{"empty bearer", "GET", "Bearer ", 401},
		{"right", "GET", "Bearer " + goodToken, 200},
		{"scheme in lower case", "GET", "bearer " + goodToken, 200},
		{"head", "HEAD", "Bearer " + goodToken, 200},
		{"post", "POST", "Bearer " + goodToken, 405},
		{"post without token", "POST", "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/metrics", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.want {
				t.Fatalf("status %d; want %d", w.Code, c.want)
			}
			body := w.Body.String()
			switch c.want {
			case 401:
				if strings.Contains(body, "test_scraped_total") || w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 with metrics or without a challenge: %q", body)
				}
			case 200:
				if ct := w.Header().Get("Content-Type"); ct != opsmetrics.ContentType {
					t.Errorf("Content-Type %q", ct)
				}
				if c.method == "GET" && !strings.Contains(body, "test_scraped_total 1\n") {
					t.Errorf("body %q", body)
				}
				if c.method == "HEAD" && body != "" {
					t.Errorf("HEAD body %q", body)
				}
			}
		})
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", opsmetrics.MinTokenLength-1), goodToken + " ", "a b" + goodToken} {
		if _, err := r.BearerHandler(bad); err == nil {
			t.Errorf("BearerHandler(%q) took the token", bad)
		}
	}
}

func TestServer(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	r.NewGauge("test_up", "Up.").Set(1)
	srv := httptest.NewServer(r.Server().Handler)
	defer srv.Close()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/metrics/x": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, want)
		}
		if want == 200 {
			if _, err := parse(string(body)); err != nil || !strings.Contains(string(body), "test_up 1\n") {
				t.Errorf("GET %s: %v\n%s", path, err, body)
			}
		}
	}
}

func TestNilHooks(t *testing.T) {
	var m *opsmetrics.HTTPMetrics
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := m.Wrap(h); got == nil {
		t.Error("nil HTTPMetrics lost the handler")
	}
	var mm *opsmetrics.MatchMetrics
	mm.ObserveMatch(1) // must not panic
}

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmarkServe(b *testing.B, wrap bool) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /staff/reports/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	var h http.Handler = mux
	if wrap {
		h = opsmetrics.NewHTTPMetrics(opsmetrics.NewRegistry(nil)).Wrap(mux)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/staff/reports/R-7K3M9QX2", nil)
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkMux is the handler alone; BenchmarkMiddleware the same with
// the middleware. The difference is what the middleware costs a request.
func BenchmarkMux(b *testing.B)        { benchmarkServe(b, false) }
func BenchmarkMiddleware(b *testing.B) { benchmarkServe(b, true) }

// BenchmarkWrapOnly isolates the middleware: the handler does nothing and
// the request already carries its pattern, as a mux would leave it.
func BenchmarkWrapOnly(b *testing.B) {
	h := opsmetrics.NewHTTPMetrics(opsmetrics.NewRegistry(nil)).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/staff/reports/R-7K3M9QX2", nil)
		req.Pattern = "GET /staff/reports/{id}"
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}
