package api

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
)

// takedownEnv is a platformEnv whose node runs a real takedown service.
// Three hosts are on its list, each matched by domain so that no address
// is looked up: Example Chat's service and Other Social's, which take
// notices by webhook at a local server that keeps the ids each notice
// names, as a host would; and a hosting company tied to no platform, which
// takes them by e-mail (the node has no mail server, so its notices stay
// queued).
type takedownEnv struct {
	*platformEnv
	takedowns *takedown.Service
	triage    *triage.Service
	hooks     *hostHooks

	// Secrets of keys with the scope takedown: Example Chat's, and
	// Other Social's.
	takedownKey, otherTakedownKey string
}

// The addresses the tests' reports name, and the host of each.
const (
	urlChat    = "https://chat.example.com/m/"     // + a number: Example Chat's service
	urlSocial  = "https://www.social.example/p/1"  // Other Social's
	urlHosting = "https://files.fr-host.example/a" // the hosting company's
)

var analyst = &canopy.Account{ID: "an1", Role: canopy.RoleAnalyst}

// hostHooks is the webhook of both platforms: it keeps, for each address
// it was notified of, the takedown id and the notice id.
type hostHooks struct {
	mu      sync.Mutex
	ids     map[string]string // address → takedown id
	notices map[string]string // takedown id → notice id
}

func (h *hostHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var n takedown.WebhookNotice
	if err := json.Unmarshal(body, &n); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range n.Items {
		h.ids[it.URL] = it.ID
		h.notices[it.ID] = n.Notice
	}
	w.WriteHeader(http.StatusNoContent)
}

// id returns the takedown id a host was sent for an address.
func (h *hostHooks) id(t testing.TB, url string) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.ids[url]
	if !ok {
		t.Fatalf("no notice named %s", url)
	}
	return id
}

func (h *hostHooks) notice(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.notices[id]
}

