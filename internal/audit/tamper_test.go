package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// raw is a tamperer with direct access to the database, behind the store's
// back: what an insider with the database password could do.
type raw struct {
	t       *testing.T
	db      *sql.DB
	dialect string
}

func openRaw(t *testing.T, n *node) *raw {
	driver, dsn := "pgx", n.dsn
	if n.db.Dialect() == store.SQLite {
		driver, dsn = "sqlite", "file:"+(&url.URL{Path: n.dsn}).EscapedPath()+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &raw{t: t, db: db, dialect: n.db.Dialect()}
}

func (r *raw) exec(query string, args ...any) {
	r.t.Helper()
	if r.dialect == store.SQLite {
		query = strings.ReplaceAll(query, "$", "?")
	}
	if _, err := r.db.Exec(query, args...); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
}

func (r *raw) entry(i int64) *audit.Entry {
	r.t.Helper()
	var data []byte
	q := `SELECT data FROM audit_entries WHERE idx = $1`
	if r.dialect == store.SQLite {
		q = strings.ReplaceAll(q, "$", "?")
	}
	if err := r.db.QueryRow(q, i).Scan(&data); err != nil {
		r.t.Fatal(err)
	}
	e, err := audit.Decode(data)
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// put stores e, encoded, at position idx (which need not be e.Index).
func (r *raw) put(idx int64, e *audit.Entry) {
	r.t.Helper()
	data, err := e.Encode()
	if err != nil {
		r.t.Fatal(err)
	}
	r.exec(`DELETE FROM audit_entries WHERE idx = $1`, idx)
	r.exec(`INSERT INTO audit_entries (idx, data, at) VALUES ($1, $2, $3)`, idx, data, e.At.UnixMicro())
}

// rehash rewrites the whole hash table to match the entries as they now
// are: a tamperer who knows how the tree is built.
func (r *raw) rehash() {
	r.t.Helper()
	rows, err := r.db.Query(`SELECT data FROM audit_entries ORDER BY idx`)
	if err != nil {
		r.t.Fatal(err)
	}
	stored := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var n int64
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			r.t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(n, data, reader)
		if err != nil {
			r.t.Fatal(err)
		}
		for i, h := range hs {
			stored[tlog.StoredHashIndex(0, n)+int64(i)] = h
		}
		n++
	}
	rows.Close()
	r.exec(`DELETE FROM audit_hashes`)
	for i, h := range stored {
		r.exec(`INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)`, i, h[:])
	}
}

// shift moves the entries at from and after one place up, leaving from
// free, without changing what they say.
func (r *raw) shift(from int64) {
	r.exec(`UPDATE audit_entries SET idx = -idx - 1000 WHERE idx >= $1`, from)
	r.exec(`UPDATE audit_entries SET idx = -idx - 1000 + 1 WHERE idx < 0`)
}

// Every way of altering the stored log that verification must catch. The
// log has 23 entries, signed at 12 and at 20. want is the first bad
// position Verify reports from the database alone, wantLog the one the
// running Log reports; -1 where the change cannot be told apart from a
// genuine log (entries past the last checkpoint, rewritten with their
// hashes: what the next checkpoint, or an auditor's copy, will catch).
func TestTampering(t *testing.T) {
	cases := []struct {
		name          string
		tamper        func(r *raw)
		want, wantLog int64
	}{
		{"change an entry", func(r *raw) {
			e := r.entry(5)
			e.Actor = audit.Staff("someone_else")
			r.put(5, e)
		}, 5, 5},
		{"change an entry and its hashes", func(r *raw) {
			e := r.entry(15)
			e.Details["n"] = "x"
			r.put(15, e)
			r.rehash()
		}, 12, 12},
		{"change an unsigned entry and its hashes", func(r *raw) {
			e := r.entry(21)
			e.Details["n"] = "x"
			r.put(21, e)
			r.rehash()
		}, -1, 20},
		{"change the time column", func(r *raw) {
			r.exec(`UPDATE audit_entries SET at = at + 1 WHERE idx = 7`)
		}, 7, 7},
		{"delete an entry", func(r *raw) {
			r.exec(`DELETE FROM audit_entries WHERE idx = 5`)
		}, 5, 5},
		{"delete signed entries at the end", func(r *raw) {
			r.exec(`DELETE FROM audit_entries WHERE idx >= 18`)
		}, 18, 18},
		{"delete the last, unsigned entry", func(r *raw) {
			r.exec(`DELETE FROM audit_entries WHERE idx = 22`)
			r.exec(`DELETE FROM audit_hashes WHERE idx >= $1`, tlog.StoredHashIndex(0, 22))
		}, -1, 22},
		{"swap two entries", func(r *raw) {
			a, b := r.entry(3), r.entry(4)
			r.put(3, b)
			r.put(4, a)
		}, 3, 3},
		{"swap two entries, renumbered and rehashed", func(r *raw) {
			a, b := r.entry(3), r.entry(4)
			a.Index, b.Index = 4, 3
			r.put(3, b)
			r.put(4, a)
			r.rehash()
		}, 0, 0},
		{"insert an entry", func(r *raw) {
			e := r.entry(5)
			r.shift(5)
			e.ID = "r_inserted"
			r.put(5, e)
		}, 5, 5},
		{"insert an entry, renumber and rehash", func(r *raw) {
			for i := int64(22); i >= 5; i-- {
				e := r.entry(i)
				e.Index = i + 1
				r.put(i+1, e)
			}
			e := r.entry(5)
			e.Index, e.ID = 5, "r_inserted"
			r.put(5, e)
			r.rehash()
		}, 0, 0},
		{"insert an entry at the end", func(r *raw) {
			e := r.entry(22)
			e.Index = 23
			r.put(23, e)
		}, 23, 23},
		{"insert an entry at the end, hashed", func(r *raw) {
			e := r.entry(22)
			e.Index = 23
			r.put(23, e)
			r.rehash()
		}, -1, 23},
		{"change a tree hash", func(r *raw) {
			r.exec(`UPDATE audit_hashes SET hash = $1 WHERE idx = $2`, make([]byte, 32), tlog.StoredHashIndex(1, 0))
		}, 1, 1},
		{"forge a checkpoint", func(r *raw) {
			r.exec(`UPDATE audit_checkpoints SET note = replace(note, '20', '21') WHERE size = 20`)
		}, 12, 12},
		{"drop a checkpoint to hide a change", func(r *raw) {
			r.exec(`DELETE FROM audit_checkpoints WHERE size = 20`)
			e := r.entry(15)
			e.Details["n"] = "x"
			r.put(15, e)
			r.rehash()
		}, -1, 12},
	}
	for _, c := range cases {
		for _, d := range storetest.Dialects {
			t.Run(d+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				n := newNode(t, d)
				appendN(t, n.log, 0, 12)
				if _, err := n.log.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				appendN(t, n.log, 12, 8)
				if _, err := n.log.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				appendN(t, n.log, 20, 3)
				if _, err := n.log.Verify(ctx); err != nil {
					t.Fatalf("before tampering: %v", err)
				}

				c.tamper(openRaw(t, n))

				_, err := audit.Verify(ctx, n.db, n.id.Verifier())
				checkTamper(t, "Verify", err, c.want)
				_, err = n.log.Verify(ctx)
				checkTamper(t, "Log.Verify", err, c.wantLog)
			})
		}
	}
}

