package opsmetrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPMetrics counts requests and times them, by route pattern, method and
// status class.
type HTTPMetrics struct {
	requests *CounterVec
	duration *HistogramVec

	// routes caches each pattern's series, so that a request costs one
	// lookup of a short string rather than two of whole label sets. The
	// map is replaced, never changed.
	routes atomic.Pointer[map[string]*routeSeries]
	mu     sync.Mutex // serialises additions to routes
}

// routeSeries are one route's series, by method and status class, filled
// in on first use.
type routeSeries struct {
	route    string
	requests [len(methods)][len(statusClasses) + 1]atomic.Pointer[Counter]
	duration [len(methods)]atomic.Pointer[Histogram]
}

// NewHTTPMetrics registers canopy_http_requests_total and
// canopy_http_request_duration_seconds.
func NewHTTPMetrics(r *Registry) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: r.NewCounterVec("canopy_http_requests_total",
			"HTTP requests answered, by route pattern, method and status class.", "route", "method", "status"),
		duration: r.NewHistogramVec("canopy_http_request_duration_seconds",
			"Time to answer an HTTP request, by route pattern and method.", RequestBuckets, "route", "method"),
	}
	// Every pattern times every method and status class is a bounded
	// set, but a large one: a method-less catch-all pattern sees every
	// method a prober sends. The bound leaves room for all of it.
	m.requests.v.max, m.duration.v.max = httpMaxSeries, httpMaxSeries
	m.routes.Store(&map[string]*routeSeries{})
	return m
}

// httpMaxSeries bounds the request families' series: more than 300
// patterns with every method and status class.
const httpMaxSeries = 300 * len(methods) * (len(statusClasses) + 1)

// series returns the series of a ServeMux pattern.
func (m *HTTPMetrics) series(pattern string) *routeSeries {
	if s, ok := (*m.routes.Load())[pattern]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.routes.Load()
	if s, ok := old[pattern]; ok {
		return s
	}
	if len(old) >= DefaultMaxSeries {
		// Patterns come from the code, so this is never met; if it
		// were, the excess would count as no pattern.
		pattern = ""
		if s, ok := old[pattern]; ok {
			return s
		}
	}
	routes := make(map[string]*routeSeries, len(old)+1)
	for p, s := range old {
		routes[p] = s
	}
	s := &routeSeries{route: Route(pattern)}
	routes[pattern] = s
	m.routes.Store(&routes)
	return s
}

// observe counts one answered request.
func (m *HTTPMetrics) observe(pattern, method string, code int, d time.Duration) {
	s := m.series(pattern)
	mi, ci := methodIndex(method), statusIndex(code)
	c := s.requests[mi][ci].Load()
	if c == nil {
		// With returns the same counter to every caller, so two
		// requests racing here store the same pointer.
		c = m.requests.With(s.route, methods[mi], statusLabel(ci))
		s.requests[mi][ci].Store(c)
	}
	c.Inc()
	h := s.duration[mi].Load()
	if h == nil {
		h = m.duration.With(s.route, methods[mi])
		s.duration[mi].Store(h)
	}
	h.ObserveDuration(d)
}

// Wrap returns next, counted. The route is the pattern of the
// http.ServeMux that answered (r.Pattern, read after next returns, so the
// innermost mux's pattern when muxes are nested and pass the request on
// as they got it), without its method; a request no pattern matched is
// counted under "other". The path itself, which can hold a report id or a
// token, is never used.
//
// A nil *HTTPMetrics returns next as it is.
func (m *HTTPMetrics) Wrap(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// No recover: a panic goes on to net/http untouched, with its
		// stack, and is still counted, as a 5xx unless an answer was
		// already under way.
		panicked := true
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
				if panicked {
					code = http.StatusInternalServerError
				}
			}
			m.observe(r.Pattern, r.Method, code, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
		panicked = false
	})
}

// Route is the label for a ServeMux pattern: the pattern without its
// method ("GET /staff/reports/{id}" is "/staff/reports/{id}"), or Other
// when it is empty.
func Route(pattern string) string {
	if pattern == "" {
		return Other
	}
	// A pattern is [METHOD ][HOST]/[PATH]; the path begins with '/' and
	// a method never holds one.
	if i := strings.IndexAny(pattern, " \t"); i >= 0 && !strings.Contains(pattern[:i], "/") {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}

// methods are the method labels; the last is for every other method.
var methods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, Other}

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	}
	return len(methods) - 1
}

// Method is the label for a request method: one of the standard methods,
// or Other, since a client may send any token.
func Method(m string) string { return methods[methodIndex(m)] }

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// statusIndex is the index of a code's class in statusClasses, or
// len(statusClasses) for Other.
func statusIndex(code int) int {
	if code >= 100 && code < 600 {
		return code/100 - 1
	}
	return len(statusClasses)
}

func statusLabel(i int) string {
	if i < len(statusClasses) {
		return statusClasses[i]
	}
	return Other
}

// StatusClass is the label for a status code: "1xx" to "5xx", or Other.
func StatusClass(code int) string { return statusLabel(statusIndex(code)) }

// statusWriter notes the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers other than 101 are interim: the final status follows.
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming answers working for handlers that assert
// http.Flusher rather than use http.ResponseController.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the metrics to anyone who can reach it. It is for a
// listener of its own on an address only the operator's network reaches
// (such as 127.0.0.1:9464); on the node's public listener, use
// BearerHandler.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if req.Method == http.MethodHead {
			return
		}
		// A write error means the scraper went away; there is no one
		// left to tell.
		r.WriteTo(req.Context(), w)
	})
}

// MinTokenLength is the shortest token BearerHandler takes. The metrics
// endpoint has no rate limit of its own, so the token must be long
// enough that guessing it is hopeless.
const MinTokenLength = 32

// BearerHandler serves the metrics only to requests that carry
// "Authorization: Bearer <token>", for the node's public listener. The
// token is compared in constant time; a request without it, or with
// another, gets 401 and nothing else.
func (r *Registry) BearerHandler(token string) (http.Handler, error) {
	if len(token) < MinTokenLength {
		return nil, errors.New("metrics: the token must be at least 32 characters")
	}
	if strings.TrimSpace(token) != token || strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("metrics: the token must not contain spaces")
	}
	// Comparing digests keeps the comparison's time independent of
	// the lengths as well as of the bytes.
	want := sha256.Sum256([]byte(token))
	next := r.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := bearer(req.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	}), nil
}

// bearer returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110, 11.1).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// Server returns a server for a metrics listener of its own: GET /metrics
// answers without a token, every other path 404. The caller listens, calls
// Serve and, on the way down, Shutdown.
func (r *Registry) Server() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    8 << 10,
	}
}
