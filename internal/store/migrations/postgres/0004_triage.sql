-- Triage: see the SQLite migration of the same number for the design.
ALTER TABLE events ADD COLUMN data TEXT NOT NULL DEFAULT '';

CREATE TABLE report_state (
	report_id     TEXT PRIMARY KEY REFERENCES reports (id),
	received_at   BIGINT NOT NULL,
	urgent        BOOLEAN NOT NULL DEFAULT FALSE,
	matched       BOOLEAN NOT NULL DEFAULT FALSE,
	jurisdiction  TEXT NOT NULL DEFAULT '',
	category      TEXT NOT NULL,
	stage         TEXT NOT NULL,
	claimed_by    TEXT NOT NULL DEFAULT '',
	first_look_at BIGINT NOT NULL DEFAULT 0,
	decided_at    BIGINT NOT NULL DEFAULT 0,
	outcome       TEXT NOT NULL DEFAULT '',
	reviewed      BOOLEAN NOT NULL DEFAULT FALSE,
	merged_into   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX report_state_queue ON report_state (urgent DESC, matched DESC, received_at)
	WHERE stage IN ('new', 'claimed', 'reopened');

INSERT INTO report_state (report_id, received_at, urgent, jurisdiction, category, stage)
	SELECT id, received_at, (' ' || flags || ' ') LIKE '% urgent %', child_country, category, 'new' FROM reports;

CREATE TABLE report_links (
	link      BYTEA NOT NULL,
	report_id TEXT NOT NULL REFERENCES reports (id),
	kind      TEXT NOT NULL,
	PRIMARY KEY (link, report_id)
);
CREATE INDEX report_links_report ON report_links (report_id);
