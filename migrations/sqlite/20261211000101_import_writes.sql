-- An import counts its items into a project's progress once, when its rows are all in,
-- instead of once per row: SQLite's triggers run for each row, and the upsert of the
-- counts was a fifth of the database's work in an import. While a project has a row here
-- the insert trigger passes its new items over. The row lives only inside the import's
-- transaction: SQLite has one writer, and readers see it neither come nor go.
-- (PostgreSQL's triggers run once per statement and need nothing of the kind.)
CREATE TABLE item_imports (project_id INTEGER PRIMARY KEY);

DROP TRIGGER items_progress_added;
CREATE TRIGGER items_progress_added AFTER INSERT ON items
WHEN NOT NEW.is_gold AND NOT NEW.is_qualification
     AND NOT EXISTS (SELECT 1 FROM item_imports WHERE project_id = NEW.project_id)
BEGIN
    INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
        VALUES (NEW.project_id, 0, 1, NEW.label_count,
                NEW.need_generalist + NEW.need_expert + NEW.need_user = 0,
                NEW.need_generalist + NEW.need_expert + NEW.need_user > 0 AND NEW.label_count > 0,
                NEW.label_count = 0)
        ON CONFLICT (project_id, slot) DO UPDATE SET
            items = items + excluded.items,
            labels = labels + excluded.labels,
            complete = complete + excluded.complete,
            in_progress = in_progress + excluded.in_progress,
            untouched = untouched + excluded.untouched;
END;

-- Items are told apart by a 64-bit key of the SHA-256 of their data (the first eight bytes,
-- big-endian, as a signed integer) instead of its 64 hex digits: the index an import
-- writes for every row is a quarter of the size, and its random inserts a quarter as
-- costly. Items keyed before are keyed again the first time they are needed
-- (Store::content_keys), from the hex hash they hold, which is then cleared; the column
-- stays, as dropping it would rewrite every row.
ALTER TABLE items ADD COLUMN content_key INTEGER;
DROP INDEX items_content_hash;
DROP INDEX items_unhashed;
CREATE INDEX items_content_key ON items (project_id, content_key);
CREATE INDEX items_unkeyed ON items (project_id) WHERE content_key IS NULL;
