-- Reports and their timeline. Times are Unix microseconds (UTC) in both
-- dialects, so the same Go code reads them everywhere.
CREATE TABLE reports (
	id            TEXT PRIMARY KEY,
	received_at   INTEGER NOT NULL,
	channel       TEXT NOT NULL,
	reporter      TEXT NOT NULL,
	category      TEXT NOT NULL,
	flags         TEXT NOT NULL DEFAULT '',   -- space-separated flag codes
	child_country TEXT NOT NULL DEFAULT '',
	language      TEXT NOT NULL,
	receipt_hash  BLOB NOT NULL UNIQUE,       -- keyed hash; the code itself is never stored
	content       BLOB NOT NULL               -- sealed with the report's data key
) STRICT;
CREATE INDEX reports_received ON reports (received_at);

-- A report's data key, wrapped by the node's master key. Deleting the row
-- makes the report's content and messages unreadable for good.
CREATE TABLE report_keys (
	report_id TEXT PRIMARY KEY REFERENCES reports (id),
	wrapped   BLOB NOT NULL
) STRICT;

-- Hashes of content the reporter knows about. Not sensitive: they identify
-- known material, never the reporter.
CREATE TABLE report_hashes (
	report_id TEXT NOT NULL REFERENCES reports (id),
	algorithm TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (report_id, algorithm, value)
) STRICT;
CREATE INDEX report_hashes_value ON report_hashes (algorithm, value);

-- The append-only timeline. body is sealed with the report's data key
-- when the event carries text (messages).
CREATE TABLE events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	report_id TEXT NOT NULL REFERENCES reports (id),
	kind      TEXT NOT NULL,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL DEFAULT '',
	body      BLOB
) STRICT;
CREATE INDEX events_report ON events (report_id, id);
