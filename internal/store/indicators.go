package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Indicators (migration 0012): the facts the roller keeps per report and
// per takedown address, its cursor over the events table, and the
// rollups the dashboard reads (docs/indicators.md).

// Facts are what the indicators know of a report.
type Facts struct {
	ReportID                                string
	Received                                time.Time
	Category, Channel, Jurisdiction         string
	FirstLook, Assessed, Referred, Accepted time.Time
	Notice                                  time.Time
	Merged                                  bool
}

// ItemFacts are what the indicators know of one takedown address.
type ItemFacts struct {
	TakedownID, ReportID        string
	Notified, Answered, Removed time.Time
}

// EventRow is one event as the roller reads it: no body.
type EventRow struct {
	ID       int64
	ReportID string
	Kind     string
	At       time.Time
	Data     map[string]string
}

// EventsAfter returns up to limit events with ids above after, in order.
func (db *DB) EventsAfter(ctx context.Context, after int64, limit int) ([]EventRow, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, report_id, kind, at, data FROM events WHERE id > $1 ORDER BY id LIMIT $2`), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var (
			e    EventRow
			at   int64
			data string
		)
		if err := rows.Scan(&e.ID, &e.ReportID, &e.Kind, &at, &data); err != nil {
			return nil, fmt.Errorf("store: events after %d: %w", after, err)
		}
		e.At = fromMicros(at)
		if e.Data, err = decodeData(data); err != nil {
			return nil, fmt.Errorf("store: event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	return out, nil
}

// IndicatorCursor returns the last event id the named roller took.
func (t *Tx) IndicatorCursor(name string) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT event_id FROM indicator_cursor WHERE name = $1`, name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: indicator cursor: %w", err)
	}
	return id, nil
}

// IndicatorCursor returns the last event id the named roller took.
func (db *DB) IndicatorCursor(ctx context.Context, name string) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT event_id FROM indicator_cursor WHERE name = $1`), name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: indicator cursor: %w", err)
	}
	return id, nil
}

// SetIndicatorCursor records the last event id the named roller took.
func (t *Tx) SetIndicatorCursor(name string, id int64) error {
	_, err := t.db.exec(t.tx, `INSERT INTO indicator_cursor (name, event_id) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET event_id = excluded.event_id`, name, id)
	if err != nil {
		return fmt.Errorf("store: set indicator cursor: %w", err)
	}
	return nil
}

// inList writes "$k, $k+1, …" for n arguments numbered from k.
func inList(k, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(k+i))
	}
	return b.String()
}

func anyArgs(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

const factColumns = `report_id, received_at, category, channel, jurisdiction, first_look, assessed, referred, accepted, notice, merged`

// Facts returns the facts of the reports that have them, by id; reports
// the roller has not met yet are absent.
func (t *Tx) Facts(ids []string) (map[string]*Facts, error) {
	out := map[string]*Facts{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(t.db.q(`SELECT `+factColumns+` FROM indicator_facts WHERE report_id IN (`+inList(1, len(ids))+`)`), anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: indicator facts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			f                                                            Facts
			received, look, assessed, referred, accepted, notice, merged int64
		)
		if err := rows.Scan(&f.ReportID, &received, &f.Category, &f.Channel, &f.Jurisdiction, &look, &assessed, &referred, &accepted,
			&notice, &merged); err != nil {
			return nil, fmt.Errorf("store: indicator facts: %w", err)
		}
		f.Received, f.FirstLook, f.Assessed = timeOrZero(received), timeOrZero(look), timeOrZero(assessed)
		f.Referred, f.Accepted, f.Notice, f.Merged = timeOrZero(referred), timeOrZero(accepted), timeOrZero(notice), merged != 0
		out[f.ReportID] = &f
	}
	return out, rows.Err()
}

// PutFacts stores a report's facts.
func (t *Tx) PutFacts(f *Facts) error {
	_, err := t.db.exec(t.tx, `INSERT INTO indicator_facts (`+factColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (report_id) DO UPDATE SET received_at = excluded.received_at, category = excluded.category,
		channel = excluded.channel, jurisdiction = excluded.jurisdiction, first_look = excluded.first_look,
		assessed = excluded.assessed, referred = excluded.referred, accepted = excluded.accepted, notice = excluded.notice,
		merged = excluded.merged`,
		f.ReportID, microsOrZero(f.Received), f.Category, f.Channel, f.Jurisdiction, microsOrZero(f.FirstLook), microsOrZero(f.Assessed),
		microsOrZero(f.Referred), microsOrZero(f.Accepted), microsOrZero(f.Notice), boolInt(f.Merged))
	if err != nil {
		return fmt.Errorf("store: put indicator facts of %s: %w", f.ReportID, err)
	}
	return nil
}

// ItemFacts returns the takedown addresses' facts of the reports, by
// report.
func (t *Tx) ItemFacts(ids []string) (map[string][]ItemFacts, error) {
	out := map[string][]ItemFacts{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(t.db.q(`SELECT takedown_id, report_id, notified, answered, removed FROM indicator_takedowns
		WHERE report_id IN (`+inList(1, len(ids))+`) ORDER BY takedown_id`), anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: indicator takedowns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			it                          ItemFacts
			notified, answered, removed int64
		)
		if err := rows.Scan(&it.TakedownID, &it.ReportID, &notified, &answered, &removed); err != nil {
			return nil, fmt.Errorf("store: indicator takedowns: %w", err)
		}
		it.Notified, it.Answered, it.Removed = timeOrZero(notified), timeOrZero(answered), timeOrZero(removed)
		out[it.ReportID] = append(out[it.ReportID], it)
	}
	return out, rows.Err()
}

