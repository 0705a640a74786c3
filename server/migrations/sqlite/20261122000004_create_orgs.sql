-- Teams. Everyone who signs up on the web joins the default org; an admin can put
-- accounts in other orgs from the shell (`server user add --org NAME`).
CREATE TABLE orgs (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);

INSERT INTO orgs (id, name) VALUES (1, 'default');
