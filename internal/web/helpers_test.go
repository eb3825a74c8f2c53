package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

// env is a portal on a real SQLite database, reached over real HTTP.
type env struct {
	t       *testing.T
	dsn     string // the SQLite file
	db      *store.DB
	intake  *intake.Service
	support *support.Service
	srv     *server
	http    *httptest.Server
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var testNow = time.Date(2026, time.March, 2, 10, 30, 0, 0, time.UTC)

func newIntake(tb testing.TB) (*intake.Service, *store.DB) {
	svc, db, _ := newIntakeDSN(tb)
	return svc, db
}

// newIntakeDSN is newIntake on a fresh, migrated SQLite file, whose name
// it returns too.
func newIntakeDSN(tb testing.TB) (*intake.Service, *store.DB, string) {
	tb.Helper()
	dsn := storetest.NewDSN(tb, store.SQLite)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	keys, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return &intake.Service{DB: db, Keys: keys, Now: func() time.Time { return testNow }}, db, dsn
}

// newEnv starts a portal. Tests that do not test the rate limit get a
// limiter that never refuses.
func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	svc, db, dsn := newIntakeDSN(t)
	logs := &syncBuffer{}
	sup := &support.Service{DB: db, Keys: svc.Keys, Now: func() time.Time { return testNow }}
	cfg := Config{
		Intake:    svc,
		Support:   sup,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		Now:       func() time.Time { return testNow },
		RateLimit: limit.New(1<<30, 1<<30),
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{t: t, dsn: dsn, db: db, intake: svc, support: sup, srv: s, http: hs, logs: logs}
}

// browser is one browser session: it keeps cookies and remembers the last
// form token it saw.
type browser struct {
	e     *env
	c     *http.Client
	token string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if m := tokenRE.FindStringSubmatch(string(body)); m != nil {
		b.token = m[1]
	}
	return resp, string(body)
}

func (b *browser) get(path string, header ...string) (*http.Response, string) {
	b.e.t.Helper()
	req, err := http.NewRequest("GET", b.e.http.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// post sends a form as the browser would, with the session's token unless
// the form already has a "csrf" entry.
func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.e.t.Helper()
	if _, ok := form["csrf"]; !ok {
		if b.token == "" {
			b.get("/")
		}
		form.Set("csrf", b.token)
	}
	req, err := http.NewRequest("POST", b.e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// validReport is a report a child might send.
func validReport() url.Values {
	return url.Values{
		"reporter":    {"child"},
		"category":    {"grooming"},
		"description": {"A man in a game keeps asking my friend for photos."},
		"urls":        {"example.com/profile/123\r\n\r\nhttps://chat.example.org/room/9"},
		"platform":    {"BlockGame"},
		"accounts":    {"bad_guy_77"},
		"country":     {"FR"},
		"contact":     {"anon"},
		"lang":        {"en"},
	}
}

var receiptRE = regexp.MustCompile(`data-code="([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})"`)

// receiptOf returns the receipt code on a receipt page.
func receiptOf(t *testing.T, body string) string {
	t.Helper()
	m := receiptRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no receipt on the page:\n%s", body)
	}
	return m[1]
}

func clone(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
