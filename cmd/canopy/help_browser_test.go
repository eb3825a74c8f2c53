package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// helpDirectory is the directory the browser searches: services in Lyon,
// a national helpline, and one in Belgium.
const helpDirectory = "provider_id,provider_name,provider_website,provider_phone,provider_email,provider_active,service_id,service_name," +
	"needs,description,country,regions,languages,min_age,max_age,accessibility,hours,always_open,phone,website,email,free,confidential,capacity,active\n" +
	"droit,Droit des jeunes,droit-jeunes.example,04 78 00 00 00,,yes,lyon-law,,legal,Conseils gratuits et confidentiels.,FR,Lyon,fr ar,12,24,step_free,Lun–Ven 9h–18h,no,,,,yes,yes,,yes\n" +
	"hopital,Hôpital Lyon Sud,,,,yes,lyon-clinic,Unité pédiatrique,medical counselling,,FR,Lyon; Villeurbanne,fr,0,17,sign_language,,yes,+33 4 72 11 11 11,,,,,waitlist,yes\n" +
	"allo,Allô Enfance,,119,,yes,fr-119,Allô 119,helpline,,FR,,fr ar en,0,21,text_chat,,yes,,,,yes,yes,,yes\n" +
	"be,Child Focus,,,contact@childfocus.example,yes,be-line,Belgian line,helpline,,BE,,nl fr,0,17,,,,,,,,,,yes\n"

// TestFindHelpInBrowser searches the service directory in headless
// Chromium as a child on a phone would, in English and in Arabic (right
// to left), with JavaScript on and off: a search that finds help, one
// that finds none, and the information pages. Every page must be free of
// axe violations of every impact, and no wider than the screen.
func TestFindHelpInBrowser(t *testing.T) {
	m := startNode(t, store.SQLite)
	if _, err := m.Support.ImportDirectory(context.Background(), audit.System, strings.NewReader(helpDirectory)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang, dir string
		scripts   bool
	}{
		{"en", "ltr", true},
		{"en", "ltr", false},
		{"ar", "rtl", true},
		{"ar", "rtl", false},
	} {
		name := tc.lang + map[bool]string{true: "-js", false: "-nojs"}[tc.scripts]
		t.Run(name, func(t *testing.T) {
			ctx := browsertest.New(t, tc.scripts)
			off := !tc.scripts
			c := i18n.Get(tc.lang)
			// The error summary takes focus, which scrolls the page
			// under the sticky header; axe would judge the links the
			// header half covers for the moment. Check the page as
			// it first shows.
			tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: off, All: true, Before: func() { scrollTop(t, ctx, off) }}
			must, check, text := tab.Must, tab.Check, tab.Text

			// From the start page, the menu leads to the finder.
			must(chromedp.Navigate(m.URL()+"/?lang="+tc.lang), browsertest.Load(chromedp.Click(chromedp.CSS(`nav.nav a[href="/help"]`))),
				chromedp.WaitVisible(chromedp.CSS("form.find")))
			dir, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "dir"))
			if err != nil || dir.Value != tc.dir {
				t.Fatalf("dir = %q %v", dir.Value, err)
			}
			if s := text("#now"); !strings.Contains(s, "112") || !strings.Contains(s, "116") {
				t.Errorf("the finder does not say how to get help now: %q", s)
			}
			check(name + " find help")

			// A search that finds help: a country, a town, an age, a need.
			must(chromedp.SetValue(chromedp.CSS("#help-country"), "FR"),
				chromedp.SendKeys(chromedp.CSS("#help-region"), "lyon"),
				chromedp.SendKeys(chromedp.CSS("#help-age"), "15"),
				chromedp.Click(chromedp.CSS("#help-need-legal")),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form.find button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("#results")))
			results := text("#results")
			if !strings.Contains(results, "Droit des jeunes") || strings.Contains(results, "Belgian line") || strings.Contains(results, "Unité pédiatrique") {
				t.Fatalf("results: %q", results)
			}
			if !strings.Contains(results, strings.Join(strings.Fields(c.T("help.result.confidential")), " ")) {
				t.Errorf("the result does not say it is confidential: %q", results)
			}
			tel, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#results .reach a[href^="tel:"]`), "href"))
			if err != nil || tel.Value != "tel:0478000000" {
				t.Errorf("phone link %q %v", tel.Value, err)
			}
			rel, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#results .reach a[href^="https:"]`), "rel"))
			if err != nil || !strings.Contains(rel.Value, "noreferrer") {
				t.Errorf("website link rel %q %v", rel.Value, err)
			}
			// What was asked stays in the form.
			if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#help-region"))); v != "lyon" {
				t.Errorf("region after the search: %q", v)
			}
			check(name + " results")

			// A search that finds nothing still says where help is.
			must(chromedp.Navigate(m.URL()+"/help?lang="+tc.lang),
				chromedp.SetValue(chromedp.CSS("#help-country"), "BE"),
				chromedp.Click(chromedp.CSS("#help-need-shelter")),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form.find button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("#results .none")))
			if s := text("#results .none"); !strings.Contains(s, "116") || !strings.Contains(s, "112") {
				t.Errorf("no results without the helpline and the emergency number: %q", s)
			}
			check(name + " no results")

			// A mistake is said beside the field and in the summary.
			must(chromedp.Navigate(m.URL()+"/help?lang="+tc.lang),
				chromedp.SendKeys(chromedp.CSS("#help-age"), "old"),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form.find button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("#error-summary")))
			if s := text("#help_age-error"); s != strings.Join(strings.Fields(c.T(support.KeyFindAge)), " ") {
				t.Errorf("age error %q", s)
			}
			check(name + " search with a mistake")

			// The information pages, each reached from the footer.
			for _, path := range []string{"/info/after-report", "/info/rights", "/info/consent"} {
				must(chromedp.Navigate(m.URL()+"/?lang="+tc.lang), browsertest.Load(chromedp.Click(chromedp.CSS(`footer a[href="`+path+`"]`))),
					chromedp.WaitVisible(chromedp.CSS(`footer a[href="`+path+`"][aria-current="page"]`)))
				check(name + " " + path)
			}
		})
	}
}

// scrollTop scrolls the page back to its top.
func scrollTop(t *testing.T, ctx context.Context, scriptsOff bool) {
	t.Helper()
	if scriptsOff {
		chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.scrollTo(0, 0), true")); err != nil {
		t.Fatal(err)
	}
}
