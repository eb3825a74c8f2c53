package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
)

// Support cases (migration 0009). The store keeps what it is given: the
// support package seals details, plans, notes and reasons with the case's
// data key before they reach it, and the key travels wrapped.

var (
	errCaseNotFound     = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.case.not_found"}
	errReferralNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.case.referral_not_found"}
	errPlanNotFound     = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.case.no_plan"}
	errCheckInNotFound  = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.case.checkin_not_found"}
	// ErrCaseHeld is returned when a legal hold stops a deletion.
	ErrCaseHeld = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.held"}
)

// SealedCase is a case as stored: its plain fields, its identifying
// details sealed with its data key, and that key, wrapped.
type SealedCase struct {
	canopy.Case
	Details    []byte // sealed canopy.CaseDetails; nil when none
	WrappedKey []byte // nil once the key is destroyed
}

// SealedPlan is a safety plan as stored: its language and dates plain,
// its words sealed (nil once redacted).
type SealedPlan struct {
	canopy.SafetyPlan
	CaseID  string
	Content []byte
}

// SealedCheckIn is a check-in with its note still sealed (nil when none).
type SealedCheckIn struct {
	canopy.CheckIn
	SealedNote []byte
}

// SealedErasure is an erasure decision with its note still sealed.
type SealedErasure struct {
	canopy.Erasure
	SealedNote []byte
}

// SealedHold is a legal hold with its reasons still sealed.
type SealedHold struct {
	canopy.LegalHold
	SealedReason     []byte
	SealedLiftReason []byte
}

// CaseLink ties a case to a report.
type CaseLink struct {
	CaseID   string
	ReportID string
	Received time.Time // when the report arrived, for the time to first support
	Linked   time.Time
	By       string
}

func bytesOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// CreateCase stores a new case and its wrapped data key.
func (db *DB) CreateCase(ctx context.Context, c *SealedCase) error {
	if c.ID == "" || len(c.WrappedKey) == 0 {
		return fmt.Errorf("store: create case: id and key are required")
	}
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO cases (id, alias, age_band, languages, region, needs, details, opened_at, opened_by, updated_at,
			jurisdiction, assigned_to)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.Alias, c.AgeBand, strings.Join(c.Languages, " "), c.Region, strings.Join(c.Needs, " "), bytesOrNil(c.Details),
			micros(c.Opened), c.OpenedBy, micros(c.Opened), c.Jurisdiction, c.AssignedTo)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.exists", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create case %s: %w", c.ID, err)
		}
		if _, err := db.exec(tx.tx, `INSERT INTO case_keys (case_id, wrapped) VALUES ($1, $2)`, c.ID, c.WrappedKey); err != nil {
			return fmt.Errorf("store: create key of case %s: %w", c.ID, err)
		}
		return nil
	})
}

const caseColumns = `c.id, c.alias, c.age_band, c.languages, c.region, c.needs, c.opened_at, c.opened_by, c.updated_at, c.deleted_at,
	EXISTS (SELECT 1 FROM case_holds h WHERE h.case_id = c.id AND h.lifted_at = 0),
	c.jurisdiction, c.assigned_to, c.closed_at, c.closed_by, c.close_reason`

