-- Administrators manage what belongs to the whole installation (service tokens). The
-- first account is one; later, the first account made while there is none.
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET admin = TRUE WHERE id = (SELECT MIN(id) FROM users);
