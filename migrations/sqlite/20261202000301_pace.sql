-- Cost and pace: hourly rates per pool, and indexes that let the pace and health figures
-- be read as aggregates over an index instead of a scan of every item or label.

-- One row per project once an admin sets rates; none means nothing costs anything yet.
CREATE TABLE pool_rates (
    project_id          INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    currency            TEXT    NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3),
    generalist_per_hour REAL    NOT NULL DEFAULT 0 CHECK (generalist_per_hour >= 0),
    expert_per_hour     REAL    NOT NULL DEFAULT 0 CHECK (expert_per_hour >= 0),
    user_per_hour       REAL    NOT NULL DEFAULT 0 CHECK (user_per_hour >= 0),
    updated_at          INTEGER NOT NULL
);

-- Labels per window and active raters (covering), the first label, the trailing pace.
CREATE INDEX labels_project_time ON labels (project_id, created_at, rater_id);
-- Labels, recorded times and their median per pool (covering; the median reads the middle).
CREATE INDEX labels_project_pool_time ON labels (project_id, pool, duration_ms);
-- Labels still wanted per pool: only items that want any, which shrink as work is done.
CREATE INDEX items_wanted ON items (project_id, held, need_generalist, need_expert, need_user)
    WHERE need_generalist + need_expert + need_user > 0;
-- Gold and qualification questions, left out of savings, distribution and agreement.
CREATE INDEX items_side ON items (project_id, id) WHERE is_gold OR is_qualification;
-- The first feedback event and events per window.
CREATE INDEX feedback_events_received ON feedback_events (project_id, received_at);
