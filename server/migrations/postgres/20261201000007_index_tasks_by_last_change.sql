-- The dashboard lists tasks most recently changed first, a page at a time.
CREATE INDEX tasks_last_seq ON tasks (last_seq DESC);
