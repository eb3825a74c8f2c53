package store_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var caseTime = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func newCase(id string) *store.SealedCase {
	return &store.SealedCase{
		Case: canopy.Case{ID: id, Alias: "Robin", AgeBand: "14-17", Languages: []string{"ar", "fr"}, Region: "FR-IDF",
			Needs: []string{canopy.NeedSafety, canopy.NeedEmotional}, Opened: caseTime, OpenedBy: "cw1", Updated: caseTime},
		Details:    []byte("sealed details of " + id),
		WrappedKey: []byte("wrapped key of " + id),
	}
}

// updateCase runs fn on a case through UpdateCase and fails the test on error.
func updateCase(t *testing.T, db *store.DB, id string, fn func(tx *store.Tx, c *store.SealedCase) error) {
	t.Helper()
	if err := db.UpdateCase(context.Background(), id, fn); err != nil {
		t.Fatal(err)
	}
}

func TestCaseRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		in := newCase("c1")
		if err := db.CreateCase(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateCase(ctx, newCase("c1")); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("same id twice: %v", err)
		}
		got, err := db.Case(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Alias != "Robin" || got.AgeBand != "14-17" || !slices.Equal(got.Languages, in.Languages) || got.Region != "FR-IDF" ||
			!slices.Equal(got.Needs, in.Needs) || !got.Opened.Equal(caseTime) || got.OpenedBy != "cw1" || got.Held || got.IsDeleted() ||
			!bytes.Equal(got.Details, in.Details) || !bytes.Equal(got.WrappedKey, in.WrappedKey) {
			t.Fatalf("round trip: %+v", got)
		}
		if _, err := db.Case(ctx, "nope"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown case: %v", err)
		}

		// Changes go through UpdateCase; details may be removed.
		updateCase(t, db, "c1", func(tx *store.Tx, c *store.SealedCase) error {
			c.Alias, c.Needs, c.Details, c.Updated = "Sky", []string{canopy.NeedLegal}, nil, caseTime.Add(time.Hour)
			return tx.PutCase(c)
		})
		got, _ = db.Case(ctx, "c1")
		if got.Alias != "Sky" || !slices.Equal(got.Needs, []string{canopy.NeedLegal}) || got.Details != nil || !got.Updated.Equal(caseTime.Add(time.Hour)) {
			t.Fatalf("after update: %+v", got)
		}

		// The list is newest first, without sealed parts.
		second := newCase("c2")
		second.Opened = caseTime.Add(time.Minute)
		if err := db.CreateCase(ctx, second); err != nil {
			t.Fatal(err)
		}
		list, total, err := db.Cases(ctx, store.CaseFilter{})
		if err != nil || total != 2 || len(list) != 2 || list[0].ID != "c2" || list[1].ID != "c1" {
			t.Fatalf("cases: %+v %d %v", list, total, err)
		}
		if list, _, _ := db.Cases(ctx, store.CaseFilter{Limit: 1, Offset: 1}); len(list) != 1 || list[0].ID != "c1" {
			t.Fatalf("second page: %+v", list)
		}
		if err := db.UpdateCase(ctx, "nope", func(*store.Tx, *store.SealedCase) error { return nil }); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("update of an unknown case: %v", err)
		}
	})
}

