package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// Checkpoint is a signed tree head: the node's signed statement that its
// log's first Size entries have the Merkle root Root.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte // the signed note, as the node publishes it

	// At is when the node made the checkpoint, by its own clock. It is
	// not signed: an auditor relies on the times inside the entries.
	At time.Time
}

// formatCheckpoint returns the text the node signs.
func formatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, root)
}

// Checkpoint signs, stores and returns a checkpoint of the log as it is
// durably now. Twice at the same size returns the same checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	size, root := l.head()
	signed, err := note.Sign(&note.Note{Text: formatCheckpoint(l.origin, size, root)}, l.id.Signer())
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	sc, err := l.db.AddAuditCheckpoint(ctx, &store.AuditCheckpoint{
		Size: size, Root: root[:], Note: string(signed), At: l.Now(),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	c, err := l.stored(sc)
	if err != nil {
		return nil, err
	}
	if c.Root != root {
		return nil, &TamperError{Index: size, Reason: "a stored checkpoint of the same size has another root"}
	}
	return c, nil
}

// LatestCheckpoint returns the checkpoint of the largest tree the node has
// signed, or a not-found error before the first.
func (l *Log) LatestCheckpoint(ctx context.Context) (*Checkpoint, error) {
	sc, err := l.db.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	return l.stored(sc)
}

// stored opens a checkpoint read from the store, trusting nothing in it
// but what the signature covers.
func (l *Log) stored(sc *store.AuditCheckpoint) (*Checkpoint, error) {
	c, err := openCheckpoint([]byte(sc.Note), l.id.Verifier())
	if err != nil {
		return nil, fmt.Errorf("audit: stored checkpoint of size %d: %w", sc.Size, err)
	}
	c.At = sc.At
	return c, nil
}

// OpenCheckpoint checks a signed checkpoint against the node's verifier key
// (note's "name+hash+key" form) and returns what it says. It is what an
// auditor runs first: nothing else in a checkpoint is to be trusted.
func OpenCheckpoint(signed []byte, verifierKey string) (*Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	return openCheckpoint(signed, v)
}

func openCheckpoint(signed []byte, v note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] != Origin(v.Name()) {
		return nil, errors.New("audit: checkpoint: not a tree head of this node's audit log")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		return nil, errors.New("audit: checkpoint: malformed size")
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return nil, errors.New("audit: checkpoint: malformed root hash")
	}
	c := &Checkpoint{Origin: lines[0], Size: size, Note: bytes.Clone(signed)}
	copy(c.Root[:], root)
	return c, nil
}

// InclusionProof returns the proof that the entry at index is in the tree
// of the first size entries. size is usually that of a checkpoint the
// auditor holds.
func (l *Log) InclusionProof(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	if n := l.Size(); index < 0 || index >= size || size > n {
		return nil, invalid("no entry %d in a tree of %d of %d entries", index, size, n)
	}
	p, err := tlog.ProveRecord(size, index, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: prove entry %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of the first newSize
// entries extends the tree of the first oldSize.
func (l *Log) ConsistencyProof(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
	if n := l.Size(); oldSize < 1 || oldSize > newSize || newSize > n {
		return nil, invalid("no consistency proof from %d to %d in %d entries", oldSize, newSize, n)
	}
	p, err := tlog.ProveTree(newSize, oldSize, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: prove %d consistent with %d: %w", newSize, oldSize, err)
	}
	return p, nil
}

func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		bs, err := l.db.AuditHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(bs))
		for i, b := range bs {
			if len(b) != tlog.HashSize {
				return nil, &canopy.Error{Code: canopy.EINTERNAL, Key: "error.internal",
					Err: fmt.Errorf("audit: stored hash %d is %d bytes", indexes[i], len(b))}
			}
			copy(out[i][:], b)
		}
		return out, nil
	})
}

// VerifyInclusion checks, with nothing but an opened checkpoint, that data
// is the encoding of the entry at index in the checkpoint's tree.
func VerifyInclusion(c *Checkpoint, index int64, data []byte, proof tlog.RecordProof) error {
	if index < 0 || index >= c.Size {
		return fmt.Errorf("audit: entry %d is not in a tree of %d", index, c.Size)
	}
	e, err := Decode(data)
	if err != nil {
		return err
	}
	if e.Index != index {
		return fmt.Errorf("audit: the entry says it is at %d, not %d", e.Index, index)
	}
	if err := tlog.CheckRecord(proof, c.Size, c.Root, index, tlog.RecordHash(data)); err != nil {
		return fmt.Errorf("audit: entry %d is not in the tree of %d: %w", index, c.Size, err)
	}
	return nil
}

// VerifyConsistency checks, with nothing but two opened checkpoints of the
// same log, that the newer tree extends the older one: every entry the
// older one vouched for is still there, unchanged and in place.
func VerifyConsistency(older, newer *Checkpoint, proof tlog.TreeProof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("audit: checkpoints of two logs, %q and %q", older.Origin, newer.Origin)
	}
	if older.Size > newer.Size {
		return fmt.Errorf("audit: checkpoint of %d is not older than one of %d", older.Size, newer.Size)
	}
	if older.Size == 0 {
		return nil // every tree extends the empty one
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("audit: tree of %d does not extend the tree of %d: %w", newer.Size, older.Size, err)
	}
	return nil
}
