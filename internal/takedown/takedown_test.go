package takedown_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/clocktest"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/mail/mailtest"
	"github.com/canopy-org/canopy/internal/platform"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
)

var (
	analyst    = &canopy.Account{ID: "an1", Role: canopy.RoleAnalyst}
	supervisor = &canopy.Account{ID: "su1", Role: canopy.RoleSupervisor}
	caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}
)

// The report's addresses: one on a French hosting company's network,
// one on a platform that answers to French law, one hosted in Belgium
// (a peer's), and one nobody on the list serves.
const (
	urlHosted   = "https://files.fr-host.example/a/%7B1%7D.jpg"
	urlPlatform = "https://www.social.example/p/123"
	urlAbroad   = "https://be-host.example/x"
	urlUnknown  = "https://other-fr.example/y"
	secretWords = "the description says secret-words"
)

var testDNS = geotest.DNS{"files.fr-host.example": "203.0.113.5", "www.social.example": "192.0.2.77", "be-host.example": "192.0.2.10",
	"other-fr.example": "203.0.113.99"}

var testNetworks = map[string]string{"192.0.2.0/24": "BE", "203.0.113.0/24": "FR"}

// loop records what takedown tells federation.
type loop struct {
	mu      sync.Mutex
	removed []string
}

func (l *loop) ContentRemoved(tx *store.Tx, reportID string, at time.Time) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removed = append(l.removed, reportID)
	return nil, nil
}

// webhook is a platform's endpoint: it checks each notice's signature
// against the node's public key and keeps what it got.
type webhook struct {
	t      *testing.T
	key    ed25519.PublicKey
	mu     sync.Mutex
	got    []takedown.WebhookNotice
	status int
	bad    int // deliveries whose signature did not verify
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !verify(w.key, r.Header.Get(takedown.SignatureHeader), body) {
		w.bad++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	if w.status != 0 {
		rw.WriteHeader(w.status)
		return
	}
	var n takedown.WebhookNotice
	if err := json.Unmarshal(body, &n); err != nil {
		w.t.Errorf("webhook body: %v", err)
	}
	w.got = append(w.got, n)
}

func (w *webhook) notices() []takedown.WebhookNotice {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// verify checks a Canopy-Signature as docs/takedown.md tells a host to,
// written from the document: keyid, t and sig; the signed bytes are
// "canopy-notice-v1\n" + t + "\n" + base64url(sha256(body)) + "\n".
func verify(key ed25519.PublicKey, header string, body []byte) bool {
	parts := map[string]string{}
	for _, p := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			parts[k] = v
		}
	}
	if parts["keyid"] != base64.RawURLEncoding.EncodeToString(key) {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts["sig"])
	if err != nil {
		return false
	}
	sum := sha256.Sum256(body)
	msg := "canopy-notice-v1\n" + parts["t"] + "\n" + base64.RawURLEncoding.EncodeToString(sum[:]) + "\n"
	return ed25519.Verify(key, []byte(msg), sig)
}

