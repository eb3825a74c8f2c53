-- Indicators: see the SQLite migration of the same number.

CREATE TABLE indicator_facts (
	report_id    TEXT PRIMARY KEY,
	received_at  BIGINT NOT NULL DEFAULT 0,
	category     TEXT NOT NULL DEFAULT '',
	channel      TEXT NOT NULL DEFAULT '',
	jurisdiction TEXT NOT NULL DEFAULT '',
	first_look   BIGINT NOT NULL DEFAULT 0,
	assessed     BIGINT NOT NULL DEFAULT 0,
	referred     BIGINT NOT NULL DEFAULT 0,
	accepted     BIGINT NOT NULL DEFAULT 0,
	notice       BIGINT NOT NULL DEFAULT 0,
	merged       BIGINT NOT NULL DEFAULT 0
);

-- Each address of a takedown notice, as the indicators know it.
CREATE TABLE indicator_takedowns (
	takedown_id TEXT PRIMARY KEY,
	report_id   TEXT NOT NULL,
	notified    BIGINT NOT NULL DEFAULT 0,
	answered    BIGINT NOT NULL DEFAULT 0,
	removed     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX indicator_takedowns_report ON indicator_takedowns (report_id);

-- The rollups: for each indicator, breakdown (dim: all, category,
-- channel, jurisdiction) and its value, and month (YYYY-MM), the count of
-- members (bucket -1), of those that reached the stop event (-2), and the
-- histogram of their durations (bucket >= 0).
CREATE TABLE indicator_cells (
	indicator TEXT NOT NULL,
	dim       TEXT NOT NULL,
	value     TEXT NOT NULL,
	month     TEXT NOT NULL,
	bucket    INTEGER NOT NULL,
	n         BIGINT NOT NULL,
	PRIMARY KEY (indicator, dim, value, month, bucket)
);

-- How far the roller has read the events table.
CREATE TABLE indicator_cursor (
	name     TEXT PRIMARY KEY,
	event_id BIGINT NOT NULL
);