func scanCase(row interface{ Scan(...any) error }, extra ...any) (*canopy.Case, error) {
	var (
		c                        canopy.Case
		langs, needs             string
		opened, updated, deleted int64
		closed                   int64
	)
	err := row.Scan(append([]any{&c.ID, &c.Alias, &c.AgeBand, &langs, &c.Region, &needs, &opened, &c.OpenedBy, &updated, &deleted, &c.Held,
		&c.Jurisdiction, &c.AssignedTo, &closed, &c.ClosedBy, &c.CloseReason}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errCaseNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read case: %w", err)
	}
	c.Languages, c.Needs = strings.Fields(langs), strings.Fields(needs)
	c.Opened, c.Updated, c.Deleted, c.Closed = fromMicros(opened), fromMicros(updated), timeOrZero(deleted), timeOrZero(closed)
	return &c, nil
}

func scanSealedCase(row interface{ Scan(...any) error }) (*SealedCase, error) {
	var sc SealedCase
	c, err := scanCase(row, &sc.Details, &sc.WrappedKey)
	if err != nil {
		return nil, err
	}
	sc.Case = *c
	return &sc, nil
}

const sealedCaseQuery = `SELECT ` + caseColumns + `, c.details, k.wrapped FROM cases c LEFT JOIN case_keys k ON k.case_id = c.id WHERE c.id = $1`

// Case returns a case with its sealed details and wrapped key.
func (db *DB) Case(ctx context.Context, id string) (*SealedCase, error) {
	return scanSealedCase(db.read.QueryRowContext(ctx, db.q(sealedCaseQuery), id))
}

// CaseFilter selects a page of the case list.
type CaseFilter struct {
	// Jurisdictions, when any, keeps the cases of those jurisdictions
	// and those of none (a case of the whole node).
	Jurisdictions []string
	AssignedTo    string // only the cases assigned to this account
	State         string // "open", "closed", or "" for both
	Limit, Offset int
}

// where builds the filter's WHERE clause and its arguments, numbered from
// $1.
func (f CaseFilter) where() (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if len(f.Jurisdictions) > 0 {
		in := []string{arg("")}
		for _, j := range f.Jurisdictions {
			in = append(in, arg(j))
		}
		conds = append(conds, "c.jurisdiction IN ("+strings.Join(in, ", ")+")")
	}
	if f.AssignedTo != "" {
		conds = append(conds, "c.assigned_to = "+arg(f.AssignedTo))
	}
	switch f.State {
	case "open":
		conds = append(conds, "c.closed_at = 0 AND c.deleted_at = 0")
	case "closed":
		conds = append(conds, "(c.closed_at <> 0 OR c.deleted_at <> 0)")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Cases returns a page of cases, newest first, and how many the filter
// selects. Nothing sealed is read.
func (db *DB) Cases(ctx context.Context, f CaseFilter) ([]canopy.Case, int, error) {
	where, args := f.where()
	var total int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM cases c`+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count cases: %w", err)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	n := len(args)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+caseColumns+` FROM cases c`+where+`
		ORDER BY c.opened_at DESC, c.id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2)), append(args, f.Limit, max(0, f.Offset))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list cases: %w", err)
	}
	defer rows.Close()
	var out []canopy.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list cases: %w", err)
	}
	return out, total, nil
}

// UpdateCase runs fn in a transaction with the case as it stands, its row
// locked on PostgreSQL (SQLite has one writer), so that two changes to one
// case, or a deletion and a legal hold, never interleave. fn may run more
// than once, as with Update.
func (db *DB) UpdateCase(ctx context.Context, id string, fn func(tx *Tx, c *SealedCase) error) error {
	return db.Update(ctx, func(tx *Tx) error {
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE OF c"
		}
		c, err := scanSealedCase(tx.queryRow(sealedCaseQuery+lock, id))
		if err != nil {
			return err
		}
		return fn(tx, c)
	})
}

// PutCase writes a case's plain fields and sealed details.
func (t *Tx) PutCase(c *SealedCase) error {
	_, err := t.db.exec(t.tx, `UPDATE cases SET alias = $2, age_band = $3, languages = $4, region = $5, needs = $6,
		details = $7, updated_at = $8, jurisdiction = $9, assigned_to = $10, closed_at = $11, closed_by = $12, close_reason = $13
		WHERE id = $1`,
		c.ID, c.Alias, c.AgeBand, strings.Join(c.Languages, " "), c.Region, strings.Join(c.Needs, " "), bytesOrNil(c.Details), micros(c.Updated),
		c.Jurisdiction, c.AssignedTo, microsOrZero(c.Closed), c.ClosedBy, c.CloseReason)
	if err != nil {
		return fmt.Errorf("store: update case %s: %w", c.ID, err)
	}
	return nil
}

// LinkCaseReport ties a case to a report; linking twice changes nothing.
func (t *Tx) LinkCaseReport(l CaseLink) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_reports (case_id, report_id, linked_at, linked_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, l.CaseID, l.ReportID, micros(l.Linked), l.By)
	if isForeignKeyViolation(err) {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: link case %s to report %s: %w", l.CaseID, l.ReportID, err)
	}
	return nil
}

