-- Retention: how long each kind of record is kept after it is done with
-- (canopy.RetentionKinds). A kind with no row is kept until staff decide.
CREATE TABLE retention_policies (
	kind       TEXT PRIMARY KEY,
	keep_days  INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT NOT NULL
) STRICT;
