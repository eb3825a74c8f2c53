package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestConcurrentSteps: members reading one file and adding files to one
// investigation at the same moment all succeed, on PostgreSQL's parallel
// committers too, and the chain of custody and the timeline stay
// numbered 1, 2, 3… with no gap and no repeat.
func TestConcurrentSteps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		item := w.acquire(t, id, "photo.png", pngBytes(t))
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, 4*n)
		for i := range n {
			wg.Go(func() {
				for range 3 {
					errs <- w.svc.Verify(ctx, frLiaison, item.ID)
				}
				_, err := w.svc.Acquire(ctx, frLiaison, id, fmt.Sprintf("file-%d.txt", i), bytes.NewReader([]byte{byte(i)}), "seized")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		chain := w.custody(t, id, item.ID)
		if len(chain) != 1+3*n {
			t.Errorf("%d custody steps, want %d", len(chain), 1+3*n)
		}
		for i, c := range chain {
			if c.N != i+1 {
				t.Fatalf("step %d is numbered %d", i+1, c.N)
			}
		}
		lines := w.timeline(t, id)
		if len(lines) != 2+n { // opened, the first file, the n others
			t.Errorf("%d timeline lines, want %d", len(lines), 2+n)
		}
		for i, l := range lines {
			if l.N != i+1 {
				t.Fatalf("line %d is numbered %d", i+1, l.N)
			}
		}
	})
}

// gatedReader yields its bytes only once gate is closed, so a test can
// act while an acquisition is streaming.
type gatedReader struct {
	started chan struct{}
	gate    chan struct{}
	r       io.Reader
	once    sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.once.Do(func() { close(g.started) })
	<-g.gate
	return g.r.Read(p)
}

// TestCloseDuringUpload: an investigation closed while a file streams in
// takes no item: the acquisition is refused when it commits, and its
// file is deleted.
func TestCloseDuringUpload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		g := &gatedReader{started: make(chan struct{}), gate: make(chan struct{}), r: bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20))}
		done := make(chan error, 1)
		go func() {
			_, err := w.svc.Acquire(ctx, frLiaison, id, "late.bin", g, "seized")
			done <- err
		}()
		<-g.started
		if err := w.svc.Close(ctx, frLiaison, id, "charged"); err != nil {
			t.Fatal(err)
		}
		close(g.gate)
		if err := <-done; canopy.ErrorCode(err) != canopy.ECONFLICT || canopy.AsError(err).Key != "error.investigation.closed" {
			t.Fatalf("an upload into an investigation closed meanwhile: %v", err)
		}
		if items, err := db.InvestigationEvidence(ctx, id); err != nil || len(items) != 0 {
			t.Fatalf("items %+v %v", items, err)
		}
		n := 0
		w.blob.List(ctx, "", func(blob.Info) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d files left in the store", n)
		}
	})
}

// TestAcquireCancelled: a member who leaves as their file finishes
// arriving leaves either the item whole (committed, its file readable)
// or nothing at all, never an item without its file.
func TestAcquireCancelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		for i := range 20 {
			ctx, cancel := context.WithCancel(context.Background())
			r := &cancelAtEOF{r: bytes.NewReader([]byte(fmt.Sprintf("file %d", i))), cancel: cancel}
			it, err := w.svc.Acquire(ctx, frLiaison, id, "f.txt", r, "seized")
			cancel()
			if err == nil {
				if err := w.svc.Verify(context.Background(), frLiaison, it.ID); err != nil {
					t.Fatalf("try %d: the item committed, its file: %v", i, err)
				}
			}
		}
		items, err := db.InvestigationEvidence(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			if _, err := w.blob.Stat(context.Background(), e.BlobKey); err != nil {
				t.Errorf("item %s has no file: %v", e.ID, err)
			}
		}
	})
}

type cancelAtEOF struct {
	r      io.Reader
	cancel func()
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		c.cancel()
	}
	return n, err
}

// failingWriter takes limit bytes, then fails, as a browser that leaves.
type failingWriter struct{ limit int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, errors.New("connection reset")
	}
	f.limit -= len(p)
	return len(p), nil
}