func newTakedownEnv(t testing.TB, db *store.DB) *takedownEnv {
	t.Helper()
	p := newPlatformEnv(t, db, nil, nil)
	log := p.svc.Audit
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "takedown.key"), "hotline-test")
	if err != nil {
		t.Fatal(err)
	}
	e := &takedownEnv{platformEnv: p, hooks: &hostHooks{ids: map[string]string{}, notices: map[string]string{}}}
	srv := httptest.NewServer(e.hooks)
	t.Cleanup(srv.Close)
	e.triage = &triage.Service{DB: db, Keys: p.keys, Audit: log, Now: p.clock}
	e.takedowns = &takedown.Service{DB: db, Keys: p.keys, Audit: log, Triage: e.triage, Identity: id,
		NodeName: "hotline-test", BaseURL: "https://hotline.example", Jurisdictions: []string{"FR"},
		Locator: &geo.Locator{Resolver: geotest.DNS{}}, Now: p.clock}

	admin := audit.Staff("admin1")
	chat, secret, err := p.platforms.NewKey(p.ctx, admin, "Example Chat", "takedowns", []string{canopy.ScopeTakedown})
	if err != nil {
		t.Fatal(err)
	}
	e.takedownKey = secret
	other, secret, err := p.platforms.NewKey(p.ctx, admin, "Other Social", "takedowns", []string{canopy.ScopeTakedown})
	if err != nil {
		t.Fatal(err)
	}
	e.otherTakedownKey = secret
	err = e.takedowns.PutHosts(p.ctx, audit.System, []*canopy.Host{
		{ID: "chat", Name: "Example Chat", Kind: canopy.HostPlatform, Jurisdictions: []string{"FR"}, Domains: []string{"chat.example.com"},
			Method: canopy.NoticeByWebhook, Webhook: srv.URL + "/chat", Platform: chat.PlatformID, Active: true},
		{ID: "social", Name: "Other Social", Kind: canopy.HostPlatform, Jurisdictions: []string{"FR"}, Domains: []string{"social.example"},
			Method: canopy.NoticeByWebhook, Webhook: srv.URL + "/social", Platform: other.PlatformID, Active: true},
		{ID: "frhost", Name: "Hébergeur FR", Kind: canopy.HostHosting, Jurisdictions: []string{"FR"}, Domains: []string{"fr-host.example"},
			Method: canopy.NoticeByEmail, Email: "abuse@fr-host.example", Language: "fr", Active: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.cfg
	cfg.Takedown = e.takedowns
	p.serve(cfg)
	return e
}

// report files a report of urls, assesses it for takedown and prepares
// its notices. When send is true, an analyst sends them and the node
// delivers them.
func (e *takedownEnv) report(send bool, urls ...string) string {
	e.t.Helper()
	rc, err := e.svc.Submit(e.ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver,
		Category: "csam", Description: "links to abuse material", URLs: urls})
	if err != nil {
		e.t.Fatal(err)
	}
	id := rc.ReportID
	if err := e.triage.Claim(e.ctx, analyst, id); err != nil {
		e.t.Fatal(err)
	}
	if err := e.triage.Assess(e.ctx, analyst, id, canopy.Assessment{Category: "csam", Imagery: canopy.ImageryBaseline,
		Outcome: canopy.OutcomeTakedown, Reasons: "hosted here; baseline"}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.takedowns.PrepareAssessed(e.ctx, id); err != nil {
		e.t.Fatal(err)
	}
	if send {
		if _, err := e.takedowns.Send(e.ctx, analyst, id); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.takedowns.Tick(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

// state returns an address's state as the node keeps it.
func (e *takedownEnv) state(reportID, takedownID string) canopy.Takedown {
	e.t.Helper()
	p, err := e.takedowns.Plan(e.ctx, analyst, reportID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, n := range p.Notices {
		for _, it := range n.Items {
			if it.ID == takedownID {
				return it
			}
		}
	}
	e.t.Fatalf("report %s has no takedown %s", reportID, takedownID)
	return canopy.Takedown{}
}

// confirm sends a confirmation of the takedown id with an API key.
func (e *takedownEnv) confirm(secret, id, body string, conforms int) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(call{target: "/api/v1/platform/takedowns/" + id, header: as(secret), body: body, conforms: conforms})
}

// TestConfirmTakedown: a host confirms each step of its addresses through
// the API, with its platform's key; the same confirmation again is
// answered as the first was; the answer never holds the address.
func TestConfirmTakedown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTakedownEnv(t, db)
		report := e.report(true, urlChat+"1", urlChat+"2", urlChat+"3", urlChat+"4", urlSocial, urlHosting)
		ack, removed, refused, changed := e.hooks.id(t, urlChat+"1"), e.hooks.id(t, urlChat+"2"), e.hooks.id(t, urlChat+"3"), e.hooks.id(t, urlChat+"4")
		notified := e.state(report, ack).Notified
		if notified.IsZero() {
			t.Fatal("the notice was not delivered")
		}
		ts := timestamp

		for _, c := range []struct {
			name, id, body string
			want           takedownAnswer
		}{
			{"acknowledged", ack, `{"status":"acknowledged"}`, takedownAnswer{Status: canopy.TakedownAcknowledged}},
			{"removed, at the moment of the notice", removed, `{"status":"removed","at":"` + ts(notified) + `","reason":null}`,
				takedownAnswer{Status: canopy.TakedownRemoved, Removed: ts(notified)}},
			{"refused", refused, `{"status":"refused","at":null,"reason":"  A court order here keeps it up.\r\nAsk our legal team. "}`,
				takedownAnswer{Status: canopy.TakedownRefused}},
			{"acknowledged, in another zone", changed, `{"status":"acknowledged","at":"` + notified.In(time.FixedZone("", 3600)).Format(time.RFC3339) + `"}`,
				takedownAnswer{Status: canopy.TakedownAcknowledged, Acknowledged: ts(notified)}},
			{"then removed", changed, `{"status":"removed"}`, takedownAnswer{Status: canopy.TakedownRemoved, Acknowledged: ts(notified)}},
			{"refused, then removed after all", refused, `{"status":"removed"}`, takedownAnswer{Status: canopy.TakedownRemoved}},
		} {
			rec := e.confirm(e.takedownKey, c.id, c.body, +1)
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
			}
			got := decodeAnswer[takedownAnswer](t, rec)
			stored := e.state(report, c.id)
			want := c.want
			want.ID, want.Notice, want.Notified = c.id, e.hooks.notice(c.id), ts(notified)
			// The times the request did not give are the node's.
			if want.Acknowledged == "" {
				want.Acknowledged = optional(stored.Acknowledged)
			}
			if want.Removed == "" {
				want.Removed = optional(stored.Removed)
			}
			want.Refused = optional(stored.Refused)
			if got != want || got.Status != stored.Status || (got.Removed != "") != !stored.Removed.IsZero() ||
				(got.Acknowledged != "") != !stored.Acknowledged.IsZero() {
				t.Errorf("%s: answer %+v, want %+v (stored %+v)", c.name, got, want, stored)
			}
			if strings.Contains(rec.Body.String(), "example") {
				t.Errorf("%s: the answer holds an address: %s", c.name, rec.Body)
			}
			if c.want.Status == canopy.TakedownRemoved && stored.RemovedBy != "host:chat" {
				t.Errorf("%s: removed by %q", c.name, stored.RemovedBy)
			}
			// The same again changes nothing, and is answered the same.
			if again := e.confirm(e.takedownKey, c.id, c.body, +1); again.Code != 200 || again.Body.String() != rec.Body.String() {
				t.Errorf("%s again: %d %s, first %s", c.name, again.Code, again.Body, rec.Body)
			}
			if after := e.state(report, c.id); after != stored {
				t.Errorf("%s again: the state moved from %+v to %+v", c.name, stored, after)
			}
		}
		if s := e.state(report, refused); s.Refused.IsZero() || s.Removed.IsZero() || s.Status != canopy.TakedownRemoved {
			t.Errorf("refused then removed: %+v", s)
		}
		// Steps go forward: an acknowledgement after the removal is
		// answered with the state as it stands.
		rec := e.confirm(e.takedownKey, removed, `{"status":"acknowledged"}`, +1)
		if a := decodeAnswer[takedownAnswer](t, rec); rec.Code != 200 || a.Status != canopy.TakedownRemoved || a.Acknowledged != "" {
			t.Errorf("acknowledged after removal: %d %s", rec.Code, rec.Body)
		}
		// One status event per change, on the report's timeline.
		events, err := db.Events(e.ctx, report)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range events {
			if ev.Kind == canopy.EventTakedownStatus {
				n++
			}
		}
		if n != 6 {
			t.Errorf("%d takedown status events, want 6", n)
		}
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestConfirmTakedownInvalid: what a confirmation cannot be, each refused
// with its problem and nothing recorded.
func TestConfirmTakedownInvalid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTakedownEnv(t, db)
		report := e.report(true, urlChat+"1", urlChat+"2")
		id, long := e.hooks.id(t, urlChat+"1"), e.hooks.id(t, urlChat+"2")
		notified := e.state(report, id).Notified
		pending := e.report(false, urlChat+"3")
		var unsent string
		if p, err := e.takedowns.Plan(e.ctx, analyst, pending); err != nil || len(p.Notices) != 1 {
			t.Fatalf("plan of the unsent notice: %+v %v", p, err)
		} else {
			unsent = p.Notices[0].Items[0].ID
		}

		key := e.takedownKey
		for _, c := range []struct {
			name, target, ctype, body string
			header                    map[string]string
			unsized                   bool
			conforms                  int
			status                    int
			code                      string
			errors                    []string
			detail                    string // a part of the problem's detail, or of its first error's
		}{
			{name: "refused without a reason", body: `{"status":"refused"}`, conforms: -1, status: 400,
				errors: []string{"reason " + intake.KeyRequired}},
			{name: "refused with a blank reason", body: `{"status":"refused","reason":" \r\n "}`, status: 400,
				errors: []string{"reason " + intake.KeyRequired}},
			{name: "no status", body: `{}`, conforms: -1, status: 400, errors: []string{"status " + intake.KeyRequired}},
			{name: "null status", body: `{"status":null}`, conforms: -1, status: 400, errors: []string{"status " + intake.KeyRequired}},
			{name: "unknown status", body: `{"status":"gone"}`, conforms: -1, status: 400, errors: []string{"status " + intake.KeyUnknownCode}},
			{name: "not yet notified is no status", body: `{"status":"notified"}`, conforms: -1, status: 400,
				errors: []string{"status " + intake.KeyUnknownCode}},
			{name: "in the future", body: `{"status":"removed","at":"` + timestamp(notified.Add(2*time.Hour)) + `"}`, conforms: +1, status: 400,
				errors: []string{"at " + keyTakedownFuture}, detail: "clock"},
			{name: "before the notice", body: `{"status":"removed","at":"` + timestamp(notified.Add(-time.Second)) + `"}`, conforms: +1, status: 400,
				errors: []string{"at " + keyTakedownBeforeNotice}},
			{name: "time not RFC 3339", body: `{"status":"removed","at":"2026-11-27 10:00"}`, conforms: -1, status: 400,
				errors: []string{"at " + keyJSONType}, detail: "RFC 3339"},
			{name: "every problem the API sees at once", body: `{"at":"yesterday","reason":"` + strings.Repeat("é", maxTakedownReason+1) + `"}`,
				conforms: -1, status: 400, errors: []string{"status " + intake.KeyRequired, "at " + keyJSONType, "reason " + intake.KeyTooLong}},
			{name: "reason too long", body: `{"status":"refused","reason":"` + strings.Repeat("a", maxTakedownReason+1) + `"}`, conforms: -1,
				status: 400, errors: []string{"reason " + intake.KeyTooLong}, detail: "2000"},
			{name: "control characters", body: `{"status":"refused","reason":"no\u0007"}`, status: 400,
				errors: []string{"reason " + intake.KeyControlChars}},
			{name: "unknown member", body: `{"status":"removed","url":"https://chat.example.com/m/1"}`, conforms: -1, status: 400,
				errors: []string{"url " + keyJSONUnknownField}},
			{name: "member twice", body: `{"status":"removed","status":"refused"}`, status: 400, errors: []string{"status " + keyJSONDuplicate}},
			{name: "member in another case", body: `{"Status":"removed"}`, conforms: -1, status: 400, errors: []string{"Status " + keyJSONUnknownField}},
			{name: "wrong types", body: `{"status":["removed"],"at":1764237600,"reason":{}}`, conforms: -1, status: 400,
				errors: []string{"status " + keyJSONType, "at " + keyJSONType, "reason " + keyJSONType}},
			{name: "not an object", body: `"removed"`, conforms: -1, status: 400, errors: []string{keyJSONType}},
			{name: "broken JSON", body: `{"status":"removed"`, status: 400, errors: []string{keyJSONSyntax}},
			{name: "two objects", body: `{"status":"removed"} {}`, status: 400, errors: []string{keyJSONTrailing}},
			{name: "empty body", body: ``, status: 400, errors: []string{keyJSONSyntax}},
			{name: "invalid UTF-8", body: `{"status":"refused","reason":"caf` + "\xe9" + `"}`, status: 400, errors: []string{intake.KeyInvalidUTF8}},
			{name: "unsupported ?lang", target: "/api/v1/platform/takedowns/" + id + "?lang=xx", body: `{"status":"removed"}`, status: 400,
				errors: []string{"lang " + intake.KeyLanguage}},
			{name: "over 32 KiB", body: `{"status":"refused","reason":"` + strings.Repeat("a", maxTakedownBody) + `"}`, status: 413, code: canopy.ETOOLARGE},
			{name: "over 32 KiB, no length", body: `{"status":"refused","reason":"` + strings.Repeat("a", maxTakedownBody) + `"}`, unsized: true,
				status: 413, code: canopy.ETOOLARGE},
			{name: "text/plain", ctype: "text/plain", body: `{"status":"removed"}`, status: 415, code: codeUnsupportedMediaType},
			{name: "no content type", ctype: "-", body: `{"status":"removed"}`, status: 415, code: codeUnsupportedMediaType},
			{name: "compressed", header: map[string]string{"Content-Encoding": "gzip"}, body: `{"status":"removed"}`, status: 415,
				code: codeUnsupportedMediaType},
			{name: "not sent yet", target: "/api/v1/platform/takedowns/" + unsent, body: `{"status":"removed"}`, conforms: +1, status: 409,
				code: canopy.ECONFLICT, detail: i18n.Get("en").T(keyTakedownNotSent)},
			{name: "not sent yet, in French", target: "/api/v1/platform/takedowns/" + unsent + "?lang=fr", body: `{"status":"acknowledged"}`,
				conforms: +1, status: 409, code: canopy.ECONFLICT, detail: i18n.Get("fr").T(keyTakedownNotSent)},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := *e.env
				e.t, e.h = t, conform(t, e.api)
				if c.target == "" {
					c.target = "/api/v1/platform/takedowns/" + id
				}
				header := as(key)
				maps.Copy(header, c.header)
				rec := e.do(call{target: c.target, ctype: c.ctype, header: header, body: c.body, unsized: c.unsized, conforms: c.conforms})
				if rec.Code != c.status {
					t.Fatalf("%d, want %d: %.500s", rec.Code, c.status, rec.Body)
				}
				p := problemOf(t, rec)
				if c.code == "" {
					c.code = canopy.EINVALID
				}
				if p.Code != c.code || !slices.Equal(fieldCodes(p), c.errors) {
					t.Errorf("problem %s %q, want %s %q", p.Code, fieldCodes(p), c.code, c.errors)
				}
				if c.detail != "" {
					d := p.Detail
					if len(p.Errors) > 0 {
						d = p.Errors[0].Detail
					}
					if !strings.Contains(d, c.detail) {
						t.Errorf("detail %q, want it to say %q", d, c.detail)
					}
				}
			})
		}
		// Nothing was recorded.
		if s := e.state(report, id); s.Status != canopy.TakedownNotified || !s.Acknowledged.IsZero() || !s.Removed.IsZero() || !s.Refused.IsZero() {
			t.Errorf("after refusals: %+v", s)
		}
		if s := e.state(pending, unsent); s.Status != canopy.TakedownPending {
			t.Errorf("the unsent address: %+v", s)
		}

		// The longest reason is 2000 characters, and its body fits even
		// when every character is written as a surrogate pair's escapes,
		// as an encoder that escapes all but ASCII writes an emoji.
		reason := strings.Repeat(`\ud83d\ude00`, maxTakedownReason)
		rec := e.confirm(e.takedownKey, long, `{"status":"refused","reason":"`+reason+`"}`, +1)
		if len(reason) <= 8<<10 || rec.Code != 200 || decodeAnswer[takedownAnswer](t, rec).Status != canopy.TakedownRefused {
			t.Errorf("a reason of %d characters in %d bytes: %d %s", maxTakedownReason, len(reason), rec.Code, rec.Body)
		}
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestConfirmTakedownNotYours: an address is confirmed only with the key
// of the platform its host is tied to. Any other id, whoever's it is or
// whether it exists, is answered with the same 404, and changes nothing;
// the refusals of ids that exist are audited. A key without the scope
// takedown is a 403 naming it, and no key a 401.
func TestConfirmTakedownNotYours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTakedownEnv(t, db)
		report := e.report(true, urlChat+"1", urlSocial, urlHosting)
		mine, theirs := e.hooks.id(t, urlChat+"1"), e.hooks.id(t, urlSocial)
		var hosting string
		p, err := e.takedowns.Plan(e.ctx, analyst, report)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Notices {
			if n.Host == "frhost" {
				hosting = n.Items[0].ID
			}
		}
		before := map[string]canopy.Takedown{mine: e.state(report, mine), theirs: e.state(report, theirs), hosting: e.state(report, hosting)}
		if before[hosting].Status != canopy.TakedownPending || before[theirs].Status != canopy.TakedownNotified {
			t.Fatalf("before: %+v", before)
		}

		var first *httptest.ResponseRecorder
		for _, c := range []struct {
			name, secret, id, body string
			audited                bool
		}{
			{"an unknown id", e.takedownKey, canopy.NewID(), `{"status":"removed"}`, false},
			{"another platform's key", e.otherTakedownKey, mine, `{"status":"removed"}`, true},
			{"another platform's key, a status takedown would refuse", e.otherTakedownKey, mine, `{"status":"gone"}`, true},
			{"another platform's address", e.takedownKey, theirs, `{"status":"removed"}`, true},
			{"another platform's address, with every scope", e.allKey, theirs, `{"status":"acknowledged"}`, true},
			{"a host tied to no platform", e.takedownKey, hosting, `{"status":"removed"}`, true},
			{"not an id", e.takedownKey, "NOT-AN-ID", `{"status":"removed"}`, false},
			{"too long for an id", e.takedownKey, strings.Repeat("a", 65), `{"status":"removed"}`, false},
			{"an id with a dot", e.takedownKey, mine + ".json", `{"status":"removed"}`, false},
		} {
			rec := e.confirm(c.secret, c.id, c.body, 0)
			if rec.Code != 404 {
				t.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
			}
			if first == nil {
				first = rec
				if p := problemOf(t, rec); p.Code != canopy.ENOTFOUND || p.Detail != i18n.Get("en").T(keyTakedownNotFound) || len(p.Errors) > 0 {
					t.Errorf("%s: problem %+v", c.name, p)
				}
				continue
			}
			if rec.Body.String() != first.Body.String() || !sameHeaders(rec.Header(), first.Header()) {
				t.Errorf("%s: %v %s differs from %v %s", c.name, rec.Header(), rec.Body, first.Header(), first.Body)
			}
		}
		rec := e.do(call{target: "/api/v1/platform/takedowns/" + theirs + "?lang=fr", header: as(e.takedownKey), body: `{"status":"removed"}`})
		if p := problemOf(t, rec); rec.Code != 404 || p.Detail != i18n.Get("fr").T(keyTakedownNotFound) || rec.Header().Get("Content-Language") != "fr" {
			t.Errorf("in French: %d %s", rec.Code, rec.Body)
		}

		// A key without the scope, or none.
		for name, c := range map[string]struct {
			header map[string]string
			status int
			auth   string
		}{
			"no key":          {nil, 401, `Bearer realm="canopy"`},
			"a revoked key":   {as(e.revokedKey), 401, `Bearer realm="canopy"`},
			"not a key":       {as("cnp_" + strings.Repeat("a", 52)), 401, `Bearer realm="canopy"`},
			"a submit key":    {as(e.submitKey), 403, `Bearer realm="canopy", error="insufficient_scope", scope="takedown"`},
			"a sync key":      {as(e.syncKey), 403, `Bearer realm="canopy", error="insufficient_scope", scope="takedown"`},
			"the other's key": {as(e.otherKey), 403, `Bearer realm="canopy", error="insufficient_scope", scope="takedown"`},
		} {
			rec := e.do(call{target: "/api/v1/platform/takedowns/" + mine, header: c.header, body: `{"status":"removed"}`, conforms: +1})
			code := canopy.EUNAUTHORIZED
			if c.status == 403 {
				code = canopy.EFORBIDDEN
			}
			if rec.Code != c.status || rec.Header().Get("WWW-Authenticate") != c.auth || problemCode(t, rec) != code {
				t.Errorf("%s: %d %v %s", name, rec.Code, rec.Header(), rec.Body)
			}
		}

		for id, was := range before {
			if now := e.state(report, id); now != was {
				t.Errorf("takedown %s moved from %+v to %+v", id, was, now)
			}
		}
		entries, err := e.svc.Audit.Entries(e.ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		denied := 0
		for _, en := range entries {
			if en.Action != audit.ActionTakedownUpdate {
				continue
			}
			if en.Outcome != audit.Denied || en.ID != report || !strings.HasPrefix(string(en.Actor), "platform:") {
				t.Errorf("entry %+v", en)
			}
			denied++
		}
		if denied != 6 { // the five ids of the loop's that exist, and the French one
			t.Errorf("%d refusals audited, want 6", denied)
		}
		if l := e.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestConfirmTakedownLimits: the route is limited per API key like the
// other platform routes, and answers 503 without the services it needs.
func TestConfirmTakedownLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTakedownEnv(t, db)
		e.report(true, urlChat+"1")
		id := e.hooks.id(t, urlChat+"1")
		full := e.cfg

		cfg := full
		cfg.PlatformRateLimit = limit.New(60, 1)
		cfg.PlatformRateLimit.SetClock(func() time.Time { return t0 })
		e.serve(cfg)
		if rec := e.confirm(e.takedownKey, id, `{"status":"acknowledged"}`, +1); rec.Code != 200 {
			t.Fatalf("first: %d %s", rec.Code, rec.Body)
		}
		rec := e.confirm(e.takedownKey, id, `{"status":"removed"}`, +1)
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || problemCode(t, rec) != canopy.ETOOMANY {
			t.Errorf("over the key's limit: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		if rec := e.confirm(e.allKey, id, `{"status":"removed"}`, +1); rec.Code != 200 {
			t.Errorf("another key of the platform: %d %s", rec.Code, rec.Body)
		}

		for name, change := range map[string]func(*Config){
			"no takedown service": func(c *Config) { c.Takedown = nil },
			"no platform service": func(c *Config) { c.Platform = nil },
		} {
			cfg := full
			change(&cfg)
			e.serve(cfg)
			rec := e.confirm(e.takedownKey, id, `{"status":"removed"}`, +1)
			if rec.Code != 503 || problemCode(t, rec) != canopy.EUNAVAILABLE {
				t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
			}
		}
	})
}
