-- Reports an admin answered by releasing the item stop counting towards holding it back.
ALTER TABLE reports ADD COLUMN cleared INTEGER NOT NULL DEFAULT 0 CHECK (cleared IN (0, 1));

-- Sessions are now stored under the SHA-256 of their id; ids stored in the clear before
-- cannot be converted, so those sessions end (people sign in again).
DELETE FROM sessions;
