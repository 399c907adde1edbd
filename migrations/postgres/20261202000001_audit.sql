-- The audit log: every admin and reviewer action, who made it, when and from where.
-- Append-only: the code has no path that updates or deletes a row, and a trigger refuses
-- both (TRUNCATE too). actor_id and project_id carry no foreign keys, so that nothing (an
-- erased person, a deleted project) can ever cascade into the log.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor_id   BIGINT,
    action     TEXT   NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    project_id BIGINT,
    -- what was acted on, as `kind:id` (`user:12`, `item:7`, `token:3`)
    target     TEXT,
    -- before and after, a reason, counts: JSON text
    details    TEXT   NOT NULL DEFAULT '{}',
    -- the client's address, or `cli` for the command line
    source     TEXT
);
CREATE INDEX audit_log_project ON audit_log (project_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_at ON audit_log (at, id);

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
