-- A report reads every label of a project in item order through this index. With the
-- columns it reads in the index (the rowid, the label's id, is in every entry), SQLite
-- reads the labels from the index alone instead of looking each one up in the table,
-- where an item's labels lie wherever they were written. The first two columns are the
-- key as before, so every other use of the index is as it was.
DROP INDEX labels_project;
CREATE INDEX labels_project ON labels (project_id, item_id, rater_id, pool, value,
    duration_ms, created_at, guideline_version, prediction_shown);
