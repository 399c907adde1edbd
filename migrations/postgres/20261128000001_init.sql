-- tally schema, PostgreSQL dialect. Timestamps are epoch milliseconds; JSON is JSONB.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'rater')),
    pool          TEXT    NOT NULL DEFAULT 'generalist' CHECK (pool IN ('generalist', 'expert', 'user')),
    expertise     JSONB   NOT NULL DEFAULT '[]',
    password_hash TEXT,
    pseudonym     TEXT    NOT NULL UNIQUE,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    data       TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE projects (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind          TEXT    NOT NULL CHECK (kind IN ('single_choice')),
    labels        JSONB   NOT NULL,
    overlap       BIGINT  NOT NULL CHECK (overlap BETWEEN 0 AND 100),
    instructions  TEXT    NOT NULL DEFAULT '',
    lease_seconds BIGINT  NOT NULL DEFAULT 600 CHECK (lease_seconds BETWEEN 1 AND 86400),
    created_by    BIGINT  REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    external_id TEXT,
    data        JSONB   NOT NULL,
    gold        TEXT,
    position    BIGINT  NOT NULL,
    label_count BIGINT  NOT NULL DEFAULT 0 CHECK (label_count >= 0),
    -- labels still wanted; assignment hands out items with needed > active leases
    needed      BIGINT  NOT NULL CHECK (needed >= 0),
    created_at  BIGINT  NOT NULL,
    UNIQUE (project_id, external_id)
);
CREATE INDEX items_open ON items (project_id, position) WHERE needed > 0;
CREATE INDEX items_position ON items (project_id, position);

CREATE TABLE labels (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    item_id     BIGINT  NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    rater_id    BIGINT  NOT NULL REFERENCES users(id),
    value       TEXT    NOT NULL CHECK (length(value) > 0),
    duration_ms BIGINT  CHECK (duration_ms IS NULL OR duration_ms >= 0),
    created_at  BIGINT  NOT NULL,
    UNIQUE (item_id, rater_id)
);
CREATE INDEX labels_rater ON labels (rater_id, project_id, created_at);
CREATE INDEX labels_project ON labels (project_id, item_id);

CREATE TABLE skips (
    item_id    BIGINT  NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    rater_id   BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason     TEXT,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (item_id, rater_id)
);
CREATE INDEX skips_rater ON skips (rater_id);

CREATE TABLE leases (
    item_id    BIGINT  NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    rater_id   BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    leased_at  BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL CHECK (expires_at > leased_at),
    PRIMARY KEY (item_id, rater_id)
);
CREATE INDEX leases_rater ON leases (rater_id, project_id, expires_at);
