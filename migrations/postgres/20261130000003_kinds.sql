-- Label kinds: a project's kind may now be any of eight, with its settings as JSON. Label
-- values, gold answers and mapped feedback values are stored as canonical JSON text for
-- every kind; the plain strings stored so far become JSON strings.

ALTER TABLE projects DROP CONSTRAINT IF EXISTS projects_kind_check;
ALTER TABLE projects ADD CONSTRAINT projects_kind_check
    CHECK (kind IN ('single_choice', 'multi_choice', 'rating', 'numeric', 'text', 'spans', 'boxes', 'image_choice'));

ALTER TABLE projects ADD COLUMN settings JSONB NOT NULL DEFAULT '{}';
-- What raters see of an item and of a model's pre-label.
ALTER TABLE projects ADD COLUMN presentation JSONB NOT NULL DEFAULT '{}';

UPDATE labels SET value = to_json(value)::text;
UPDATE items SET gold = to_json(gold)::text WHERE gold IS NOT NULL;
UPDATE feedback_events SET value = to_json(value)::text;

-- A model's pre-label for an item, checked like a label.
ALTER TABLE items ADD COLUMN prediction TEXT;
-- A rater's comment beside a label, and whether the item's pre-label was shown to them.
ALTER TABLE labels ADD COLUMN comment TEXT;
ALTER TABLE labels ADD COLUMN prediction_shown BOOLEAN;
