package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
)

// The audit log's tables. The store keeps them without understanding them:
// what an entry says, how the tree is hashed and how checkpoints are
// signed belong to internal/audit. Rows are only ever inserted.

// AuditEntry is one audit log entry as stored: its position, its canonical
// encoding (opaque here), and its time, kept beside the encoding so
// entries can be found by time.
type AuditEntry struct {
	Index int64
	Data  []byte
	At    time.Time
}

// AuditHash is one hash of the audit log's Merkle tree at its stored-hash
// index (tlog.StoredHashIndex).
type AuditHash struct {
	Index int64
	Hash  []byte
}

// AuditCheckpoint is a signed tree head: the note the node signed for the
// tree of the first Size entries, whose root hash is Root.
type AuditCheckpoint struct {
	Size int64
	Root []byte
	Note string
	At   time.Time
}

// insertChunk bounds the rows of one multi-row INSERT, well under SQLite's
// limit of 32766 bound parameters and PostgreSQL's of 65535. SQLite, in
// process, gains little from long statements, and its driver binds
// parameters in time quadratic in their number: it gets short ones.
func (db *DB) insertChunk() int {
	if db.dialect == SQLite {
		return 64
	}
	return 1000
}

// AppendAudit writes entries and the tree hashes they add, in one
// transaction through the group committer, and returns once that is
// durable. The caller assigns the positions; one taken already is a
// conflict and nothing is written.
func (db *DB) AppendAudit(ctx context.Context, entries []AuditEntry, hashes []AuditHash) error {
	if len(entries) == 0 && len(hashes) == 0 {
		return nil
	}
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		err := db.insertRows(tx, "audit_entries (idx, data, at)", 3, len(entries), func(i int, args []any) []any {
			return append(args, entries[i].Index, entries[i].Data, micros(entries[i].At))
		})
		if err != nil {
			return auditWriteError("entries", entries[0].Index, err)
		}
		err = db.insertRows(tx, "audit_hashes (idx, hash)", 2, len(hashes), func(i int, args []any) []any {
			return append(args, hashes[i].Index, hashes[i].Hash)
		})
		if err != nil {
			return auditWriteError("hashes", hashes[0].Index, err)
		}
		return nil
	})
}

// insertRows inserts n rows of cols columns with multi-row INSERTs, the
// arguments of row i appended by row. The statement for a full chunk is
// prepared once.
func (db *DB) insertRows(tx *sql.Tx, into string, cols, n int, row func(i int, args []any) []any) error {
	chunk := db.insertChunk()
	var full *sql.Stmt
	if n >= 2*chunk {
		var err error
		if full, err = tx.Prepare(db.q(multiInsert(into, cols, chunk))); err != nil {
			return err
		}
		defer full.Close()
	}
	args := make([]any, 0, cols*min(n, chunk))
	for i := 0; i < n; {
		k := min(n-i, chunk)
		args = args[:0]
		for j := i; j < i+k; j++ {
			args = row(j, args)
		}
		var err error
		if k == chunk && full != nil {
			_, err = full.Exec(args...)
		} else {
			_, err = tx.Exec(db.q(multiInsert(into, cols, k)), args...)
		}
		if err != nil {
			return err
		}
		i += k
	}
	return nil
}

func auditWriteError(what string, from int64, err error) error {
	if auditConflict(err) {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.duplicate",
			Err: fmt.Errorf("store: audit %s from %d: position taken: %w", what, from, err)}
	}
	return fmt.Errorf("store: append audit %s from %d: %w", what, from, err)
}

// multiInsert returns "INSERT INTO <into> VALUES ($1, $2), ($3, $4)…" for
// rows rows of cols columns.
func multiInsert(into string, cols, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(into)
	b.WriteString(" VALUES ")
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(itoa(p))
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// AuditSize returns one past the highest stored entry position: the size
// of the log when no entry is missing.
func (db *DB) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM audit_entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: audit size: %w", err)
	}
	return n, nil
}

// AuditHashCount returns one past the highest stored tree hash position.
func (db *DB) AuditHashCount(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM audit_hashes`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: audit hash count: %w", err)
	}
	return n, nil
}

// AuditEntry returns the entry at position index.
func (db *DB) AuditEntry(ctx context.Context, index int64) (*AuditEntry, error) {
	e := AuditEntry{Index: index}
	var at int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT data, at FROM audit_entries WHERE idx = $1`), index).Scan(&e.Data, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.not_found",
			Err: fmt.Errorf("store: no audit entry %d", index)}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read audit entry %d: %w", index, err)
	}
	e.At = fromMicros(at)
	return &e, nil
}

