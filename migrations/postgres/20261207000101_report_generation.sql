-- Each tally process keeps the last report input it read (every label of a project, its
-- gold answers, adjudications and raters' pseudonyms) and reads it again only when the
-- project's data has changed. A label given, an item added or a settings edit show in
-- counts and the project's revision; every other change to what a report reads moves this
-- number, in the same transaction as the change. None of these triggers fires on the
-- labelling path: a label is an insert, and its item's update sets only the counts.
CREATE TABLE report_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO report_generation (id, value) VALUES (1, 0);

CREATE FUNCTION report_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER labels_changed_report AFTER UPDATE OR DELETE ON labels
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();
CREATE TRIGGER items_changed_report
    AFTER UPDATE OF external_id, data, gold, prediction, is_gold, is_qualification OR DELETE ON items
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();
CREATE TRIGGER adjudications_changed_report AFTER INSERT OR UPDATE OR DELETE ON adjudications
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();
CREATE TRIGGER users_renamed_report AFTER UPDATE OF pseudonym OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();
