package support_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

// sharing records what support asks federation to tell peers. It writes
// a row of its own in the transaction it is given, so a test can see that
// the notice commits, or rolls back, with the change that caused it.
type sharing struct {
	mu    sync.Mutex
	calls []withdrawal
	fail  error
	after int
}

type withdrawal struct {
	reports []string
	reason  string
}

func (s *sharing) Withdraw(tx *store.Tx, reportIDs []string, reason string, at time.Time) (func(), error) {
	if s.fail != nil {
		return nil, s.fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, withdrawal{slices.Clone(reportIDs), reason})
	return func() { s.mu.Lock(); s.after++; s.mu.Unlock() }, nil
}

func (s *sharing) take() []withdrawal {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// account stores an account, so it can be assigned cases.
func (e *caseEnv) account(a *canopy.Account) {
	e.t.Helper()
	stored := *a
	stored.Enrolled, stored.Email = true, a.ID+"@hotline.example"
	if err := e.db.CreateAccount(context.Background(), &store.StoredAccount{Account: stored}); err != nil {
		e.t.Fatal(err)
	}
}

// TestSupportConsentGatesWork: while consent to support does not stand,
// nothing new is added for support (referral, plan, check-in), but what a
// service reports of a referral made before is still recorded.
func TestSupportConsentGatesWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		e.directory()
		id := e.open()
		e.consent(id, canopy.PurposeSupport)
		ref, err := e.svc.Refer(ctx, caseworker, id, "maison-ecoute", canopy.NeedEmotional)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeSupport); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"plan": e.svc.SavePlan(ctx, caseworker, id, canopy.SafetyPlan{Language: "fr", Emergency: []string{"112"}}),
			"check-in": func() error {
				_, err := e.svc.RecordCheckIn(ctx, caseworker, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{3}})
				return err
			}(),
			"referral": func() error { _, err := e.svc.Refer(ctx, caseworker, id, "maison-ecoute", ""); return err }(),
		} {
			if canopy.AsError(err).Key != "error.case.consent_support" {
				t.Errorf("%s without consent to support: %v", name, err)
			}
		}
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, ref.ID, canopy.ServiceReferralDeclined, time.Time{}); err != nil {
			t.Errorf("a service's answer after withdrawal: %v", err)
		}
		e.consent(id, canopy.PurposeSupport)
		if err := e.svc.SavePlan(ctx, caseworker, id, canopy.SafetyPlan{Language: "fr", Emergency: []string{"112"}}); err != nil {
			t.Errorf("plan with consent given again: %v", err)
		}
	})
}

// TestReferAbroad: a service outside the node's jurisdictions needs the
// child's consent to cross-border sharing; one at home does not.
func TestReferAbroad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		e.svc.Jurisdictions = []string{"FR"}
		ctx := context.Background()
		e.directory()
		at := e.clock()
		if err := db.PutDirectory(ctx, []*canopy.Provider{{ID: "bxl", Name: "Child Focus", Active: true, Updated: at, UpdatedBy: "system"}},
			[]*canopy.ServiceOffer{{ID: "bxl-help", ProviderID: "bxl", Name: "Helpline", Needs: []string{canopy.ServiceHelpline}, Country: "BE",
				Active: true, Updated: at, UpdatedBy: "system"}}); err != nil {
			t.Fatal(err)
		}
		id := e.open()
		e.consent(id, canopy.PurposeSupport)
		if _, err := e.svc.Refer(ctx, caseworker, id, "bxl-help", ""); canopy.AsError(err).Key != "error.case.consent_cross_border" {
			t.Fatalf("abroad without consent: %v", err)
		}
		if _, err := e.svc.Refer(ctx, caseworker, id, "maison-ecoute", ""); err != nil {
			t.Fatalf("at home: %v", err)
		}
		e.consent(id, canopy.PurposeCrossBorder)
		if _, err := e.svc.Refer(ctx, caseworker, id, "bxl-help", ""); err != nil {
			t.Fatalf("abroad with consent: %v", err)
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeCrossBorder); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refer(ctx, caseworker, id, "bxl-help", ""); canopy.AsError(err).Key != "error.case.consent_cross_border" {
			t.Fatalf("abroad after withdrawal: %v", err)
		}
	})
}

