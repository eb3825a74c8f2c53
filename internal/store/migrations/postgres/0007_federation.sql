-- Federation: see the SQLite migration of the same number for the design.
--
-- Routing is part of the triage projection: where a report's responsible
-- jurisdiction lies (route '' until the router has looked), so the
-- router's backlog and the queue of reports no rule routes are both index
-- scans.
ALTER TABLE report_state ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE report_state ADD COLUMN responsible TEXT NOT NULL DEFAULT '';
ALTER TABLE report_state ADD COLUMN basis TEXT NOT NULL DEFAULT '';
ALTER TABLE report_state ADD COLUMN route_peer TEXT NOT NULL DEFAULT '';
CREATE INDEX report_state_routing ON report_state (route, received_at) WHERE route IN ('', 'unrouted');

-- Other nodes, known by their public keys.
CREATE TABLE peers (
	id             TEXT PRIMARY KEY,         -- local short name
	name           TEXT NOT NULL,            -- the peer's own node name
	url            TEXT NOT NULL,
	signing_key    BYTEA NOT NULL UNIQUE,     -- Ed25519 public key
	encryption_key BYTEA NOT NULL,            -- X25519 public key
	jurisdictions  TEXT NOT NULL DEFAULT '', -- space-separated ISO 3166-1 codes
	share          TEXT NOT NULL DEFAULT '', -- space-separated fields the peer may receive
	banks          TEXT NOT NULL DEFAULT '', -- space-separated bank names the peer may subscribe to
	state          TEXT NOT NULL,            -- active, suspended, removed
	added_at BIGINT NOT NULL,
	added_by       TEXT NOT NULL
);

-- Routing rules: a jurisdiction's reports go to a peer. auto refers them
-- as soon as they are routed, without waiting for an analyst.
CREATE TABLE routes (
	jurisdiction TEXT PRIMARY KEY,
	peer_id      TEXT NOT NULL REFERENCES peers (id),
	auto         INTEGER NOT NULL DEFAULT 0
);

-- Messages to peers, kept until delivered and then as a record. sealed is
-- the payload encrypted to the peer's key: this node cannot read it back.
CREATE TABLE outbox (
	seq          BIGSERIAL PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	peer_id      TEXT NOT NULL REFERENCES peers (id),
	kind         TEXT NOT NULL,
	thread       TEXT NOT NULL,
	n BIGINT NOT NULL,           -- position in its thread, from 1
	created_at BIGINT NOT NULL,
	sealed       BYTEA NOT NULL,
	delivered_at BIGINT NOT NULL DEFAULT 0,
	attempts BIGINT NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (peer_id, seq) WHERE delivered_at = 0;

-- The last message number of each thread, each way.
CREATE TABLE threads (
	peer_id  TEXT NOT NULL,
	thread   TEXT NOT NULL,
	outbound INTEGER NOT NULL,               -- 1: ours to the peer; 0: the peer's to us
	last_n BIGINT NOT NULL,
	PRIMARY KEY (peer_id, thread, outbound)
);

-- Every message accepted from a peer, by id: a message delivered twice
-- takes effect once. Ids are unique per sender; one peer cannot shadow
-- another's messages.
CREATE TABLE inbox (
	peer_id     TEXT NOT NULL,
	id          TEXT NOT NULL,
	kind        TEXT NOT NULL,
	thread      TEXT NOT NULL,
	n           BIGINT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (peer_id, id)
);

-- Nonces of delivery attempts seen recently: the same signed bytes sent
-- again are a replay.
CREATE TABLE nonces (
	nonce      BYTEA PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_expiry ON nonces (expires_at);

-- Referrals both ways. id is chosen by the referring node and is the same
-- on both sides.
CREATE TABLE referrals (
	peer_id    TEXT NOT NULL REFERENCES peers (id),
	id         TEXT NOT NULL,
	outbound   INTEGER NOT NULL,             -- 1: we referred it; 0: the peer referred it to us
	report_id  TEXT NOT NULL REFERENCES reports (id),
	created_at BIGINT NOT NULL,
	status     TEXT NOT NULL DEFAULT '',
	status_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (peer_id, id, outbound)
);
CREATE INDEX referrals_report ON referrals (report_id);
-- A report is referred to a peer once at a time: again only after the
-- peer rejected it. Two analysts (or an analyst and a rule) racing to
-- refer get one referral between them.
CREATE UNIQUE INDEX referrals_open ON referrals (report_id, peer_id) WHERE outbound = 1 AND status <> 'rejected';

-- Hash-bank subscriptions both ways.
CREATE TABLE bank_subscriptions (
	peer_id    TEXT NOT NULL REFERENCES peers (id),
	bank       TEXT NOT NULL,                -- the bank's name at the publishing node
	outbound   INTEGER NOT NULL,             -- 1: the peer takes our bank; 0: we take the peer's
	local_bank TEXT NOT NULL DEFAULT '',     -- ours: the local bank's id (the mirror, or the one published)
	cursor BIGINT NOT NULL DEFAULT 0,   -- publisher: the last change sent
	PRIMARY KEY (peer_id, bank, outbound)
);
