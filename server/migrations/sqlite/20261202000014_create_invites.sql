-- Invitations to a team, by link. Only a SHA-256 of each link's secret is kept; the
-- link is shown once, to the member who made it. An invite makes one account.
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER REFERENCES users (id),
    revoked_at INTEGER
);

CREATE INDEX invites_org ON invites (org_id);

-- Whether anyone may sign up (into the default team) without an invite.
ALTER TABLE orgs ADD COLUMN signup_open INTEGER NOT NULL DEFAULT 1;
