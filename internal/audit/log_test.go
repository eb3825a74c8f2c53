package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// node is a store, an identity and the log on them.
type node struct {
	db  *store.DB
	dsn string
	id  *seal.Identity
	log *audit.Log
}

func newNode(t testing.TB, dialect string) *node {
	t.Helper()
	ctx := context.Background()
	n := &node{dsn: storetest.NewDSN(t, dialect)}
	var err error
	if n.db, err = store.Open(ctx, n.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.db.Close() })
	if _, err := n.db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	n.db.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}
	if n.id, err = seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "hotline.test"); err != nil {
		t.Fatal(err)
	}
	n.open(t)
	return n
}

// open (re)starts the log, as a node restart does.
func (n *node) open(t testing.TB) {
	t.Helper()
	if n.log != nil {
		n.log.Close()
	}
	l, err := audit.Open(context.Background(), n.db, n.id)
	if err != nil {
		t.Fatal(err)
	}
	n.log = l
	t.Cleanup(func() { l.Close() })
}

// each runs fn on a fresh node per dialect, in parallel.
func each(t *testing.T, fn func(t *testing.T, n *node)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, newNode(t, d))
		})
	}
}

func entry(i int) audit.Entry {
	actions := []audit.Action{audit.ActionReportView, audit.ActionLogin, audit.ActionReportCreate, audit.ActionPermissionDenied}
	e := audit.Entry{
		Actor:   audit.Staff(fmt.Sprintf("acc%d", i%5)),
		Action:  actions[i%len(actions)],
		Kind:    audit.KindReport,
		ID:      fmt.Sprintf("r%05d", i),
		Outcome: audit.OK,
		Details: map[string]string{"n": fmt.Sprint(i)},
	}
	if e.Action == audit.ActionPermissionDenied {
		e.Outcome = audit.Denied
	}
	return e
}

func appendN(t testing.TB, l *audit.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		got, err := l.Append(context.Background(), entry(i))
		if err != nil {
			t.Fatal(err)
		}
		if got.Index != int64(i) {
			t.Fatalf("entry %d got index %d", i, got.Index)
		}
	}
}

func TestAppendAndRead(t *testing.T) {
	each(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		in := entry(0)
		got, err := n.log.Append(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Index != 0 || got.At.IsZero() || got.At.Location() != time.UTC || got.At.Nanosecond()%1000 != 0 {
			t.Fatalf("appended %+v", got)
		}
		in.Details["n"] = "changed after append" // the log kept its own copy
		appendN(t, n.log, 1, 9)
		if n.log.Size() != 10 {
			t.Fatalf("Size = %d", n.log.Size())
		}
		back, err := n.log.Entry(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if back.Actor != got.Actor || back.Action != got.Action || back.ID != got.ID || !back.At.Equal(got.At) ||
			back.Details["n"] != "0" {
			t.Fatalf("read back %+v, want %+v", back, got)
		}
		page, err := n.log.Entries(ctx, 4, 3)
		if err != nil || len(page) != 3 || page[0].Index != 4 || page[2].ID != "r00006" {
			t.Fatalf("Entries = %+v, %v", page, err)
		}
		if _, err := n.log.Entry(ctx, 10); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("entry past the end: %v", err)
		}

		// An invalid entry is refused and takes no position.
		bad := entry(10)
		bad.Details = map[string]string{"note": "free text here"}
		if _, err := n.log.Append(ctx, bad); err == nil {
			t.Fatal("invalid entry appended")
		}
		// Neither does one whose caller has gone.
		gone, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := n.log.Append(gone, entry(10)); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled append: %v", err)
		}
		appendN(t, n.log, 10, 1)

		// A restarted log carries on where it was.
		before, err := n.log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n.open(t)
		appendN(t, n.log, 11, 1)
		after, err := n.log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if before.Size != 11 || after.Size != 12 {
			t.Fatalf("checkpoint sizes %d, %d", before.Size, after.Size)
		}
		if _, err := n.log.Verify(ctx); err != nil {
			t.Fatal(err)
		}

		n.log.Close()
		if _, err := n.log.Append(ctx, entry(12)); !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("append after close: %v", err)
		}
	})
}

