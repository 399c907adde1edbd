-- Links for the product's own users: signed per-user links and an open link, with a
-- completion URL for crowd platforms.

ALTER TABLE projects ADD COLUMN link_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN open_link BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN open_token TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN completion_url TEXT;
ALTER TABLE projects ADD COLUMN completion_after BIGINT CHECK (completion_after IS NULL OR completion_after >= 1);
ALTER TABLE projects ADD COLUMN completion_code TEXT;
UPDATE projects SET link_secret = md5(random()::text || clock_timestamp()::text) || md5(random()::text),
                    open_token = md5(random()::text || clock_timestamp()::text);

-- A user-pool account made by a link belongs to that one project.
ALTER TABLE users ADD COLUMN scope_project_id BIGINT REFERENCES projects(id) ON DELETE CASCADE;
