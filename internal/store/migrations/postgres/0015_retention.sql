-- Retention: see the SQLite migration of the same number.
CREATE TABLE retention_policies (
	kind       TEXT PRIMARY KEY,
	keep_days  INTEGER NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);
