package support_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

func TestGiveConsentValidation(t *testing.T) {
	e := newCaseEnv(t, storetest.Open(t, store.SQLite))
	id := e.open()
	good := support.NewConsent{Purpose: canopy.PurposeSupport, GivenBy: canopy.ConsentByGuardian, Method: canopy.ConsentWritten}
	for _, c := range []struct {
		name string
		mod  func(*support.NewConsent)
		want []string
	}{
		{"unknown purpose", func(n *support.NewConsent) { n.Purpose = "marketing" }, []string{"purpose:error.unknown_code"}},
		{"unknown giver", func(n *support.NewConsent) { n.GivenBy = "teacher" }, []string{"given_by:error.unknown_code"}},
		{"unknown method", func(n *support.NewConsent) { n.Method = "telepathy" }, []string{"method:error.unknown_code"}},
		{"expired already", func(n *support.NewConsent) { n.Expires = e.clock() }, []string{"expires:error.case.expired"}},
		{"until a date", func(n *support.NewConsent) { n.Expires = e.clock().Add(time.Hour) }, nil},
		{"until withdrawn", nil, nil},
	} {
		in := good
		if c.mod != nil {
			c.mod(&in)
		}
		_, err := e.svc.GiveConsent(context.Background(), caseworker, id, in)
		if got := fieldsOf(err); !slices.Equal(got, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	gives := e.entries(audit.ActionConsentGive)
	if len(gives) != 2 || gives[0].Details["purpose"] != "support" || gives[0].Details["given_by"] != "guardian" || gives[0].Details["method"] != "written" {
		t.Fatalf("consents audited as %+v", gives)
	}
}

// TestLinkedCasesFollowConsent: analysts and liaisons see that a report has
// a support case only while the child's consent to investigation stands,
// and then only its alias and age band. Withdrawal, expiry and deletion
// hide it from the very next read. Each showing is audited.
func TestLinkedCasesFollowConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		rep, other := e.report("FR"), e.report("BE")
		id := e.open()

		if err := e.svc.LinkReport(ctx, caseworker, id, rep); canopy.AsError(err).Key != "error.case.consent_investigation" {
			t.Fatalf("link without consent: %v", err)
		}
		e.consent(id, canopy.PurposeInvestigation)
		if err := e.svc.LinkReport(ctx, caseworker, id, "nope"); !slices.Equal(fieldsOf(err), []string{"report:error.report.not_found"}) {
			t.Fatalf("link to no report: %v", err)
		}
		for _, r := range []string{rep, other} {
			if err := e.svc.LinkReport(ctx, caseworker, id, r); err != nil {
				t.Fatal(err)
			}
		}
		see := func(who *canopy.Account, report string) []support.LinkedCase {
			t.Helper()
			got, err := e.svc.LinkedCases(ctx, who, report)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		robin := []support.LinkedCase{{Alias: "Robin", AgeBand: "14-17"}}
		for _, c := range []struct {
			name   string
			who    *canopy.Account
			report string
			want   []support.LinkedCase
		}{
			{"analyst", analyst, rep, robin},
			{"liaison", liaison, rep, robin},
			{"analyst of the report's country", frAnalyst, rep, robin},
			{"analyst of another country", frAnalyst, other, nil},
			{"caseworker (no report view)", caseworker, rep, nil},
			{"administrator", admin, rep, nil},
			{"unknown report", analyst, "nope", nil},
		} {
			if got := see(c.who, c.report); !slices.Equal(got, c.want) {
				t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
			}
		}
		shown := e.entries(audit.ActionCaseView)
		if len(shown) != 3 || shown[0].Actor != audit.Staff(analyst.ID) || shown[0].ID != id || shown[0].Details["part"] != "link" || shown[0].Details["report"] != rep {
			t.Fatalf("showings audited as %+v", shown)
		}

		// Withdrawal takes effect at once.
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeInvestigation); err != nil {
			t.Fatal(err)
		}
		if got := see(analyst, rep); got != nil {
			t.Fatalf("after withdrawal: %+v", got)
		}
		if err := e.svc.LinkReport(ctx, caseworker, id, rep); canopy.AsError(err).Key != "error.case.consent_investigation" {
			t.Fatalf("link after withdrawal: %v", err)
		}
		if w := e.entries(audit.ActionConsentWithdraw); len(w) != 1 || w[0].Details["purpose"] != "investigation" || w[0].Details["count"] != "1" {
			t.Fatalf("withdrawal audited as %+v", w)
		}

		// Consent given until a time lapses by itself.
		if _, err := e.svc.GiveConsent(ctx, caseworker, id, support.NewConsent{Purpose: canopy.PurposeInvestigation,
			GivenBy: canopy.ConsentByGuardian, Method: canopy.ConsentWritten, Expires: e.clock().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := see(liaison, rep); !slices.Equal(got, robin) {
			t.Fatalf("with consent again: %+v", got)
		}
		e.add(time.Hour)
		if got := see(liaison, rep); got != nil {
			t.Fatalf("after expiry: %+v", got)
		}

		// A deleted case shows on no report, whatever its consents.
		e.consent(id, canopy.PurposeInvestigation)
		if got := see(analyst, rep); !slices.Equal(got, robin) {
			t.Fatalf("with consent again: %+v", got)
		}
		if _, err := e.svc.Erase(ctx, caseworker, id, support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: canopy.AskedByChild,
			Carry: true, Reason: canopy.ReasonChildWishes}); err != nil {
			t.Fatal(err)
		}
		if got := see(analyst, rep); got != nil {
			t.Fatalf("after deletion: %+v", got)
		}
	})
}

