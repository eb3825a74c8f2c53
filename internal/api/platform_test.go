package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/pdq"
	"github.com/canopy-org/canopy/internal/platform"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// platformEnv is an API with the platform routes served by real platform
// and bank services and a matcher attached to the banks. Two platforms are
// registered; the first holds a key for each scope, one with every scope
// and a revoked one, the second a submit key.
type platformEnv struct {
	*env
	ctx       context.Context
	platforms *platform.Service
	banks     *bank.Service
	matcher   *bank.Matcher

	submitKey, matchKey, syncKey, allKey, revokedKey, otherKey string
}

const (
	pdqA = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
	pdqB = "30a10efdf1c83f429013d48d0ffffc52e34e0e35ada952a9d29605215aa9e5af"
	md5A = "0123456789abcdef0123456789abcdef"
)

// newPlatformEnv makes a platformEnv. keyLim and sourceLim are the
// per-key and per-source limiters; nil means never refuse.
func newPlatformEnv(t testing.TB, db *store.DB, keyLim, sourceLim *limit.Limiter) *platformEnv {
	t.Helper()
	e := newEnv(t, db, sourceLim)
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log, err := audit.Open(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	m := bank.NewMatcher()
	e.svc.Audit, e.svc.Matcher = log, m
	p := &platformEnv{env: e, ctx: ctx, matcher: m,
		platforms: &platform.Service{DB: db, Keys: e.keys, Audit: log, Intake: e.svc, Now: e.clock},
		banks:     &bank.Service{DB: db, Audit: log, Now: e.clock, Matcher: m}}
	if keyLim == nil {
		keyLim = limit.New(1e9, 1e9)
	}
	cfg := e.cfg
	cfg.Platform, cfg.Banks, cfg.Matcher, cfg.PlatformRateLimit = p.platforms, p.banks, m, keyLim
	e.serve(cfg)

	admin := audit.Staff("admin1")
	for _, name := range []string{"Example Chat", "Other Social"} {
		if _, err := p.platforms.Register(ctx, admin, name, "trust@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	key := func(platformName string, scopes ...string) (*canopy.APIKey, string) {
		k, secret, err := p.platforms.NewKey(ctx, admin, platformName, "test", scopes)
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	_, p.submitKey = key("Example Chat", canopy.ScopeSubmit)
	_, p.matchKey = key("Example Chat", canopy.ScopeMatch)
	_, p.syncKey = key("Example Chat", canopy.ScopeSync)
	_, p.allKey = key("Example Chat", slices.Clone(canopy.Scopes)...) // NewKey sorts its argument in place
	revoked, secret := key("Example Chat", slices.Clone(canopy.Scopes)...)
	if err := p.platforms.Revoke(ctx, admin, "Example Chat", revoked.ID); err != nil {
		t.Fatal(err)
	}
	p.revokedKey = secret
	_, p.otherKey = key("Other Social", canopy.ScopeSubmit)
	return p
}

// as returns the headers of a call with an API key.
func as(secret string, more ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + secret}
	for i := 0; i+1 < len(more); i += 2 {
		h[more[i]] = more[i+1]
	}
	return h
}

// flipBits returns a PDQ hash with its first n bits inverted.
func flipBits(t testing.TB, hexHash string, n int) string {
	h, err := pdq.ParseHash(hexHash)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h[i/8] ^= 1 << (i % 8)
	}
	return h.String()
}

func decodeAnswer[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q: %d %s", ct, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return v
}

// results lists the answer's results as "index status" and the field
// codes of each invalid one.
func results(a platformReportsAnswer) []string {
	var out []string
	for _, r := range a.Results {
		s := fmt.Sprintf("%d %s", r.Index, r.Status)
		for _, e := range r.Errors {
			s += " " + e.Field + " " + e.Code
		}
		out = append(out, s)
	}
	return out
}

// incidents joins incident objects into a request body.
func incidents(objs ...string) string { return `{"incidents":[` + strings.Join(objs, ",") + `]}` }

func TestPlatformReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPlatformEnv(t, db, nil, nil)
		count := func() int {
			n, err := db.CountReports(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		send := func(secret, idem, body string, conforms int) *httptest.ResponseRecorder {
			t.Helper()
			h := as(secret)
			if idem != "" {
				h["Idempotency-Key"] = idem
			}
			return e.do(call{target: "/api/v1/platform/reports", header: h, body: body, conforms: conforms})
		}

		mixed := incidents(
			`{"incident_type":"Online Enticement of Children for Sexual Acts","incident_time":"2026-11-26T21:14:00+01:00",
				"description":"Adult asked a 13-year-old for images.","service":"Example Chat Lite",
				"reported_account":{"screen_name":"k1ngx","display_name":"King","profile_url":"https://chat.example.com/u/k1ngx"},
				"files":[{"name":"a.jpg","md5":"`+strings.ToUpper(md5A)+`","pdq":"`+pdqA+`","industry_class":"A1"}],
				"child_country":"fr","language":"en","reporter_contact":{"email":"tips@chat.example.com"}}`,
			`{"incident_type":"Not a type","description":"x"}`,
			`{"incident_type":"grooming","urls":["javascript:alert(1)"]}`,
			`{"incident_type":"csam"}`,
			`{"incident_type":"unsolicited obscene material sent to a child","flags":["urgent"],"urls":["chat.example.com/m/1"],
				"incident_time":null,"reported_account":null,"files":null}`,
		)
		rec := send(e.submitKey, "batch-1", mixed, +1)
		if rec.Code != 200 {
			t.Fatalf("mixed batch: %d %s", rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Language") != "en" {
			t.Errorf("Content-Language %q", rec.Header().Get("Content-Language"))
		}
		first := decodeAnswer[platformReportsAnswer](t, rec)
		want := []string{"0 created", "1 invalid incidents[1].incident_type " + intake.KeyUnknownCode,
			"2 invalid incidents[2].urls[0] " + intake.KeyURLScheme, "3 invalid incidents[3].description " + intake.KeyEmpty, "4 created"}
		if got := results(first); !slices.Equal(got, want) || first.Replayed {
			t.Fatalf("results %q (replayed %v), want %q", got, first.Replayed, want)
		}
		if d := first.Results[1].Errors[0].Detail; d != i18n.Get("en").T(intake.KeyUnknownCode) {
			t.Errorf("detail %q", d)
		}
		for i, category := range map[int]string{0: "grooming", 4: "obscene_to_child"} {
			r, err := db.Report(e.ctx, first.Results[i].ReportID)
			if err != nil {
				t.Fatalf("report of incident %d: %v", i, err)
			}
			if r.Report.Channel != canopy.ChannelPlatform || r.Report.Reporter != canopy.ReporterPlatform || r.Report.Category != category {
				t.Errorf("report of incident %d: %+v", i, r.Report)
			}
		}
		if r, _ := db.Report(e.ctx, first.Results[0].ReportID); len(r.Report.Hashes) != 2 || r.Report.Hashes[0].Value != md5A {
			t.Errorf("hashes of incident 0: %+v", r.Report.Hashes)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d reports stored, want 2", n)
		}

		// The same key again is a replay: the same results, nothing new
		// stored, whatever the body; errors in the language asked now.
		for _, body := range []string{mixed, incidents(`{"incident_type":"csam","description":"another"}`)} {
			rec := e.do(call{target: "/api/v1/platform/reports?lang=fr", header: as(e.submitKey, "Idempotency-Key", "batch-1"), body: body})
			again := decodeAnswer[platformReportsAnswer](t, rec)
			if rec.Code != 200 || !again.Replayed || !slices.Equal(results(again), want) {
				t.Fatalf("replay: %d %s", rec.Code, rec.Body)
			}
			for i := range again.Results {
				if again.Results[i].ReportID != first.Results[i].ReportID {
					t.Errorf("replay: result %d has report %q, first had %q", i, again.Results[i].ReportID, first.Results[i].ReportID)
				}
			}
			if d := again.Results[1].Errors[0].Detail; d != i18n.Get("fr").T(intake.KeyUnknownCode) || rec.Header().Get("Content-Language") != "fr" {
				t.Errorf("replay in French: %q", d)
			}
		}
		if n := count(); n != 2 {
			t.Fatalf("%d reports stored after replays, want 2", n)
		}

		// Every incident created: 201. Idempotency keys are per platform,
		// and a batch may be far over the public routes' 64 KiB.
		var big []string
		for i := range 300 {
			big = append(big, fmt.Sprintf(`{"incident_type":"sextortion","description":"%03d %s"}`, i, strings.Repeat("d", 400)))
		}
		for _, c := range []struct {
			secret, body string
			n            int
		}{
			{e.submitKey, incidents(`{"incident_type":"Child Sex Trafficking","description":"x"}`), 1},
			{e.otherKey, mixed, 5}, // another platform, same key "batch-1"
			{e.allKey, incidents(big...), 300},
		} {
			idem := "batch-1"
			if c.secret != e.otherKey {
				idem = fmt.Sprintf("all-%d", c.n)
			}
			rec := send(c.secret, idem, c.body, +1)
			a := decodeAnswer[platformReportsAnswer](t, rec)
			if c.secret == e.otherKey {
				if rec.Code != 200 || a.Replayed || results(a)[0] != "0 created" || a.Results[0].ReportID == first.Results[0].ReportID {
					t.Errorf("same key, other platform: %d %s", rec.Code, rec.Body)
				}
				continue
			}
			if rec.Code != 201 || a.Replayed || len(a.Results) != c.n || slices.ContainsFunc(a.Results, func(r itemAnswer) bool { return r.Status != "created" }) {
				t.Errorf("batch of %d: %d %.300s", c.n, rec.Code, rec.Body)
			}
		}
		if n := count(); n != 2+1+2+300 {
			t.Fatalf("%d reports stored, want %d", n, 2+1+2+300)
		}
		// A replay of a batch that was all created is 200, not 201; its
		// body is still read and checked first.
		if rec := send(e.submitKey, "all-1", "{}", 0); rec.Code != 400 {
			t.Errorf("replay with an empty body: %d", rec.Code)
		}
		rec = send(e.submitKey, "all-1", incidents(`{"incident_type":"csam","description":"x"}`), +1)
		if a := decodeAnswer[platformReportsAnswer](t, rec); rec.Code != 200 || !a.Replayed || results(a)[0] != "0 created" {
			t.Errorf("replay: %d %s", rec.Code, rec.Body)
		}
		if n := count(); n != 2+1+2+300 {
			t.Fatalf("%d reports stored after a replay, want %d", n, 2+1+2+300)
		}

		// Problems with the whole request store nothing, and keep no
		// answer under their key.
		many := make([]string, platform.MaxIncidents+1)
		for i := range many {
			many[i] = `{"incident_type":"csam","description":"x"}`
		}
		key := e.submitKey
		for _, c := range []struct {
			name, idem, target, ctype, body string
			conforms                        int
			status                          int
			errors                          []string
		}{
			{name: "no key", body: incidents(`{"incident_type":"csam","description":"x"}`), status: 400,
				errors: []string{"Idempotency-Key " + intake.KeyRequired}},
			{name: "key too long", idem: strings.Repeat("k", 201), body: incidents(`{"incident_type":"csam","description":"x"}`), status: 400,
				errors: []string{"Idempotency-Key " + intake.KeyTooLong}},
			{name: "key with a space", idem: "a b", body: incidents(`{"incident_type":"csam","description":"x"}`), status: 400,
				errors: []string{"Idempotency-Key " + intake.KeyInvalid}},
			{name: "broken JSON", body: `{"incidents":[`, status: 400, errors: []string{keyJSONSyntax}},
			{name: "unknown member", body: incidents(`{"incident_type":"csam","description":"x","nickname":"y"}`), conforms: -1,
				status: 400, errors: []string{"incidents[0].nickname " + keyJSONUnknownField}},
			{name: "unknown nested member", body: incidents(`{"incident_type":"csam","files":[{"md5":"` + md5A + `","crc":"1"}]}`), conforms: -1,
				status: 400, errors: []string{"incidents[0].files[0].crc " + keyJSONUnknownField}},
			{name: "no incidents", body: `{"incidents":[]}`, conforms: -1, status: 400, errors: []string{"incidents " + intake.KeyRequired}},
			{name: "nothing", body: `{}`, conforms: -1, status: 400, errors: []string{"incidents " + intake.KeyRequired}},
			{name: "too many incidents", body: incidents(many...), conforms: -1, status: 400, errors: []string{"incidents " + intake.KeyTooMany}},
			{name: "a null incident", body: incidents(`null`), conforms: -1, status: 400, errors: []string{"incidents[0] " + keyJSONType}},
			{name: "wrong types", body: incidents(`{"incident_type":1,"flags":"urgent","reported_account":[]}`), conforms: -1, status: 400,
				errors: []string{"incidents[0].incident_type " + keyJSONType, "incidents[0].flags " + keyJSONType, "incidents[0].reported_account " + keyJSONType}},
			{name: "incident time not RFC 3339", body: incidents(`{"incident_type":"csam","description":"x"}`,
				`{"incident_type":"csam","description":"x","incident_time":"yesterday"}`), conforms: -1, status: 400,
				errors: []string{"incidents[1].incident_time " + keyJSONType}},
			{name: "invalid UTF-8", body: incidents(`{"incident_type":"csam","description":"caf` + "\xe9" + `"}`), status: 400,
				errors: []string{intake.KeyInvalidUTF8}},
			{name: "unsupported ?lang", target: "/api/v1/platform/reports?lang=xx", body: incidents(`{"incident_type":"csam","description":"x"}`),
				status: 400, errors: []string{"lang " + intake.KeyLanguage}},
			{name: "over 8 MiB", body: incidents(`{"incident_type":"csam","description":"` + strings.Repeat("a", maxPlatformBody) + `"}`), status: 413},
			{name: "text/plain", ctype: "text/plain", body: incidents(`{"incident_type":"csam","description":"x"}`), status: 415},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := *e.env
				e.t, e.h = t, conform(t, e.api)
				if c.target == "" {
					c.target = "/api/v1/platform/reports"
				}
				h := as(key)
				if c.name != "no key" {
					if c.idem == "" {
						c.idem = "refused-" + strings.ReplaceAll(c.name, " ", "-")
					}
					h["Idempotency-Key"] = c.idem
				}
				rec := e.do(call{target: c.target, ctype: c.ctype, header: h, body: c.body, conforms: c.conforms})
				if rec.Code != c.status {
					t.Fatalf("%d, want %d: %.500s", rec.Code, c.status, rec.Body)
				}
				if got := fieldCodes(problemOf(t, rec)); c.errors != nil && !slices.Equal(got, c.errors) {
					t.Errorf("errors %q, want %q", got, c.errors)
				}
				if c.idem != "" && c.status == 400 && len(c.idem) <= 200 && c.idem != "a b" {
					// The key is free for a real batch.
					rec := e.do(call{target: "/api/v1/platform/reports", header: h, body: incidents(`{"incident_type":"csam","description":"x"}`)})
					if a := decodeAnswer[platformReportsAnswer](t, rec); rec.Code != 201 || a.Replayed {
						t.Errorf("key after a refusal: %d %s", rec.Code, rec.Body)
					}
				}
			})
		}
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestPlatformAuth checks that every platform route needs an API key with
// its scope, and that refusals say how to authenticate and nothing else.
func TestPlatformAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPlatformEnv(t, db, nil, nil)
		if _, err := e.banks.Create(e.ctx, audit.Staff("admin1"), canopy.Bank{Name: "known"}); err != nil {
			t.Fatal(err)
		}
		routes := []struct {
			scope string
			call
			ok int
		}{
			{canopy.ScopeSubmit, call{target: "/api/v1/platform/reports", body: incidents(`{"incident_type":"csam","description":"x"}`)}, 201},
			{canopy.ScopeMatch, call{target: "/api/v1/match", body: `{"hashes":[{"algorithm":"md5","value":"` + md5A + `"}]}`}, 200},
			{canopy.ScopeSync, call{method: "GET", target: "/api/v1/banks/known/changes"}, 200},
		}
		scoped := map[string]string{canopy.ScopeSubmit: e.submitKey, canopy.ScopeMatch: e.matchKey, canopy.ScopeSync: e.syncKey}
		n := 0
		for _, rt := range routes {
			send := func(auth string) *httptest.ResponseRecorder {
				c := rt.call
				n++
				c.header = map[string]string{"Idempotency-Key": fmt.Sprint("auth-", n)}
				if auth != "" {
					c.header["Authorization"] = auth
				}
				return e.do(c)
			}
			var first *httptest.ResponseRecorder
			for name, auth := range map[string]string{
				"no credentials":  "",
				"basic":           "Basic " + e.allKey,
				"empty bearer":    "Bearer ",
				"unknown key":     "Bearer cnp_" + strings.Repeat("a", 52),
				"not a key":       "Bearer " + strings.Repeat("a", 43), // a staff session token's shape
				"revoked key":     "Bearer " + e.revokedKey,
				"key in two case": "Bearer " + strings.ToUpper(e.allKey),
				"key and more":    "Bearer " + e.allKey + " x",
			} {
				rec := send(auth)
				if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="canopy"` || problemCode(t, rec) != canopy.EUNAUTHORIZED {
					t.Errorf("%s %s: %d %v %s", rt.target, name, rec.Code, rec.Header(), rec.Body)
				}
				if first == nil {
					first = rec
				} else if rec.Body.String() != first.Body.String() {
					t.Errorf("%s %s: %s differs from %s", rt.target, name, rec.Body, first.Body)
				}
			}
			for scope, key := range scoped {
				rec := send("Bearer " + key)
				if scope == rt.scope {
					if rec.Code != rt.ok {
						t.Errorf("%s with a %s key: %d %s", rt.target, scope, rec.Code, rec.Body)
					}
					continue
				}
				want := `Bearer realm="canopy", error="insufficient_scope", scope="` + rt.scope + `"`
				if rec.Code != 403 || rec.Header().Get("WWW-Authenticate") != want || problemCode(t, rec) != canopy.EFORBIDDEN {
					t.Errorf("%s with a %s key: %d %v %s", rt.target, scope, rec.Code, rec.Header(), rec.Body)
				}
			}
			if rec := send("bearer " + e.allKey); rec.Code != rt.ok {
				t.Errorf("%s with every scope: %d %s", rt.target, rec.Code, rec.Body)
			}
		}
		// Refusals store nothing: one report per submit that got through.
		if n, _ := db.CountReports(e.ctx); n != 2 {
			t.Errorf("%d reports stored, want 2", n)
		}
	})
}

// TestPlatformRateLimit checks that the platform routes are limited per
// key, not per source, and that calls without a valid key are limited per
// source like any anonymous call.
func TestPlatformRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := t0
		clock := func() time.Time { return now }
		keyLim, sourceLim := limit.New(60, 2), limit.New(60, 1) // one a second after the burst
		keyLim.SetClock(clock)
		sourceLim.SetClock(clock)
		e := newPlatformEnv(t, db, keyLim, sourceLim)
		match := func(secret, remote string) *httptest.ResponseRecorder {
			return e.do(call{target: "/api/v1/match", remote: remote, header: as(secret),
				body: `{"hashes":[{"algorithm":"pdq","value":"` + pdqA + `"}]}`})
		}
		for i := range 2 {
			if rec := match(e.matchKey, fmt.Sprintf("203.0.113.%d:1000", i)); rec.Code != 200 {
				t.Fatalf("request %d of the burst: %d %s", i, rec.Code, rec.Body)
			}
		}
		rec := match(e.matchKey, "198.51.100.9:1000") // another address, the same key
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || problemCode(t, rec) != canopy.ETOOMANY {
			t.Fatalf("over the key's limit: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		if rec := match(e.allKey, "198.51.100.9:1000"); rec.Code != 200 {
			t.Errorf("another key: %d", rec.Code)
		}
		// Without a valid key, the source pays.
		if rec := match("cnp_nope", "192.0.2.1:1"); rec.Code != 401 {
			t.Errorf("first bad key: %d", rec.Code)
		}
		if rec := match(e.revokedKey, "192.0.2.1:2"); rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
			t.Errorf("second bad key from one source: %d %v", rec.Code, rec.Header())
		}
		if rec := match(e.allKey, "192.0.2.1:3"); rec.Code != 200 {
			t.Errorf("a valid key from that source: %d", rec.Code)
		}
		now = now.Add(time.Second)
		if rec := match(e.matchKey, "203.0.113.1:1000"); rec.Code != 200 {
			t.Errorf("after waiting: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestPlatformUnavailable checks that a node without the services answers
// 503 on their routes, before looking at the key.
func TestPlatformUnavailable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPlatformEnv(t, db, nil, nil)
		full := e.cfg
		for _, c := range []struct {
			name   string
			cfg    func(*Config)
			routes []string
		}{
			{"no platform service", func(c *Config) { c.Platform = nil }, []string{"/api/v1/platform/reports", "/api/v1/match", "/api/v1/banks/known/changes",
				"/api/v1/platform/takedowns/x"}},
			{"no takedown service", func(c *Config) { c.Takedown = nil }, []string{"/api/v1/platform/takedowns/x"}},
			{"no matcher", func(c *Config) { c.Matcher = nil }, []string{"/api/v1/match"}},
			{"no banks", func(c *Config) { c.Banks = nil }, []string{"/api/v1/banks/known/changes"}},
		} {
			cfg := full
			c.cfg(&cfg)
			e.serve(cfg)
			for _, target := range c.routes {
				method := "POST"
				if strings.HasPrefix(target, "/api/v1/banks/") {
					method = "GET"
				}
				rec := e.do(call{method: method, target: target, header: as(e.allKey, "Idempotency-Key", "x"), body: "{}"})
				if rec.Code != 503 || problemCode(t, rec) != canopy.EUNAVAILABLE {
					t.Errorf("%s: %s: %d %s", c.name, target, rec.Code, rec.Body)
				}
			}
		}
	})
}

func TestMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPlatformEnv(t, db, nil, nil)
		by := audit.Staff("analyst1")
		// The match index keeps PhotoDNA values of 144 bytes only.
		photo := strings.Repeat("PDNA+v1/", 18)
		for _, b := range []struct {
			name    string
			entries []canopy.BankEntry
		}{
			{"known", []canopy.BankEntry{{Algorithm: "pdq", Value: pdqA, Quality: 100, Category: "csam"},
				{Algorithm: "md5", Value: md5A, Category: "grooming"}, {Algorithm: "photodna", Value: photo, Category: "csam"}}},
			{"other", []canopy.BankEntry{{Algorithm: "pdq", Value: flipBits(t, pdqA, 3), Quality: 90}}},
		} {
			if _, err := e.banks.Create(e.ctx, by, canopy.Bank{Name: b.name}); err != nil {
				t.Fatal(err)
			}
			if res, err := e.banks.Change(e.ctx, by, b.name, canopy.BankAdd, b.entries); err != nil || res.Added != len(b.entries) {
				t.Fatalf("bank %s: %+v %v", b.name, res, err)
			}
		}
		match := func(body string, conforms int) (*httptest.ResponseRecorder, []string) {
			t.Helper()
			rec := e.do(call{target: "/api/v1/match", header: as(e.matchKey), body: body, conforms: conforms})
			if rec.Code != 200 {
				return rec, nil
			}
			var out []string
			for i, r := range decodeAnswer[matchAnswer](t, rec).Results {
				if r.Index != i || r.Matches == nil {
					t.Errorf("result %d: %+v", i, r)
				}
				var hits []string
				for _, h := range r.Matches {
					hits = append(hits, fmt.Sprintf("%s/%s/%s/%d", h.Bank, h.Category, h.Algorithm, h.Distance))
				}
				out = append(out, strings.Join(hits, " "))
			}
			return rec, out
		}
		body := func(threshold string, hashes ...string) string {
			var hs []string
			for i := 0; i+1 < len(hashes); i += 2 {
				hs = append(hs, fmt.Sprintf(`{"algorithm":%q,"value":%q}`, hashes[i], hashes[i+1]))
			}
			b := `{"hashes":[` + strings.Join(hs, ",") + `]`
			if threshold != "" {
				b += `,"threshold":` + threshold
			}
			return b + "}"
		}

		for _, c := range []struct {
			name      string
			threshold string
			hashes    []string
			conforms  int
			want      []string
		}{
			{"every kind, default threshold", "", []string{"pdq", flipBits(t, pdqA, 1), "MD5", " " + strings.ToUpper(md5A) + " ",
				"sha256", strings.Repeat("ab", 32), "photodna", photo, "pdq", pdqB}, 0,
				[]string{"known/csam/pdq/1 other//pdq/2", "known/grooming/md5/0", "", "known/csam/photodna/0", ""}},
			{"a few bits off", "31", []string{"pdq", flipBits(t, pdqA, 6)}, +1, []string{"other//pdq/3 known/csam/pdq/6"}},
			{"threshold 1", "1", []string{"pdq", flipBits(t, pdqA, 1)}, +1, []string{"known/csam/pdq/1"}},
			{"threshold 0", "0", []string{"pdq", pdqA, "pdq", flipBits(t, pdqA, 1), "md5", md5A}, +1,
				[]string{"known/csam/pdq/0", "", "known/grooming/md5/0"}},
			{"threshold null", "null", []string{"pdq", flipBits(t, pdqA, 32)}, +1, []string{"other//pdq/29"}},
			{"threshold 64", "64", []string{"pdq", flipBits(t, pdqA, 40)}, +1, []string{"other//pdq/37 known/csam/pdq/40"}},
		} {
			rec, got := match(body(c.threshold, c.hashes...), c.conforms)
			if rec.Code != 200 || !slices.Equal(got, c.want) {
				t.Errorf("%s: %d %q, want %q (%s)", c.name, rec.Code, got, c.want, rec.Body)
			}
		}

		// A removal stops matching at once.
		if _, err := e.banks.Change(e.ctx, by, "known", canopy.BankRemove, []canopy.BankEntry{{Algorithm: "md5", Value: md5A}}); err != nil {
			t.Fatal(err)
		}
		if _, got := match(body("", "md5", md5A), +1); !slices.Equal(got, []string{""}) {
			t.Errorf("removed hash: %q", got)
		}

		many := make([]string, 0, 2*(maxMatchHashes+1))
		for range maxMatchHashes + 1 {
			many = append(many, "md5", md5A)
		}
		for _, c := range []struct {
			name, body string
			errors     []string
		}{
			{"nothing", `{}`, []string{"hashes " + intake.KeyRequired}},
			{"no hashes", body(""), []string{"hashes " + intake.KeyRequired}},
			{"too many", body("", many...), []string{"hashes " + intake.KeyTooMany}},
			{"bad hashes", body("65", "crc32", "00", "md5", "xyz", "pdq", md5A, "photodna", "has space", "sha1", ""),
				[]string{"hashes[0].algorithm " + intake.KeyHashAlgorithm, "hashes[1].value " + intake.KeyHashValue,
					"hashes[2].value " + intake.KeyHashValue, "hashes[3].value " + intake.KeyHashValue,
					"hashes[4].value " + intake.KeyHashValue, "threshold " + intake.KeyTooMany}},
			{"negative threshold", body("-1", "md5", md5A), []string{"threshold " + intake.KeyInvalid}},
			{"threshold as a string", body(`"31"`, "md5", md5A), []string{"threshold " + keyJSONType}},
			{"fractional threshold", body("1.5", "md5", md5A), []string{"threshold " + keyJSONType}},
			{"huge threshold", body("1e999", "md5", md5A), []string{"threshold " + keyJSONType}},
			{"unknown member", `{"hashes":[{"algorithm":"md5","value":"` + md5A + `","bank":"known"}]}`, []string{"hashes[0].bank " + keyJSONUnknownField}},
			{"null hash", `{"hashes":[null]}`, []string{"hashes[0] " + keyJSONType}},
		} {
			rec, _ := match(c.body, -1)
			if rec.Code != 400 {
				t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
				continue
			}
			if got := fieldCodes(problemOf(t, rec)); !slices.Equal(got, c.errors) {
				t.Errorf("%s: errors %q, want %q", c.name, got, c.errors)
			}
		}
		// The detail says how long each algorithm's value is.
		rec, _ := match(body("", "sha1", "00"), -1)
		if p := problemOf(t, rec); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Detail, "40") {
			t.Errorf("sha1 detail: %+v", p.Errors)
		}
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

func TestBankChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPlatformEnv(t, db, nil, nil)
		by := audit.Staff("analyst1")
		add := func(bankName, op string, entries ...canopy.BankEntry) {
			t.Helper()
			if _, err := e.banks.Change(e.ctx, by, bankName, op, entries); err != nil {
				t.Fatal(err)
			}
		}
		md5 := func(i int) canopy.BankEntry {
			return canopy.BankEntry{Algorithm: "md5", Value: fmt.Sprintf("%032x", i), Category: "csam", Labels: []string{"series-x"}}
		}
		for _, name := range []string{"known", "other"} {
			if _, err := e.banks.Create(e.ctx, by, canopy.Bank{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		add("known", canopy.BankAdd, canopy.BankEntry{Algorithm: "pdq", Value: pdqA, Quality: 87}, md5(1), md5(2))
		add("other", canopy.BankAdd, md5(100))
		add("known", canopy.BankAdd, md5(3), md5(4))

		page := func(target string) bankChangesAnswer {
			t.Helper()
			rec := e.do(call{method: "GET", target: target, header: as(e.syncKey), conforms: +1})
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
			}
			return decodeAnswer[bankChangesAnswer](t, rec)
		}
		describe := func(cs []bankChangeAnswer) []string {
			var out []string
			for _, c := range cs {
				s := c.Op + " " + c.Algorithm + " " + c.Value[len(c.Value)-2:]
				if c.Quality != nil {
					s += fmt.Sprint(" q", *c.Quality)
				}
				out = append(out, s)
			}
			return out
		}

		// Page through from the start until a page is not full.
		var all []bankChangeAnswer
		var pages []bool
		next := ""
		for range 10 {
			target := "/api/v1/banks/known/changes?limit=2"
			if next != "" {
				target += "&since=" + next
			}
			p := page(target)
			if p.Bank != "known" || p.Changes == nil || len(p.Changes) > 2 {
				t.Fatalf("page %+v", p)
			}
			all, next = append(all, p.Changes...), p.Next
			pages = append(pages, p.More)
			if !p.More {
				break
			}
		}
		want := []string{"add pdq 22 q87", "add md5 01", "add md5 02", "add md5 03", "add md5 04"}
		if got := describe(all); !slices.Equal(got, want) || !slices.Equal(pages, []bool{true, true, false}) {
			t.Fatalf("changes %q in pages %v, want %q", got, pages, want)
		}
		for i, c := range all {
			if i > 0 && c.Seq <= all[i-1].Seq {
				t.Errorf("seq %d after %d", c.Seq, all[i-1].Seq)
			}
			if c.AddedAt == "" || (c.Algorithm == "md5") != (c.Category == "csam" && slices.Equal(c.Labels, []string{"series-x"})) {
				t.Errorf("change %+v", c)
			}
		}
		// At the end, a page is empty and keeps the cursor.
		if p := page("/api/v1/banks/known/changes?since=" + next); len(p.Changes) != 0 || p.More || p.Next != next {
			t.Errorf("at the end: %+v", p)
		}
		// An exactly full last page says more; the next one is empty.
		if p := page("/api/v1/banks/known/changes?limit=5"); len(p.Changes) != 5 || !p.More || p.Next != next {
			t.Errorf("full page: %+v", p)
		}

		// Resuming later gives only what changed since, removals too.
		add("known", canopy.BankAdd, md5(5), md5(6))
		add("known", canopy.BankRemove, md5(1))
		add("known", canopy.BankAdd, md5(1)) // a hash the bank already holds changes nothing
		p := page("/api/v1/banks/known/changes?since=" + next)
		if got := describe(p.Changes); !slices.Equal(got, []string{"add md5 05", "add md5 06", "remove md5 01", "add md5 01"}) || p.More {
			t.Errorf("after resuming: %q %+v", got, p)
		}
		if p := page("/api/v1/banks/other/changes"); !slices.Equal(describe(p.Changes), []string{"add md5 64"}) {
			t.Errorf("other bank: %q", describe(p.Changes))
		}
		if p := page("/api/v1/banks/known/changes?since=&limit=10000"); len(p.Changes) != 9 || p.More {
			t.Errorf("from an empty cursor: %d changes", len(p.Changes))
		}

		for _, c := range []struct {
			target   string
			conforms int
			status   int
			errors   []string
		}{
			{"/api/v1/banks/nowhere/changes", +1, 404, nil},
			{"/api/v1/banks/Known/changes", -1, 404, nil},
			{"/api/v1/banks/known/changes?since=!!", +1, 400, []string{"since " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?since=-1", +1, 400, []string{"since " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?since=1&since=2", -1, 400, []string{"since " + intake.KeyDuplicate}},
			{"/api/v1/banks/known/changes?limit=0", -1, 400, []string{"limit " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?limit=-5", -1, 400, []string{"limit " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?limit=abc", -1, 400, []string{"limit " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?limit=", -1, 400, []string{"limit " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?limit=10001", -1, 400, []string{"limit " + intake.KeyTooMany}},
			{"/api/v1/banks/known/changes?limit=1&limit=2", -1, 400, []string{"limit " + intake.KeyDuplicate}},
			{"/api/v1/banks/known/changes?limit=0&since=1&since=2", -1, 400, []string{"since " + intake.KeyDuplicate, "limit " + intake.KeyInvalid}},
			{"/api/v1/banks/known/changes?lang=xx", -1, 400, []string{"lang " + intake.KeyLanguage}},
		} {
			rec := e.do(call{method: "GET", target: c.target, header: as(e.syncKey), conforms: c.conforms})
			if rec.Code != c.status {
				t.Errorf("%s: %d, want %d: %s", c.target, rec.Code, c.status, rec.Body)
				continue
			}
			p := problemOf(t, rec)
			if got := fieldCodes(p); !slices.Equal(got, c.errors) {
				t.Errorf("%s: errors %q, want %q", c.target, got, c.errors)
			}
			if c.status == 404 && p.Detail != i18n.Get("en").T("error.bank.not_found") {
				t.Errorf("%s: detail %q", c.target, p.Detail)
			}
		}
		if rec := e.do(call{method: "HEAD", target: "/api/v1/banks/known/changes", header: as(e.syncKey)}); rec.Code != 200 {
			t.Errorf("HEAD: %d", rec.Code)
		}
	})
}
