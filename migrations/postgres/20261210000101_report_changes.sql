-- Which items each move of a project's report generation was for, so that a report input
-- kept or stored at an earlier generation can read those items again instead of every
-- label. One row per item: the last generation a change to it moved the project's number
-- to. A reader at generation g reads the items whose row is after g; an item changed twice
-- since is read once. A project's number is moved under its row's lock, held to the end of
-- the transaction, so the numbers of one project's changes follow their commits.
--
-- A statement that changes more than 1,000 items of a project (a project or a batch
-- removed) logs item 0 instead, which ids never are: a reader behind it reads everything.
--
-- Rows of removed items stay: a reader learns of a removal here.
CREATE TABLE report_changes (
    project_id BIGINT NOT NULL,
    item_id    BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (project_id, item_id)
);
CREATE INDEX report_changes_since ON report_changes (project_id, generation);

-- A stored input's version holds the project's own number (`generation`) and the number
-- every project's report reads apart, so that a reader can tell which moved.
ALTER TABLE report_inputs ADD COLUMN shared_generation BIGINT NOT NULL DEFAULT 0;

-- Moves the number of each project among `projects` once per transaction and logs each
-- (project, item) pair of `projects` and `items` (arrays of one length) at its number.
CREATE FUNCTION project_report_changed(projects BIGINT[], items BIGINT[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_generation_move(projects);
    INSERT INTO report_changes (project_id, item_id, generation)
    SELECT DISTINCT logged.project,
        CASE WHEN many.project IS NULL THEN logged.item ELSE 0 END, g.value
    FROM unnest(projects, items) AS logged (project, item)
    JOIN project_report_generation g ON g.project_id = logged.project
    LEFT JOIN (
        SELECT project FROM unnest(projects, items) AS each_one (project, item)
        GROUP BY project HAVING count(DISTINCT item) > 1000
    ) many ON many.project = logged.project
    ON CONFLICT (project_id, item_id) DO UPDATE SET generation = excluded.generation;
END;
$$;

-- Labels and adjudications: the statement's transition table `changed` has the item.
CREATE OR REPLACE FUNCTION project_report_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_changed(array_agg(project_id), array_agg(item_id)) FROM changed;
    RETURN NULL;
END;
$$;

-- Items removed: the transition table's rows are the items.
CREATE FUNCTION project_report_items_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_changed(array_agg(project_id), array_agg(id)) FROM changed;
    RETURN NULL;
END;
$$;

-- One item's columns changed.
CREATE OR REPLACE FUNCTION project_report_generation_bump_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM project_report_changed(ARRAY[NEW.project_id], ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

DROP TRIGGER items_deleted_report ON items;
CREATE TRIGGER items_deleted_report AFTER DELETE ON items
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION project_report_items_bump();
