// Package audit is the node's tamper-evident audit log: an append-only
// record of who did what to which record, which an independent oversight
// body can check without trusting the node or its operators.
//
// The log is a transparency log in the scheme of Certificate Transparency
// (RFC 6962) and the Go checksum database, built on
// golang.org/x/mod/sumdb/tlog and sumdb/note. Entries are the leaves of a
// Merkle tree; the node periodically signs the tree's size and root hash
// (a checkpoint) with its Ed25519 identity (seal.Identity). With nothing
// but the node's verifier key, an auditor can check that an entry is in
// the log (an inclusion proof) and that a later log extends an earlier one
// without changing or dropping anything (a consistency proof).
//
// # What is never logged
//
// The log is read by outsiders and kept forever. It holds no report
// content, message, name, contact detail, address or free text of any
// kind: an Entry has no field for it, and Validate refuses details that
// are not short tokens. Records are named by their ids only.
//
// # Entry encoding (version 1)
//
// An entry is stored and hashed as these bytes, all integers big-endian:
//
//	version   1 byte   the value 1
//	index     8 bytes  the entry's position in the log, from 0 (int64)
//	at        8 bytes  its time, in Unix microseconds UTC (int64)
//	actor     string   "system", "public", "staff:<account id>" or "peer:<peer id>"
//	action    string   a code such as "report.view"
//	kind      string   the kind of record concerned, or empty
//	id        string   its id, or empty
//	outcome   string   "ok", "denied" or "failed"
//	count     2 bytes  the number of details (uint16)
//	details   count × (key string, value string), keys in strictly
//	          increasing byte order
//
// where a string is its length in bytes as a uint16 followed by that many
// bytes of UTF-8. Nothing follows the last detail. Each entry has exactly
// one encoding, so its leaf hash is well defined:
//
//	leaf hash = SHA-256(0x00 || encoding)            (tlog.RecordHash)
//	node hash = SHA-256(0x01 || left || right)       (tlog.NodeHash)
//
// and the root of a tree of n entries is computed as in RFC 6962 §2.1.
//
// # Checkpoints
//
// A checkpoint is a signed note (sumdb/note) whose text is three lines,
//
//	<node name>/audit
//	<tree size, decimal>
//	<root hash, standard base64>
//
// the Go checksum database's tree format (tlog.FormatTree) with the node's
// own origin on the first line, signed by the node's key, whose name is
// the node name. docs/audit.md walks an auditor through checking it all.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// maxBatch bounds how many entries one durable write carries.
const maxBatch = 4096

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// Log is the node's audit log. Appends are serialised through one writer
// goroutine: it gives each entry the next position, so positions are dense
// and unique however many callers append at once, and it writes all the
// entries waiting for it in one durable transaction.
//
// One Log writes to a database at a time. The tree's state (its size and
// its right edge) is kept in memory and read from the database at Open.
type Log struct {
	db     *store.DB
	id     *seal.Identity
	origin string

	// Now is the clock, the store's by default. Set it before the first
	// Append.
	Now func() time.Time

	reqs      chan *request
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	wmu  sync.Mutex // held by the writer while it writes
	mu   sync.Mutex
	tree tree // what is durable; replaced only by the writer, under mu

	stale bool // the writer's: the last write failed, reload before the next
}

type request struct {
	ctx   context.Context
	entry Entry
	done  chan result
}

type result struct {
	entry Entry
	err   error
}

// Open loads the log's state from db and starts its writer. Checkpoints
// are signed by id, under the origin "<id name>/audit".
func Open(ctx context.Context, db *store.DB, id *seal.Identity) (*Log, error) {
	l := &Log{
		db:     db,
		id:     id,
		origin: Origin(id.Name()),
		Now:    db.Now,
		reqs:   make(chan *request, maxBatch),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	t, err := load(ctx, db)
	if err != nil {
		return nil, err
	}
	l.tree = t
	go l.run()
	return l, nil
}

// Origin returns the first line of the checkpoints of the node named name.
func Origin(name string) string { return name + "/audit" }

// load reads the tree's size and right edge.
func load(ctx context.Context, db *store.DB) (tree, error) {
	n, err := db.AuditSize(ctx)
	if err != nil {
		return tree{}, fmt.Errorf("audit: load: %w", err)
	}
	hs, err := db.AuditHashes(ctx, edgeIndexes(n))
	if err != nil {
		return tree{}, fmt.Errorf("audit: load the tree of %d entries (run audit verification): %w", n, err)
	}
	t := tree{size: n, edge: make([]tlog.Hash, len(hs))}
	for i, h := range hs {
		if len(h) != tlog.HashSize {
			return tree{}, fmt.Errorf("audit: load: stored hash of %d bytes (run audit verification)", len(h))
		}
		copy(t.edge[i][:], h)
	}
	return t, nil
}

// Close stops the writer once it has written what was queued. The store
// must still be open.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

// Origin returns the first line of the log's checkpoints.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the key auditors check the log's checkpoints with.
func (l *Log) VerifierKey() string { return l.id.VerifierKey() }

// Size returns the number of entries durably in the log.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.size
}

