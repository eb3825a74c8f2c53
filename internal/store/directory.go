package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/canopy-org/canopy"
)

// The service directory (migration 0008): providers and the services they
// offer. Lists of codes are stored space-separated and regions one a line,
// as peers keep their jurisdictions: the directory is small, read whole by
// the finder's filters, and never joined on these lists.

var (
	errProviderNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.directory.provider_not_found"}
	errOfferNotFound    = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.directory.service_not_found"}
)

const providerColumns = `id, name, website, phone, email, active, updated_at, updated_by`

func scanProvider(row interface{ Scan(...any) error }) (*canopy.Provider, error) {
	var p canopy.Provider
	var active int
	var updated int64
	err := row.Scan(&p.ID, &p.Name, &p.Website, &p.Phone, &p.Email, &active, &updated, &p.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errProviderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read provider: %w", err)
	}
	p.Active, p.Updated = active != 0, fromMicros(updated)
	return &p, nil
}

func providerArgs(p *canopy.Provider) []any {
	return []any{p.ID, p.Name, p.Website, p.Phone, p.Email, boolInt(p.Active), micros(p.Updated), p.UpdatedBy}
}

// CreateProvider adds a provider; an id in use is a conflict.
func (db *DB) CreateProvider(ctx context.Context, p *canopy.Provider) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, `INSERT INTO providers (`+providerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, providerArgs(p)...)
		if isUniqueViolation(err) {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.directory.provider_exists", Err: err}
		}
		if err != nil {
			return fmt.Errorf("store: add provider %s: %w", p.ID, err)
		}
		return nil
	})
}

// UpdateProvider writes every field of an existing provider.
func (db *DB) UpdateProvider(ctx context.Context, p *canopy.Provider) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `UPDATE providers SET name = $2, website = $3, phone = $4, email = $5, active = $6,
			updated_at = $7, updated_by = $8 WHERE id = $1`, providerArgs(p)...)
		if err != nil {
			return fmt.Errorf("store: update provider %s: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errProviderNotFound
		}
		return nil
	})
}

// Provider returns the provider with id.
func (db *DB) Provider(ctx context.Context, id string) (*canopy.Provider, error) {
	return scanProvider(db.read.QueryRowContext(ctx, db.q(`SELECT `+providerColumns+` FROM providers WHERE id = $1`), id))
}

// Providers returns every provider, inactive ones included, by name.
func (db *DB) Providers(ctx context.Context) ([]*canopy.Provider, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list providers: %w", err)
	}
	defer rows.Close()
	var out []*canopy.Provider
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list providers: %w", err)
	}
	return out, nil
}

const offerColumns = `s.id, s.provider_id, s.name, s.needs, s.description, s.country, s.regions, s.languages, s.min_age, s.max_age,
	s.access, s.hours, s.always_open, s.phone, s.website, s.email, s.free, s.confidential, s.capacity, s.active, s.updated_at, s.updated_by`

func scanOffer(row interface{ Scan(...any) error }) (*canopy.ServiceOffer, error) {
	var o canopy.ServiceOffer
	var needs, regions, langs, access string
	var always, free, confidential, active int
	var updated int64
	err := row.Scan(&o.ID, &o.ProviderID, &o.Name, &needs, &o.Description, &o.Country, &regions, &langs, &o.Ages.Min, &o.Ages.Max,
		&access, &o.Hours, &always, &o.Phone, &o.Website, &o.Email, &free, &confidential, &o.Capacity, &active, &updated, &o.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errOfferNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read service: %w", err)
	}
	o.Needs, o.Languages, o.Access = listOf(needs), listOf(langs), listOf(access)
	if regions != "" {
		o.Regions = strings.Split(regions, "\n")
	}
	o.AlwaysOpen, o.Free, o.Confidential, o.Active = always != 0, free != 0, confidential != 0, active != 0
	o.Updated = fromMicros(updated)
	return &o, nil
}

