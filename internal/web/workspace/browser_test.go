package workspace

import (
	"context"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
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
	s, err := newServer(Config{Staff: e.staff, Triage: e.triage, Audit: e.audit, Now: e.clock.now,
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

	must := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(page string) {
		t.Helper()
		browsertest.CheckAxe(t, ctx, page, false)
	}
	waitPath := func(path string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			if u, _ := url.Parse(loc); u != nil && u.Path == path {
				must(chromedp.WaitReady(chromedp.CSS("body")))
				return
			}
			if time.Now().After(deadline) {
				status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				t.Fatalf("never reached %s (at %s): %s", path, loc, status)
			}
			time.Sleep(100 * time.Millisecond)
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
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.SendKeys(chromedp.CSS("#password2"), password),
		chromedp.Submit(chromedp.CSS("#password2")))
	waitPath("/staff/enrol")
	check("enrol")
	must(chromedp.WaitVisible(chromedp.CSS("button.passkey-register")), chromedp.Click(chromedp.CSS("button.passkey-register")))
	waitPath("/staff/")
	check("queue")
	if m := mainText(); !strings.Contains(strings.ToLower(m), "urgent") {
		t.Fatalf("queue after passkey enrolment: %s", m)
	}

	must(chromedp.Click(chromedp.CSS(`form[action="/staff/logout"] button`)))
	waitPath("/staff/login")
	check("login")
	must(chromedp.SendKeys(chromedp.CSS("#email"), "pat@example.org"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")))
	waitPath("/staff/login/factor")
	check("factor")
	must(chromedp.WaitVisible(chromedp.CSS("button.passkey-login")), chromedp.Click(chromedp.CSS("button.passkey-login")))
	waitPath("/staff/")

	// The report page, closed and opened, and the account page.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("table.queue tbody a"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	must(chromedp.Navigate(origin + href.Value))
	check("report")
	must(chromedp.Click(chromedp.CSS(`form[action$="/open"] button`)), chromedp.WaitVisible(chromedp.CSS("#description")))
	check("opened report")
	must(chromedp.Navigate(origin + "/staff/account"))
	check("account")
	if m := mainText(); !strings.Contains(m, "Passkey, added") {
		t.Fatalf("account page: %s", m)
	}
}
