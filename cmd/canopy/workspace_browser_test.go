package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// enrolAnalyst makes an analyst with TOTP through the staff service, as
// the set-up and invitation pages would, and returns their email,
// password and TOTP secret.
func enrolAnalyst(t *testing.T, m *Main) (string, string, []byte) {
	t.Helper()
	ctx := context.Background()
	setup, err := m.Staff.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adminSess, err := m.Staff.Setup(ctx, setup, staff.AccountInput{Email: "admin@hotline.example", Name: "Ada"}, "admin passphrase 1")
	if err != nil {
		t.Fatal(err)
	}
	secret, ticket, err := m.Staff.BeginTOTP(ctx, adminSess)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Staff.ConfirmTOTP(ctx, adminSess, ticket, stafftest.Code(secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	admin, _, _ := m.Staff.Authenticate(ctx, adminSess)
	_, invite, err := m.Staff.Invite(ctx, audit.Staff(admin.ID), staff.AccountInput{Email: "ana@hotline.example", Name: "Ana", Role: canopy.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := m.Staff.AcceptInvite(ctx, invite, "analyst passphrase")
	if err != nil {
		t.Fatal(err)
	}
	secret, ticket, err = m.Staff.BeginTOTP(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	// A code of the previous step, so the browser's sign-in below uses a
	// fresh one: a code is never accepted twice.
	if _, err := m.Staff.ConfirmTOTP(ctx, sess, ticket, stafftest.Code(secret, time.Now().Add(-30*time.Second))); err != nil {
		t.Fatal(err)
	}
	return "ana@hotline.example", "analyst passphrase", secret
}

// TestWorkspaceInBrowser signs an analyst in with a password and TOTP in
// headless Chromium, then opens, claims, assesses and answers a report
// from the queue; the reporter sees the outcome and the answer through
// their receipt. axe checks every workspace page on the way.
func TestWorkspaceInBrowser(t *testing.T) {
	m := startNode(t, store.SQLite)
	email, password, secret := enrolAnalyst(t, m)
	ctx0 := context.Background()
	rc, err := m.Intake.Submit(ctx0, intake.Submission{Reporter: "child", Category: "sextortion", Flags: []string{"urgent"},
		Description: "He wants money or he will post my photos.", URLs: []string{"chat.example/u/someone"}, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	base := m.public

	ctx := browsertest.New(t, true)
	tab := browsertest.Tab{T: t, Ctx: ctx}
	must := tab.Must
	// send runs the step that sends a form and waits for the page it
	// redirects to (browsertest.Load), which says what was done: the
	// action is durable by then.
	send := func(what string, step chromedp.Action[chromedp.Void]) {
		t.Helper()
		must(browsertest.Load(step))
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "done="+what) {
			t.Fatalf("no confirmation that the report was %s: at %s", what, loc)
		}
	}
	// Every click and submission below loads a page: browsertest.Load
	// waits for it, and WaitVisible then only says it is the page meant.
	must(chromedp.Navigate(base+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	browsertest.CheckAxe(t, ctx, "second factor", false)
	must(chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(secret, time.Now())),
		browsertest.Load(chromedp.Submit(chromedp.CSS("#code"))),
		chromedp.WaitVisible(chromedp.CSS("table.queue")),
	)
	browsertest.CheckAxe(t, ctx, "queue", false)
	queue, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.queue")))
	if strings.Contains(queue, "He wants money") {
		t.Fatal("the queue shows report content")
	}
	must(browsertest.Load(chromedp.Click(chromedp.CSS("table.queue tbody a"))),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/open"] button`)),
	)
	browsertest.CheckAxe(t, ctx, "report", false)
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action$="/open"] button`))),
		chromedp.WaitVisible(chromedp.CSS("#description")),
	)
	desc, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#description")))
	if !strings.Contains(desc, "post my photos") {
		t.Fatalf("opened description %q", desc)
	}
	browsertest.CheckAxe(t, ctx, "opened report", false)
	send("claimed", chromedp.Click(chromedp.CSS(`form[action$="/claim"] button`)))
	must(chromedp.WaitVisible(chromedp.CSS(`form[action$="/assess"] button`)))
	must(chromedp.Click(chromedp.CSS("#category-sextortion")),
		chromedp.Click(chromedp.CSS("#flag-financial")),
		chromedp.Click(chromedp.CSS("#imagery-none")),
		chromedp.Click(chromedp.CSS("#outcome-refer")),
		chromedp.SendKeys(chromedp.CSS("#reasons"), "Sextortion of a child with a payment demand; refer to police."),
	)
	send("assessed", chromedp.Click(chromedp.CSS(`form[action$="/assess"] button`)))
	browsertest.CheckAxe(t, ctx, "decided report", false)
	must(chromedp.SendKeys(chromedp.CSS("#body"), "Thank you for telling us. We have passed this to the police."))
	send("sent", chromedp.Click(chromedp.CSS(`form[action$="/message"] button`)))

	// The reporter sees the decision and the answer through the receipt.
	f, err := m.Intake.Followup(ctx0, rc.Code)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != canopy.StatusReferred || len(f.Messages) != 1 || !strings.Contains(f.Messages[0].Body, "passed this to the police") {
		t.Fatalf("reporter's view: %+v", f)
	}
	// And the audit log says who opened the report.
	entries, _ := m.Audit.Entries(ctx0, 0, 1000)
	opened := false
	for _, e := range entries {
		opened = opened || (e.Action == audit.ActionReportView && e.ID == rc.ReportID && strings.HasPrefix(string(e.Actor), "staff:"))
	}
	if !opened {
		t.Fatal("opening the report is not in the audit log")
	}
}
