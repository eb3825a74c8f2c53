// Package audittest opens a real audit log for the tests of the packages
// that write to one: a fresh node identity in the test's temporary
// directory, on the test's database, closed at cleanup.
package audittest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Open returns an audit log on db, signed by a new identity.
func Open(tb testing.TB, db *store.DB) *audit.Log {
	tb.Helper()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(tb.TempDir(), "node.key"), "test")
	if err != nil {
		tb.Fatal(err)
	}
	log, err := audit.Open(context.Background(), db, id)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { log.Close() })
	return log
}
