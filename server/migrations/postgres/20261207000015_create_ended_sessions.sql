-- Sessions signed out one at a time ("Sign out" on one device). Every session token
-- names its session (`sid`); a token of a session listed here is refused and cannot be
-- renewed. A row is kept until no token of its session could be used or renewed any
-- more, then pruned. Ending every session of a user bumps its token version instead.
CREATE TABLE ended_sessions (
    sid        TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    ended_at   BIGINT  NOT NULL,
    keep_until BIGINT  NOT NULL
);

CREATE INDEX ended_sessions_keep_until ON ended_sessions (keep_until);
