package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
)

// encodeData writes an event's facts as a JSON object ("" for none).
func encodeData(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	b, _ := json.Marshal(d) // a map of strings always encodes
	return string(b)
}

func decodeData(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	return d, nil
}

func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func timeOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

// putState writes a report's triage projection.
func (db *DB) putState(tx *sql.Tx, s canopy.TriageState, insert bool) error {
	args := []any{s.ReportID, micros(s.Received), s.Urgent, s.Matched, s.Jurisdiction, s.Category, s.Stage, s.ClaimedBy,
		microsOrZero(s.FirstLook), microsOrZero(s.Decided), s.Outcome, s.Reviewed, s.MergedInto,
		s.Route, s.Responsible, s.Basis, s.RoutePeer}
	query := `UPDATE report_state SET received_at = $2, urgent = $3, matched = $4, jurisdiction = $5, category = $6,
		stage = $7, claimed_by = $8, first_look_at = $9, decided_at = $10, outcome = $11, reviewed = $12, merged_into = $13,
		route = $14, responsible = $15, basis = $16, route_peer = $17
		WHERE report_id = $1`
	if insert {
		query = `INSERT INTO report_state (report_id, received_at, urgent, matched, jurisdiction, category, stage, claimed_by,
			first_look_at, decided_at, outcome, reviewed, merged_into, route, responsible, basis, route_peer)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	}
	if _, err := db.exec(tx, query, args...); err != nil {
		return fmt.Errorf("store: write triage state of %s: %w", s.ReportID, err)
	}
	return nil
}

const stateColumns = `report_id, received_at, urgent, matched, jurisdiction, category, stage, claimed_by,
	first_look_at, decided_at, outcome, reviewed, merged_into, route, responsible, basis, route_peer`

func scanState(row interface{ Scan(...any) error }) (*canopy.TriageState, error) {
	var s canopy.TriageState
	var received, look, decided int64
	err := row.Scan(&s.ReportID, &received, &s.Urgent, &s.Matched, &s.Jurisdiction, &s.Category, &s.Stage, &s.ClaimedBy,
		&look, &decided, &s.Outcome, &s.Reviewed, &s.MergedInto, &s.Route, &s.Responsible, &s.Basis, &s.RoutePeer)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read triage state: %w", err)
	}
	s.Received, s.FirstLook, s.Decided = fromMicros(received), timeOrZero(look), timeOrZero(decided)
	return &s, nil
}

// TriageState returns where a report stands in triage.
func (db *DB) TriageState(ctx context.Context, id string) (*canopy.TriageState, error) {
	return scanState(db.read.QueryRowContext(ctx, db.q(`SELECT `+stateColumns+` FROM report_state WHERE report_id = $1`), id))
}

// ApplyEvents appends events to one report's timeline and folds them into
// its triage state, in one durable transaction. check, when not nil, sees
// the state first and can refuse (a claim on a report someone else holds,
// a decision on a report already decided); then nothing is written. The
// state is read under a row lock on PostgreSQL, and SQLite has only one
// writer, so two staff acting at once cannot both pass the check.
func (db *DB) ApplyEvents(ctx context.Context, reportID string, check func(*canopy.TriageState) error, events ...*SealedEvent) ([]int64, error) {
	var ids []int64
	err := db.Update(ctx, func(tx *Tx) error {
		var err error
		ids, err = tx.ApplyEvents(reportID, check, events...)
		return err
	})
	return ids, err
}

// ApplyEvents does what DB.ApplyEvents does, as part of tx, and returns
// the new events' ids and the report's state after them.
func (t *Tx) ApplyEvents(reportID string, check func(*canopy.TriageState) error, events ...*SealedEvent) ([]int64, error) {
	db, tx := t.db, t.tx
	ids := make([]int64, len(events))
	{
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		st, err := scanState(t.queryRow(`SELECT `+stateColumns+` FROM report_state WHERE report_id = $1`+lock, reportID))
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(st); err != nil {
				return nil, err
			}
		}
		for i, e := range events {
			if e.ReportID != reportID {
				return nil, fmt.Errorf("store: event for %s applied to %s", e.ReportID, reportID)
			}
			st.Apply(e.Event)
			st2, err := db.wstmt(tx, `INSERT INTO events (report_id, kind, at, actor, body, data)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`)
			if err != nil {
				return nil, err
			}
			if err := st2.QueryRow(e.ReportID, e.Kind, micros(e.At), e.Actor, e.SealedBody, encodeData(e.Data)).Scan(&ids[i]); err != nil {
				return nil, fmt.Errorf("store: append %s event to report %s: %w", e.Kind, e.ReportID, err)
			}
		}
		return ids, db.putState(tx, *st, false)
	}
}

// RebuildTriageState recomputes a report's triage state from its timeline
// and stores it; it returns the state. The projection should never drift,
// and this is how that is checked and, if it ever must be, repaired.
func (db *DB) RebuildTriageState(ctx context.Context, id string) (*canopy.TriageState, error) {
	r, err := db.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := db.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	st := canopy.NewTriageState(&r.Report)
	for _, e := range events {
		st.Apply(e.Event)
	}
	err = db.commit.do(ctx, func(tx *sql.Tx) error { return db.putState(tx, st, false) })
	return &st, err
}

// QueueRow is one report in the triage queue: only what the queue shows.
type QueueRow struct {
	canopy.TriageState
	Flags []string
}

// QueueFilter selects the queue a member of staff sees.
type QueueFilter struct {
	// Jurisdictions limits the queue to reports about these countries and
	// reports whose country is unknown; empty means all.
	Jurisdictions []string
	Limit, Offset int
}

// where adds the filter's jurisdictions to a WHERE clause over
// report_state (its columns prefixed by p) and returns it with its
// arguments: a member scoped to some jurisdictions also sees reports whose
// jurisdiction is unknown.
func (f QueueFilter) where(cond, p string) (string, []any) {
	var args []any
	if len(f.Jurisdictions) > 0 {
		var ph []string
		for _, j := range f.Jurisdictions {
			args = append(args, j)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		cond += ` AND ` + p + `jurisdiction IN ('', ` + strings.Join(ph, ", ") + `)`
	}
	return cond, args
}

// Queue returns open reports in priority order: urgent first, then those
// with known-content matches, then oldest first; and how many there are
// in all.
func (db *DB) Queue(ctx context.Context, f QueueFilter) ([]QueueRow, int, error) {
	where, args := f.where(`s.stage IN ('new', 'claimed', 'reopened')`, "s.")
	var total int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM report_state s WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count queue: %w", err)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	args = append(args, f.Limit, max(0, f.Offset))
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+prefixed("s.", stateColumns)+`, r.flags
		FROM report_state s JOIN reports r ON r.id = s.report_id
		WHERE `+where+`
		ORDER BY s.urgent DESC, s.matched DESC, s.received_at
		LIMIT $`+itoa(len(args)-1)+` OFFSET $`+itoa(len(args))), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: read queue: %w", err)
	}
	defer rows.Close()
	var out []QueueRow
	for rows.Next() {
		var flags string
		s, err := scanState(withExtra{rows, &flags})
		if err != nil {
			return nil, 0, fmt.Errorf("store: read queue: %w", err)
		}
		out = append(out, QueueRow{TriageState: *s, Flags: strings.Fields(flags)})
	}
	return out, total, rows.Err()
}

// withExtra scans a row of state columns followed by more columns.
type withExtra struct {
	rows  *sql.Rows
	extra *string
}

func (w withExtra) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.extra)...) }

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// Linked returns the other reports that share a link with report id, with
// the kinds of link they share.
func (db *DB) Linked(ctx context.Context, id string) (map[string][]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT DISTINCT o.report_id, o.kind FROM report_links l
		JOIN report_links o ON o.link = l.link AND o.report_id <> l.report_id
		WHERE l.report_id = $1 ORDER BY o.report_id, o.kind`), id)
	if err != nil {
		return nil, fmt.Errorf("store: linked reports of %s: %w", id, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var other, kind string
		if err := rows.Scan(&other, &kind); err != nil {
			return nil, fmt.Errorf("store: linked reports of %s: %w", id, err)
		}
		out[other] = append(out[other], kind)
	}
	return out, rows.Err()
}
