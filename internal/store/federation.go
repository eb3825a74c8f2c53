package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
)

var errPeerNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.peer.not_found"}

const peerColumns = `id, name, url, signing_key, encryption_key, jurisdictions, share, banks, state, added_at, added_by`

func scanPeer(row interface{ Scan(...any) error }) (*canopy.Peer, error) {
	var p canopy.Peer
	var juris, share, banks string
	var added int64
	err := row.Scan(&p.ID, &p.Name, &p.URL, &p.SigningKey, &p.EncryptionKey, &juris, &share, &banks, &p.State, &added, &p.AddedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errPeerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read peer: %w", err)
	}
	p.Jurisdictions, p.Share, p.Banks = strings.Fields(juris), strings.Fields(share), strings.Fields(banks)
	p.Added = fromMicros(added)
	return &p, nil
}

// CreatePeer adds a peer. Its id and its signing key must be new.
func (db *DB) CreatePeer(ctx context.Context, p *canopy.Peer) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO peers (`+peerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.ID, p.Name, p.URL, p.SigningKey, p.EncryptionKey, strings.Join(p.Jurisdictions, " "),
			strings.Join(p.Share, " "), strings.Join(p.Banks, " "), p.State, micros(p.Added), p.AddedBy)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.exists", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: add peer %s: %w", p.ID, err)
		}
		return nil
	})
}

// UpdatePeer writes a peer's URL, jurisdictions, profile, banks and state.
// Its id and keys never change: a new key is a new peer.
func (db *DB) UpdatePeer(ctx context.Context, p *canopy.Peer) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `UPDATE peers SET url = $2, jurisdictions = $3, share = $4, banks = $5, state = $6 WHERE id = $1`,
			p.ID, p.URL, strings.Join(p.Jurisdictions, " "), strings.Join(p.Share, " "), strings.Join(p.Banks, " "), p.State)
		if err != nil {
			return fmt.Errorf("store: update peer %s: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPeerNotFound
		}
		return nil
	})
}

// Peer returns the peer with the given local id.
func (db *DB) Peer(ctx context.Context, id string) (*canopy.Peer, error) {
	return scanPeer(db.read.QueryRowContext(ctx, db.q(`SELECT `+peerColumns+` FROM peers WHERE id = $1`), id))
}

// PeerByKey returns the peer whose Ed25519 public key is key.
func (db *DB) PeerByKey(ctx context.Context, key []byte) (*canopy.Peer, error) {
	return scanPeer(db.read.QueryRowContext(ctx, db.q(`SELECT `+peerColumns+` FROM peers WHERE signing_key = $1`), key))
}

// Peers returns every peer, removed ones included, by id.
func (db *DB) Peers(ctx context.Context) ([]*canopy.Peer, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+peerColumns+` FROM peers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list peers: %w", err)
	}
	defer rows.Close()
	var out []*canopy.Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Route is a routing rule: a jurisdiction's reports go to a peer.
type Route struct {
	Jurisdiction string
	PeerID       string
	// Auto refers reports as soon as they are routed; otherwise an
	// analyst confirms each referral.
	Auto bool
}

