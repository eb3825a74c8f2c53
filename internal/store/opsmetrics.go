package store

import (
	"context"
	"fmt"
	"time"

	"github.com/canopy-org/canopy"
)

// Counts for the operators' metrics (internal/opsmetrics), read at every
// scrape. Each is one query that reads codes, counts and times, never a
// report's content or a peer's message; each stays on an index or on
// rows that are waiting, so a scrape costs little however long the node
// has run.

// OpenReportsByStage returns how many open reports are at each open
// triage stage (new, claimed, reopened). A stage with none is 0.
func (db *DB) OpenReportsByStage(ctx context.Context) (map[string]int, error) {
	out := map[string]int{canopy.StageNew: 0, canopy.StageClaimed: 0, canopy.StageReopened: 0}
	// The same condition as report_state_queue's, so the partial index
	// serves it.
	rows, err := db.read.QueryContext(ctx, `SELECT stage, count(*) FROM report_state
		WHERE stage IN ('new', 'claimed', 'reopened') GROUP BY stage`)
	if err != nil {
		return nil, fmt.Errorf("store: count open reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stage string
		var n int
		if err := rows.Scan(&stage, &n); err != nil {
			return nil, fmt.Errorf("store: count open reports: %w", err)
		}
		out[stage] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count open reports: %w", err)
	}
	return out, nil
}

// OutboxBacklog is what waits in the outbox for one peer.
type OutboxBacklog struct {
	PeerID  string
	Pending int
	// Oldest is when the oldest waiting message was enqueued; zero when
	// none waits.
	Oldest time.Time
}

// OutboxBacklogs returns, for every peer not removed, by id, how many
// messages wait and since when. Removed peers are left out: messages to
// them stay undelivered for good, by design. Unlike OutboxStats it reads
// only waiting messages, through the outbox_pending index, not the
// delivered record.
func (db *DB) OutboxBacklogs(ctx context.Context) ([]OutboxBacklog, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT p.id, count(o.seq), coalesce(min(o.created_at), 0)
		FROM peers p LEFT JOIN outbox o ON o.peer_id = p.id AND o.delivered_at = 0
		WHERE p.state <> $1 GROUP BY p.id ORDER BY p.id`), canopy.PeerRemoved)
	if err != nil {
		return nil, fmt.Errorf("store: outbox backlog: %w", err)
	}
	defer rows.Close()
	var out []OutboxBacklog
	for rows.Next() {
		var b OutboxBacklog
		var oldest int64
		if err := rows.Scan(&b.PeerID, &b.Pending, &oldest); err != nil {
			return nil, fmt.Errorf("store: outbox backlog: %w", err)
		}
		b.Oldest = timeOrZero(oldest)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox backlog: %w", err)
	}
	return out, nil
}

// NoticeBacklog returns how many notices have a delivery or reminder due
// by at, and how many failed for good and wait for staff.
func (db *DB) NoticeBacklog(ctx context.Context, at time.Time) (due, failed int, err error) {
	// One pass over notices. Failed notices have no index of their own;
	// the table grows by a few notices a report, which a scrape reads
	// in milliseconds.
	err = db.read.QueryRowContext(ctx, db.q(`SELECT
		coalesce(sum(CASE WHEN next_at <> 0 AND next_at <= $1 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN status = $2 THEN 1 ELSE 0 END), 0)
		FROM notices`), micros(at), canopy.NoticeFailed).Scan(&due, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("store: notice backlog: %w", err)
	}
	return due, failed, nil
}
