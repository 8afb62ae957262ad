-- contactsd schema, migration 11: webhook subscriptions to the changes feed.
--
-- Each subscription keeps its own position in the organization's feed
-- (`last_seq`, the last change a receiver acknowledged) and its delivery
-- state, so deliveries resume where they stopped after a restart.
CREATE TABLE webhooks (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    org_seq         INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    url             TEXT    NOT NULL,
    -- The kinds delivered, comma-separated (`contact,membership`).
    types           TEXT    NOT NULL,
    description     TEXT,
    -- 'active', 'paused' or 'disabled' (24 hours of failures).
    status          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    last_seq        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- The current run of failed attempts: when it began, how long it is,
    -- when the next attempt is due, what the last one met.
    failing_since   INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX webhooks_by_created ON webhooks (org_seq, created_at, id);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE status = 'active';
