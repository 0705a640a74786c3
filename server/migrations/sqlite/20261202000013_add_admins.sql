-- Administrators manage what belongs to the whole installation (service tokens). The
-- first account is one; later, the first account made while there is none.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET admin = 1 WHERE id = (SELECT MIN(id) FROM users);
