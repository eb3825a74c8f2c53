-- Hash banks: see the SQLite migration of the same number for the design.
CREATE TABLE banks (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	source_org  TEXT NOT NULL DEFAULT '',
	agreement   TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	created_by  TEXT NOT NULL
);

CREATE TABLE bank_changes (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	bank_id   TEXT NOT NULL REFERENCES banks (id),
	op        TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	value     TEXT NOT NULL,
	quality   INTEGER NOT NULL DEFAULT -1,
	category  TEXT NOT NULL DEFAULT '',
	labels    TEXT NOT NULL DEFAULT '',
	actor     TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX bank_changes_bank ON bank_changes (bank_id, seq);

CREATE TABLE bank_entries (
	bank_id   TEXT NOT NULL REFERENCES banks (id),
	algorithm TEXT NOT NULL,
	value     TEXT NOT NULL,
	quality   INTEGER NOT NULL DEFAULT -1,
	category  TEXT NOT NULL DEFAULT '',
	labels    TEXT NOT NULL DEFAULT '',
	added_by  TEXT NOT NULL,
	added_at  BIGINT NOT NULL,
	seq       BIGINT NOT NULL,
	PRIMARY KEY (bank_id, algorithm, value)
);
