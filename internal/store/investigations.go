package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
)

// Investigations and evidence (migration 0014). The store keeps what it
// is given: the caller seals titles, file names and reasons with the
// investigation's data key, and wraps each file's key, before they reach
// it.

var (
	errInvestigationNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.investigation.not_found"}
	errEvidenceNotFound      = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.evidence.not_found"}
)

// SealedInvestigation is an investigation with its title sealed and its
// key wrapped (nil once destroyed).
type SealedInvestigation struct {
	canopy.Investigation
	Title      []byte
	WrappedKey []byte
}

// SealedEvidence is an evidence item with its name sealed, where its
// bytes are, and its file key wrapped (nil once destroyed).
type SealedEvidence struct {
	canopy.EvidenceItem
	Name    []byte
	BlobKey string
	DataKey []byte
}

// SealedCustody is a custody entry with its reason sealed.
type SealedCustody struct {
	canopy.CustodyEntry
	SealedWhy []byte
}

// CreateInvestigation stores a new investigation, its wrapped key and
// the first line of its timeline.
func (db *DB) CreateInvestigation(ctx context.Context, inv *SealedInvestigation) error {
	if inv.ID == "" || len(inv.WrappedKey) == 0 {
		return errors.New("store: create investigation: id and key are required")
	}
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO investigations (id, jurisdiction, status, title, opened_at, opened_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, inv.ID, inv.Jurisdiction, inv.Status, inv.Title, micros(inv.Opened), inv.OpenedBy)
		if err != nil {
			return fmt.Errorf("store: create investigation %s: %w", inv.ID, err)
		}
		if _, err := db.exec(tx.tx, `INSERT INTO investigation_keys (investigation_id, wrapped) VALUES ($1, $2)`, inv.ID, inv.WrappedKey); err != nil {
			return fmt.Errorf("store: create key of investigation %s: %w", inv.ID, err)
		}
		return tx.AddInvestigationEvent(inv.ID, &SealedInvestigationEvent{InvestigationEvent: canopy.InvestigationEvent{At: inv.Opened,
			Actor: inv.OpenedBy, Kind: canopy.InvestigationOpened}})
	})
}

// investigationColumns are what scanInvestigation reads, from
// investigations i joined to investigation_keys k.
const investigationColumns = `i.id, i.jurisdiction, i.status, i.title, i.opened_at, i.opened_by, i.closed_at, i.closed_by,
	i.held_at, i.held_by, i.purged_at, k.wrapped`

const investigationQuery = `SELECT ` + investigationColumns + `
	FROM investigations i LEFT JOIN investigation_keys k ON k.investigation_id = i.id WHERE i.id = $1`

func scanInvestigation(row interface{ Scan(...any) error }, id string) (*SealedInvestigation, error) {
	var (
		inv                          SealedInvestigation
		opened, closed, held, purged int64
	)
	err := row.Scan(&inv.ID, &inv.Jurisdiction, &inv.Status, &inv.Title, &opened, &inv.OpenedBy, &closed, &inv.ClosedBy,
		&held, &inv.HeldBy, &purged, &inv.WrappedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvestigationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read investigation %s: %w", id, err)
	}
	inv.Opened, inv.Closed = fromMicros(opened), timeOrZero(closed)
	inv.HeldSince, inv.Held, inv.Purged = timeOrZero(held), held != 0, timeOrZero(purged)
	return &inv, nil
}

// Investigation returns an investigation with its sealed title and key.
func (db *DB) Investigation(ctx context.Context, id string) (*SealedInvestigation, error) {
	return scanInvestigation(db.read.QueryRowContext(ctx, db.q(investigationQuery), id), id)
}

