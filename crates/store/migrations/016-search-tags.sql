-- contactsd schema, migration 16: the search index also answers the
-- language filter and declared metadata filters.
--
-- A search combined with a language, or a declared metadata filter combined
-- with a language or a search, had to look up every match's row (or a
-- narrow index entry) to check the other condition: about 0.5-1 µs a match,
-- 40-55 ms at a million contacts. FTS5 intersects its own lists of row
-- numbers far faster (8-10 ms for the same queries), so each contact's
-- language and declared metadata values become tags in a fourth column of
-- the search index, and such a listing is one FTS5 query.
--
-- A tag is three characters from the Unicode private use area that spell
-- the row number of its entry in `search_tags`, so it is exactly one
-- trigram, no text a contact holds (names and phones are searched in their
-- own columns only) and never a part of another tag (tags are separated by
-- spaces). Tags are never renumbered or reused.
CREATE TABLE search_tags (
    seq   INTEGER PRIMARY KEY,
    -- 'language' (key '') or 'metadata' (`value` as `metadata_values` holds
    -- it: the JSON text of the member).
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (kind, key, value)
);

-- A metadata key whose declared index was dropped, in an organization: its
-- tags stay in the search index (no listing reads them) and go stale as
-- contacts change, so declaring it again rewrites every entry of the
-- organization, not only those of contacts with a value.
CREATE TABLE retired_tag_keys (
    org_seq INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    key     TEXT    NOT NULL,
    PRIMARY KEY (org_seq, key)
) WITHOUT ROWID;

-- A tag's three characters.
CREATE VIEW search_tag_codes (seq, kind, key, value, code) AS
SELECT seq, kind, key, value,
       char(57344 + ((seq >> 24) & 4095), 57344 + ((seq >> 12) & 4095), 57344 + (seq & 4095))
FROM search_tags;

-- Each contact's tags: its language's, then one for each metadata index
-- its organization declares (filled or being filled) and it has a value for.
CREATE VIEW contact_search_tags (seq, tags) AS
SELECT c.seq,
       concat_ws(' ',
           (SELECT t.code FROM search_tag_codes t
            WHERE t.kind = 'language' AND t.key = '' AND t.value = c.language),
           (SELECT group_concat(t.code, ' ')
            FROM declared_indexes d
            JOIN search_tag_codes t
              ON t.kind = 'metadata' AND t.key = d.key
             AND t.value = (c.metadata -> ('$."' || d.key || '"'))
            WHERE d.org_seq = c.org_seq AND d.kind = 'metadata'))
FROM contacts c;

-- The tags a contact needs, added when missing (no conflict clause: the
-- statement that fires a trigger can override one).
CREATE VIEW contact_missing_tags (seq, org_seq, kind, key, value) AS
SELECT c.seq, c.org_seq, 'language', '', c.language FROM contacts c
WHERE c.language IS NOT NULL
UNION ALL
SELECT c.seq, c.org_seq, 'metadata', d.key, c.metadata -> ('$."' || d.key || '"')
FROM contacts c JOIN declared_indexes d ON d.org_seq = c.org_seq AND d.kind = 'metadata'
WHERE (c.metadata -> ('$."' || d.key || '"')) IS NOT NULL;

-- The search index again, with the tags column, filled from the rows.
DROP TRIGGER contacts_after_insert;
DROP TRIGGER contacts_after_delete;
DROP TRIGGER contacts_after_update_search;
DROP TABLE contacts_trigram;
CREATE VIRTUAL TABLE contacts_trigram USING fts5 (
    name, phone, initials, tags,
    content = '', contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1'
);
INSERT INTO contacts_trigram (contacts_trigram, rank) VALUES ('automerge', 8);
-- FTS5 rewrites a whole level of the index in one write once a tenth of its
-- entries are deleted ('deletemerge', 10 by default): 9 s at two million
-- contacts, during which every other writer waits and gives up after 5 s.
-- Rewriting entries (a declaration, a re-import that renames) gets there
-- fast. Deleted entries then stay, skipped, until a merge reaches their
-- segment (the step-by-step merge after a declaration rewrites them all).
INSERT INTO contacts_trigram (contacts_trigram, rank) VALUES ('deletemerge', 0);