// UnlinkCaseReport unties a case from a report and reports whether they
// were tied.
func (t *Tx) UnlinkCaseReport(caseID, reportID string) (bool, error) {
	res, err := t.db.exec(t.tx, `DELETE FROM case_reports WHERE case_id = $1 AND report_id = $2`, caseID, reportID)
	if err != nil {
		return false, fmt.Errorf("store: unlink case %s from report %s: %w", caseID, reportID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CaseLinks returns the reports a case is tied to, oldest report first.
func (db *DB) CaseLinks(ctx context.Context, caseID string) ([]CaseLink, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT l.case_id, l.report_id, r.received_at, l.linked_at, l.linked_by
		FROM case_reports l JOIN reports r ON r.id = l.report_id WHERE l.case_id = $1 ORDER BY r.received_at, l.report_id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: links of case %s: %w", caseID, err)
	}
	return scanLinks(rows)
}

// ReportCaseLinks returns the links to a report of cases that are not
// deleted.
func (db *DB) ReportCaseLinks(ctx context.Context, reportID string) ([]CaseLink, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT l.case_id, l.report_id, r.received_at, l.linked_at, l.linked_by
		FROM case_reports l JOIN reports r ON r.id = l.report_id JOIN cases c ON c.id = l.case_id
		WHERE l.report_id = $1 AND c.deleted_at = 0 ORDER BY l.linked_at, l.case_id`), reportID)
	if err != nil {
		return nil, fmt.Errorf("store: cases of report %s: %w", reportID, err)
	}
	return scanLinks(rows)
}

func scanLinks(rows *sql.Rows) ([]CaseLink, error) {
	defer rows.Close()
	var out []CaseLink
	for rows.Next() {
		var l CaseLink
		var received, linked int64
		if err := rows.Scan(&l.CaseID, &l.ReportID, &received, &linked, &l.By); err != nil {
			return nil, fmt.Errorf("store: read case link: %w", err)
		}
		l.Received, l.Linked = fromMicros(received), fromMicros(linked)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read case links: %w", err)
	}
	return out, nil
}

const serviceReferralColumns = `id, case_id, service_id, need, status, sent_at, accepted_at, first_contact_at, completed_at, declined_at, created_by`

func scanServiceReferral(row interface{ Scan(...any) error }) (*canopy.ServiceReferral, error) {
	var r canopy.ServiceReferral
	var sent, accepted, first, completed, declined int64
	err := row.Scan(&r.ID, &r.CaseID, &r.ServiceID, &r.Need, &r.Status, &sent, &accepted, &first, &completed, &declined, &r.By)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errReferralNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read service referral: %w", err)
	}
	r.Sent, r.Accepted, r.FirstContact = fromMicros(sent), timeOrZero(accepted), timeOrZero(first)
	r.Completed, r.Declined = timeOrZero(completed), timeOrZero(declined)
	return &r, nil
}

// AddServiceReferral stores a new service referral.
func (t *Tx) AddServiceReferral(r *canopy.ServiceReferral) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_referrals (`+serviceReferralColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.CaseID, r.ServiceID, r.Need, r.Status, micros(r.Sent), microsOrZero(r.Accepted), microsOrZero(r.FirstContact),
		microsOrZero(r.Completed), microsOrZero(r.Declined), r.By)
	if err != nil {
		return fmt.Errorf("store: add service referral of case %s: %w", r.CaseID, err)
	}
	return nil
}

// ServiceReferral returns one of a case's service referrals.
func (t *Tx) ServiceReferral(caseID, id string) (*canopy.ServiceReferral, error) {
	return scanServiceReferral(t.queryRow(`SELECT `+serviceReferralColumns+` FROM case_referrals WHERE case_id = $1 AND id = $2`, caseID, id))
}

// PutServiceReferral writes a referral's status and dates.
func (t *Tx) PutServiceReferral(r *canopy.ServiceReferral) error {
	_, err := t.db.exec(t.tx, `UPDATE case_referrals SET status = $3, accepted_at = $4, first_contact_at = $5, completed_at = $6,
		declined_at = $7 WHERE case_id = $1 AND id = $2`, r.CaseID, r.ID, r.Status, microsOrZero(r.Accepted),
		microsOrZero(r.FirstContact), microsOrZero(r.Completed), microsOrZero(r.Declined))
	if err != nil {
		return fmt.Errorf("store: update service referral %s: %w", r.ID, err)
	}
	return nil
}

// ServiceReferrals returns a case's service referrals, oldest first.
func (db *DB) ServiceReferrals(ctx context.Context, caseID string) ([]canopy.ServiceReferral, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+serviceReferralColumns+` FROM case_referrals WHERE case_id = $1 ORDER BY sent_at, id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: referrals of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []canopy.ServiceReferral
	for rows.Next() {
		r, err := scanServiceReferral(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: referrals of case %s: %w", caseID, err)
	}
	return out, nil
}

// PutPlan writes a case's safety plan, replacing any before it.
func (t *Tx) PutPlan(p *SealedPlan) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_plans (case_id, language, content, updated_at, updated_by, redacted_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (case_id) DO UPDATE SET language = excluded.language, content = excluded.content,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by, redacted_at = excluded.redacted_at`,
		p.CaseID, p.Language, bytesOrNil(p.Content), micros(p.Updated), p.UpdatedBy, microsOrZero(p.Redacted))
	if err != nil {
		return fmt.Errorf("store: write safety plan of case %s: %w", p.CaseID, err)
	}
	return nil
}

