-- contactsd schema, migration 17: the search index holds each name's
-- suffixes instead of its trigrams.
--
-- A search term of n characters was a phrase of n - 2 trigrams: FTS5
-- walked every trigram's list of rows and compared positions, about
-- 242,000 entries for `sharma` in a million-contact organization, and the
-- combined query `language=hi-IN&search=sharma` took 8-10 ms of FTS5 work
-- at ten million contacts. A substring of a word is a prefix of one of the
-- word's suffixes, so the index now holds, for each whitespace-free run of
-- the name and of the phone's digits, its suffixes of three characters or
-- more, each cut to 16 characters, and a term is one prefix query.
-- `initials` are one token a word, as before; `tags` are unchanged.
--
-- Every token of `name`, `phone` and `initials` starts with the
-- organization's number (`17:sharma`): FTS5 answers a prefix query by
-- merging the lists of all the tokens it names over the whole index,
-- whatever the rowid range asked, so an organization's search would
-- otherwise cost as much as the whole file's matches.
--
-- `search_windows` and `search_initials` are functions contactsd registers
-- on every connection: the triggers below call them, so only contactsd
-- writes contacts (any SQLite reads the file).
--
-- `unicode61` with every character class but separators (Z*) as token
-- characters splits on white space only, and folds case and accents as the
-- trigram tokenizer did (`remove_diacritics 2`, which also folds letters
-- with two accents; combining accents are dropped, so a name written with
-- them is found by a term written without, and `search_windows` drops them
-- too, before it counts characters). U+180E, a separator in SQLite's
-- Unicode tables but not white space since Unicode 6.3, is made a token
-- character, so that the index splits exactly where contactsd does.
DROP TRIGGER contacts_after_insert;
DROP TRIGGER contacts_after_delete;
DROP TRIGGER contacts_after_update_search;
DROP TABLE contacts_trigram;

CREATE VIRTUAL TABLE contacts_search USING fts5 (
    name, phone, initials, tags,
    content = '', contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2 categories 'L* M* N* P* S* C*' tokenchars '᠎'"
);
INSERT INTO contacts_search (contacts_search, rank) VALUES ('automerge', 8);
-- As in migration 16: deleted entries wait for a merge instead of making
-- one write rewrite a whole level.
INSERT INTO contacts_search (contacts_search, rank) VALUES ('deletemerge', 0);

INSERT INTO contacts_search (rowid, name, phone, initials, tags)
SELECT (c.org_seq << 32) + c.seq, search_windows(c.org_seq, c.name),
       search_windows(c.org_seq, ltrim(c.phone, '+')),
       search_initials(c.org_seq, c.initials), t.tags
FROM contacts c JOIN contact_search_tags t ON t.seq = c.seq;
INSERT INTO contacts_search (contacts_search) VALUES ('optimize');

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
    INSERT INTO contacts_search (rowid, name, phone, initials, tags)
        VALUES ((new.org_seq << 32) + new.seq, search_windows(new.org_seq, new.name),
                search_windows(new.org_seq, ltrim(new.phone, '+')),
                search_initials(new.org_seq, new.initials),
                (SELECT t.tags FROM contact_search_tags t WHERE t.seq = new.seq));
    UPDATE organizations SET contact_count = contact_count + 1, change_seq = new.change_seq
    WHERE seq = new.org_seq;
END;

CREATE TRIGGER contacts_after_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = (old.org_seq << 32) + old.seq;
    UPDATE organizations SET contact_count = contact_count - 1 WHERE seq = old.org_seq;
END;

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
    DELETE FROM contacts_search WHERE rowid = (old.org_seq << 32) + old.seq;
    INSERT INTO contacts_search (rowid, name, phone, initials, tags)
        SELECT (new.org_seq << 32) + new.seq, search_windows(new.org_seq, new.name),
               search_windows(new.org_seq, ltrim(new.phone, '+')),
               search_initials(new.org_seq, new.initials), t.tags
        FROM contact_search_tags t WHERE t.seq = new.seq;
END;
