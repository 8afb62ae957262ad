-- contactsd schema, migration 7: keys with a name, a read-only scope and
-- an expiry (CONTRACT.md "Keys and organizations (round 3)").
--
-- A read-only key may read everything its organization holds and change
-- nothing; a key past `expires_at` (milliseconds) is refused as a revoked
-- one. Keys made before this migration keep doing everything, forever.
ALTER TABLE api_keys ADD COLUMN name TEXT;
ALTER TABLE api_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
