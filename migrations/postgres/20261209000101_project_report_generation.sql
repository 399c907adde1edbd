-- A change to what one project's report reads (a label edited or removed, an item's gold
-- answer, data or pre-label, an item removed, an adjudication) moves that project's number
-- here, no longer the number every project's report depends on: an edit in one project
-- left every other project's kept and stored report input unused. `report_generation`
-- still moves for what every project's report reads: a rater's pseudonym. A report's
-- generation is the sum of the two, so it moves when either does.
--
-- There is no key to projects: a project's row outlives it, so that a project removed
-- (whose labels' triggers fire as it goes) needs no order among the deletes.
CREATE TABLE project_report_generation (
    project_id BIGINT PRIMARY KEY,
    value      BIGINT NOT NULL,
    -- The transaction that last moved the number. Readers only see committed data, so a
    -- number moved once per transaction is enough, and a statement touching many rows of
    -- one project (or a transaction of many such statements) writes its row once.
    moved_in   BIGINT NOT NULL
);

DROP TRIGGER labels_changed_report ON labels;
DROP TRIGGER items_changed_report ON items;
DROP TRIGGER adjudications_changed_report ON adjudications;

-- Moves the number of each of `projects`, once per transaction.
CREATE FUNCTION project_report_generation_move(projects BIGINT[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO project_report_generation AS g (project_id, value, moved_in)
    SELECT DISTINCT project, 1, txid_current() FROM unnest(projects) AS project
    ON CONFLICT (project_id) DO UPDATE SET value = g.value + 1, moved_in = excluded.moved_in
        WHERE g.moved_in <> excluded.moved_in;
$$;

-- Moves the number of every project among the rows in the statement's transition table
-- `changed`.
CREATE FUNCTION project_report_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_generation_move(ARRAY(SELECT DISTINCT project_id FROM changed));
    RETURN NULL;
END;
$$;

-- The same for one changed row (an item's columns: a trigger on some columns only cannot
-- have a transition table, and a statement trigger on every update of items would fire on
-- the labelling path, which updates an item's counts).
CREATE FUNCTION project_report_generation_bump_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_generation_move(ARRAY[NEW.project_id]);
    RETURN NULL;
END;
$$;

-- A trigger with a transition table fires on one kind of event only.
CREATE TRIGGER labels_changed_report AFTER UPDATE ON labels
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
CREATE TRIGGER labels_deleted_report AFTER DELETE ON labels
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
CREATE TRIGGER items_changed_report
    AFTER UPDATE OF external_id, data, gold, prediction, is_gold, is_qualification ON items
    FOR EACH ROW
    WHEN ((OLD.external_id, OLD.data, OLD.gold, OLD.prediction, OLD.is_gold, OLD.is_qualification)
        IS DISTINCT FROM
        (NEW.external_id, NEW.data, NEW.gold, NEW.prediction, NEW.is_gold, NEW.is_qualification))
    EXECUTE FUNCTION project_report_generation_bump_row();
CREATE TRIGGER items_deleted_report AFTER DELETE ON items
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
CREATE TRIGGER adjudications_added_report AFTER INSERT ON adjudications
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
CREATE TRIGGER adjudications_changed_report AFTER UPDATE ON adjudications
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
CREATE TRIGGER adjudications_deleted_report AFTER DELETE ON adjudications
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_generation_bump();
