-- Which items each move of a project's report generation was for, so that a report input
-- kept or stored at an earlier generation can read those items again instead of every
-- label. One row per item: the last generation a change to it moved the project's number
-- to. A reader at generation g reads the items whose row is after g; an item changed twice
-- since is read once.
--
-- Rows of removed items stay: a reader learns of a removal here. They are few beside a
-- project's items, and a project that takes a removed one's id goes on from its number,
-- so they are never after a reader's generation.
CREATE TABLE report_changes (
    project_id INTEGER NOT NULL,
    item_id    INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (project_id, item_id)
) WITHOUT ROWID;
CREATE INDEX report_changes_since ON report_changes (project_id, generation);

-- A stored input's version holds the project's own number (`generation`) and the number
-- every project's report reads apart, so that a reader can tell which moved.
ALTER TABLE report_inputs ADD COLUMN shared_generation INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER labels_changed_report;
DROP TRIGGER labels_deleted_report;
DROP TRIGGER items_changed_report;
DROP TRIGGER items_deleted_report;
DROP TRIGGER adjudications_added_report;
DROP TRIGGER adjudications_changed_report;
DROP TRIGGER adjudications_deleted_report;

-- Each trigger moves its project's number, then logs its item at the new number.
CREATE TRIGGER labels_changed_report AFTER UPDATE ON labels
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, NEW.item_id, value FROM project_report_generation
    WHERE project_id = NEW.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER labels_deleted_report AFTER DELETE ON labels
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, OLD.item_id, value FROM project_report_generation
    WHERE project_id = OLD.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER items_changed_report
    AFTER UPDATE OF external_id, data, gold, prediction, is_gold, is_qualification ON items
    WHEN (OLD.external_id, OLD.data, OLD.gold, OLD.prediction, OLD.is_gold, OLD.is_qualification)
        IS NOT (NEW.external_id, NEW.data, NEW.gold, NEW.prediction, NEW.is_gold, NEW.is_qualification)
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, NEW.id, value FROM project_report_generation
    WHERE project_id = NEW.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER items_deleted_report AFTER DELETE ON items
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, OLD.id, value FROM project_report_generation
    WHERE project_id = OLD.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER adjudications_added_report AFTER INSERT ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, NEW.item_id, value FROM project_report_generation
    WHERE project_id = NEW.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER adjudications_changed_report AFTER UPDATE ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, NEW.item_id, value FROM project_report_generation
    WHERE project_id = NEW.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER adjudications_deleted_report AFTER DELETE ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT project_id, OLD.item_id, value FROM project_report_generation
    WHERE project_id = OLD.project_id
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
