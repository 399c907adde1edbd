-- How a dataset version's chunk is stored: NULL as written, 'snappy' compressed as a raw
-- Snappy block. Exports are repetitive text; compressed, a version takes a fraction of the
-- database's room and of the writing.
ALTER TABLE dataset_chunks ADD COLUMN encoding TEXT CHECK (encoding IS NULL OR encoding = 'snappy');