// TestAssignCloseReopen: a case goes to a caseworker who may work it; a
// closed case takes no new work but keeps what must still happen to it;
// the list filters by state and by caseworker.
func TestAssignCloseReopen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		for _, a := range []*canopy.Account{caseworker, caseworker2, analyst} {
			e.account(a)
		}
		id := e.open()
		other := e.open()
		f, err := e.svc.Case(ctx, caseworker, id)
		if err != nil {
			t.Fatal(err)
		}
		if f.Case.AssignedTo != caseworker.ID {
			t.Fatalf("a new case is assigned to %q, not its opener", f.Case.AssignedTo)
		}
		for _, c := range []struct{ to, want string }{{analyst.ID, "assignee:error.case.assignee"}, {"nobody", "assignee:error.case.assignee"}} {
			if got := fieldsOf(e.svc.Assign(ctx, caseworker, id, c.to)); !slices.Equal(got, []string{c.want}) {
				t.Errorf("assign to %s: %v", c.to, got)
			}
		}
		if err := e.svc.Assign(ctx, caseworker, id, caseworker2.ID); err != nil {
			t.Fatal(err)
		}
		mine, n, err := e.svc.FindCases(ctx, caseworker2, store.CaseFilter{AssignedTo: caseworker2.ID})
		if err != nil || n != 1 || mine[0].ID != id {
			t.Fatalf("cases of the new caseworker: %v %d %v", mine, n, err)
		}

		e.consent(id, canopy.PurposeInvestigation)
		report := e.report("FR")
		if err := e.svc.LinkReport(ctx, caseworker, id, report); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Close(ctx, caseworker2, id, "fixed"); !slices.Equal(fieldsOf(err), []string{"reason:error.unknown_code"}) {
			t.Fatalf("close for no known reason: %v", err)
		}
		if err := e.svc.Close(ctx, caseworker2, id, canopy.CaseClosedSupported); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetNeeds(ctx, caseworker, id, []string{canopy.NeedLegal}); canopy.AsError(err).Key != "error.case.closed" {
			t.Errorf("new work on a closed case: %v", err)
		}
		if err := e.svc.Close(ctx, caseworker, id, canopy.CaseClosedOther); canopy.AsError(err).Key != "error.case.closed" {
			t.Errorf("closing twice: %v", err)
		}
		if err := e.svc.UnlinkReport(ctx, caseworker, id, report); err != nil {
			t.Errorf("unlink on a closed case: %v", err)
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeInvestigation); err != nil {
			t.Errorf("withdrawal on a closed case: %v", err)
		}
		for _, c := range []struct {
			state string
			want  []string
		}{{"open", []string{other}}, {"closed", []string{id}}, {"", []string{other, id}}} {
			list, n, err := e.svc.FindCases(ctx, caseworker, store.CaseFilter{State: c.state})
			var ids []string
			for _, c := range list {
				ids = append(ids, c.ID)
			}
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(c.want))
			if err != nil || n != len(want) || !slices.Equal(ids, want) {
				t.Errorf("state %q: %v (%d), %v; want %v", c.state, ids, n, err, want)
			}
		}
		f, _ = e.svc.Case(ctx, caseworker, id)
		if f.Case.CloseReason != canopy.CaseClosedSupported || f.Case.ClosedBy != caseworker2.ID || !f.Case.IsClosed() {
			t.Errorf("closed case reads %+v", f.Case)
		}
		if err := e.svc.Reopen(ctx, caseworker, id); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Reopen(ctx, caseworker, id); canopy.AsError(err).Key != "error.case.not_closed" {
			t.Errorf("reopen an open case: %v", err)
		}
		if err := e.svc.SetNeeds(ctx, caseworker, id, []string{canopy.NeedLegal}); err != nil {
			t.Errorf("work on a reopened case: %v", err)
		}
		var steps []string
		for _, en := range e.entries(audit.ActionCaseUpdate) {
			if en.ID == id {
				steps = append(steps, en.Details["step"])
			}
		}
		for _, want := range []string{"assign", "close", "reopen"} {
			if !slices.Contains(steps, want) {
				t.Errorf("no audit entry for %s: %v", want, steps)
			}
		}
	})
}

