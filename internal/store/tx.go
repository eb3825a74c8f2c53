package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync/atomic"
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
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error { return fn(&Tx{db: db, tx: tx}) })
}

var savepoints atomic.Int64

// Savepoint runs fn so that, if it fails, what it wrote is undone and the
// rest of the transaction stands. It returns fn's error.
func (t *Tx) Savepoint(fn func() error) error {
	name := "sp" + strconv.FormatInt(savepoints.Add(1), 10)
	if _, err := t.tx.Exec("SAVEPOINT " + name); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := t.tx.Exec("ROLLBACK TO SAVEPOINT " + name); rerr != nil {
			return fmt.Errorf("store: roll back to savepoint: %w (after %w)", rerr, err)
		}
		t.tx.Exec("RELEASE SAVEPOINT " + name)
		return err
	}
	if _, err := t.tx.Exec("RELEASE SAVEPOINT " + name); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}
