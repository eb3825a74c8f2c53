package audit

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// Report says what a verification covered.
type Report struct {
	Size        int64     // entries checked, from position 0
	Root        tlog.Hash // the root hash of those entries
	Checkpoints int       // signed checkpoints found to match them
	Signed      int64     // size of the latest checkpoint; entries past it are not signed yet
}

// TamperError says where verification found the log changed. Index is the
// first position that is wrong or, when only a signature can tell, the
// first position that the last good checkpoint does not vouch for.
type TamperError struct {
	Index  int64
	Reason string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit: log altered at entry %d: %s", e.Index, e.Reason)
}

// verifyChunk is how many entries verification reads at a time.
const verifyChunk = 1 << 13

// Verify checks the whole log as stored in db against itself and against
// the checkpoints signed by v. It re-reads every entry in order,
// recomputes its leaf hash and every hash of the tree, compares them with
// the stored hashes the node serves proofs from, and checks that each
// stored checkpoint is validly signed and has the root of the entries
// before it (so each checkpoint is consistent with the next). Changing,
// deleting, reordering or inserting any entry covered by a checkpoint
// is found, whatever else the tamperer rewrote, short of the node's key.
//
// It returns a *TamperError for a log that has been altered. It reads the
// log a chunk at a time and keeps O(log n) of the tree. A log that is being appended to is checked up to its
// size when Verify starts.
func Verify(ctx context.Context, db *store.DB, v note.Verifier) (*Report, error) {
	latest, err := latestSize(ctx, db)
	if err != nil {
		return nil, err
	}
	size, err := db.AuditSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	return verify(ctx, db, v, size, latest)
}

// Verify checks the log as the package's Verify does, and that what is stored is the log
// this Log has been appending to: entries appended behind its back or
// removed from the end since the last checkpoint are found too.
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	latest, err := latestSize(ctx, l.db)
	if err != nil {
		return nil, err
	}
	size, root := l.head()
	stored, err := l.db.AuditSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	if stored < size {
		return nil, &TamperError{Index: stored, Reason: fmt.Sprintf("the log has %d entries, %d are stored", size, stored)}
	}
	rep, err := verify(ctx, l.db, l.id.Verifier(), size, latest)
	if err != nil {
		return rep, err
	}
	if rep.Root != root {
		return rep, &TamperError{Index: rep.Signed, Reason: "the stored entries are not those this node appended"}
	}
	// Appends count only once durable, so with no write in flight the
	// store holds exactly the log's entries; more were put there by
	// something else.
	l.wmu.Lock()
	stored, err = l.db.AuditSize(ctx)
	n := l.tree.size
	l.wmu.Unlock()
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	if stored > n {
		return rep, &TamperError{Index: n, Reason: "entries stored past the end of the log"}
	}
	return rep, nil
}

// latestSize returns the size of the latest checkpoint, -1 for none.
func latestSize(ctx context.Context, db *store.DB) (int64, error) {
	c, err := db.LatestAuditCheckpoint(ctx)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: verify: %w", err)
	}
	return c.Size, nil
}

