-- The tamper-evident audit log (internal/audit). See the SQLite migration
-- for what each table holds.
CREATE TABLE audit_entries (
	idx  BIGINT PRIMARY KEY,
	data BYTEA NOT NULL,
	at   BIGINT NOT NULL
);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE audit_hashes (
	idx  BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL
);

CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	root BYTEA NOT NULL,
	note TEXT NOT NULL,
	at   BIGINT NOT NULL
);
