-- The last report input read whole for a big project (every label with its gold answers,
-- adjudications and raters' pseudonyms; src/store/stored_input.rs), at the version of the
-- data it was read at (see report_generation). Another process, or this one after a
-- restart, reads it back instead of every label when the version is the same, or when only
-- labels were added since and it reads those onto it.
CREATE TABLE report_inputs (
    project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    format     INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    revision   INTEGER,
    labels     INTEGER NOT NULL,
    items      INTEGER NOT NULL,
    body       BLOB    NOT NULL
);