// TestJurisdictionScope: on a node serving two countries, a caseworker
// works the cases of their own; another's case is not found, and the
// attempt is audited.
func TestJurisdictionScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		e.svc.Jurisdictions = []string{"FR", "BE"}
		ctx := context.Background()
		fr := &canopy.Account{ID: "cwfr", Role: canopy.RoleCaseworker, Jurisdictions: []string{"FR"}}
		be := &canopy.Account{ID: "cwbe", Role: canopy.RoleCaseworker, Jurisdictions: []string{"BE"}}
		open := func(who *canopy.Account, j string) (string, error) {
			c, err := e.svc.OpenCase(ctx, who, support.NewCase{Profile: support.Profile{Alias: "Sam", AgeBand: "11-13"}, Jurisdiction: j})
			if err != nil {
				return "", err
			}
			return c.ID, nil
		}
		id, err := open(fr, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := open(fr, "BE"); !slices.Equal(fieldsOf(err), []string{"jurisdiction:error.case.jurisdiction"}) {
			t.Errorf("open in another's jurisdiction: %v", err)
		}
		if _, err := open(caseworker, ""); !slices.Equal(fieldsOf(err), []string{"jurisdiction:error.required"}) {
			t.Errorf("open with a choice to make: %v", err)
		}
		if _, err := open(caseworker, "DE"); !slices.Equal(fieldsOf(err), []string{"jurisdiction:error.case.jurisdiction"}) {
			t.Errorf("open in a jurisdiction the node does not serve: %v", err)
		}
		if got := e.svc.JurisdictionChoices(caseworker); !slices.Equal(got, []string{"FR", "BE"}) {
			t.Errorf("choices of an unscoped caseworker: %v", got)
		}
		if got := e.svc.JurisdictionChoices(fr); got != nil {
			t.Errorf("choices of a scoped caseworker: %v", got)
		}
		if _, err := e.svc.Case(ctx, be, id); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("another jurisdiction's case: %v", err)
		}
		if err := e.svc.SetNeeds(ctx, be, id, []string{canopy.NeedLegal}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("change another jurisdiction's case: %v", err)
		}
		if _, err := e.svc.Case(ctx, fr, id); err != nil {
			t.Errorf("own case: %v", err)
		}
		if _, err := e.svc.Case(ctx, caseworker, id); err != nil {
			t.Errorf("an unscoped caseworker: %v", err)
		}
		if _, n, _ := e.svc.Cases(ctx, be, 10, 0); n != 0 {
			t.Errorf("the list shows another jurisdiction's %d cases", n)
		}
		denied := 0
		for _, en := range e.entries(audit.ActionPermissionDenied) {
			if en.ID == id && en.Details["scope"] == "jurisdiction" {
				denied++
			}
		}
		if denied != 2 {
			t.Errorf("%d denials audited, want 2", denied)
		}
	})
}

