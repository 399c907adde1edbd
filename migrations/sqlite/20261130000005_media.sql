-- Uploaded images, stored in the database so that every tally process on one database
-- serves them; content-addressed (SHA-256 of the bytes) and deduplicated per project.
CREATE TABLE media (
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    name         TEXT,
    bytes        BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, sha256)
);
