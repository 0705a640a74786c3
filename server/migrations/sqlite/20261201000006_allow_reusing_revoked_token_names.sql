-- A name identifies one live token: a revoked token's name can be given to a new one.
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt with the
-- uniqueness moved to a partial index over live tokens.
CREATE TABLE service_tokens_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

INSERT INTO service_tokens_new (id, name, token_hash, created_at, revoked_at)
SELECT id, name, token_hash, created_at, revoked_at FROM service_tokens;

DROP TABLE service_tokens;

ALTER TABLE service_tokens_new RENAME TO service_tokens;

CREATE UNIQUE INDEX service_tokens_live_name ON service_tokens (name) WHERE revoked_at IS NULL;