// TestStatisticsFollowConsent: the anonymised export holds the cases whose
// consent to statistics stands, and nothing that names one.
func TestStatisticsFollowConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		e.directory()
		counted, withdrawn, deleted, never := e.open(), e.open(), e.open(), e.open()
		for _, id := range []string{counted, withdrawn, deleted} {
			e.consent(id, canopy.PurposeStatistics)
		}
		e.consent(never, canopy.PurposeSupport)
		e.consent(counted, canopy.PurposeSupport)
		r, err := e.svc.Refer(ctx, caseworker, counted, "maison-ecoute", canopy.NeedEmotional)
		if err != nil {
			t.Fatal(err)
		}
		e.add(48 * time.Hour)
		if err := e.svc.AdvanceReferral(ctx, caseworker, counted, r.ID, canopy.ServiceReferralFirstContact, time.Time{}); err != nil {
			t.Fatal(err)
		}
		for _, items := range [][]int{{1, 1, 1, 1, 1}, {3, 3, 3, 3, 3}} {
			if _, err := e.svc.RecordCheckIn(ctx, caseworker, counted, support.NewCheckIn{Scale: canopy.ScaleWHO5, Items: items}); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := e.svc.Statistics(ctx, caseworker)
		if err != nil || len(rows) != 3 {
			t.Fatalf("before withdrawal: %d rows, %v", len(rows), err)
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, withdrawn, canopy.PurposeStatistics); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Erase(ctx, caseworker, deleted, support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: canopy.AskedByGuardian,
			Carry: true, Reason: canopy.ReasonNoLongerNeeded}); err != nil {
			t.Fatal(err)
		}
		rows, err = e.svc.Statistics(ctx, caseworker)
		if err != nil || len(rows) != 1 {
			t.Fatalf("after withdrawal and deletion: %+v, %v", rows, err)
		}
		row := rows[0]
		if row.AgeBand != "14-17" || row.Opened != "2026-11" || row.Referrals != 1 || row.ToFirstSupport != 48*time.Hour ||
			row.CheckIns != 2 || row.FirstWellBeing != 20 || row.LastWellBeing != 60 {
			t.Fatalf("row %+v", row)
		}
		exports := e.entries(audit.ActionCaseView)
		if n := len(exports); n != 2 || exports[n-1].Details["part"] != "statistics" || exports[n-1].Details["rows"] != "1" || exports[n-1].ID != "" {
			t.Fatalf("exports audited as %+v", exports)
		}
	})
}
