-- Indexes for the random and priority orders (in SQLite NULLs already sort last under DESC), so `next` stops at the first open item
-- instead of sorting every open one.
CREATE INDEX items_open_random ON items (project_id, random_key, position) WHERE need_generalist > 0;
CREATE INDEX items_open_priority ON items (project_id, priority DESC, position) WHERE need_generalist > 0;
