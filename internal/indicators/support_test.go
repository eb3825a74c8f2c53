package indicators

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

var caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}

// TestSupportIndicators: the support indicators count the cases whose
// consent to statistics stands when they are read, and nothing of a case
// withdrawn or deleted, past months included.
func TestSupportIndicators(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		keys, err := seal.New(make([]byte, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		log := audittest.Open(t, db)
		log.Now = e.clock.Now
		svc := &support.Service{DB: db, Keys: keys, Audit: log, Now: e.clock.Now}
		at := e.clock.Now()
		if err := db.PutDirectory(ctx, []*canopy.Provider{{ID: "p", Name: "P", Active: true, Updated: at, UpdatedBy: "system"}},
			[]*canopy.ServiceOffer{{ID: "s", ProviderID: "p", Needs: []string{canopy.ServiceCounselling}, Country: "FR",
				Ages: canopy.AgeRange{Max: 25}, Active: true, Updated: at, UpdatedBy: "system"}}); err != nil {
			t.Fatal(err)
		}
		open := func(consents ...string) string {
			c, err := svc.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "14-17"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range consents {
				if _, err := svc.GiveConsent(ctx, caseworker, c.ID, support.NewConsent{Purpose: p, GivenBy: canopy.ConsentByChild,
					Method: canopy.ConsentVerbal}); err != nil {
					t.Fatal(err)
				}
			}
			return c.ID
		}
		checkIn := func(id string, score int) {
			if _, err := svc.RecordCheckIn(ctx, caseworker, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{score}}); err != nil {
				t.Fatal(err)
			}
		}
		counted := open(canopy.PurposeSupport, canopy.PurposeStatistics)
		withdrawn := open(canopy.PurposeSupport, canopy.PurposeStatistics)
		never := open(canopy.PurposeSupport)
		for _, id := range []string{counted, withdrawn, never} {
			ref, err := svc.Refer(ctx, caseworker, id, "s", "")
			if err != nil {
				t.Fatal(err)
			}
			checkIn(id, 2)
			e.clock.Add(48 * time.Hour)
			if err := svc.AdvanceReferral(ctx, caseworker, id, ref.ID, canopy.ServiceReferralFirstContact, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if err := svc.AdvanceReferral(ctx, caseworker, id, ref.ID, canopy.ServiceReferralCompleted, time.Time{}); err != nil {
				t.Fatal(err)
			}
			checkIn(id, 4)
			if err := svc.Close(ctx, caseworker, id, canopy.CaseClosedSupported); err != nil {
				t.Fatal(err)
			}
		}
		read := func() map[string]SupportSeries {
			s, err := Support(ctx, db, "", "2026-01", "2026-12", e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]SupportSeries{}
			for _, x := range s {
				out[x.Indicator] = x
			}
			return out
		}
		s := read()
		if f := s[CaseResolution].Total; f.Members != 2 || f.Reached != 2 || !within(f.Median, 48*time.Hour) {
			t.Errorf("resolution: %+v", f)
		}
		if f := s[FirstSupport].Total; f.Members != 2 || !within(f.Median, 48*time.Hour) {
			t.Errorf("first support: %+v", f)
		}
		if f := s[ServiceCompletion].Total; f.Members != 2 || f.Reached != 2 {
			t.Errorf("completion: %+v", f)
		}
		if f := s[WellBeing].Total; f.Members != 2 || f.ChangeSum != 100 || f.Improved != 2 || f.MeanChange() != 50 {
			t.Errorf("well-being: %+v", f)
		}
		if err := svc.WithdrawConsent(ctx, caseworker, withdrawn, canopy.PurposeStatistics); err != nil {
			t.Fatal(err)
		}
		if f := read()[CaseResolution].Total; f.Members != 1 {
			t.Errorf("after withdrawal: %+v", f)
		}
		if _, err := svc.Erase(ctx, caseworker, counted, support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: canopy.AskedByChild,
			Reason: canopy.ReasonChildWishes, Carry: true}); err != nil {
			t.Fatal(err)
		}
		for id, series := range read() {
			if series.Total.Members != 0 {
				t.Errorf("%s after deletion: %+v", id, series.Total)
			}
		}
	})
}
