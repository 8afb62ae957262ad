-- contactsd schema, migration 15: each contact's zone set and list flag by
-- row number, in an index a few bytes an entry wide. A search's matches
-- come as row numbers; `callable` then reads these two values of each
-- match from this index instead of from the whole row (hundreds of bytes,
-- one page each): `search=pri&callable=true` at 1,000,000 contacts reads
-- about 250 pages instead of about 50,000.
CREATE INDEX contacts_callable ON contacts (seq, zone_set, dnc_listed);

-- Contacts created are counted in `callable_counts` once a batch, by the
-- code that creates them (`NewRows::finish`), not by a statement for every
-- row: the trigger was 7% of a bulk import's time. Deletions and changes
-- of zone set or list flag keep their triggers. When the counts of an
-- organization do not add up to its `contact_count`, listings count rows
-- instead and the next start recounts them.
DROP TRIGGER contacts_callable_insert;
