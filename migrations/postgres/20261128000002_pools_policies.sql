-- Rater pools, assignment policies, gold questions and problem reports.

ALTER TABLE items RENAME COLUMN needed TO need_generalist;
ALTER TABLE items ADD COLUMN need_expert BIGINT NOT NULL DEFAULT 0 CHECK (need_expert >= 0);
ALTER TABLE items ADD COLUMN need_user BIGINT NOT NULL DEFAULT 0 CHECK (need_user >= 0);
ALTER TABLE items ADD COLUMN priority DOUBLE PRECISION;
ALTER TABLE items ADD COLUMN random_key BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN is_gold BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE items ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE items ADD COLUMN reports BIGINT NOT NULL DEFAULT 0 CHECK (reports >= 0);
ALTER TABLE items ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;

DROP INDEX items_open;
CREATE INDEX items_open_generalist ON items (project_id, position) WHERE need_generalist > 0;
CREATE INDEX items_open_expert ON items (project_id, position) WHERE need_expert > 0;
CREATE INDEX items_open_user ON items (project_id, position) WHERE need_user > 0;
CREATE INDEX items_gold ON items (project_id, random_key) WHERE is_gold;

ALTER TABLE labels ADD COLUMN pool TEXT NOT NULL DEFAULT 'generalist' CHECK (pool IN ('generalist', 'expert', 'user'));
ALTER TABLE leases ADD COLUMN pool TEXT NOT NULL DEFAULT 'generalist' CHECK (pool IN ('generalist', 'expert', 'user'));

ALTER TABLE projects ADD COLUMN pool_expert BIGINT NOT NULL DEFAULT 0 CHECK (pool_expert BETWEEN 0 AND 100);
ALTER TABLE projects ADD COLUMN pool_user BIGINT NOT NULL DEFAULT 0 CHECK (pool_user BETWEEN 0 AND 100);
ALTER TABLE projects ADD COLUMN expertise JSONB NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN escalate_below DOUBLE PRECISION CHECK (escalate_below IS NULL OR (escalate_below > 0 AND escalate_below <= 1));
ALTER TABLE projects ADD COLUMN expert_overlap BIGINT NOT NULL DEFAULT 1 CHECK (expert_overlap BETWEEN 1 AND 20);
ALTER TABLE projects ADD COLUMN min_overlap BIGINT CHECK (min_overlap IS NULL OR min_overlap >= 1);
ALTER TABLE projects ADD COLUMN max_overlap BIGINT CHECK (max_overlap IS NULL OR max_overlap <= 100);
ALTER TABLE projects ADD COLUMN item_order TEXT NOT NULL DEFAULT 'import' CHECK (item_order IN ('import', 'random', 'priority'));
ALTER TABLE projects ADD COLUMN seed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN gold_rate DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (gold_rate >= 0 AND gold_rate <= 1);
ALTER TABLE projects ADD COLUMN min_gold_accuracy DOUBLE PRECISION CHECK (min_gold_accuracy IS NULL OR (min_gold_accuracy >= 0 AND min_gold_accuracy <= 1));
ALTER TABLE projects ADD COLUMN gold_min_seen BIGINT NOT NULL DEFAULT 5 CHECK (gold_min_seen >= 1);
ALTER TABLE projects ADD COLUMN report_threshold BIGINT CHECK (report_threshold IS NULL OR report_threshold >= 1);

-- Per rater and project: gold record and pause.
CREATE TABLE rater_states (
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rater_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    gold_seen    BIGINT NOT NULL DEFAULT 0 CHECK (gold_seen >= 0),
    gold_correct BIGINT NOT NULL DEFAULT 0 CHECK (gold_correct >= 0 AND gold_correct <= gold_seen),
    paused       BOOLEAN NOT NULL DEFAULT FALSE,
    paused_reason TEXT,
    PRIMARY KEY (project_id, rater_id)
);

CREATE TABLE reports (
    item_id    BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    rater_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason     TEXT    NOT NULL CHECK (reason IN ('broken', 'ambiguous', 'offensive', 'personal_data')),
    note       TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (item_id, rater_id)
);
