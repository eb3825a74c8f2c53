-- Investigations and evidence: see the SQLite migration of the same number.

CREATE TABLE investigations (
	id           TEXT PRIMARY KEY,
	jurisdiction TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,               -- open, closed
	title        BYTEA NOT NULL,               -- sealed
	opened_at    BIGINT NOT NULL,
	opened_by    TEXT NOT NULL,
	closed_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX investigations_opened ON investigations (opened_at);

-- An investigation's data key, wrapped by the master key. Deleting it
-- makes every sealed part unreadable for good.
CREATE TABLE investigation_keys (
	investigation_id TEXT PRIMARY KEY REFERENCES investigations (id),
	wrapped          BYTEA NOT NULL
);

CREATE TABLE investigation_reports (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	report_id        TEXT NOT NULL REFERENCES reports (id),
	linked_at        BIGINT NOT NULL,
	linked_by        TEXT NOT NULL,
	PRIMARY KEY (investigation_id, report_id)
);
CREATE INDEX investigation_reports_report ON investigation_reports (report_id);

CREATE TABLE evidence (
	id               TEXT PRIMARY KEY,
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	name             BYTEA,                    -- sealed file name; NULL once destroyed
	media_type       TEXT NOT NULL,
	size             BIGINT NOT NULL,
	sha256           TEXT NOT NULL,
	md5              TEXT NOT NULL,
	pdq              TEXT NOT NULL DEFAULT '',
	blob_key         TEXT NOT NULL,
	data_key         BYTEA,                    -- the file's key, wrapped; NULL once destroyed
	acquired_at      BIGINT NOT NULL,
	acquired_by      TEXT NOT NULL,
	destroyed_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX evidence_investigation ON evidence (investigation_id, acquired_at);
CREATE INDEX evidence_sha256 ON evidence (sha256);

-- Each item's chain of custody, in order.
CREATE TABLE custody (
	item_id TEXT NOT NULL REFERENCES evidence (id),
	n       INTEGER NOT NULL,
	action  TEXT NOT NULL,
	at      BIGINT NOT NULL,
	actor   TEXT NOT NULL,
	why     BYTEA,                             -- sealed; NULL when none
	sha256  TEXT NOT NULL,
	PRIMARY KEY (item_id, n)
);