type env struct {
	t        *testing.T
	db       *store.DB
	clock    *clocktest.Clock
	log      *audit.Log
	intake   *intake.Service
	triage   *triage.Service
	platform *platform.Service
	svc      *takedown.Service
	smtp     *mailtest.Server
	hook     *webhook
	loop     *loop
	key      *canopy.APIKey // the platform's key, with the takedown scope
	other    *canopy.APIKey // another platform's key
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	master := make([]byte, seal.KeySize)
	rand.Read(master)
	keys, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	keyPath := filepath.Join(t.TempDir(), "node.key")
	if err := os.WriteFile(keyPath, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := seal.LoadOrCreateIdentity(keyPath, "hotline-fr")
	if err != nil {
		t.Fatal(err)
	}
	geoPath := filepath.Join(t.TempDir(), "geo.mmdb")
	geotest.Write(t, geoPath, testNetworks)
	countries, err := geo.Open(geoPath)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	e := &env{t: t, db: db, clock: c, log: audittest.Open(t, db), loop: &loop{}}
	e.log.Now = c.Now
	e.intake = &intake.Service{DB: db, Keys: keys, Audit: e.log, Now: c.Now}
	e.triage = &triage.Service{DB: db, Keys: keys, Audit: e.log, Now: c.Now}
	e.platform = &platform.Service{DB: db, Keys: keys, Audit: e.log, Intake: e.intake, Now: c.Now}
	e.smtp = mailtest.NewServer(t, mailtest.Config{})
	e.hook = &webhook{t: t, key: id.PublicKey()}
	srv := httptest.NewServer(e.hook)
	t.Cleanup(srv.Close)
	e.svc = &takedown.Service{DB: db, Keys: keys, Audit: e.log, Triage: e.triage, Identity: id,
		Mail: &mail.Sender{Addr: e.smtp.Addr, Host: "hotline.test", StartTLS: mail.StartTLSOff, Timeout: 10 * time.Second},
		From: "Hotline FR <notices@hotline.example>", EscalateTo: "liaison@police.example", NodeName: "hotline-fr",
		BaseURL: "https://hotline.example", Jurisdictions: []string{"FR"},
		Locator: &geo.Locator{Geo: countries, Resolver: testDNS}, Loop: e.loop, Now: c.Now, Logger: slog.New(slog.DiscardHandler)}

	ctx := context.Background()
	for _, name := range []string{"social", "elsewhere"} {
		if _, err := e.platform.Register(ctx, audit.System, name, "trust@"+name+".example"); err != nil {
			t.Fatal(err)
		}
	}
	e.key, _, err = e.platform.NewKey(ctx, audit.System, "social", "takedowns", []string{canopy.ScopeTakedown})
	if err != nil {
		t.Fatal(err)
	}
	e.other, _, err = e.platform.NewKey(ctx, audit.System, "elsewhere", "takedowns", []string{canopy.ScopeTakedown})
	if err != nil {
		t.Fatal(err)
	}
	err = e.svc.PutHosts(ctx, audit.System, []*canopy.Host{
		{ID: "frhost", Name: "Hébergeur FR", Kind: canopy.HostHosting, Jurisdictions: []string{"FR"}, Networks: []string{"203.0.113.0/28"},
			Method: canopy.NoticeByEmail, Email: "abuse@fr-host.example", Language: "fr", Active: true},
		{ID: "social", Name: "Social", Kind: canopy.HostPlatform, Jurisdictions: []string{"FR", "BE"}, Domains: []string{"social.example"},
			Method: canopy.NoticeByWebhook, Webhook: srv.URL + "/notices", Platform: e.key.PlatformID, Active: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// report files a report with the test's addresses and assesses it for
// takedown.
func (e *env) report() string {
	e.t.Helper()
	ctx := context.Background()
	rc, err := e.intake.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver, Category: "csam",
		Description: secretWords, URLs: []string{urlHosted, urlPlatform, urlAbroad, urlUnknown}})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.triage.Claim(ctx, analyst, rc.ReportID); err != nil {
		e.t.Fatal(err)
	}
	if err := e.triage.Assess(ctx, analyst, rc.ReportID, canopy.Assessment{Category: "csam", Imagery: canopy.ImageryBaseline,
		Outcome: canopy.OutcomeTakedown, Reasons: "hosted here; baseline"}); err != nil {
		e.t.Fatal(err)
	}
	return rc.ReportID
}

func (e *env) tick() {
	e.t.Helper()
	if _, err := e.svc.Tick(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) plan(id string) *takedown.Plan {
	e.t.Helper()
	p, err := e.svc.Plan(context.Background(), analyst, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) entries(action audit.Action) []audit.Entry {
	e.t.Helper()
	all, err := e.log.Entries(context.Background(), 0, 100_000)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(en audit.Entry) bool { return en.Action != action })
}

// mailText decodes a received message's body.
func mailText(t *testing.T, m mailtest.Message) string {
	t.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(m.Body))))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) waitMail(n int) []mailtest.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := e.smtp.Wait(ctx, n)
	if err != nil {
		e.t.Fatalf("waiting for %d messages: %v (have %d)", n, err, len(e.smtp.Messages()))
	}
	return msgs
}