// SetRoute adds or replaces the rule for r.Jurisdiction.
func (db *DB) SetRoute(ctx context.Context, r Route) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO routes (jurisdiction, peer_id, auto) VALUES ($1, $2, $3)
			ON CONFLICT (jurisdiction) DO UPDATE SET peer_id = excluded.peer_id, auto = excluded.auto`,
			r.Jurisdiction, r.PeerID, boolInt(r.Auto))
		if isForeignKeyViolation(err) {
			return errPeerNotFound
		}
		if err != nil {
			return fmt.Errorf("store: set route for %s: %w", r.Jurisdiction, err)
		}
		return nil
	})
}

// DeleteRoute removes the rule for a jurisdiction.
func (db *DB) DeleteRoute(ctx context.Context, jurisdiction string) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `DELETE FROM routes WHERE jurisdiction = $1`, jurisdiction)
		if err != nil {
			return fmt.Errorf("store: delete route for %s: %w", jurisdiction, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.route.not_found"}
		}
		return nil
	})
}

// Routes returns every routing rule by jurisdiction.
func (db *DB) Routes(ctx context.Context) ([]Route, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT jurisdiction, peer_id, auto FROM routes ORDER BY jurisdiction`)
	if err != nil {
		return nil, fmt.Errorf("store: list routes: %w", err)
	}
	defer rows.Close()
	var out []Route
	for rows.Next() {
		var r Route
		var auto int
		if err := rows.Scan(&r.Jurisdiction, &r.PeerID, &auto); err != nil {
			return nil, fmt.Errorf("store: list routes: %w", err)
		}
		r.Auto = auto != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RoutingBacklog returns up to limit reports the router has not yet
// looked at, oldest first.
func (db *DB) RoutingBacklog(ctx context.Context, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT report_id FROM report_state WHERE route = '' ORDER BY received_at LIMIT $1`), limit)
	if err != nil {
		return nil, fmt.Errorf("store: routing backlog: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: routing backlog: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Unrouted returns the open reports whose responsible jurisdiction is
// abroad and that no rule routes, oldest first, with how many there are.
// f.Jurisdictions limits them as it limits the queue.
func (db *DB) Unrouted(ctx context.Context, f QueueFilter) ([]canopy.TriageState, int, error) {
	where, args := f.where(`route = 'unrouted' AND stage IN ('new', 'claimed', 'reopened')`, "")
	var total int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM report_state WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count unrouted: %w", err)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit, max(0, f.Offset))
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+stateColumns+` FROM report_state WHERE `+where+`
		ORDER BY received_at LIMIT $`+itoa(len(args)-1)+` OFFSET $`+itoa(len(args))), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unrouted: %w", err)
	}
	defer rows.Close()
	var out []canopy.TriageState
	for rows.Next() {
		s, err := scanState(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *s)
	}
	return out, total, rows.Err()
}

// OutboxMessage is a message to a peer, as the outbox keeps it.
type OutboxMessage struct {
	Seq       int64
	ID        string
	PeerID    string
	Kind      string
	Thread    string
	N         int64 // assigned by Enqueue
	Created   time.Time
	Sealed    []byte // the payload, encrypted to the peer
	Delivered time.Time
	Attempts  int
	LastError string
}

// Enqueue adds a message to the outbox as part of tx, numbering it after
// the last message of its thread to the same peer. It sets m.N.
func (t *Tx) Enqueue(m *OutboxMessage) error {
	st, err := t.db.wstmt(t.tx, `INSERT INTO threads (peer_id, thread, outbound, last_n) VALUES ($1, $2, 1, 1)
		ON CONFLICT (peer_id, thread, outbound) DO UPDATE SET last_n = threads.last_n + 1 RETURNING last_n`)
	if err != nil {
		return err
	}
	if err := st.QueryRow(m.PeerID, m.Thread).Scan(&m.N); err != nil {
		return fmt.Errorf("store: number message in thread %s: %w", m.Thread, err)
	}
	if _, err := t.db.exec(t.tx, `INSERT INTO outbox (id, peer_id, kind, thread, n, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		m.ID, m.PeerID, m.Kind, m.Thread, m.N, micros(m.Created), m.Sealed); err != nil {
		return fmt.Errorf("store: enqueue message %s: %w", m.ID, err)
	}
	return nil
}

// Pending returns up to limit undelivered messages to a peer, in the
// order they were enqueued.
func (db *DB) Pending(ctx context.Context, peerID string, limit int) ([]OutboxMessage, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT seq, id, peer_id, kind, thread, n, created_at, sealed, attempts, last_error
		FROM outbox WHERE peer_id = $1 AND delivered_at = 0 ORDER BY seq LIMIT $2`), peerID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending messages to %s: %w", peerID, err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var created int64
		if err := rows.Scan(&m.Seq, &m.ID, &m.PeerID, &m.Kind, &m.Thread, &m.N, &created, &m.Sealed, &m.Attempts, &m.LastError); err != nil {
			return nil, fmt.Errorf("store: pending messages to %s: %w", peerID, err)
		}
		m.Created = fromMicros(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PendingCount returns how many messages of a kind wait for a peer.
func (db *DB) PendingCount(ctx context.Context, peerID, kind string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM outbox WHERE peer_id = $1 AND delivered_at = 0 AND kind = $2`),
		peerID, kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count messages to %s: %w", peerID, err)
	}
	return n, nil
}