// Many appenders at once: positions are dense and unique, each caller gets
// its own entry back, and the log verifies.
func TestConcurrentAppend(t *testing.T) {
	each(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		const workers, each = 32, 40
		seen := make([]string, workers*each)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					e := entry(w*each + i)
					got, err := n.log.Append(ctx, e)
					if err != nil {
						t.Error(err)
						return
					}
					if got.Index < 0 || got.Index >= int64(len(seen)) {
						t.Errorf("index %d out of range", got.Index)
						return
					}
					if got.ID != e.ID {
						t.Errorf("appended %s, got back %s", e.ID, got.ID)
					}
					seen[got.Index] = got.ID // a duplicate index would leave a gap below
				}
				if w%8 == 0 {
					if _, err := n.log.Checkpoint(ctx); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for i, id := range seen {
			if id == "" {
				t.Fatalf("no entry at %d", i)
			}
			e, err := n.log.Entry(ctx, int64(i))
			if err != nil || e.ID != id {
				t.Fatalf("entry %d = %+v, %v; want %s", i, e, err, id)
			}
		}
		if _, err := n.log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := n.log.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Size != workers*each || rep.Signed != workers*each || rep.Checkpoints < 1 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// An auditor holding only the node's verifier key checks checkpoints,
// inclusion and consistency.
func TestProofsWithPublicKeyOnly(t *testing.T) {
	each(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		vkey := n.log.VerifierKey()
		var signed [][]byte // what an auditor collected over time
		for _, size := range []int{1, 2, 3, 7, 8, 9, 16, 33} {
			appendN(t, n.log, int(n.log.Size()), size-int(n.log.Size()))
			c, err := n.log.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			signed = append(signed, c.Note)
		}
		cps := make([]*audit.Checkpoint, len(signed))
		for i, s := range signed {
			c, err := audit.OpenCheckpoint(s, vkey)
			if err != nil {
				t.Fatal(err)
			}
			cps[i] = c
		}
		latest, err := n.log.LatestCheckpoint(ctx)
		if err != nil || latest.Size != 33 || latest.Root != cps[len(cps)-1].Root {
			t.Fatalf("LatestCheckpoint = %+v, %v", latest, err)
		}

		for _, c := range cps {
			for i := int64(0); i < c.Size; i++ {
				p, err := n.log.InclusionProof(ctx, i, c.Size)
				if err != nil {
					t.Fatal(err)
				}
				data := encoded(t, n, i)
				if err := audit.VerifyInclusion(c, i, data, p); err != nil {
					t.Fatalf("entry %d in %d: %v", i, c.Size, err)
				}
				// The same proof does not pass for another entry.
				if other := (i + 1) % c.Size; other != i {
					if err := audit.VerifyInclusion(c, other, encoded(t, n, other), p); err == nil {
						t.Fatalf("proof of %d accepted for %d in %d", i, other, c.Size)
					}
				}
			}
		}
		for i, old := range cps {
			for _, new := range cps[i:] {
				p, err := n.log.ConsistencyProof(ctx, old.Size, new.Size)
				if err != nil {
					t.Fatal(err)
				}
				if err := audit.VerifyConsistency(old, new, p); err != nil {
					t.Fatalf("%d to %d: %v", old.Size, new.Size, err)
				}
			}
		}

		// What the checks refuse.
		c := cps[len(cps)-1]
		data := encoded(t, n, 5)
		p, _ := n.log.InclusionProof(ctx, 5, c.Size)
		tampered := append([]byte(nil), data...)
		tampered[len(tampered)-1] ^= 1
		if err := audit.VerifyInclusion(c, 5, tampered, p); err == nil {
			t.Fatal("altered entry passed inclusion")
		}
		forged := *c
		forged.Root[0] ^= 1
		if err := audit.VerifyInclusion(&forged, 5, data, p); err == nil {
			t.Fatal("inclusion passed against another root")
		}
		tp, _ := n.log.ConsistencyProof(ctx, 9, 33)
		if err := audit.VerifyConsistency(cps[5], &forged, tp); err == nil {
			t.Fatal("consistency passed against another root")
		}
		if _, err := audit.OpenCheckpoint(c.Note, otherKey(t)); err == nil {
			t.Fatal("checkpoint opened with another node's key")
		}
		bad := append([]byte(nil), c.Note...)
		bad[len("hotline.test/audit\n")] = '4' // claim another size
		if _, err := audit.OpenCheckpoint(bad, vkey); err == nil {
			t.Fatal("edited checkpoint opened")
		}
		if _, err := n.log.InclusionProof(ctx, 33, 33); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("proof past the tree: %v", err)
		}
		if _, err := n.log.InclusionProof(ctx, 0, 34); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("proof in a tree larger than the log: %v", err)
		}
		if _, err := n.log.ConsistencyProof(ctx, 9, 8); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("consistency backwards: %v", err)
		}
	})
}

func encoded(t testing.TB, n *node, i int64) []byte {
	t.Helper()
	e, err := n.log.Entry(context.Background(), i)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func otherKey(t testing.TB) string {
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "other.key"), "hotline.test")
	if err != nil {
		t.Fatal(err)
	}
	return id.VerifierKey()
}

// The checkpoint note is the Go checksum database's tree format with the
// node's origin.
func TestCheckpointFormat(t *testing.T) {
	n := newNode(t, store.SQLite)
	appendN(t, n.log, 0, 3)
	c, err := n.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text := string(c.Note)
	want := fmt.Sprintf("hotline.test/audit\n3\n%s\n\n— hotline.test ", c.Root)
	if len(text) < len(want) || text[:len(want)] != want {
		t.Fatalf("checkpoint note:\n%s", text)
	}
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + text[len("hotline.test/audit\n"):]))
	if err != nil || tree.N != 3 || tree.Hash != c.Root {
		t.Fatalf("not in tlog's tree format: %+v, %v", tree, err)
	}
}

// The periodic checkpointer signs the log once it has grown, and only then.
func TestCheckpointEvery(t *testing.T) {
	n := newNode(t, store.SQLite)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.log.CheckpointEvery(ctx, 5*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	waitFor := func(size int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := n.log.LatestCheckpoint(context.Background())
			if err == nil && c.Size == size {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of %d: %+v, %v", size, c, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(0)
	appendN(t, n.log, 0, 3)
	waitFor(3)
	appendN(t, n.log, 3, 2)
	waitFor(5)
}
