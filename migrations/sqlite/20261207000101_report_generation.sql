-- Each tally process keeps the last report input it read (every label of a project, its
-- gold answers, adjudications and raters' pseudonyms) and reads it again only when the
-- project's data has changed. A label given, an item added or a settings edit show in
-- counts and the project's revision; every other change to what a report reads moves this
-- number, in the same transaction as the change. None of these triggers fires on the
-- labelling path: a label is an insert, and its item's update sets only the counts.
CREATE TABLE report_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO report_generation (id, value) VALUES (1, 0);

CREATE TRIGGER labels_changed_report AFTER UPDATE ON labels
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER labels_deleted_report AFTER DELETE ON labels
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER items_changed_report
    AFTER UPDATE OF external_id, data, gold, prediction, is_gold, is_qualification ON items
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER items_deleted_report AFTER DELETE ON items
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER adjudications_added_report AFTER INSERT ON adjudications
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER adjudications_changed_report AFTER UPDATE ON adjudications
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER adjudications_deleted_report AFTER DELETE ON adjudications
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_renamed_report AFTER UPDATE OF pseudonym ON users
BEGIN UPDATE report_generation SET value = value + 1 WHERE id = 1; END;
