-- People management: deactivated and erased accounts, one-time links to set a password
-- (invitations and resets), and sessions that know whose they are, so that a deactivation,
-- an erasure or a new password ends every session of that person.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
ALTER TABLE users ADD COLUMN erased_at INTEGER;

ALTER TABLE sessions ADD COLUMN user_id INTEGER;
UPDATE sessions SET user_id = CAST(json_extract(data, '$.user_id') AS INTEGER)
    WHERE json_valid(data) AND json_type(data, '$.user_id') = 'integer';
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;

-- A one-time link to set a password: made by an admin for a new person (`invite`) or for
-- a forgotten password (`reset`). Only the SHA-256 of the link's token is kept.
CREATE TABLE password_links (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('invite', 'reset')),
    token_hash TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
    used_at    INTEGER
);
CREATE INDEX password_links_user ON password_links (user_id);
