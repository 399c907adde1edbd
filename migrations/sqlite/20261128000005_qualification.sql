-- Qualification: gold items with explanations that a rater must pass before real work.

ALTER TABLE items ADD COLUMN is_qualification INTEGER NOT NULL DEFAULT 0 CHECK (is_qualification IN (0, 1));
ALTER TABLE items ADD COLUMN explanation TEXT;
ALTER TABLE projects ADD COLUMN qualify_accuracy REAL CHECK (qualify_accuracy IS NULL OR (qualify_accuracy > 0 AND qualify_accuracy <= 1));
ALTER TABLE rater_states ADD COLUMN qual_seen INTEGER NOT NULL DEFAULT 0 CHECK (qual_seen >= 0);
ALTER TABLE rater_states ADD COLUMN qual_correct INTEGER NOT NULL DEFAULT 0 CHECK (qual_correct >= 0);
ALTER TABLE rater_states ADD COLUMN qualified INTEGER NOT NULL DEFAULT 0 CHECK (qualified IN (0, 1));