func item(p *takedown.Plan, host string) (takedown.NoticeView, canopy.Takedown) {
	for _, n := range p.Notices {
		if n.Host == host {
			return n, n.Items[0]
		}
	}
	return takedown.NoticeView{}, canopy.Takedown{}
}

// TestLoop runs the whole loop: an assessment prepares one notice per
// host; the analyst sends them in one action; the node delivers them by
// e-mail to a local SMTP server and by signed webhook to a platform; the
// platform confirms its removal through the API; the hosting company
// never answers, so it is reminded every 24 hours and escalated at 72;
// an analyst then records its removal, which removes the report's
// content and tells the loop. The clock is moved by hand.
func TestLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		id := e.report()
		received := e.clock.Now()
		if err := e.svc.PrepareAssessed(ctx, id); err != nil {
			t.Fatal(err)
		}
		p := e.plan(id)
		if len(p.Notices) != 2 || len(p.Abroad) != 1 || p.Abroad[0].URL != urlAbroad || len(p.Unplaced) != 1 || p.Unplaced[0].URL != urlUnknown {
			t.Fatalf("plan: %+v", p)
		}
		hosted, hostedItem := item(p, "frhost")
		social, socialItem := item(p, "social")
		if hostedItem.URL != urlHosted || socialItem.URL != urlPlatform || hosted.Status != canopy.NoticeDraft || hostedItem.Status != canopy.TakedownPending {
			t.Fatalf("notices: %+v %+v", hosted, social)
		}
		if err := e.svc.PrepareAssessed(ctx, id); err != nil {
			t.Fatal(err)
		}
		if n := len(e.plan(id).Notices); n != 2 {
			t.Fatalf("preparing again made %d notices", n)
		}

		// One action sends both; the caseworker may not.
		if _, err := e.svc.Send(ctx, caseworker, id); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("a caseworker sent notices: %v", err)
		}
		e.clock.Add(30 * time.Minute)
		if n, err := e.svc.Send(ctx, analyst, id); err != nil || n != 2 {
			t.Fatalf("send: %d %v", n, err)
		}
		if _, err := e.svc.Send(ctx, analyst, id); canopy.AsError(err).Key != "error.takedown.nothing_to_send" {
			t.Fatalf("send twice: %v", err)
		}
		e.tick()
		sentAt := e.clock.Now()
		msgs := e.waitMail(1)
		m := msgs[0]
		body := mailText(t, m)
		if !slices.Equal(m.To, []string{"abuse@fr-host.example"}) || !strings.Contains(m.Header.Get("X-Canopy-Notice"), hosted.Reference) {
			t.Fatalf("mail to %v, header %v", m.To, m.Header)
		}
		for _, want := range []string{urlHosted, hostedItem.ID, hosted.Reference, "Bonjour", "72 heures"} {
			if !strings.Contains(body, want) {
				t.Errorf("the notice lacks %q:\n%s", want, body)
			}
		}
		for _, never := range []string{secretWords, urlPlatform, urlAbroad, urlUnknown} {
			if strings.Contains(string(m.Raw), never) {
				t.Errorf("the notice carries %q", never)
			}
		}
		hooks := e.hook.notices()
		if len(hooks) != 1 || hooks[0].Reference != social.Reference || len(hooks[0].Items) != 1 ||
			hooks[0].Items[0] != (takedown.WebhookTakedown{ID: socialItem.ID, URL: urlPlatform}) || hooks[0].Reminder != 0 ||
			hooks[0].Confirm != "https://hotline.example/api/v1/platform/takedowns/{id}" || e.hook.bad != 0 {
			t.Fatalf("webhook got %+v (bad signatures %d)", hooks, e.hook.bad)
		}
		p = e.plan(id)
		for _, n := range p.Notices {
			if n.Status != canopy.NoticeSent || !n.Sent.Equal(sentAt) || n.Items[0].Status != canopy.TakedownNotified {
				t.Fatalf("after delivery: %+v", n)
			}
		}
		if sentAt.Sub(received) != 30*time.Minute {
			t.Fatalf("report to notice: %s", sentAt.Sub(received))
		}

		// The platform confirms through the API; another platform's key
		// cannot touch it.
		if _, err := e.svc.Confirm(ctx, e.other, socialItem.ID, takedown.Confirmation{Status: canopy.TakedownRemoved}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("another platform confirmed: %v", err)
		}
		if _, err := e.svc.Confirm(ctx, e.key, hostedItem.ID, takedown.Confirmation{Status: canopy.TakedownRemoved}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("the platform confirmed another host's address: %v", err)
		}
		for _, c := range []struct {
			c    takedown.Confirmation
			want string
		}{
			{takedown.Confirmation{Status: "gone"}, "status:error.unknown_code"},
			{takedown.Confirmation{Status: canopy.TakedownRefused}, "reason:error.required"},
			{takedown.Confirmation{Status: canopy.TakedownRemoved, At: sentAt.Add(-time.Hour)}, "at:error.takedown.before_notice"},
			{takedown.Confirmation{Status: canopy.TakedownRemoved, At: sentAt.Add(time.Hour)}, "at:error.takedown.future"},
		} {
			_, err := e.svc.Confirm(ctx, e.key, socialItem.ID, c.c)
			if ce := canopy.AsError(err); ce == nil || len(ce.Fields) != 1 || ce.Fields[0].Field+":"+ce.Fields[0].Key != c.want {
				t.Errorf("confirm %+v: %v, want %s", c.c, err, c.want)
			}
		}
		e.clock.Add(2 * time.Hour)
		got, err := e.svc.Confirm(ctx, e.key, socialItem.ID, takedown.Confirmation{Status: canopy.TakedownRemoved, At: e.clock.Now().Add(-time.Hour)})
		if err != nil || got.Status != canopy.TakedownRemoved || got.Removed.Sub(got.Notified) != time.Hour || got.RemovedBy != "host:social" {
			t.Fatalf("confirm: %+v %v", got, err)
		}

		// The hosting company never answers: a reminder at 24 and 48
		// hours, escalation at 72, and then silence.
		for i, step := range []struct {
			at       time.Duration
			mails    int
			webhooks int
		}{
			{23 * time.Hour, 1, 1},
			{24 * time.Hour, 2, 1},
			{47 * time.Hour, 2, 1},
			{48 * time.Hour, 3, 1},
			{71 * time.Hour, 3, 1},
			{72 * time.Hour, 4, 1}, // the escalation, to the liaison
			{200 * time.Hour, 4, 1},
		} {
			e.clock.Set(sentAt.Add(step.at))
			e.tick()
			if n := len(e.smtp.Messages()); n != step.mails {
				t.Fatalf("step %d (%s): %d mails, want %d", i, step.at, n, step.mails)
			}
			if n := len(e.hook.notices()); n != step.webhooks {
				t.Fatalf("step %d: %d webhooks, want %d (a removed address is not reminded)", i, n, step.webhooks)
			}
		}
		all := e.smtp.Messages()
		reminder := mailText(t, all[1])
		if !strings.Contains(reminder, urlHosted) || !strings.Contains(reminder, hosted.Reference) || !strings.Contains(reminder, "Nous vous avons envoyé") {
			t.Errorf("reminder:\n%s", reminder)
		}
		escalation := all[3]
		if !slices.Equal(escalation.To, []string{"liaison@police.example"}) || strings.Contains(string(escalation.Raw), urlHosted) ||
			!strings.Contains(mailText(t, escalation), hosted.Reference) {
			t.Errorf("escalation mail to %v:\n%s", escalation.To, escalation.Raw)
		}
		hosted, hostedItem = item(e.plan(id), "frhost")
		if hosted.Reminders != 2 || !hostedItem.Escalated.Equal(sentAt.Add(72*time.Hour)) || !hosted.Next.IsZero() || hostedItem.Status != canopy.TakedownNotified {
			t.Fatalf("after escalation: %+v %+v", hosted, hostedItem)
		}
		if es := e.entries(audit.ActionTakedownEscalate); len(es) != 1 || es[0].ID != id || es[0].Details["urls"] != "1" {
			t.Fatalf("escalation audited as %+v", es)
		}

		// An analyst records the removal: the report's content is down.
		if _, err := e.svc.Record(ctx, caseworker, hostedItem.ID, takedown.Confirmation{Status: canopy.TakedownRemoved}); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("a caseworker recorded a removal: %v", err)
		}
		if _, err := e.svc.Record(ctx, supervisor, hostedItem.ID, takedown.Confirmation{Status: canopy.TakedownRemoved}); err != nil {
			t.Fatal(err)
		}
		events, err := db.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range events {
			kinds = append(kinds, ev.Kind)
		}
		for _, want := range []string{canopy.EventNoticeSent, canopy.EventTakedownEscalate, canopy.EventContentRemoved} {
			if !slices.Contains(kinds, want) {
				t.Errorf("timeline lacks %s: %v", want, kinds)
			}
		}
		var plain []canopy.Event
		for _, ev := range events {
			plain = append(plain, ev.Event)
		}
		if st := canopy.StatusOf(plain); st != canopy.StatusContentRemoved {
			t.Errorf("the reporter sees %q", st)
		}
		if !slices.Equal(e.loop.removed, []string{id}) {
			t.Errorf("the loop heard %v", e.loop.removed)
		}

		// The scorecard: the platform within a day, the hosting company
		// after three.
		scores, err := e.svc.Scorecard(ctx, analyst, sentAt.Add(-time.Hour), sentAt.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		byHost := map[string]takedown.Score{}
		for _, s := range scores {
			byHost[s.Host] = s
		}
		if s := byHost["social"]; s.Notified != 1 || s.Removed != 1 || s.Median != time.Hour || s.Within24 != 1 || s.Within72 != 1 {
			t.Errorf("social scored %+v", s)
		}
		if s := byHost["frhost"]; s.Notified != 1 || s.Removed != 1 || s.Escalated != 1 || s.Within24 != 0 || s.Within72 != 0 || s.Median != 200*time.Hour {
			t.Errorf("frhost scored %+v", s)
		}
		for _, en := range e.entries(audit.ActionNoticeDeliver) {
			for k, v := range en.Details {
				if strings.Contains(v, "example") || strings.Contains(k, "url") {
					t.Errorf("the audit log holds %s=%s", k, v)
				}
			}
		}
	})
}

