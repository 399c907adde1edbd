-- Process feedback: labels that production systems send by themselves, stored apart from
-- human labels.

CREATE TABLE feedback_keys (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE feedback_sources (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source     TEXT    NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    mapping    TEXT    NOT NULL DEFAULT '{}',
    expected_interval_seconds INTEGER CHECK (expected_interval_seconds IS NULL OR expected_interval_seconds > 0),
    PRIMARY KEY (project_id, source)
);

CREATE TABLE feedback_events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    source      TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    raw_value   TEXT    NOT NULL,
    weight      REAL    NOT NULL DEFAULT 1 CHECK (weight >= 0),
    context     TEXT    NOT NULL DEFAULT '{}',
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX feedback_events_item ON feedback_events (item_id);
CREATE INDEX feedback_events_source ON feedback_events (project_id, source, received_at);

CREATE TABLE feedback_refusals (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT,
    reason      TEXT    NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX feedback_refusals_source ON feedback_refusals (project_id, source, received_at);

ALTER TABLE projects ADD COLUMN feedback_creates_items INTEGER NOT NULL DEFAULT 0 CHECK (feedback_creates_items IN (0, 1));
ALTER TABLE projects ADD COLUMN feedback_first INTEGER NOT NULL DEFAULT 0 CHECK (feedback_first IN (0, 1));
ALTER TABLE projects ADD COLUMN negative_labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE items ADD COLUMN feedback_boost INTEGER NOT NULL DEFAULT 0 CHECK (feedback_boost IN (0, 1));