// head returns the size and root hash of the durable tree.
func (l *Log) head() (int64, tlog.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.size, l.tree.root()
}

// Append adds an entry to the log and returns it with its position and
// time, once it is durable. An invalid entry is refused before it gets a
// position. If ctx ends while the entry waits for a position, it gets none
// and Append returns ctx's error; if ctx ends while the entry is being
// written, Append returns ctx's error but the entry may be in the log.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	e.Details = cloneDetails(e.Details) // the caller may reuse its map
	r := &request{ctx: ctx, entry: e, done: make(chan result, 1)}
	select {
	case <-l.stop:
		return Entry{}, ErrClosed
	default:
	}
	select {
	case l.reqs <- r:
	case <-l.stop:
		return Entry{}, ErrClosed
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.entry, res.err
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	case <-l.done:
		select {
		case res := <-r.done:
			return res.entry, res.err
		default:
			return Entry{}, ErrClosed
		}
	}
}

func cloneDetails(d map[string]string) map[string]string {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

func (l *Log) run() {
	defer close(l.done)
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-l.reqs:
			l.write(l.fill(append(batch[:0], r)))
		case <-l.stop:
			// Write what was queued before the stop.
			for {
				batch = l.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				l.write(batch)
			}
		}
	}
}

// fill adds the requests already waiting to batch, up to maxBatch.
func (l *Log) fill(batch []*request) []*request {
	for len(batch) < maxBatch {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// write gives the batch's entries the next positions, writes them and
// their tree hashes in one durable transaction, and only then makes them
// part of the log's state. A failed write changes nothing in memory, so
// the next batch reuses the positions and the log keeps no gap.
func (l *Log) write(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- result{err: err} // never got a position
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	fail := func(err error) {
		for _, r := range live {
			r.done <- result{err: err}
		}
	}
	if l.stale {
		// A write failed; whether it reached the disk is not certain.
		t, err := load(context.Background(), l.db)
		if err != nil {
			fail(err)
			return
		}
		l.mu.Lock()
		l.tree = t
		l.mu.Unlock()
		l.stale = false
	}

	t := l.tree.clone()
	entries := make([]store.AuditEntry, len(live))
	hashes := make([]store.AuditHash, 0, 2*len(live)+64)
	var buf []tlog.Hash
	for i, r := range live {
		e := &r.entry
		e.Index = t.size
		e.At = l.Now().UTC().Truncate(time.Microsecond)
		data := e.appendEncoding(make([]byte, 0, 128))
		entries[i] = store.AuditEntry{Index: e.Index, Data: data, At: e.At}
		first := tlog.StoredHashIndex(0, t.size)
		buf = t.push(tlog.RecordHash(data), buf[:0])
		for j, h := range buf {
			hashes = append(hashes, store.AuditHash{Index: first + int64(j), Hash: h[:]})
		}
	}
	if err := l.db.AppendAudit(context.Background(), entries, hashes); err != nil {
		l.stale = true
		fail(fmt.Errorf("audit: append: %w", err))
		return
	}
	l.mu.Lock()
	l.tree = t
	l.mu.Unlock()
	for _, r := range live {
		r.done <- result{entry: r.entry}
	}
}

// Entry returns the entry at position index.
func (l *Log) Entry(ctx context.Context, index int64) (*Entry, error) {
	se, err := l.db.AuditEntry(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := Decode(se.Data)
	if err != nil {
		return nil, fmt.Errorf("audit: entry %d: %w", index, err)
	}
	return e, nil
}

// Entries returns up to limit entries from position from, in order.
func (l *Log) Entries(ctx context.Context, from int64, limit int) ([]Entry, error) {
	ses, err := l.db.AuditEntries(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ses))
	for i, se := range ses {
		e, err := Decode(se.Data)
		if err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w", se.Index, err)
		}
		out[i] = *e
	}
	return out, nil
}

// CheckpointEvery signs a checkpoint every interval while the log has
// grown since the last one, until ctx ends. Failures are logged and
// retried at the next tick.
func (l *Log) CheckpointEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last int64 = -1
	if c, err := l.db.LatestAuditCheckpoint(ctx); err == nil {
		last = c.Size
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if l.Size() == last {
			continue
		}
		c, err := l.Checkpoint(ctx)
		if err != nil {
			log.Error("audit: checkpoint", "err", err)
			continue
		}
		last = c.Size
	}
}

func invalid(format string, args ...any) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Err: fmt.Errorf("audit: "+format, args...)}
}