// MarkDelivered records that the peer has the messages with these ids.
func (db *DB) MarkDelivered(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return db.Update(ctx, func(tx *Tx) error {
		for _, id := range ids {
			if _, err := db.exec(tx.tx, `UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, last_error = '' WHERE id = $1`,
				id, micros(at)); err != nil {
				return fmt.Errorf("store: mark %s delivered: %w", id, err)
			}
		}
		return nil
	})
}

// MarkAttempt records a failed delivery attempt of a message and why.
func (db *DB) MarkAttempt(ctx context.Context, id, why string) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := db.exec(tx.tx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, why); err != nil {
			return fmt.Errorf("store: record attempt on %s: %w", id, err)
		}
		return nil
	})
}

// OutboxStats is the state of the messages to one peer.
type OutboxStats struct {
	PeerID        string
	Pending       int
	OldestPending time.Time
	Delivered     int
	LastError     string
}

// OutboxStats returns, for each peer with messages, how many wait, since
// when, and the last error met.
func (db *DB) OutboxStats(ctx context.Context) (map[string]*OutboxStats, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT peer_id,
		sum(CASE WHEN delivered_at = 0 THEN 1 ELSE 0 END),
		coalesce(min(CASE WHEN delivered_at = 0 THEN created_at END), 0),
		sum(CASE WHEN delivered_at <> 0 THEN 1 ELSE 0 END)
		FROM outbox GROUP BY peer_id`)
	if err != nil {
		return nil, fmt.Errorf("store: outbox stats: %w", err)
	}
	defer rows.Close()
	out := map[string]*OutboxStats{}
	for rows.Next() {
		s := &OutboxStats{}
		var oldest int64
		if err := rows.Scan(&s.PeerID, &s.Pending, &oldest, &s.Delivered); err != nil {
			return nil, fmt.Errorf("store: outbox stats: %w", err)
		}
		s.OldestPending = timeOrZero(oldest)
		out[s.PeerID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox stats: %w", err)
	}
	for id, s := range out {
		if s.Pending == 0 {
			continue
		}
		err := db.read.QueryRowContext(ctx, db.q(`SELECT last_error FROM outbox WHERE peer_id = $1 AND delivered_at = 0
			ORDER BY seq LIMIT 1`), id).Scan(&s.LastError)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: outbox stats: %w", err)
		}
	}
	return out, nil
}

// Seen reports whether a peer's message was taken before.
func (db *DB) Seen(ctx context.Context, peerID, id string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM inbox WHERE peer_id = $1 AND id = $2`), peerID, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: look up message %s: %w", id, err)
	}
	return n > 0, nil
}

// Receipt outcomes of an incoming message.
const (
	Fresh      = iota // new: apply it
	Duplicate         // seen before: acknowledge, change nothing
	OutOfOrder        // an earlier message of its thread is missing: ask again later
)

// Receive records an incoming message as part of tx, after checking it is
// neither a duplicate nor ahead of its thread. Only a Fresh message is
// recorded; want is the number the thread expects next.
func (t *Tx) Receive(peerID, id, kind, thread string, n int64, at time.Time) (outcome int, want int64, err error) {
	var seen int
	err = t.queryRow(`SELECT count(*) FROM inbox WHERE peer_id = $1 AND id = $2`, peerID, id).Scan(&seen)
	if err != nil {
		return 0, 0, fmt.Errorf("store: look up message %s: %w", id, err)
	}
	if seen > 0 {
		return Duplicate, 0, nil
	}
	var last int64
	err = t.queryRow(`SELECT last_n FROM threads WHERE peer_id = $1 AND thread = $2 AND outbound = 0`, peerID, thread).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("store: thread %s: %w", thread, err)
	}
	switch {
	case n <= last:
		return Duplicate, last + 1, nil
	case n > last+1:
		return OutOfOrder, last + 1, nil
	}
	if _, err := t.db.exec(t.tx, `INSERT INTO threads (peer_id, thread, outbound, last_n) VALUES ($1, $2, 0, $3)
		ON CONFLICT (peer_id, thread, outbound) DO UPDATE SET last_n = excluded.last_n`, peerID, thread, n); err != nil {
		return 0, 0, fmt.Errorf("store: advance thread %s: %w", thread, err)
	}
	if _, err := t.db.exec(t.tx, `INSERT INTO inbox (id, peer_id, kind, thread, n, received_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, peerID, kind, thread, n, micros(at)); err != nil {
		return 0, 0, fmt.Errorf("store: record message %s: %w", id, err)
	}
	return Fresh, n + 1, nil
}

// UseNonce records a delivery attempt's nonce until expires, as part of
// tx. It reports false when the nonce was already used: a replay.
func (t *Tx) UseNonce(nonce []byte, expires time.Time) (bool, error) {
	res, err := t.db.exec(t.tx, `INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nonce, micros(expires))
	if err != nil {
		return false, fmt.Errorf("store: record nonce: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ForgetNonces drops nonces that expired before now; a replay that old is
// refused by its timestamp.
func (db *DB) ForgetNonces(ctx context.Context, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.Exec(db.q(`DELETE FROM nonces WHERE expires_at < $1`), micros(now)); err != nil {
			return fmt.Errorf("store: forget nonces: %w", err)
		}
		return nil
	})
}