// UpdateInvestigation runs fn in a transaction with the investigation as
// it stands, its row locked on PostgreSQL (SQLite has one writer), so
// that a closing, a hold and a purge never interleave. fn may run more
// than once, as with Update.
func (db *DB) UpdateInvestigation(ctx context.Context, id string, fn func(tx *Tx, inv *SealedInvestigation) error) error {
	return db.Update(ctx, func(tx *Tx) error {
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE OF i" // the investigation's row, not its key's
		}
		inv, err := scanInvestigation(tx.queryRow(investigationQuery+lock, id), id)
		if err != nil {
			return err
		}
		return fn(tx, inv)
	})
}

// PutInvestigationState writes an investigation's status, closing and
// hold as part of tx.
func (t *Tx) PutInvestigationState(inv *canopy.Investigation) error {
	held := int64(0)
	if inv.Held {
		held = micros(inv.HeldSince)
	}
	_, err := t.db.exec(t.tx, `UPDATE investigations SET status = $2, closed_at = $3, closed_by = $4, held_at = $5, held_by = $6
		WHERE id = $1`, inv.ID, inv.Status, microsOrZero(inv.Closed), inv.ClosedBy, held, inv.HeldBy)
	if err != nil {
		return fmt.Errorf("store: update investigation %s: %w", inv.ID, err)
	}
	return nil
}

// SealedInvestigationEvent is a timeline event with its body sealed.
type SealedInvestigationEvent struct {
	canopy.InvestigationEvent
	SealedBody []byte
}

// AddInvestigationEvent appends an event to an investigation's timeline
// as part of tx, numbering it after the last.
func (t *Tx) AddInvestigationEvent(investigationID string, e *SealedInvestigationEvent) error {
	if err := t.lock("investigations", investigationID); err != nil {
		return err
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(n), 0) + 1 FROM investigation_events WHERE investigation_id = $1`, investigationID).
		Scan(&e.N); err != nil {
		return fmt.Errorf("store: next event of investigation %s: %w", investigationID, err)
	}
	_, err := t.db.exec(t.tx, `INSERT INTO investigation_events (investigation_id, n, at, actor, kind, ref, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, investigationID, e.N, micros(e.At), e.Actor, e.Kind, e.Ref, bytesOrNil(e.SealedBody))
	if err != nil {
		return fmt.Errorf("store: add event to investigation %s: %w", investigationID, err)
	}
	return nil
}

