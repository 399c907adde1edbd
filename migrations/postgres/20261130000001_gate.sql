-- Reports an admin answered by releasing the item stop counting towards holding it back.
ALTER TABLE reports ADD COLUMN cleared BOOLEAN NOT NULL DEFAULT FALSE;

-- Sessions are now stored under the SHA-256 of their id; ids stored in the clear before
-- cannot be converted, so those sessions end (people sign in again).
DELETE FROM sessions;

-- Signed links: a project may ask that each works once; the nonces used are kept until
-- the link would have expired anyway.
ALTER TABLE projects ADD COLUMN single_use_links BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE link_nonces (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    nonce      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, nonce)
);
