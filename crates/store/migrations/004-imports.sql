-- contactsd schema, migration 4: imports and their webhooks.
--
-- An import is accepted whole (its rows stored here, split into chunks of
-- at most 1,000) and answered `202`; the server's worker then applies one
-- chunk per `BEGIN IMMEDIATE` transaction, which also deletes the chunk and
-- moves the counters. A chunk is therefore applied completely or not at
-- all, and exactly once: after a crash the worker resumes at the first
-- chunk still stored.
CREATE TABLE imports (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    org_seq        INTEGER NOT NULL REFERENCES organizations (seq) ON DELETE CASCADE,
    -- 'api' rows are JSON objects; 'csv' rows are arrays of cells read with
    -- `columns` (the header, mapped).
    source         TEXT    NOT NULL,
    columns        TEXT,
    status         TEXT    NOT NULL,
    total          INTEGER NOT NULL,
    processed      INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    -- The audience's public id as given; its row, while it exists.
    audience_id    TEXT,
    audience_seq   INTEGER REFERENCES audiences (seq) ON DELETE SET NULL,
    webhook_url    TEXT,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    completed_at   INTEGER,
    -- When the worker last applied one of its chunks: imports take turns.
    turn_at        INTEGER NOT NULL DEFAULT 0,
    -- The webhook's delivery: NULL (none asked, or not final yet),
    -- 'pending', 'delivered' or 'failed'; when the next attempt is due.
    webhook_state  TEXT,
    webhook_due_at INTEGER
);
CREATE INDEX imports_by_created ON imports (org_seq, created_at, id);
CREATE INDEX imports_unfinished ON imports (status) WHERE status IN ('PENDING', 'PROCESSING');
CREATE INDEX imports_webhooks_due ON imports (webhook_due_at) WHERE webhook_state = 'pending';

CREATE TABLE import_chunks (
    import_seq INTEGER NOT NULL REFERENCES imports (seq) ON DELETE CASCADE,
    -- The index of the chunk's first row in the import.
    first_row  INTEGER NOT NULL,
    -- A JSON array of the chunk's rows.
    rows       TEXT    NOT NULL,
    PRIMARY KEY (import_seq, first_row)
) WITHOUT ROWID;

-- The first 1,000 failed rows of each import.
CREATE TABLE import_errors (
    import_seq INTEGER NOT NULL REFERENCES imports (seq) ON DELETE CASCADE,
    row_index  INTEGER NOT NULL,
    field      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    PRIMARY KEY (import_seq, row_index)
) WITHOUT ROWID;

-- Every webhook delivery attempt, in order.
CREATE TABLE webhook_attempts (
    import_seq  INTEGER NOT NULL REFERENCES imports (seq) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    -- The receiver's HTTP status, when it answered.
    status_code INTEGER,
    error       TEXT,
    PRIMARY KEY (import_seq, attempt)
) WITHOUT ROWID;

-- Signs webhook deliveries; made on first use.
ALTER TABLE organizations ADD COLUMN webhook_secret TEXT;
