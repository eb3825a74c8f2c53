-- Indicators (docs/indicators.md). The roller follows the events table;
-- for each report it keeps the facts the indicators need, and adds what
-- changed to the rollups, so the dashboard never scans timelines.

-- What the indicators know of each report: codes and the first time of
-- each event they count; never content.
CREATE TABLE indicator_facts (
	report_id    TEXT PRIMARY KEY,
	received_at  INTEGER NOT NULL DEFAULT 0,
	category     TEXT NOT NULL DEFAULT '',
	channel      TEXT NOT NULL DEFAULT '',
	jurisdiction TEXT NOT NULL DEFAULT '',
	first_look   INTEGER NOT NULL DEFAULT 0,
	assessed     INTEGER NOT NULL DEFAULT 0,
	referred     INTEGER NOT NULL DEFAULT 0,
	accepted     INTEGER NOT NULL DEFAULT 0,
	notice       INTEGER NOT NULL DEFAULT 0,
	merged       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Each address of a takedown notice, as the indicators know it.
CREATE TABLE indicator_takedowns (
	takedown_id TEXT PRIMARY KEY,
	report_id   TEXT NOT NULL,
	notified    INTEGER NOT NULL DEFAULT 0,
	answered    INTEGER NOT NULL DEFAULT 0,
	removed     INTEGER NOT NULL DEFAULT 0
) STRICT;
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
	n         INTEGER NOT NULL,
	PRIMARY KEY (indicator, dim, value, month, bucket)
) STRICT, WITHOUT ROWID;

-- How far the roller has read the events table.
CREATE TABLE indicator_cursor (
	name     TEXT PRIMARY KEY,
	event_id INTEGER NOT NULL
) STRICT;
