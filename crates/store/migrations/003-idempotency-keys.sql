-- contactsd schema, migration 3: idempotency keys.
--
-- The first POST with an `Idempotency-Key` claims the key for its
-- organization (`status` NULL while it runs) and stores its answer when it
-- is done; the same key, method, path and body then get that answer again.
-- Rows older than 24 hours are swept by the server.
CREATE TABLE idempotency_keys (
    org_seq     INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    -- SHA-256 of the first request's method, path and body.
    fingerprint BLOB    NOT NULL,
    -- The stored answer; NULL while the first request runs.
    status      INTEGER,
    location    TEXT,
    body        BLOB,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_seq, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
