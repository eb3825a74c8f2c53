// Package storetest opens real databases for tests: a fresh SQLite file,
// and a fresh schema in the PostgreSQL test database. Every package whose
// tests touch storage runs them on both through Each.
//
// PostgreSQL is found at $CANOPY_TEST_POSTGRES, by default
// postgres://postgres@127.0.0.1:5432/test. When it cannot be reached the
// PostgreSQL half of a test is skipped, except under CI (CI=true), where
// that is a failure: the store must pass on both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/store"
)

// PostgresURL is the base URL of the PostgreSQL test database.
func PostgresURL() string {
	if u := os.Getenv("CANOPY_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

// NewDSN returns a DSN for an empty database of the given dialect that lives
// as long as the test: a SQLite file in the test's temporary directory, or
// a new PostgreSQL schema that is dropped at cleanup.
func NewDSN(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case store.SQLite:
		return filepath.Join(tb.TempDir(), "canopy.db")
	case store.Postgres:
		pgOnce.Do(func() {
			db, err := sql.Open("pgx", PostgresURL())
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = db.PingContext(ctx)
				cancel()
				db.Close()
			}
			pgErr = err
		})
		if pgErr != nil {
			if os.Getenv("CI") != "" {
				tb.Fatalf("PostgreSQL at %s is required under CI: %v", PostgresURL(), pgErr)
			}
			tb.Skipf("PostgreSQL at %s is not reachable (%v); set CANOPY_TEST_POSTGRES", PostgresURL(), pgErr)
		}
		var b [6]byte
		rand.Read(b[:])
		schema := "t_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			admin.Close()
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			admin.Close()
		})
		u, err := url.Parse(PostgresURL())
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

// Open returns a migrated, empty database of the given dialect, closed at
// the end of the test.
func Open(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), NewDSN(tb, dialect))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// Dialects are the databases every store test runs on.
var Dialects = []string{store.SQLite, store.Postgres}

// Each runs fn as a subtest once per dialect, each with its own fresh
// database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}
