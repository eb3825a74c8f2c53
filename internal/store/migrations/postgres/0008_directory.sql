-- The service directory: see the SQLite migration of the same number for
-- the design.
CREATE TABLE providers (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	website    TEXT NOT NULL DEFAULT '',
	phone      TEXT NOT NULL DEFAULT '',
	email      TEXT NOT NULL DEFAULT '',
	active     INTEGER NOT NULL DEFAULT 1,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);

CREATE TABLE services (
	id            TEXT PRIMARY KEY,
	provider_id   TEXT NOT NULL REFERENCES providers (id),
	name          TEXT NOT NULL DEFAULT '',
	needs         TEXT NOT NULL,             -- space-separated need codes
	description   TEXT NOT NULL DEFAULT '',
	country       TEXT NOT NULL,             -- ISO 3166-1 alpha-2
	regions       TEXT NOT NULL DEFAULT '',  -- one region a line; none: the whole country
	languages     TEXT NOT NULL DEFAULT '',  -- space-separated ISO 639 codes
	min_age       INTEGER NOT NULL,
	max_age       INTEGER NOT NULL,
	access        TEXT NOT NULL DEFAULT '',  -- space-separated accessibility codes
	hours         TEXT NOT NULL DEFAULT '',
	always_open   INTEGER NOT NULL DEFAULT 0,
	phone         TEXT NOT NULL DEFAULT '',  -- these three override the provider's
	website       TEXT NOT NULL DEFAULT '',
	email         TEXT NOT NULL DEFAULT '',
	free          INTEGER NOT NULL DEFAULT 0,
	confidential  INTEGER NOT NULL DEFAULT 0,
	capacity      TEXT NOT NULL DEFAULT '',  -- open, waitlist, full; '' unknown
	active        INTEGER NOT NULL DEFAULT 1,
	updated_at    BIGINT NOT NULL,
	updated_by    TEXT NOT NULL
);
CREATE INDEX services_provider ON services (provider_id);
CREATE INDEX services_find ON services (country, min_age, max_age) WHERE active = 1;
