-- Notice and takedown (canopy.Host, canopy.Notice, canopy.Takedown).
-- Hosts are the hosting companies and platforms that take notices; a
-- notice lists one report's addresses at one host; each address is
-- tracked on its own until it comes down. Addresses are sealed with the
-- report's key, so a report destroyed for retention takes them along.

CREATE TABLE takedown_hosts (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	kind           TEXT NOT NULL,                -- hosting, platform
	jurisdictions  TEXT NOT NULL DEFAULT '',     -- space-separated ISO 3166-1 codes
	domains        TEXT NOT NULL DEFAULT '',     -- space-separated host names
	networks       TEXT NOT NULL DEFAULT '',     -- space-separated CIDR prefixes
	method         TEXT NOT NULL,                -- email, webhook
	email          TEXT NOT NULL DEFAULT '',
	webhook        TEXT NOT NULL DEFAULT '',
	language       TEXT NOT NULL DEFAULT 'en',
	remind_after   INTEGER NOT NULL DEFAULT 0,   -- seconds; 0 for the node's default
	escalate_after INTEGER NOT NULL DEFAULT 0,   -- seconds; 0 for the node's default
	platform       TEXT NOT NULL DEFAULT '',     -- the platform account that confirms removals
	active         INTEGER NOT NULL DEFAULT 1,
	updated_at     INTEGER NOT NULL,
	updated_by     TEXT NOT NULL
) STRICT;

-- host names a row of takedown_hosts without a foreign key: the list is
-- imported again and again, and a notice outlives a host's row changing.
CREATE TABLE notices (
	id         TEXT PRIMARY KEY,
	host       TEXT NOT NULL,
	report_id  TEXT NOT NULL REFERENCES reports (id),
	reference  TEXT NOT NULL,
	status     TEXT NOT NULL,                    -- draft, queued, sent, failed
	created_at INTEGER NOT NULL,
	queued_at  INTEGER NOT NULL DEFAULT 0,
	sent_at    INTEGER NOT NULL DEFAULT 0,
	sent_by    TEXT NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL DEFAULT 0,       -- when a delivery or reminder is due; 0 for none
	reminders  INTEGER NOT NULL DEFAULT 0,
	error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX notices_report ON notices (report_id);
CREATE INDEX notices_host ON notices (host, created_at);
CREATE INDEX notices_due ON notices (next_at) WHERE next_at <> 0;

CREATE TABLE takedowns (
	id              TEXT PRIMARY KEY,
	notice_id       TEXT NOT NULL REFERENCES notices (id),
	n               INTEGER NOT NULL,            -- its place in the notice
	host            TEXT NOT NULL,
	report_id       TEXT NOT NULL,
	url             BLOB NOT NULL,               -- sealed with the report's key
	status          TEXT NOT NULL,               -- pending, notified, acknowledged, removed, refused
	notified_at     INTEGER NOT NULL DEFAULT 0,
	acknowledged_at INTEGER NOT NULL DEFAULT 0,
	removed_at      INTEGER NOT NULL DEFAULT 0,
	refused_at      INTEGER NOT NULL DEFAULT 0,
	escalated_at    INTEGER NOT NULL DEFAULT 0,
	removed_by      TEXT NOT NULL DEFAULT '',
	reason          BLOB                         -- a refusal's words, sealed with the report's key
) STRICT;
CREATE INDEX takedowns_notice ON takedowns (notice_id, n);
CREATE INDEX takedowns_report ON takedowns (report_id);
CREATE INDEX takedowns_host ON takedowns (host, notified_at);
