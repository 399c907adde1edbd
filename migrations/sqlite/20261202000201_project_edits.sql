-- Editing, archiving and versioned guidelines.
--
-- `revision` counts edits of a project's settings: the write gate reads it inside every
-- rater write, so a label checked against settings that changed meanwhile is refused.
-- `archived_at` closes a project to raters until an admin restores it.
-- `guideline_version` is the number of the project's current guidelines (its instructions).
ALTER TABLE projects ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE projects ADD COLUMN archived_at INTEGER;
ALTER TABLE projects ADD COLUMN guideline_version INTEGER NOT NULL DEFAULT 1 CHECK (guideline_version >= 1);

-- Every version of every project's instructions: who wrote it and when.
CREATE TABLE guideline_versions (
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL CHECK (number >= 1),
    instructions TEXT    NOT NULL,
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, number)
);
INSERT INTO guideline_versions (project_id, number, instructions, created_by, created_at)
    SELECT id, 1, instructions, created_by, created_at FROM projects;

-- The guideline version each label was given under. Labels from before versions existed
-- were given under the first one.
ALTER TABLE labels ADD COLUMN guideline_version INTEGER;
UPDATE labels SET guideline_version = 1;
-- SQLite cannot add NOT NULL to an existing column: these triggers refuse a label without
-- its version instead (PostgreSQL has the constraint).
CREATE TRIGGER labels_guideline_version_insert BEFORE INSERT ON labels
WHEN NEW.guideline_version IS NULL
BEGIN
    SELECT RAISE(ABORT, 'labels.guideline_version must be set');
END;
CREATE TRIGGER labels_guideline_version_update BEFORE UPDATE OF guideline_version ON labels
WHEN NEW.guideline_version IS NULL
BEGIN
    SELECT RAISE(ABORT, 'labels.guideline_version must be set');
END;