// TestDeliveryFailures: a server that says "try later" is tried again
// with a growing wait; one that refuses for good fails the notice, which
// the analyst can send again once the host is fixed.
func TestDeliveryFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		id := e.report()
		if err := e.svc.PrepareAssessed(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.smtp.Reply(mailtest.Rcpt, 450, "mailbox busy")
		e.hook.mu.Lock()
		e.hook.status = http.StatusServiceUnavailable
		e.hook.mu.Unlock()
		if _, err := e.svc.Send(ctx, analyst, id); err != nil {
			t.Fatal(err)
		}
		e.tick()
		for _, n := range e.plan(id).Notices {
			if n.Status != canopy.NoticeQueued || n.Attempts != 1 || n.Error == "" || !n.Next.Equal(e.clock.Now().Add(time.Minute)) {
				t.Fatalf("after a temporary failure: %+v", n.Notice)
			}
		}
		e.clock.Add(30 * time.Second)
		e.tick() // not due yet
		e.clock.Add(30 * time.Second)
		e.tick()
		for _, n := range e.plan(id).Notices {
			if n.Attempts != 2 || !n.Next.Equal(e.clock.Now().Add(2*time.Minute)) {
				t.Fatalf("second failure: %+v", n.Notice)
			}
		}
		// Now the mailbox does not exist, and the endpoint refuses.
		e.smtp.Reply(mailtest.Rcpt, 550, "no such user")
		e.hook.mu.Lock()
		e.hook.status = http.StatusBadRequest
		e.hook.mu.Unlock()
		e.clock.Add(2 * time.Minute)
		e.tick()
		for _, n := range e.plan(id).Notices {
			if n.Status != canopy.NoticeFailed || !n.Next.IsZero() || n.Items[0].Status != canopy.TakedownPending {
				t.Fatalf("after a permanent failure: %+v", n)
			}
		}
		final := 0
		for _, en := range e.entries(audit.ActionNoticeDeliver) {
			if en.Outcome == audit.Failed && en.Details["final"] == "true" {
				final++
				if c := en.Details["error"]; c != "smtp_550" && c != "http_400" {
					t.Errorf("failure audited as %q", c)
				}
			}
		}
		if final != 2 {
			t.Errorf("%d final failures audited, want 2", final)
		}
		// Fixed: sent again, delivered.
		e.smtp.Restore(mailtest.Rcpt)
		e.hook.mu.Lock()
		e.hook.status = 0
		e.hook.mu.Unlock()
		if n, err := e.svc.Send(ctx, analyst, id); err != nil || n != 2 {
			t.Fatalf("send again: %d %v", n, err)
		}
		e.tick()
		e.waitMail(1)
		for _, n := range e.plan(id).Notices {
			if n.Status != canopy.NoticeSent || n.Error != "" {
				t.Fatalf("after sending again: %+v", n.Notice)
			}
		}
	})
}

