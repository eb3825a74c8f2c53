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

// Notice and takedown (migration 0011). The store keeps what it is given:
// the takedown package seals each address, and a refusal's words, with
// the report's data key before they reach it.

var (
	errHostNotFound     = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.takedown.host_not_found"}
	errNoticeNotFound   = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.takedown.notice_not_found"}
	errTakedownNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.takedown.not_found"}
)

// SealedTakedown is an address of a notice with its address, and a
// refusal's words, still sealed.
type SealedTakedown struct {
	canopy.Takedown
	N            int
	SealedURL    []byte
	SealedReason []byte // nil when none
}

const hostColumns = `id, name, kind, jurisdictions, domains, networks, method, email, webhook, language,
	remind_after, escalate_after, platform, active, updated_at, updated_by`

func hostArgs(h *canopy.Host) []any {
	return []any{h.ID, h.Name, h.Kind, strings.Join(h.Jurisdictions, " "), strings.Join(h.Domains, " "), strings.Join(h.Networks, " "),
		h.Method, h.Email, h.Webhook, h.Language, int64(h.RemindAfter / time.Second), int64(h.EscalateAfter / time.Second),
		h.Platform, boolInt(h.Active), micros(h.Updated), h.UpdatedBy}
}

func scanHost(row interface{ Scan(...any) error }) (*canopy.Host, error) {
	var (
		h                         canopy.Host
		juris, domains, networks  string
		remind, escalate, updated int64
		active                    int
	)
	err := row.Scan(&h.ID, &h.Name, &h.Kind, &juris, &domains, &networks, &h.Method, &h.Email, &h.Webhook, &h.Language,
		&remind, &escalate, &h.Platform, &active, &updated, &h.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errHostNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read host: %w", err)
	}
	h.Jurisdictions, h.Domains, h.Networks = strings.Fields(juris), strings.Fields(domains), strings.Fields(networks)
	h.RemindAfter, h.EscalateAfter = time.Duration(remind)*time.Second, time.Duration(escalate)*time.Second
	h.Active, h.Updated = active != 0, fromMicros(updated)
	return &h, nil
}

// PutHosts adds hosts or replaces them by id, all in one transaction.
func (db *DB) PutHosts(ctx context.Context, hosts []*canopy.Host) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, h := range hosts {
			_, err := db.exec(tx.tx, `INSERT INTO takedown_hosts (`+hostColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, jurisdictions = excluded.jurisdictions,
				domains = excluded.domains, networks = excluded.networks, method = excluded.method, email = excluded.email,
				webhook = excluded.webhook, language = excluded.language, remind_after = excluded.remind_after,
				escalate_after = excluded.escalate_after, platform = excluded.platform, active = excluded.active,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`, hostArgs(h)...)
			if err != nil {
				return fmt.Errorf("store: put host %s: %w", h.ID, err)
			}
		}
		return nil
	})
}

// Host returns a host by id.
func (db *DB) Host(ctx context.Context, id string) (*canopy.Host, error) {
	return scanHost(db.read.QueryRowContext(ctx, db.q(`SELECT `+hostColumns+` FROM takedown_hosts WHERE id = $1`), id))
}

// Hosts returns every host, by name.
func (db *DB) Hosts(ctx context.Context) ([]canopy.Host, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+hostColumns+` FROM takedown_hosts ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list hosts: %w", err)
	}
	defer rows.Close()
	var out []canopy.Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list hosts: %w", err)
	}
	return out, nil
}

const noticeColumns = `id, host, report_id, reference, status, created_at, queued_at, sent_at, sent_by, attempts, next_at, reminders, error`

func scanNotice(row interface{ Scan(...any) error }) (*canopy.Notice, error) {
	var (
		n                           canopy.Notice
		created, queued, sent, next int64
	)
	err := row.Scan(&n.ID, &n.Host, &n.ReportID, &n.Reference, &n.Status, &created, &queued, &sent, &n.By, &n.Attempts, &next,
		&n.Reminders, &n.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoticeNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read notice: %w", err)
	}
	n.Created, n.Queued, n.Sent, n.Next = fromMicros(created), timeOrZero(queued), timeOrZero(sent), timeOrZero(next)
	return &n, nil
}

const takedownColumns = `id, notice_id, n, host, report_id, url, status, notified_at, acknowledged_at, removed_at, refused_at,
	escalated_at, removed_by, reason`

