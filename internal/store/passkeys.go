package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/canopy-org/canopy"
)

// Passkey is a staff member's WebAuthn credential as stored. The store
// does not interpret the key: PublicKey holds the COSE_Key bytes exactly
// as the authenticator encoded them, and the staff package parses them.
type Passkey struct {
	CredentialID []byte
	AccountID    string
	Name         string
	PublicKey    []byte
	SignCount    uint32
	Created      time.Time
	LastUsed     time.Time // zero until first used
}

const passkeyColumns = `credential_id, account_id, name, public_key, sign_count, created_at, last_used`

func scanPasskey(row interface{ Scan(...any) error }) (*Passkey, error) {
	var (
		p              Passkey
		count          int64
		created, lastU int64
	)
	err := row.Scan(&p.CredentialID, &p.AccountID, &p.Name, &p.PublicKey, &count, &created, &lastU)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.passkey.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read passkey: %w", err)
	}
	p.SignCount = uint32(count)
	p.Created = fromMicros(created)
	if lastU > 0 {
		p.LastUsed = fromMicros(lastU)
	}
	return &p, nil
}

// CreatePasskey stores a new passkey. A credential id already stored, for
// any account, is a conflict: the same authenticator key must not sign in
// two people.
func (db *DB) CreatePasskey(ctx context.Context, p *Passkey) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO passkeys (credential_id, account_id, name, public_key, sign_count, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`),
			p.CredentialID, p.AccountID, p.Name, p.PublicKey, int64(p.SignCount), micros(p.Created))
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.passkey.taken", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create passkey: %w", err)
		}
		return nil
	})
}

// PasskeysOf lists an account's passkeys, oldest first.
func (db *DB) PasskeysOf(ctx context.Context, accountID string) ([]*Passkey, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+passkeyColumns+` FROM passkeys
		WHERE account_id = $1 ORDER BY created_at, credential_id`), accountID)
	if err != nil {
		return nil, fmt.Errorf("store: list passkeys: %w", err)
	}
	defer rows.Close()
	var out []*Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByCredentialID returns the passkey with a credential id, whoever
// it belongs to; the caller checks the owner.
func (db *DB) PasskeyByCredentialID(ctx context.Context, id []byte) (*Passkey, error) {
	return scanPasskey(db.read.QueryRowContext(ctx, db.q(`SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`), id))
}

// UpdatePasskeyUse records that a passkey signed in at with the
// authenticator's signature counter signCount, but only when the counter
// moved forward (or when the authenticator keeps none, and both are
// zero), as WebAuthn §7.2 asks; it reports whether it did. A counter that
// did not move means the key may have been cloned. Doing the comparison
// in the UPDATE keeps it right when two sign-ins race.
func (db *DB) UpdatePasskeyUse(ctx context.Context, id []byte, signCount uint32, at time.Time) (bool, error) {
	var fresh bool
	err := db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`UPDATE passkeys SET sign_count = $1, last_used = $2
			WHERE credential_id = $3 AND (sign_count < $1 OR ($1 = 0 AND sign_count = 0))`),
			int64(signCount), micros(at), id)
		if err != nil {
			return fmt.Errorf("store: update passkey use: %w", err)
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// DeletePasskey removes one of an account's passkeys. A credential that is
// not the account's is not found.
func (db *DB) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`DELETE FROM passkeys WHERE credential_id = $1 AND account_id = $2`), id, accountID)
		if err != nil {
			return fmt.Errorf("store: delete passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.passkey.not_found"}
		}
		return nil
	})
}