func checkTamper(t *testing.T, what string, err error, want int64) {
	t.Helper()
	var te *audit.TamperError
	switch {
	case want < 0 && err != nil:
		t.Errorf("%s: %v, want a pass", what, err)
	case want >= 0 && !errors.As(err, &te):
		t.Errorf("%s: err = %v, want tampering at %d", what, err, want)
	case want >= 0 && te.Index != want:
		t.Errorf("%s: %v; want tampering at %d", what, err, want)
	default:
		t.Logf("%s: %v", what, err)
	}
}

// Verify reads entries a chunk at a time; a log longer than a chunk
// verifies, and a change past the first chunk is found where it is.
func TestVerifyAcrossChunks(t *testing.T) {
	each(t, func(t *testing.T, n *node) {
		ctx := context.Background()
		entries := make([]audit.Entry, 10000)
		for i := range entries {
			entries[i] = entry(i)
		}
		if err := audit.AppendBulk(ctx, n.log, entries); err != nil {
			t.Fatal(err)
		}
		if _, err := n.log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := n.log.Verify(ctx)
		if err != nil || rep.Size != 10000 || rep.Checkpoints != 1 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
		r := openRaw(t, n)
		e := r.entry(9001)
		e.Details = map[string]string{"n": fmt.Sprint(1)}
		r.put(9001, e)
		_, err = audit.Verify(ctx, n.db, n.id.Verifier())
		checkTamper(t, "Verify", err, 9001)
	})
}
