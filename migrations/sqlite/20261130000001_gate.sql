-- Reports an admin answered by releasing the item stop counting towards holding it back.
ALTER TABLE reports ADD COLUMN cleared INTEGER NOT NULL DEFAULT 0 CHECK (cleared IN (0, 1));