func scanTakedown(row interface{ Scan(...any) error }) (*SealedTakedown, error) {
	var (
		t                                                   SealedTakedown
		notified, acknowledged, removed, refused, escalated int64
	)
	err := row.Scan(&t.ID, &t.NoticeID, &t.N, &t.Host, &t.ReportID, &t.SealedURL, &t.Status, &notified, &acknowledged, &removed,
		&refused, &escalated, &t.RemovedBy, &t.SealedReason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTakedownNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read takedown: %w", err)
	}
	t.Notified, t.Acknowledged, t.Removed = timeOrZero(notified), timeOrZero(acknowledged), timeOrZero(removed)
	t.Refused, t.Escalated = timeOrZero(refused), timeOrZero(escalated)
	return &t, nil
}

func scanTakedowns(rows *sql.Rows, err error) ([]SealedTakedown, error) {
	if err != nil {
		return nil, fmt.Errorf("store: read takedowns: %w", err)
	}
	defer rows.Close()
	var out []SealedTakedown
	for rows.Next() {
		t, err := scanTakedown(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read takedowns: %w", err)
	}
	return out, nil
}

// CreateNotice stores a notice and its addresses as part of tx.
func (t *Tx) CreateNotice(n *canopy.Notice, items []SealedTakedown) error {
	_, err := t.db.exec(t.tx, `INSERT INTO notices (`+noticeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		n.ID, n.Host, n.ReportID, n.Reference, n.Status, micros(n.Created), microsOrZero(n.Queued), microsOrZero(n.Sent), n.By,
		n.Attempts, microsOrZero(n.Next), n.Reminders, n.Error)
	if isForeignKeyViolation(err) {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: create notice %s: %w", n.ID, err)
	}
	for i := range items {
		it := &items[i]
		_, err := t.db.exec(t.tx, `INSERT INTO takedowns (`+takedownColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			it.ID, n.ID, it.N, n.Host, n.ReportID, it.SealedURL, it.Status, microsOrZero(it.Notified), microsOrZero(it.Acknowledged),
			microsOrZero(it.Removed), microsOrZero(it.Refused), microsOrZero(it.Escalated), it.RemovedBy, bytesOrNil(it.SealedReason))
		if err != nil {
			return fmt.Errorf("store: create takedown %s: %w", it.ID, err)
		}
	}
	return nil
}

// PutNotice writes a notice's state as part of tx.
func (t *Tx) PutNotice(n *canopy.Notice) error {
	_, err := t.db.exec(t.tx, `UPDATE notices SET status = $2, queued_at = $3, sent_at = $4, sent_by = $5, attempts = $6,
		next_at = $7, reminders = $8, error = $9 WHERE id = $1`,
		n.ID, n.Status, microsOrZero(n.Queued), microsOrZero(n.Sent), n.By, n.Attempts, microsOrZero(n.Next), n.Reminders, n.Error)
	if err != nil {
		return fmt.Errorf("store: update notice %s: %w", n.ID, err)
	}
	return nil
}

// PutTakedown writes an address's state as part of tx.
func (t *Tx) PutTakedown(it *SealedTakedown) error {
	_, err := t.db.exec(t.tx, `UPDATE takedowns SET status = $2, notified_at = $3, acknowledged_at = $4, removed_at = $5,
		refused_at = $6, escalated_at = $7, removed_by = $8, reason = $9 WHERE id = $1`,
		it.ID, it.Status, microsOrZero(it.Notified), microsOrZero(it.Acknowledged), microsOrZero(it.Removed), microsOrZero(it.Refused),
		microsOrZero(it.Escalated), it.RemovedBy, bytesOrNil(it.SealedReason))
	if err != nil {
		return fmt.Errorf("store: update takedown %s: %w", it.ID, err)
	}
	return nil
}

// Notice returns a notice and its addresses, in order.
func (db *DB) Notice(ctx context.Context, id string) (*canopy.Notice, []SealedTakedown, error) {
	n, err := scanNotice(db.read.QueryRowContext(ctx, db.q(`SELECT `+noticeColumns+` FROM notices WHERE id = $1`), id))
	if err != nil {
		return nil, nil, err
	}
	items, err := scanTakedowns(db.read.QueryContext(ctx, db.q(`SELECT `+takedownColumns+` FROM takedowns WHERE notice_id = $1 ORDER BY n`), id))
	return n, items, err
}

// LockNotice returns a notice and its addresses as part of tx, the
// notice's row locked on PostgreSQL (SQLite has one writer), so that a
// delivery, a reminder and a host's confirmation never interleave.
func (t *Tx) LockNotice(id string) (*canopy.Notice, []SealedTakedown, error) {
	lock := ""
	if t.db.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	n, err := scanNotice(t.queryRow(`SELECT `+noticeColumns+` FROM notices WHERE id = $1`+lock, id))
	if err != nil {
		return nil, nil, err
	}
	items, err := scanTakedowns(t.tx.Query(t.db.q(`SELECT `+takedownColumns+` FROM takedowns WHERE notice_id = $1 ORDER BY n`), id))
	return n, items, err
}

// ReportNotices returns a report's notices, oldest first.
func (db *DB) ReportNotices(ctx context.Context, reportID string) ([]canopy.Notice, error) {
	return db.notices(ctx, `WHERE report_id = $1 ORDER BY created_at, id`, reportID)
}

// NoticeFilter selects notices for the takedown board.
type NoticeFilter struct {
	Host   string
	Status string // a notice status, or "" for any
	// Open keeps the notices with an address still up.
	Open bool
	// Escalated keeps the notices with an address escalated to law
	// enforcement and still up.
	Escalated     bool
	Limit, Offset int
}

// Notices returns a page of the notices f selects, newest first, and how
// many there are.
func (db *DB) Notices(ctx context.Context, f NoticeFilter) ([]canopy.Notice, int, error) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Host != "" {
		conds = append(conds, "host = "+arg(f.Host))
	}
	if f.Status != "" {
		conds = append(conds, "status = "+arg(f.Status))
	}
	if f.Open {
		conds = append(conds, `EXISTS (SELECT 1 FROM takedowns t WHERE t.notice_id = notices.id AND t.status IN ('pending', 'notified', 'acknowledged'))`)
	}
	if f.Escalated {
		conds = append(conds, `EXISTS (SELECT 1 FROM takedowns t WHERE t.notice_id = notices.id AND t.escalated_at <> 0
			AND t.status IN ('pending', 'notified', 'acknowledged'))`)
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM notices `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count notices: %w", err)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	n := len(args)
	out, err := db.notices(ctx, where+` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		append(args, f.Limit, max(0, f.Offset))...)
	return out, total, err
}