// InvestigationEvents returns an investigation's timeline, in order.
func (db *DB) InvestigationEvents(ctx context.Context, investigationID string) ([]SealedInvestigationEvent, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT n, at, actor, kind, ref, body FROM investigation_events
		WHERE investigation_id = $1 ORDER BY n`), investigationID)
	if err != nil {
		return nil, fmt.Errorf("store: timeline of investigation %s: %w", investigationID, err)
	}
	defer rows.Close()
	var out []SealedInvestigationEvent
	for rows.Next() {
		var (
			e  SealedInvestigationEvent
			at int64
		)
		if err := rows.Scan(&e.N, &at, &e.Actor, &e.Kind, &e.Ref, &e.SealedBody); err != nil {
			return nil, fmt.Errorf("store: timeline of investigation %s: %w", investigationID, err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SealedTask is an investigation's task with its title sealed.
type SealedTask struct {
	canopy.InvestigationTask
	SealedTitle []byte
}

// AddInvestigationTask adds a task as part of tx, numbering it after the
// last.
func (t *Tx) AddInvestigationTask(investigationID string, task *SealedTask) error {
	if err := t.lock("investigations", investigationID); err != nil {
		return err
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(n), 0) + 1 FROM investigation_tasks WHERE investigation_id = $1`, investigationID).
		Scan(&task.N); err != nil {
		return fmt.Errorf("store: next task of investigation %s: %w", investigationID, err)
	}
	_, err := t.db.exec(t.tx, `INSERT INTO investigation_tasks (investigation_id, n, title, assignee, due_at, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, investigationID, task.N, task.SealedTitle, task.Assignee, microsOrZero(task.Due),
		micros(task.Created), task.CreatedBy)
	if err != nil {
		return fmt.Errorf("store: add task to investigation %s: %w", investigationID, err)
	}
	return nil
}

// SetInvestigationTaskDone marks a task done at when by whom, or not done
// when when is zero, as part of tx. It reports whether the task changed:
// false when it was already so.
func (t *Tx) SetInvestigationTaskDone(investigationID string, n int, when time.Time, by string) (bool, error) {
	cond := "done_at = 0"
	if when.IsZero() {
		cond = "done_at <> 0"
	}
	res, err := t.db.exec(t.tx, `UPDATE investigation_tasks SET done_at = $3, done_by = $4 WHERE investigation_id = $1 AND n = $2 AND `+cond,
		investigationID, n, microsOrZero(when), by)
	if err != nil {
		return false, fmt.Errorf("store: task %d of investigation %s: %w", n, investigationID, err)
	}
	changed, _ := res.RowsAffected()
	if changed == 0 {
		var exists int
		err := t.queryRow(`SELECT count(*) FROM investigation_tasks WHERE investigation_id = $1 AND n = $2`, investigationID, n).Scan(&exists)
		if err != nil {
			return false, fmt.Errorf("store: task %d of investigation %s: %w", n, investigationID, err)
		}
		if exists == 0 {
			return false, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.investigation.task_not_found"}
		}
	}
	return changed > 0, nil
}

// InvestigationTasks returns an investigation's tasks, in order.
func (db *DB) InvestigationTasks(ctx context.Context, investigationID string) ([]SealedTask, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT n, title, assignee, due_at, created_at, created_by, done_at, done_by
		FROM investigation_tasks WHERE investigation_id = $1 ORDER BY n`), investigationID)
	if err != nil {
		return nil, fmt.Errorf("store: tasks of investigation %s: %w", investigationID, err)
	}
	defer rows.Close()
	var out []SealedTask
	for rows.Next() {
		var (
			task               SealedTask
			due, created, done int64
		)
		if err := rows.Scan(&task.N, &task.SealedTitle, &task.Assignee, &due, &created, &task.CreatedBy, &done, &task.DoneBy); err != nil {
			return nil, fmt.Errorf("store: tasks of investigation %s: %w", investigationID, err)
		}
		task.Due, task.Created, task.Done = timeOrZero(due), fromMicros(created), timeOrZero(done)
		out = append(out, task)
	}
	return out, rows.Err()
}

// LinkInvestigationReport links a report to an investigation as part of
// tx. It reports false when they were linked already.
func (t *Tx) LinkInvestigationReport(investigationID string, l canopy.InvestigationReport) (bool, error) {
	res, err := t.db.exec(t.tx, `INSERT INTO investigation_reports (investigation_id, report_id, linked_at, linked_by)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, investigationID, l.ReportID, micros(l.Linked), l.LinkedBy)
	if isForeignKeyViolation(err) {
		return false, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	if err != nil {
		return false, fmt.Errorf("store: link report to investigation %s: %w", investigationID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// UnlinkInvestigationReport unlinks a report as part of tx, and reports
// whether it was linked.
func (t *Tx) UnlinkInvestigationReport(investigationID, reportID string) (bool, error) {
	res, err := t.db.exec(t.tx, `DELETE FROM investigation_reports WHERE investigation_id = $1 AND report_id = $2`, investigationID, reportID)
	if err != nil {
		return false, fmt.Errorf("store: unlink report from investigation %s: %w", investigationID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// InvestigationReports returns the reports linked to an investigation,
// in the order they were linked.
func (db *DB) InvestigationReports(ctx context.Context, investigationID string) ([]canopy.InvestigationReport, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT report_id, linked_at, linked_by FROM investigation_reports
		WHERE investigation_id = $1 ORDER BY linked_at, report_id`), investigationID)
	if err != nil {
		return nil, fmt.Errorf("store: reports of investigation %s: %w", investigationID, err)
	}
	defer rows.Close()
	var out []canopy.InvestigationReport
	for rows.Next() {
		var (
			l  canopy.InvestigationReport
			at int64
		)
		if err := rows.Scan(&l.ReportID, &at, &l.LinkedBy); err != nil {
			return nil, fmt.Errorf("store: reports of investigation %s: %w", investigationID, err)
		}
		l.Linked = fromMicros(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// ReportInvestigations returns the investigations a report is linked
// to, oldest first, with their sealed titles and keys.
func (db *DB) ReportInvestigations(ctx context.Context, reportID string) ([]SealedInvestigation, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+investigationColumns+`
		FROM investigation_reports l JOIN investigations i ON i.id = l.investigation_id
		LEFT JOIN investigation_keys k ON k.investigation_id = i.id
		WHERE l.report_id = $1 ORDER BY i.opened_at, i.id`), reportID)
	if err != nil {
		return nil, fmt.Errorf("store: investigations of report %s: %w", reportID, err)
	}
	defer rows.Close()
	var out []SealedInvestigation
	for rows.Next() {
		inv, err := scanInvestigation(rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, *inv)
	}
	return out, rows.Err()
}

