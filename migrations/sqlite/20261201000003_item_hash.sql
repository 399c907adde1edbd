-- A SHA-256 of each item's data as canonical JSON (keys sorted), so an import can tell
-- which of its rows a project already holds. Items from before are hashed by tally the
-- first time they are needed (Store::item_hashes), as SQLite has no SHA-256.
ALTER TABLE items ADD COLUMN content_hash TEXT;
CREATE INDEX items_content_hash ON items (project_id, content_hash);
CREATE INDEX items_unhashed ON items (project_id) WHERE content_hash IS NULL;

-- An upload the admin is previewing in the browser: kept until they confirm or cancel,
-- for an hour at most, and only for the admin who sent it.
CREATE TABLE pending_imports (
    id         TEXT    PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    admin_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_name  TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
