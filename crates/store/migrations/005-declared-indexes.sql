-- contactsd schema, migration 5: indexes an organization declares.
--
-- A metadata filter or `sort=name` at a million contacts reads every row of
-- the organization unless an index answers it, and an index on every
-- metadata key or on every name costs every import (a name index took the
-- import rate from 15,300 to 11,900 contacts/s). So an organization
-- declares the few it filters or sorts by (`PUT /v1/indexes/metadata.city`,
-- `PUT /v1/indexes/name`), and only its writes pay for them: for every
-- other organization the triggers below stop at one probe of this table.
CREATE TABLE declared_indexes (
    org_seq    INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    -- 'name', or 'metadata' with `key` the metadata key.
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_seq, kind, key)
) WITHOUT ROWID;

-- A declared metadata key's values: `value` is the JSON text of the
-- contact's top-level value under `key` (what `metadata -> '$."key"'`
-- gives), so `"Pune"` for a string and `5` for a number, as the filter
-- compares them.
CREATE TABLE metadata_values (
    org_seq     INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    contact_seq INTEGER NOT NULL,
    PRIMARY KEY (org_seq, key, value, contact_seq)
) WITHOUT ROWID;

-- Names in `sort=name` order, for organizations that declared `name`.
CREATE TABLE name_order (
    org_seq     INTEGER NOT NULL,
    name_key    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    contact_seq INTEGER NOT NULL,
    PRIMARY KEY (org_seq, name_key, id)
) WITHOUT ROWID;

CREATE TRIGGER contacts_declared_insert AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM declared_indexes WHERE org_seq = new.org_seq) BEGIN
    INSERT INTO metadata_values (org_seq, key, value, contact_seq)
        SELECT new.org_seq, d.key, new.metadata -> ('$."' || d.key || '"'), new.seq
        FROM declared_indexes d
        WHERE d.org_seq = new.org_seq AND d.kind = 'metadata'
          AND (new.metadata -> ('$."' || d.key || '"')) IS NOT NULL;
    INSERT INTO name_order (org_seq, name_key, id, contact_seq)
        SELECT new.org_seq, new.name_key, new.id, new.seq
        FROM declared_indexes d WHERE d.org_seq = new.org_seq AND d.kind = 'name';
END;

CREATE TRIGGER contacts_declared_metadata AFTER UPDATE OF metadata ON contacts
WHEN old.metadata IS NOT new.metadata
 AND EXISTS (SELECT 1 FROM declared_indexes WHERE org_seq = new.org_seq AND kind = 'metadata') BEGIN
    DELETE FROM metadata_values
        WHERE org_seq = old.org_seq AND contact_seq = old.seq
          AND (key, value) IN (SELECT d.key, old.metadata -> ('$."' || d.key || '"')
                               FROM declared_indexes d
                               WHERE d.org_seq = old.org_seq AND d.kind = 'metadata');
    INSERT INTO metadata_values (org_seq, key, value, contact_seq)
        SELECT new.org_seq, d.key, new.metadata -> ('$."' || d.key || '"'), new.seq
        FROM declared_indexes d
        WHERE d.org_seq = new.org_seq AND d.kind = 'metadata'
          AND (new.metadata -> ('$."' || d.key || '"')) IS NOT NULL;
END;

CREATE TRIGGER contacts_declared_name AFTER UPDATE OF name_key ON contacts
WHEN old.name_key IS NOT new.name_key
 AND EXISTS (SELECT 1 FROM declared_indexes WHERE org_seq = new.org_seq AND kind = 'name') BEGIN
    DELETE FROM name_order WHERE org_seq = old.org_seq AND name_key = old.name_key AND id = old.id;
    INSERT INTO name_order (org_seq, name_key, id, contact_seq)
        VALUES (new.org_seq, new.name_key, new.id, new.seq);
END;

CREATE TRIGGER contacts_declared_delete AFTER DELETE ON contacts
WHEN EXISTS (SELECT 1 FROM declared_indexes WHERE org_seq = old.org_seq) BEGIN
    DELETE FROM metadata_values
        WHERE org_seq = old.org_seq AND contact_seq = old.seq
          AND (key, value) IN (SELECT d.key, old.metadata -> ('$."' || d.key || '"')
                               FROM declared_indexes d
                               WHERE d.org_seq = old.org_seq AND d.kind = 'metadata');
    DELETE FROM name_order WHERE org_seq = old.org_seq AND name_key = old.name_key AND id = old.id;
END;