// InvestigationFilter selects investigations for a list.
type InvestigationFilter struct {
	Status        string   // "" for any
	Jurisdictions []string // nil for any; else these and those of none, as the queue does
	Limit, Offset int
}

// InvestigationSummary is an investigation in a list: its sealed title
// and how much is in it.
type InvestigationSummary struct {
	SealedInvestigation
	Reports, Items, OpenTasks int
}

// Investigations returns a page of investigations, newest first, with
// their sealed titles and counts, and how many the filter selects.
func (db *DB) Investigations(ctx context.Context, f InvestigationFilter) ([]InvestigationSummary, int, error) {
	var (
		conds []string
		args  []any
	)
	if f.Status != "" {
		args = append(args, f.Status)
		conds = append(conds, "i.status = $"+strconv.Itoa(len(args)))
	}
	if f.Jurisdictions != nil {
		ph := make([]string, 0, len(f.Jurisdictions)+1)
		for _, j := range append([]string{""}, f.Jurisdictions...) {
			args = append(args, j)
			ph = append(ph, "$"+strconv.Itoa(len(args)))
		}
		conds = append(conds, "i.jurisdiction IN ("+strings.Join(ph, ", ")+")")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM investigations i`+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count investigations: %w", err)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	n := len(args)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+investigationColumns+`,
		(SELECT count(*) FROM investigation_reports r WHERE r.investigation_id = i.id),
		(SELECT count(*) FROM evidence e WHERE e.investigation_id = i.id AND e.destroyed_at = 0),
		(SELECT count(*) FROM investigation_tasks t WHERE t.investigation_id = i.id AND t.done_at = 0)
		FROM investigations i LEFT JOIN investigation_keys k ON k.investigation_id = i.id`+where+`
		ORDER BY i.opened_at DESC, i.id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2)), append(args, f.Limit, max(0, f.Offset))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list investigations: %w", err)
	}
	defer rows.Close()
	var out []InvestigationSummary
	for rows.Next() {
		var s InvestigationSummary
		inv, err := scanInvestigation(scanExtra{rows, []any{&s.Reports, &s.Items, &s.OpenTasks}}, "")
		if err != nil {
			return nil, 0, err
		}
		s.SealedInvestigation = *inv
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list investigations: %w", err)
	}
	return out, total, nil
}

// scanExtra scans a row's leading columns with the caller's destinations
// and the rest into extra.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