// TestWithdrawalTellsPeers: every change after which a child's consent
// to cross-border sharing no longer stands for a report asks federation,
// in the same transaction, to tell the peers; nothing else does.
func TestWithdrawalTellsPeers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		sh := &sharing{}
		e.svc.Sharing = sh
		ctx := context.Background()
		linked := func(purposes ...string) (string, []string) {
			id := e.open()
			for _, p := range append([]string{canopy.PurposeInvestigation}, purposes...) {
				e.consent(id, p)
			}
			reports := []string{e.report("FR"), e.report("BE")}
			for _, r := range reports {
				if err := e.svc.LinkReport(ctx, caseworker, id, r); err != nil {
					t.Fatal(err)
				}
			}
			return id, reports
		}
		want := func(name string, w ...withdrawal) {
			t.Helper()
			got := sh.take()
			if len(got) != len(w) {
				t.Fatalf("%s: told %v, want %v", name, got, w)
			}
			for i := range w {
				// Reports linked in the same microsecond are told in id
				// order, not in the order they were made: compare sets.
				if got[i].reason != w[i].reason || !slices.Equal(slices.Sorted(slices.Values(got[i].reports)), slices.Sorted(slices.Values(w[i].reports))) {
					t.Errorf("%s: told %v, want %v", name, got[i], w[i])
				}
			}
		}

		// Linking without consent to share abroad tells the peers the
		// report may already have gone to.
		id, reports := linked()
		want("link without consent", withdrawal{reports[:1], canopy.WithdrawalNoConsent}, withdrawal{reports[1:], canopy.WithdrawalNoConsent})

		// With consent: nothing to tell, until it is withdrawn.
		id, reports = linked(canopy.PurposeCrossBorder)
		want("link with consent")
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeStatistics); err == nil {
			t.Fatal("withdrew a consent never given")
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeInvestigation); err != nil {
			t.Fatal(err)
		}
		want("another purpose")
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeCrossBorder); err != nil {
			t.Fatal(err)
		}
		want("withdrawal", withdrawal{reports, canopy.WithdrawalConsent})

		// A failure to tell the peers undoes the withdrawal: it is one
		// change.
		id, _ = linked(canopy.PurposeCrossBorder)
		sh.fail = errors.New("outbox full")
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeCrossBorder); err == nil {
			t.Fatal("the withdrawal went through without its notice")
		}
		sh.fail = nil
		f, _ := e.svc.Case(ctx, caseworker, id)
		if !f.Allows(canopy.PurposeCrossBorder) {
			t.Fatal("a failed withdrawal still took effect")
		}

		// Deletion tells them; a deletion stopped by a legal hold does
		// not.
		id, reports = linked(canopy.PurposeCrossBorder)
		del := support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: canopy.AskedByChild, Reason: canopy.ReasonChildWishes, Carry: true}
		if err := e.svc.PlaceHold(ctx, admin, id, holdReason); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Erase(ctx, caseworker, id, del); !errors.Is(err, support.ErrHeld) {
			t.Fatalf("held deletion: %v", err)
		}
		want("held deletion")
		if err := e.svc.LiftHold(ctx, admin, id, "appeal ended"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Erase(ctx, caseworker, id, del); err != nil {
			t.Fatal(err)
		}
		want("deletion", withdrawal{reports, canopy.WithdrawalDeleted})
		if sh.after == 0 {
			t.Error("the notices' after-commit step never ran")
		}
	})
}

// TestSweepLapses: a consent to cross-border sharing that expires is
// acted on like a withdrawal, once; a case with another consent standing
// is only marked.
func TestSweepLapses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		sh := &sharing{}
		e.svc.Sharing = sh
		ctx := context.Background()
		expiring := func(extra bool) (string, string) {
			id := e.open()
			e.consent(id, canopy.PurposeInvestigation)
			if _, err := e.svc.GiveConsent(ctx, caseworker, id, support.NewConsent{Purpose: canopy.PurposeCrossBorder,
				GivenBy: canopy.ConsentByGuardian, Method: canopy.ConsentWritten, Expires: e.clock().Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if extra {
				e.consent(id, canopy.PurposeCrossBorder)
			}
			r := e.report("FR")
			if err := e.svc.LinkReport(ctx, caseworker, id, r); err != nil {
				t.Fatal(err)
			}
			return id, r
		}
		lapsing, report := expiring(false)
		steady, _ := expiring(true)
		if n, err := e.svc.SweepLapses(ctx); err != nil || n != 0 {
			t.Fatalf("sweep before expiry: %d %v", n, err)
		}
		e.add(48 * time.Hour)
		if n, err := e.svc.SweepLapses(ctx); err != nil || n != 2 {
			t.Fatalf("sweep after expiry: %d %v", n, err)
		}
		got := sh.take()
		if len(got) != 1 || got[0].reason != canopy.WithdrawalConsent || !slices.Equal(got[0].reports, []string{report}) {
			t.Fatalf("told %v, want the lapsed case's report only", got)
		}
		if n, err := e.svc.SweepLapses(ctx); err != nil || n != 0 || len(sh.take()) != 0 {
			t.Fatalf("a second sweep acted again: %d %v", n, err)
		}
		var causes []string
		for _, en := range e.entries(audit.ActionConsentWithdraw) {
			if en.Actor == audit.System && (en.ID == lapsing || en.ID == steady) {
				causes = append(causes, en.ID+":"+en.Details["peers_told"])
			}
		}
		slices.Sort(causes)
		want := []string{lapsing + ":yes", steady + ":no"}
		slices.Sort(want)
		if !slices.Equal(causes, want) {
			t.Errorf("audited %v, want %v", causes, want)
		}
	})
}
