-- Uploaded images, stored in the database so that every tally process on one database
-- serves them; content-addressed (SHA-256 of the bytes) and deduplicated per project.
CREATE TABLE media (
    project_id   BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    content_type TEXT    NOT NULL,
    width        BIGINT  NOT NULL,
    height       BIGINT  NOT NULL,
    size         BIGINT  NOT NULL,
    name         TEXT,
    bytes        BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (project_id, sha256)
);
