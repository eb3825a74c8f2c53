package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestEvidenceCustody: an item is stored with its acquisition, its chain
// of custody grows in order, and destroying it forgets its name and key
// but keeps its hashes and custody.
func TestEvidenceCustody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		inv := &store.SealedInvestigation{Investigation: canopy.Investigation{ID: "inv1", Status: canopy.InvestigationOpen, Opened: at,
			OpenedBy: "li1"}, Title: []byte("sealed title"), WrappedKey: []byte("wrapped")}
		if err := db.CreateInvestigation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		got, err := db.Investigation(ctx, "inv1")
		if err != nil || string(got.Title) != "sealed title" || string(got.WrappedKey) != "wrapped" || !got.Opened.Equal(at) {
			t.Fatalf("investigation %+v %v", got, err)
		}
		sum := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		e := &store.SealedEvidence{EvidenceItem: canopy.EvidenceItem{ID: "ev1", InvestigationID: "inv1", MediaType: "image/jpeg", Size: 4,
			SHA256: sum, MD5: "098f6bcd4621d373cade4e832627b4f6", Acquired: at, AcquiredBy: "li1"},
			Name: []byte("sealed name"), BlobKey: "evidence/ev1", DataKey: []byte("file key")}
		step := func(action string) *store.SealedCustody {
			at = at.Add(time.Minute)
			return &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: "ev1", Action: action, At: at, Actor: "li1", SHA256: sum},
				SealedWhy: []byte("sealed why")}
		}
		if err := db.AddEvidence(ctx, e, step(canopy.CustodyAcquired), acquiredEvent("ev1", at)); err != nil {
			t.Fatal(err)
		}
		bad := *e
		bad.ID, bad.InvestigationID = "ev2", "nope"
		if err := db.AddEvidence(ctx, &bad, step(canopy.CustodyAcquired), acquiredEvent("ev2", at)); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("evidence of no investigation: %v", err)
		}
		for _, a := range []string{canopy.CustodyViewed, canopy.CustodyExported} {
			if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddCustody(step(a)) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.DestroyEvidence("ev1", at, step(canopy.CustodyDestroyed)) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.DestroyEvidence("ev1", at, step(canopy.CustodyDestroyed)) }); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("destroyed twice: %v", err)
		}
		item, err := db.Evidence(ctx, "ev1")
		if err != nil || item.Name != nil || item.DataKey != nil || item.Destroyed.IsZero() || item.SHA256 != sum {
			t.Fatalf("destroyed item %+v %v", item, err)
		}
		chain, err := db.Custody(ctx, "ev1")
		if err != nil || len(chain) != 4 {
			t.Fatalf("custody %+v %v", chain, err)
		}
		for i, want := range []string{canopy.CustodyAcquired, canopy.CustodyViewed, canopy.CustodyExported, canopy.CustodyDestroyed} {
			if chain[i].N != i+1 || chain[i].Action != want || chain[i].SHA256 != sum || string(chain[i].SealedWhy) != "sealed why" {
				t.Errorf("step %d: %+v", i+1, chain[i])
			}
		}
		items, err := db.InvestigationEvidence(ctx, "inv1")
		if err != nil || len(items) != 1 {
			t.Fatalf("items %+v %v", items, err)
		}
	})
}

func acquiredEvent(item string, at time.Time) *store.SealedInvestigationEvent {
	return &store.SealedInvestigationEvent{InvestigationEvent: canopy.InvestigationEvent{At: at, Actor: "li1",
		Kind: canopy.InvestigationAcquired, Ref: item}}
}
