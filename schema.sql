-- contactsd schema, migration 1.
--
-- Every table keys its rows by an INTEGER PRIMARY KEY (`seq`, the rowid) so
-- rows append at the end of the table's B-tree and the FTS5 indexes can use
-- it as their rowid. The public, opaque `id` is a separate unique column; ids
-- start with a time component, so that index also grows at its right edge.
-- Times are integer milliseconds since the Unix epoch (UTC).

-- Server-side secrets, made once per database file.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
-- Signs listing cursors, so a tampered cursor is refused.
INSERT INTO settings (key, value) VALUES ('cursor_secret', randomblob(32));

CREATE TABLE organizations (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Kept exact by the triggers on `contacts`, so an unfiltered listing
    -- never has to count a million rows.
    contact_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    org_seq      INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    -- SHA-256 of the whole key; the key itself is never stored.
    key_hash     BLOB    NOT NULL UNIQUE,
    -- The key's first 12 characters, so an operator can tell keys apart.
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_by_org ON api_keys (org_seq, created_at);

CREATE TABLE contacts (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    org_seq    INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    -- The name in lower case (Unicode rules, computed at the edge): the
    -- `sort=name` key.
    name_key   TEXT    NOT NULL,
    -- The first one or two characters of each word of the name, each after
    -- the marker `^^` (`^^pr ^^sh` for "Priya Sharma"): word-start search
    -- for one- and two-character terms through the trigram index.
    initials   TEXT    NOT NULL,
    -- E.164, normalized at the edge: uniqueness is on this form.
    phone      TEXT    NOT NULL,
    language   TEXT,
    -- A JSON object, serialized compactly.
    metadata   TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (org_seq, phone)
);
-- Indexes for the time orders (ties broken by id) and for the language
-- filter in the default order. There is deliberately no index on the whole
-- `name_key`: names arrive in random order, and keeping one cost a fifth
-- of the import rate (measured: 15,300 against 11,900 contacts/s for 1M
-- contacts).
CREATE INDEX contacts_by_created ON contacts (org_seq, created_at, id);
CREATE INDEX contacts_by_updated ON contacts (org_seq, updated_at, id);
CREATE INDEX contacts_by_language ON contacts (org_seq, language, created_at, id);
-- `sort=name` walks this and sorts within each group of names sharing their
-- first two characters. Groups are few and row numbers only grow, so new
-- rows land at the end of their group: cheap to keep, unlike a full name
-- index. The prefix leads, so the planner never takes this index just to
-- find an organization's rows (visiting them in name order made scans of
-- the organization twice as slow).
CREATE INDEX contacts_by_name_prefix ON contacts (substr(name_key, 1, 2), org_seq);

CREATE TABLE audiences (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    org_seq       INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    -- The name lower-cased by Unicode's rules (computed at the edge), for
    -- case-insensitive search.
    name_key      TEXT    NOT NULL,
    description   TEXT,
    -- Kept exact by the triggers on `audience_members`, which also move
    -- `updated_at`: the count is part of the audience.
    contact_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX audiences_by_created ON audiences (org_seq, created_at, id);

CREATE TABLE audience_members (
    audience_seq INTEGER NOT NULL REFERENCES audiences (seq) ON DELETE CASCADE,
    contact_seq  INTEGER NOT NULL REFERENCES contacts (seq) ON DELETE CASCADE,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (audience_seq, contact_seq)
) WITHOUT ROWID;
CREATE INDEX audience_members_by_contact ON audience_members (contact_seq, audience_seq);

CREATE TRIGGER audience_members_count_insert AFTER INSERT ON audience_members BEGIN
    UPDATE audiences SET contact_count = contact_count + 1,
        updated_at = max(updated_at, CAST(unixepoch('subsec') * 1000 AS INTEGER))
    WHERE seq = new.audience_seq;
END;
CREATE TRIGGER audience_members_count_delete AFTER DELETE ON audience_members BEGIN
    UPDATE audiences SET contact_count = contact_count - 1,
        updated_at = max(updated_at, CAST(unixepoch('subsec') * 1000 AS INTEGER))
    WHERE seq = old.audience_seq;
END;

-- Call records outlive their contacts: `contact_id` is the contact's public
-- id and no foreign key, and the contact's name and phone are a snapshot.
CREATE TABLE calls (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    org_seq          INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    contact_id       TEXT    NOT NULL,
    contact_name     TEXT    NOT NULL,
    phone            TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_seconds INTEGER,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL
);
CREATE INDEX calls_by_created ON calls (org_seq, created_at, id);
CREATE INDEX calls_by_contact ON calls (org_seq, contact_id, created_at, id);

-- Search: one contentless FTS5 trigram index over `contacts`. Trigrams of
-- the name and the phone answer substrings of three characters or more,
-- case- and accent-insensitively; trigrams of `initials` answer the one- and
-- two-character terms, which match word starts only ("^^p", "^pr").
--
-- Its rowid is `(org_seq << 32) + seq`, so one organization's entries form
-- one rowid range: a search scans and counts only that organization's
-- matches, inside the index, without touching `contacts` (a file holds
-- many organizations). This bounds `seq` to 2^32 rows.
CREATE VIRTUAL TABLE contacts_trigram USING fts5 (
    name, phone, initials,
    content = '', contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1'
);
INSERT INTO contacts_trigram (contacts_trigram, rank) VALUES ('automerge', 8);

CREATE TRIGGER contacts_after_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_trigram (rowid, name, phone, initials)
        VALUES ((new.org_seq << 32) + new.seq, new.name, new.phone, new.initials);
    UPDATE organizations SET contact_count = contact_count + 1 WHERE seq = new.org_seq;
END;

CREATE TRIGGER contacts_after_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_trigram WHERE rowid = (old.org_seq << 32) + old.seq;
    UPDATE organizations SET contact_count = contact_count - 1 WHERE seq = old.org_seq;
END;

-- Re-indexing only when the indexed text changes keeps re-imports of
-- unchanged rows (and metadata-only updates) cheap.
CREATE TRIGGER contacts_after_update_search AFTER UPDATE OF name, phone ON contacts
WHEN old.name IS NOT new.name OR old.phone IS NOT new.phone BEGIN
    DELETE FROM contacts_trigram WHERE rowid = (old.org_seq << 32) + old.seq;
    INSERT INTO contacts_trigram (rowid, name, phone, initials)
        VALUES ((new.org_seq << 32) + new.seq, new.name, new.phone, new.initials);
END;
