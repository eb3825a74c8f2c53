-- The work of an investigation: see the SQLite migration of the same number.
ALTER TABLE investigations ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE investigations ADD COLUMN held_at BIGINT NOT NULL DEFAULT 0;   -- a legal hold stands since; 0 when none
ALTER TABLE investigations ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
ALTER TABLE investigations ADD COLUMN purged_at BIGINT NOT NULL DEFAULT 0; -- retention destroyed its evidence and key
CREATE INDEX investigations_closed ON investigations (status, closed_at);

-- Its timeline, numbered from 1 (canopy.InvestigationEvent).
CREATE TABLE investigation_events (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	n                INTEGER NOT NULL,
	at               BIGINT NOT NULL,
	actor            TEXT NOT NULL,
	kind             TEXT NOT NULL,
	ref              TEXT NOT NULL DEFAULT '',   -- a report, an item or a task, by id or number
	body             BYTEA,                       -- sealed; NULL when none
	PRIMARY KEY (investigation_id, n)
);

-- Its tasks, numbered from 1 (canopy.InvestigationTask).
CREATE TABLE investigation_tasks (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	n                INTEGER NOT NULL,
	title            BYTEA NOT NULL,              -- sealed
	assignee         TEXT NOT NULL DEFAULT '',   -- an account id
	due_at           BIGINT NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	created_by       TEXT NOT NULL,
	done_at          BIGINT NOT NULL DEFAULT 0,
	done_by          TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (investigation_id, n)
);
