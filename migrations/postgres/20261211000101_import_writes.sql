-- Items are told apart by a 64-bit key of the SHA-256 of their data (the first eight bytes,
-- big-endian, as a signed integer) instead of its 64 hex digits: the index an import
-- writes for every row is a quarter of the size, and its random inserts a quarter as
-- costly. Items keyed before are keyed again the first time they are needed
-- (Store::content_keys), from the hex hash they hold, which is then cleared; the column
-- stays, as dropping it would rewrite every row.
--
-- (SQLite's version of this migration also makes an import count its items' progress
-- once; PostgreSQL's statement-level triggers already do.)
ALTER TABLE items ADD COLUMN content_key BIGINT;
DROP INDEX items_content_hash;
DROP INDEX items_unhashed;
CREATE INDEX items_content_key ON items (project_id, content_key);
CREATE INDEX items_unkeyed ON items (project_id) WHERE content_key IS NULL;
