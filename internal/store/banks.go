package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/canopy-org/canopy"
)

// CreateBank stores a new bank; a name in use is a conflict.
func (db *DB) CreateBank(ctx context.Context, b *canopy.Bank) error {
	return db.commit.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(db.q(`INSERT INTO banks (id, name, source_org, agreement, description, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`), b.ID, b.Name, b.SourceOrg, b.Agreement, b.Description, micros(b.Created), b.CreatedBy)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.bank.name_taken", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: create bank: %w", err)
		}
		return nil
	})
}

const bankColumns = `id, name, source_org, agreement, description, created_at, created_by`

func scanBank(row interface{ Scan(...any) error }) (*canopy.Bank, error) {
	var b canopy.Bank
	var created int64
	err := row.Scan(&b.ID, &b.Name, &b.SourceOrg, &b.Agreement, &b.Description, &created, &b.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.bank.not_found"}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read bank: %w", err)
	}
	b.Created = fromMicros(created)
	return &b, nil
}

// BankByName returns the bank called name.
func (db *DB) BankByName(ctx context.Context, name string) (*canopy.Bank, error) {
	return scanBank(db.read.QueryRowContext(ctx, db.q(`SELECT `+bankColumns+` FROM banks WHERE name = $1`), name))
}

// BankByID returns the bank with the given id.
func (db *DB) BankByID(ctx context.Context, id string) (*canopy.Bank, error) {
	return scanBank(db.read.QueryRowContext(ctx, db.q(`SELECT `+bankColumns+` FROM banks WHERE id = $1`), id))
}

// Banks lists every bank by name.
func (db *DB) Banks(ctx context.Context) ([]*canopy.Bank, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+bankColumns+` FROM banks ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list banks: %w", err)
	}
	defer rows.Close()
	var out []*canopy.Bank
	for rows.Next() {
		b, err := scanBank(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ChangeBank applies additions and removals to a bank in one durable
// transaction and returns the changes it made, numbered, each with the id
// of the entry it concerns (for an addition its own number, for a removal
// the number of the addition it undoes). Adding a hash the bank holds, or
// removing one it does not, changes nothing and is not returned.
func (db *DB) ChangeBank(ctx context.Context, bankID string, changes []canopy.BankChange) ([]canopy.BankChange, error) {
	var applied []canopy.BankChange
	err := db.UpdateSerial(ctx, func(tx *Tx) error {
		var err error
		applied, err = tx.ChangeBank(bankID, changes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// ChangeBank applies changes to a bank as DB.ChangeBank does, as part of
// tx, which must come from UpdateSerial: consumers page through the
// changes by number and must never see a later one before an earlier.
func (t *Tx) ChangeBank(bankID string, changes []canopy.BankChange) ([]canopy.BankChange, error) {
	db, tx := t.db, t.tx
	var applied []canopy.BankChange
	err := func() error {
		for _, c := range changes {
			e := c.BankEntry
			labels := strings.Join(e.Labels, " ")
			switch c.Op {
			case canopy.BankAdd:
				res, err := db.exec(tx, `INSERT INTO bank_entries (bank_id, algorithm, value, quality, category, labels, added_by, added_at, seq)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT DO NOTHING`,
					bankID, e.Algorithm, e.Value, e.Quality, e.Category, labels, e.AddedBy, micros(e.Added))
				if err != nil {
					if isForeignKeyViolation(err) {
						return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.bank.not_found", Err: err}
					}
					return fmt.Errorf("store: add to bank: %w", err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue
				}
			case canopy.BankRemove:
				st, err := db.wstmt(tx, `DELETE FROM bank_entries WHERE bank_id = $1 AND algorithm = $2 AND value = $3 RETURNING seq`)
				if err != nil {
					return err
				}
				err = st.QueryRow(bankID, e.Algorithm, e.Value).Scan(&e.ID)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return fmt.Errorf("store: remove from bank: %w", err)
				}
			default:
				return fmt.Errorf("store: bank change %q", c.Op)
			}
			st, err := db.wstmt(tx, `INSERT INTO bank_changes (bank_id, op, algorithm, value, quality, category, labels, actor, at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq`)
			if err != nil {
				return err
			}
			var seq int64
			if err := st.QueryRow(bankID, c.Op, e.Algorithm, e.Value, e.Quality, e.Category, labels, e.AddedBy, micros(e.Added)).Scan(&seq); err != nil {
				return fmt.Errorf("store: record bank change: %w", err)
			}
			if c.Op == canopy.BankAdd {
				e.ID = seq
				if _, err := db.exec(tx, `UPDATE bank_entries SET seq = $1 WHERE bank_id = $2 AND algorithm = $3 AND value = $4`,
					seq, bankID, e.Algorithm, e.Value); err != nil {
					return fmt.Errorf("store: add to bank: %w", err)
				}
			}
			applied = append(applied, canopy.BankChange{Seq: seq, Op: c.Op, BankEntry: e})
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// BankChanges returns up to limit changes of a bank after sequence number
// since, in order.
func (db *DB) BankChanges(ctx context.Context, bankID string, since int64, limit int) ([]canopy.BankChange, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT seq, op, algorithm, value, quality, category, labels, actor, at
		FROM bank_changes WHERE bank_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`), bankID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: bank changes: %w", err)
	}
	defer rows.Close()
	var out []canopy.BankChange
	for rows.Next() {
		var c canopy.BankChange
		var labels string
		var at int64
		if err := rows.Scan(&c.Seq, &c.Op, &c.Algorithm, &c.Value, &c.Quality, &c.Category, &labels, &c.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("store: bank changes: %w", err)
		}
		c.Labels, c.Added = strings.Fields(labels), fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// BankEntries calls fn for every entry a bank holds now, in the order
// they were added, streaming so a bank of millions needs no memory.
func (db *DB) BankEntries(ctx context.Context, bankID string, fn func(canopy.BankEntry) error) error {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT seq, algorithm, value, quality, category, labels, added_by, added_at
		FROM bank_entries WHERE bank_id = $1 ORDER BY seq`), bankID)
	if err != nil {
		return fmt.Errorf("store: bank entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e canopy.BankEntry
		var labels string
		var at int64
		if err := rows.Scan(&e.ID, &e.Algorithm, &e.Value, &e.Quality, &e.Category, &labels, &e.AddedBy, &at); err != nil {
			return fmt.Errorf("store: bank entries: %w", err)
		}
		e.Labels, e.Added = strings.Fields(labels), fromMicros(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// BankSize returns how many entries a bank holds.
func (db *DB) BankSize(ctx context.Context, bankID string) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT count(*) FROM bank_entries WHERE bank_id = $1`), bankID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: bank size: %w", err)
	}
	return n, nil
}