// TestScores checks the scorecard's arithmetic: nearest-rank median and
// 90th percentile, and shares over the addresses whose window has passed.
func TestScores(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	var rows []store.TakedownTimes
	for i := 1; i <= 10; i++ {
		notified := now.Add(-100 * time.Hour)
		rows = append(rows, store.TakedownTimes{Host: "h", Notified: notified, Removed: notified.Add(time.Duration(i*10) * time.Hour)})
	}
	rows = append(rows,
		store.TakedownTimes{Host: "h", Notified: now.Add(-100 * time.Hour), Refused: true},
		store.TakedownTimes{Host: "h", Notified: now.Add(-time.Hour)}, // too recent for either window
		store.TakedownTimes{Host: "g", Notified: now.Add(-time.Hour), Removed: now.Add(-30 * time.Minute)},
	)
	scores := takedown.Scores(rows, map[string]string{"h": "Host H"}, now)
	if len(scores) != 2 || scores[0].Host != "h" || scores[0].Name != "Host H" || scores[1].Name != "g" {
		t.Fatalf("scores %+v", scores)
	}
	h := scores[0]
	want := takedown.Score{Host: "h", Name: "Host H", Notified: 12, Removed: 10, Refused: 1, Median: 50 * time.Hour, P90: 90 * time.Hour,
		Due24: 11, Due72: 11, Within24: 2.0 / 11, Within72: 7.0 / 11}
	if h != want {
		t.Errorf("h scored\n%+v\nwant\n%+v", h, want)
	}
	if g := scores[1]; g.Within24 != -1 || g.Within72 != -1 || g.Median != 30*time.Minute || g.Due24 != 0 {
		t.Errorf("g scored %+v", g)
	}
}

// TestRefusalReason: a host's reason for refusing is kept sealed with the
// report's key and shown with the address.
func TestRefusalReason(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		id := e.report()
		if err := e.svc.PrepareAssessed(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Send(ctx, analyst, id); err != nil {
			t.Fatal(err)
		}
		e.tick()
		_, it := item(e.plan(id), "social")
		const reason = "Under legal review-secret"
		if _, err := e.svc.Confirm(ctx, e.key, it.ID, takedown.Confirmation{Status: canopy.TakedownRefused, Reason: reason}); err != nil {
			t.Fatal(err)
		}
		if _, it = item(e.plan(id), "social"); it.Status != canopy.TakedownRefused || it.Reason != reason {
			t.Fatalf("after the refusal: %+v", it)
		}
		sealed, err := db.Takedown(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed.SealedReason) == 0 || strings.Contains(string(sealed.SealedReason), "secret") {
			t.Fatalf("the reason is not sealed: %q", sealed.SealedReason)
		}
	})
}
