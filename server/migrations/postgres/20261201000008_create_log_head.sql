-- The head of the event log: the last seq given out. Taking a seq updates this one
-- row, which stays locked until the transaction ends, so writers on every server
-- process take seqs one transaction at a time and commit them in order.
CREATE TABLE log_head (
    id  BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);

INSERT INTO log_head (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