func TestCaseParts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateCase(ctx, newCase("c1")); err != nil {
			t.Fatal(err)
		}
		rep := newReport(1)
		if err := db.CreateReport(ctx, rep); err != nil {
			t.Fatal(err)
		}

		// Links to reports, and to a report that does not exist.
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			if err := tx.LinkCaseReport(store.CaseLink{CaseID: "c1", ReportID: rep.Report.ID, Linked: caseTime, By: "cw1"}); err != nil {
				return err
			}
			return tx.LinkCaseReport(store.CaseLink{CaseID: "c1", ReportID: rep.Report.ID, Linked: caseTime, By: "cw1"})
		})
		err := db.UpdateCase(ctx, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			return tx.LinkCaseReport(store.CaseLink{CaseID: "c1", ReportID: "nope", Linked: caseTime, By: "cw1"})
		})
		if canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("link to no report: %v", err)
		}
		links, err := db.CaseLinks(ctx, "c1")
		if err != nil || len(links) != 1 || links[0].ReportID != rep.Report.ID || !links[0].Received.Equal(rep.Report.Received) {
			t.Fatalf("links %+v %v", links, err)
		}
		if links, _ := db.ReportCaseLinks(ctx, rep.Report.ID); len(links) != 1 || links[0].CaseID != "c1" {
			t.Fatalf("cases of the report: %+v", links)
		}

		// A service referral and its steps.
		ref := &canopy.ServiceReferral{ID: "ref1", CaseID: "c1", ServiceID: "svc-1", Need: canopy.NeedEmotional,
			Status: canopy.ServiceReferralSent, Sent: caseTime, By: "cw1"}
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error { return tx.AddServiceReferral(ref) })
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			r, err := tx.ServiceReferral("c1", "ref1")
			if err != nil {
				return err
			}
			if err := r.Advance(canopy.ServiceReferralFirstContact, caseTime.Add(48*time.Hour)); err != nil {
				return err
			}
			return tx.PutServiceReferral(r)
		})
		refs, err := db.ServiceReferrals(ctx, "c1")
		if err != nil || len(refs) != 1 || refs[0].Status != canopy.ServiceReferralFirstContact || !refs[0].Accepted.IsZero() ||
			!refs[0].FirstContact.Equal(caseTime.Add(48*time.Hour)) || refs[0].Need != canopy.NeedEmotional {
			t.Fatalf("referrals %+v %v", refs, err)
		}
		err = db.UpdateCase(ctx, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			_, err := tx.ServiceReferral("c1", "nope")
			return err
		})
		if canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown referral: %v", err)
		}

		// The safety plan: written, replaced, redacted.
		for _, lang := range []string{"en", "ar"} {
			updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
				return tx.PutPlan(&store.SealedPlan{CaseID: "c1", Content: []byte("plan in " + lang),
					SafetyPlan: canopy.SafetyPlan{Language: lang, Updated: caseTime, UpdatedBy: "cw1"}})
			})
		}
		p, err := db.CasePlan(ctx, "c1")
		if err != nil || p.Language != "ar" || string(p.Content) != "plan in ar" || !p.Redacted.IsZero() {
			t.Fatalf("plan %+v %v", p, err)
		}
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error { return tx.RedactPlan("c1", caseTime) })
		if p, _ := db.CasePlan(ctx, "c1"); p.Content != nil || !p.Redacted.Equal(caseTime) {
			t.Fatalf("redacted plan %+v", p)
		}
		if _, err := db.CasePlan(ctx, "c2"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("no plan: %v", err)
		}

		// Check-ins are numbered in order; a note can be redacted.
		for i, c := range []store.SealedCheckIn{
			{CheckIn: canopy.CheckIn{CaseID: "c1", Scale: canopy.ScaleWHO5, Items: []int{1, 2, 3, 4, 5}, Score: 15, By: "cw1"}, SealedNote: []byte("note")},
			{CheckIn: canopy.CheckIn{CaseID: "c1", Scale: canopy.ScaleFaces, Items: []int{4}, Score: 4, By: "cw1"}},
		} {
			updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
				n, err := tx.NextCheckIn("c1")
				if err != nil || n != i+1 {
					t.Errorf("next check-in %d, %v; want %d", n, err, i+1)
				}
				c.N, c.At = n, caseTime.Add(time.Duration(i)*time.Hour)
				return tx.AddCheckIn(&c)
			})
		}
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error { return tx.RedactCheckInNote("c1", 1, caseTime) })
		checkIns, err := db.CaseCheckIns(ctx, "c1")
		if err != nil || len(checkIns) != 2 || !slices.Equal(checkIns[0].Items, []int{1, 2, 3, 4, 5}) || checkIns[0].SealedNote != nil ||
			!checkIns[0].NoteRedacted.Equal(caseTime) || checkIns[1].Scale != canopy.ScaleFaces || checkIns[1].Score != 4 {
			t.Fatalf("check-ins %+v %v", checkIns, err)
		}
		err = db.UpdateCase(ctx, "c1", func(tx *store.Tx, _ *store.SealedCase) error { return tx.RedactCheckInNote("c1", 9, caseTime) })
		if canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("redact no check-in: %v", err)
		}

		// Consents: withdrawal marks every standing one of the purpose.
		for _, c := range []canopy.Consent{
			{ID: "k1", CaseID: "c1", Purpose: canopy.PurposeSupport, GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal, Given: caseTime, RecordedBy: "cw1"},
			{ID: "k2", CaseID: "c1", Purpose: canopy.PurposeSupport, GivenBy: canopy.ConsentByGuardian, Method: canopy.ConsentWritten, Given: caseTime, RecordedBy: "cw1"},
			{ID: "k3", CaseID: "c1", Purpose: canopy.PurposeStatistics, GivenBy: canopy.ConsentByChild, Method: canopy.ConsentOnline, Given: caseTime,
				Expires: caseTime.Add(24 * time.Hour), RecordedBy: "cw1"},
		} {
			updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error { return tx.AddConsent(&c) })
		}
		var withdrawn int
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			var err error
			withdrawn, err = tx.WithdrawConsent("c1", canopy.PurposeSupport, caseTime.Add(time.Hour), "cw2")
			return err
		})
		consents, err := db.CaseConsents(ctx, "c1")
		if err != nil || withdrawn != 2 || len(consents) != 3 || consents.Allows(canopy.PurposeSupport, caseTime.Add(time.Hour)) ||
			!consents.Allows(canopy.PurposeSupport, caseTime.Add(time.Minute)) || consents[0].WithdrawnBy != "cw2" ||
			!consents.Allows(canopy.PurposeStatistics, caseTime) || consents.Allows(canopy.PurposeStatistics, caseTime.Add(24*time.Hour)) {
			t.Fatalf("consents %+v (%d withdrawn) %v", consents, withdrawn, err)
		}
		byCase, err := db.ConsentsTo(ctx, canopy.PurposeStatistics)
		if err != nil || len(byCase) != 1 || len(byCase["c1"]) != 1 || byCase["c1"][0].ID != "k3" {
			t.Fatalf("consents to statistics %+v %v", byCase, err)
		}

		// Erasure decisions are kept in order.
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			return tx.AddErasure(&store.SealedErasure{Erasure: canopy.Erasure{ID: "e1", CaseID: "c1", Kind: canopy.ErasureRedact, Target: "name",
				AskedBy: canopy.AskedByChild, Decision: canopy.ErasureDone, Reason: canopy.ReasonChildWishes, At: caseTime, By: "cw1"}, SealedNote: []byte("n")})
		})
		erasures, err := db.CaseErasures(ctx, "c1")
		if err != nil || len(erasures) != 1 || erasures[0].Target != "name" || string(erasures[0].SealedNote) != "n" || !erasures[0].At.Equal(caseTime) {
			t.Fatalf("erasures %+v %v", erasures, err)
		}
	})
}

