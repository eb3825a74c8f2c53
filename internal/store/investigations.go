package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// CreateInvestigation stores a new investigation and its wrapped key.
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
		return nil
	})
}

// Investigation returns an investigation with its sealed title and key.
func (db *DB) Investigation(ctx context.Context, id string) (*SealedInvestigation, error) {
	var (
		inv            SealedInvestigation
		opened, closed int64
	)
	err := db.read.QueryRowContext(ctx, db.q(`SELECT i.id, i.jurisdiction, i.status, i.title, i.opened_at, i.opened_by, i.closed_at, k.wrapped
		FROM investigations i LEFT JOIN investigation_keys k ON k.investigation_id = i.id WHERE i.id = $1`), id).
		Scan(&inv.ID, &inv.Jurisdiction, &inv.Status, &inv.Title, &opened, &inv.OpenedBy, &closed, &inv.WrappedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvestigationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read investigation %s: %w", id, err)
	}
	inv.Opened, inv.Closed = fromMicros(opened), timeOrZero(closed)
	return &inv, nil
}

// AddEvidence stores an evidence item and the first step of its chain of
// custody, its acquisition, in one transaction: an item never exists
// without its custody.
func (db *DB) AddEvidence(ctx context.Context, e *SealedEvidence, acquired *SealedCustody) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO evidence (id, investigation_id, name, media_type, size, sha256, md5, pdq, blob_key, data_key,
			acquired_at, acquired_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			e.ID, e.InvestigationID, e.Name, e.MediaType, e.Size, e.SHA256, e.MD5, e.PDQ, e.BlobKey, e.DataKey, micros(e.Acquired), e.AcquiredBy)
		if isForeignKeyViolation(err) {
			return errInvestigationNotFound
		}
		if err != nil {
			return fmt.Errorf("store: add evidence %s: %w", e.ID, err)
		}
		return tx.AddCustody(acquired)
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

// InvestigationEvidence returns an investigation's items, oldest first.
func (db *DB) InvestigationEvidence(ctx context.Context, investigationID string) ([]SealedEvidence, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+evidenceColumns+` FROM evidence WHERE investigation_id = $1
		ORDER BY acquired_at, id`), investigationID)
	if err != nil {
		return nil, fmt.Errorf("store: evidence of %s: %w", investigationID, err)
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

// Custody returns an item's chain of custody, in order.
func (db *DB) Custody(ctx context.Context, itemID string) ([]SealedCustody, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT item_id, n, action, at, actor, why, sha256 FROM custody WHERE item_id = $1 ORDER BY n`), itemID)
	if err != nil {
		return nil, fmt.Errorf("store: custody of %s: %w", itemID, err)
	}
	defer rows.Close()
	var out []SealedCustody
	for rows.Next() {
		var (
			c  SealedCustody
			at int64
		)
		if err := rows.Scan(&c.ItemID, &c.N, &c.Action, &at, &c.Actor, &c.SealedWhy, &c.SHA256); err != nil {
			return nil, fmt.Errorf("store: custody of %s: %w", itemID, err)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DestroyEvidence forgets an item's name and file key and marks it
// destroyed, with the custody step that says so, in one transaction. Its
// hashes and chain of custody stay. The caller deletes the blob after.
func (db *DB) DestroyEvidence(ctx context.Context, id string, at time.Time, step *SealedCustody) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `UPDATE evidence SET name = NULL, data_key = NULL, destroyed_at = $2 WHERE id = $1 AND destroyed_at = 0`,
			id, micros(at))
		if err != nil {
			return fmt.Errorf("store: destroy evidence %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.destroyed"}
		}
		return tx.AddCustody(step)
	})
}
