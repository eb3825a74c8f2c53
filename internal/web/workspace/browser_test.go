package workspace

import (
	"context"
	"net"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// TestBrowserPasskeys drives staff.js in Chromium with a virtual
// authenticator: an invited analyst enrols with a passkey, signs out, and
// signs in again with it, then opens a report. Each page on the way is
// checked with axe.
func TestBrowserPasskeys(t *testing.T) {
	ctx := browsertest.New(t, true, 1280, 900)
	// WebAuthn needs a secure context and a domain: http://localhost is
	// both. The relying party is only known once the port is.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	e := newBareEnv(t, storetest.Open(t, store.SQLite))
	e.enrolAll()
	s, err := newServer(Config{Staff: e.staff, Triage: e.triage, Audit: e.audit, Now: e.clock.now, Network: e.network, Support: e.srv.support, Takedown: e.takedown, Evidence: e.srv.evidence,
		RP: staff.RelyingParty{ID: "localhost", Name: "Canopy", Origins: []string{origin}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	e.submit("grooming", "FR", "urgent")

	_, token, err := e.staff.Invite(context.Background(), audit.Staff(e.members[canopy.RoleAdministrator].ID),
		staff.AccountInput{Email: "pat@example.org", Name: "Pat", Role: canopy.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}

	tab := browsertest.Tab{T: t, Ctx: ctx}
	must := tab.Must
	check := func(page string) {
		t.Helper()
		browsertest.CheckAxe(t, ctx, page, false)
	}
	// to runs steps that load a page (a form sent, or a passkey
	// ceremony that ends by going on) and fails unless the page is at
	// path. A ceremony that fails loads nothing, and says why on the page.
	to := func(path string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		err := chromedp.Do(ctx, browsertest.Load(steps...))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if u, _ := url.Parse(loc); err != nil || u == nil || u.Path != path {
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("never reached %s (at %s: %v): %s", path, loc, err, status)
		}
	}
	mainText := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(s), " ")
	}

	must(chromedp.Navigate(origin+"/staff/invite?token="+token),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.SendKeys(chromedp.CSS("#password2"), password))
	to("/staff/enrol", chromedp.Submit(chromedp.CSS("#password2")))
	check("enrol")
	must(chromedp.WaitVisible(chromedp.CSS("button.passkey-register")))
	to("/staff/", chromedp.Click(chromedp.CSS("button.passkey-register")))
	check("queue")
	if m := mainText(); !strings.Contains(strings.ToLower(m), "urgent") {
		t.Fatalf("queue after passkey enrolment: %s", m)
	}

	to("/staff/login", chromedp.Click(chromedp.CSS(`form[action="/staff/logout"] button`)))
	check("login")
	must(chromedp.SendKeys(chromedp.CSS("#email"), "pat@example.org"), chromedp.SendKeys(chromedp.CSS("#password"), password))
	to("/staff/login/factor", chromedp.Submit(chromedp.CSS("#password")))
	check("factor")
	must(chromedp.WaitVisible(chromedp.CSS("button.passkey-login")))
	to("/staff/", chromedp.Click(chromedp.CSS("button.passkey-login")))

	// The report page, closed and opened, and the account page.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("table.queue tbody a"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	must(chromedp.Navigate(origin + href.Value))
	check("report")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action$="/open"] button`))), chromedp.WaitVisible(chromedp.CSS("#description")))
	check("opened report")
	must(chromedp.Navigate(origin + "/staff/account"))
	check("account")
	if m := mainText(); !strings.Contains(m, "Passkey, added") {
		t.Fatalf("account page: %s", m)
	}
}

// TestBrowserNetwork drives the network and cross-border pages in
// Chromium with scripts off, on a phone-sized screen: an administrator
// adds a peer through the form, an analyst finds an unrouted report,
// refers a report to a peer and answers a peer's referral. axe checks
// each page, and no page is wider than the screen.
func TestBrowserNetwork(t *testing.T) {
	ctx := browsertest.New(t, false)
	e := newEnv(t)
	bg := context.Background()
	e.peer("be", "BE")
	if err := e.network.SetRoute(bg, audit.System, store.Route{Jurisdiction: "BE", PeerID: "be"}); err != nil {
		t.Fatal(err)
	}
	hosted := e.submitHosted("csam", "FR", "https://be-host.example/gallery/1")
	unrouted := e.submitHosted("grooming", "DE", "https://de-host.example/x")
	referred := e.referFrom(e.peer("nl", "NL"), "sextortion")
	origin := e.http.URL

	tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: true}
	must, check, text := tab.Must, tab.Check, tab.Text
	// Each click below loads a page (scripts are off): browsertest.Load
	// waits for it, and WaitVisible then only says it is the page meant.
	signIn := func(role canopy.Role, lands string) {
		t.Helper()
		m := e.members[role]
		must(chromedp.Navigate(origin+"/staff/login"),
			chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
			browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))), chromedp.WaitVisible(chromedp.CSS("#code")),
			chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
			browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS(lands)))
	}

	// The administrator: the network page, a mistake, then a new peer.
	signIn(canopy.RoleAdministrator, `form[action="/staff/accounts/invite"]`)
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`nav a[href="/staff/network"]`))), chromedp.WaitVisible(chromedp.CSS("#add-command")))
	check("network")
	lu := e.newPeerNode("hotline-lu")
	fill := func(signing string) {
		t.Helper()
		must(chromedp.SendKeys(chromedp.CSS("#peer_id"), "lu"), chromedp.SendKeys(chromedp.CSS("#url"), "https://lu.hotline.example"),
			chromedp.SendKeys(chromedp.CSS("#signing_key"), signing),
			chromedp.SendKeys(chromedp.CSS("#encryption_key"), "x25519:"+b64(lu.exchange.Public())),
			chromedp.SendKeys(chromedp.CSS("#jurisdictions"), "LU"), chromedp.Click(chromedp.CSS("#share-description")),
			browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/network/peers"] button[type=submit]`))))
	}
	fill("ed25519:not-a-key")
	must(chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	if s := text("#signing_key-error"); !strings.Contains(s, "not the right public key") {
		t.Fatalf("signing key error: %q", s)
	}
	check("network with errors")
	must(chromedp.Navigate(origin + "/staff/network"))
	fill("ed25519:" + b64(lu.identity.PublicKey()))
	must(chromedp.WaitVisible(chromedp.CSS(`a[href="/staff/network/peers/lu"]`)))
	if s := text("main"); !strings.Contains(s, "The peer is added") {
		t.Fatalf("after adding: %s", s)
	}
	if p, err := e.db.Peer(bg, "lu"); err != nil || !slices.Equal(p.Share, []string{canopy.ShareDescription, canopy.SharePlatform, canopy.ShareURLs}) {
		t.Fatalf("peer added in the browser: %+v %v", p, err)
	}
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`a.button[href="/staff/network/peers/lu"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/staff/network/peers/lu"]`)))
	check("peer")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`a.button[href="/staff/network/peers/lu/remove"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/staff/network/peers/lu/remove"]`)))
	check("confirm removal")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/logout"] button`))), chromedp.WaitVisible(chromedp.CSS("#email")))

	// The analyst: the unrouted list, a referral, an answer to a peer.
	signIn(canopy.RoleAnalyst, "table.queue")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`a[href="/staff/unrouted"]`))),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/staff/reports/`+unrouted+`"]`)))
	check("unrouted")
	must(chromedp.Navigate(origin+"/staff/reports/"+hosted), chromedp.WaitVisible(chromedp.CSS(`form[action$="/refer"]`)))
	if s := text("#border-title + p"); !strings.Contains(s, "Hosted in BE") {
		t.Fatalf("routing on the report page: %q", s)
	}
	check("report with the cross-border panel")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action$="/refer"] button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "The report is referred") {
		t.Fatalf("after referring: %q", s)
	}
	check("referred report")
	if refs, err := e.db.ReferralsOf(bg, hosted); err != nil || len(refs) != 1 || refs[0].PeerID != "be" {
		t.Fatalf("referrals %+v %v", refs, err)
	}
	must(chromedp.Navigate(origin+"/staff/reports/"+referred), chromedp.WaitVisible(chromedp.CSS(`form[action$="/status"]`)))
	check("report referred here")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`button[value="rejected"]`))), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	check("answer with errors")
	must(chromedp.SendKeys(chromedp.CSS("#status_reason"), "Not hosted here."),
		browsertest.Load(chromedp.Click(chromedp.CSS(`button[value="rejected"]`))), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text("ol.timeline"); !strings.Contains(s, "Sent to peer nl: rejected") {
		t.Fatalf("timeline after answering: %s", s)
	}
}