// TestDestroyCase: a legal hold stops the destruction of a case's key; once
// lifted, destruction blanks what could point to the child and keeps the
// codes, and the case no longer shows on its report.
func TestDestroyCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rep := newReport(1)
		if err := db.CreateReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateCase(ctx, newCase("c1")); err != nil {
			t.Fatal(err)
		}
		updateCase(t, db, "c1", func(tx *store.Tx, _ *store.SealedCase) error {
			return tx.LinkCaseReport(store.CaseLink{CaseID: "c1", ReportID: rep.Report.ID, Linked: caseTime, By: "cw1"})
		})
		destroy := func(tx *store.Tx, _ *store.SealedCase) error { return tx.DestroyCase("c1", caseTime.Add(time.Hour)) }
		place := func(tx *store.Tx, _ *store.SealedCase) error {
			n, err := tx.NextHold("c1")
			if err != nil {
				return err
			}
			return tx.PlaceHold(&store.SealedHold{LegalHold: canopy.LegalHold{CaseID: "c1", N: n, Placed: caseTime, PlacedBy: "admin"}, SealedReason: []byte("court order")})
		}
		lift := func(tx *store.Tx, _ *store.SealedCase) error {
			n, err := tx.StandingHold("c1")
			if err != nil {
				return err
			}
			return tx.LiftHold("c1", n, caseTime.Add(time.Minute), "admin", []byte("order ended"))
		}
		for _, step := range []struct {
			name string
			fn   func(*store.Tx, *store.SealedCase) error
			want string // the error code, "" for none
			held bool   // whether a hold stands after
		}{
			{"lift with none", lift, canopy.ECONFLICT, false},
			{"place", place, "", true},
			{"destroy under hold", destroy, canopy.ECONFLICT, true},
			{"lift", lift, "", false},
			{"place again", place, "", true},
			{"lift again", lift, "", false},
			{"destroy", destroy, "", false},
			{"destroy twice", destroy, canopy.ECONFLICT, false},
		} {
			err := db.UpdateCase(ctx, "c1", step.fn)
			if canopy.ErrorCode(err) != step.want {
				t.Fatalf("%s: %v, want %q", step.name, err, step.want)
			}
			if c, _ := db.Case(ctx, "c1"); c.Held != step.held {
				t.Fatalf("%s: held %v, want %v", step.name, c.Held, step.held)
			}
		}
		c, err := db.Case(ctx, "c1")
		if err != nil || c.WrappedKey != nil || c.Details != nil || c.Alias != "" || c.Region != "" || !c.Deleted.Equal(caseTime.Add(time.Hour)) ||
			c.AgeBand != "14-17" || len(c.Needs) != 2 {
			t.Fatalf("deleted case %+v %v", c, err)
		}
		if links, _ := db.ReportCaseLinks(ctx, rep.Report.ID); len(links) != 0 {
			t.Fatalf("a deleted case still shows on its report: %+v", links)
		}
		holds, err := db.CaseHolds(ctx, "c1")
		if err != nil || len(holds) != 2 || holds[0].N != 1 || holds[1].N != 2 || holds[0].Lifted.IsZero() ||
			string(holds[0].SealedReason) != "court order" || string(holds[0].SealedLiftReason) != "order ended" {
			t.Fatalf("holds %+v %v", holds, err)
		}
		if all, err := db.Holds(ctx, 0); err != nil || len(all) != 2 {
			t.Fatalf("all holds %+v %v", all, err)
		}
	})
}

