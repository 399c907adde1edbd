-- Each rater's labels per project, kept by triggers as labels come and go, so that pages
-- showing how much a rater has done read one row instead of counting every label.
CREATE TABLE rater_tallies (
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rater_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    labels        INTEGER NOT NULL DEFAULT 0 CHECK (labels >= 0),
    last_label_at INTEGER,
    PRIMARY KEY (project_id, rater_id)
);
CREATE INDEX rater_tallies_rater ON rater_tallies (rater_id);

INSERT INTO rater_tallies (project_id, rater_id, labels, last_label_at)
    SELECT project_id, rater_id, count(*), max(created_at) FROM labels GROUP BY project_id, rater_id;

CREATE TRIGGER labels_tally_added AFTER INSERT ON labels
BEGIN
    INSERT INTO rater_tallies (project_id, rater_id, labels, last_label_at)
        VALUES (NEW.project_id, NEW.rater_id, 1, NEW.created_at)
        ON CONFLICT (project_id, rater_id) DO UPDATE
        SET labels = labels + 1, last_label_at = max(coalesce(last_label_at, 0), excluded.last_label_at);
END;

CREATE TRIGGER labels_tally_removed AFTER DELETE ON labels
BEGIN
    UPDATE rater_tallies
       SET labels = labels - 1,
           last_label_at = (SELECT max(created_at) FROM labels
                            WHERE project_id = OLD.project_id AND rater_id = OLD.rater_id)
     WHERE project_id = OLD.project_id AND rater_id = OLD.rater_id;
END;

-- Items held back by problem reports, which the project page lists: few, found by their
-- own index instead of a walk through every item of the project.
CREATE INDEX items_held ON items (project_id, position) WHERE held;
