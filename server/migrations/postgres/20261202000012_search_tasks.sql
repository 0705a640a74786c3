-- Search over titles and descriptions: a GIN index on the words of both. The `simple`
-- configuration lowercases and does not stem, as the SQLite store's index does; the
-- query must spell this expression exactly for the index to be used.
CREATE INDEX tasks_search ON tasks
    USING GIN (to_tsvector('simple', title || ' ' || description));

-- The creator filter and "mine".
CREATE INDEX tasks_creator ON tasks (creator_id, last_seq DESC);