// Referral is a report sent to a peer, or received from one.
type Referral struct {
	PeerID   string
	ID       string // the same on both nodes
	Outbound bool   // we referred it
	ReportID string // our report
	Created  time.Time
	Status   string // the last status, canopy.Referral…
	StatusAt time.Time
}

// PutReferral records a referral as part of tx. A referral already
// recorded is a conflict.
func (t *Tx) PutReferral(r *Referral) error {
	_, err := t.db.exec(t.tx, `INSERT INTO referrals (peer_id, id, outbound, report_id, created_at, status, status_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.PeerID, r.ID, boolInt(r.Outbound), r.ReportID, micros(r.Created), r.Status, microsOrZero(r.StatusAt))
	if isUniqueViolation(err) {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.referral.exists", Err: err}
	}
	if err != nil {
		return fmt.Errorf("store: record referral %s: %w", r.ID, err)
	}
	return nil
}

// SetReferralStatus records a referral's latest status as part of tx.
func (t *Tx) SetReferralStatus(peerID, id string, outbound bool, status string, at time.Time) error {
	res, err := t.db.exec(t.tx, `UPDATE referrals SET status = $4, status_at = $5 WHERE peer_id = $1 AND id = $2 AND outbound = $3`,
		peerID, id, boolInt(outbound), status, micros(at))
	if err != nil {
		return fmt.Errorf("store: referral %s status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.referral.not_found"}
	}
	return nil
}

const referralColumns = `peer_id, id, outbound, report_id, created_at, status, status_at`

func scanReferral(row interface{ Scan(...any) error }) (*Referral, error) {
	var r Referral
	var out int
	var created, statusAt int64
	err := row.Scan(&r.PeerID, &r.ID, &out, &r.ReportID, &created, &r.Status, &statusAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.referral.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read referral: %w", err)
	}
	r.Outbound, r.Created, r.StatusAt = out != 0, fromMicros(created), timeOrZero(statusAt)
	return &r, nil
}

// Referral returns a referral as part of tx.
func (t *Tx) Referral(peerID, id string, outbound bool) (*Referral, error) {
	return scanReferral(t.queryRow(`SELECT `+referralColumns+` FROM referrals
		WHERE peer_id = $1 AND id = $2 AND outbound = $3`, peerID, id, boolInt(outbound)))
}

// Referral returns a referral by its peer, id and direction.
func (db *DB) Referral(ctx context.Context, peerID, id string, outbound bool) (*Referral, error) {
	return scanReferral(db.read.QueryRowContext(ctx, db.q(`SELECT `+referralColumns+` FROM referrals
		WHERE peer_id = $1 AND id = $2 AND outbound = $3`), peerID, id, boolInt(outbound)))
}

const referralsOfQuery = `SELECT ` + referralColumns + ` FROM referrals WHERE report_id = $1 ORDER BY created_at, peer_id`

// ReferralsOf returns a report's referrals, both ways, oldest first.
func (db *DB) ReferralsOf(ctx context.Context, reportID string) ([]Referral, error) {
	return scanReferrals(reportID)(db.read.QueryContext(ctx, db.q(referralsOfQuery), reportID))
}

// scanReferrals reads the rows of referralsOfQuery.
func scanReferrals(reportID string) func(*sql.Rows, error) ([]Referral, error) {
	return func(rows *sql.Rows, err error) ([]Referral, error) {
		if err != nil {
			return nil, fmt.Errorf("store: referrals of %s: %w", reportID, err)
		}
		defer rows.Close()
		var out []Referral
		for rows.Next() {
			r, err := scanReferral(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, *r)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: referrals of %s: %w", reportID, err)
		}
		return out, nil
	}
}

// CountReferrals returns how many referrals the node has made (outbound)
// or received.
func (db *DB) CountReferrals(ctx context.Context, outbound bool) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM referrals WHERE outbound = $1`), boolInt(outbound)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count referrals: %w", err)
	}
	return n, nil
}

