package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// TestBrowserInvestigation drives an analyst's investigation in Chromium
// on a phone-sized screen, with scripts on and off: open one (a mistake
// first), link a report, add a task and a note, add an image through the
// upload form, look at its page with the preview blurred, reveal it, and
// hide it again. axe checks every page and fails on any violation, and
// none is wider than the screen.
func TestBrowserInvestigation(t *testing.T) {
	for _, scripts := range []bool{true, false} {
		t.Run(map[bool]string{true: "js", false: "nojs"}[scripts], func(t *testing.T) {
			ctx := browsertest.New(t, scripts)
			off := !scripts
			e := newEnv(t)
			e.srv.evidence.RevealFor = 10 * time.Second
			rep := freshReport(e)
			origin := e.http.URL
			file := filepath.Join(t.TempDir(), invFile)
			if err := os.WriteFile(file, testPNG(t), 0o600); err != nil {
				t.Fatal(err)
			}

			tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: off, All: true}
			must, check, text := tab.Must, tab.Check, tab.Text
			// send runs the step that sends a form and waits for the page
			// it loads (browsertest.Load), whose address says what was
			// done.
			send := func(done string, step chromedp.Action[chromedp.Void]) {
				t.Helper()
				must(browsertest.Load(step), chromedp.WaitVisible(chromedp.CSS(".notice")))
				if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "?done="+done) {
					t.Fatalf("at %s, want the page after %q", loc, done)
				}
			}

			m := e.members[canopy.RoleAnalyst]
			must(chromedp.Navigate(origin+"/staff/login"),
				chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))), chromedp.WaitVisible(chromedp.CSS("#code")),
				chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
				browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS(`nav a[href="/staff/investigations"]`)),
				browsertest.Load(chromedp.Click(chromedp.CSS(`nav a[href="/staff/investigations"]`))), chromedp.WaitVisible(chromedp.CSS("#new-title")))
			check("investigations")

			// Open one: without a title first.
			must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/investigations"] button[type=submit]`))),
				chromedp.WaitVisible(chromedp.CSS("#error-summary")))
			if s := text("#new-title-error"); !strings.Contains(s, "Please fill this in") {
				t.Fatalf("title error: %q", s)
			}
			check("new investigation with a mistake")
			must(chromedp.SendKeys(chromedp.CSS("#new-title"), invTitle))
			send("opened", chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/investigations"] button[type=submit]`)))
			check("investigation")

			must(chromedp.SendKeys(chromedp.CSS("#link-report"), rep))
			send("linked", chromedp.Click(chromedp.CSS(`form[action$="/reports"] button[type=submit]`)))
			must(chromedp.SendKeys(chromedp.CSS("#task-title"), invTask), chromedp.SetValue(chromedp.CSS("#task-assignee"), e.members[canopy.RoleLiaison].ID),
				chromedp.SetValue(chromedp.CSS("#task-due"), "2026-12-31"))
			send("task", chromedp.Click(chromedp.CSS(`form[action$="/tasks"] button[type=submit]`)))
			must(chromedp.SendKeys(chromedp.CSS("#note-note"), invNote))
			send("note", chromedp.Click(chromedp.CSS(`form[action$="/notes"] button[type=submit]`)))
			if s := text("#tasks-caption + thead + tbody"); !strings.Contains(s, invTask) || !strings.Contains(s, "Test liaison") {
				t.Fatalf("tasks: %q", s)
			}
			check("investigation with a report, a task and a note")

			// An image, through the form, streamed.
			must(chromedp.SendKeys(chromedp.CSS("#upload-why"), invWhy), chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{file}))
			send("acquired", chromedp.Click(chromedp.CSS(`form[action$="/evidence"] button[type=submit]`)))
			if s := text(".notice"); !strings.Contains(s, "Its SHA-256 is") {
				t.Fatalf("after the upload: %q", s)
			}
			if s := text("h1"); s != invFile {
				t.Fatalf("item page: %q", s)
			}
			check("item, blurred")

			// Revealed for a while (ten seconds here, not to wait a minute):
			// the page loads itself again when it ends, with scripts or
			// without, and the image is blurred again.
			if s := text(`form[action$="/reveal"] button`); s != "Reveal for 10 seconds" {
				t.Fatalf("reveal button: %q", s)
			}
			must(chromedp.SendKeys(chromedp.CSS("#reveal-why"), "compare with the report"))
			send("revealed", chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button[type=submit]`)))
			if s := text("#preview-title ~ .notice"); !strings.Contains(s, "Shown as it is until") {
				t.Fatalf("revealed: %q", s)
			}
			must(chromedp.WaitVisible(chromedp.CSS(`img[alt="Preview of the image, as it is"]`)))
			if scripts {
				if s := text(".countdown"); !strings.Contains(s, "seconds left") {
					t.Fatalf("countdown: %q", s)
				}
			}
			check("item, revealed")
			// Load listens from before the clock passes the end, so the
			// page the tab then loads by itself cannot slip by; one loaded
			// before that (after a slow check) is still revealed, and
			// loads itself again.
			must(browsertest.Load(chromedp.Func(func(context.Context, *chromedp.Target) error {
				e.clock.add(11 * time.Second)
				return nil
			})), chromedp.WaitVisible(chromedp.CSS(`img[alt="Preview of the image, blurred and grey"]`)))
			check("item, blurred again")

			// Revealed, then hidden at once.
			must(chromedp.SendKeys(chromedp.CSS("#reveal-why"), "once more"))
			send("revealed", chromedp.Click(chromedp.CSS(`form[action$="/reveal"] button[type=submit]`)))
			send("hidden", chromedp.Click(chromedp.CSS(`form[action$="/hide"] button[type=submit]`)))
			must(chromedp.WaitVisible(chromedp.CSS(`img[alt="Preview of the image, blurred and grey"]`)))
			must(browsertest.Load(chromedp.Click(chromedp.CSS(".crumbs a"))), chromedp.WaitVisible(chromedp.CSS("#evidence-caption")))
			check("investigation with evidence")
		})
	}
}