// RedactPlan removes a safety plan's words and keeps the record that it
// was there.
func (t *Tx) RedactPlan(caseID string, at time.Time) error {
	res, err := t.db.exec(t.tx, `UPDATE case_plans SET content = NULL, redacted_at = $2 WHERE case_id = $1`, caseID, micros(at))
	if err != nil {
		return fmt.Errorf("store: redact safety plan of case %s: %w", caseID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errPlanNotFound
	}
	return nil
}

// CasePlan returns a case's safety plan.
func (db *DB) CasePlan(ctx context.Context, caseID string) (*SealedPlan, error) {
	var p SealedPlan
	var updated, redacted int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT case_id, language, content, updated_at, updated_by, redacted_at
		FROM case_plans WHERE case_id = $1`), caseID).Scan(&p.CaseID, &p.Language, &p.Content, &updated, &p.UpdatedBy, &redacted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errPlanNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read safety plan of case %s: %w", caseID, err)
	}
	p.Updated, p.Redacted = fromMicros(updated), timeOrZero(redacted)
	return &p, nil
}

// NextCheckIn returns the number the case's next check-in takes.
func (t *Tx) NextCheckIn(caseID string) (int, error) {
	var n int
	if err := t.queryRow(`SELECT coalesce(max(n), 0) + 1 FROM case_checkins WHERE case_id = $1`, caseID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: number check-in of case %s: %w", caseID, err)
	}
	return n, nil
}

// AddCheckIn stores a check-in under the number NextCheckIn gave.
func (t *Tx) AddCheckIn(c *SealedCheckIn) error {
	items := make([]string, len(c.Items))
	for i, v := range c.Items {
		items[i] = strconv.Itoa(v)
	}
	_, err := t.db.exec(t.tx, `INSERT INTO case_checkins (case_id, n, at, scale, items, score, note, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.CaseID, c.N, micros(c.At), c.Scale, strings.Join(items, " "), c.Score, bytesOrNil(c.SealedNote), c.By)
	if err != nil {
		return fmt.Errorf("store: add check-in of case %s: %w", c.CaseID, err)
	}
	return nil
}

// RedactCheckInNote removes a check-in's note.
func (t *Tx) RedactCheckInNote(caseID string, n int, at time.Time) error {
	res, err := t.db.exec(t.tx, `UPDATE case_checkins SET note = NULL, note_redacted_at = $3 WHERE case_id = $1 AND n = $2`, caseID, n, micros(at))
	if err != nil {
		return fmt.Errorf("store: redact check-in %d of case %s: %w", n, caseID, err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return errCheckInNotFound
	}
	return nil
}

// CaseCheckIns returns a case's check-ins in order.
func (db *DB) CaseCheckIns(ctx context.Context, caseID string) ([]SealedCheckIn, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT case_id, n, at, scale, items, score, note, note_redacted_at, recorded_by
		FROM case_checkins WHERE case_id = $1 ORDER BY n`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: check-ins of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []SealedCheckIn
	for rows.Next() {
		var c SealedCheckIn
		var at, redacted int64
		var items string
		if err := rows.Scan(&c.CaseID, &c.N, &at, &c.Scale, &items, &c.Score, &c.SealedNote, &redacted, &c.By); err != nil {
			return nil, fmt.Errorf("store: check-ins of case %s: %w", caseID, err)
		}
		for _, f := range strings.Fields(items) {
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("store: check-in %d of case %s: bad answer %q", c.N, caseID, f)
			}
			c.Items = append(c.Items, v)
		}
		c.At, c.NoteRedacted = fromMicros(at), timeOrZero(redacted)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: check-ins of case %s: %w", caseID, err)
	}
	return out, nil
}

const consentColumns = `id, case_id, purpose, given_by, method, given_at, expires_at, withdrawn_at, recorded_by, withdrawn_by`

// AddConsent stores a consent.
func (t *Tx) AddConsent(c *canopy.Consent) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.CaseID, c.Purpose, c.GivenBy, c.Method, micros(c.Given), microsOrZero(c.Expires), microsOrZero(c.Withdrawn),
		c.RecordedBy, c.WithdrawnBy)
	if err != nil {
		return fmt.Errorf("store: add consent of case %s: %w", c.CaseID, err)
	}
	return nil
}

// WithdrawConsent marks every consent of a case to purpose that is not
// yet withdrawn as withdrawn at at, and returns how many there were.
func (t *Tx) WithdrawConsent(caseID, purpose string, at time.Time, by string) (int, error) {
	res, err := t.db.exec(t.tx, `UPDATE case_consents SET withdrawn_at = $3, withdrawn_by = $4
		WHERE case_id = $1 AND purpose = $2 AND withdrawn_at = 0`, caseID, purpose, micros(at), by)
	if err != nil {
		return 0, fmt.Errorf("store: withdraw consent of case %s: %w", caseID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func scanConsents(rows *sql.Rows) (canopy.Consents, error) {
	defer rows.Close()
	var out canopy.Consents
	for rows.Next() {
		var c canopy.Consent
		var given, expires, withdrawn int64
		if err := rows.Scan(&c.ID, &c.CaseID, &c.Purpose, &c.GivenBy, &c.Method, &given, &expires, &withdrawn, &c.RecordedBy, &c.WithdrawnBy); err != nil {
			return nil, fmt.Errorf("store: read consent: %w", err)
		}
		c.Given, c.Expires, c.Withdrawn = fromMicros(given), timeOrZero(expires), timeOrZero(withdrawn)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read consents: %w", err)
	}
	return out, nil
}

// CaseConsents returns every consent of a case, oldest first.
func (db *DB) CaseConsents(ctx context.Context, caseID string) (canopy.Consents, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+consentColumns+` FROM case_consents WHERE case_id = $1 ORDER BY given_at, id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: consents of case %s: %w", caseID, err)
	}
	return scanConsents(rows)
}

// CaseConsents returns every consent of a case as it stands in the
// transaction, for a change that depends on one.
func (t *Tx) CaseConsents(caseID string) (canopy.Consents, error) {
	rows, err := t.tx.Query(t.db.q(`SELECT `+consentColumns+` FROM case_consents WHERE case_id = $1 ORDER BY given_at, id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: consents of case %s: %w", caseID, err)
	}
	return scanConsents(rows)
}

// ConsentsTo returns every consent to purpose, by case.
func (db *DB) ConsentsTo(ctx context.Context, purpose string) (map[string]canopy.Consents, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+consentColumns+` FROM case_consents WHERE purpose = $1 ORDER BY case_id, given_at`), purpose)
	if err != nil {
		return nil, fmt.Errorf("store: consents to %s: %w", purpose, err)
	}
	all, err := scanConsents(rows)
	if err != nil {
		return nil, err
	}
	out := map[string]canopy.Consents{}
	for _, c := range all {
		out[c.CaseID] = append(out[c.CaseID], c)
	}
	return out, nil
}

// AddErasure records a decision on a request to redact or delete.
func (t *Tx) AddErasure(e *SealedErasure) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_erasures (id, case_id, kind, target, asked_by, decision, reason, note, decided_at, decided_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.CaseID, e.Kind, e.Target, e.AskedBy, e.Decision, e.Reason, bytesOrNil(e.SealedNote), micros(e.At), e.By)
	if err != nil {
		return fmt.Errorf("store: record erasure of case %s: %w", e.CaseID, err)
	}
	return nil
}

// CaseErasures returns a case's erasure decisions, oldest first.
func (db *DB) CaseErasures(ctx context.Context, caseID string) ([]SealedErasure, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, case_id, kind, target, asked_by, decision, reason, note, decided_at, decided_by
		FROM case_erasures WHERE case_id = $1 ORDER BY decided_at, id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: erasures of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []SealedErasure
	for rows.Next() {
		var e SealedErasure
		var at int64
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &e.Target, &e.AskedBy, &e.Decision, &e.Reason, &e.SealedNote, &at, &e.By); err != nil {
			return nil, fmt.Errorf("store: erasures of case %s: %w", caseID, err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: erasures of case %s: %w", caseID, err)
	}
	return out, nil
}

// Held reports whether a legal hold stands on the case.
func (t *Tx) Held(caseID string) (bool, error) {
	var n int
	if err := t.queryRow(`SELECT count(*) FROM case_holds WHERE case_id = $1 AND lifted_at = 0`, caseID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: holds of case %s: %w", caseID, err)
	}
	return n > 0, nil
}

// DestroyCase deletes a case's data key, so that its details, safety plan
// and notes can never be read again, and blanks what could still point to
// the child: the alias, the region and the links to reports. Codes, dates
// and scores stay for the indicators. A standing legal hold refuses it
// with ErrCaseHeld; call it from UpdateCase, which locks the case against
// a hold placed meanwhile.
func (t *Tx) DestroyCase(caseID string, at time.Time) error {
	held, err := t.Held(caseID)
	if err != nil {
		return err
	}
	if held {
		return ErrCaseHeld
	}
	if _, err := t.db.exec(t.tx, `DELETE FROM case_keys WHERE case_id = $1`, caseID); err != nil {
		return fmt.Errorf("store: destroy key of case %s: %w", caseID, err)
	}
	if _, err := t.db.exec(t.tx, `DELETE FROM case_reports WHERE case_id = $1`, caseID); err != nil {
		return fmt.Errorf("store: unlink deleted case %s: %w", caseID, err)
	}
	res, err := t.db.exec(t.tx, `UPDATE cases SET alias = '', region = '', details = NULL, deleted_at = $2, updated_at = $2
		WHERE id = $1 AND deleted_at = 0`, caseID, micros(at))
	if err != nil {
		return fmt.Errorf("store: delete case %s: %w", caseID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.deleted"}
	}
	return nil
}

// NextHold returns the number a case's next legal hold takes.
func (t *Tx) NextHold(caseID string) (int, error) {
	var n int
	if err := t.queryRow(`SELECT coalesce(max(n), 0) + 1 FROM case_holds WHERE case_id = $1`, caseID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: number hold of case %s: %w", caseID, err)
	}
	return n, nil
}

// PlaceHold adds a standing legal hold to a case, under the number
// NextHold gave.
func (t *Tx) PlaceHold(h *SealedHold) error {
	_, err := t.db.exec(t.tx, `INSERT INTO case_holds (case_id, n, placed_at, placed_by, reason) VALUES ($1, $2, $3, $4, $5)`,
		h.CaseID, h.N, micros(h.Placed), h.PlacedBy, h.SealedReason)
	if err != nil {
		return fmt.Errorf("store: place hold on case %s: %w", h.CaseID, err)
	}
	return nil
}

// StandingHold returns the number of the hold that stands on a case, or 0.
func (t *Tx) StandingHold(caseID string) (int, error) {
	var n int
	if err := t.queryRow(`SELECT coalesce(max(n), 0) FROM case_holds WHERE case_id = $1 AND lifted_at = 0`, caseID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: holds of case %s: %w", caseID, err)
	}
	return n, nil
}

// LiftHold lifts hold n of a case.
func (t *Tx) LiftHold(caseID string, n int, at time.Time, by string, sealedReason []byte) error {
	res, err := t.db.exec(t.tx, `UPDATE case_holds SET lifted_at = $3, lifted_by = $4, lift_reason = $5
		WHERE case_id = $1 AND n = $2 AND lifted_at = 0`, caseID, n, micros(at), by, bytesOrNil(sealedReason))
	if err != nil {
		return fmt.Errorf("store: lift hold on case %s: %w", caseID, err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.not_held"}
	}
	return nil
}

const holdColumns = `case_id, n, placed_at, placed_by, reason, lifted_at, lifted_by, lift_reason`

func scanHolds(rows *sql.Rows) ([]SealedHold, error) {
	defer rows.Close()
	var out []SealedHold
	for rows.Next() {
		var h SealedHold
		var placed, lifted int64
		if err := rows.Scan(&h.CaseID, &h.N, &placed, &h.PlacedBy, &h.SealedReason, &lifted, &h.LiftedBy, &h.SealedLiftReason); err != nil {
			return nil, fmt.Errorf("store: read hold: %w", err)
		}
		h.Placed, h.Lifted = fromMicros(placed), timeOrZero(lifted)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read holds: %w", err)
	}
	return out, nil
}

// CaseHolds returns a case's legal holds, oldest first.
func (db *DB) CaseHolds(ctx context.Context, caseID string) ([]SealedHold, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+holdColumns+` FROM case_holds WHERE case_id = $1 ORDER BY n`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: holds of case %s: %w", caseID, err)
	}
	return scanHolds(rows)
}

// Holds returns the legal holds of every case, standing ones first, then
// the most recent; at most limit.
func (db *DB) Holds(ctx context.Context, limit int) ([]SealedHold, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+holdColumns+` FROM case_holds
		ORDER BY CASE WHEN lifted_at = 0 THEN 0 ELSE 1 END, placed_at DESC LIMIT $1`), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list holds: %w", err)
	}
	return scanHolds(rows)
}

// ServiceChoice is a service of the directory as a referral names it.
type ServiceChoice struct {
	ID      string
	Name    string // the service's name, or its provider's
	Kinds   []string
	Country string
	Active  bool // the service and its provider are both active
}

// ServiceChoices returns the directory's services to refer to, by name.
// The directory is kept apart from cases (migration 0008); a node whose
// directory cannot be read gets none, and the error.
func (db *DB) ServiceChoices(ctx context.Context) ([]ServiceChoice, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT s.id, s.name, p.name, s.needs, s.country, s.active, p.active
		FROM services s JOIN providers p ON p.id = s.provider_id`)
	if err != nil {
		return nil, fmt.Errorf("store: services to refer to: %w", err)
	}
	defer rows.Close()
	var out []ServiceChoice
	for rows.Next() {
		var c ServiceChoice
		var name, provider, kinds string
		var sActive, pActive int
		if err := rows.Scan(&c.ID, &name, &provider, &kinds, &c.Country, &sActive, &pActive); err != nil {
			return nil, fmt.Errorf("store: services to refer to: %w", err)
		}
		c.Name = serviceName(name, provider)
		c.Kinds, c.Active = strings.Fields(kinds), sActive != 0 && pActive != 0
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: services to refer to: %w", err)
	}
	slices.SortFunc(out, func(a, b ServiceChoice) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func serviceName(name, provider string) string {
	switch {
	case name == "":
		return provider
	case provider == "" || strings.EqualFold(name, provider):
		return name
	}
	return provider + ": " + name
}

// CaseReportIDs returns the reports a case is linked to, as part of tx.
func (t *Tx) CaseReportIDs(caseID string) ([]string, error) {
	rows, err := t.tx.Query(t.db.q(`SELECT report_id FROM case_reports WHERE case_id = $1 ORDER BY linked_at, report_id`), caseID)
	if err != nil {
		return nil, fmt.Errorf("store: reports of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: reports of case %s: %w", caseID, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reports of case %s: %w", caseID, err)
	}
	return out, nil
}

// LapsedConsents returns the cases with a consent to purpose that expired
// by at, was never withdrawn, and whose lapse has not been acted on, at
// most limit of them.
func (db *DB) LapsedConsents(ctx context.Context, purpose string, at time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT DISTINCT case_id FROM case_consents
		WHERE purpose = $1 AND lapse_handled_at = 0 AND expires_at <> 0 AND expires_at <= $2 AND withdrawn_at = 0
		ORDER BY case_id LIMIT $3`), purpose, micros(at), limit)
	if err != nil {
		return nil, fmt.Errorf("store: lapsed consents to %s: %w", purpose, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: lapsed consents to %s: %w", purpose, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lapsed consents to %s: %w", purpose, err)
	}
	return out, nil
}

// MarkLapsesHandled records that the consents of a case to purpose that
// expired by at were acted on.
func (t *Tx) MarkLapsesHandled(caseID, purpose string, at time.Time) error {
	_, err := t.db.exec(t.tx, `UPDATE case_consents SET lapse_handled_at = $3
		WHERE case_id = $1 AND purpose = $2 AND lapse_handled_at = 0 AND expires_at <> 0 AND expires_at <= $3 AND withdrawn_at = 0`,
		caseID, purpose, micros(at))
	if err != nil {
		return fmt.Errorf("store: mark lapsed consents of case %s: %w", caseID, err)
	}
	return nil
}
