-- The audit log: every admin and reviewer action, who made it, when and from where.
-- Append-only: the code has no path that updates or deletes a row, and triggers refuse both.
-- actor_id and project_id carry no foreign keys, so that nothing (an erased person, a
-- deleted project) can ever cascade into the log.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER,
    action     TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    project_id INTEGER,
    -- what was acted on, as `kind:id` (`user:12`, `item:7`, `token:3`)
    target     TEXT,
    -- before and after, a reason, counts: JSON text
    details    TEXT    NOT NULL DEFAULT '{}',
    -- the client's address, or `cli` for the command line
    source     TEXT
);
CREATE INDEX audit_log_project ON audit_log (project_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_at ON audit_log (at, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