// listOf splits a space-separated list; an empty one is nil, as the
// services make it.
func listOf(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func offerArgs(o *canopy.ServiceOffer) []any {
	return []any{o.ID, o.ProviderID, o.Name, strings.Join(o.Needs, " "), o.Description, o.Country, strings.Join(o.Regions, "\n"),
		strings.Join(o.Languages, " "), o.Ages.Min, o.Ages.Max, strings.Join(o.Access, " "), o.Hours, boolInt(o.AlwaysOpen),
		o.Phone, o.Website, o.Email, boolInt(o.Free), boolInt(o.Confidential), o.Capacity, boolInt(o.Active), micros(o.Updated), o.UpdatedBy}
}

const insertOffer = `INSERT INTO services (id, provider_id, name, needs, description, country, regions, languages, min_age, max_age,
	access, hours, always_open, phone, website, email, free, confidential, capacity, active, updated_at, updated_by)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`

const offerSet = `provider_id = $2, name = $3, needs = $4, description = $5, country = $6, regions = $7, languages = $8,
	min_age = $9, max_age = $10, access = $11, hours = $12, always_open = $13, phone = $14, website = $15, email = $16,
	free = $17, confidential = $18, capacity = $19, active = $20, updated_at = $21, updated_by = $22`

// CreateServiceOffer adds a service to its provider's; an id in use is a
// conflict and an unknown provider not found.
func (db *DB) CreateServiceOffer(ctx context.Context, o *canopy.ServiceOffer) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := db.exec(tx.tx, insertOffer, offerArgs(o)...)
		switch {
		case isUniqueViolation(err):
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.directory.service_exists", Err: err}
		case isForeignKeyViolation(err):
			return errProviderNotFound
		case err != nil:
			return fmt.Errorf("store: add service %s: %w", o.ID, err)
		}
		return nil
	})
}

// UpdateServiceOffer writes every field of an existing service.
func (db *DB) UpdateServiceOffer(ctx context.Context, o *canopy.ServiceOffer) error {
	return db.Update(ctx, func(tx *Tx) error {
		res, err := db.exec(tx.tx, `UPDATE services SET `+offerSet+` WHERE id = $1`, offerArgs(o)...)
		if isForeignKeyViolation(err) {
			return errProviderNotFound
		}
		if err != nil {
			return fmt.Errorf("store: update service %s: %w", o.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errOfferNotFound
		}
		return nil
	})
}

// ServiceOffer returns the service with id.
func (db *DB) ServiceOffer(ctx context.Context, id string) (*canopy.ServiceOffer, error) {
	return scanOffer(db.read.QueryRowContext(ctx, db.q(`SELECT `+offerColumns+` FROM services s WHERE s.id = $1`), id))
}

// OfferFilter narrows ServiceOffers. Its zero value selects every service.
type OfferFilter struct {
	ProviderID string
	Country    string // ISO 3166-1 alpha-2
	// Age, when HasAge, keeps the services whose age range includes it.
	Age    int
	HasAge bool
	// Active keeps only the services that are active and whose provider
	// is: what the public may see.
	Active bool
}

// ServiceOffers returns the services f selects, by country, name and id.
func (db *DB) ServiceOffers(ctx context.Context, f OfferFilter) ([]*canopy.ServiceOffer, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	from := `services s`
	if f.Active {
		from += ` JOIN providers p ON p.id = s.provider_id`
		where = append(where, `s.active = 1 AND p.active = 1`)
	}
	if f.ProviderID != "" {
		where = append(where, `s.provider_id = `+arg(f.ProviderID))
	}
	if f.Country != "" {
		where = append(where, `s.country = `+arg(f.Country))
	}
	if f.HasAge {
		a := arg(f.Age)
		where = append(where, `s.min_age <= `+a+` AND s.max_age >= `+a)
	}
	query := `SELECT ` + offerColumns + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.read.QueryContext(ctx, db.q(query+` ORDER BY s.country, s.name, s.id`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list services: %w", err)
	}
	defer rows.Close()
	var out []*canopy.ServiceOffer
	for rows.Next() {
		o, err := scanOffer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list services: %w", err)
	}
	return out, nil
}

// PutDirectory adds or replaces the given providers and services, all in
// one transaction: an import lands whole or not at all. Providers are
// written first, so a service may name a provider of the same call.
func (db *DB) PutDirectory(ctx context.Context, providers []*canopy.Provider, offers []*canopy.ServiceOffer) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, p := range providers {
			_, err := db.exec(tx.tx, `INSERT INTO providers (`+providerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, website = excluded.website, phone = excluded.phone,
				email = excluded.email, active = excluded.active, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				providerArgs(p)...)
			if err != nil {
				return fmt.Errorf("store: put provider %s: %w", p.ID, err)
			}
		}
		for _, o := range offers {
			_, err := db.exec(tx.tx, insertOffer+` ON CONFLICT (id) DO UPDATE SET `+offerSetExcluded, offerArgs(o)...)
			if isForeignKeyViolation(err) {
				return errProviderNotFound
			}
			if err != nil {
				return fmt.Errorf("store: put service %s: %w", o.ID, err)
			}
		}
		return nil
	})
}

// offerSetExcluded is offerSet taking each value from the row that
// conflicted.
var offerSetExcluded = func() string {
	var parts []string
	for _, a := range strings.Split(offerSet, ",") {
		col, _, _ := strings.Cut(strings.TrimSpace(a), " =")
		parts = append(parts, col+" = excluded."+col)
	}
	return strings.Join(parts, ", ")
}()
