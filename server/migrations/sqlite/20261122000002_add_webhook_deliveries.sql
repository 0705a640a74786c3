-- GitHub webhook deliveries already processed, so a redelivery changes nothing.
CREATE TABLE webhook_deliveries (
    id          TEXT    PRIMARY KEY,
    event       TEXT    NOT NULL,
    received_at INTEGER NOT NULL
);

-- Webhooks find tasks by branch and by issue number.
CREATE INDEX tasks_github_branch ON tasks (github_branch);
CREATE INDEX tasks_issue_number ON tasks (issue_number);
