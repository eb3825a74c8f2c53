package workspace

import (
	"context"
	"strings"
	"testing"
	"time"

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

	must := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(page string) {
		t.Helper()
		browsertest.CheckAxe(t, ctx, page, false)
		if out := browsertest.WiderThanScreen(t, ctx, false); len(out) > 0 {
			t.Errorf("%s: wider than a phone's screen: %v", page, out)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	// notice waits for the page after an action, whose notice says want.
	// notice waits for the page a form loads to show its notice. Two
	// forms in a row may give the same notice, so a page whose notice was
	// seen is marked, and only an unmarked (new) page counts.
	notice := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.seen ? "" :
				(document.querySelector(".notice") || {}).textContent || ""`))
			if strings.Contains(strings.Join(strings.Fields(s), " "), want) {
				chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.dataset.seen = "1", true`))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("notice %q, want %q", s, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	m := e.members[canopy.RoleCaseworker]
	must(chromedp.Navigate(origin+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`)), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
		chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/staff/cases"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/staff/cases"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/staff/cases/new"]`)))
	check("cases")

	// Open a case: without an alias first.
	must(chromedp.Click(chromedp.CSS(`a[href="/staff/cases/new"]`)), chromedp.WaitVisible(chromedp.CSS("#alias")))
	check("new case")
	must(chromedp.SendKeys(chromedp.CSS("#languages"), "ar fr"), chromedp.SetValue(chromedp.CSS("#age_band"), "14-17"),
		chromedp.Click(chromedp.CSS("#need-emotional")), chromedp.SendKeys(chromedp.CSS("#name"), caseChildName),
		chromedp.Click(chromedp.CSS(`form[action="/staff/cases"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	if s := text("#alias-error"); !strings.Contains(s, "Please fill this in") {
		t.Fatalf("alias error: %q", s)
	}
	check("new case with errors")
	must(chromedp.SendKeys(chromedp.CSS("#alias"), "Robin"), chromedp.Click(chromedp.CSS(`form[action="/staff/cases"] button[type=submit]`)))
	notice("The case is open")
	check("case")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], origin+"/staff/cases/")

	// Consent to support and to investigation; needs; a link; a referral.
	for _, purpose := range []string{"support", "investigation"} {
		must(chromedp.Click(chromedp.CSS("#purpose-"+purpose)), chromedp.Click(chromedp.CSS(`form[action$="/consents"] button[type=submit]`)))
		notice("The consent is recorded")
	}
	must(chromedp.Click(chromedp.CSS("#need-legal")), chromedp.Click(chromedp.CSS(`form[action$="/needs"] button[type=submit]`)))
	notice("The needs are saved")
	must(chromedp.SendKeys(chromedp.CSS("#report"), rep), chromedp.Click(chromedp.CSS(`form[action$="/links"] button[type=submit]`)))
	notice("The case is linked to the report")
	must(chromedp.SetValue(chromedp.CSS("#service"), "maison-ecoute"), chromedp.SetValue(chromedp.CSS("#need"), canopy.NeedEmotional),
		chromedp.Click(chromedp.CSS(`form[action$="/referrals"] button[type=submit]`)))
	notice("The referral is recorded as sent")
	check("case with a referral")
	must(chromedp.SetValue(chromedp.CSS(`select[id^="status-"]`), canopy.ServiceReferralFirstContact),
		chromedp.Click(chromedp.CSS(`form[action*="/referrals/"] button[type=submit]`)))
	notice("The referral's step is recorded")
	if s := text("#referrals-title + p"); !strings.Contains(s, "Time to first support") {
		t.Fatalf("after first contact: %q", s)
	}

	// The safety plan, written in Arabic and printed in it and in English.
	must(chromedp.Click(chromedp.CSS(`a[href="/staff/cases/`+id+`/plan"]`)), chromedp.WaitVisible(chromedp.CSS("#warning_signs")))
	check("safety plan form")
	must(chromedp.SendKeys(chromedp.CSS("#warning_signs"), "أشعر بألم في بطني"), chromedp.SendKeys(chromedp.CSS("#trusted_adults"), casePlanLine),
		chromedp.SendKeys(chromedp.CSS("#safe_places"), "بيت جدتي"), chromedp.SendKeys(chromedp.CSS("#emergency"), "112"),
		chromedp.Click(chromedp.CSS(`form[action$="/plan"] button[type=submit]`)))
	notice("The safety plan is saved")
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
	must(chromedp.SendKeys(chromedp.CSS("#note"), caseNote), chromedp.Click(chromedp.CSS(`form[action$="/checkin"] button[type=submit]`)))
	notice("The check-in is recorded")
	if s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#trend-desc"))); err != nil || !strings.Contains(s, "scored 60") {
		t.Fatalf("trend: %q", s)
	}
	check("case with a check-in")

	// Withdrawal takes the link away from the report at once.
	must(chromedp.Click(chromedp.CSS(`button[name="purpose"][value="investigation"]`)))
	notice("The consent is withdrawn")
	if links, err := e.srv.support.LinkedCases(context.Background(), e.members[canopy.RoleAnalyst].Account, rep); err != nil || len(links) != 0 {
		t.Fatalf("after withdrawal the report still shows %v (%v)", links, err)
	}
	check("case after withdrawal")

	// The identifying details, on request; then the redaction form.
	must(chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button`)), chromedp.WaitVisible(chromedp.CSS("#name")))
	if s := text("#details-title + p + dl"); !strings.Contains(s, caseChildName) {
		t.Fatalf("revealed details: %q", s)
	}
	check("revealed details")
	must(chromedp.Navigate(origin+"/staff/cases/"+id+"/erase"), chromedp.WaitVisible(chromedp.CSS("#kind-redact")))
	check("redact or delete")
}
