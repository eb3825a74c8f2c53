package workspace

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// TestBrowserCaseworker drives the caseworker's pages in Chromium on a
// phone-sized screen: open a case (a mistake first), record consent, add
// needs, refer to a service and record its first contact, write a safety
// plan and open its printable page in Arabic and in English, record a
// check-in, withdraw a consent and reveal the identifying details. axe
// checks every page, and none is wider than the screen.
func TestBrowserCaseworker(t *testing.T) {
	ctx := browsertest.New(t, true)
	e := newEnv(t)
	testService(e)
	rep := freshReport(e)
	origin := e.http.URL

	tab := browsertest.Tab{T: t, Ctx: ctx}
	must, check, text := tab.Must, tab.Check, tab.Text
	// send runs the step that sends a form, waits for the page it loads
	// (browsertest.Load: two forms in a row may give the same notice, so
	// the notice alone cannot tell the new page from the old), and checks
	// that its notice says want.
	send := func(want string, step chromedp.Action[chromedp.Void]) {
		t.Helper()
		must(browsertest.Load(step), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if s := text(".notice"); !strings.Contains(s, want) {
			t.Fatalf("notice %q, want %q", s, want)
		}
	}

	m := e.members[canopy.RoleCaseworker]
	must(chromedp.Navigate(origin+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/staff/cases"]`)),
		browsertest.Load(chromedp.Click(chromedp.CSS(`nav a[href="/staff/cases"]`))), chromedp.WaitVisible(chromedp.CSS(`a[href="/staff/cases/new"]`)))
	check("cases")

	// Open a case: without an alias first.
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`a[href="/staff/cases/new"]`))), chromedp.WaitVisible(chromedp.CSS("#alias")))
	check("new case")
	must(chromedp.SendKeys(chromedp.CSS("#languages"), "ar fr"), chromedp.SetValue(chromedp.CSS("#age_band"), "14-17"),
		chromedp.Click(chromedp.CSS("#need-emotional")), chromedp.SendKeys(chromedp.CSS("#name"), caseChildName),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/cases"] button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	if s := text("#alias-error"); !strings.Contains(s, "Please fill this in") {
		t.Fatalf("alias error: %q", s)
	}
	check("new case with errors")
	must(chromedp.SendKeys(chromedp.CSS("#alias"), "Robin"))
	send("The case is open", chromedp.Click(chromedp.CSS(`form[action="/staff/cases"] button[type=submit]`)))
	check("case")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], origin+"/staff/cases/")

	// Consent to support and to investigation; needs; a link; a referral.
	for _, purpose := range []string{"support", "investigation"} {
		must(chromedp.Click(chromedp.CSS("#purpose-" + purpose)))
		send("The consent is recorded", chromedp.Click(chromedp.CSS(`form[action$="/consents"] button[type=submit]`)))
	}
	must(chromedp.Click(chromedp.CSS("#need-legal")))
	send("The needs are saved", chromedp.Click(chromedp.CSS(`form[action$="/needs"] button[type=submit]`)))
	must(chromedp.SendKeys(chromedp.CSS("#report"), rep))
	send("The case is linked to the report", chromedp.Click(chromedp.CSS(`form[action$="/links"] button[type=submit]`)))
	must(chromedp.SetValue(chromedp.CSS("#service"), "maison-ecoute"), chromedp.SetValue(chromedp.CSS("#need"), canopy.NeedEmotional))
	send("The referral is recorded as sent", chromedp.Click(chromedp.CSS(`form[action$="/referrals"] button[type=submit]`)))
	check("case with a referral")
	must(chromedp.SetValue(chromedp.CSS(`select[id^="status-"]`), canopy.ServiceReferralFirstContact))
	send("The referral's step is recorded", chromedp.Click(chromedp.CSS(`form[action*="/referrals/"] button[type=submit]`)))
	if s := text("#referrals-title + p"); !strings.Contains(s, "Time to first support") {
		t.Fatalf("after first contact: %q", s)
	}

	// The safety plan, written in Arabic and printed in it and in English.
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`a[href="/staff/cases/`+id+`/plan"]`))), chromedp.WaitVisible(chromedp.CSS("#warning_signs")))
	check("safety plan form")
	must(chromedp.SendKeys(chromedp.CSS("#warning_signs"), "أشعر بألم في بطني"), chromedp.SendKeys(chromedp.CSS("#trusted_adults"), casePlanLine),
		chromedp.SendKeys(chromedp.CSS("#safe_places"), "بيت جدتي"), chromedp.SendKeys(chromedp.CSS("#emergency"), "112"))
	send("The safety plan is saved", chromedp.Click(chromedp.CSS(`form[action$="/plan"] button[type=submit]`)))
	for _, c := range []struct{ lang, dir, title string }{{"", "rtl", "خطتي للأمان"}, {"en", "ltr", "My safety plan"}} {
		path := "/staff/cases/" + id + "/plan/print"
		if c.lang != "" {
			path += "?lang=" + c.lang
		}
		must(chromedp.Navigate(origin+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		dir, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dir`))
		if err != nil || dir != c.dir || text("h1") != c.title || !strings.Contains(text("main"), casePlanLine) {
			t.Fatalf("printed plan %q: dir %q, h1 %q: %v", c.lang, dir, text("h1"), err)
		}
		check("printed plan " + c.dir)
	}

	// A WHO-5 check-in, shown on the trend.
	must(chromedp.Navigate(origin+"/staff/cases/"+id+"/checkin"), chromedp.WaitVisible(chromedp.CSS("#item-0-5")))
	check("check-in")
	for i, score := range []string{"3", "2", "4", "3", "3"} {
		must(chromedp.Click(chromedp.CSS("#item-" + string(rune('0'+i)) + "-" + score)))
	}
	must(chromedp.SendKeys(chromedp.CSS("#note"), caseNote))
	send("The check-in is recorded", chromedp.Click(chromedp.CSS(`form[action$="/checkin"] button[type=submit]`)))
	if s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#trend-desc"))); err != nil || !strings.Contains(s, "scored 60") {
		t.Fatalf("trend: %q", s)
	}
	check("case with a check-in")

	// Withdrawal takes the link away from the report at once.
	send("The consent is withdrawn", chromedp.Click(chromedp.CSS(`button[name="purpose"][value="investigation"]`)))
	if links, err := e.srv.support.LinkedCases(context.Background(), e.members[canopy.RoleAnalyst].Account, rep); err != nil || len(links) != 0 {
		t.Fatalf("after withdrawal the report still shows %v (%v)", links, err)
	}
	check("case after withdrawal")

	// The identifying details, on request; then the redaction form.
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button`))), chromedp.WaitVisible(chromedp.CSS("#name")))
	if s := text("#details-title + p + dl"); !strings.Contains(s, caseChildName) {
		t.Fatalf("revealed details: %q", s)
	}
	check("revealed details")
	must(chromedp.Navigate(origin+"/staff/cases/"+id+"/erase"), chromedp.WaitVisible(chromedp.CSS("#kind-redact")))
	check("redact or delete")
}
