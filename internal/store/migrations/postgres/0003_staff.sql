-- Staff accounts, their second factors and their sessions.
CREATE TABLE accounts (
	id             TEXT PRIMARY KEY,
	email          TEXT NOT NULL UNIQUE,            -- lower case
	name           TEXT NOT NULL DEFAULT '',
	role           TEXT NOT NULL,
	jurisdictions  TEXT NOT NULL DEFAULT '',        -- space-separated ISO 3166-1 codes
	created_at     BIGINT NOT NULL,
	disabled       BOOLEAN NOT NULL DEFAULT FALSE,
	password_hash  TEXT NOT NULL DEFAULT '',        -- argon2id, PHC string format
	totp_secret    BYTEA,                            -- sealed with the node's system key
	totp_last_step BIGINT NOT NULL DEFAULT 0,      -- refuses a code used twice
	failed_logins  BIGINT NOT NULL DEFAULT 0,
	locked_until   BIGINT NOT NULL DEFAULT 0
);

-- One-time recovery codes, stored as keyed hashes.
CREATE TABLE recovery_codes (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	code_hash  BYTEA NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, code_hash)
);

-- Passkeys (WebAuthn credentials).
CREATE TABLE passkeys (
	credential_id BYTEA PRIMARY KEY,
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	name          TEXT NOT NULL DEFAULT '',
	public_key    BYTEA NOT NULL,                    -- COSE key
	sign_count    BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	last_used     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_account ON passkeys (account_id);

-- Server-side sessions. The cookie holds a secret; only its keyed hash is
-- stored. stage is 'password' while the second factor is awaited, then
-- 'full'.
CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	token_hash  BYTEA NOT NULL UNIQUE,
	account_id  TEXT NOT NULL REFERENCES accounts (id),
	stage       TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	last_seen   BIGINT NOT NULL,
	revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_account ON sessions (account_id);

-- One-time links, such as the first administrator's set-up link and
-- enrolment invitations.
CREATE TABLE onetime_tokens (
	token_hash BYTEA PRIMARY KEY,
	purpose    TEXT NOT NULL,
	account_id TEXT NOT NULL DEFAULT '',
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
