-- Tokens for coding agents and operators' scripts. Only a SHA-256 of each token is
-- kept; the token itself is shown once, when it is created.
CREATE TABLE service_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
