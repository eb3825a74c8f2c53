package triage_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/triage"
)

type env struct {
	t      testing.TB
	now    time.Time
	db     *store.DB
	intake *intake.Service
	triage *triage.Service
	log    *audit.Log
}

func newEnv(t testing.TB, db *store.DB) *env {
	keys, _ := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
	log := audittest.Open(t, db)
	e := &env{t: t, now: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), db: db, log: log}
	clock := func() time.Time { return e.now }
	e.intake = &intake.Service{DB: db, Keys: keys, Audit: log, Now: clock}
	e.triage = &triage.Service{DB: db, Keys: keys, Audit: log, Now: clock}
	return e
}

func (e *env) submit(category, country string, flags []string, urls ...string) intake.Receipt {
	e.t.Helper()
	rc, err := e.intake.Submit(context.Background(), intake.Submission{Reporter: "caregiver", Category: category,
		ChildCountry: country, Flags: flags, Description: "what happened", URLs: urls})
	if err != nil {
		e.t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	return rc
}

var (
	analyst    = &canopy.Account{ID: "analyst1", Role: canopy.RoleAnalyst}
	analyst2   = &canopy.Account{ID: "analyst2", Role: canopy.RoleAnalyst}
	frAnalyst  = &canopy.Account{ID: "analystfr", Role: canopy.RoleAnalyst, Jurisdictions: []string{"FR"}}
	supervisor = &canopy.Account{ID: "super1", Role: canopy.RoleSupervisor}
	admin      = &canopy.Account{ID: "admin1", Role: canopy.RoleAdministrator}
	caseworker = &canopy.Account{ID: "case1", Role: canopy.RoleCaseworker}
)

func TestQueueOrderAndClocks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		old := e.submit("grooming", "FR", nil)
		e.now = e.now.Add(2 * time.Hour)
		urgent := e.submit("sextortion", "DE", []string{"urgent"})
		newer := e.submit("csam", "", nil)
		e.now = e.now.Add(30 * time.Hour)

		items, total, err := e.triage.Queue(ctx, analyst, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, it := range items {
			order = append(order, it.ReportID)
		}
		want := []string{urgent.ReportID, old.ReportID, newer.ReportID}
		if total != 3 || strings.Join(order, ",") != strings.Join(want, ",") {
			t.Fatalf("queue %v (total %d), want %v", order, total, want)
		}
		for _, it := range items {
			if !it.Breached {
				t.Errorf("%s: not breached after 30 hours untouched", it.ReportID)
			}
		}
		if items[0].Due.Sub(items[0].Received) != time.Hour || items[1].Due.Sub(items[1].Received) != 24*time.Hour {
			t.Fatalf("deadlines %v %v", items[0].Due.Sub(items[0].Received), items[1].Due.Sub(items[1].Received))
		}

		// A member scoped to France sees French reports and those with no
		// known country, not Germany's; a German report is "not found".
		items, total, _ = e.triage.Queue(ctx, frAnalyst, 50, 0)
		if total != 2 || len(items) != 2 {
			t.Fatalf("FR queue has %d", total)
		}
		if _, err := e.triage.Report(ctx, frAnalyst, urgent.ReportID); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("out-of-jurisdiction report: %v", err)
		}
		// Roles without the queue are refused, and the refusal audited.
		for _, who := range []*canopy.Account{admin, caseworker} {
			if _, _, err := e.triage.Queue(ctx, who, 50, 0); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
				t.Fatalf("%s saw the queue: %v", who.Role, err)
			}
		}
		denied := 0
		entries, _ := e.log.Entries(ctx, 0, 1000)
		for _, en := range entries {
			if en.Action == audit.ActionPermissionDenied {
				denied++
			}
		}
		if denied != 3 {
			t.Fatalf("%d refusals audited, want 3", denied)
		}
	})
}

func TestClaimAssessReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		rc := e.submit("other", "FR", nil, "https://example.com/a")

		// Opening decrypts, marks the first look and is audited.
		o, err := e.triage.Open(ctx, analyst, rc.ReportID)
		if err != nil || o.Content.Description != "what happened" || o.Content.URLs[0] != "https://example.com/a" {
			t.Fatalf("Open = %+v, %v", o, err)
		}
		if _, err := e.triage.Open(ctx, admin, rc.ReportID); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("administrator opened a report: %v", err)
		}

		if err := e.triage.Claim(ctx, analyst, rc.ReportID); err != nil {
			t.Fatal(err)
		}
		if err := e.triage.Claim(ctx, analyst2, rc.ReportID); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("second claim: %v", err)
		}
		a := canopy.Assessment{Category: "csam", Flags: []string{"ai_generated"}, Imagery: "baseline", IndustryClass: "A1",
			AgeBand: "7-10", Outcome: canopy.OutcomeTakedown, Reasons: "hosted image matches the description"}
		if err := e.triage.Assess(ctx, analyst2, rc.ReportID, a); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("assessment without the claim: %v", err)
		}
		bad := a
		bad.Imagery, bad.Outcome, bad.Reasons = "illegal", "delete", ""
		if err := e.triage.Assess(ctx, analyst, rc.ReportID, bad); canopy.ErrorCode(err) != canopy.EINVALID || len(canopy.AsError(err).Fields) != 3 {
			t.Fatalf("bad assessment: %v", err)
		}
		if err := e.triage.Assess(ctx, analyst, rc.ReportID, a); err != nil {
			t.Fatal(err)
		}
		// The reporter sees the decision through the receipt.
		f, err := e.intake.Followup(ctx, rc.Code)
		if err != nil || f.Status != canopy.StatusActionTaken {
			t.Fatalf("followup after assessment: %+v %v", f, err)
		}
		v, err := e.triage.Report(ctx, analyst, rc.ReportID)
		if err != nil || v.State.Stage != canopy.StageDecided || v.State.Category != "csam" || v.Assessment == nil ||
			v.Assessment.IndustryClass != "A1" || v.Assessment.By != analyst.ID {
			t.Fatalf("view after assessment: %+v %v", v, err)
		}
		// The reasons are sealed, and open for staff.
		o, _ = e.triage.Open(ctx, analyst, rc.ReportID)
		found := false
		for _, r := range o.Reasons {
			found = found || r == "hosted image matches the description"
		}
		if !found {
			t.Fatalf("reasons not opened: %v", o.Reasons)
		}

		// Only a supervisor reviews; reopening needs a reason and puts the
		// report back in the queue.
		if err := e.triage.Review(ctx, analyst, rc.ReportID, false, "no"); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("analyst reviewed: %v", err)
		}
		if err := e.triage.Review(ctx, supervisor, rc.ReportID, false, ""); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("reopen without reason: %v", err)
		}
		if err := e.triage.Review(ctx, supervisor, rc.ReportID, false, "check the age band again"); err != nil {
			t.Fatal(err)
		}
		f, _ = e.intake.Followup(ctx, rc.Code)
		if f.Status != canopy.StatusInReview {
			t.Fatalf("status after reopening: %s", f.Status)
		}
		if _, total, _ := e.triage.Queue(ctx, analyst, 50, 0); total != 1 {
			t.Fatalf("reopened report not in the queue (%d)", total)
		}

		// The projection equals a replay of the timeline.
		before, _ := db.TriageState(ctx, rc.ReportID)
		after, err := db.RebuildTriageState(ctx, rc.ReportID)
		if err != nil || *before != *after {
			t.Fatalf("projection drifted:\n%+v\n%+v (%v)", before, after, err)
		}

		// Staff messages reach the reporter.
		if err := e.triage.Message(ctx, analyst, rc.ReportID, "Thank you. Are you safe now?"); err != nil {
			t.Fatal(err)
		}
		f, _ = e.intake.Followup(ctx, rc.Code)
		if len(f.Messages) != 1 || f.Messages[0].FromReporter || f.Messages[0].Body != "Thank you. Are you safe now?" {
			t.Fatalf("messages %+v", f.Messages)
		}
	})
}

func TestLinksAndMerge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.submit("grooming", "", nil, "https://chat.example/u/x")
		b := e.submit("grooming", "", nil, "https://www.chat.example/other")
		c := e.submit("grooming", "", nil, "https://chat.example/u/x")
		d := e.submit("grooming", "", nil, "https://unrelated.example/")
		v, err := e.triage.Report(ctx, analyst, a.ReportID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(v.Linked[c.ReportID], ",") != "host,url" || strings.Join(v.Linked[b.ReportID], ",") != "host" || v.Linked[d.ReportID] != nil {
			t.Fatalf("links %v", v.Linked)
		}
		if err := e.triage.Merge(ctx, analyst, a.ReportID, c.ReportID); err != nil {
			t.Fatal(err)
		}
		if err := e.triage.Merge(ctx, analyst, a.ReportID, c.ReportID); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("merged twice: %v", err)
		}
		if _, total, _ := e.triage.Queue(ctx, analyst, 50, 0); total != 3 {
			t.Fatalf("queue after merge has %d", total)
		}
		// The duplicate's receipt still works and follows the primary.
		e.triage.Claim(ctx, analyst, a.ReportID)
		if err := e.triage.Assess(ctx, analyst, a.ReportID, canopy.Assessment{Category: "grooming", Outcome: canopy.OutcomeRefer, Reasons: "adult grooming a child"}); err != nil {
			t.Fatal(err)
		}
		f, err := e.intake.Followup(ctx, c.Code)
		if err != nil || f.Status != canopy.StatusReferred {
			t.Fatalf("duplicate's receipt after merge: %+v %v", f, err)
		}
	})
}
