-- A project's progress (items, labels, items complete, in progress and untouched; gold and
-- qualification items left out), kept by triggers on items as they change, so that pages
-- read one row per project instead of walking every item. On PostgreSQL the same table
-- holds several rows per project (see there); here one row per project, slot 0, suffices:
-- writes take turns anyway.
CREATE TABLE progress_counts (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slot        INTEGER NOT NULL DEFAULT 0,
    items       INTEGER NOT NULL DEFAULT 0,
    labels      INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    in_progress INTEGER NOT NULL DEFAULT 0,
    untouched   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, slot)
);

INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
    SELECT project_id, 0, count(*), coalesce(sum(label_count), 0),
           sum(need_generalist + need_expert + need_user = 0),
           sum(need_generalist + need_expert + need_user > 0 AND label_count > 0),
           sum(label_count = 0)
      FROM items WHERE NOT is_gold AND NOT is_qualification GROUP BY project_id;

CREATE TRIGGER items_progress_added AFTER INSERT ON items
WHEN NOT NEW.is_gold AND NOT NEW.is_qualification
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

-- An update only: when a project goes, its items go after its row of counts.
CREATE TRIGGER items_progress_removed AFTER DELETE ON items
WHEN NOT OLD.is_gold AND NOT OLD.is_qualification
BEGIN
    UPDATE progress_counts SET
        items = items - 1,
        labels = labels - OLD.label_count,
        complete = complete - (OLD.need_generalist + OLD.need_expert + OLD.need_user = 0),
        in_progress = in_progress - (OLD.need_generalist + OLD.need_expert + OLD.need_user > 0 AND OLD.label_count > 0),
        untouched = untouched - (OLD.label_count = 0)
    WHERE project_id = OLD.project_id AND slot = 0;
END;

-- An item counts when it is neither gold nor a qualification question; an update counts
-- the difference between the item after and before.
CREATE TRIGGER items_progress_changed AFTER UPDATE OF
    label_count, need_generalist, need_expert, need_user, is_gold, is_qualification, project_id ON items
BEGIN
    INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
        SELECT project_id, 0, sum(items), sum(labels), sum(complete), sum(in_progress), sum(untouched)
          FROM (
            SELECT NEW.project_id AS project_id, 1 AS items, NEW.label_count AS labels,
                   NEW.need_generalist + NEW.need_expert + NEW.need_user = 0 AS complete,
                   NEW.need_generalist + NEW.need_expert + NEW.need_user > 0 AND NEW.label_count > 0 AS in_progress,
                   NEW.label_count = 0 AS untouched
             WHERE NOT NEW.is_gold AND NOT NEW.is_qualification
            UNION ALL
            SELECT OLD.project_id, -1, -OLD.label_count,
                   -(OLD.need_generalist + OLD.need_expert + OLD.need_user = 0),
                   -(OLD.need_generalist + OLD.need_expert + OLD.need_user > 0 AND OLD.label_count > 0),
                   -(OLD.label_count = 0)
             WHERE NOT OLD.is_gold AND NOT OLD.is_qualification
          ) WHERE true GROUP BY project_id
        ON CONFLICT (project_id, slot) DO UPDATE SET
            items = items + excluded.items,
            labels = labels + excluded.labels,
            complete = complete + excluded.complete,
            in_progress = in_progress + excluded.in_progress,
            untouched = untouched + excluded.untouched;
END;
