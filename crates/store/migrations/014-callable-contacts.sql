-- contactsd schema, migration 14: what a listing needs to keep only the
-- contacts that may be called now, kept on each row so that it is never
-- worked out per row at query time.
--
-- `zone_set` numbers the list of time zones the contact's phone number may
-- be in (domain `zones.rs`: libphonenumber's map, compiled in). Its value
-- depends on the map's version, recorded as the `zone_data` setting; at
-- start contactsd renumbers every row when the two differ (so this
-- migration leaves 0 everywhere and the first start fills it in).
-- `dnc_listed` is 1 when the number is on the organization's do-not-call
-- list; adding and removing entries keeps it.
ALTER TABLE contacts ADD COLUMN zone_set INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN dnc_listed INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET dnc_listed = 1
WHERE EXISTS (SELECT 1 FROM do_not_call d
              WHERE d.org_seq = contacts.org_seq AND d.phone = contacts.phone);

-- How many of an organization's contacts are in each zone set, listed or
-- not: the exact total of `callable=true` without reading a row.
CREATE TABLE callable_counts (
    org_seq    INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    zone_set   INTEGER NOT NULL,
    dnc_listed INTEGER NOT NULL,
    contacts   INTEGER NOT NULL,
    PRIMARY KEY (org_seq, zone_set, dnc_listed)
) WITHOUT ROWID;
INSERT INTO callable_counts (org_seq, zone_set, dnc_listed, contacts)
SELECT org_seq, zone_set, dnc_listed, count(*) FROM contacts GROUP BY 1, 2, 3;

CREATE TRIGGER contacts_callable_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO callable_counts (org_seq, zone_set, dnc_listed, contacts)
    VALUES (new.org_seq, new.zone_set, new.dnc_listed, 1)
    ON CONFLICT DO UPDATE SET contacts = contacts + 1;
END;
CREATE TRIGGER contacts_callable_delete AFTER DELETE ON contacts BEGIN
    UPDATE callable_counts SET contacts = contacts - 1
    WHERE org_seq = old.org_seq AND zone_set = old.zone_set AND dnc_listed = old.dnc_listed;
END;
CREATE TRIGGER contacts_callable_update AFTER UPDATE OF zone_set, dnc_listed ON contacts
WHEN old.zone_set IS NOT new.zone_set OR old.dnc_listed IS NOT new.dnc_listed BEGIN
    UPDATE callable_counts SET contacts = contacts - 1
    WHERE org_seq = old.org_seq AND zone_set = old.zone_set AND dnc_listed = old.dnc_listed;
    INSERT INTO callable_counts (org_seq, zone_set, dnc_listed, contacts)
    VALUES (new.org_seq, new.zone_set, new.dnc_listed, 1)
    ON CONFLICT DO UPDATE SET contacts = contacts + 1;
END;
