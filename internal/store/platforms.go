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

// CreatePlatform stores a new platform; a name in use is a conflict.
func (db *DB) CreatePlatform(ctx context.Context, p *canopy.Platform) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO platforms (id, name, contact, created_at, created_by, disabled) VALUES ($1, $2, $3, $4, $5, $6)`),
			p.ID, p.Name, p.Contact, micros(p.Created), p.CreatedBy, p.Disabled)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.platform.name_taken", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create platform: %w", err)
		}
		return nil
	})
}

func scanPlatform(row interface{ Scan(...any) error }) (*canopy.Platform, error) {
	var p canopy.Platform
	var created int64
	err := row.Scan(&p.ID, &p.Name, &p.Contact, &created, &p.CreatedBy, &p.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.platform.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read platform: %w", err)
	}
	p.Created = fromMicros(created)
	return &p, nil
}

const platformColumns = `id, name, contact, created_at, created_by, disabled`

// Platform returns the platform with id.
func (db *DB) Platform(ctx context.Context, id string) (*canopy.Platform, error) {
	return scanPlatform(db.read.QueryRowContext(ctx, db.q(`SELECT `+platformColumns+` FROM platforms WHERE id = $1`), id))
}

// PlatformByName returns the platform called name.
func (db *DB) PlatformByName(ctx context.Context, name string) (*canopy.Platform, error) {
	return scanPlatform(db.read.QueryRowContext(ctx, db.q(`SELECT `+platformColumns+` FROM platforms WHERE name = $1`), name))
}

// CreateAPIKey stores a key with its secret's keyed hash.
func (db *DB) CreateAPIKey(ctx context.Context, k *canopy.APIKey, secretHash []byte) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO api_keys (id, platform_id, secret_hash, scopes, name, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`), k.ID, k.PlatformID, secretHash, strings.Join(k.Scopes, " "), k.Name, micros(k.Created), k.CreatedBy)
		if isForeignKeyViolation(err) {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.platform.not_found", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create api key: %w", err)
		}
		return nil
	})
}

const keyColumns = `k.id, k.platform_id, k.scopes, k.name, k.created_at, k.created_by, k.revoked_at, k.last_used`

func scanKey(row interface{ Scan(...any) error }, extra ...any) (*canopy.APIKey, error) {
	var k canopy.APIKey
	var scopes string
	var created, revoked, used int64
	err := row.Scan(append([]any{&k.ID, &k.PlatformID, &scopes, &k.Name, &created, &k.CreatedBy, &revoked, &used}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.apikey.invalid"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read api key: %w", err)
	}
	k.Scopes = strings.Fields(scopes)
	k.Created, k.Revoked, k.LastUsed = fromMicros(created), timeOrZero(revoked), timeOrZero(used)
	return &k, nil
}

// APIKeyBySecret finds a key by its secret's keyed hash, with whether its
// platform is disabled.
func (db *DB) APIKeyBySecret(ctx context.Context, hash []byte) (*canopy.APIKey, bool, error) {
	var disabled bool
	k, err := scanKey(db.read.QueryRowContext(ctx, db.q(`SELECT `+keyColumns+`, p.disabled FROM api_keys k
		JOIN platforms p ON p.id = k.platform_id WHERE k.secret_hash = $1`), hash), &disabled)
	return k, disabled, err
}

// APIKeys lists a platform's keys, newest first.
func (db *DB) APIKeys(ctx context.Context, platformID string) ([]*canopy.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+keyColumns+` FROM api_keys k WHERE k.platform_id = $1 ORDER BY k.created_at DESC`), platformID)
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	defer rows.Close()
	var out []*canopy.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a platform's key.
func (db *DB) RevokeAPIKey(ctx context.Context, platformID, keyID string, at time.Time) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(db.q(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND platform_id = $3 AND revoked_at = 0`), micros(at), keyID, platformID)
		if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.apikey.not_found"}
		}
		return nil
	})
}

// TouchAPIKey records a key's use. Not group-committed: a lost last-used
// time costs nothing.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, db.q(`UPDATE api_keys SET last_used = $1 WHERE id = $2`), micros(at), id)
	if err != nil {
		return fmt.Errorf("store: touch api key: %w", err)
	}
	return nil
}

// SubmissionResponse returns the answer stored for a platform's
// idempotency key, or ENOTFOUND.
func (db *DB) SubmissionResponse(ctx context.Context, platformID, key string) ([]byte, error) {
	var b []byte
	err := db.read.QueryRowContext(ctx, db.q(`SELECT response FROM platform_submissions WHERE platform_id = $1 AND idempotency_key = $2`),
		platformID, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read submission: %w", err)
	}
	return b, nil
}

// SaveSubmissionResponse keeps the answer to a platform's idempotency key;
// the first answer stays.
func (db *DB) SaveSubmissionResponse(ctx context.Context, platformID, key string, response []byte, at time.Time) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO platform_submissions (platform_id, idempotency_key, response, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`), platformID, key, response, micros(at))
		if err != nil {
			return fmt.Errorf("store: save submission: %w", err)
		}
		return nil
	})
}