// TestServiceChoices: referrals name services of the directory, by the
// service's name or its provider's.
func TestServiceChoices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if cs, err := db.ServiceChoices(ctx); err != nil || len(cs) != 0 {
			t.Fatalf("empty directory: %+v %v", cs, err)
		}
		providers := []*canopy.Provider{
			{ID: "p1", Name: "Maison des enfants", Active: true, Updated: caseTime, UpdatedBy: "system"},
			{ID: "p2", Name: "Closed clinic", Active: false, Updated: caseTime, UpdatedBy: "system"},
		}
		offers := []*canopy.ServiceOffer{
			{ID: "s1", ProviderID: "p1", Name: "Night shelter", Needs: []string{canopy.ServiceShelter}, Country: "FR", Ages: canopy.AgeRange{Max: 17}, Active: true, Updated: caseTime, UpdatedBy: "system"},
			{ID: "s2", ProviderID: "p1", Needs: []string{canopy.ServiceCounselling}, Country: "FR", Ages: canopy.AgeRange{Max: 17}, Active: true, Updated: caseTime, UpdatedBy: "system"},
			{ID: "s3", ProviderID: "p2", Needs: []string{canopy.ServiceMedical}, Country: "FR", Ages: canopy.AgeRange{Max: 17}, Active: true, Updated: caseTime, UpdatedBy: "system"},
		}
		if err := db.PutDirectory(ctx, providers, offers); err != nil {
			t.Fatal(err)
		}
		cs, err := db.ServiceChoices(ctx)
		if err != nil || len(cs) != 3 {
			t.Fatalf("choices %+v %v", cs, err)
		}
		want := []store.ServiceChoice{
			{ID: "s3", Name: "Closed clinic", Kinds: []string{canopy.ServiceMedical}, Country: "FR", Active: false},
			{ID: "s2", Name: "Maison des enfants", Kinds: []string{canopy.ServiceCounselling}, Country: "FR", Active: true},
			{ID: "s1", Name: "Maison des enfants: Night shelter", Kinds: []string{canopy.ServiceShelter}, Country: "FR", Active: true},
		}
		for i, w := range want {
			if c := cs[i]; c.ID != w.ID || c.Name != w.Name || !slices.Equal(c.Kinds, w.Kinds) || c.Active != w.Active {
				t.Errorf("choice %d: %+v, want %+v", i, c, w)
			}
		}
	})
}
