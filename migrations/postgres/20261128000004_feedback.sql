-- Process feedback: labels that production systems send by themselves, stored apart from
-- human labels.

CREATE TABLE feedback_keys (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE feedback_sources (
    project_id BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source     TEXT    NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    mapping    JSONB   NOT NULL DEFAULT '{}',
    expected_interval_seconds BIGINT  CHECK (expected_interval_seconds IS NULL OR expected_interval_seconds > 0),
    PRIMARY KEY (project_id, source)
);

CREATE TABLE feedback_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    item_id     BIGINT  NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    source      TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    raw_value   TEXT    NOT NULL,
    weight      DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (weight >= 0),
    context     JSONB   NOT NULL DEFAULT '{}',
    occurred_at BIGINT  NOT NULL,
    received_at BIGINT  NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX feedback_events_item ON feedback_events (item_id);
CREATE INDEX feedback_events_source ON feedback_events (project_id, source, received_at);

CREATE TABLE feedback_refusals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT,
    reason      TEXT    NOT NULL,
    received_at BIGINT  NOT NULL
);
CREATE INDEX feedback_refusals_source ON feedback_refusals (project_id, source, received_at);

ALTER TABLE projects ADD COLUMN feedback_creates_items BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN feedback_first BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN negative_labels JSONB NOT NULL DEFAULT '[]';
ALTER TABLE items ADD COLUMN feedback_boost BOOLEAN NOT NULL DEFAULT FALSE;
