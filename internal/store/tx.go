package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Tx is a group-committed transaction: the writes a caller makes through
// it become durable together, or not at all. Services use it when one
// action spans several records, such as a referral's event, its record and
// the message to the peer.
type Tx struct {
	db *DB
	tx *sql.Tx
}

// Update runs fn in a transaction shared with other concurrent writes and
// returns once the outcome is durable. fn may run more than once (if the
// shared transaction fails, each write is retried alone), so it must not
// have effects outside tx.
//
// On PostgreSQL, Updates run on several connections at once, so two
// Updates may commit in either order: what must be ordered is ordered by
// row locks (a report's state, a thread's counter), not by the committer.
// A write that numbers something consumers page through in order, such as
// bank changes, uses UpdateSerial.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	c := db.pool[db.next.Add(1)%uint64(len(db.pool))]
	return c.do(ctx, func(tx *sql.Tx) error { return fn(&Tx{db: db, tx: tx}) })
}

// UpdateSerial is Update on the serial committer: transactions commit one
// after another, so sequence numbers become visible in order.
func (db *DB) UpdateSerial(ctx context.Context, fn func(*Tx) error) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error { return fn(&Tx{db: db, tx: tx}) })
}

// Savepoint runs fn so that, if it fails, what it wrote is undone and the
// rest of the transaction stands. It returns fn's error. Savepoints do not
// nest: fn must not call Savepoint.
func (t *Tx) Savepoint(fn func() error) error {
	// One name for every savepoint lets the statements be prepared once;
	// savepoints are released before the next begins.
	if _, err := t.db.exec(t.tx, "SAVEPOINT canopy_item"); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := t.db.exec(t.tx, "ROLLBACK TO SAVEPOINT canopy_item"); rerr != nil {
			return fmt.Errorf("store: roll back to savepoint: %w (after %w)", rerr, err)
		}
		t.db.exec(t.tx, "RELEASE SAVEPOINT canopy_item")
		return err
	}
	if _, err := t.db.exec(t.tx, "RELEASE SAVEPOINT canopy_item"); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

// errRow is a row that failed before it was read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow runs a one-row query inside the transaction through a prepared
// statement.
func (t *Tx) queryRow(query string, args ...any) interface{ Scan(...any) error } {
	st, err := t.db.wstmt(t.tx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRow(args...)
}
