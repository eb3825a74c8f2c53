package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/canopy-org/canopy"
)

// Reads and writes federation makes inside a transaction another
// capability began: support withdrawing a child's consent tells the peers
// in the same transaction, and a withdrawal received redacts the report in
// the delivery's.

// LockReport holds a report against concurrent changes until tx ends.
// Referring a report and withdrawing consent to share it both take this
// lock before they read what the other writes (the referrals, the
// consents), so on PostgreSQL, where transactions run side by side, one
// always sees the other's outcome. SQLite has one writer and needs no lock.
func (t *Tx) LockReport(reportID string) error {
	lock := ""
	if t.db.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var id string
	err := t.queryRow(`SELECT report_id FROM report_state WHERE report_id = $1`+lock, reportID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if err != nil {
		return fmt.Errorf("store: lock report %s: %w", reportID, err)
	}
	return nil
}

// ReferralsOf returns a report's referrals, both ways, oldest first, as
// part of tx.
func (t *Tx) ReferralsOf(reportID string) ([]Referral, error) {
	return scanReferrals(reportID)(t.tx.Query(t.db.q(referralsOfQuery), reportID))
}

// Peer returns a peer as part of tx.
func (t *Tx) Peer(id string) (*canopy.Peer, error) {
	return scanPeer(t.queryRow(`SELECT `+peerColumns+` FROM peers WHERE id = $1`, id))
}

// ReportCase is a support case a report is linked to, as far as sharing
// the report needs to know it.
type ReportCase struct {
	ID      string
	Deleted bool
}

// ReportCases returns the support cases linked to a report, deleted ones
// included (ReportCaseLinks leaves them out), as part of tx.
func (t *Tx) ReportCases(reportID string) ([]ReportCase, error) {
	rows, err := t.tx.Query(t.db.q(`SELECT c.id, c.deleted_at FROM case_reports l JOIN cases c ON c.id = l.case_id
		WHERE l.report_id = $1 ORDER BY c.id`), reportID)
	if err != nil {
		return nil, fmt.Errorf("store: cases of report %s: %w", reportID, err)
	}
	defer rows.Close()
	var out []ReportCase
	for rows.Next() {
		var c ReportCase
		var deleted int64
		if err := rows.Scan(&c.ID, &deleted); err != nil {
			return nil, fmt.Errorf("store: cases of report %s: %w", reportID, err)
		}
		c.Deleted = deleted != 0
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cases of report %s: %w", reportID, err)
	}
	return out, nil
}

// EventData returns the data of a report's events of one kind, in
// timeline order, as part of tx.
func (t *Tx) EventData(reportID, kind string) ([]map[string]string, error) {
	rows, err := t.tx.Query(t.db.q(`SELECT data FROM events WHERE report_id = $1 AND kind = $2 ORDER BY id`), reportID, kind)
	if err != nil {
		return nil, fmt.Errorf("store: %s events of report %s: %w", kind, reportID, err)
	}
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("store: %s events of report %s: %w", kind, reportID, err)
		}
		d, err := decodeData(raw)
		if err != nil {
			return nil, fmt.Errorf("store: %s events of report %s: %w", kind, reportID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s events of report %s: %w", kind, reportID, err)
	}
	return out, nil
}

// ReportContent returns a report's sealed content and its wrapped data
// key (nil once destroyed) as they stand in tx, which may have created
// the report.
func (t *Tx) ReportContent(reportID string) (content, wrappedKey []byte, err error) {
	err = t.queryRow(`SELECT r.content, k.wrapped FROM reports r LEFT JOIN report_keys k ON k.report_id = r.id
		WHERE r.id = $1`, reportID).Scan(&content, &wrappedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: read content of report %s: %w", reportID, err)
	}
	return content, wrappedKey, nil
}

// RedactReport replaces a report's sealed content and its plain child's
// country, language and kind of reporter, as part of tx; content nil
// leaves the sealed content as it is (a report whose key is destroyed).
// The account links go too: they were made from account names the new
// content no longer holds, and would still tie the report to them.
func (t *Tx) RedactReport(id string, content []byte, childCountry, language, reporter string) error {
	res, err := t.db.exec(t.tx, `UPDATE reports SET content = coalesce($2, content), child_country = $3, language = $4, reporter = $5
		WHERE id = $1`, id, bytesOrNil(content), childCountry, language, reporter)
	if err != nil {
		return fmt.Errorf("store: redact report %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if _, err := t.db.exec(t.tx, `DELETE FROM report_links WHERE report_id = $1 AND kind = 'account'`, id); err != nil {
		return fmt.Errorf("store: unlink accounts of report %s: %w", id, err)
	}
	return nil
}
