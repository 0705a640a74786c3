-- Accounts. Passwords are argon2 PHC strings; token_version invalidates issued tokens.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    org_id        INTEGER NOT NULL DEFAULT 1,
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- The current state of each task; every change to a row appends to `events` in the
-- same transaction.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    creator_id       INTEGER NOT NULL REFERENCES users (id),
    org_id           INTEGER NOT NULL DEFAULT 1,
    private          INTEGER NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL,
    questions        TEXT    NOT NULL DEFAULT '[]',
    answers          TEXT    NOT NULL DEFAULT '[]',
    issue_number     INTEGER,
    issue_url        TEXT,
    github_branch    TEXT,
    pr_number        INTEGER,
    pr_url           TEXT,
    pr_title         TEXT,
    merge_commit_sha TEXT,
    error_message    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL
);

CREATE INDEX tasks_updated ON tasks (updated_at DESC);

-- The append-only event log. `seq` is global, gap-free and assigned inside the write
-- transaction as max(seq) + 1, so commit order is seq order.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE INDEX events_by_task ON events (task_id, seq);
