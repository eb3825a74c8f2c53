-- Hash banks: named sets of hashes of known material, with provenance.
-- bank_changes is the append-only history (every addition and removal,
-- numbered by seq, the cursor partners sync from); bank_entries is what a
-- bank holds now, kept in step with it in the same transaction. Writes go
-- through the store's single group committer, so seq order is commit
-- order and a reader paging by seq never skips a change.
CREATE TABLE banks (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	source_org  TEXT NOT NULL DEFAULT '',
	agreement   TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	created_by  TEXT NOT NULL
) STRICT;

CREATE TABLE bank_changes (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	bank_id   TEXT NOT NULL REFERENCES banks (id),
	op        TEXT NOT NULL,              -- add, remove
	algorithm TEXT NOT NULL,              -- pdq, md5, sha1, sha256, or an opaque scheme such as photodna
	value     TEXT NOT NULL,
	quality   INTEGER NOT NULL DEFAULT -1, -- PDQ quality, -1 when unknown
	category  TEXT NOT NULL DEFAULT '',
	labels    TEXT NOT NULL DEFAULT '',   -- space-separated
	actor     TEXT NOT NULL,
	at        INTEGER NOT NULL
) STRICT;
CREATE INDEX bank_changes_bank ON bank_changes (bank_id, seq);

CREATE TABLE bank_entries (
	bank_id   TEXT NOT NULL REFERENCES banks (id),
	algorithm TEXT NOT NULL,
	value     TEXT NOT NULL,
	quality   INTEGER NOT NULL DEFAULT -1,
	category  TEXT NOT NULL DEFAULT '',
	labels    TEXT NOT NULL DEFAULT '',
	added_by  TEXT NOT NULL,
	added_at  INTEGER NOT NULL,
	seq       INTEGER NOT NULL,
	PRIMARY KEY (bank_id, algorithm, value)
) STRICT;