// ExpiredInvestigations returns up to limit investigations closed before
// cutoff, with no legal hold standing and not yet purged, oldest first.
func (db *DB) ExpiredInvestigations(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id FROM investigations WHERE status = $1 AND closed_at <> 0 AND closed_at < $2
		AND held_at = 0 AND purged_at = 0 ORDER BY closed_at, id LIMIT $3`), canopy.InvestigationClosed, micros(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired investigations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: expired investigations: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PurgeInvestigation, as part of tx, marks an investigation purged at
// when, forgets every item's name and file key (marking the live ones
// destroyed) and deletes the investigation's data key: every sealed word
// in it (title, names, notes, tasks, reasons) can never be opened again.
// Codes, hashes, dates and custody actions stay. The caller deletes the
// files' bytes after the commit.
func (t *Tx) PurgeInvestigation(id string, when time.Time) error {
	for _, q := range []string{
		`UPDATE evidence SET destroyed_at = $2 WHERE investigation_id = $1 AND destroyed_at = 0`,
		`UPDATE evidence SET name = NULL, data_key = NULL WHERE investigation_id = $1`,
		`UPDATE investigations SET purged_at = $2 WHERE id = $1`,
		`DELETE FROM investigation_keys WHERE investigation_id = $1`,
	} {
		args := []any{id}
		if strings.Contains(q, "$2") {
			args = append(args, micros(when))
		}
		if _, err := t.db.exec(t.tx, q, args...); err != nil {
			return fmt.Errorf("store: purge investigation %s: %w", id, err)
		}
	}
	return nil
}

// AddEvidence stores an evidence item and the first step of its chain of
// custody, its acquisition, with its line on the investigation's
// timeline, in one transaction: an item never exists without its custody,
// and joins only an investigation that is open when it commits.
func (db *DB) AddEvidence(ctx context.Context, e *SealedEvidence, acquired *SealedCustody, event *SealedInvestigationEvent) error {
	// Under the investigation's lock: a closing or a purge that came
	// while the file streamed in wins.
	return db.UpdateInvestigation(ctx, e.InvestigationID, func(tx *Tx, inv *SealedInvestigation) error {
		if inv.Status != canopy.InvestigationOpen || !inv.Purged.IsZero() {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.closed"}
		}
		_, err := db.exec(tx.tx, `INSERT INTO evidence (id, investigation_id, name, media_type, size, sha256, md5, pdq, blob_key, data_key,
			acquired_at, acquired_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			e.ID, e.InvestigationID, e.Name, e.MediaType, e.Size, e.SHA256, e.MD5, e.PDQ, e.BlobKey, e.DataKey, micros(e.Acquired), e.AcquiredBy)
		if err != nil {
			return fmt.Errorf("store: add evidence %s: %w", e.ID, err)
		}
		if err := tx.AddCustody(acquired); err != nil {
			return err
		}
		return tx.AddInvestigationEvent(e.InvestigationID, event)
	})
}

const evidenceColumns = `id, investigation_id, name, media_type, size, sha256, md5, pdq, blob_key, data_key, acquired_at, acquired_by, destroyed_at`

func scanEvidence(row interface{ Scan(...any) error }) (*SealedEvidence, error) {
	var (
		e                   SealedEvidence
		acquired, destroyed int64
	)
	err := row.Scan(&e.ID, &e.InvestigationID, &e.Name, &e.MediaType, &e.Size, &e.SHA256, &e.MD5, &e.PDQ, &e.BlobKey, &e.DataKey,
		&acquired, &e.AcquiredBy, &destroyed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errEvidenceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read evidence: %w", err)
	}
	e.Acquired, e.Destroyed = fromMicros(acquired), timeOrZero(destroyed)
	return &e, nil
}

// Evidence returns one evidence item.
func (db *DB) Evidence(ctx context.Context, id string) (*SealedEvidence, error) {
	return scanEvidence(db.read.QueryRowContext(ctx, db.q(`SELECT `+evidenceColumns+` FROM evidence WHERE id = $1`), id))
}

const investigationEvidenceQuery = `SELECT ` + evidenceColumns + ` FROM evidence WHERE investigation_id = $1 ORDER BY acquired_at, id`

// InvestigationEvidence returns an investigation's items, oldest first.
func (db *DB) InvestigationEvidence(ctx context.Context, investigationID string) ([]SealedEvidence, error) {
	return scanEvidenceRows(db.read.QueryContext(ctx, db.q(investigationEvidenceQuery), investigationID))
}

