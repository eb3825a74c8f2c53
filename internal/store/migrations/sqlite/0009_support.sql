-- Support cases: a caseworker's record of the help a child or young person
-- gets. Cases are pseudonymous: the plain columns are codes, dates and
-- scores that staff work by and the indicators count; whatever could
-- identify the child (details, the safety plan, notes, reasons) is sealed
-- with the case's own data key. Deleting the key in case_keys makes all of
-- it unreadable for good.
CREATE TABLE cases (
	id         TEXT PRIMARY KEY,
	alias      TEXT NOT NULL,              -- '' once the case is deleted
	age_band   TEXT NOT NULL,
	languages  TEXT NOT NULL DEFAULT '',   -- space-separated language codes
	region     TEXT NOT NULL DEFAULT '',   -- '' once the case is deleted
	needs      TEXT NOT NULL DEFAULT '',   -- space-separated need codes
	details    BLOB,                       -- sealed identifying details; NULL when none
	opened_at  INTEGER NOT NULL,
	opened_by  TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX cases_opened ON cases (opened_at);

-- A case's data key, wrapped by the node's master key.
CREATE TABLE case_keys (
	case_id TEXT PRIMARY KEY REFERENCES cases (id),
	wrapped BLOB NOT NULL
) STRICT;

-- Reports a case is about. Analysts and liaisons see the link only while
-- the child's consent to investigation stands.
CREATE TABLE case_reports (
	case_id   TEXT NOT NULL REFERENCES cases (id),
	report_id TEXT NOT NULL REFERENCES reports (id),
	linked_at INTEGER NOT NULL,
	linked_by TEXT NOT NULL,
	PRIMARY KEY (case_id, report_id)
) STRICT;
CREATE INDEX case_reports_report ON case_reports (report_id);

-- Referrals to the directory's services, with the date of each step.
-- service_id names a row of services without a foreign key: the directory
-- is kept apart and may be imported again.
CREATE TABLE case_referrals (
	id               TEXT PRIMARY KEY,
	case_id          TEXT NOT NULL REFERENCES cases (id),
	service_id       TEXT NOT NULL,
	need             TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	sent_at          INTEGER NOT NULL,
	accepted_at      INTEGER NOT NULL DEFAULT 0,
	first_contact_at INTEGER NOT NULL DEFAULT 0,
	completed_at     INTEGER NOT NULL DEFAULT 0,
	declined_at      INTEGER NOT NULL DEFAULT 0,
	created_by       TEXT NOT NULL
) STRICT;
CREATE INDEX case_referrals_case ON case_referrals (case_id, sent_at);

-- A case's safety plan: its language is plain so it prints in the
-- child's language; its words are sealed.
CREATE TABLE case_plans (
	case_id     TEXT PRIMARY KEY REFERENCES cases (id),
	language    TEXT NOT NULL,
	content     BLOB,                       -- sealed; NULL once redacted
	updated_at  INTEGER NOT NULL,
	updated_by  TEXT NOT NULL,
	redacted_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Well-being check-ins: the scale, the answers and the score are plain,
-- for the trend and the indicators; the caseworker's note is sealed.
CREATE TABLE case_checkins (
	case_id          TEXT NOT NULL REFERENCES cases (id),
	n                INTEGER NOT NULL,
	at               INTEGER NOT NULL,
	scale            TEXT NOT NULL,          -- who5, faces
	items            TEXT NOT NULL,          -- space-separated answers
	score            INTEGER NOT NULL,       -- raw: 0-25 for who5, 1-5 for faces
	note             BLOB,                   -- sealed; NULL when none or redacted
	note_redacted_at INTEGER NOT NULL DEFAULT 0,
	recorded_by      TEXT NOT NULL,
	PRIMARY KEY (case_id, n)
) STRICT;

-- Consent per purpose: who gave it, how, when and until when, and when it
-- was withdrawn. Rows are never deleted: they are the record of what the
-- node was allowed to do, and when.
CREATE TABLE case_consents (
	id           TEXT PRIMARY KEY,
	case_id      TEXT NOT NULL REFERENCES cases (id),
	purpose      TEXT NOT NULL,
	given_by     TEXT NOT NULL,
	method       TEXT NOT NULL,
	given_at     INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,  -- 0: until withdrawn
	withdrawn_at INTEGER NOT NULL DEFAULT 0,
	recorded_by  TEXT NOT NULL,
	withdrawn_by TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX case_consents_case ON case_consents (case_id);
CREATE INDEX case_consents_purpose ON case_consents (purpose, case_id);

-- Requests to redact part of a case or delete it, and what the
-- caseworker decided and why (a code). The note is sealed with the case.
CREATE TABLE case_erasures (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases (id),
	kind       TEXT NOT NULL,               -- redact, delete
	target     TEXT NOT NULL DEFAULT '',    -- what a redaction removes
	asked_by   TEXT NOT NULL,               -- child, guardian, caseworker
	decision   TEXT NOT NULL,               -- done, refused, held
	reason     TEXT NOT NULL,               -- a reason code
	note       BLOB,                        -- sealed; NULL when none
	decided_at INTEGER NOT NULL,
	decided_by TEXT NOT NULL
) STRICT;
CREATE INDEX case_erasures_case ON case_erasures (case_id, decided_at);

-- Legal holds: while one stands (lifted_at = 0), the case cannot be
-- deleted. Reasons are sealed with the case.
CREATE TABLE case_holds (
	case_id     TEXT NOT NULL REFERENCES cases (id),
	n           INTEGER NOT NULL,
	placed_at   INTEGER NOT NULL,
	placed_by   TEXT NOT NULL,
	reason      BLOB NOT NULL,
	lifted_at   INTEGER NOT NULL DEFAULT 0,
	lifted_by   TEXT NOT NULL DEFAULT '',
	lift_reason BLOB,
	PRIMARY KEY (case_id, n)
) STRICT;
CREATE INDEX case_holds_standing ON case_holds (case_id) WHERE lifted_at = 0;
