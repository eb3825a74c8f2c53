package workspace

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/indicators"
)

// TestDashboard: the indicators page draws each indicator as a chart
// and a table, filters by period and breakdown, and says what is wrong
// with a period it cannot read.
func TestDashboard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Three reports this month, two looked at within the hour.
	for i := range 3 {
		id := freshReport(e)
		if i < 2 {
			e.clock.add(30 * time.Minute)
			if _, err := e.srv.triage.Open(ctx, e.members[canopy.RoleAnalyst].Account, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := (&indicators.Roller{DB: e.srv.support.DB, GapWait: -1}).CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	month := e.clock.now().UTC().Format("2006-01")
	b := e.login(canopy.RoleSupervisor)
	resp, body := b.get("/staff/dashboard")
	mustStatus(t, "dashboard", resp, body, http.StatusOK)
	for _, want := range []string{"<h1>Indicators</h1>", `id="first_look-title">Time to first look`, `<svg role="img"`,
		"<th scope=\"row\">" + month + "</th><td>3</td><td>2</td><td>66.7%</td>", `aria-current="page">Indicators</a>`,
		"Time to first support"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	resp, body = b.get("/staff/dashboard?view=channel:" + canopy.ChannelPortal + "&from=" + month + "&to=" + month)
	mustStatus(t, "by channel", resp, body, http.StatusOK)
	if !strings.Contains(body, `<option value="channel:portal" selected>`) || strings.Contains(body, "Time to first support") {
		t.Errorf("the channel view:\n%s", body)
	}
	resp, body = b.get("/staff/dashboard?from=2026-13&to=" + month)
	mustStatus(t, "a month that is not one", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `href="#from"`) || !strings.Contains(body, "Give a month as 2026-08.") {
		t.Errorf("the error:\n%s", body)
	}
	resp, body = b.get("/staff/dashboard?from=" + month + "&to=2001-01")
	mustStatus(t, "months in the wrong order", resp, body, http.StatusUnprocessableEntity)
	// Eleven years are refused with a reason, not cut to ten in silence.
	resp, body = b.get("/staff/dashboard?from=2015-01&to=2025-12")
	mustStatus(t, "a period over ten years", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Choose ten years or less") {
		t.Errorf("the error:\n%s", body)
	}
	resp, body = b.get("/staff/dashboard?from=2016-01&to=2025-12")
	mustStatus(t, "ten years", resp, body, http.StatusOK)
}

// TestEveryActionNamed: the audit page names every action the log takes,
// and offers each in its filter.
func TestEveryActionNamed(t *testing.T) {
	for _, a := range audit.Actions() {
		if actionNames[string(a)] == "" {
			t.Errorf("audit action %q has no name", a)
		}
	}
	if len(auditActions) != len(audit.Actions()) {
		t.Errorf("the filter offers %d actions of %d", len(auditActions), len(audit.Actions()))
	}
}
