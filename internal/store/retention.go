package store

import (
	"context"
	"fmt"
	"time"
)

// Retention (migration 0015).

// Policy is how long a kind of record is kept after it is done with.
type Policy struct {
	Kind      string
	KeepDays  int
	Updated   time.Time
	UpdatedBy string
}

// PutPolicy sets a kind's retention.
func (db *DB) PutPolicy(ctx context.Context, p *Policy) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO retention_policies (kind, keep_days, updated_at, updated_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind) DO UPDATE SET keep_days = excluded.keep_days, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			p.Kind, p.KeepDays, micros(p.Updated), p.UpdatedBy)
		if err != nil {
			return fmt.Errorf("store: put retention of %s: %w", p.Kind, err)
		}
		return nil
	})
}

// Policies returns every retention policy set, by kind.
func (db *DB) Policies(ctx context.Context) (map[string]Policy, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT kind, keep_days, updated_at, updated_by FROM retention_policies`)
	if err != nil {
		return nil, fmt.Errorf("store: retention policies: %w", err)
	}
	defer rows.Close()
	out := map[string]Policy{}
	for rows.Next() {
		var (
			p       Policy
			updated int64
		)
		if err := rows.Scan(&p.Kind, &p.KeepDays, &updated, &p.UpdatedBy); err != nil {
			return nil, fmt.Errorf("store: retention policies: %w", err)
		}
		p.Updated = fromMicros(updated)
		out[p.Kind] = p
	}
	return out, rows.Err()
}

// ExpiredNotIllegal returns reports decided with no further action before
// cutoff whose content can still be read, and that no investigation (not
// yet purged itself) and no support case under a legal hold keeps: at
// most limit of them.
func (db *DB) ExpiredNotIllegal(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT s.report_id FROM report_state s
		WHERE s.stage = 'decided' AND s.outcome = 'no_further_action' AND s.decided_at <> 0 AND s.decided_at < $1
		AND EXISTS (SELECT 1 FROM report_keys k WHERE k.report_id = s.report_id)
		AND NOT EXISTS (SELECT 1 FROM investigation_reports i JOIN investigations v ON v.id = i.investigation_id AND v.purged_at = 0
			WHERE i.report_id = s.report_id)
		AND NOT EXISTS (SELECT 1 FROM case_reports c JOIN case_holds h ON h.case_id = c.case_id AND h.lifted_at = 0
			WHERE c.report_id = s.report_id)
		ORDER BY s.decided_at, s.report_id LIMIT $2`), micros(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired reports: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: expired reports: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ExpiredCases returns support cases closed before cutoff, not deleted
// and under no standing legal hold: at most limit of them.
func (db *DB) ExpiredCases(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT c.id FROM cases c
		WHERE c.closed_at <> 0 AND c.closed_at < $1 AND c.deleted_at = 0
		AND NOT EXISTS (SELECT 1 FROM case_holds h WHERE h.case_id = c.id AND h.lifted_at = 0)
		ORDER BY c.closed_at, c.id LIMIT $2`), micros(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired cases: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: expired cases: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Checkpoint folds SQLite's write-ahead log back into the database file
// and empties it, so that pages holding destroyed keys, which
// secure_delete overwrote in the file, do not live on in the log. On
// PostgreSQL it does nothing: deleted rows stay in the table's files
// until a vacuum reuses their space (the keys in them are wrapped by the
// master key, which the database never holds).
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	// A reader's snapshot can hold the log back: SQLite answers busy
	// then, with no error. Try again a few times, then say so.
	for try := 0; ; try++ {
		var busy, pages, moved int
		if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &pages, &moved); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if try == 20 {
			return fmt.Errorf("store: checkpoint: readers kept the log busy; %d of %d pages folded in", moved, pages)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: checkpoint: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