INSERT INTO search_tags (kind, key, value)
SELECT DISTINCT m.kind, m.key, m.value FROM contact_missing_tags m;
INSERT INTO contacts_trigram (rowid, name, phone, initials, tags)
SELECT (c.org_seq << 32) + c.seq, c.name, c.phone, c.initials, t.tags
FROM contacts c JOIN contact_search_tags t ON t.seq = c.seq;
-- One segment: an index filled at once is left in many, and every query
-- reads each of them.
INSERT INTO contacts_trigram (contacts_trigram) VALUES ('optimize');

-- The language's tag is added here directly (`contact_missing_tags` would
-- also look for declared metadata indexes, which most organizations do not
-- have: 7% of the import rate).
CREATE TRIGGER contacts_after_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO search_tags (kind, key, value)
        SELECT 'language', '', new.language
        WHERE new.language IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM search_tags t
                          WHERE t.kind = 'language' AND t.key = '' AND t.value = new.language);
    INSERT INTO search_tags (kind, key, value)
        SELECT m.kind, m.key, m.value FROM contact_missing_tags m
        WHERE m.seq = new.seq AND m.kind = 'metadata'
          AND EXISTS (SELECT 1 FROM declared_indexes
                      WHERE org_seq = new.org_seq AND kind = 'metadata')
          AND NOT EXISTS (SELECT 1 FROM search_tags t
                          WHERE t.kind = m.kind AND t.key = m.key AND t.value = m.value);
    INSERT INTO contacts_trigram (rowid, name, phone, initials, tags)
        VALUES ((new.org_seq << 32) + new.seq, new.name, new.phone, new.initials,
                (SELECT t.tags FROM contact_search_tags t WHERE t.seq = new.seq));
    UPDATE organizations SET contact_count = contact_count + 1, change_seq = new.change_seq
    WHERE seq = new.org_seq;
END;

CREATE TRIGGER contacts_after_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_trigram WHERE rowid = (old.org_seq << 32) + old.seq;
    UPDATE organizations SET contact_count = contact_count - 1 WHERE seq = old.org_seq;
END;

-- Re-indexing only when the indexed text or a tag changes keeps re-imports
-- of unchanged rows, and metadata updates that leave every declared key's
-- value as it was, cheap.
CREATE TRIGGER contacts_after_update_search AFTER UPDATE OF name, phone, language, metadata ON contacts
WHEN old.name IS NOT new.name OR old.phone IS NOT new.phone OR old.language IS NOT new.language
  OR (old.metadata IS NOT new.metadata
      AND EXISTS (SELECT 1 FROM declared_indexes d
                  WHERE d.org_seq = new.org_seq AND d.kind = 'metadata'
                    AND (old.metadata -> ('$."' || d.key || '"'))
                        IS NOT (new.metadata -> ('$."' || d.key || '"'))))
BEGIN
    INSERT INTO search_tags (kind, key, value)
        SELECT m.kind, m.key, m.value FROM contact_missing_tags m
        WHERE m.seq = new.seq
          AND NOT EXISTS (SELECT 1 FROM search_tags t
                          WHERE t.kind = m.kind AND t.key = m.key AND t.value = m.value);
    DELETE FROM contacts_trigram WHERE rowid = (old.org_seq << 32) + old.seq;
    INSERT INTO contacts_trigram (rowid, name, phone, initials, tags)
        SELECT (new.org_seq << 32) + new.seq, new.name, new.phone, new.initials, t.tags
        FROM contact_search_tags t WHERE t.seq = new.seq;
END;
