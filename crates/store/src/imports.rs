//! Imports: the queue of accepted imports, their chunks of rows, the
//! errors of their failed rows, and their webhook deliveries.
//!
//! A chunk is applied in one `BEGIN IMMEDIATE` transaction that also
//! deletes it and moves its import's counters, so after any crash the
//! worker resumes at the first chunk still stored and no row is applied
//! twice. Tenant functions take a [`Tenant`]; the worker's functions act
//! for the organization that queued the import.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::contacts::{self, NewRows, Upserted};
use super::{audiences, Db, Error, Result, Tenant};
use contactsd_domain::clock;
use contactsd_domain::ids::{self, Kind};
use contactsd_domain::import::{ImportRequest, MetadataMode, RowFormat};
use contactsd_domain::BulkItem;
use contactsd_domain::FieldError;

/// The failed rows an import keeps (the first ones, in row order).
pub(crate) const MAX_STORED_ERRORS: i64 = 1_000;
/// Delivery attempts per webhook, the first included.
pub(crate) const MAX_WEBHOOK_ATTEMPTS: i64 = 5;
/// How long a delivery in flight holds its webhook before another worker
/// may try it (a delivery takes at most its 10 s timeout).
const WEBHOOK_LEASE_MS: i64 = 60_000;

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStatus {
    Pending,
    Processing,
    Completed,
    CompletedWithErrors,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Pending => "PENDING",
            ImportStatus::Processing => "PROCESSING",
            ImportStatus::Completed => "COMPLETED",
            ImportStatus::CompletedWithErrors => "COMPLETED_WITH_ERRORS",
            ImportStatus::Failed => "FAILED",
        }
    }

    fn parse(text: &str) -> ImportStatus {
        match text {
            "PENDING" => ImportStatus::Pending,
            "PROCESSING" => ImportStatus::Processing,
            "COMPLETED" => ImportStatus::Completed,
            "COMPLETED_WITH_ERRORS" => ImportStatus::CompletedWithErrors,
            _ => ImportStatus::Failed,
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, ImportStatus::Pending | ImportStatus::Processing)
    }
}

/// An import's state.
#[derive(Clone, Debug)]
pub struct Import {
    pub seq: i64,
    pub id: String,
    pub status: ImportStatus,
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub audience_id: Option<String>,
    pub webhook_url: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// `pending`, `delivered` or `failed` once a webhook is due.
    pub webhook_state: Option<String>,
    pub webhook_attempts: Vec<WebhookAttempt>,
}

/// A failed row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub index: i64,
    pub field: String,
    pub reason: String,
}

/// One try at delivering a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub at: i64,
    /// The receiver's status, when it answered.
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

const COLUMNS: &str = "i.seq, i.id, i.status, i.total, i.processed, i.created, i.updated, \
     i.failed, i.audience_id, i.webhook_url, i.created_at, i.started_at, i.completed_at, \
     i.webhook_state";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Import> {
    Ok(Import {
        seq: row.get(0)?,
        id: row.get(1)?,
        status: ImportStatus::parse(&row.get::<_, String>(2)?),
        total: row.get(3)?,
        processed: row.get(4)?,
        created: row.get(5)?,
        updated: row.get(6)?,
        failed: row.get(7)?,
        audience_id: row.get(8)?,
        webhook_url: row.get(9)?,
        created_at: row.get(10)?,
        started_at: row.get(11)?,
        completed_at: row.get(12)?,
        webhook_state: row.get(13)?,
        webhook_attempts: Vec::new(),
    })
}

/// Queues an import of the tenant's: its audience must be the tenant's
/// (`NotFound("Audience")`); its rows are stored in chunks.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    request: &ImportRequest,
) -> Result<Import> {
    let audience_seq = match &request.audience_id {
        Some(id) => Some(audiences::get(tx, tenant, id)?.seq),
        None => None,
    };
    let (now, id) = super::next_created(tx, "imports", Kind::Import, tenant)?;
    let (source, columns) = request.rows.format.to_stored();
    tx.execute(
        "INSERT INTO imports (id, org_seq, source, columns, status, total, audience_id,
                              audience_seq, webhook_url, created_at, metadata_merge)
         VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            tenant.org_seq,
            source,
            columns,
            sql_int(request.rows.total)?,
            request.audience_id,
            audience_seq,
            request.webhook_url,
            now,
            request.metadata_mode == MetadataMode::Merge
        ],
    )?;
    let seq = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO import_chunks (import_seq, first_row, rows) VALUES (?1, ?2, ?3)",
    )?;
    for chunk in &request.rows.chunks {
        insert.execute(params![seq, sql_int(chunk.first_row)?, chunk.rows])?;
    }
    get_by_seq(tx, seq)
}

