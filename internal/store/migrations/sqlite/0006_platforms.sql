-- Online services that submit reports, match hashes and sync banks
-- through the API, and their keys. A key's secret is stored only as a
-- keyed hash.
CREATE TABLE platforms (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	contact    TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	platform_id TEXT NOT NULL REFERENCES platforms (id),
	secret_hash BLOB NOT NULL UNIQUE,
	scopes      TEXT NOT NULL,               -- space-separated: submit match sync
	name        TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	revoked_at  INTEGER NOT NULL DEFAULT 0,
	last_used   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_keys_platform ON api_keys (platform_id);

-- Idempotency of bulk submissions: the same client key from the same
-- platform returns the first answer instead of storing the reports again.
CREATE TABLE platform_submissions (
	platform_id     TEXT NOT NULL REFERENCES platforms (id),
	idempotency_key TEXT NOT NULL,
	response        BLOB NOT NULL,           -- the JSON answered the first time
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (platform_id, idempotency_key)
) STRICT;
