-- Triage. Events gain a column of non-sensitive facts (JSON object of
-- codes). report_state is a projection of each report's timeline, kept in
-- step by the store in the same transaction as every event it reflects,
-- so the queue is an index scan rather than a replay of every timeline;
-- RebuildReportState recomputes it from the events.
ALTER TABLE events ADD COLUMN data TEXT NOT NULL DEFAULT '';

CREATE TABLE report_state (
	report_id     TEXT PRIMARY KEY REFERENCES reports (id),
	received_at   INTEGER NOT NULL,
	urgent        INTEGER NOT NULL DEFAULT 0,
	matched       INTEGER NOT NULL DEFAULT 0,  -- known-content matches
	jurisdiction  TEXT NOT NULL DEFAULT '',
	category      TEXT NOT NULL,
	stage         TEXT NOT NULL,               -- new, claimed, reopened, decided, merged
	claimed_by    TEXT NOT NULL DEFAULT '',
	first_look_at INTEGER NOT NULL DEFAULT 0,
	decided_at    INTEGER NOT NULL DEFAULT 0,
	outcome       TEXT NOT NULL DEFAULT '',
	reviewed      INTEGER NOT NULL DEFAULT 0,
	merged_into   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX report_state_queue ON report_state (urgent DESC, matched DESC, received_at)
	WHERE stage IN ('new', 'claimed', 'reopened');

INSERT INTO report_state (report_id, received_at, urgent, jurisdiction, category, stage)
	SELECT id, received_at, (' ' || flags || ' ') LIKE '% urgent %', child_country, category, 'new' FROM reports;

-- Keyed hashes of what links reports: a web address, its host, an
-- account, a content hash. The values themselves stay sealed.
CREATE TABLE report_links (
	link      BLOB NOT NULL,
	report_id TEXT NOT NULL REFERENCES reports (id),
	kind      TEXT NOT NULL,                   -- url, host, account, hash
	PRIMARY KEY (link, report_id)
) STRICT;
CREATE INDEX report_links_report ON report_links (report_id);