// TestExportCutShort: a download that breaks off has its export in the
// custody already (recorded before the first byte) and the break in the
// audit log.
func TestExportCutShort(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		item := w.acquire(t, id, "photo.png", bytes.Repeat(pngBytes(t), 50))
		if err := w.svc.ExportZip(ctx, frLiaison, id, &failingWriter{limit: 100}, "hotline-fr", signer(t)); err == nil {
			t.Fatal("a broken download succeeded")
		}
		chain := w.custody(t, id, item.ID)
		if last := chain[len(chain)-1]; last.Action != canopy.CustodyExported {
			t.Errorf("the export is not in the custody: %+v", chain)
		}
		var exported, cut bool
		for _, e := range w.entries(t) {
			switch {
			case e.Action == audit.ActionEvidenceCustody && e.ID == item.ID && e.Details["action"] == canopy.CustodyExported && e.Outcome == audit.OK:
				exported = true
			case e.Action == audit.ActionEvidenceCustody && e.ID == id && e.Outcome == audit.Failed && e.Details["result"] == "cut_short":
				cut = true
			}
		}
		if !exported || !cut {
			t.Errorf("audited: export %v, cut short %v", exported, cut)
		}
	})
}

// TestSweepWrongDatabase: pointed at a database that knows none of its
// investigations, the sweep deletes nothing, however old the files.
func TestSweepWrongDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		for _, key := range []string{"evidence/unknowninvestigation/item1", "evidence/unknowninvestigation/item2"} {
			if _, err := w.blob.Put(ctx, key, bytes.NewReader([]byte("sealed"))); err != nil {
				t.Fatal(err)
			}
		}
		w.clock.Add(72 * time.Hour)
		if n, err := w.svc.SweepOrphans(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("SweepOrphans = %d, %v; want nothing deleted", n, err)
		}
	})
}

// TestAuditKeepsTheReasonsPrint: every custody step with a reason is in
// the audit log with the fingerprint of its sealed reason, so a reason
// re-sealed later no longer matches; the words themselves are not there.
func TestAuditKeepsTheReasonsPrint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		item := w.acquire(t, id, "photo.png", pngBytes(t))
		if err := w.svc.Read(ctx, frLiaison, item.ID, "compare with report-secret", io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Reveal(ctx, frLiaison, item.ID, "identify the room-secret"); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Transfer(ctx, frLiaison, id, nil, "Parquet de Paris", "request 17-secret"); err != nil {
			t.Fatal(err)
		}
		chains, err := db.InvestigationCustody(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		chain := chains[item.ID]
		prints := map[string]string{} // step → the log's fingerprint
		for _, e := range w.entries(t) {
			if e.Action == audit.ActionEvidenceCustody && e.ID == item.ID {
				prints[e.Details["step"]] = e.Details["why"]
			}
			for _, v := range e.Details {
				if strings.Contains(v, "secret") {
					t.Errorf("a reason's words in the log: %+v", e)
				}
			}
		}
		if len(chain) != 4 {
			t.Fatalf("%d steps", len(chain))
		}
		for _, c := range chain {
			got, ok := prints[fmt.Sprint(c.N)]
			if !ok || got == "" || got != evidence.WhyPrint(c.SealedWhy) {
				t.Errorf("step %d (%s): the log has %q, the sealed reason prints %q", c.N, c.Action, got, evidence.WhyPrint(c.SealedWhy))
			}
		}
		// Other sealed bytes in the row (a reason changed, or sealed
		// again) print differently: the change shows.
		if again := evidence.WhyPrint(append([]byte{}, chain[1].SealedWhy[:len(chain[1].SealedWhy)-1]...)); again == prints["2"] {
			t.Error("a different sealed reason has the same print")
		}
	})
}

// TestDownload: a download's headers get the item's name and size, for
// who may read it only; a destroyed item has none.
func TestDownload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		file := pngBytes(t)
		item := w.acquire(t, id, "photo one.png", file)
		if name, size, err := w.svc.Download(ctx, frLiaison, item.ID); err != nil || name != "photo one.png" || size != int64(len(file)) {
			t.Fatalf("Download = %q, %d, %v", name, size, err)
		}
		if _, _, err := w.svc.Download(ctx, caseworker, item.ID); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Errorf("a caseworker: %v", err)
		}
		if _, _, err := w.svc.Download(ctx, beLiaison, item.ID); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("another jurisdiction: %v", err)
		}
		if err := w.svc.Destroy(ctx, frLiaison, item.ID, "order"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.Download(ctx, frLiaison, item.ID); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("a destroyed item: %v", err)
		}
	})
}
