-- contactsd schema, migration 8: an import may merge metadata.
--
-- With `metadataMode: "merge"` a row's top-level metadata keys replace the
-- same keys of a known contact and its other keys stay; the default,
-- `replace`, keeps round 2's behaviour (the row's metadata replaces the
-- stored object whole).
ALTER TABLE imports ADD COLUMN metadata_merge INTEGER NOT NULL DEFAULT 0;
