-- Working a case: see the SQLite migration of the same number.
ALTER TABLE cases ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT '';   -- ISO 3166-1 alpha-2, or '' for the whole node
ALTER TABLE cases ADD COLUMN assigned_to TEXT NOT NULL DEFAULT '';    -- a staff account id, or '' when unassigned
ALTER TABLE cases ADD COLUMN closed_at BIGINT NOT NULL DEFAULT 0;    -- 0 while open
ALTER TABLE cases ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';   -- a canopy.CaseCloseReasons code
CREATE INDEX cases_assigned ON cases (assigned_to, opened_at);

-- When the node acted on a consent's expiry (told peers that the child's
-- consent to cross-border sharing no longer stands); 0 until then.
ALTER TABLE case_consents ADD COLUMN lapse_handled_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX case_consents_lapse ON case_consents (purpose, lapse_handled_at, expires_at);
