-- A rater may change a label within the project's edit window; the last change is kept.
ALTER TABLE labels ADD COLUMN edited_at INTEGER;
