-- Dataset versions: every export is recorded with its settings, counts, content hash and
-- card, and its bytes are kept in chunks (one per page written) so that a version
-- downloads again byte for byte, streamed, on any tally process. A version stays
-- 'writing' until its last chunk is stored; only 'complete' versions are listed.
CREATE TABLE dataset_versions (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    settings       TEXT    NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'writing' CHECK (state IN ('writing', 'complete')),
    row_count      INTEGER NOT NULL DEFAULT 0,
    label_count    INTEGER NOT NULL DEFAULT 0,
    bytes          INTEGER NOT NULL DEFAULT 0,
    content_sha256 TEXT,
    card           TEXT
);
CREATE INDEX dataset_versions_by_project ON dataset_versions (project_id, id);

CREATE TABLE dataset_chunks (
    version_id INTEGER NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    bytes      BLOB    NOT NULL,
    PRIMARY KEY (version_id, seq)
);

-- Exports and the admin's item list read a project's items (and their feedback) in id
-- order a page at a time; without these, each page sorted the whole project again.
CREATE INDEX items_by_project_id ON items (project_id, id);
CREATE INDEX feedback_events_by_item ON feedback_events (project_id, item_id);
