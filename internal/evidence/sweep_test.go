package evidence_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestSweepOrphans: the sweep deletes a file whose item was destroyed but
// whose bytes were left (a stop between the commit and the deletion) and
// a file with no item once older than the grace, and keeps live files
// and a fresh file whose acquisition may still be committing.
func TestSweepOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		inv, err := e.svc.Open(ctx, frLiaison, "Sweep", "")
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, body := range []string{"kept", "destroyed, bytes left"} {
			it, err := e.svc.Acquire(ctx, frLiaison, inv.ID, "file.txt", bytes.NewReader([]byte(body)), "seized")
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, it.ID)
		}
		// Destroy the second in the database only, as a stop just after
		// the commit would leave it.
		step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: items[1], Action: canopy.CustodyDestroyed,
			At: e.svc.Now(), Actor: "system"}}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.DestroyEvidence(items[1], e.svc.Now(), step) }); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"evidence/" + inv.ID + "/strayold", "evidence/" + inv.ID + "/strayfresh"} {
			if _, err := e.blob.Put(ctx, key, bytes.NewReader([]byte("sealed bytes of an acquisition that never committed"))); err != nil {
				t.Fatal(err)
			}
		}
		old := e.svc.Now().Add(-48 * time.Hour)
		if err := os.Chtimes(filepath.Join(e.dir, "evidence", inv.ID, "strayold"), old, old); err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.SweepOrphans(ctx, 24*time.Hour)
		if err != nil || n != 2 {
			t.Fatalf("SweepOrphans = %d, %v; want 2", n, err)
		}
		var left []string
		if err := e.blob.List(ctx, "", func(b blob.Info) error { left = append(left, b.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(left)
		want := []string{"evidence/" + inv.ID + "/" + items[0], "evidence/" + inv.ID + "/strayfresh"}
		slices.Sort(want)
		if !slices.Equal(left, want) {
			t.Errorf("left %v, want %v", left, want)
		}
		if err := e.svc.Verify(ctx, frLiaison, items[0]); err != nil {
			t.Errorf("the live item after the sweep: %v", err)
		}
		if n, err := e.svc.SweepOrphans(ctx, 24*time.Hour); err != nil || n != 0 {
			t.Errorf("a second sweep: %d, %v", n, err)
		}
	})
}
