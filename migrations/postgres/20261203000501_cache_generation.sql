-- Each tally process keeps the rows every request reads (a token's user, a project, a
-- rater's membership) in memory. This number changes in the same transaction as any change
-- to those rows, so a process that sees it move drops what it kept.
CREATE TABLE cache_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO cache_generation (id, value) VALUES (1, 0);

CREATE FUNCTION cache_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_changed_cache AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION cache_generation_bump();
CREATE TRIGGER api_tokens_changed_cache AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION cache_generation_bump();
CREATE TRIGGER projects_changed_cache AFTER UPDATE OR DELETE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION cache_generation_bump();
CREATE TRIGGER project_members_changed_cache AFTER INSERT OR UPDATE OR DELETE ON project_members
    FOR EACH STATEMENT EXECUTE FUNCTION cache_generation_bump();
