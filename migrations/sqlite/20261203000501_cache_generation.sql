-- Each tally process keeps the rows every request reads (a token's user, a project, a
-- rater's membership) in memory. This number changes in the same transaction as any change
-- to those rows, so a process that sees it move drops what it kept.
CREATE TABLE cache_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO cache_generation (id, value) VALUES (1, 0);

CREATE TRIGGER users_changed_cache AFTER UPDATE ON users
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_deleted_cache AFTER DELETE ON users
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_changed_cache AFTER UPDATE ON api_tokens
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_deleted_cache AFTER DELETE ON api_tokens
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER projects_changed_cache AFTER UPDATE ON projects
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER projects_deleted_cache AFTER DELETE ON projects
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_added_cache AFTER INSERT ON project_members
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_changed_cache AFTER UPDATE ON project_members
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_removed_cache AFTER DELETE ON project_members
BEGIN UPDATE cache_generation SET value = value + 1 WHERE id = 1; END;
