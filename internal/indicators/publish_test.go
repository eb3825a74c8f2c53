package indicators

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestPublish: months with many reports are published with their
// durations; a month with a few is withheld, and so is a second cell
// that would give it away; nothing withheld leaks through a duration.
func TestPublish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		deltas := map[store.CellKey]int64{}
		at := func(month int, n int, look time.Duration) {
			for i := range n {
				received := time.Date(2026, time.Month(month), 3, 10, 0, 0, 0, time.UTC)
				f := &store.Facts{Received: received, Category: "csam", Channel: "portal", Jurisdiction: "FR"}
				if i > 0 || n > 5 { // a month of five has one report never looked at
					f.FirstLook = received.Add(look)
				}
				contribute(deltas, f, nil, 1)
			}
		}
		at(1, 120, time.Hour)
		at(2, 5, 2*time.Hour) // small: withheld
		at(3, 80, 3*time.Hour)
		if err := db.AddCells(ctx, deltas); err != nil {
			t.Fatal(err)
		}
		pub, err := Publish(ctx, db, "hotline-fr", []string{"FR"}, "2026-01", "2026-04", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Check(); err != nil {
			t.Fatal(err)
		}
		rows := map[string]Row{}
		for _, r := range pub.Rows {
			if r.Indicator == FirstLook {
				rows[r.Month] = r
			}
		}
		if r := rows["2026-01"]; r.Members != (Value{N: 120}) || r.MedianSeconds == nil || *r.MedianSeconds < 3600 || *r.MedianSeconds > 3780 {
			t.Errorf("January: %+v", r)
		}
		if r := rows["2026-02"]; r.Members.Shown() || r.Reached.Shown() || r.MedianSeconds != nil || r.Members.Mark != MarkHidden || r.Reached.Mark != MarkSmall {
			t.Errorf("February (five reports) is not withheld: %+v", r)
		}
		// February's count would follow from the period's total and the
		// other months: at least one of them is withheld too.
		hidden := 0
		for _, m := range []string{"2026-01", "2026-03", "2026-04"} {
			if !rows[m].Members.Shown() {
				hidden++
			}
		}
		if hidden == 0 {
			t.Error("no complementary suppression: February follows by subtraction")
		}
		if r := rows["2026-04"]; r.Members.Shown() && r.Members.N != 0 {
			t.Errorf("April: %+v", r)
		}
		b, err := json.Marshal(pub)
		if err != nil {
			t.Fatal(err)
		}
		var back Publication
		if err := json.Unmarshal(b, &back); err != nil || len(back.Rows) != len(pub.Rows) || back.Rows[1].Members != pub.Rows[1].Members {
			t.Fatalf("round trip: %v", err)
		}
	})
}