/// A count or position as SQLite's integer, refused as rusqlite refuses an
/// unsigned value too large for one.
fn sql_int(n: usize) -> rusqlite::Result<i64> {
    i64::try_from(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn get_by_seq(conn: &Connection, seq: i64) -> Result<Import> {
    let mut import = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM imports i WHERE i.seq = ?1"))?
        .query_row([seq], from_row)
        .optional()?
        .ok_or(Error::NotFound("Import"))?;
    import.webhook_attempts = attempts(conn, seq)?;
    Ok(import)
}

/// The tenant's import `id`, and its first failed rows.
pub(crate) fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<(Import, Vec<RowError>)> {
    let mut import = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM imports i WHERE i.id = ?1 AND i.org_seq = ?2"
        ))?
        .query_row(params![id, tenant.org_seq], from_row)
        .optional()?
        .ok_or(Error::NotFound("Import"))?;
    import.webhook_attempts = attempts(conn, import.seq)?;
    let errors = errors(conn, import.seq)?;
    Ok((import, errors))
}

fn errors(conn: &Connection, seq: i64) -> Result<Vec<RowError>> {
    let mut stmt = conn.prepare_cached(
        "SELECT row_index, field, reason FROM import_errors WHERE import_seq = ?1
         ORDER BY row_index",
    )?;
    let rows = stmt.query_map([seq], |r| {
        Ok(RowError {
            index: r.get(0)?,
            field: r.get(1)?,
            reason: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn attempts(conn: &Connection, seq: i64) -> Result<Vec<WebhookAttempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, status_code, error FROM webhook_attempts WHERE import_seq = ?1
         ORDER BY attempt",
    )?;
    let rows = stmt.query_map([seq], |r| {
        Ok(WebhookAttempt {
            at: r.get(0)?,
            status_code: r.get(1)?,
            error: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A page of the tenant's imports, newest first, and their total.
pub(crate) fn list(
    conn: &Connection,
    tenant: &Tenant,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Import>, i64)> {
    let total = conn
        .prepare_cached("SELECT count(*) FROM imports WHERE org_seq = ?1")?
        .query_row([tenant.org_seq], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM imports i WHERE i.org_seq = ?1
         ORDER BY i.created_at DESC, i.id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let mut imports = stmt
        .query_map(params![tenant.org_seq, limit, offset], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for import in &mut imports {
        import.webhook_attempts = attempts(conn, import.seq)?;
    }
    Ok((imports, total))
}

/// A chunk waiting to be applied.
#[derive(Debug)]
pub(crate) struct QueuedChunk {
    pub first_row: i64,
    pub format: RowFormat,
    pub rows: String,
}

/// The unfinished import whose turn it is: each applied chunk sends its
/// import to the back of the line, so a small import is not stuck behind
/// a million-row one.
fn next_unfinished(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT seq FROM imports WHERE status IN ('PENDING', 'PROCESSING')
             ORDER BY turn_at, seq LIMIT 1",
        )?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// The import's first stored chunk after row `after` (from the start when
/// `None`).
fn chunk_after(
    conn: &Connection,
    import_seq: i64,
    after: Option<i64>,
) -> Result<Option<QueuedChunk>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.first_row, c.rows, i.source, i.columns
             FROM import_chunks c JOIN imports i ON i.seq = c.import_seq
             WHERE c.import_seq = ?1 AND c.first_row > ?2
             ORDER BY c.first_row LIMIT 1",
        )?
        .query_row(params![import_seq, after.unwrap_or(-1)], |r| {
            let source: String = r.get(2)?;
            let columns: Option<String> = r.get(3)?;
            Ok(QueuedChunk {
                first_row: r.get(0)?,
                rows: r.get(1)?,
                format: RowFormat::from_stored(&source, columns.as_deref())
                    .unwrap_or(RowFormat::Json),
            })
        })
        .optional()?)
}

/// What applying a chunk did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The chunk was applied for organization `org_id`; the import is
    /// final when `finished`.
    Chunk { finished: bool, org_id: String },
    /// Another worker applied it first.
    Gone,
}

/// Applies one chunk's validated rows for the organization that queued
/// the import, deleting the chunk and counting its rows in the same
/// transaction. The last chunk gives the import its final status and, when
/// it has a webhook, makes the delivery due.
fn apply(
    tx: &Transaction<'_>,
    import_seq: i64,
    first_row: i64,
    items: Vec<std::result::Result<BulkItem, FieldError>>,
) -> Result<Applied> {
    let deleted = tx
        .prepare_cached("DELETE FROM import_chunks WHERE import_seq = ?1 AND first_row = ?2")?
        .execute(params![import_seq, first_row])?;
    if deleted == 0 {
        return Ok(Applied::Gone);
    }
    let (tenant, audience_seq, failed_before, merge) = tx
        .prepare_cached(
            "SELECT o.seq, o.id, i.audience_seq, i.failed, i.metadata_merge
             FROM imports i JOIN organizations o ON o.seq = i.org_seq WHERE i.seq = ?1",
        )?
        .query_row([import_seq], |r| {
            Ok((
                Tenant {
                    org_seq: r.get(0)?,
                    org_id: r.get(1)?,
                    key_seq: 0,
                    read_only: false,
                },
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
    let now = clock::now_ms();
    let mut rows = NewRows::start(tx, &tenant)?;
    let mut join = tx.prepare_cached(
        "INSERT OR IGNORE INTO audience_members
             (audience_seq, contact_seq, added_at, org_seq, change_seq)
         VALUES (?1, ?2, ?3, ?4, (SELECT change_seq + 1 FROM organizations WHERE seq = ?4))",
    )?;
    let mut keep_error = tx.prepare_cached(
        "INSERT INTO import_errors (import_seq, row_index, field, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let (mut created, mut updated, mut failed, mut joined) = (0i64, 0i64, 0i64, 0usize);
    let handled = sql_int(items.len())?;
    for (offset, item) in items.into_iter().enumerate() {
        let item = match item {
            Ok(item) if merge => contacts::merge_metadata(tx, &tenant, item),
            other => Ok(other),
        }?;
        match item {
            Ok(item) => {
                let (contact, how) = contacts::upsert(tx, &tenant, &mut rows, &item)?;
                match how {
                    Upserted::Created => created += 1,
                    Upserted::Updated => updated += 1,
                }
                if let Some(audience_seq) = audience_seq {
                    joined +=
                        join.execute(params![audience_seq, contact.seq, now, tenant.org_seq])?;
                }
            }
            Err(error) => {
                if failed_before + failed < MAX_STORED_ERRORS {
                    keep_error.execute(params![
                        import_seq,
                        first_row + sql_int(offset)?,
                        error.field,
                        error.message
                    ])?;
                }
                failed += 1;
            }
        }
    }
    rows.finish(tx)?;
    if let (true, Some(audience_seq)) = (joined > 0, audience_seq) {
        // The count is part of the audience: it changed.
        audiences::changed(tx, &tenant, audience_seq, now)?;
    }
    tx.prepare_cached(
        "UPDATE imports SET status = 'PROCESSING', processed = processed + ?2,
             created = created + ?3, updated = updated + ?4, failed = failed + ?5,
             started_at = coalesce(started_at, ?6), turn_at = ?6
         WHERE seq = ?1",
    )?
    .execute(params![import_seq, handled, created, updated, failed, now])?;
    let remaining: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM import_chunks WHERE import_seq = ?1)")?
        .query_row([import_seq], |r| r.get(0))?;
    if !remaining {
        finish(tx, import_seq, now)?;
    }
    Ok(Applied::Chunk {
        finished: !remaining,
        org_id: tenant.org_id,
    })
}

/// Gives an import whose chunks are all applied its final status.
fn finish(tx: &Transaction<'_>, import_seq: i64, now: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE imports SET
             status = CASE WHEN created + updated = 0 THEN 'FAILED'
                           WHEN failed > 0 THEN 'COMPLETED_WITH_ERRORS'
                           ELSE 'COMPLETED' END,
             processed = total,
             started_at = coalesce(started_at, ?2),
             completed_at = ?2,
             webhook_state = CASE WHEN webhook_url IS NULL THEN NULL ELSE 'pending' END,
             webhook_due_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE ?2 END
         WHERE seq = ?1",
    )?
    .execute(params![import_seq, now])?;
    Ok(())
}

/// A webhook due for delivery, leased to the caller.
#[derive(Debug)]
pub struct DueWebhook {
    pub import: Import,
    pub org_id: String,
    pub url: String,
    pub secret: String,
    /// The secret a rotation replaced, for the 24 hours it still signs.
    pub previous_secret: Option<String>,
}

/// How long a replaced webhook secret still signs deliveries.
pub const PREVIOUS_SECRET_MS: i64 = 24 * 60 * 60 * 1000;

/// Leases the webhooks due at `now` (at most `max`): each is held for a
/// minute, then due again if its attempt was never recorded.
fn lease_due_webhooks(tx: &Transaction<'_>, now: i64, max: i64) -> Result<Vec<DueWebhook>> {
    let seqs: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, org_seq FROM imports
             WHERE webhook_state = 'pending' AND webhook_due_at <= ?1
             ORDER BY webhook_due_at LIMIT ?2",
        )?
        .query_map(params![now, max], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut due = Vec::with_capacity(seqs.len());
    for (seq, org_seq) in seqs {
        tx.prepare_cached("UPDATE imports SET webhook_due_at = ?2 WHERE seq = ?1")?
            .execute(params![seq, now + WEBHOOK_LEASE_MS])?;
        let import = get_by_seq(tx, seq)?;
        let (org_id, secret) = secret_of(tx, org_seq)?;
        let previous_secret = tx
            .prepare_cached(
                "SELECT previous_webhook_secret FROM organizations
                 WHERE seq = ?1 AND previous_webhook_secret_until > ?2",
            )?
            .query_row(params![org_seq, now], |r| r.get(0))
            .optional()?
            .flatten();
        let url = import.webhook_url.clone().unwrap_or_default();
        due.push(DueWebhook {
            import,
            org_id,
            url,
            secret,
            previous_secret,
        });
    }
    Ok(due)
}

/// The organization's id and webhook secret, made on first use.
fn secret_of(tx: &Transaction<'_>, org_seq: i64) -> Result<(String, String)> {
    let (org_id, secret): (String, Option<String>) = tx
        .prepare_cached("SELECT id, webhook_secret FROM organizations WHERE seq = ?1")?
        .query_row([org_seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound("Organization"))?;
    if let Some(secret) = secret {
        return Ok((org_id, secret));
    }
    let secret = ids::new_webhook_secret();
    tx.execute(
        "UPDATE organizations SET webhook_secret = ?2 WHERE seq = ?1",
        params![org_seq, secret],
    )?;
    Ok((org_id, secret))
}

/// How a delivery attempt ended.
#[derive(Debug)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered(u16),
    /// Worth trying again later: another status, a timeout, a refused
    /// connection.
    Retry {
        status_code: Option<u16>,
        error: String,
    },
    /// Not worth trying again (a refused address).
    GiveUp(String),
}

/// Records an attempt and schedules the next one (`retry_in_ms` after the
/// attempt, by its number from 1) or ends the delivery.
fn record_attempt(
    tx: &Transaction<'_>,
    import_seq: i64,
    at: i64,
    outcome: &AttemptOutcome,
    retry_in_ms: impl Fn(i64) -> i64,
) -> Result<()> {
    let number: i64 = tx
        .prepare_cached("SELECT count(*) + 1 FROM webhook_attempts WHERE import_seq = ?1")?
        .query_row([import_seq], |r| r.get(0))?;
    let (status_code, error) = match outcome {
        AttemptOutcome::Delivered(code) => (Some(*code), None),
        AttemptOutcome::Retry { status_code, error } => (*status_code, Some(error.as_str())),
        AttemptOutcome::GiveUp(error) => (None, Some(error.as_str())),
    };
    tx.prepare_cached(
        "INSERT INTO webhook_attempts (import_seq, attempt, at, status_code, error)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![import_seq, number, at, status_code, error])?;
    let (state, due) = match outcome {
        AttemptOutcome::Delivered(_) => ("delivered", None),
        AttemptOutcome::Retry { .. } if number < MAX_WEBHOOK_ATTEMPTS => {
            ("pending", Some(at + retry_in_ms(number)))
        }
        _ => ("failed", None),
    };
    tx.prepare_cached("UPDATE imports SET webhook_state = ?2, webhook_due_at = ?3 WHERE seq = ?1")?
        .execute(params![import_seq, state, due])?;
    Ok(())
}

/// The worker's and the operator's side of imports.
impl Db {
    /// Queues an import for the organization `org_id` (the CLI's way in).
    pub fn enqueue_import_for_org(&self, org_id: &str, request: &ImportRequest) -> Result<Import> {
        self.write_now(|tx| {
            let tenant = super::operator_tenant(tx, org_id)?;
            enqueue(tx, &tenant, request)
        })
    }

    /// An import and its first failed rows, by public id, with its
    /// organization's id (for the operator; the API goes through a key).
    pub fn import_for_operator(&self, id: &str) -> Result<(Import, Vec<RowError>, String)> {
        let conn = self.pool.get()?;
        let (seq, org_seq): (i64, i64) = conn
            .query_row(
                "SELECT seq, org_seq FROM imports WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(Error::NotFound("Import"))?;
        let org_id = conn.query_row(
            "SELECT id FROM organizations WHERE seq = ?1",
            [org_seq],
            |r| r.get(0),
        )?;
        Ok((get_by_seq(&conn, seq)?, errors(&conn, seq)?, org_id))
    }

    /// The unfinished import whose turn it is, by row number.
    pub(crate) fn next_unfinished_import(&self) -> Result<Option<i64>> {
        next_unfinished(&*self.pool.get()?)
    }

    /// Gives an unfinished import with no chunk left its final status (a
    /// state the chunk transactions never leave, finished here rather than
    /// picked again and again). Whether it did.
    pub(crate) fn finish_drained_import(&self, import_seq: i64) -> Result<bool> {
        self.write_now(|tx| {
            let drained: bool = tx.query_row(
                "SELECT status IN ('PENDING', 'PROCESSING')
                        AND NOT EXISTS (SELECT 1 FROM import_chunks WHERE import_seq = ?1)
                 FROM imports WHERE seq = ?1",
                [import_seq],
                |r| r.get(0),
            )?;
            if drained {
                finish(tx, import_seq, clock::now_ms())?;
            }
            Ok(drained)
        })
    }

    /// Sends an import to the back of the line (after a chunk of it failed,
    /// so other imports go on).
    pub fn push_back_import(&self, import_seq: i64) -> Result<()> {
        self.write_now(|tx| {
            tx.execute(
                "UPDATE imports SET turn_at = ?2 WHERE seq = ?1",
                params![import_seq, clock::now_ms()],
            )?;
            Ok(())
        })
    }

    /// Gives up an import that could not run: its rows not yet applied
    /// count as failed, its status is `FAILED`, its webhook becomes due.
    pub fn fail_import(&self, import_seq: i64) -> Result<()> {
        self.write_now(|tx| {
            let now = clock::now_ms();
            tx.execute(
                "DELETE FROM import_chunks WHERE import_seq = ?1",
                [import_seq],
            )?;
            tx.execute(
                "UPDATE imports SET failed = failed + (total - processed)
                 WHERE seq = ?1 AND status IN ('PENDING', 'PROCESSING')",
                [import_seq],
            )?;
            finish(tx, import_seq, now)?;
            tx.execute(
                "UPDATE imports SET status = 'FAILED' WHERE seq = ?1",
                [import_seq],
            )?;
            Ok(())
        })
    }

    /// The import's next stored chunk after row `after`.
    pub(crate) fn import_chunk_after(
        &self,
        import_seq: i64,
        after: Option<i64>,
    ) -> Result<Option<QueuedChunk>> {
        chunk_after(&*self.pool.get()?, import_seq, after)
    }

    /// Applies a chunk's validated rows (see [`apply`]).
    pub(crate) fn apply_import_chunk(
        &self,
        import_seq: i64,
        first_row: i64,
        items: Vec<std::result::Result<BulkItem, FieldError>>,
    ) -> Result<Applied> {
        let applied = self.write_now(|tx| apply(tx, import_seq, first_row, items))?;
        if let Applied::Chunk { org_id, .. } = &applied {
            self.live.signal(org_id);
        }
        Ok(applied)
    }

    /// An import by row number (progress for the CLI).
    pub fn import_by_seq(&self, seq: i64) -> Result<Import> {
        get_by_seq(&*self.pool.get()?, seq)
    }

    /// Leases up to `max` webhooks due now.
    /// The worker asks every second: a plain read answers "none" without
    /// taking the write lock.
    pub fn lease_due_webhooks(&self, max: i64) -> Result<Vec<DueWebhook>> {
        let now = clock::now_ms();
        let any_due: bool = self.pool.get()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM imports
                            WHERE webhook_state = 'pending' AND webhook_due_at <= ?1)",
            [now],
            |r| r.get(0),
        )?;
        if !any_due {
            return Ok(Vec::new());
        }
        self.write_now(|tx| lease_due_webhooks(tx, now, max))
    }

    /// Records a delivery attempt made at `at`.
    pub fn record_webhook_attempt(
        &self,
        import_seq: i64,
        at: i64,
        outcome: &AttemptOutcome,
        retry_in_ms: impl Fn(i64) -> i64,
    ) -> Result<()> {
        self.write_now(|tx| record_attempt(tx, import_seq, at, outcome, retry_in_ms))
    }

    /// Replaces organization `org_id`'s webhook secret with a new one; the
    /// one it replaces still signs for 24 hours (a second rotation within
    /// them drops the older one: at most two signatures).
    pub fn rotate_webhook_secret(&self, org_id: &str) -> Result<String> {
        self.write_now(|tx| {
            let tenant = super::operator_tenant(tx, org_id)?;
            let (_, current) = secret_of(tx, tenant.org_seq)?;
            let secret = ids::new_webhook_secret();
            tx.execute(
                "UPDATE organizations SET webhook_secret = ?2, previous_webhook_secret = ?3,
                     previous_webhook_secret_until = ?4
                 WHERE seq = ?1",
                params![
                    tenant.org_seq,
                    secret,
                    current,
                    clock::now_ms() + PREVIOUS_SECRET_MS
                ],
            )?;
            Ok(secret)
        })
    }

    /// The webhook secret of organization `org_id`, made on first use.
    pub fn webhook_secret(&self, org_id: &str) -> Result<String> {
        self.write_now(|tx| {
            let tenant = super::operator_tenant(tx, org_id)?;
            secret_of(tx, tenant.org_seq).map(|(_, secret)| secret)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contactsd_domain::import::{json_rows, ImportRequest};
    use serde_json::json;

    #[test]
    fn an_unfinished_import_with_no_chunk_left_is_finished_not_picked_forever() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("drained.db")).unwrap();
        let (org, _) = db.create_org("Acme").unwrap();
        let rows = json_rows(&[json!({"name": "A", "phoneNumber": "+14155552671"})]).unwrap();
        let request = ImportRequest {
            rows,
            audience_id: None,
            webhook_url: None,
            metadata_mode: MetadataMode::Replace,
        };
        let import = db.enqueue_import_for_org(&org.id, &request).unwrap();
        db.pool
            .get()
            .unwrap()
            .execute("DELETE FROM import_chunks", [])
            .unwrap();
        assert_eq!(db.next_unfinished_import().unwrap(), Some(import.seq));
        let stop = std::sync::atomic::AtomicBool::new(false);
        assert!(crate::jobs::run_import(&db, import.seq, None, &stop, |_| {}).unwrap());
        assert_eq!(db.next_unfinished_import().unwrap(), None);
        assert_eq!(
            db.import_by_seq(import.seq).unwrap().status,
            ImportStatus::Failed
        );
    }

    #[test]
    fn an_import_that_cannot_run_is_given_up_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("given-up.db")).unwrap();
        let (org, _) = db.create_org("Acme").unwrap();
        let rows: Vec<_> = (0..2_500)
            .map(|i| json!({"name": "A", "phoneNumber": format!("+1415555{i:04}")}))
            .collect();
        let request = ImportRequest {
            rows: json_rows(&rows).unwrap(),
            audience_id: None,
            webhook_url: Some(String::from("https://example.com/hook")),
            metadata_mode: MetadataMode::Replace,
        };
        let import = db.enqueue_import_for_org(&org.id, &request).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        assert!(!crate::jobs::run_import(&db, import.seq, Some(1), &stop, |_| {}).unwrap());
        db.push_back_import(import.seq).unwrap();
        db.fail_import(import.seq).unwrap();
        let failed = db.import_by_seq(import.seq).unwrap();
        assert_eq!(failed.status, ImportStatus::Failed);
        assert_eq!(
            (failed.processed, failed.created, failed.failed),
            (2_500, 1_000, 1_500)
        );
        assert!(failed.completed_at.is_some());
        assert_eq!(failed.webhook_state.as_deref(), Some("pending"));
        assert_eq!(db.next_unfinished_import().unwrap(), None);
    }
}
