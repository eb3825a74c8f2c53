// Package store keeps a Canopy node's records in SQL, on SQLite (the
// embedded default) or PostgreSQL. It is the only package that knows SQL.
// Both dialects run the same Go code and the same tests; where their SQL
// differs, the migrations have a folder each.
//
// Writes that must be durable before the caller answers (a report and its
// receipt, a message) go through a group committer: concurrent writes share
// one transaction and one fsync, which is what lets a small node accept
// thousands of reports a second without ever answering before the data is
// on disk.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// pgCommitters is how many transactions Update keeps in flight on
// PostgreSQL.
const pgCommitters = 4

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is a connection to the node's database.
type DB struct {
	read    *sql.DB // queries; many connections
	write   *sql.DB // writes; one connection on SQLite, where only one writer can run
	dialect string
	// commit is the serial committer: one transaction at a time, so what
	// it writes becomes visible in the order it was numbered. Writes whose
	// sequence numbers consumers page through (bank changes, the audit
	// log) go through it.
	commit *committer
	// pool are the committers Update spreads other writes over. On SQLite
	// it is just commit, since SQLite has one writer; on PostgreSQL,
	// several transactions in flight hide the round trips each spends
	// waiting for the server.
	pool  []*committer
	next  atomic.Uint64
	stmts sync.Map // query → *sql.Stmt on the write pool
	// unprepared holds queries wstmt has met but not yet prepared.
	unprepared sync.Map

	// Now is the clock. Tests replace it; nothing in the store calls
	// time.Now directly.
	Now func() time.Time
}

// Open connects to the database named by dsn: a postgres:// or
// postgresql:// URL for PostgreSQL, anything else is a SQLite file path.
// It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{Now: time.Now}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db.dialect = Postgres
		db.read, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		// Reads and the committers share one pool; each committer
		// holds a connection for its transaction, so they get their own
		// on top of the readers'.
		conns := 4*runtime.GOMAXPROCS(0) + pgCommitters
		db.read.SetMaxOpenConns(conns)
		db.read.SetMaxIdleConns(conns)
		db.write = db.read
	} else {
		db.dialect = SQLite
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
		// busy_timeout first, so the other pragmas wait rather than fail;
		// WAL lets readers run beside the writer; synchronous=FULL makes a
		// commit durable across power loss, not just a process crash;
		// secure_delete overwrites deleted content, such as destroyed keys.
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
			"&_pragma=synchronous(FULL)&_pragma=secure_delete(1)&_pragma=cache_size(-65536)"
		u := "file:" + (&url.URL{Path: dsn}).EscapedPath() + "?" + pragmas
		db.write, err = sql.Open("sqlite", u+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		db.write.SetConnMaxIdleTime(0)
		db.read, err = sql.Open("sqlite", u+"&_pragma=query_only(1)")
		if err != nil {
			db.write.Close()
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		db.read.SetMaxOpenConns(n)
		db.read.SetMaxIdleConns(n)
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.dialect, err)
	}
	db.commit = newCommitter(db)
	db.pool = []*committer{db.commit}
	if db.dialect == Postgres {
		for range pgCommitters - 1 {
			db.pool = append(db.pool, newCommitter(db))
		}
	}
	return db, nil
}

// Dialect returns SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

// Close stops the group committer after it has written what it holds, then
// closes the connections.
func (db *DB) Close() error {
	for _, c := range db.pool {
		c.close()
	}
	return db.close()
}

func (db *DB) close() error {
	var errs []error
	db.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if db.write != nil && db.write != db.read {
		if db.dialect == SQLite {
			// Fold the WAL back into the main file so a cleanly stopped
			// node leaves one file behind.
			db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
		errs = append(errs, db.write.Close())
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// q rewrites a query written with PostgreSQL's $N placeholders for the
// dialect in use. SQLite takes ?N, which binds by number just the same.
func (db *DB) q(query string) string {
	if db.dialect != SQLite {
		return query
	}
	return strings.ReplaceAll(query, "$", "?")
}

// wstmt returns query, rewritten for the dialect, as a statement bound to
// tx. Hot writes use it so that SQL is parsed once per process rather than
// once per row. A query seen for the first time is prepared on the
// transaction itself and queued; the committer prepares it on the pool
// between transactions, when the single SQLite writer connection is free.
func (db *DB) wstmt(tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return tx.Stmt(st.(*sql.Stmt)), nil
	}
	db.unprepared.Store(query, true)
	st, err := tx.Prepare(db.q(query))
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return st, nil
}

// prepareQueued prepares the statements wstmt has queued. Only the
// committer calls it, outside any transaction.
func (db *DB) prepareQueued() {
	db.unprepared.Range(func(q, _ any) bool {
		query := q.(string)
		db.unprepared.Delete(query)
		if _, ok := db.stmts.Load(query); ok {
			return true
		}
		if st, err := db.write.Prepare(db.q(query)); err == nil {
			db.stmts.Store(query, st)
		}
		return true
	})
}

// exec runs a write statement through wstmt.
func (db *DB) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := db.wstmt(tx, query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func itoa(n int) string { return strconv.Itoa(n) }
