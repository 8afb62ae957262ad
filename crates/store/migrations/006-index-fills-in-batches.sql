-- contactsd schema, migration 6: a declared index fills in batches.
--
-- Filling an index from a million contacts in one transaction held the
-- write lock for seconds, so every other organization's writes waited.
-- A declaration now commits first (from then on the triggers keep the
-- index current for every write), fills in short transactions of its own,
-- and is `ready` (used by listings, shown by GET /v1/indexes) only once
-- every contact is in it. Indexes declared before this migration are full.
ALTER TABLE declared_indexes ADD COLUMN ready INTEGER NOT NULL DEFAULT 1;
