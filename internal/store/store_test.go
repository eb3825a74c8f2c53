package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func newReport(i int) *store.SealedReport {
	return &store.SealedReport{
		Report: canopy.Report{
			ID:           fmt.Sprintf("r%04d", i),
			Received:     time.Date(2026, 11, 27, 10, 0, i, 0, time.UTC),
			Channel:      canopy.ChannelPortal,
			Reporter:     canopy.ReporterChild,
			Category:     "sextortion",
			Flags:        []string{"urgent", "financial"},
			ChildCountry: "FR",
			Language:     "fr",
			Hashes:       []canopy.ContentHash{{Algorithm: "md5", Value: "d41d8cd98f00b204e9800998ecf8427e"}},
		},
		Content:     []byte{1, 2, 3, byte(i)},
		WrappedKey:  []byte{9, 9, byte(i)},
		ReceiptHash: []byte(fmt.Sprintf("receipt-%d", i)),
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		applied, err := db.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second Migrate applied %v", applied)
		}
		ms, _ := store.Migrations(db.Dialect())
		v, err := db.SchemaVersion(context.Background())
		if err != nil || v != len(ms) {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
		}
	})
}

func TestReportRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		in := newReport(1)
		if err := db.CreateReport(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReportByReceipt(ctx, in.ReceiptHash)
		if err != nil {
			t.Fatal(err)
		}
		if got.Report.ID != in.Report.ID || !got.Report.Received.Equal(in.Report.Received) ||
			got.Report.Category != "sextortion" || len(got.Report.Flags) != 2 || got.Report.ChildCountry != "FR" ||
			!bytes.Equal(got.Content, in.Content) || !bytes.Equal(got.WrappedKey, in.WrappedKey) ||
			len(got.Report.Hashes) != 1 || got.Report.Hashes[0] != in.Report.Hashes[0] {
			t.Fatalf("round trip: got %+v, want %+v", got, in)
		}
		if _, err := db.ReportByReceipt(ctx, []byte("nope")); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown receipt: err = %v, want not found", err)
		}
		// The same receipt hash twice is a conflict and stores nothing.
		dup := newReport(2)
		dup.ReceiptHash = in.ReceiptHash
		if err := db.CreateReport(ctx, dup); err == nil {
			t.Fatal("duplicate receipt hash accepted")
		}
		if _, err := db.Report(ctx, dup.Report.ID); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("half-stored report after failed insert: %v", err)
		}

		evs, err := db.Events(ctx, in.Report.ID)
		if err != nil || len(evs) != 1 || evs[0].Kind != canopy.EventReceived {
			t.Fatalf("events = %+v, %v; want one received event", evs, err)
		}
		id, err := db.AppendEvent(ctx, &store.SealedEvent{
			Event:      canopy.Event{ReportID: in.Report.ID, Kind: canopy.EventReporterMessage, At: in.Report.Received.Add(time.Minute)},
			SealedBody: []byte("sealed"),
		})
		if err != nil || id <= evs[0].ID {
			t.Fatalf("AppendEvent = %d, %v", id, err)
		}
		if _, err := db.AppendEvent(ctx, &store.SealedEvent{Event: canopy.Event{ReportID: "missing", Kind: canopy.EventReporterMessage}}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("event on a missing report: err = %v, want not found", err)
		}
		evs, _ = db.Events(ctx, in.Report.ID)
		if len(evs) != 2 || string(evs[1].SealedBody) != "sealed" {
			t.Fatalf("events after append = %+v", evs)
		}

		if err := db.DestroyReportKey(ctx, in.Report.ID); err != nil {
			t.Fatal(err)
		}
		got, err = db.Report(ctx, in.Report.ID)
		if err != nil || got.WrappedKey != nil {
			t.Fatalf("after destroying the key: %+v, %v", got, err)
		}
	})
}

// TestGroupCommit submits many reports at once, with some that must fail,
// and checks that every success is stored and every failure is not.
func TestGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 300
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := newReport(i)
				if i%50 == 7 {
					r.ReceiptHash = newReport(i - 1).ReceiptHash // clashes with its neighbour
				}
				errs[i] = db.CreateReport(ctx, r)
			}()
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			_, rerr := db.Report(ctx, newReport(i).Report.ID)
			stored := rerr == nil
			if err == nil && !stored {
				t.Errorf("report %d acknowledged but not stored", i)
			}
			if err != nil {
				failed++
				if stored && errs[i-1] != nil {
					t.Errorf("report %d failed (%v) but is stored", i, err)
				}
			}
		}
		count, _ := db.CountReports(ctx)
		if count+failed != n || failed == 0 {
			t.Fatalf("stored %d, failed %d, of %d", count, failed, n)
		}
	})
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	db.Close()
	if err := db.CreateReport(context.Background(), newReport(1)); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("write after close: %v", err)
	}
}

// TestReportIDConflict checks that storing a report under an id already
// taken is a conflict, which idempotent submissions rely on.
func TestReportIDConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateReport(ctx, newReport(1)); err != nil {
			t.Fatal(err)
		}
		again := newReport(1)
		again.ReceiptHash = []byte("another receipt")
		if err := db.CreateReport(ctx, again); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("same id twice: %v", err)
		}
	})
}
