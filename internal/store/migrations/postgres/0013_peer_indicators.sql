-- The indicators each peer last shared: see the SQLite migration of the
-- same number.
CREATE TABLE peer_indicators (
	peer_id     TEXT PRIMARY KEY REFERENCES peers (id),
	received_at BIGINT NOT NULL,
	definitions TEXT NOT NULL,
	payload     TEXT NOT NULL
);