// InvestigationEvidence returns an investigation's items, oldest first,
// as part of tx.
func (t *Tx) InvestigationEvidence(investigationID string) ([]SealedEvidence, error) {
	return scanEvidenceRows(t.tx.Query(t.db.q(investigationEvidenceQuery), investigationID))
}

func scanEvidenceRows(rows *sql.Rows, err error) ([]SealedEvidence, error) {
	if err != nil {
		return nil, fmt.Errorf("store: evidence of an investigation: %w", err)
	}
	defer rows.Close()
	var out []SealedEvidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// AddCustody appends a step to an item's chain of custody as part of tx,
// numbering it after the last.
func (t *Tx) AddCustody(c *SealedCustody) error {
	if err := t.lock("evidence", c.ItemID); err != nil {
		return err
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(n), 0) + 1 FROM custody WHERE item_id = $1`, c.ItemID).Scan(&c.N); err != nil {
		return fmt.Errorf("store: next custody step of %s: %w", c.ItemID, err)
	}
	_, err := t.db.exec(t.tx, `INSERT INTO custody (item_id, n, action, at, actor, why, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ItemID, c.N, c.Action, micros(c.At), c.Actor, bytesOrNil(c.SealedWhy), c.SHA256)
	if err != nil {
		return fmt.Errorf("store: add custody step of %s: %w", c.ItemID, err)
	}
	return nil
}

// InvestigationCustody returns the chains of custody of every item of an
// investigation, by item, each in order: one query, not one per item.
func (db *DB) InvestigationCustody(ctx context.Context, investigationID string) (map[string][]SealedCustody, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT c.item_id, c.n, c.action, c.at, c.actor, c.why, c.sha256
		FROM custody c JOIN evidence e ON e.id = c.item_id WHERE e.investigation_id = $1 ORDER BY c.item_id, c.n`), investigationID)
	if err != nil {
		return nil, fmt.Errorf("store: custody of investigation %s: %w", investigationID, err)
	}
	chains, err := scanCustody(rows)
	if err != nil {
		return nil, fmt.Errorf("store: custody of investigation %s: %w", investigationID, err)
	}
	out := map[string][]SealedCustody{}
	for _, c := range chains {
		out[c.ItemID] = append(out[c.ItemID], c)
	}
	return out, nil
}

func scanCustody(rows *sql.Rows) ([]SealedCustody, error) {
	defer rows.Close()
	var out []SealedCustody
	for rows.Next() {
		var (
			c  SealedCustody
			at int64
		)
		if err := rows.Scan(&c.ItemID, &c.N, &c.Action, &at, &c.Actor, &c.SealedWhy, &c.SHA256); err != nil {
			return nil, err
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DestroyEvidence forgets an item's name and file key and marks it
// destroyed, with the custody step that says so, as part of tx. Its
// hashes and chain of custody stay. The caller deletes the blob after the
// commit.
func (t *Tx) DestroyEvidence(id string, at time.Time, step *SealedCustody) error {
	res, err := t.db.exec(t.tx, `UPDATE evidence SET name = NULL, data_key = NULL, destroyed_at = $2 WHERE id = $1 AND destroyed_at = 0`,
		id, micros(at))
	if err != nil {
		return fmt.Errorf("store: destroy evidence %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.destroyed"}
	}
	return t.AddCustody(step)
}

// lock takes the row lock of the record id of table for the rest of tx,
// so that numbering its steps (MAX(n) + 1) cannot race another
// transaction on PostgreSQL. A missing row is no error here: the insert
// that follows meets its foreign key.
func (t *Tx) lock(table, id string) error {
	if t.db.dialect != Postgres {
		return nil
	}
	var got string
	err := t.queryRow(`SELECT id FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&got)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: lock %s %s: %w", table, id, err)
	}
	return nil
}