// AuditEntries returns up to limit entries at positions from and above, in
// order. It reads what is there: a missing position is simply skipped,
// which is for the caller to notice.
func (db *DB) AuditEntries(ctx context.Context, from int64, limit int) ([]AuditEntry, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT idx, data, at FROM audit_entries
		WHERE idx >= $1 ORDER BY idx LIMIT $2`), from, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit entries from %d: %w", from, err)
	}
	defer rows.Close()
	out := make([]AuditEntry, 0, min(limit, 1<<14))
	var arena []byte // one allocation for many entries' data: verification reads them all
	for rows.Next() {
		var e AuditEntry
		var at int64
		var data sql.RawBytes
		if err := rows.Scan(&e.Index, &data, &at); err != nil {
			return nil, fmt.Errorf("store: read audit entries from %d: %w", from, err)
		}
		if len(arena)+len(data) > cap(arena) {
			arena = make([]byte, 0, max(1<<16, len(data)))
		}
		arena = append(arena, data...)
		e.Data = arena[len(arena)-len(data) : len(arena) : len(arena)]
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit entries from %d: %w", from, err)
	}
	return out, nil
}

// AuditHashRange returns the stored tree hashes at positions in [from, to),
// in order. Like AuditEntries it skips what is missing.
func (db *DB) AuditHashRange(ctx context.Context, from, to int64) ([]AuditHash, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT idx, hash FROM audit_hashes
		WHERE idx >= $1 AND idx < $2 ORDER BY idx`), from, to)
	if err != nil {
		return nil, fmt.Errorf("store: read audit hashes %d-%d: %w", from, to, err)
	}
	defer rows.Close()
	out := make([]AuditHash, 0, min(to-from, 1<<16))
	var arena []byte
	for rows.Next() {
		var h AuditHash
		var hash sql.RawBytes
		if err := rows.Scan(&h.Index, &hash); err != nil {
			return nil, fmt.Errorf("store: read audit hashes %d-%d: %w", from, to, err)
		}
		if len(arena)+len(hash) > cap(arena) {
			arena = make([]byte, 0, max(1<<16, len(hash)))
		}
		arena = append(arena, hash...)
		h.Hash = arena[len(arena)-len(hash) : len(arena) : len(arena)]
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit hashes %d-%d: %w", from, to, err)
	}
	return out, nil
}

// AuditHashes returns the stored tree hashes at the given positions, in
// the order asked. A missing one is a not-found error.
func (db *DB) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	found := make(map[int64][]byte, len(indexes))
	for rest := indexes; len(rest) > 0; {
		n := min(len(rest), db.insertChunk())
		var q strings.Builder
		q.WriteString(`SELECT idx, hash FROM audit_hashes WHERE idx IN (`)
		args := make([]any, n)
		for i, x := range rest[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("$" + itoa(i+1))
			args[i] = x
		}
		q.WriteString(")")
		rows, err := db.read.QueryContext(ctx, db.q(q.String()), args...)
		if err != nil {
			return nil, fmt.Errorf("store: read audit hashes: %w", err)
		}
		for rows.Next() {
			var i int64
			var h []byte
			if err := rows.Scan(&i, &h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read audit hashes: %w", err)
			}
			found[i] = h
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: read audit hashes: %w", err)
		}
		rest = rest[n:]
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.not_found",
				Err: fmt.Errorf("store: no audit hash %d", x)}
		}
		out[i] = h
	}
	return out, nil
}

// AddAuditCheckpoint stores a checkpoint durably. A checkpoint of the same
// size stored before is kept, and AddAuditCheckpoint returns that one.
func (db *DB) AddAuditCheckpoint(ctx context.Context, c *AuditCheckpoint) (*AuditCheckpoint, error) {
	err := db.commit.do(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(db.q(`INSERT INTO audit_checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (size) DO NOTHING`), c.Size, c.Root, c.Note, micros(c.At)); err != nil {
			return fmt.Errorf("store: add audit checkpoint %d: %w", c.Size, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.AuditCheckpoint(ctx, c.Size)
}

// AuditCheckpoint returns the checkpoint of the given tree size.
func (db *DB) AuditCheckpoint(ctx context.Context, size int64) (*AuditCheckpoint, error) {
	return db.scanCheckpoint(db.read.QueryRowContext(ctx, db.q(`SELECT size, root, note, at
		FROM audit_checkpoints WHERE size = $1`), size))
}

// LatestAuditCheckpoint returns the checkpoint of the largest tree, or a
// not-found error when there is none.
func (db *DB) LatestAuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error) {
	return db.scanCheckpoint(db.read.QueryRowContext(ctx, `SELECT size, root, note, at
		FROM audit_checkpoints ORDER BY size DESC LIMIT 1`))
}

func (db *DB) scanCheckpoint(row *sql.Row) (*AuditCheckpoint, error) {
	var c AuditCheckpoint
	var at int64
	err := row.Scan(&c.Size, &c.Root, &c.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.not_found",
			Err: errors.New("store: no such audit checkpoint")}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read audit checkpoint: %w", err)
	}
	c.At = fromMicros(at)
	return &c, nil
}

// AuditCheckpoints returns up to limit checkpoints of size from and above,
// smallest first.
func (db *DB) AuditCheckpoints(ctx context.Context, from int64, limit int) ([]AuditCheckpoint, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT size, root, note, at FROM audit_checkpoints
		WHERE size >= $1 ORDER BY size LIMIT $2`), from, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []AuditCheckpoint
	for rows.Next() {
		var c AuditCheckpoint
		var at int64
		if err := rows.Scan(&c.Size, &c.Root, &c.Note, &at); err != nil {
			return nil, fmt.Errorf("store: read audit checkpoints: %w", err)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit checkpoints: %w", err)
	}
	return out, nil
}

func auditConflict(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}
