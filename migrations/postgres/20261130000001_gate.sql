-- Reports an admin answered by releasing the item stop counting towards holding it back.
ALTER TABLE reports ADD COLUMN cleared BOOLEAN NOT NULL DEFAULT FALSE;
