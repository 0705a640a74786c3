-- Search over titles and descriptions: an FTS5 index kept beside `tasks` (it stores no
-- copy of the text, only the index) and kept in step by triggers.
CREATE VIRTUAL TABLE tasks_search USING fts5 (
    title,
    description,
    content = 'tasks',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO tasks_search (tasks_search) VALUES ('rebuild');

CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_search (rowid, title, description)
    VALUES (new.id, new.title, new.description);
END;

CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
END;

CREATE TRIGGER tasks_search_update AFTER UPDATE OF title, description ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO tasks_search (rowid, title, description)
    VALUES (new.id, new.title, new.description);
END;

-- The creator filter and "mine".
CREATE INDEX tasks_creator ON tasks (creator_id, last_seq DESC);
