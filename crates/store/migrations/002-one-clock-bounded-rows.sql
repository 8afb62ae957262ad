-- contactsd schema, migration 2.
--
-- One clock: the membership triggers keep `contact_count` exact and nothing
-- else. `updated_at` is set by the application's clock, which moves it
-- strictly forward; SQLite's own clock no longer writes times.
DROP TRIGGER audience_members_count_insert;
DROP TRIGGER audience_members_count_delete;
CREATE TRIGGER audience_members_count_insert AFTER INSERT ON audience_members BEGIN
    UPDATE audiences SET contact_count = contact_count + 1 WHERE seq = new.audience_seq;
END;
CREATE TRIGGER audience_members_count_delete AFTER DELETE ON audience_members BEGIN
    UPDATE audiences SET contact_count = contact_count - 1 WHERE seq = old.audience_seq;
END;

-- The search index keys an entry `(org_seq << 32) + seq`, so an
-- organization's entries are exactly one rowid range only while row numbers
-- stay below 2^32 and organization numbers below 2^31. Enforced here, not
-- assumed: a row that would break the bound is refused.
CREATE TRIGGER contacts_row_number_bound AFTER INSERT ON contacts
WHEN new.seq >= 4294967296 BEGIN
    SELECT RAISE(ABORT, 'contact row number outside the search index range');
END;
CREATE TRIGGER organizations_row_number_bound AFTER INSERT ON organizations
WHEN new.seq >= 2147483648 BEGIN
    SELECT RAISE(ABORT, 'organization row number outside the search index range');
END;
