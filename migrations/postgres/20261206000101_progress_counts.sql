-- A project's progress (items, labels, items complete, in progress and untouched; gold and
-- qualification items left out), kept by triggers on items as they change, so that pages
-- read a few rows per project instead of walking every item.
--
-- Every label changes its item, and concurrent labels would all wait on one row per
-- project until each commits. Instead each statement that changes items adds a row of
-- differences in a slot of its own; a project's progress is the sum of its rows, and tally
-- folds them back into slot 0 as they pile up.
CREATE TABLE progress_counts (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slot        BIGINT NOT NULL DEFAULT 0,
    items       BIGINT NOT NULL DEFAULT 0,
    labels      BIGINT NOT NULL DEFAULT 0,
    complete    BIGINT NOT NULL DEFAULT 0,
    in_progress BIGINT NOT NULL DEFAULT 0,
    untouched   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, slot)
);
CREATE SEQUENCE progress_slots;

INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
    SELECT project_id, 0, count(*), coalesce(sum(label_count), 0),
           count(*) FILTER (WHERE need_generalist + need_expert + need_user = 0),
           count(*) FILTER (WHERE need_generalist + need_expert + need_user > 0 AND label_count > 0),
           count(*) FILTER (WHERE label_count = 0)
      FROM items WHERE NOT is_gold AND NOT is_qualification GROUP BY project_id;

-- The rows differences are made of: each item changed counts once with sign 1 as it is
-- after, once with sign -1 as it was before (gold and qualification items not at all).
-- The sums are written out in each trigger's query rather than in a function called per
-- item, which cost labelling on PostgreSQL a fifth of its throughput.
CREATE FUNCTION progress_items_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
        SELECT project_id, nextval('progress_slots'), count(*), sum(label_count),
               count(*) FILTER (WHERE need_generalist + need_expert + need_user = 0),
               count(*) FILTER (WHERE need_generalist + need_expert + need_user > 0 AND label_count > 0),
               count(*) FILTER (WHERE label_count = 0)
          FROM added WHERE NOT is_gold AND NOT is_qualification
         GROUP BY project_id;
    RETURN NULL;
END $$;

CREATE FUNCTION progress_items_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
        SELECT project_id, nextval('progress_slots'), -count(*), -sum(label_count),
               -count(*) FILTER (WHERE need_generalist + need_expert + need_user = 0),
               -count(*) FILTER (WHERE need_generalist + need_expert + need_user > 0 AND label_count > 0),
               -count(*) FILTER (WHERE label_count = 0)
          FROM removed
         WHERE NOT is_gold AND NOT is_qualification
           -- A project being deleted takes its rows with it.
           AND EXISTS (SELECT 1 FROM projects WHERE projects.id = removed.project_id)
         GROUP BY project_id;
    RETURN NULL;
END $$;

CREATE FUNCTION progress_items_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
        SELECT project_id, nextval('progress_slots'), sum(sign), sum(sign * label_count),
               sum(CASE WHEN open = 0 THEN sign ELSE 0 END),
               sum(CASE WHEN open > 0 AND label_count > 0 THEN sign ELSE 0 END),
               sum(CASE WHEN label_count = 0 THEN sign ELSE 0 END)
          FROM (SELECT project_id, 1 AS sign, label_count,
                       need_generalist + need_expert + need_user AS open
                  FROM after_rows WHERE NOT is_gold AND NOT is_qualification
                UNION ALL
                SELECT project_id, -1, label_count, need_generalist + need_expert + need_user
                  FROM before_rows WHERE NOT is_gold AND NOT is_qualification) changed
         GROUP BY project_id
        HAVING sum(sign) <> 0 OR sum(sign * label_count) <> 0
            OR sum(CASE WHEN open = 0 THEN sign ELSE 0 END) <> 0
            OR sum(CASE WHEN open > 0 AND label_count > 0 THEN sign ELSE 0 END) <> 0
            OR sum(CASE WHEN label_count = 0 THEN sign ELSE 0 END) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER items_progress_added AFTER INSERT ON items
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION progress_items_added();
CREATE TRIGGER items_progress_removed AFTER DELETE ON items
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION progress_items_removed();
CREATE TRIGGER items_progress_changed AFTER UPDATE ON items
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION progress_items_changed();
