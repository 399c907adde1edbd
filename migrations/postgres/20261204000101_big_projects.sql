-- Each rater's labels per project, kept by triggers as labels come and go, so that pages
-- showing how much a rater has done read one row instead of counting every label.
CREATE TABLE rater_tallies (
    project_id    BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rater_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    labels        BIGINT NOT NULL DEFAULT 0 CHECK (labels >= 0),
    last_label_at BIGINT,
    PRIMARY KEY (project_id, rater_id)
);
CREATE INDEX rater_tallies_rater ON rater_tallies (rater_id);

INSERT INTO rater_tallies (project_id, rater_id, labels, last_label_at)
    SELECT project_id, rater_id, count(*), max(created_at) FROM labels GROUP BY project_id, rater_id;

-- Statement-level triggers over the rows each statement added or removed: a statement
-- that writes many labels (an import, a bulk insert) updates each rater's row once, where a
-- row-level trigger would update the same row once per label and, within one transaction,
-- walk an ever longer chain of its versions.
CREATE FUNCTION rater_tally_labels_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rater_tallies (project_id, rater_id, labels, last_label_at)
        SELECT project_id, rater_id, count(*), max(created_at) FROM added GROUP BY project_id, rater_id
        ON CONFLICT (project_id, rater_id) DO UPDATE
        SET labels = rater_tallies.labels + excluded.labels,
            last_label_at = greatest(rater_tallies.last_label_at, excluded.last_label_at);
    RETURN NULL;
END $$;

CREATE FUNCTION rater_tally_labels_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rater_tallies t
       SET labels = t.labels - d.n,
           last_label_at = (SELECT max(l.created_at) FROM labels l
                            WHERE l.project_id = t.project_id AND l.rater_id = t.rater_id)
      FROM (SELECT project_id, rater_id, count(*) AS n FROM removed GROUP BY project_id, rater_id) d
     WHERE t.project_id = d.project_id AND t.rater_id = d.rater_id;
    RETURN NULL;
END $$;

CREATE TRIGGER labels_tally_added AFTER INSERT ON labels
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rater_tally_labels_added();
CREATE TRIGGER labels_tally_removed AFTER DELETE ON labels
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION rater_tally_labels_removed();

-- Items held back by problem reports, which the project page lists: few, found by their
-- own index instead of a walk through every item of the project.
CREATE INDEX items_held ON items (project_id, position) WHERE held;