// verify checks the first size entries and the checkpoints of up to
// latest entries.
func verify(ctx context.Context, db *store.DB, v note.Verifier, size, latest int64) (*Report, error) {
	rep := &Report{Signed: max(latest, 0)}
	if latest > size {
		return rep, &TamperError{Index: size, Reason: fmt.Sprintf("a checkpoint vouches for %d entries, %d are stored", latest, size)}
	}
	cps := &checkpoints{db: db, v: v, latest: latest}
	var (
		t    tree
		buf  []tlog.Hash
		good int64 // size of the last checkpoint found good
	)
	// A checkpoint of the empty tree is checked before any entry.
	if err := cps.check(ctx, &t, &good, rep); err != nil {
		return rep, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for c := range readChunks(ctx, db, size) {
		if c.err != nil {
			return rep, fmt.Errorf("audit: verify: %w", c.err)
		}
		if len(c.entries) == 0 {
			return rep, &TamperError{Index: t.size, Reason: "entry missing"}
		}
		hs := c.hashes
		for _, se := range c.entries {
			n := t.size
			if se.Index != n {
				return rep, &TamperError{Index: n, Reason: "entry missing"}
			}
			index, at, ok := scan(se.Data)
			if !ok {
				return rep, &TamperError{Index: n, Reason: "entry is not a valid encoding"}
			}
			if index != n {
				return rep, &TamperError{Index: n, Reason: fmt.Sprintf("entry %d is stored here", index)}
			}
			if at != se.At.UnixMicro() {
				return rep, &TamperError{Index: n, Reason: "stored time differs from the entry's"}
			}
			first := tlog.StoredHashIndex(0, n)
			buf = t.push(tlog.RecordHash(se.Data), buf[:0])
			for j, h := range buf {
				if len(hs) == 0 || hs[0].Index != first+int64(j) {
					return rep, &TamperError{Index: n, Reason: fmt.Sprintf("stored tree hash %d missing", first+int64(j))}
				}
				if !bytes.Equal(hs[0].Hash, h[:]) {
					what := "entry differs from its stored leaf hash"
					if j > 0 {
						what = fmt.Sprintf("stored tree hash %d is wrong", first+int64(j))
					}
					return rep, &TamperError{Index: n, Reason: what}
				}
				hs = hs[1:]
			}
			if err := cps.check(ctx, &t, &good, rep); err != nil {
				return rep, err
			}
			rep.Size = t.size
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Root = t.root()
	if cps.pending() {
		return rep, &TamperError{Index: size, Reason: "a checkpoint vouches for entries that are not stored"}
	}
	return rep, nil
}

// chunk is a run of stored entries and the tree hashes stored for them,
// assuming no entry is missing (which verify checks).
type chunk struct {
	entries []store.AuditEntry
	hashes  []store.AuditHash
	err     error
}

// readChunks reads the first size entries and their hashes a chunk at a
// time, one chunk ahead of the caller, so reading and hashing overlap. It
// stops after an error or an empty chunk, or when ctx ends.
func readChunks(ctx context.Context, db *store.DB, size int64) <-chan chunk {
	ch := make(chan chunk, 1)
	go func() {
		defer close(ch)
		for from := int64(0); from < size; {
			// Entries and hashes are read side by side. With no entry
			// missing, which verify checks, these are the hashes of
			// these entries.
			to := min(from+verifyChunk, size)
			var c chunk
			var hashErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.hashes, hashErr = db.AuditHashRange(ctx, tlog.StoredHashIndex(0, from), tlog.StoredHashIndex(0, to))
			}()
			c.entries, c.err = db.AuditEntries(ctx, from, int(to-from))
			<-done
			if c.err == nil {
				c.err = hashErr
			}
			from = to
			select {
			case ch <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil || len(c.entries) == 0 {
				return
			}
		}
	}()
	return ch
}

// checkpoints walks the stored checkpoints in size order, a page at a
// time, up to latest.
type checkpoints struct {
	db     *store.DB
	v      note.Verifier
	latest int64
	page   []store.AuditCheckpoint
	next   int64 // smallest size not yet read
	done   bool
}

// check verifies every checkpoint of t's size against t.
func (c *checkpoints) check(ctx context.Context, t *tree, good *int64, rep *Report) error {
	for {
		if len(c.page) == 0 {
			if c.done || c.next > c.latest {
				return nil
			}
			page, err := c.db.AuditCheckpoints(ctx, c.next, 1024)
			if err != nil {
				return fmt.Errorf("audit: verify: %w", err)
			}
			if len(page) == 0 {
				c.done = true
				return nil
			}
			c.page = page
			c.next = page[len(page)-1].Size + 1
		}
		sc := c.page[0]
		if sc.Size > c.latest {
			c.done, c.page = true, nil // signed after verification began
			return nil
		}
		if sc.Size > t.size {
			return nil
		}
		c.page = c.page[1:]
		cp, err := openCheckpoint([]byte(sc.Note), c.v)
		if err != nil {
			return &TamperError{Index: *good, Reason: fmt.Sprintf("checkpoint of %d: %v", sc.Size, err)}
		}
		if cp.Size != sc.Size || !bytes.Equal(cp.Root[:], sc.Root) {
			return &TamperError{Index: *good, Reason: fmt.Sprintf("checkpoint of %d: stored size or root differ from the signed ones", sc.Size)}
		}
		if cp.Root != t.root() {
			return &TamperError{Index: *good, Reason: fmt.Sprintf("entries %d to %d do not match the signed checkpoint of %d", *good, sc.Size-1, sc.Size)}
		}
		*good = sc.Size
		rep.Checkpoints++
	}
}

// pending reports whether checkpoints remain unchecked.
func (c *checkpoints) pending() bool {
	return len(c.page) > 0 && c.page[0].Size <= c.latest
}
