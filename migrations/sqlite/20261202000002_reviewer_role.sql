-- The reviewer role. SQLite cannot change a CHECK constraint in place, so the users table is
-- rebuilt the way SQLite documents it, which needs foreign keys off: otherwise dropping the
-- old table would cascade into every table that references users. The pragma has no effect
-- inside a transaction and the migrator runs each file in one, so this file ends the
-- migrator's transaction, rebuilds in its own, and opens a fresh one for the migrator's
-- bookkeeping to commit. Every step can run again after a crash between them.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE IF EXISTS users_new;
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
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;
