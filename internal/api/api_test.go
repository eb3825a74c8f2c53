package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// env is an API in front of a real database, with a clock that moves one
// second each time it is read and a log the test can search.
type env struct {
	t   testing.TB
	db  *store.DB
	svc *intake.Service
	api http.Handler // unwrapped
	h   http.Handler // checked against openapi.json
	log *syncBuffer

	cfg   Config // what api was made with
	keys  *seal.Keyring
	clock func() time.Time
}

// t0 is when the first report arrives.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, db *store.DB, lim *limit.Limiter) *env {
	keys, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now.Add(-time.Second)
	}
	if lim == nil {
		lim = limit.New(1e9, 1e9) // as the bench does: never refuse
	}
	e := &env{t: t, db: db, log: &syncBuffer{}, keys: keys, clock: clock}
	if db != nil {
		e.svc = &intake.Service{DB: db, Keys: keys, Now: clock}
	}
	e.serve(Config{Intake: e.svc, Logger: slog.New(slog.NewTextHandler(e.log, nil)), RateLimit: lim})
	return e
}

// serve puts a new API made with cfg in front of the env's database.
func (e *env) serve(cfg Config) {
	e.cfg = cfg
	e.api = New(cfg)
	e.h = conform(e.t, e.api)
}

// call is one request. Method defaults to POST, and a POST's
// Content-Type to application/json ("-" sends none).
type call struct {
	method, target, ctype, body string
	header                      map[string]string
	remote                      string
	unsized                     bool // send the body without Content-Length
	// conforms says whether the request must (+1) or must not (-1) be
	// valid against openapi.json: its body against the operation's
	// requestBody schema or, for an operation without a body, its query
	// and path parameters against the operation's parameters. 0 leaves it
	// unchecked, for values the schema cannot judge (an unassigned country
	// code).
	conforms int
}