// PutItemFacts stores a takedown address's facts.
func (t *Tx) PutItemFacts(it *ItemFacts) error {
	_, err := t.db.exec(t.tx, `INSERT INTO indicator_takedowns (takedown_id, report_id, notified, answered, removed) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (takedown_id) DO UPDATE SET notified = excluded.notified, answered = excluded.answered, removed = excluded.removed`,
		it.TakedownID, it.ReportID, microsOrZero(it.Notified), microsOrZero(it.Answered), microsOrZero(it.Removed))
	if err != nil {
		return fmt.Errorf("store: put indicator takedown %s: %w", it.TakedownID, err)
	}
	return nil
}

// ReportBasics returns the channel and intake category of reports, by id.
func (t *Tx) ReportBasics(ids []string) (map[string][2]string, error) {
	out := map[string][2]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(t.db.q(`SELECT id, channel, category FROM reports WHERE id IN (`+inList(1, len(ids))+`)`), anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: report basics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, channel, category string
		if err := rows.Scan(&id, &channel, &category); err != nil {
			return nil, fmt.Errorf("store: report basics: %w", err)
		}
		out[id] = [2]string{channel, category}
	}
	return out, rows.Err()
}

// Cell is one rollup cell.
type Cell struct {
	Indicator, Dim, Value, Month string
	Bucket                       int
	N                            int64
}

// CellKey is a rollup cell's key.
type CellKey struct {
	Indicator, Dim, Value, Month string
	Bucket                       int
}

// AddCells adds deltas to the rollups as part of tx.
func (t *Tx) AddCells(deltas map[CellKey]int64) error {
	if len(deltas) == 0 {
		return nil
	}
	st, err := t.db.wstmt(t.tx, `INSERT INTO indicator_cells (indicator, dim, value, month, bucket, n) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (indicator, dim, value, month, bucket) DO UPDATE SET n = indicator_cells.n + excluded.n`)
	if err != nil {
		return err
	}
	for k, n := range deltas {
		if n == 0 {
			continue
		}
		if _, err := st.Exec(k.Indicator, k.Dim, k.Value, k.Month, k.Bucket, n); err != nil {
			return fmt.Errorf("store: add to rollup %s: %w", k.Indicator, err)
		}
	}
	return nil
}

// Cells returns the rollup cells of one breakdown value over months
// [from, to] (YYYY-MM), summed by indicator, month and bucket.
func (db *DB) Cells(ctx context.Context, dim, value, from, to string) ([]Cell, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT indicator, month, bucket, n FROM indicator_cells
		WHERE dim = $1 AND value = $2 AND month >= $3 AND month <= $4 AND n <> 0 ORDER BY indicator, month, bucket`), dim, value, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: rollups: %w", err)
	}
	defer rows.Close()
	var out []Cell
	for rows.Next() {
		c := Cell{Dim: dim, Value: value}
		if err := rows.Scan(&c.Indicator, &c.Month, &c.Bucket, &c.N); err != nil {
			return nil, fmt.Errorf("store: rollups: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CellValues lists the values a breakdown takes in months [from, to].
func (db *DB) CellValues(ctx context.Context, dim, from, to string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT DISTINCT value FROM indicator_cells
		WHERE dim = $1 AND month >= $2 AND month <= $3 AND bucket = -1 AND n <> 0 ORDER BY value`), dim, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: rollup values: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: rollup values: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// AddCells adds deltas to the rollups in a transaction of their own.
func (db *DB) AddCells(ctx context.Context, deltas map[CellKey]int64) error {
	return db.UpdateSerial(ctx, func(tx *Tx) error { return tx.AddCells(deltas) })
}

// ResetIndicators empties the facts, the rollups and the cursor, so the
// roller builds them again from the first event: after a change to an
// indicator's definition.
func (db *DB) ResetIndicators(ctx context.Context) error {
	return db.UpdateSerial(ctx, func(tx *Tx) error {
		for _, table := range []string{"indicator_facts", "indicator_takedowns", "indicator_cells", "indicator_cursor"} {
			if _, err := db.exec(tx.tx, `DELETE FROM `+table); err != nil {
				return fmt.Errorf("store: reset indicators: %w", err)
			}
		}
		return nil
	})
}

// PeerIndicators is what a peer last shared of its indicators.
type PeerIndicators struct {
	PeerID      string
	Received    time.Time
	Definitions string
	Payload     []byte // the publication, as JSON
}

// PutPeerIndicators keeps a peer's latest publication, as part of tx.
func (t *Tx) PutPeerIndicators(p *PeerIndicators) error {
	_, err := t.db.exec(t.tx, `INSERT INTO peer_indicators (peer_id, received_at, definitions, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (peer_id) DO UPDATE SET received_at = excluded.received_at, definitions = excluded.definitions,
		payload = excluded.payload`, p.PeerID, micros(p.Received), p.Definitions, string(p.Payload))
	if err != nil {
		return fmt.Errorf("store: put indicators of peer %s: %w", p.PeerID, err)
	}
	return nil
}

// AllPeerIndicators returns every peer's latest publication, by peer.
func (db *DB) AllPeerIndicators(ctx context.Context) ([]PeerIndicators, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT peer_id, received_at, definitions, payload FROM peer_indicators ORDER BY peer_id`)
	if err != nil {
		return nil, fmt.Errorf("store: peer indicators: %w", err)
	}
	defer rows.Close()
	var out []PeerIndicators
	for rows.Next() {
		var (
			p        PeerIndicators
			received int64
			payload  string
		)
		if err := rows.Scan(&p.PeerID, &received, &p.Definitions, &payload); err != nil {
			return nil, fmt.Errorf("store: peer indicators: %w", err)
		}
		p.Received, p.Payload = fromMicros(received), []byte(payload)
		out = append(out, p)
	}
	return out, rows.Err()
}
