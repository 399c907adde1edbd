-- Label kinds: a project's kind may now be any of eight, with its settings as JSON. Label
-- values, gold answers and mapped feedback values are stored as canonical JSON text for
-- every kind; the plain strings stored so far become JSON strings.

ALTER TABLE projects ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
-- What raters see of an item and of a model's pre-label.
ALTER TABLE projects ADD COLUMN presentation TEXT NOT NULL DEFAULT '{}';

UPDATE labels SET value = json_quote(value);
UPDATE items SET gold = json_quote(gold) WHERE gold IS NOT NULL;
UPDATE feedback_events SET value = json_quote(value);

-- A model's pre-label for an item, checked like a label.
ALTER TABLE items ADD COLUMN prediction TEXT;
-- A rater's comment beside a label, and whether the item's pre-label was shown to them.
ALTER TABLE labels ADD COLUMN comment TEXT;
ALTER TABLE labels ADD COLUMN prediction_shown INTEGER CHECK (prediction_shown IS NULL OR prediction_shown IN (0, 1));

-- Widen the CHECK on projects.kind in place: SQLite cannot alter a constraint, and this is
-- its documented way to change a CHECK that every existing row satisfies. It comes after
-- the ALTERs above (which rewrite the stored table definition), and the table made and
-- dropped after it changes the schema version, so every connection reads the new CHECK.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (kind IN (''single_choice''))',
       'CHECK (kind IN (''single_choice'', ''multi_choice'', ''rating'', ''numeric'', ''text'', ''spans'', ''boxes'', ''image_choice''))')
 WHERE type = 'table' AND name = 'projects';
PRAGMA writable_schema = OFF;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
