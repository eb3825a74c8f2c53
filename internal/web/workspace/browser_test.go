package workspace

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// axePath is axe-core as cmd/canopy's browser tests vendor it; the
// accessibility checks here use the same copy and are left out without it.
const axePath = "../../../cmd/canopy/testdata/axe/axe.min.js"

// newChromium starts headless Chromium, or skips the test without it
// (except under CI), as cmd/canopy's browser tests do.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	path := os.Getenv("CANOPY_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI")
		}
		t.Skip("chromium not found; set CANOPY_CHROMIUM")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestBrowserPasskeys drives staff.js in Chromium with a virtual
// authenticator: an invited analyst enrols with a passkey, signs out, and
// signs in again with it, then opens a report. Each page on the way is
// checked with axe.
func TestBrowserPasskeys(t *testing.T) {
	ctx := newChromium(t)
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

	axe, _ := os.ReadFile(axePath)
	must := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(page string) {
		t.Helper()
		if len(axe) > 0 {
			checkAxe(t, ctx, page, string(axe))
		}
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

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAxe runs axe-core on the page and fails on any serious or critical
// violation of WCAG 2.x A and AA.
func checkAxe(t *testing.T, ctx context.Context, page, source string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](source+";true")); err != nil {
		t.Fatalf("%s: inject axe: %v", page, err)
	}
	run := `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a","wcag2aa","wcag21a","wcag21aa","wcag22aa","best-practice"]}, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({target: n.target, html: n.html}))})))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe: %v", page, err)
	}
	for _, v := range out {
		b, _ := json.Marshal(v.Nodes)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, b)
		} else {
			t.Logf("%s: axe %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, b)
		}
	}
}
