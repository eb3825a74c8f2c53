-- The work of an investigation: its timeline (notes, links, evidence
-- steps, closing, holds), its tasks, who closed it, whether a legal hold
-- stands, and when retention purged it. Bodies of notes, tasks and
-- reasons are sealed with the investigation's data key, like its title.
ALTER TABLE investigations ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE investigations ADD COLUMN held_at INTEGER NOT NULL DEFAULT 0;   -- a legal hold stands since; 0 when none
ALTER TABLE investigations ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
ALTER TABLE investigations ADD COLUMN purged_at INTEGER NOT NULL DEFAULT 0; -- retention destroyed its evidence and key
CREATE INDEX investigations_closed ON investigations (status, closed_at);

-- Its timeline, numbered from 1 (canopy.InvestigationEvent).
CREATE TABLE investigation_events (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	n                INTEGER NOT NULL,
	at               INTEGER NOT NULL,
	actor            TEXT NOT NULL,
	kind             TEXT NOT NULL,
	ref              TEXT NOT NULL DEFAULT '',   -- a report, an item or a task, by id or number
	body             BLOB,                       -- sealed; NULL when none
	PRIMARY KEY (investigation_id, n)
) STRICT;

-- Its tasks, numbered from 1 (canopy.InvestigationTask).
CREATE TABLE investigation_tasks (
	investigation_id TEXT NOT NULL REFERENCES investigations (id),
	n                INTEGER NOT NULL,
	title            BLOB NOT NULL,              -- sealed
	assignee         TEXT NOT NULL DEFAULT '',   -- an account id
	due_at           INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	created_by       TEXT NOT NULL,
	done_at          INTEGER NOT NULL DEFAULT 0,
	done_by          TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (investigation_id, n)
) STRICT;
