-- contactsd schema, migration 10: the changes feed (CONTRACT.md, "Changes
-- feed").
--
-- Every write that changes a contact, an audience, a membership or a call
-- record gives that row the organization's next change number
-- (`change_seq`), in the same transaction. A statement computes the number
-- as the organization's `change_seq` + 1, and a trigger moves the
-- organization's counter to it, so the numbers only grow, in commit order
-- (writers take turns: BEGIN IMMEDIATE). Only an object's latest number is
-- kept: its row holds it. A deleted object leaves a tombstone with its own
-- number, kept for `changes_retention_days`; pruning them records the
-- highest number pruned (`changes_pruned_seq`), below which a consumer may
-- have missed a deletion and must start again.

ALTER TABLE organizations ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN changes_pruned_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audiences ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
-- A membership's organization, so the feed finds an organization's
-- memberships by number without a join.
ALTER TABLE audience_members ADD COLUMN org_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audience_members ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;

-- What exists already is numbered once, per organization: contacts, then
-- audiences, memberships and calls, each in row order.
UPDATE contacts SET change_seq = n.rn
FROM (SELECT seq, row_number() OVER (PARTITION BY org_seq ORDER BY seq) AS rn FROM contacts) AS n
WHERE contacts.seq = n.seq;
UPDATE organizations SET change_seq = (SELECT count(*) FROM contacts WHERE org_seq = organizations.seq);

UPDATE audiences SET change_seq = n.base + n.rn
FROM (SELECT a.seq, o.change_seq AS base,
             row_number() OVER (PARTITION BY a.org_seq ORDER BY a.seq) AS rn
      FROM audiences a JOIN organizations o ON o.seq = a.org_seq) AS n
WHERE audiences.seq = n.seq;
UPDATE organizations
SET change_seq = change_seq + (SELECT count(*) FROM audiences WHERE org_seq = organizations.seq);

UPDATE audience_members
SET org_seq = (SELECT org_seq FROM audiences WHERE seq = audience_members.audience_seq);
UPDATE audience_members SET change_seq = n.base + n.rn
FROM (SELECT m.audience_seq, m.contact_seq, o.change_seq AS base,
             row_number() OVER (PARTITION BY m.org_seq ORDER BY m.audience_seq, m.contact_seq) AS rn
      FROM audience_members m JOIN organizations o ON o.seq = m.org_seq) AS n
WHERE audience_members.audience_seq = n.audience_seq AND audience_members.contact_seq = n.contact_seq;
UPDATE organizations
SET change_seq = change_seq + (SELECT count(*) FROM audience_members WHERE org_seq = organizations.seq);

UPDATE calls SET change_seq = n.base + n.rn
FROM (SELECT c.seq, o.change_seq AS base,
             row_number() OVER (PARTITION BY c.org_seq ORDER BY c.seq) AS rn
      FROM calls c JOIN organizations o ON o.seq = c.org_seq) AS n
WHERE calls.seq = n.seq;
UPDATE organizations
SET change_seq = change_seq + (SELECT count(*) FROM calls WHERE org_seq = organizations.seq);

-- One page of the feed is a walk of each of these from a number on. They
-- are unique: two objects given one number would be a bug, refused here.
CREATE UNIQUE INDEX contacts_by_change ON contacts (org_seq, change_seq);
CREATE UNIQUE INDEX audiences_by_change ON audiences (org_seq, change_seq);
CREATE UNIQUE INDEX audience_members_by_change ON audience_members (org_seq, change_seq);
CREATE UNIQUE INDEX calls_by_change ON calls (org_seq, change_seq);

-- Deleted objects: `object_id` is the public id (a membership's is
-- `audienceId:contactId`).
CREATE TABLE change_tombstones (
    org_seq    INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    change_seq INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    object_id  TEXT    NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (org_seq, change_seq)
) WITHOUT ROWID;
-- A membership added again replaces its tombstone (one change an object).
CREATE INDEX change_tombstones_by_object ON change_tombstones (org_seq, type, object_id);
-- The retention sweep takes the oldest first.
CREATE INDEX change_tombstones_by_time ON change_tombstones (deleted_at);

-- The organization's counter follows every numbered row. Inserting a
-- contact already updates the organization (its count): one statement.
DROP TRIGGER contacts_after_insert;
CREATE TRIGGER contacts_after_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_trigram (rowid, name, phone, initials)
        VALUES ((new.org_seq << 32) + new.seq, new.name, new.phone, new.initials);
    UPDATE organizations SET contact_count = contact_count + 1, change_seq = new.change_seq
    WHERE seq = new.org_seq;
END;
CREATE TRIGGER contacts_change AFTER UPDATE OF change_seq ON contacts BEGIN
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;
CREATE TRIGGER audiences_change_insert AFTER INSERT ON audiences BEGIN
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;
CREATE TRIGGER audiences_change AFTER UPDATE OF change_seq ON audiences BEGIN
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;
CREATE TRIGGER calls_change_insert AFTER INSERT ON calls BEGIN
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;
CREATE TRIGGER audience_members_change_insert AFTER INSERT ON audience_members BEGIN
    DELETE FROM change_tombstones
    WHERE org_seq = new.org_seq AND type = 'membership'
      AND object_id = (SELECT a.id || ':' || c.id FROM audiences a, contacts c
                       WHERE a.seq = new.audience_seq AND c.seq = new.contact_seq);
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;
CREATE TRIGGER change_tombstones_insert AFTER INSERT ON change_tombstones BEGIN
    UPDATE organizations SET change_seq = new.change_seq WHERE seq = new.org_seq;
END;

-- Deletions leave tombstones. A membership's needs both public ids, so
-- the store deletes memberships before their contact or audience; when an
-- organization goes, nothing is left to number (no row of it remains).
CREATE TRIGGER contacts_change_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO change_tombstones (org_seq, change_seq, type, object_id, deleted_at)
    SELECT seq, change_seq + 1, 'contact', old.id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM organizations WHERE seq = old.org_seq;
END;
CREATE TRIGGER audiences_change_delete AFTER DELETE ON audiences BEGIN
    INSERT INTO change_tombstones (org_seq, change_seq, type, object_id, deleted_at)
    SELECT seq, change_seq + 1, 'audience', old.id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM organizations WHERE seq = old.org_seq;
END;
CREATE TRIGGER audience_members_change_delete AFTER DELETE ON audience_members BEGIN
    INSERT INTO change_tombstones (org_seq, change_seq, type, object_id, deleted_at)
    SELECT o.seq, o.change_seq + 1, 'membership', a.id || ':' || c.id,
           CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM organizations o, audiences a, contacts c
    WHERE o.seq = old.org_seq AND a.seq = old.audience_seq AND c.seq = old.contact_seq;
END;