func (e *env) do(c call) *httptest.ResponseRecorder {
	e.t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
	if c.method == http.MethodPost && c.ctype == "" {
		c.ctype = "application/json"
	}
	if c.ctype != "-" && c.ctype != "" {
		r.Header.Set("Content-Type", c.ctype)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	if c.unsized {
		r.ContentLength = -1
	}
	if c.conforms != 0 {
		d := mustDoc(e.t)
		var errs []string
		if d.takesBody(c.method, r.URL.Path) {
			errs = d.checkRequest(c.method, r.URL.Path, "application/json", []byte(c.body))
		} else {
			errs = d.checkParams(c.method, r.URL)
		}
		if c.conforms > 0 && len(errs) > 0 {
			e.t.Errorf("request meant to be valid does not conform to openapi.json: %q", errs)
		}
		if c.conforms < 0 && len(errs) == 0 {
			e.t.Errorf("request meant to be invalid conforms to openapi.json: %s %.200s", c.target, c.body)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// submit sends a report that must be accepted and returns its receipt.
func (e *env) submit(body string) reportCreated {
	e.t.Helper()
	rec := e.do(call{target: "/api/v1/reports", body: body, conforms: +1})
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	var rc reportCreated
	if err := json.Unmarshal(rec.Body.Bytes(), &rc); err != nil {
		e.t.Fatal(err)
	}
	return rc
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

// problemOf decodes a problem answer.
func problemOf(t testing.TB, rec *httptest.ResponseRecorder) problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (%d %s)", ct, rec.Code, rec.Body)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// fieldCodes lists a problem's errors as "field code", or "code" alone for
// the body as a whole.
func fieldCodes(p problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, strings.TrimSpace(e.Field+" "+e.Code))
	}
	return out
}

const minimal = `{"reporter":"child","category":"sextortion","description":"He says he will share my pictures."}`

const full = `{"reporter":"caregiver","category":"csam","flags":["urgent","ai_generated"],
	"description":"Line one\nLine two","urls":["https://example.com/a","example.org/b"],"platform":"ExampleChat",
	"accounts":["k1ngx"],"child_country":"FR","language":"fr",
	"contact":{"name":"Ana","email":"ana@example.org","phone":"+33 6 00 00 00 00"},
	"hashes":[{"algorithm":"sha256","value":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"algorithm":"pdq","value":"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"}]}`

// report returns a report body with the given members added to a valid
// minimal one; a description among them replaces the minimal one's.
func report(members string) string {
	if strings.Contains(members, `"description":`) {
		return `{"reporter":"child","category":"csam",` + members + `}`
	}
	return `{"reporter":"child","category":"csam","description":"x",` + members + `}`
}

func TestSubmit(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		var parts []string
		for i := range n {
			parts = append(parts, f(i))
		}
		return strings.Join(parts, ",")
	}
	big := `{"reporter":"child","category":"csam","description":"` + strings.Repeat("a", maxBody) + `"}`
	deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)

	tests := []struct {
		name string
		call
		status int
		code   string   // the problem's code
		errors []string // fieldCodes of the problem
		detail string   // a part of the first error's detail
	}{
		{name: "minimal", call: call{body: minimal, conforms: +1}, status: 201},
		{name: "every member", call: call{body: full, conforms: +1}, status: 201},
		{name: "charset", call: call{body: minimal, ctype: "application/json; charset=UTF-8", conforms: +1}, status: 201},
		{name: "null means absent", call: call{conforms: +1, body: report(`"flags":null,"urls":null,"platform":null,
			"accounts":null,"child_country":null,"language":null,"contact":null,"hashes":null`)}, status: 201},
		{name: "values are normalised", call: call{conforms: -1, body: report(`"child_country":" fr ",
			"hashes":[{"algorithm":"SHA1","value":"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}]`)}, status: 201},
		{name: "white space after the object", call: call{body: minimal + "\r\n\t ", conforms: +1}, status: 201},

		{name: "too large", call: call{body: big}, status: 413, code: canopy.ETOOLARGE},
		{name: "too large, no length", call: call{body: big, unsized: true}, status: 413, code: canopy.ETOOLARGE},
		{name: "no content type", call: call{body: minimal, ctype: "-"}, status: 415, code: codeUnsupportedMediaType},
		{name: "text/plain", call: call{body: minimal, ctype: "text/plain"}, status: 415, code: codeUnsupportedMediaType},
		{name: "form", call: call{body: "reporter=child", ctype: "application/x-www-form-urlencoded"}, status: 415, code: codeUnsupportedMediaType},
		{name: "latin-1", call: call{body: minimal, ctype: "application/json; charset=iso-8859-1"}, status: 415, code: codeUnsupportedMediaType},
		{name: "compressed", call: call{body: minimal, header: map[string]string{"Content-Encoding": "gzip"}}, status: 415, code: codeUnsupportedMediaType},

		{name: "empty body", call: call{body: ""}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONSyntax}, detail: "byte 0"},
		{name: "cut short", call: call{body: `{"reporter":"child",`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONSyntax}, detail: "byte 20"},
		{name: "missing colon", call: call{body: `{"reporter" "child"}`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONSyntax}, detail: "byte 12"},
		{name: "single quotes", call: call{body: `{'reporter':'child'}`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONSyntax}, detail: "byte 1"},
		{name: "trailing comma", call: call{body: `{"reporter":"child",}`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONSyntax}},
		{name: "invalid UTF-8", call: call{body: report(`"platform":"caf` + "\xe9" + `"`)}, status: 400, code: canopy.EINVALID,
			errors: []string{intake.KeyInvalidUTF8}},
		{name: "unknown member", call: call{body: report(`"nickname":"x"`), conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{"nickname " + keyJSONUnknownField}},
		{name: "unknown nested member", call: call{body: report(`"contact":{"name":"Ana","nick":"x"}`), conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{"contact.nick " + keyJSONUnknownField}},
		{name: "member in another case", call: call{body: `{"Reporter":"child","category":"csam","description":"x"}`, conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{"Reporter " + keyJSONUnknownField}},
		{name: "member twice", call: call{body: `{"reporter":"child","category":"csam","category":"other","description":"x"}`, conforms: 0},
			status: 400, code: canopy.EINVALID, errors: []string{"category " + keyJSONDuplicate}},
		{name: "wrong types", call: call{conforms: -1, body: `{"reporter":"child","category":"csam","flags":"urgent",
			"urls":[1,null],"description":5,"contact":"ana","hashes":[{"algorithm":1,"value":"x"}],"accounts":[["a"]]}`},
			status: 400, code: canopy.EINVALID, errors: []string{"flags " + keyJSONType, "urls[0] " + keyJSONType,
				"urls[1] " + keyJSONType, "description " + keyJSONType, "contact " + keyJSONType,
				"hashes[0].algorithm " + keyJSONType, "accounts[0] " + keyJSONType}, detail: "array"},
		{name: "an array, not an object", call: call{body: `[]`, conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONType}, detail: "object"},
		{name: "null, not an object", call: call{body: `null`, conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONType}},
		{name: "two objects", call: call{body: minimal + ` {}`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONTrailing}, detail: fmt.Sprint("byte ", len(minimal)+1)},
		{name: "garbage after the object", call: call{body: minimal + `x`}, status: 400, code: canopy.EINVALID,
			errors: []string{keyJSONTrailing}},
		{name: "deep nesting", call: call{body: report(`"description":` + deep), conforms: -1}, status: 400,
			code: canopy.EINVALID, errors: []string{"description " + keyJSONType}},
		{name: "deep nesting, unknown member", call: call{body: report(`"x":` + deep), conforms: -1}, status: 400,
			code: canopy.EINVALID, errors: []string{"x " + keyJSONUnknownField}},
		{name: "deep nesting, unclosed", call: call{body: `{"x":` + strings.Repeat("[", 60000)}, status: 400,
			code: canopy.EINVALID, errors: []string{keyJSONSyntax}},
		{name: "huge number", call: call{body: report(`"platform":1e999999999,"urls":[-123456789012345678901234567890]`), conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{"platform " + keyJSONType, "urls[0] " + keyJSONType}},
		{name: "many problems, listed up to a limit", call: call{body: `{` + many(30, func(i int) string { return fmt.Sprintf(`"x%d":1`, i) }) + `}`, conforms: -1},
			status: 400, code: canopy.EINVALID,
			errors: slices.Collect(func(yield func(string) bool) {
				for i := range maxFieldErrors {
					yield(fmt.Sprintf("x%d %s", i, keyJSONUnknownField))
				}
			})},
		{name: "long member name", call: call{body: report(`"` + strings.Repeat("é", 100) + `":1`), conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{strings.Repeat("é", 32) + "… " + keyJSONUnknownField}},
		{name: "empty member name", call: call{body: report(`"":1`), conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{`"" ` + keyJSONUnknownField}},
		{name: "null in a list", call: call{body: report(`"accounts":[null]`), conforms: -1}, status: 400,
			code: canopy.EINVALID, errors: []string{"accounts[0] " + keyJSONType}},

		{name: "nothing", call: call{body: `{}`, conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{"reporter " + intake.KeyRequired, "category " + intake.KeyRequired}},
		{name: "nothing to act on", call: call{body: `{"reporter":"child","category":"csam"}`}, status: 400,
			code: canopy.EINVALID, errors: []string{"description " + intake.KeyEmpty}},
		{name: "unknown codes", call: call{conforms: -1, body: `{"reporter":"platform","category":"child_porn",
			"flags":["urgent","urgent","nope"],"description":"x"}`}, status: 400, code: canopy.EINVALID,
			errors: []string{"reporter " + intake.KeyUnknownCode, "category " + intake.KeyUnknownCode,
				"flags[1] " + intake.KeyDuplicate, "flags[2] " + intake.KeyUnknownCode}},
		{name: "too many web addresses", call: call{body: report(`"urls":[` + many(21, func(i int) string {
			return fmt.Sprintf(`"https://example.com/%d"`, i)
		}) + `]`), conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{"urls " + intake.KeyTooMany}, detail: "20"},
		{name: "malformed web addresses", call: call{body: report(`"urls":["javascript:alert(1)","not a url",
			"https://example.com/ok","HTTPS://EXAMPLE.com/ok","http://localhost/"]`)}, status: 400, code: canopy.EINVALID,
			errors: []string{"urls[0] " + intake.KeyURLScheme, "urls[1] " + intake.KeyURLInvalid,
				"urls[3] " + intake.KeyDuplicate, "urls[4] " + intake.KeyURLInvalid}},
		{name: "control characters", call: call{body: report(`"description":"a\u0007b","platform":"x\u202ey",
			"accounts":["ok","\u0000"]`)}, status: 400, code: canopy.EINVALID,
			errors: []string{"description " + intake.KeyControlChars, "platform " + intake.KeyControlChars,
				"accounts[1] " + intake.KeyControlChars}},
		{name: "too long", call: call{body: report(`"description":"` + strings.Repeat("a", intake.MaxDescription+1) + `"`), conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{"description " + intake.KeyTooLong}, detail: "5000"},
		{name: "unsupported language", call: call{body: report(`"language":"de"`), conforms: -1}, status: 400,
			code: canopy.EINVALID, errors: []string{"language " + intake.KeyLanguage}},
		{name: "unassigned country", call: call{body: report(`"child_country":"XX"`)}, status: 400,
			code: canopy.EINVALID, errors: []string{"child_country " + intake.KeyCountry}},
		{name: "bad contact", call: call{body: report(`"contact":{"email":"nope","phone":"call me"}`), conforms: -1},
			status: 400, code: canopy.EINVALID, errors: []string{"contact.email " + intake.KeyEmailInvalid,
				"contact.phone " + intake.KeyPhoneInvalid}},
		{name: "bad hashes", call: call{body: report(`"hashes":[{"algorithm":"crc32","value":"00"},
			{"algorithm":"md5","value":"xyz"}]`), conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: []string{"hashes[0].algorithm " + intake.KeyHashAlgorithm, "hashes[1].value " + intake.KeyHashValue}},
		{name: "many bad values, listed up to a limit", call: call{body: report(`"hashes":[` + many(30, func(int) string {
			return `{"algorithm":"md5","value":"x"}`
		}) + `]`), conforms: -1}, status: 400, code: canopy.EINVALID,
			errors: slices.Collect(func(yield func(string) bool) {
				for i := range maxFieldErrors {
					yield(fmt.Sprintf("hashes[%d].value %s", i, intake.KeyHashValue))
				}
			})},
		{name: "unsupported ?lang", call: call{target: "/api/v1/reports?lang=xx", body: minimal, conforms: +1},
			status: 400, code: canopy.EINVALID, errors: []string{"lang " + intake.KeyLanguage}},
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		created := 0
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := *e
				e.t, e.h = t, conform(t, e.api)
				if tc.target == "" {
					tc.target = "/api/v1/reports"
				}
				rec := e.do(tc.call)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if tc.status == 201 {
					created++
					var rc reportCreated
					if err := json.Unmarshal(rec.Body.Bytes(), &rc); err != nil || rc.ID == "" || rc.Receipt == "" {
						t.Fatalf("answer %s: %v", rec.Body, err)
					}
					return
				}
				p := problemOf(t, rec)
				if p.Code != tc.code || p.Status != tc.status || p.Type != problemBase+tc.code {
					t.Errorf("problem %+v, want code %s", p, tc.code)
				}
				if got := fieldCodes(p); !slices.Equal(got, tc.errors) {
					t.Errorf("errors %q, want %q", got, tc.errors)
				}
				if tc.detail != "" && (len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Detail, tc.detail)) {
					t.Errorf("errors %+v, want the first to say %q", p.Errors, tc.detail)
				}
			})
		}
		// Nothing refused was stored, not even in part.
		if n, err := db.CountReports(context.Background()); err != nil || n != created {
			t.Errorf("%d reports stored (%v), want %d", n, err, created)
		}
		r, err := db.Report(context.Background(), e.submit(minimal).ID)
		if err != nil || r.Report.Channel != canopy.ChannelAPI || r.Report.Category != "sextortion" {
			t.Errorf("stored report %+v, %v", r, err)
		}
		// Refusing input is no failure of the node: nothing is logged.
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestProblemLanguage checks that problems speak the caller's language.
func TestProblemLanguage(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, tc := range []struct {
		target, accept, want string
	}{
		{"/api/v1/reports", "", "en"},
		{"/api/v1/reports?lang=fr", "", "fr"},
		{"/api/v1/reports?lang=ar", "es", "ar"},
		{"/api/v1/reports", "es-MX,es;q=0.9,en;q=0.5", "es"},
		{"/api/v1/reports", "de-DE", "en"},
		{"/api/v1/reports?lang=xx", "fr", "fr"}, // refused ?lang, still in the caller's language
	} {
		rec := e.do(call{target: tc.target, header: map[string]string{"Accept-Language": tc.accept}, body: `{"category":"csam"}`})
		p := problemOf(t, rec)
		c := i18n.Get(tc.want)
		if got := rec.Header().Get("Content-Language"); got != tc.want {
			t.Errorf("%s (%s): Content-Language %q, want %q", tc.target, tc.accept, got, tc.want)
		}
		if p.Detail != c.T(intake.KeyInvalid) || len(p.Errors) == 0 || p.Errors[0].Detail != c.T(p.Errors[0].Code) {
			t.Errorf("%s (%s): %+v not in %s", tc.target, tc.accept, p, tc.want)
		}
	}
}

func TestFollowupRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		rc := e.submit(full) // in French
		followup := func(target, receipt string) followupAnswer {
			t.Helper()
			rec := e.do(call{target: target, body: `{"receipt":"` + receipt + `"}`, conforms: +1})
			if rec.Code != 200 {
				t.Fatalf("followup: %d %s", rec.Code, rec.Body)
			}
			var f followupAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
				t.Fatal(err)
			}
			if rec.Header().Get("Content-Language") != f.Language {
				t.Errorf("Content-Language %q, body says %q", rec.Header().Get("Content-Language"), f.Language)
			}
			if f.Messages == nil {
				t.Error("messages is null, want a list")
			}
			return f
		}

		fr := i18n.Get("fr")
		f := followup("/api/v1/followup", rc.Receipt)
		want := followupAnswer{Status: canopy.StatusReceived, StatusName: fr.T("status.received.name"),
			StatusDescription: fr.T("status.received.desc"), Language: "fr", Received: "2026-11-27T10:00:00Z",
			Messages: []messageAnswer{}}
		if !jsonSame(f, want) {
			t.Errorf("followup %+v, want %+v", f, want)
		}

		// Accept-Language does not override the report's language.
		rec := e.do(call{target: "/api/v1/followup", header: map[string]string{"Accept-Language": "es"},
			body: `{"receipt":"` + rc.Receipt + `"}`})
		if rec.Header().Get("Content-Language") != "fr" {
			t.Errorf("Accept-Language es: Content-Language %q, want fr", rec.Header().Get("Content-Language"))
		}

		rec = e.do(call{target: "/api/v1/followup/messages", conforms: +1,
			body: `{"receipt":"` + rc.Receipt + `","body":"  He wrote again.\r\nPlease help. "}`})
		if rec.Code != 201 || rec.Body.Len() != 0 {
			t.Fatalf("message: %d %q", rec.Code, rec.Body)
		}
		if _, err := db.AppendEvent(ctx, &store.SealedEvent{Event: canopy.Event{ReportID: rc.ID,
			Kind: canopy.EventFirstLook, At: t0.Add(time.Hour), Actor: "analyst"}}); err != nil {
			t.Fatal(err)
		}

		// Case, dashes and look-alike letters do not matter in a receipt.
		typed := strings.ToLower(strings.ReplaceAll(rc.Receipt, "-", " "))
		typed = strings.ReplaceAll(strings.ReplaceAll(typed, "0", "o"), "1", "l")
		f = followup("/api/v1/followup?lang=es", typed)
		es := i18n.Get("es")
		want = followupAnswer{Status: canopy.StatusInReview, StatusName: es.T("status.in_review.name"),
			StatusDescription: es.T("status.in_review.desc"), Language: "es", Received: "2026-11-27T10:00:00Z",
			Messages: []messageAnswer{{At: "2026-11-27T10:00:01Z", From: "reporter", Body: "He wrote again.\nPlease help."}}}
		if !jsonSame(f, want) {
			t.Errorf("followup %+v, want %+v", f, want)
		}

		// Once the report's key is destroyed, the status stays and the
		// words go; it takes no more messages.
		if err := db.DestroyReportKey(ctx, rc.ID); err != nil {
			t.Fatal(err)
		}
		if f := followup("/api/v1/followup", rc.Receipt); f.Status != canopy.StatusInReview || len(f.Messages) != 0 {
			t.Errorf("followup of an erased report: %+v", f)
		}
		rec = e.do(call{target: "/api/v1/followup/messages", body: `{"receipt":"` + rc.Receipt + `","body":"hello?"}`})
		if p := problemOf(t, rec); rec.Code != 409 || p.Code != canopy.ECONFLICT || p.Detail != i18n.Get("en").T(intake.KeyErased) {
			t.Errorf("message to an erased report: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestReceiptNotFound checks that nothing about a receipt can be learned
// from the answer: wrong, unknown and malformed receipts look the same.
func TestReceiptNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		rc := e.submit(minimal)
		wrong := []byte(rc.Receipt)
		if wrong[0] == 'A' {
			wrong[0] = 'B'
		} else {
			wrong[0] = 'A'
		}
		receipts := map[string]string{
			"wrong":     string(wrong),
			"unknown":   seal.NewReceipt(),
			"malformed": "hello",
			"empty":     "",
			"long":      strings.Repeat("K7QM-", 40),
			"report id": rc.ID,
		}
		var first *httptest.ResponseRecorder
		for name, receipt := range receipts {
			body, _ := json.Marshal(followupRequest{Receipt: receipt})
			msg, _ := json.Marshal(messageRequest{Receipt: receipt, Body: "hello"})
			for _, rec := range []*httptest.ResponseRecorder{
				e.do(call{target: "/api/v1/followup", body: string(body)}),
				e.do(call{target: "/api/v1/followup/messages", body: string(msg)}),
				e.do(call{target: "/api/v1/followup", body: `{"receipt":null}`}),
			} {
				if rec.Code != 404 {
					t.Fatalf("%s receipt: %d %s", name, rec.Code, rec.Body)
				}
				if first == nil {
					first = rec
					if p := problemOf(t, rec); p.Code != canopy.ENOTFOUND || p.Detail != i18n.Get("en").T(intake.KeyReceipt) {
						t.Errorf("problem %+v", p)
					}
					continue
				}
				if !bytes.Equal(rec.Body.Bytes(), first.Body.Bytes()) || !sameHeaders(rec.Header(), first.Header()) {
					t.Errorf("%s receipt: %v %s differs from %v %s", name, rec.Header(), rec.Body, first.Header(), first.Body)
				}
			}
		}
	})
}

func TestAddMessageInvalid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		rc := e.submit(minimal)
		for _, tc := range []struct {
			name, body string
			conforms   int
			errors     []string
		}{
			{"no body", `{"receipt":"` + rc.Receipt + `"}`, -1, []string{"body " + intake.KeyRequired}},
			{"blank body", `{"receipt":"` + rc.Receipt + `","body":" \n "}`, 0, []string{"body " + intake.KeyRequired}},
			{"too long", `{"receipt":"` + rc.Receipt + `","body":"` + strings.Repeat("a", intake.MaxMessage+1) + `"}`, -1,
				[]string{"body " + intake.KeyTooLong}},
			{"control characters", `{"receipt":"` + rc.Receipt + `","body":"a\u0000"}`, 0, []string{"body " + intake.KeyControlChars}},
			{"body before receipt", `{"receipt":"nope","body":""}`, -1, []string{"body " + intake.KeyRequired}},
			{"wrong type", `{"receipt":"` + rc.Receipt + `","body":["a"]}`, -1, []string{"body " + keyJSONType}},
			{"unknown member", `{"receipt":"` + rc.Receipt + `","body":"a","from":"hotline"}`, -1, []string{"from " + keyJSONUnknownField}},
		} {
			rec := e.do(call{target: "/api/v1/followup/messages", body: tc.body, conforms: tc.conforms})
			if rec.Code != 400 {
				t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
				continue
			}
			if got := fieldCodes(problemOf(t, rec)); !slices.Equal(got, tc.errors) {
				t.Errorf("%s: errors %q, want %q", tc.name, got, tc.errors)
			}
		}
		rec := e.do(call{target: "/api/v1/followup/messages", ctype: "text/plain", body: `{}`})
		if rec.Code != 415 {
			t.Errorf("text/plain: %d", rec.Code)
		}
		rec = e.do(call{target: "/api/v1/followup", body: `{"receipt":"` + rc.Receipt + `"`})
		if rec.Code != 400 || !slices.Equal(fieldCodes(problemOf(t, rec)), []string{keyJSONSyntax}) {
			t.Errorf("cut short: %d %s", rec.Code, rec.Body)
		}
		rec = e.do(call{target: "/api/v1/followup?lang=xx", body: `{"receipt":"` + rc.Receipt + `"}`})
		if rec.Code != 400 || !slices.Equal(fieldCodes(problemOf(t, rec)), []string{"lang " + intake.KeyLanguage}) {
			t.Errorf("?lang=xx: %d %s", rec.Code, rec.Body)
		}
		// Only the valid message was stored.
		f, err := e.svc.Followup(context.Background(), rc.Receipt)
		if err != nil || len(f.Messages) != 0 {
			t.Errorf("messages after refusals: %+v, %v", f, err)
		}
	})
}

func TestTaxonomy(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, tc := range []struct {
		target, accept, want string
	}{
		{"/api/v1/taxonomy", "", "en"},
		{"/api/v1/taxonomy?lang=fr", "es", "fr"},
		{"/api/v1/taxonomy?lang=ar", "", "ar"},
		{"/api/v1/taxonomy", "es-419", "es"},
	} {
		rec := e.do(call{method: "GET", target: tc.target, header: map[string]string{"Accept-Language": tc.accept}})
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=3600" ||
			rec.Header().Get("Content-Language") != tc.want || rec.Header().Get("Vary") != "Accept-Language" {
			t.Fatalf("%s: %d %v", tc.target, rec.Code, rec.Header())
		}
		var got taxonomyAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		c := i18n.Get(tc.want)
		if got.Language != tc.want || len(got.Languages) != len(canopy.Languages) || len(got.Categories) != len(canopy.Categories) ||
			len(got.Flags) != len(canopy.Flags) || len(got.Reporters) != len(canopy.Reporters) || len(got.Statuses) != len(canopy.Statuses) {
			t.Fatalf("%s: %+v", tc.target, got)
		}
		for i, cat := range canopy.Categories {
			g := got.Categories[i]
			if g.Code != cat.Code || g.CyberTipline != cat.CyberTipline || g.Name != c.T("category."+cat.Code+".name") ||
				g.Description != c.T("category."+cat.Code+".desc") || strings.HasPrefix(g.Name, "category.") {
				t.Errorf("%s: category %+v", tc.target, g)
			}
		}
		for i, f := range canopy.Flags {
			if g := got.Flags[i]; g.Code != f || g.Name != c.T("flag."+f+".name") || strings.HasPrefix(g.Name, "flag.") {
				t.Errorf("%s: flag %+v", tc.target, g)
			}
		}
		for i, r := range canopy.Reporters {
			if g := got.Reporters[i]; g.Code != r || g.Name != c.T("reporter."+r+".name") || g.Public != canopy.IsPublicReporter(r) {
				t.Errorf("%s: reporter %+v", tc.target, g)
			}
		}
		for i, s := range canopy.Statuses {
			if g := got.Statuses[i]; g.Code != s || g.Name != c.T("status."+s+".name") || g.Description != c.T("status."+s+".desc") {
				t.Errorf("%s: status %+v", tc.target, g)
			}
		}
		if i := slices.IndexFunc(got.Languages, func(l languageInfo) bool { return l.Code == "ar" }); i < 0 || got.Languages[i].Dir != "rtl" {
			t.Errorf("%s: languages %+v", tc.target, got.Languages)
		}
	}

	rec := e.do(call{method: "GET", target: "/api/v1/taxonomy?lang=xx"})
	if p := problemOf(t, rec); rec.Code != 400 || !slices.Equal(fieldCodes(p), []string{"lang " + intake.KeyLanguage}) ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("?lang=xx: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if rec := e.do(call{method: "HEAD", target: "/api/v1/taxonomy"}); rec.Code != 200 {
		t.Errorf("HEAD: %d", rec.Code)
	}
}

func TestRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := t0
		lim := limit.New(60, 2) // one a second after a burst of two
		lim.SetClock(func() time.Time { return now })
		e := newEnv(t, db, lim)
		send := func(remote string) *httptest.ResponseRecorder {
			return e.do(call{target: "/api/v1/reports", body: minimal, remote: remote})
		}
		for i := range 2 {
			if rec := send("203.0.113.7:1000"); rec.Code != 201 {
				t.Fatalf("request %d of the burst: %d %s", i, rec.Code, rec.Body)
			}
		}
		rec := send("203.0.113.7:2000")
		if p := problemOf(t, rec); rec.Code != 429 || p.Code != canopy.ETOOMANY || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("over the limit: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		// The refused report was not stored.
		if n, _ := db.CountReports(context.Background()); n != 2 {
			t.Errorf("%d reports stored, want 2", n)
		}
		// Follow-ups count against the same limit, before anything is read.
		if rec := e.do(call{target: "/api/v1/followup", remote: "203.0.113.7:3000", ctype: "text/plain"}); rec.Code != 429 {
			t.Errorf("followup over the limit: %d", rec.Code)
		}
		// The taxonomy is not limited: it is cacheable and costs nothing.
		if rec := e.do(call{method: "GET", target: "/api/v1/taxonomy", remote: "203.0.113.7:3000"}); rec.Code != 200 {
			t.Errorf("taxonomy over the limit: %d", rec.Code)
		}
		if rec := send("203.0.113.8:1000"); rec.Code != 201 {
			t.Errorf("another source: %d", rec.Code)
		}
		// An IPv6 /64 is one source.
		send("[2001:db8:1:2::1]:1")
		send("[2001:db8:1:2::2]:1")
		if rec := send("[2001:db8:1:2:ffff::3]:1"); rec.Code != 429 {
			t.Errorf("third request from one /64: %d", rec.Code)
		}
		if rec := send("[2001:db8:1:3::1]:1"); rec.Code != 201 {
			t.Errorf("another /64: %d", rec.Code)
		}
		now = now.Add(time.Second)
		if rec := send("203.0.113.7:4000"); rec.Code != 201 {
			t.Errorf("after waiting: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestInternalError checks that a failure of the node says nothing about
// its cause, and that the log has the cause but not the request. Writes to
// a store that is closing are 503 (try again); a read that fails is 500.
func TestInternalError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		rc := e.submit(minimal)
		db.Close()
		const secret = "SECRET-DESCRIPTION-4711"
		for _, c := range []struct {
			call
			status int
			code   string
		}{
			{call{target: "/api/v1/reports", body: report(`"description":"` + secret + `","contact":{"email":"secret@example.org"}`)}, 503, canopy.EUNAVAILABLE},
			{call{target: "/api/v1/followup", body: `{"receipt":"` + rc.Receipt + `"}`}, 500, canopy.EINTERNAL},
			{call{target: "/api/v1/followup/messages", body: `{"receipt":"` + rc.Receipt + `","body":"` + secret + `"}`}, 500, canopy.EINTERNAL},
		} {
			c.header = map[string]string{"User-Agent": "SecretAgent/1.0"}
			rec := e.do(c.call)
			p := problemOf(t, rec)
			if rec.Code != c.status || p.Code != c.code || p.Detail != i18n.Get("en").T("error."+c.code) || len(p.Errors) > 0 {
				t.Errorf("%s: %d %s", c.target, rec.Code, rec.Body)
			}
			for _, leak := range []string{"store", "closed", "sql", "intake", secret} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("%s: answer leaks %q: %s", c.target, leak, rec.Body)
				}
			}
		}
		l := e.log.String()
		if !strings.Contains(l, "closed") || strings.Count(l, "api: request failed") < 2 {
			t.Errorf("log lacks the causes: %s", l)
		}
		for _, leak := range []string{secret, "secret@example.org", "192.0.2.1", "SecretAgent", rc.Receipt} {
			if strings.Contains(l, leak) {
				t.Errorf("log holds %q: %s", leak, l)
			}
		}
	})
}

// TestPanic checks that a panic in a handler is a 500 problem, logged, and
// that the handler goes on serving.
func TestPanic(t *testing.T) {
	e := newEnv(t, nil, nil) // no intake: Submit panics on a valid report
	rec := e.do(call{target: "/api/v1/reports", body: minimal})
	if p := problemOf(t, rec); rec.Code != 500 || p.Code != canopy.EINTERNAL {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if l := e.log.String(); !strings.Contains(l, "api: panic") || strings.Contains(l, "He says") {
		t.Errorf("log: %s", l)
	}
	if rec := e.do(call{method: "GET", target: "/api/v1/taxonomy"}); rec.Code != 200 {
		t.Errorf("after a panic: %d", rec.Code)
	}
}

// TestCatalogKeys checks that English has every message the API may show.
func TestCatalogKeys(t *testing.T) {
	en := i18n.Get("en")
	for _, k := range append(slices.Clone(Keys), intake.FieldKeys...) {
		if !en.Has(k) {
			t.Errorf("catalog en lacks %q", k)
		}
	}
	for code := range statusOf {
		if k := "error." + code; !en.Has(k) && (code == canopy.EINVALID || code == canopy.ENOTFOUND ||
			code == canopy.ETOOMANY || code == canopy.ETOOLARGE || code == canopy.EINTERNAL || code == canopy.EUNAVAILABLE) {
			t.Errorf("catalog en lacks %q", k)
		}
	}
}

func jsonSame(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func sameHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
