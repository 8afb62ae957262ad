-- contactsd schema, migration 12: each organization's do-not-call list.
--
-- Keyed by the normalized (E.164) number, independent of contacts: an
-- entry outlives a contact's deletion and covers a contact made later.
CREATE TABLE do_not_call (
    org_seq    INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    phone      TEXT    NOT NULL,
    reason     TEXT,
    source     TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_seq, phone)
) WITHOUT ROWID;
-- The list, newest first.
CREATE INDEX do_not_call_by_created ON do_not_call (org_seq, created_at, phone);
