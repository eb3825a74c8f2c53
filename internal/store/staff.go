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

// StoredAccount is a staff account with the secrets the staff package
// checks. The store keeps them as it is given them: password hashes are
// already hashed, second-factor seeds already sealed.
type StoredAccount struct {
	canopy.Account
	PasswordHash string
	TOTPSecret   []byte // sealed; nil until enrolled
	TOTPLastStep int64
	FailedLogins int
	LockedUntil  time.Time
	HasPasskeys  bool
}

const accountColumns = `id, email, name, role, jurisdictions, created_at, disabled, password_hash,
	totp_secret, totp_last_step, failed_logins, locked_until,
	EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = accounts.id)`

func scanAccount(row interface{ Scan(...any) error }) (*StoredAccount, error) {
	var (
		a                StoredAccount
		jur              string
		created, lockedU int64
	)
	err := row.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &jur, &created, &a.Disabled, &a.PasswordHash,
		&a.TOTPSecret, &a.TOTPLastStep, &a.FailedLogins, &lockedU, &a.HasPasskeys)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.account.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read account: %w", err)
	}
	a.Jurisdictions = strings.Fields(jur)
	a.Created = fromMicros(created)
	if lockedU > 0 {
		a.LockedUntil = fromMicros(lockedU)
	}
	a.Enrolled = a.PasswordHash != "" && (a.TOTPSecret != nil || a.HasPasskeys)
	return &a, nil
}

// CreateAccount stores a new account. An email already in use is a
// conflict.
func (db *DB) CreateAccount(ctx context.Context, a *StoredAccount) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO accounts (id, email, name, role, jurisdictions, created_at, disabled, password_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
			a.ID, strings.ToLower(a.Email), a.Name, string(a.Role), strings.Join(a.Jurisdictions, " "),
			micros(a.Created), a.Disabled, a.PasswordHash)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.account.email_taken", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create account: %w", err)
		}
		return nil
	})
}

// Account returns the account with id.
func (db *DB) Account(ctx context.Context, id string) (*StoredAccount, error) {
	return scanAccount(db.read.QueryRowContext(ctx, db.q(`SELECT `+accountColumns+` FROM accounts WHERE id = $1`), id))
}

// AccountByEmail returns the account with email (any case).
func (db *DB) AccountByEmail(ctx context.Context, email string) (*StoredAccount, error) {
	return scanAccount(db.read.QueryRowContext(ctx, db.q(`SELECT `+accountColumns+` FROM accounts WHERE email = $1`),
		strings.ToLower(email)))
}

// Accounts lists every account by email.
func (db *DB) Accounts(ctx context.Context) ([]*StoredAccount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	var out []*StoredAccount
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountAccounts returns how many accounts exist.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count accounts: %w", err)
	}
	return n, nil
}

// AccountUpdate is a change to an account; nil fields stay as they are.
type AccountUpdate struct {
	Name          *string
	Role          *canopy.Role
	Jurisdictions *[]string
	Disabled      *bool
	PasswordHash  *string
	TOTPSecret    *[]byte
	TOTPLastStep  *int64
	FailedLogins  *int
	LockedUntil   *time.Time
}

// UpdateAccount applies u to the account with id.
func (db *DB) UpdateAccount(ctx context.Context, id string, u AccountUpdate) error {
	var sets []string
	var args []any
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.Name != nil {
		set("name", *u.Name)
	}
	if u.Role != nil {
		set("role", string(*u.Role))
	}
	if u.Jurisdictions != nil {
		set("jurisdictions", strings.Join(*u.Jurisdictions, " "))
	}
	if u.Disabled != nil {
		set("disabled", *u.Disabled)
	}
	if u.PasswordHash != nil {
		set("password_hash", *u.PasswordHash)
	}
	if u.TOTPSecret != nil {
		set("totp_secret", *u.TOTPSecret)
	}
	if u.TOTPLastStep != nil {
		set("totp_last_step", *u.TOTPLastStep)
	}
	if u.FailedLogins != nil {
		set("failed_logins", *u.FailedLogins)
	}
	if u.LockedUntil != nil {
		var v int64
		if !u.LockedUntil.IsZero() {
			v = micros(*u.LockedUntil)
		}
		set("locked_until", v)
	}
	if len(sets) == 0 {
		return nil
	}
	args = append(args, id)
	query := db.q(`UPDATE accounts SET ` + strings.Join(sets, ", ") + fmt.Sprintf(` WHERE id = $%d`, len(args)))
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(query, args...)
		if err != nil {
			return fmt.Errorf("store: update account %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.account.not_found"}
		}
		return nil
	})
}

