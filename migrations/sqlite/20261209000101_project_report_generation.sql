-- A change to what one project's report reads (a label edited or removed, an item's gold
-- answer, data or pre-label, an item removed, an adjudication) moves that project's number
-- here, no longer the number every project's report depends on: an edit in one project
-- left every other project's kept and stored report input unused. `report_generation`
-- still moves for what every project's report reads: a rater's pseudonym. A report's
-- generation is the sum of the two, so it moves when either does.
--
-- There is no key to projects: a project's row outlives it, so a project that takes its id
-- after it (SQLite reuses the highest id) goes on from its number instead of starting over.
CREATE TABLE project_report_generation (
    project_id INTEGER PRIMARY KEY,
    value      INTEGER NOT NULL
);

DROP TRIGGER labels_changed_report;
DROP TRIGGER labels_deleted_report;
DROP TRIGGER items_changed_report;
DROP TRIGGER items_deleted_report;
DROP TRIGGER adjudications_added_report;
DROP TRIGGER adjudications_changed_report;
DROP TRIGGER adjudications_deleted_report;

CREATE TRIGGER labels_changed_report AFTER UPDATE ON labels
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER labels_deleted_report AFTER DELETE ON labels
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER items_changed_report
    AFTER UPDATE OF external_id, data, gold, prediction, is_gold, is_qualification ON items
    WHEN (OLD.external_id, OLD.data, OLD.gold, OLD.prediction, OLD.is_gold, OLD.is_qualification)
        IS NOT (NEW.external_id, NEW.data, NEW.gold, NEW.prediction, NEW.is_gold, NEW.is_qualification)
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER items_deleted_report AFTER DELETE ON items
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER adjudications_added_report AFTER INSERT ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER adjudications_changed_report AFTER UPDATE ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER adjudications_deleted_report AFTER DELETE ON adjudications
BEGIN
    INSERT INTO project_report_generation (project_id, value) VALUES (OLD.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET value = value + 1;
END;
