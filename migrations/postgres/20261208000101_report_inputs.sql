-- The last report input read whole for a big project (every label with its gold answers,
-- adjudications and raters' pseudonyms; src/store/stored_input.rs), at the version of the
-- data it was read at (see report_generation). Another process, or this one after a
-- restart, reads it back instead of every label when the version is the same, or when only
-- labels were added since and it reads those onto it.
CREATE TABLE report_inputs (
    project_id BIGINT  PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    format     INTEGER NOT NULL,
    generation BIGINT  NOT NULL,
    revision   BIGINT,
    labels     BIGINT  NOT NULL,
    items      BIGINT  NOT NULL,
    body       BYTEA   NOT NULL
);
-- The body is binary and hardly compresses; compressing it cost the write time for nothing.
ALTER TABLE report_inputs ALTER COLUMN body SET STORAGE EXTERNAL;