// Subscription is a hash-bank subscription between this node and a peer.
type Subscription struct {
	PeerID    string
	Bank      string // the bank's name at the publishing node
	Outbound  bool   // the peer takes our bank
	LocalBank string // the local bank's id
	Cursor    int64  // publisher: the last change sent
}

// PutSubscription records a subscription, or leaves an existing one as it
// is. It reports whether it was new.
func (db *DB) PutSubscription(ctx context.Context, s *Subscription) (bool, error) {
	var created bool
	err := db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `INSERT INTO bank_subscriptions (peer_id, bank, outbound, local_bank, cursor)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, s.PeerID, s.Bank, boolInt(s.Outbound), s.LocalBank, s.Cursor)
		if err != nil {
			return fmt.Errorf("store: subscribe to %s: %w", s.Bank, err)
		}
		n, _ := res.RowsAffected()
		created = n == 1
		return nil
	})
	return created, err
}

// PutSubscription records a subscription as part of tx, as DB's does.
func (t *Tx) PutSubscription(s *Subscription) error {
	_, err := t.db.exec(t.tx, `INSERT INTO bank_subscriptions (peer_id, bank, outbound, local_bank, cursor)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, s.PeerID, s.Bank, boolInt(s.Outbound), s.LocalBank, s.Cursor)
	if err != nil {
		return fmt.Errorf("store: subscribe to %s: %w", s.Bank, err)
	}
	return nil
}

// AdvanceSubscription moves a publisher's cursor as part of tx.
func (t *Tx) AdvanceSubscription(peerID, bank string, cursor int64) error {
	if _, err := t.db.exec(t.tx, `UPDATE bank_subscriptions SET cursor = $3 WHERE peer_id = $1 AND bank = $2 AND outbound = 1`,
		peerID, bank, cursor); err != nil {
		return fmt.Errorf("store: advance subscription to %s: %w", bank, err)
	}
	return nil
}

// Subscriptions returns the subscriptions one way: outbound, those peers
// hold to our banks; otherwise ours to theirs.
func (db *DB) Subscriptions(ctx context.Context, outbound bool) ([]Subscription, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT peer_id, bank, outbound, local_bank, cursor FROM bank_subscriptions
		WHERE outbound = $1 ORDER BY peer_id, bank`), boolInt(outbound))
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		var s Subscription
		var ob int
		if err := rows.Scan(&s.PeerID, &s.Bank, &ob, &s.LocalBank, &s.Cursor); err != nil {
			return nil, fmt.Errorf("store: subscriptions: %w", err)
		}
		s.Outbound = ob != 0
		out = append(out, s)
	}
	return out, rows.Err()
}

// DropDeliveredPayloads empties the sealed payload of up to limit
// messages delivered before cutoff, and returns how many it emptied. The
// node cannot read its outbox back, so a delivered payload is only bulk;
// each row stays as the record of what went where and when. An emptied
// row is never sent again: only undelivered rows are.
func (db *DB) DropDeliveredPayloads(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `UPDATE outbox SET sealed = $1 WHERE seq IN (SELECT seq FROM outbox
			WHERE delivered_at <> 0 AND delivered_at < $2 AND length(sealed) > 0 ORDER BY seq LIMIT $3)`, []byte{}, micros(cutoff), limit)
		if err != nil {
			return fmt.Errorf("store: drop delivered payloads: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
