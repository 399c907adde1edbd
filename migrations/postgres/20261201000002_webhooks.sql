-- Webhooks: URLs a project calls when labels are ready, and the deliveries to them.

-- The secret is kept as it is, not hashed like API tokens: tally signs each body with it
-- (HMAC-SHA256), and a hash could verify a secret but never sign with it. It is shown to the
-- admin once, when the webhook is made, and never again by any page or API.
CREATE TABLE webhooks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url         TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    secret      TEXT    NOT NULL,
    -- batch.completed fires after every `batch_size` completed items of the project...
    batch_size  BIGINT  NOT NULL DEFAULT 100 CHECK (batch_size >= 1),
    -- ...counted after this completion (webhook_completions.id), the last of the last batch.
    batch_after BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX webhooks_project ON webhooks (project_id);

-- The events a webhook is called for, one row each.
CREATE TABLE webhook_subscriptions (
    webhook_id BIGINT  NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event      TEXT    NOT NULL CHECK (event IN ('item.completed', 'batch.completed', 'dataset_version.created', 'feedback_source.silent', 'feedback_source.drift')),
    PRIMARY KEY (webhook_id, event)
);

-- One call to one webhook. The body is kept as the exact text that is signed and sent
-- (TEXT on both backends: JSONB would reorder its keys and the signature would not match).
-- A pending delivery is a row until it is delivered or given up, so it survives a restart.
CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      BIGINT  NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at BIGINT  NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);

-- Items as they become complete (every label they want given), in order: the sequence that
-- item.completed and batch.completed are made from. An item whose edited label asks for
-- more labels leaves this table and comes back when it is complete again.
CREATE TABLE webhook_completions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    item_id      BIGINT  NOT NULL UNIQUE REFERENCES items(id) ON DELETE CASCADE,
    completed_at BIGINT  NOT NULL
);
CREATE INDEX webhook_completions_project ON webhook_completions (project_id, id);

-- The last health of each feedback source that the webhook sweep saw, so that a source
-- falling silent or drifting is announced once per change, whichever process sees it.
CREATE TABLE webhook_source_states (
    project_id BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source     TEXT    NOT NULL,
    silent     BOOLEAN NOT NULL DEFAULT FALSE,
    drifting   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (project_id, source)
);
