-- Links for the product's own users: signed per-user links and an open link, with a
-- completion URL for crowd platforms.

ALTER TABLE projects ADD COLUMN link_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN open_link INTEGER NOT NULL DEFAULT 0 CHECK (open_link IN (0, 1));
ALTER TABLE projects ADD COLUMN open_token TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN completion_url TEXT;
ALTER TABLE projects ADD COLUMN completion_after INTEGER CHECK (completion_after IS NULL OR completion_after >= 1);
ALTER TABLE projects ADD COLUMN completion_code TEXT;
UPDATE projects SET link_secret = lower(hex(randomblob(32))), open_token = lower(hex(randomblob(16)));

-- A user-pool account made by a link belongs to that one project.
ALTER TABLE users ADD COLUMN scope_project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE;
