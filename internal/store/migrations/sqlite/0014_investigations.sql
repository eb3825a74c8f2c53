-- Investigations and evidence (canopy.Investigation, canopy.EvidenceItem,
-- canopy.CustodyEntry). What could name a person (the title, notes, file
-- names, reasons) is sealed with the investigation's own data key; the
-- plain columns are codes, hashes and times. Evidence bytes live in the
-- blob store, encrypted; blob_key names them there.
CREATE TABLE investigations (
	id           TEXT PRIMARY KEY,
	jurisdiction TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,               -- open, closed
	title        BLOB NOT NULL,               -- sealed
	opened_at    INTEGER NOT NULL,
	opened_by    TEXT NOT NULL,
	closed_at    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX investigations_opened ON investigations (opened_at);

-- An investigation's data key, wrapped by the master key. Deleting it
-- makes every sealed part unreadable for good.
CREATE TABLE investigation_keys (
	investigation_id TEXT PRIMARY KEY REFERENCES investigations (id),
	wrapped          BLOB NOT NULL
) STRICT;

CREATE TABLE investigation_reports (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	report_id        TEXT NOT NULL REFERENCES reports (id),
	linked_at        INTEGER NOT NULL,
	linked_by        TEXT NOT NULL,
	PRIMARY KEY (investigation_id, report_id)
) STRICT;
CREATE INDEX investigation_reports_report ON investigation_reports (report_id);

CREATE TABLE evidence (
	id               TEXT PRIMARY KEY,
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	name             BLOB,                    -- sealed file name; NULL once destroyed
	media_type       TEXT NOT NULL,
	size             INTEGER NOT NULL,
	sha256           TEXT NOT NULL,
	md5              TEXT NOT NULL,
	pdq              TEXT NOT NULL DEFAULT '',
	blob_key         TEXT NOT NULL,
	data_key         BLOB,                    -- the file's key, wrapped; NULL once destroyed
	acquired_at      INTEGER NOT NULL,
	acquired_by      TEXT NOT NULL,
	destroyed_at     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX evidence_investigation ON evidence (investigation_id, acquired_at);
CREATE INDEX evidence_sha256 ON evidence (sha256);

-- Each item's chain of custody, in order.
CREATE TABLE custody (
	item_id TEXT NOT NULL REFERENCES evidence (id),
	n       INTEGER NOT NULL,
	action  TEXT NOT NULL,
	at      INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	why     BLOB,                             -- sealed; NULL when none
	sha256  TEXT NOT NULL,
	PRIMARY KEY (item_id, n)
) STRICT;
