-- The indicators each peer last shared (docs/indicators.md), for the
-- network page that shows jurisdictions side by side. Only the latest
-- publication of each peer is kept; it holds protected aggregates, never
-- a report.
CREATE TABLE peer_indicators (
	peer_id     TEXT PRIMARY KEY REFERENCES peers (id),
	received_at INTEGER NOT NULL,
	definitions TEXT NOT NULL,
	payload     TEXT NOT NULL                 -- the publication, as JSON
) STRICT;
