-- People management: deactivated and erased accounts, one-time links to set a password
-- (invitations and resets), and sessions that know whose they are, so that a deactivation,
-- an erasure or a new password ends every session of that person.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
ALTER TABLE users ADD COLUMN erased_at BIGINT;

ALTER TABLE sessions ADD COLUMN user_id BIGINT;
UPDATE sessions SET user_id = (data::jsonb ->> 'user_id')::BIGINT
    WHERE jsonb_typeof(data::jsonb -> 'user_id') = 'number';
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;

-- A one-time link to set a password: made by an admin for a new person (`invite`) or for
-- a forgotten password (`reset`). Only the SHA-256 of the link's token is kept.
CREATE TABLE password_links (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('invite', 'reset')),
    token_hash TEXT    NOT NULL UNIQUE,
    created_by BIGINT  REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL CHECK (expires_at > created_at),
    used_at    BIGINT
);
CREATE INDEX password_links_user ON password_links (user_id);
