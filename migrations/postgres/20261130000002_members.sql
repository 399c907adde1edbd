-- Who may work on a project: named raters and whole pools. A project with neither is open
-- to the raters of the pools it asks labels from.
CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rater_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, rater_id)
);
CREATE INDEX project_members_rater ON project_members (rater_id);
ALTER TABLE projects ADD COLUMN member_pools JSONB NOT NULL DEFAULT '[]';
