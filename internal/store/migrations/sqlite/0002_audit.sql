-- The tamper-evident audit log (internal/audit). Rows are only ever
-- inserted: the log is append-only, and a change to any stored row is what
-- audit verification exists to catch.

-- One row per entry. idx is the entry's position in the log, dense from 0;
-- data is the entry's canonical encoding, which is what the tree hashes;
-- at repeats the time inside data so entries can be found by time.
CREATE TABLE audit_entries (
	idx  INTEGER PRIMARY KEY,
	data BLOB NOT NULL,
	at   INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_entries_at ON audit_entries (at);

-- The hashes of the log's Merkle tree, at their tlog stored-hash index:
-- every leaf hash and every interior node of a complete subtree. Proofs
-- are read from here.
CREATE TABLE audit_hashes (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
) STRICT;

-- Signed tree heads: the note the node signed for a tree of size entries.
CREATE TABLE audit_checkpoints (
	size INTEGER PRIMARY KEY,
	root BLOB NOT NULL,
	note TEXT NOT NULL,
	at   INTEGER NOT NULL
) STRICT;
