package support_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

func TestEraseValidation(t *testing.T) {
	e := newCaseEnv(t, storetest.Open(t, store.SQLite))
	id := e.open()
	ok := support.ErasureRequest{Kind: canopy.ErasureRedact, Target: "name", AskedBy: canopy.AskedByChild, Reason: canopy.ReasonChildWishes}
	for _, c := range []struct {
		name string
		mod  func(*support.ErasureRequest)
		want []string
	}{
		{"unknown kind", func(r *support.ErasureRequest) { r.Kind = "shred" }, []string{"kind:error.unknown_code"}},
		{"unknown target", func(r *support.ErasureRequest) { r.Target = "alias" }, []string{"target:error.unknown_code"}},
		{"odd check-in", func(r *support.ErasureRequest) { r.Target = "checkin:01" }, []string{"target:error.unknown_code"}},
		{"no such check-in", func(r *support.ErasureRequest) { r.Target, r.Carry = "checkin:4", true }, []string{"target:error.case.checkin_not_found"}},
		{"no plan", func(r *support.ErasureRequest) { r.Target, r.Carry = "plan", true }, []string{"target:error.case.no_plan"}},
		{"unknown asker", func(r *support.ErasureRequest) { r.AskedBy = "neighbour" }, []string{"asked_by:error.unknown_code"}},
		{"unknown reason", func(r *support.ErasureRequest) { r.Reason = "because" }, []string{"reason:error.unknown_code"}},
	} {
		r := ok
		c.mod(&r)
		_, err := e.svc.Erase(context.Background(), caseworker, id, r)
		if got := fieldsOf(err); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestRedactAndDelete: a redaction removes one sealed value and records
// why; a refusal changes nothing but is recorded; a legal hold stops a
// deletion, visibly and audited; a deletion destroys the key, after which
// nothing sealed can be read and nothing can be added.
func TestRedactAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		id := e.open()
		e.consent(id, canopy.PurposeSupport)
		if err := e.svc.SavePlan(ctx, caseworker, id, canopy.SafetyPlan{Language: "fr", TrustedAdults: []string{planLine}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RecordCheckIn(ctx, caseworker, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{2}, Note: noteText}); err != nil {
			t.Fatal(err)
		}
		erase := func(r support.ErasureRequest) error {
			t.Helper()
			_, err := e.svc.Erase(ctx, caseworker, id, r)
			return err
		}
		redact := func(target string, carry bool) {
			t.Helper()
			if err := erase(support.ErasureRequest{Kind: canopy.ErasureRedact, Target: target, AskedBy: canopy.AskedByChild, Carry: carry,
				Reason: canopy.ReasonChildWishes, Note: "asked on the phone"}); err != nil {
				t.Fatal(err)
			}
		}

		redact("name", false)
		if d, _ := e.svc.Details(ctx, caseworker, id); d.Name != childName {
			t.Fatalf("a refused redaction changed the name: %+v", d)
		}
		redact("name", true)
		redact("checkin:1", true)
		redact("plan", true)
		d, err := e.svc.Details(ctx, caseworker, id)
		if err != nil || d.Name != "" || d.Notes != noteText || d.BirthDate != "2011-03-04" {
			t.Fatalf("details after redacting the name: %+v %v", d, err)
		}
		f, err := e.svc.Case(ctx, caseworker, id)
		if err != nil || f.CheckIns[0].Note != "" || f.CheckIns[0].NoteRedacted.IsZero() || f.CheckIns[0].Score != 2 ||
			f.Plan == nil || !f.Plan.Empty() || f.Plan.Redacted.IsZero() || f.Redacted["name"].IsZero() {
			t.Fatalf("file after redactions: %+v %v", f, err)
		}
		if len(f.Erasures) != 4 || f.Erasures[0].Decision != canopy.ErasureRefused || f.Erasures[1].Decision != canopy.ErasureDone ||
			f.Erasures[1].Note != "asked on the phone" || f.Erasures[3].Target != "plan" {
			t.Fatalf("erasures %+v", f.Erasures)
		}
		redactions := e.entries(audit.ActionCaseRedact)
		if len(redactions) != 4 || redactions[1].Details["target"] != "name" || redactions[1].Details["decision"] != "done" ||
			redactions[1].Details["reason"] != "child_wishes" || redactions[0].Details["decision"] != "refused" {
			t.Fatalf("redactions audited as %+v", redactions)
		}

		// Under a legal hold, a deletion is recorded as held, audited as
		// denied, and the case stands.
		if err := e.svc.PlaceHold(ctx, admin, id, holdReason); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.PlaceHold(ctx, admin, id, holdReason); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("a second hold: %v", err)
		}
		if err := e.svc.PlaceHold(ctx, admin, id, " "); !slices.Equal(fieldsOf(err), []string{"reason:error.required"}) {
			t.Fatalf("a hold without reason: %v", err)
		}
		del := support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: canopy.AskedByGuardian, Carry: true, Reason: canopy.ReasonChildWishes}
		if err := erase(del); !errors.Is(err, support.ErrHeld) {
			t.Fatalf("deletion under a hold: %v", err)
		}
		f, _ = e.svc.Case(ctx, caseworker, id)
		if !f.Case.Held || f.Case.IsDeleted() || len(f.Holds) != 1 || f.Holds[0].Reason != holdReason || f.Erasures[4].Decision != canopy.ErasureHeld {
			t.Fatalf("held case %+v", f)
		}
		destroys := e.entries(audit.ActionCaseDestroy)
		if len(destroys) != 1 || destroys[0].Outcome != audit.Denied || destroys[0].Details["blocked_by"] != "legal_hold" {
			t.Fatalf("held deletion audited as %+v", destroys)
		}
		holds, err := e.svc.Holds(ctx, admin)
		if err != nil || len(holds) != 1 || holds[0].Reason != holdReason || holds[0].CaseDeleted {
			t.Fatalf("holds %+v %v", holds, err)
		}
		e.sealedAtRest(holdReason, childName, noteText, planLine)

		if err := e.svc.LiftHold(ctx, admin, id, "order ended"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.LiftHold(ctx, admin, id, "again"); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("lifting no hold: %v", err)
		}
		if hs := e.entries(audit.ActionCaseHold); len(hs) != 2 || hs[0].Details["step"] != "place" || hs[1].Details["step"] != "lift" {
			t.Fatalf("holds audited as %+v", hs)
		}
		if err := erase(del); err != nil {
			t.Fatal(err)
		}
		if destroys := e.entries(audit.ActionCaseDestroy); len(destroys) != 2 || destroys[1].Outcome != audit.OK {
			t.Fatalf("deletion audited as %+v", destroys)
		}

		// What is left: codes and dates; nothing sealed opens.
		sc, err := db.Case(ctx, id)
		if err != nil || sc.WrappedKey != nil || sc.Alias != "" || !sc.IsDeleted() {
			t.Fatalf("deleted case %+v %v", sc, err)
		}
		f, err = e.svc.Case(ctx, caseworker, id)
		if err != nil || f.HasDetails || f.Plan == nil || !f.Plan.Empty() || f.CheckIns[0].Score != 2 || f.Erasures[1].Note != "" ||
			f.Holds[0].Reason != "" || f.Allows(canopy.PurposeSupport) {
			t.Fatalf("file of a deleted case %+v %v", f, err)
		}
		for name, err := range map[string]error{
			"details": func() error { _, err := e.svc.Details(ctx, caseworker, id); return err }(),
			"plan":    func() error { _, _, err := e.svc.Plan(ctx, caseworker, id); return err }(),
			"needs":   e.svc.SetNeeds(ctx, caseworker, id, nil),
			"checkin": func() error {
				_, err := e.svc.RecordCheckIn(ctx, caseworker, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{3}})
				return err
			}(),
			"consent": func() error {
				_, err := e.svc.GiveConsent(ctx, caseworker, id, support.NewConsent{Purpose: "support", GivenBy: "child", Method: "verbal"})
				return err
			}(),
			"delete again": erase(del),
			"hold":         e.svc.PlaceHold(ctx, admin, id, holdReason),
		} {
			if canopy.AsError(err).Key != "error.case.deleted" {
				t.Errorf("%s on a deleted case: %v", name, err)
			}
		}
	})
}
