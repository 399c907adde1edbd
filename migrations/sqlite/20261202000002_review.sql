-- no-transaction
-- Review and adjudication: a reviewer role, the reviewers a project names, and the final
-- labels reviewers set.
--
-- SQLite cannot change a CHECK constraint in place, so the users table is rebuilt the way
-- SQLite documents it: foreign keys off, a new table, copy, drop, rename, all in one
-- transaction. (This file opts out of the migrator's own transaction so that the foreign-key
-- pragma, which has no effect inside a transaction, can be set.)
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_new (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    role             TEXT    NOT NULL CHECK (role IN ('admin', 'rater', 'reviewer')),
    pool             TEXT    NOT NULL DEFAULT 'generalist' CHECK (pool IN ('generalist', 'expert', 'user')),
    expertise        TEXT    NOT NULL DEFAULT '[]',
    password_hash    TEXT,
    pseudonym        TEXT    NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    scope_project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE
);
INSERT INTO users_new (id, name, role, pool, expertise, password_hash, pseudonym, created_at, scope_project_id)
    SELECT id, name, role, pool, expertise, password_hash, pseudonym, created_at, scope_project_id FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

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
COMMIT;
PRAGMA foreign_keys = ON;