func (db *DB) notices(ctx context.Context, tail string, args ...any) ([]canopy.Notice, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+noticeColumns+` FROM notices `+tail), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list notices: %w", err)
	}
	defer rows.Close()
	var out []canopy.Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list notices: %w", err)
	}
	return out, nil
}

// DueNotices returns the ids of notices whose next delivery or reminder
// is due by at, soonest first, at most limit.
func (db *DB) DueNotices(ctx context.Context, at time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id FROM notices WHERE next_at <> 0 AND next_at <= $1 ORDER BY next_at, id LIMIT $2`),
		micros(at), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due notices: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: due notices: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due notices: %w", err)
	}
	return out, nil
}

// NextDue returns when the soonest notice is due, or zero when none is.
func (db *DB) NextDue(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT min(next_at) FROM notices WHERE next_at <> 0`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("store: next due notice: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return fromMicros(next.Int64), nil
}

// Takedown returns one address of a notice.
func (db *DB) Takedown(ctx context.Context, id string) (*SealedTakedown, error) {
	return scanTakedown(db.read.QueryRowContext(ctx, db.q(`SELECT `+takedownColumns+` FROM takedowns WHERE id = $1`), id))
}

// ReportTakedowns returns every address of a report's notices as part of
// tx, in the order they were made.
func (t *Tx) ReportTakedowns(reportID string) ([]SealedTakedown, error) {
	return scanTakedowns(t.tx.Query(t.db.q(`SELECT `+takedownColumns+` FROM takedowns WHERE report_id = $1 ORDER BY notice_id, n`), reportID))
}

// ReportTakedowns returns every address of a report's notices.
func (db *DB) ReportTakedowns(ctx context.Context, reportID string) ([]SealedTakedown, error) {
	return scanTakedowns(db.read.QueryContext(ctx, db.q(`SELECT `+takedownColumns+` FROM takedowns WHERE report_id = $1 ORDER BY notice_id, n`), reportID))
}

// TakedownTimes is one address as a host's scorecard counts it.
type TakedownTimes struct {
	Host               string
	Notified, Removed  time.Time // Removed is zero while it is up
	Refused, Escalated bool
}

// TakedownTimes returns every address notified in [from, to), for the
// scorecards. Only times and codes are read.
func (db *DB) TakedownTimes(ctx context.Context, from, to time.Time) ([]TakedownTimes, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT host, notified_at, removed_at, refused_at, escalated_at FROM takedowns
		WHERE notified_at <> 0 AND notified_at >= $1 AND notified_at < $2 ORDER BY host`), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("store: takedown times: %w", err)
	}
	defer rows.Close()
	var out []TakedownTimes
	for rows.Next() {
		var (
			t                                     TakedownTimes
			notified, removed, refused, escalated int64
		)
		if err := rows.Scan(&t.Host, &notified, &removed, &refused, &escalated); err != nil {
			return nil, fmt.Errorf("store: takedown times: %w", err)
		}
		t.Notified, t.Removed, t.Refused, t.Escalated = fromMicros(notified), timeOrZero(removed), refused != 0, escalated != 0
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: takedown times: %w", err)
	}
	return out, nil
}