// UseTOTPStep records that the account used the TOTP code of step, but
// only if no code of that step or a later one was used before; it reports
// whether the step was fresh. This is what makes a code single-use even
// when two logins race.
func (db *DB) UseTOTPStep(ctx context.Context, accountID string, step int64) (bool, error) {
	var fresh bool
	err := db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`), step, accountID)
		if err != nil {
			return fmt.Errorf("store: use totp step: %w", err)
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// SetRecoveryCodes replaces an account's recovery codes.
func (db *DB) SetRecoveryCodes(ctx context.Context, accountID string, hashes [][]byte) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(db.q(`DELETE FROM recovery_codes WHERE account_id = $1`), accountID); err != nil {
			return fmt.Errorf("store: replace recovery codes: %w", err)
		}
		for _, h := range hashes {
			if _, err := tx.Exec(db.q(`INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)`), accountID, h); err != nil {
				return fmt.Errorf("store: replace recovery codes: %w", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks an unused recovery code as used and reports
// whether there was one.
func (db *DB) UseRecoveryCode(ctx context.Context, accountID string, hash []byte, at time.Time) (bool, error) {
	var ok bool
	err := db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 AND used_at = 0`),
			micros(at), accountID, hash)
		if err != nil {
			return fmt.Errorf("store: use recovery code: %w", err)
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

// RecoveryCodesLeft counts an account's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM recovery_codes WHERE account_id = $1 AND used_at = 0`), accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count recovery codes: %w", err)
	}
	return n, nil
}

// StoredSession is a session as stored.
type StoredSession struct {
	canopy.Session
	TokenHash []byte
	Stage     string
	Revoked   time.Time
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *StoredSession) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO sessions (id, token_hash, account_id, stage, created_at, last_seen)
			VALUES ($1, $2, $3, $4, $5, $6)`), s.ID, s.TokenHash, s.AccountID, s.Stage, micros(s.Created), micros(s.LastSeen))
		if err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		return nil
	})
}

const sessionColumns = `id, token_hash, account_id, stage, created_at, last_seen, revoked_at`

func scanSession(row interface{ Scan(...any) error }) (*StoredSession, error) {
	var s StoredSession
	var created, seen, revoked int64
	err := row.Scan(&s.ID, &s.TokenHash, &s.AccountID, &s.Stage, &created, &seen, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.session.none"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read session: %w", err)
	}
	s.Created, s.LastSeen = fromMicros(created), fromMicros(seen)
	if revoked > 0 {
		s.Revoked = fromMicros(revoked)
	}
	return &s, nil
}

// SessionByToken finds a session by the keyed hash of its cookie secret.
func (db *DB) SessionByToken(ctx context.Context, hash []byte) (*StoredSession, error) {
	return scanSession(db.read.QueryRowContext(ctx, db.q(`SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`), hash))
}

// Sessions lists an account's live sessions, newest first.
func (db *DB) Sessions(ctx context.Context, accountID string) ([]*StoredSession, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+sessionColumns+` FROM sessions
		WHERE account_id = $1 AND revoked_at = 0 ORDER BY created_at DESC`), accountID)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*StoredSession
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchSession moves a session to stage and records that it was seen at.
// It is not group-committed: losing a last-seen time to a crash costs
// nothing.
func (db *DB) TouchSession(ctx context.Context, id, stage string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, db.q(`UPDATE sessions SET stage = $1, last_seen = $2 WHERE id = $3 AND revoked_at = 0`),
		stage, micros(at), id)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// RevokeSessions ends sessions: the one with id, or when id is empty every
// session of accountID.
func (db *DB) RevokeSessions(ctx context.Context, accountID, id string, at time.Time) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		var err error
		if id != "" {
			_, err = tx.Exec(db.q(`UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at = 0`), micros(at), id, accountID)
		} else {
			_, err = tx.Exec(db.q(`UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at = 0`), micros(at), accountID)
		}
		if err != nil {
			return fmt.Errorf("store: revoke sessions: %w", err)
		}
		return nil
	})
}

// CreateOnetimeToken stores a one-time token's keyed hash.
func (db *DB) CreateOnetimeToken(ctx context.Context, hash []byte, purpose, accountID string, expires time.Time) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO onetime_tokens (token_hash, purpose, account_id, expires_at) VALUES ($1, $2, $3, $4)`),
			hash, purpose, accountID, micros(expires))
		if err != nil {
			return fmt.Errorf("store: create one-time token: %w", err)
		}
		return nil
	})
}

// UseOnetimeToken spends a live token of purpose and returns the account
// it was made for. A used, expired or unknown token is not found.
func (db *DB) UseOnetimeToken(ctx context.Context, hash []byte, purpose string, at time.Time) (string, error) {
	var account string
	err := db.commit.do(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRow(db.q(`UPDATE onetime_tokens SET used_at = $1
			WHERE token_hash = $2 AND purpose = $3 AND used_at = 0 AND expires_at > $1 RETURNING account_id`),
			micros(at), hash, purpose).Scan(&account)
		if errors.Is(err, sql.ErrNoRows) {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.token.invalid"}
		}
		if err != nil {
			return fmt.Errorf("store: use one-time token: %w", err)
		}
		return nil
	})
	return account, err
}

// PeekOnetimeToken reports whether a live token of purpose exists, without
// spending it, and returns its account.
func (db *DB) PeekOnetimeToken(ctx context.Context, hash []byte, purpose string, at time.Time) (string, error) {
	var account string
	err := db.read.QueryRowContext(ctx, db.q(`SELECT account_id FROM onetime_tokens
		WHERE token_hash = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3`), hash, purpose, micros(at)).Scan(&account)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.token.invalid"}
	}
	if err != nil {
		return "", fmt.Errorf("store: read one-time token: %w", err)
	}
	return account, nil
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}
