-- Reports and their timeline. Times are Unix microseconds (UTC) in both
-- dialects, so the same Go code reads them everywhere.
CREATE TABLE reports (
	id            TEXT PRIMARY KEY,
	received_at   BIGINT NOT NULL,
	channel       TEXT NOT NULL,
	reporter      TEXT NOT NULL,
	category      TEXT NOT NULL,
	flags         TEXT NOT NULL DEFAULT '',
	child_country TEXT NOT NULL DEFAULT '',
	language      TEXT NOT NULL,
	receipt_hash  BYTEA NOT NULL UNIQUE,
	content       BYTEA NOT NULL
);
CREATE INDEX reports_received ON reports (received_at);

CREATE TABLE report_keys (
	report_id TEXT PRIMARY KEY REFERENCES reports (id),
	wrapped   BYTEA NOT NULL
);

CREATE TABLE report_hashes (
	report_id TEXT NOT NULL REFERENCES reports (id),
	algorithm TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (report_id, algorithm, value)
);
CREATE INDEX report_hashes_value ON report_hashes (algorithm, value);

CREATE TABLE events (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id TEXT NOT NULL REFERENCES reports (id),
	kind      TEXT NOT NULL,
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL DEFAULT '',
	body      BYTEA
);
CREATE INDEX events_report ON events (report_id, id);
