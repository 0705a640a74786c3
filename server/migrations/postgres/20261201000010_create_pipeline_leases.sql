-- Which server process is working on a task's pipeline step, until when. A process
-- renews its lease while it works; a lease that has expired (its holder died) may be
-- taken by another process, which then does the step.
CREATE TABLE pipeline_leases (
    task_id    BIGINT NOT NULL PRIMARY KEY REFERENCES tasks (id),
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
