package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// TestPortalInBrowser drives the reporting portal end to end in headless
// Chromium, as a child on a phone would: in English and in Arabic (right to
// left), with JavaScript on and off. It reports an urgent sextortion case,
// keeps the receipt, opens the follow-up with it and writes a message; axe
// checks every page on the way.
func TestPortalInBrowser(t *testing.T) {
	m := startNode(t, store.SQLite)
	t.Run("leave", func(t *testing.T) { testLeave(t, m) })
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
			tab := browsertest.Tab{T: t, Ctx: ctx}
			must := tab.Must
			attr := func(sel, name string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
				if err != nil {
					t.Fatal(err)
				}
				return v.Value
			}

			must(chromedp.Navigate(m.URL() + "/?lang=" + tc.lang))
			if got := attr("html", "lang"); got != tc.lang {
				t.Fatalf("html lang = %q", got)
			}
			if got := attr("html", "dir"); got != tc.dir {
				t.Fatalf("html dir = %q", got)
			}
			browsertest.CheckAxe(t, ctx, name+" form", off)

			// Saying a child is in danger shows the emergency guidance at
			// once, with or without scripts.
			must(chromedp.WaitNotVisible(chromedp.CSS("#emergency")),
				chromedp.Click(chromedp.CSS("#reporter-child")),
				chromedp.Click(chromedp.CSS("#category-sextortion")),
				chromedp.Click(chromedp.CSS("#flag-urgent")),
				chromedp.WaitVisible(chromedp.CSS("#emergency")),
				chromedp.SendKeys(chromedp.CSS("#description"), "Someone says they will post my photos unless I pay."),
				chromedp.SendKeys(chromedp.CSS("#urls"), "chat.example/u/someone"),
			)
			// A bad email keeps everything typed and says what is wrong.
			must(chromedp.Click(chromedp.CSS("#contact-yes")),
				chromedp.WaitVisible(chromedp.CSS("#contact-email")),
				chromedp.SendKeys(chromedp.CSS("#contact-email"), "me@"),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/report"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("#error-summary")),
			)
			if got := attr("#contact-email", "aria-invalid"); got != "true" {
				t.Fatalf("email field not marked invalid (%q)", got)
			}
			desc, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#description")))
			if err != nil || !strings.Contains(desc, "post my photos") {
				t.Fatalf("description lost after an error: %q %v", desc, err)
			}
			browsertest.CheckAxe(t, ctx, name+" form with errors", off)
			must(chromedp.Click(chromedp.CSS("#contact-anon")),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/report"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("p.code")),
			)
			code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.code")))
			if err != nil {
				t.Fatal(err)
			}
			code = strings.Join(strings.Fields(code), "")
			if len(strings.ReplaceAll(code, "-", "")) != 16 {
				t.Fatalf("receipt %q", code)
			}
			// The copy button is the page's one piece of script: it shows
			// only when scripts run, which proves each mode is what it says.
			hidden, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#copy"), "hidden"))
			if err != nil || hidden.Exists != off {
				t.Fatalf("copy button hidden=%v with scripts %v (%v)", hidden.Exists, tc.scripts, err)
			}
			browsertest.CheckAxe(t, ctx, name+" receipt", off)

			// The follow-up, with the receipt typed in lower case.
			must(chromedp.Navigate(m.URL()+"/followup?lang="+tc.lang),
				chromedp.SendKeys(chromedp.CSS("#receipt"), strings.ToLower(code)),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/followup"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS(".status-name")),
			)
			browsertest.CheckAxe(t, ctx, name+" follow-up", off)
			must(chromedp.SendKeys(chromedp.CSS("#body"), "He has a second account too."),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/followup/message"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("ol.messages")),
			)
			msgs, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ol.messages")))
			if !strings.Contains(msgs, "second account") {
				t.Fatalf("message not shown: %q", msgs)
			}

			// What the browser sent arrived, flagged urgent.
			f, err := m.Intake.Followup(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			st, err := m.DB.TriageState(context.Background(), f.ReportID)
			if err != nil || !st.Urgent || st.Category != "sextortion" {
				t.Fatalf("stored report: %+v %v", st, err)
			}
			if f.Language != tc.lang || f.Status != canopy.StatusReceived {
				t.Fatalf("followup %+v", f)
			}
		})
	}
}

// testLeave presses Escape on a portal page: the page must go at once to
// the neutral site, replacing itself in the history rather than adding an
// entry the back button would return to.
func testLeave(t *testing.T, m *Main) {
	ctx := browsertest.New(t, true)
	if err := chromedp.Do(ctx, chromedp.Navigate(m.URL()+"/"), chromedp.Navigate(m.URL()+"/safety"),
		chromedp.WaitVisible(chromedp.CSS("#leave"))); err != nil {
		t.Fatal(err)
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int]("history.length"))
	if err != nil {
		t.Fatal(err)
	}
	href, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#leave"), "href"))
	if href.Value != neutralSite() {
		t.Fatalf("leave link goes to %q", href.Value)
	}
	if err := chromedp.Do(ctx, browsertest.Load(chromedp.KeyEvent(kb.Escape))); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != neutralSite() {
		t.Fatalf("after Escape the page is at %q", loc)
	}
	after, _ := chromedp.Run(ctx, chromedp.Evaluate[int]("history.length"))
	if after != before {
		t.Fatalf("history grew from %d to %d: the portal page stays one Back away", before, after)
	}
}
