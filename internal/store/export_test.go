package store

import "context"

// CountRows runs a count(*) query for the tests of package store_test,
// which may look under the store's interface to check what is kept.
func (db *DB) CountRows(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.q(query), args...).Scan(&n)
	return n, err
}
