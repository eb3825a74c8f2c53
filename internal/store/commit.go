package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/canopy-org/canopy"
)

// maxBatch bounds how many writes share one transaction, so a burst cannot
// make one commit, and so every caller in it, wait too long.
const maxBatch = 256

// errClosed is returned to writes submitted after Close: the node is
// stopping, and the caller should say so rather than report a fault.
var errClosed = &canopy.Error{Code: canopy.EUNAVAILABLE, Key: "error.unavailable", Err: errors.New("store: closed")}

// A write is one unit of work for the group committer: fn runs inside a
// transaction shared with other writes, and done receives its outcome only
// once that transaction is committed (or has failed).
type write struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

// committer is the group-commit writer. Writes queue up while a commit is
// in flight; the next transaction takes everything queued. One fsync then
// serves the whole batch. If a batch fails, its writes are retried one by
// one, so one bad write never takes the others down with it.
type committer struct {
	db      *DB
	queue   chan *write
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

func newCommitter(db *DB) *committer {
	c := &committer{db: db, queue: make(chan *write, 4*maxBatch), stop: make(chan struct{})}
	c.stopped.Add(1)
	go c.run()
	return c
}

// do runs fn in a group-committed transaction and returns once its outcome
// is durable. If ctx ends first, do returns ctx's error; the write may still
// be committed, which is why callers make their writes idempotent or answer
// only on success.
func (c *committer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-c.stop:
		return errClosed
	default:
	}
	select {
	case c.queue <- w:
	case <-c.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *committer) run() {
	defer c.stopped.Done()
	batch := make([]*write, 0, maxBatch)
	for {
		var first *write
		select {
		case first = <-c.queue:
		case <-c.stop:
			// Finish what was queued before the stop.
			for {
				select {
				case w := <-c.queue:
					c.commit([]*write{w})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case w := <-c.queue:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

func (c *committer) commit(batch []*write) {
	// Drop writes whose callers have gone: nobody will be told they
	// succeeded, so they must not be half-promised.
	live := batch[:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	err := c.tx(live)
	if err == nil {
		for _, w := range live {
			w.done <- nil
		}
		return
	}
	if len(live) == 1 {
		live[0].done <- err
		return
	}
	for _, w := range live {
		w.done <- c.tx([]*write{w})
	}
}

func (c *committer) tx(ws []*write) error {
	c.db.prepareQueued()
	tx, err := c.db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	for _, w := range ws {
		if err := w.fn(tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.stopped.Wait()
}
