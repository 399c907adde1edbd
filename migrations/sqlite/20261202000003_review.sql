-- Review and adjudication: the reviewers a project names and the final labels reviewers set.

-- A rater (an expert, say) may also review one project's items.
CREATE TABLE project_reviewers (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_reviewers_user ON project_reviewers (user_id);

-- The final label of an item, set by a reviewer with a reason. One per item: a later
-- adjudication replaces it, and the audit log keeps what it replaced.
CREATE TABLE adjudications (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    value       TEXT    NOT NULL CHECK (length(value) > 0),
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    created_at  INTEGER NOT NULL
);
CREATE INDEX adjudications_project ON adjudications (project_id, item_id);

-- Items whose agreement is under review_below go to review; spot_check_rate of the settled
-- items are sampled for spot checks.
ALTER TABLE projects ADD COLUMN review_below REAL NOT NULL DEFAULT 0.6 CHECK (review_below >= 0 AND review_below <= 1);
ALTER TABLE projects ADD COLUMN spot_check_rate REAL NOT NULL DEFAULT 0.02 CHECK (spot_check_rate >= 0 AND spot_check_rate <= 1);
