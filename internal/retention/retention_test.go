package retention_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/retention"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/triage"
)

var (
	supervisor = &canopy.Account{ID: "su1", Role: canopy.RoleSupervisor}
	caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}
	admin      = &canopy.Account{ID: "ad1", Role: canopy.RoleAdministrator}
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestPurgeNotIllegal: a report found not illegal is purged once its
// policy's days have passed, and then no path reads its words: not staff
// opening it, not the reporter's follow-up, not a new message; its status
// and timeline stay. A report linked to a support case under a legal
// hold, one still within its days and one still open are kept. Each
// purge is audited without content.
func TestPurgeNotIllegal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		master := make([]byte, seal.KeySize)
		rand.Read(master)
		keys, err := seal.New(master)
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
		log := audittest.Open(t, db)
		log.Now = c.Now
		in := &intake.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		tr := &triage.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		sup := &support.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		ret := &retention.Service{DB: db, Audit: log, Now: c.Now}
		report := func(decide bool) (string, string) {
			t.Helper()
			rc, err := in.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver, Category: "grooming",
				Description: "words-secret"})
			if err != nil {
				t.Fatal(err)
			}
			if err := in.AddMessage(ctx, rc.Code, "more words-secret"); err != nil {
				t.Fatal(err)
			}
			if decide {
				if err := tr.Assess(ctx, supervisor, rc.ReportID, canopy.Assessment{Category: "grooming", Outcome: canopy.OutcomeNoFurtherAction,
					Reasons: "not illegal"}); err != nil {
					t.Fatal(err)
				}
			}
			return rc.ReportID, rc.Code
		}
		purged, receipt := report(true)
		held, _ := report(true)
		open, _ := report(false)
		cs, err := sup.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "11-13"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sup.GiveConsent(ctx, caseworker, cs.ID, support.NewConsent{Purpose: canopy.PurposeInvestigation,
			GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal}); err != nil {
			t.Fatal(err)
		}
		if err := sup.LinkReport(ctx, caseworker, cs.ID, held); err != nil {
			t.Fatal(err)
		}
		if err := sup.PlaceHold(ctx, admin, cs.ID, "court order"); err != nil {
			t.Fatal(err)
		}

		if err := ret.SetPolicy(ctx, audit.System, "forever", 3); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("a policy of no known kind: %v", err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionReportNotIllegal, 0); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("a policy of no days: %v", err)
		}
		if n, err := ret.Purge(ctx); err != nil || len(n) != 0 {
			t.Fatalf("a purge with no policy: %v %v", n, err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionReportNotIllegal, 30); err != nil {
			t.Fatal(err)
		}
		c.add(29 * 24 * time.Hour)
		recent, _ := report(true) // decided now: within its days
		if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionReportNotIllegal] != 0 {
			t.Fatalf("a purge before the days passed: %v %v", n, err)
		}
		c.add(2 * 24 * time.Hour)
		n, err := ret.Purge(ctx)
		if err != nil || n[canopy.RetentionReportNotIllegal] != 1 {
			t.Fatalf("purged %v: %v", n, err)
		}

		// No path reads the purged report's words.
		opened, err := tr.Open(ctx, supervisor, purged)
		if err != nil || opened.Content.Description != "" || len(opened.Messages) != 0 {
			t.Fatalf("staff opening a purged report: %+v %v", opened, err)
		}
		f, err := in.Followup(ctx, receipt)
		if err != nil || f.Status != canopy.StatusNoFurtherAction {
			t.Fatalf("the reporter's follow-up: %+v %v", f, err)
		}
		for _, m := range f.Messages {
			if strings.Contains(m.Body, "secret") {
				t.Errorf("the follow-up shows %q", m.Body)
			}
		}
		if err := in.AddMessage(ctx, receipt, "again"); canopy.AsError(err).Key != intake.KeyErased {
			t.Errorf("a message to a purged report: %v", err)
		}
		for _, kept := range []string{held, open, recent} {
			o, err := tr.Open(ctx, supervisor, kept)
			if err != nil || o.Content.Description != "words-secret" {
				t.Errorf("%s was purged: %+v %v", kept, o, err)
			}
		}
		if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionReportNotIllegal] != 0 {
			t.Fatalf("a second purge: %v %v", n, err)
		}
		es, err := log.Entries(ctx, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		purges := 0
		for _, e := range es {
			if e.Action == audit.ActionRetentionPurge {
				purges++
				if e.ID != purged || e.Details["kind"] != canopy.RetentionReportNotIllegal {
					t.Errorf("purge audited as %+v", e)
				}
			}
		}
		if purges != 1 {
			t.Errorf("%d purges audited, want 1", purges)
		}
	})
}

// TestPurgeClosedCases: a support case closed longer ago than its
// policy's days is deleted (its key destroyed), unless a legal hold
// stands; open cases and recently closed ones stay.
func TestPurgeClosedCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		master := make([]byte, seal.KeySize)
		rand.Read(master)
		keys, err := seal.New(master)
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
		log := audittest.Open(t, db)
		log.Now = c.Now
		sup := &support.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		ret := &retention.Service{DB: db, Audit: log, Now: c.Now, Cases: sup}
		open := func(close bool) string {
			t.Helper()
			cs, err := sup.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "11-13"},
				Details: canopy.CaseDetails{Name: "A name-secret"}})
			if err != nil {
				t.Fatal(err)
			}
			if close {
				if err := sup.Close(ctx, caseworker, cs.ID, canopy.CaseClosedSupported); err != nil {
					t.Fatal(err)
				}
			}
			return cs.ID
		}
		old, held, stillOpen := open(true), open(true), open(false)
		if err := sup.PlaceHold(ctx, admin, held, "court order"); err != nil {
			t.Fatal(err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionSupportCase, 365); err != nil {
			t.Fatal(err)
		}
		c.add(366 * 24 * time.Hour)
		recent := open(true)
		n, err := ret.Purge(ctx)
		if err != nil || n[canopy.RetentionSupportCase] != 1 {
			t.Fatalf("purged %v: %v", n, err)
		}
		f, err := sup.Case(ctx, caseworker, old)
		if err != nil || !f.Case.IsDeleted() || f.Case.Alias != "" {
			t.Fatalf("the old case: %+v %v", f, err)
		}
		if _, err := sup.Details(ctx, caseworker, old); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("a purged case's details: %v", err)
		}
		for _, id := range []string{held, stillOpen, recent} {
			if d, err := sup.Details(ctx, caseworker, id); err != nil || d.Name != "A name-secret" {
				t.Errorf("case %s was purged: %+v %v", id, d, err)
			}
		}
	})
}
