package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func auditRows(from, n int) ([]store.AuditEntry, []store.AuditHash) {
	var es []store.AuditEntry
	var hs []store.AuditHash
	for i := from; i < from+n; i++ {
		es = append(es, store.AuditEntry{Index: int64(i), Data: []byte(fmt.Sprintf("entry %d", i)),
			At: time.Date(2026, 11, 27, 10, 0, 0, i*1000, time.UTC)})
		hs = append(hs, store.AuditHash{Index: int64(2 * i), Hash: []byte{byte(i), 0}},
			store.AuditHash{Index: int64(2*i + 1), Hash: []byte{byte(i), 1}})
	}
	return es, hs
}

func TestAuditAppendAndRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if n, err := db.AuditSize(ctx); err != nil || n != 0 {
			t.Fatalf("empty AuditSize = %d, %v", n, err)
		}
		// More rows than one multi-row INSERT takes.
		es, hs := auditRows(0, 2500)
		if err := db.AppendAudit(ctx, es, hs); err != nil {
			t.Fatal(err)
		}
		if n, err := db.AuditSize(ctx); err != nil || n != 2500 {
			t.Fatalf("AuditSize = %d, %v; want 2500", n, err)
		}
		if n, err := db.AuditHashCount(ctx); err != nil || n != 5000 {
			t.Fatalf("AuditHashCount = %d, %v; want 5000", n, err)
		}

		got, err := db.AuditEntries(ctx, 1000, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("AuditEntries = %d, %v", len(got), err)
		}
		for i, e := range got {
			want := es[1000+i]
			if e.Index != want.Index || !bytes.Equal(e.Data, want.Data) || !e.At.Equal(want.At) {
				t.Fatalf("entry %d = %+v, want %+v", 1000+i, e, want)
			}
		}
		one, err := db.AuditEntry(ctx, 7)
		if err != nil || string(one.Data) != "entry 7" {
			t.Fatalf("AuditEntry(7) = %+v, %v", one, err)
		}
		if _, err := db.AuditEntry(ctx, 2500); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("AuditEntry past the end: %v", err)
		}

		hr, err := db.AuditHashRange(ctx, 10, 14)
		if err != nil || len(hr) != 4 || hr[0].Index != 10 || !bytes.Equal(hr[3].Hash, []byte{6, 1}) {
			t.Fatalf("AuditHashRange = %+v, %v", hr, err)
		}
		byIndex, err := db.AuditHashes(ctx, []int64{4999, 0, 3})
		if err != nil || len(byIndex) != 3 || !bytes.Equal(byIndex[0], []byte{0xc3, 1}) ||
			!bytes.Equal(byIndex[1], []byte{0, 0}) || !bytes.Equal(byIndex[2], []byte{1, 1}) {
			t.Fatalf("AuditHashes = %v, %v", byIndex, err)
		}
		if _, err := db.AuditHashes(ctx, []int64{1, 5000}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("missing hash: %v", err)
		}

		// A taken position is a conflict, and nothing of the write is kept.
		es, hs = auditRows(2499, 2)
		if err := db.AppendAudit(ctx, es, hs); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("overwrite: err = %v, want conflict", err)
		}
		if n, _ := db.AuditSize(ctx); n != 2500 {
			t.Fatalf("failed append left %d entries", n)
		}
	})
}

func TestAuditCheckpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.LatestAuditCheckpoint(ctx); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("no checkpoint: err = %v", err)
		}
		at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		for _, size := range []int64{5, 1, 12} {
			c := &store.AuditCheckpoint{Size: size, Root: []byte{byte(size)}, Note: fmt.Sprintf("note %d", size), At: at}
			got, err := db.AddAuditCheckpoint(ctx, c)
			if err != nil || got.Note != c.Note || !got.At.Equal(at) {
				t.Fatalf("AddAuditCheckpoint = %+v, %v", got, err)
			}
		}
		// A second checkpoint of a size keeps the first.
		got, err := db.AddAuditCheckpoint(ctx, &store.AuditCheckpoint{Size: 5, Root: []byte{9}, Note: "other", At: at})
		if err != nil || got.Note != "note 5" {
			t.Fatalf("re-add = %+v, %v", got, err)
		}
		latest, err := db.LatestAuditCheckpoint(ctx)
		if err != nil || latest.Size != 12 {
			t.Fatalf("latest = %+v, %v", latest, err)
		}
		all, err := db.AuditCheckpoints(ctx, 2, 10)
		if err != nil || len(all) != 2 || all[0].Size != 5 || all[1].Size != 12 {
			t.Fatalf("AuditCheckpoints = %+v, %v", all, err)
		}
		if _, err := db.AuditCheckpoint(ctx, 6); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown checkpoint: %v", err)
		}
	})
}
