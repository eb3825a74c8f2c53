package indicators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/canopy-org/canopy/internal/store"
)

// cursorName names the roller's cursor over the events table.
const cursorName = "events"

// Roller keeps the rollups up to date with the events table.
type Roller struct {
	DB     *store.DB
	Logger *slog.Logger
	// Batch is how many events one step takes; 0 for 2,000.
	Batch int
	// GapWait is how long a hole in the event ids may stay open before
	// the roller steps over it (0 for 30 s). On PostgreSQL ids are taken
	// when an event is written and seen when its transaction commits, so
	// a hole may be a transaction still running, which will fill it, or
	// one rolled back, which never will. Tests that step only once every
	// write has finished set it below zero: no waiting at all.
	GapWait time.Duration

	mu   sync.Mutex
	gaps map[int64]time.Time // the first id of each hole, and when it was seen
}

func (r *Roller) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return 2000
}

func (r *Roller) gapWait() time.Duration {
	switch {
	case r.GapWait < 0:
		return 0
	case r.GapWait == 0:
		return 30 * time.Second
	}
	return r.GapWait
}

// contiguous returns how many of the events, read after cursor, can be
// taken now: up to the first hole in their ids that is younger than
// GapWait.
func (r *Roller) contiguous(cursor int64, events []store.EventRow) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gaps == nil {
		r.gaps = map[int64]time.Time{}
	}
	now := time.Now()
	want := cursor + 1
	for i, e := range events {
		if e.ID != want {
			seen, ok := r.gaps[want]
			if !ok {
				r.gaps[want] = now
				seen = now
			}
			if now.Sub(seen) < r.gapWait() {
				return i
			}
			delete(r.gaps, want)
		}
		want = e.ID + 1
	}
	return len(events)
}

var errCursorMoved = errors.New("indicators: another roller moved the cursor")

// Step takes the next batch of events into the rollups, in one
// transaction with the cursor, and returns how many it took.
func (r *Roller) Step(ctx context.Context) (int, error) {
	cursor, err := r.DB.IndicatorCursor(ctx, cursorName)
	if err != nil {
		return 0, err
	}
	events, err := r.DB.EventsAfter(ctx, cursor, r.batch())
	if err != nil {
		return 0, err
	}
	events = events[:r.contiguous(cursor, events)]
	if len(events) == 0 {
		return 0, nil
	}
	byReport := map[string][]store.EventRow{}
	var ids []string
	for _, e := range events {
		if byReport[e.ReportID] == nil {
			ids = append(ids, e.ReportID)
		}
		byReport[e.ReportID] = append(byReport[e.ReportID], e)
	}
	slices.Sort(ids)
	err = r.DB.UpdateSerial(ctx, func(tx *store.Tx) error {
		cur, err := tx.IndicatorCursor(cursorName)
		if err != nil {
			return err
		}
		if cur != cursor {
			return errCursorMoved
		}
		facts, err := tx.Facts(ids)
		if err != nil {
			return err
		}
		itemFacts, err := tx.ItemFacts(ids)
		if err != nil {
			return err
		}
		var unmet []string
		for _, id := range ids {
			if facts[id] == nil {
				unmet = append(unmet, id)
			}
		}
		basics, err := tx.ReportBasics(unmet)
		if err != nil {
			return err
		}
		deltas := map[store.CellKey]int64{}
		for _, id := range ids {
			f := facts[id]
			items := map[string]*store.ItemFacts{}
			var before []*store.ItemFacts
			for _, it := range itemFacts[id] {
				before = append(before, &it)
				copied := it
				items[it.TakedownID] = &copied
			}
			if f == nil {
				b := basics[id]
				f = &store.Facts{ReportID: id, Channel: b[0], Category: b[1]}
			} else {
				old := *f
				contribute(deltas, &old, before, -1)
			}
			for _, e := range byReport[id] {
				apply(f, items, e)
			}
			after := make([]*store.ItemFacts, 0, len(items))
			for _, it := range items {
				after = append(after, it)
			}
			contribute(deltas, f, after, +1)
			if err := tx.PutFacts(f); err != nil {
				return err
			}
			for _, it := range after {
				if err := tx.PutItemFacts(it); err != nil {
					return err
				}
			}
		}
		if err := tx.AddCells(deltas); err != nil {
			return err
		}
		return tx.SetIndicatorCursor(cursorName, events[len(events)-1].ID)
	})
	if err != nil {
		return 0, fmt.Errorf("indicators: roll events %d–%d: %w", events[0].ID, events[len(events)-1].ID, err)
	}
	return len(events), nil
}

// CatchUp steps until no event is left to take now.
func (r *Roller) CatchUp(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.Step(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Run keeps the rollups up to date until ctx ends: at once while there is
// a backlog, then every interval.
func (r *Roller) Run(ctx context.Context, interval time.Duration) {
	for {
		n, err := r.Step(ctx)
		if err != nil && ctx.Err() == nil && r.Logger != nil {
			r.Logger.Error("indicators: roll", "err", err)
		}
		wait := interval
		if n == r.batch() {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
