package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
)

// SealedReport is a report as stored: the plain fields of canopy.Report
// (its Content is ignored), and its content sealed by the caller with the
// report's data key, which travels wrapped.
type SealedReport struct {
	Report      canopy.Report
	Content     []byte // sealed canopy.ReportContent
	WrappedKey  []byte // nil once the key has been destroyed
	ReceiptHash []byte
	// Links are keyed hashes of what may tie this report to others (web
	// addresses, hosts, accounts, content hashes). Written on creation.
	Links []Link
	// Hits are the known-content matches found on intake; each becomes a
	// "matched" event on the timeline.
	Hits []canopy.Hit
}

// Link is a keyed hash of something reports can share.
type Link struct {
	Kind string // url, host, account, hash
	Key  []byte
}

// SealedEvent is a timeline event with its body still sealed.
type SealedEvent struct {
	canopy.Event
	SealedBody []byte
}

// CreateReport stores a new report, its wrapped data key, its hashes and
// its "received" event in one transaction, and returns only once that
// transaction is durable.
func (db *DB) CreateReport(ctx context.Context, r *SealedReport) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.CreateReport(r) })
}

// CreateReport stores a new report as DB.CreateReport does, as part of tx.
// Events, beyond "received" and the matches, may follow in the same
// transaction through ApplyEvents.
func (t *Tx) CreateReport(r *SealedReport) error {
	db, tx := t.db, t.tx
	rep := &r.Report
	if rep.ID == "" || len(r.ReceiptHash) == 0 || len(r.WrappedKey) == 0 {
		return fmt.Errorf("store: create report: id, receipt hash and key are required")
	}
	{
		if _, err := db.exec(tx, `INSERT INTO reports
			(id, received_at, channel, reporter, category, flags, child_country, language, receipt_hash, content)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			rep.ID, micros(rep.Received), rep.Channel, rep.Reporter, rep.Category,
			strings.Join(rep.Flags, " "), rep.ChildCountry, rep.Language, r.ReceiptHash, r.Content); err != nil {
			if isUniqueViolation(err) && (strings.Contains(err.Error(), "reports.id") || strings.Contains(err.Error(), "reports_pkey")) {
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.exists", Err: err}
			}
			return fmt.Errorf("store: insert report %s: %w", rep.ID, err)
		}
		if _, err := db.exec(tx, `INSERT INTO report_keys (report_id, wrapped) VALUES ($1, $2)`, rep.ID, r.WrappedKey); err != nil {
			return fmt.Errorf("store: insert key of report %s: %w", rep.ID, err)
		}
		for _, h := range rep.Hashes {
			if _, err := db.exec(tx, `INSERT INTO report_hashes (report_id, algorithm, value) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, rep.ID, h.Algorithm, h.Value); err != nil {
				return fmt.Errorf("store: insert hash of report %s: %w", rep.ID, err)
			}
		}
		if _, err := db.exec(tx, `INSERT INTO events (report_id, kind, at, actor) VALUES ($1, $2, $3, '')`,
			rep.ID, canopy.EventReceived, micros(rep.Received)); err != nil {
			return fmt.Errorf("store: insert received event of report %s: %w", rep.ID, err)
		}
		for _, l := range r.Links {
			if _, err := db.exec(tx, `INSERT INTO report_links (link, report_id, kind) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, l.Key, rep.ID, l.Kind); err != nil {
				return fmt.Errorf("store: insert link of report %s: %w", rep.ID, err)
			}
		}
		st := canopy.NewTriageState(rep)
		for _, h := range r.Hits {
			e := canopy.Event{ReportID: rep.ID, Kind: canopy.EventMatched, At: rep.Received, Actor: "system",
				Data: map[string]string{"bank": h.Bank, "category": h.Category, "algorithm": h.Algorithm, "distance": strconv.Itoa(h.Distance)}}
			if _, err := db.exec(tx, `INSERT INTO events (report_id, kind, at, actor, data) VALUES ($1, $2, $3, $4, $5)`,
				e.ReportID, e.Kind, micros(e.At), e.Actor, encodeData(e.Data)); err != nil {
				return fmt.Errorf("store: insert match of report %s: %w", rep.ID, err)
			}
			st.Apply(e)
		}
		return db.putState(tx, st, true)
	}
}

const reportColumns = `r.id, r.received_at, r.channel, r.reporter, r.category, r.flags, r.child_country,
	r.language, r.receipt_hash, r.content, k.wrapped`

// ReportByReceipt finds the report whose receipt hashes to hash.
func (db *DB) ReportByReceipt(ctx context.Context, hash []byte) (*SealedReport, error) {
	row := db.read.QueryRowContext(ctx, db.q(`SELECT `+reportColumns+`
		FROM reports r LEFT JOIN report_keys k ON k.report_id = r.id WHERE r.receipt_hash = $1`), hash)
	return db.scanReport(ctx, row)
}

// Report finds a report by its id.
func (db *DB) Report(ctx context.Context, id string) (*SealedReport, error) {
	row := db.read.QueryRowContext(ctx, db.q(`SELECT `+reportColumns+`
		FROM reports r LEFT JOIN report_keys k ON k.report_id = r.id WHERE r.id = $1`), id)
	return db.scanReport(ctx, row)
}

func (db *DB) scanReport(ctx context.Context, row *sql.Row) (*SealedReport, error) {
	var (
		r        SealedReport
		received int64
		flags    string
	)
	rep := &r.Report
	err := row.Scan(&rep.ID, &received, &rep.Channel, &rep.Reporter, &rep.Category, &flags,
		&rep.ChildCountry, &rep.Language, &r.ReceiptHash, &r.Content, &r.WrappedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read report: %w", err)
	}
	rep.Received = fromMicros(received)
	rep.Flags = strings.Fields(flags)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT algorithm, value FROM report_hashes
		WHERE report_id = $1 ORDER BY algorithm, value`), rep.ID)
	if err != nil {
		return nil, fmt.Errorf("store: read hashes of report %s: %w", rep.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h canopy.ContentHash
		if err := rows.Scan(&h.Algorithm, &h.Value); err != nil {
			return nil, fmt.Errorf("store: read hashes of report %s: %w", rep.ID, err)
		}
		rep.Hashes = append(rep.Hashes, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read hashes of report %s: %w", rep.ID, err)
	}
	return &r, nil
}

// AppendEvent adds an event to a report's timeline, durably, and returns
// its id. The report must exist.
func (db *DB) AppendEvent(ctx context.Context, e *SealedEvent) (int64, error) {
	ids, err := db.ApplyEvents(ctx, e.ReportID, nil, e)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// Events returns a report's timeline in order.
func (db *DB) Events(ctx context.Context, reportID string) ([]SealedEvent, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, report_id, kind, at, actor, body, data
		FROM events WHERE report_id = $1 ORDER BY id`), reportID)
	if err != nil {
		return nil, fmt.Errorf("store: read events of report %s: %w", reportID, err)
	}
	defer rows.Close()
	var out []SealedEvent
	for rows.Next() {
		var e SealedEvent
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &e.ReportID, &e.Kind, &at, &e.Actor, &e.SealedBody, &data); err != nil {
			return nil, fmt.Errorf("store: read events of report %s: %w", reportID, err)
		}
		e.At = fromMicros(at)
		if e.Data, err = decodeData(data); err != nil {
			return nil, fmt.Errorf("store: read events of report %s: %w", reportID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read events of report %s: %w", reportID, err)
	}
	return out, nil
}

// DestroyReportKey deletes a report's wrapped data key. Its content and
// messages stay in the database as ciphertext no one can open.
func (db *DB) DestroyReportKey(ctx context.Context, reportID string) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`DELETE FROM report_keys WHERE report_id = $1`), reportID)
		if err != nil {
			return fmt.Errorf("store: destroy key of report %s: %w", reportID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
		}
		return nil
	})
}

// CountReports returns how many reports the node holds.
func (db *DB) CountReports(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM reports`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count reports: %w", err)
	}
	return n, nil
}

func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "FOREIGN KEY constraint failed") || strings.Contains(s, "SQLSTATE 23503")
}
