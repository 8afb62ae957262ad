//! contactsd's storage: the pool, the migrations, the import job queue and
//! (one module a table) all SQL. It knows no HTTP: its answers are row
//! types and its failures [`Error`], which the server maps to the
//! contract's answers in one place.
//!
//! Every connection the pool hands out has WAL, `foreign_keys`, a busy
//! timeout and `synchronous=NORMAL`. API code reaches SQLite only through a
//! [`TenantDb`], which verifies its key on every trip: every query it runs
//! is scoped to that key's organization. The
//! operator's commands (organizations, keys, health) are methods of [`Db`]
//! itself. Async callers run on Tokio's blocking pool; writes take `BEGIN
//! IMMEDIATE` so a reader never fails upgrading to a writer.

pub mod audiences;
pub mod backup;
pub mod callable;
pub mod calls;
pub mod changes;
pub mod contacts;
pub mod dnc;
pub mod idempotency;
pub mod imports;
pub mod indexes;
pub mod jobs;
pub mod keys;
pub(crate) mod listing;
pub mod live;
pub mod orgs;
mod tenant;
pub mod webhooks;

pub use listing::Scan;
pub use tenant::{ContactPage, ItemOutcome, RowSink, Scoped, TenantDb};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

/// How long a connection waits on another writer, and a request on a free
/// connection, before giving up with `503`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pooled connections; SQLite serializes writers, readers run in parallel.
const POOL_SIZE: u32 = 8;

/// What storage can fail with. `NotFound`, `PhoneTaken` and
/// `MissingContacts` are answers; the rest are faults.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("phone number {phone} is used by contact {contact_id}")]
    PhoneTaken { phone: String, contact_id: String },
    #[error("unknown contact ids: {0:?}")]
    MissingContacts(Vec<String>),
    #[error("invalid or revoked API key")]
    Unauthorized,
    #[error("a read-only API key cannot write")]
    ReadOnlyKey,
    #[error("cursor refused: {0:?}")]
    BadCursor(contactsd_domain::cursor::CursorError),
    /// A changes feed position the feed cannot continue from: after the
    /// latest change, or before the last pruned tombstone.
    #[error("changes feed position {since} refused (latest {latest}, pruned through {pruned})")]
    ChangesExpired {
        since: i64,
        latest: i64,
        pruned: i64,
    },
    #[error("cannot open {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no database connection came free in time: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("blocking task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// What a verified key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The key's row number: what rate limits count by.
    pub key_seq: i64,
    /// The key may only read.
    pub read_only: bool,
}

/// A failure that is the machine's state, not a bug: another writer, a
/// full disk, a read-only or failing file, no free connection. A retry (or
/// the operator) can fix it; the server answers `503`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Busy,
    DiskFull,
    ReadOnly,
    Io,
    NoConnection,
}

impl Error {
    /// What kind of fault this is, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        use rusqlite::ErrorCode::{
            CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, ReadOnly, SystemIoFailure,
        };
        match self {
            Error::Pool(_) => Some(Fault::NoConnection),
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                DatabaseBusy | DatabaseLocked => Some(Fault::Busy),
                DiskFull => Some(Fault::DiskFull),
                ReadOnly => Some(Fault::ReadOnly),
                SystemIoFailure | CannotOpen => Some(Fault::Io),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The organization a verified key acts for. Only [`keys::authenticate`]
/// makes one, so holding a `Tenant` proves the key was checked; every
/// tenant query takes it and filters by its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tenant {
    org_seq: i64,
    org_id: String,
    /// The verified key's row number.
    key_seq: i64,
    /// The key may read and nothing else: every write refuses it.
    read_only: bool,
}

impl Tenant {
    /// The organization's public id.
    pub(crate) fn org_id(&self) -> &str {
        &self.org_id
    }
}

#[cfg(test)]
impl Tenant {
    /// A tenant of `org` holding no key, for the storage layer's own tests.
    pub(crate) fn of_org(org: &orgs::Org) -> Tenant {
        Tenant {
            org_seq: org.seq,
            org_id: org.id.clone(),
            key_seq: 0,
            read_only: false,
        }
    }
}

/// The versioned schema. `schema.sql` is migration 1; later changes are new
/// migrations appended here, never edits of an applied one.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Every migration's SQL, in order: `PRAGMA user_version` is how many of
/// them a database has had.
const MIGRATIONS: [&str; 17] = [
    include_str!("../../../schema.sql"),
    include_str!("../migrations/002-one-clock-bounded-rows.sql"),
    include_str!("../migrations/003-idempotency-keys.sql"),
    include_str!("../migrations/004-imports.sql"),
    include_str!("../migrations/005-declared-indexes.sql"),
    include_str!("../migrations/006-index-fills-in-batches.sql"),
    include_str!("../migrations/007-key-scopes.sql"),
    include_str!("../migrations/008-import-metadata-mode.sql"),
    include_str!("../migrations/009-webhook-secret-rotation.sql"),
    include_str!("../migrations/010-changes-feed.sql"),
    include_str!("../migrations/011-webhook-subscriptions.sql"),
    include_str!("../migrations/012-do-not-call.sql"),
    include_str!("../migrations/013-calling-hours.sql"),
    include_str!("../migrations/014-callable-contacts.sql"),
    include_str!("../migrations/015-callable-index.sql"),
    include_str!("../migrations/016-search-tags.sql"),
    include_str!("../migrations/017-search-windows.sql"),
];

/// The schema version this build writes (and the newest it reads).
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The PRAGMAs every connection gets (public so benchmarks can give a raw
/// connection the very same settings).
pub fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    configure_with(conn, BUSY_TIMEOUT, WAL_AUTOCHECKPOINT)
}

/// Checkpoint every ~100 MB of WAL instead of every 4 MB: hot index and
/// FTS pages are then written back once, not again and again (measured:
/// 14,400 -> 16,100 contacts/s importing 1M).
pub(crate) const WAL_AUTOCHECKPOINT: u32 = 25_000;

fn configure_with(
    conn: &mut Connection,
    busy_timeout: Duration,
    wal_autocheckpoint: u32,
) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    register_search_functions(conn)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    conn.pragma_update(None, "wal_autocheckpoint", wal_autocheckpoint)
}

/// Registers the functions the search index's triggers call (migration
/// 17): `search_windows(org_seq, text)`, the `name` and `phone` columns'
/// text ([`contactsd_domain::search::windows`]), and
/// `search_initials(org_seq, initials)`, the `initials` column's
/// ([`contactsd_domain::search::initial_tokens`]). A connection without
/// them cannot write contacts.
pub(crate) fn register_search_functions(conn: &Connection) -> rusqlite::Result<()> {
    use contactsd_domain::search;
    use rusqlite::functions::{Context, FunctionFlags};
    use rusqlite::types::ValueRef;
    /// The function's arguments: the organization's number and a text
    /// (`None` when the text is NULL).
    fn arguments<'a>(ctx: &'a Context<'_>) -> rusqlite::Result<(i64, Option<&'a str>)> {
        let scope: i64 = ctx.get(0)?;
        match ctx.get_raw(1) {
            ValueRef::Text(bytes) => Ok((
                scope,
                Some(
                    std::str::from_utf8(bytes)
                        .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?,
                ),
            )),
            _ => Ok((scope, None)),
        }
    }
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("search_windows", 2, flags, |ctx| {
        let (scope, text) = arguments(ctx)?;
        Ok(text.map(|text| search::windows(scope, text)))
    })?;
    conn.create_scalar_function("search_initials", 2, flags, |ctx| {
        let (scope, text) = arguments(ctx)?;
        Ok(text.map(|text| search::initial_tokens(scope, text)))
    })
}

/// How the database is opened.
#[derive(Clone, Copy, Debug)]
pub struct DbOptions {
    /// Pooled connections.
    pub pool_size: u32,
    /// How long a statement waits on a writer, and a request on a free
    /// connection.
    pub busy_timeout: Duration,
    /// Refuse every write (`PRAGMA query_only`), as a read-only file does.
    pub read_only: bool,
    /// WAL pages after which a commit checkpoints; `0`: contactsd never
    /// checkpoints (not even on stop), leaving it to Litestream.
    pub wal_autocheckpoint: u32,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            pool_size: POOL_SIZE,
            busy_timeout: BUSY_TIMEOUT,
            read_only: false,
            wal_autocheckpoint: WAL_AUTOCHECKPOINT,
        }
    }
}

/// The database: a pool of configured connections to one SQLite file.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    cursor_secret: Arc<[u8]>,
    /// Whether contactsd checkpoints the WAL at all (not when another
    /// process, Litestream, owns checkpoints).
    checkpoints: bool,
    /// The database file, whose size (and its WAL's) operators watch.
    path: Arc<Path>,
    /// Open change streams, told of each commit.
    live: Arc<live::Live>,
}

/// What an operator watches of the database, read when metrics are
/// scraped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// The database file's size in bytes.
    pub database_bytes: u64,
    /// The write-ahead log's size in bytes (0 when there is none).
    pub wal_bytes: u64,
    /// Imports accepted and not yet finished.
    pub imports_unfinished: u64,
    /// Rows of those imports still to be applied.
    pub import_rows_queued: u64,
}

impl Db {
    /// Opens (creating if needed) the file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Db> {
        Self::open_with(path, DbOptions::default())
    }

    /// Opens with explicit pool and timeout settings.
    ///
    /// A path that cannot be opened fails at once with the reason (the pool
    /// would retry it until its timeout). A new file is created readable by
    /// its owner alone: it holds personal data, key hashes and the cursor
    /// secret, and SQLite gives the `-wal` and `-shm` files the same mode.
    pub fn open_with(path: &Path, options: DbOptions) -> Result<Db> {
        let open_error = |reason: String| Error::Open {
            path: path.to_path_buf(),
            reason,
        };
        create_private_file(path).map_err(|e| open_error(e.to_string()))?;
        let mut first = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(e.to_string()))?;
        configure_with(&mut first, options.busy_timeout, options.wal_autocheckpoint)
            .map_err(|e| open_error(e.to_string()))?;
        migrations().to_latest(&mut first)?;
        if !options.read_only {
            callable::renumber_zone_sets(&mut first)?;
            callable::repair_counts(&mut first)?;
        }
        let secret: Vec<u8> = first.query_row(
            "SELECT value FROM settings WHERE key = 'cursor_secret'",
            [],
            |r| r.get(0),
        )?;
        drop(first);
        let (busy_timeout, read_only, checkpoint_pages) = (
            options.busy_timeout,
            options.read_only,
            options.wal_autocheckpoint,
        );
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |conn| {
                configure_with(conn, busy_timeout, checkpoint_pages)?;
                conn.pragma_update(None, "query_only", read_only)
            });
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            // A listing counts a large organization in parts at once on
            // idle connections, one a core, and leaves one idle connection
            // for other requests (`listing::in_parts`): keep that many open.
            .min_idle(Some(options.pool_size.clamp(1, 3)))
            // A request waits for a free connection no longer than a
            // statement waits for a writer, then answers 503.
            .connection_timeout(options.busy_timeout.max(Duration::from_millis(1)))
            .build(manager)?;
        Ok(Db {
            pool,
            cursor_secret: secret.into(),
            checkpoints: options.wal_autocheckpoint > 0,
            path: path.into(),
            live: Arc::default(),
        })
    }

    /// The sizes of the database file and its WAL, and the import queue's
    /// depth (one indexed read of the unfinished imports).
    pub async fn gauges(&self) -> Result<Gauges> {
        let path = Arc::clone(&self.path);
        self.run(move |conn| {
            let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            let (imports, rows): (i64, i64) = conn.query_row(
                "SELECT count(*), coalesce(sum(total - processed), 0) FROM imports
                 WHERE status IN ('PENDING', 'PROCESSING')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Gauges {
                database_bytes: size(&path),
                wal_bytes: size(Path::new(&wal)),
                imports_unfinished: u64::try_from(imports).unwrap_or(0),
                import_rows_queued: u64::try_from(rows).unwrap_or(0),
            })
        })
        .await
    }

    /// The key listing cursors are signed with (kept in the file, so
    /// cursors survive restarts).
    pub(crate) fn cursor_secret(&self) -> &[u8] {
        &self.cursor_secret
    }

    /// A handle for the organization of `key`, which each of its trips
    /// verifies; see [`TenantDb`].
    pub fn tenant(&self, key: String) -> TenantDb {
        TenantDb::new(self.clone(), key)
    }

    /// A handle for the organization of `key`, verified now, and what the
    /// key is (its row number, what rate limits count by; whether it is
    /// read-only): `None` when the key is unknown, revoked or expired.
    pub async fn authenticate(&self, key: String) -> Result<Option<(TenantDb, Verified)>> {
        let handle = self.tenant(key);
        match handle.verify().await {
            Ok(verified) => Ok(Some((handle, verified))),
            Err(Error::Unauthorized) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the database answers a read of the file and takes a write
    /// (a one-row transaction, committed): a full disk or a read-only file
    /// fails here, and passes again by itself once it is fixed.
    pub async fn healthy(&self) -> Result<()> {
        self.run(|conn| {
            conn.query_row("SELECT count(*) FROM organizations", [], |r| {
                r.get::<_, i64>(0)
            })?;
            write(conn, |tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES ('health_probe', ?1)",
                    [contactsd_domain::clock::now_ms()],
                )?;
                Ok(())
            })
        })
        .await
    }

    /// Creates an organization and its first API key.
    pub fn create_org(&self, name: &str) -> Result<(orgs::Org, keys::IssuedKey)> {
        self.write_now(|tx| orgs::create(tx, name))
    }

    /// On a database with no organization, creates `default` with a key.
    pub fn create_default_org_if_none(&self) -> Result<Option<(orgs::Org, keys::IssuedKey)>> {
        self.write_now(orgs::create_default_if_none)
    }

    pub fn list_orgs(&self) -> Result<Vec<orgs::Org>> {
        orgs::list(&*self.pool.get()?)
    }

    /// Issues a new key for the organization with public id `org_id`.
    /// Renames an organization.
    pub fn rename_org(&self, org_id: &str, name: &str) -> Result<orgs::Org> {
        self.write_now(|tx| orgs::rename(tx, org_id, name))
    }

    /// Deletes an organization and everything it owns, in one transaction;
    /// its keys are refused from the next request on.
    pub fn delete_org(&self, org_id: &str) -> Result<orgs::Removed> {
        self.write_now(|tx| orgs::delete(tx, org_id))
    }

    pub fn issue_key(&self, org_id: &str) -> Result<keys::IssuedKey> {
        self.issue_key_with(org_id, &keys::KeyOptions::default())
    }

    /// Issues a key for `org_id` with a name, a read-only scope or an
    /// expiry.
    pub fn issue_key_with(
        &self,
        org_id: &str,
        options: &keys::KeyOptions,
    ) -> Result<keys::IssuedKey> {
        self.write_now(|tx| keys::issue_for(tx, org_id, options))
    }

    pub fn list_keys(&self, org_id: &str) -> Result<Vec<keys::KeyInfo>> {
        keys::list(&*self.pool.get()?, org_id)
    }

    /// Revokes a key given its id or the key itself.
    pub fn revoke_key(&self, id_or_key: &str) -> Result<keys::KeyInfo> {
        self.write_now(|tx| keys::revoke(tx, id_or_key))
    }

    /// Copies the WAL into the database file and empties it (on shutdown,
    /// so the file alone is the whole database); `false` when checkpoints
    /// are left to another process (`wal_autocheckpoint = 0`).
    pub fn checkpoint(&self) -> Result<bool> {
        if !self.checkpoints {
            return Ok(false);
        }
        self.pool
            .get()?
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(true)
    }

    /// Frees the idempotency keys of requests that were running when the
    /// server last stopped (none can be running before it serves).
    pub async fn release_unfinished_idempotency_keys(&self) -> Result<usize> {
        self.run(|conn| idempotency::release_unfinished(conn)).await
    }

    /// Deletes idempotency keys older than 24 hours, a thousand at a time,
    /// each batch its own short transaction, so requests never wait long
    /// behind it. How many went.
    pub async fn sweep_idempotency_keys(&self) -> Result<usize> {
        self.run(|conn| {
            let cutoff = contactsd_domain::clock::now_ms() - idempotency::KEEP_MS;
            let mut swept = 0;
            loop {
                let batch = idempotency::sweep(conn, cutoff, 1000)?;
                swept += batch;
                if batch < 1000 {
                    return Ok(swept);
                }
            }
        })
        .await
    }

    /// The registry of open change streams.
    pub fn live(&self) -> &live::Live {
        &self.live
    }

    /// Reads the latest change number of every organization with a
    /// stream open and wakes those that moved: writes by another process
    /// on the same file reach the streams this way (the server calls it
    /// once a second).
    pub async fn poll_live(&self) -> Result<()> {
        let watched = self.live.watched();
        if watched.is_empty() {
            return Ok(());
        }
        let live = Arc::clone(&self.live);
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT change_seq FROM organizations WHERE id = ?1")?;
            let mut positions = Vec::with_capacity(watched.len());
            for org_id in watched {
                match stmt
                    .query_row([&org_id], |r| r.get::<_, i64>(0))
                    .optional()?
                {
                    Some(latest) => positions.push((org_id, latest)),
                    // Deleted (`org delete`): its streams wake, find their
                    // key refused, and end.
                    None => live.signal(&org_id),
                }
            }
            live.moved(&positions);
            Ok(())
        })
        .await
    }

    /// Deletes the changes feed's tombstones older than `retention_days`,
    /// a thousand at a time, each batch its own short transaction. How
    /// many went.
    pub async fn prune_tombstones(&self, retention_days: u32) -> Result<usize> {
        self.run(move |conn| {
            let cutoff = changes::retention_cutoff(retention_days);
            let mut pruned = 0;
            loop {
                let batch = write(conn, |tx| changes::prune(tx, cutoff, 1000))?;
                pruned += batch;
                if batch < 1000 {
                    return Ok(pruned);
                }
            }
        })
        .await
    }

    /// Feeds every contact of organization `org_id` that `listing` matches
    /// to `sink`, from one read snapshot, on this thread (`contactsd
    /// export`).
    pub fn export_for_org<S: RowSink>(
        &self,
        org_id: &str,
        listing: &contactsd_domain::listing::Listing,
        mut sink: S,
    ) -> Result<()> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let tenant = operator_tenant(&tx, org_id)?;
        let request = listing
            .request(self.cursor_secret(), tenant.org_id())
            .map_err(Error::BadCursor)?;
        listing::for_each(&tx, &tenant, &request, |contact| {
            sink.row(&contact, tenant.org_id())
        })?;
        sink.finish();
        tx.finish()?;
        Ok(())
    }

    /// A page of organization `org_id`'s changes feed, from one snapshot,
    /// on this thread (`contactsd changes`).
    pub fn changes_for_org(
        &self,
        org_id: &str,
        request: contactsd_domain::changes::ChangesRequest,
    ) -> Result<changes::ChangePage> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let tenant = operator_tenant(&tx, org_id)?;
        let page = changes::page(&tx, &tenant, request.since, request.limit, request.types)?;
        tx.finish()?;
        Ok(page)
    }

    /// Active subscriptions with changes to deliver whose next attempt is
    /// due now (at most `max`).
    pub async fn due_subscriptions(&self, max: i64) -> Result<Vec<webhooks::DueWebhook>> {
        self.run(move |conn| webhooks::due(conn, contactsd_domain::clock::now_ms(), max))
            .await
    }

    /// The next batch of changes for a due subscription (at most `max`).
    pub async fn subscription_batch(
        &self,
        due: webhooks::DueWebhook,
        max: i64,
    ) -> Result<changes::ChangePage> {
        self.run(move |conn| webhooks::batch(conn, &due, max)).await
    }

    /// Records a delivery attempt made at `at` for subscription `due`.
    pub async fn record_subscription_delivery(
        &self,
        due: &webhooks::DueWebhook,
        at: i64,
        delivery: webhooks::Delivery,
    ) -> Result<()> {
        let seq = due.seq;
        self.run(move |conn| write(conn, |tx| webhooks::record(tx, seq, at, &delivery)))
            .await
    }

    /// Lists `numbers` on organization `org_id`'s do-not-call list, in one
    /// transaction, on this thread (`contactsd dnc import`).
    pub fn add_do_not_call_for_org(
        &self,
        org_id: &str,
        numbers: &[contactsd_domain::PhoneNumber],
        source: Option<&str>,
    ) -> Result<dnc::Added> {
        self.write_now(|tx| {
            let tenant = operator_tenant(tx, org_id)?;
            dnc::add(tx, &tenant, numbers, None, source)
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on this thread.
    fn write_now<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        write(&mut *self.pool.get()?, f)
    }

    /// Runs `f` on a pooled connection off the async workers.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        });
        match task.await {
            Ok(result) => result,
            // Re-raise so Rocket's panic handling answers 500, as it would
            // for a panic in the handler itself.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Task(e.to_string())),
        }
    }
}

/// The tenant the operator acts for when a command names organization
/// `org_id` (the CLI's own commands, which hold no key).
fn operator_tenant(conn: &Connection, org_id: &str) -> Result<Tenant> {
    let org = orgs::find(conn, org_id)?;
    Ok(Tenant {
        org_seq: org.seq,
        org_id: org.id,
        key_seq: 0,
        read_only: false,
    })
}

/// Creates `path` empty with mode 0600 when it does not exist yet, so
/// SQLite never creates it with the process's umask.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction on `conn`.
fn write<T>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// The creation time and id of the organization's newest row of `table`.
fn newest(
    conn: &Connection,
    table: &'static str,
    tenant: &Tenant,
) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT created_at, id FROM {table} WHERE org_seq = ?1
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))?
        .query_row([tenant.org_seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The creation time and id of the organization's next row of `table`:
/// never before its newest, and with the next counter of its ids, so the
/// organization's `(created_at, id)` order is its creation order.
fn next_created(
    conn: &Connection,
    table: &'static str,
    kind: contactsd_domain::ids::Kind,
    tenant: &Tenant,
) -> Result<(i64, String)> {
    let newest = newest(conn, table, tenant)?;
    let now = contactsd_domain::clock::now_ms().max(newest.as_ref().map_or(i64::MIN, |n| n.0));
    let counter = contactsd_domain::ids::next_counter(kind, newest.as_ref().map(|n| n.1.as_str()));
    Ok((now, contactsd_domain::ids::ordered_id(kind, now, counter)))
}

/// Whether `error` is a UNIQUE constraint violation.
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_can_be_left_to_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let options = DbOptions {
            wal_autocheckpoint: 0,
            ..DbOptions::default()
        };
        let db = Db::open_with(&dir.path().join("ls.db"), options).unwrap();
        let pages: i64 = db
            .pool
            .get()
            .unwrap()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pages, 0);
        assert!(!db.checkpoint().unwrap());
        let db = Db::open(&dir.path().join("default.db")).unwrap();
        let pages: i64 = db
            .pool
            .get()
            .unwrap()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pages, i64::from(WAL_AUTOCHECKPOINT));
        assert!(db.checkpoint().unwrap());
    }

    #[test]
    fn migrations_are_valid() {
        // `Migrations::validate` opens a connection of its own, without the
        // function the triggers call: the same check on one that has it.
        let mut conn = Connection::open_in_memory().unwrap();
        register_search_functions(&conn).unwrap();
        migrations().to_latest(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usize::try_from(version).unwrap(), SCHEMA_VERSION);
        let violations: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(violations, 0);
    }

    #[tokio::test]
    async fn a_request_waits_for_a_connection_no_longer_than_the_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let options = DbOptions {
            pool_size: 1,
            busy_timeout: Duration::from_millis(50),
            ..DbOptions::default()
        };
        let db = Db::open_with(&dir.path().join("pool.db"), options).unwrap();
        let (_, key) = db.create_org("Acme").unwrap();
        let (org, _) = db.authenticate(key.key).await.unwrap().unwrap();
        let held = db.pool.get().unwrap();
        let error = org.contact("ct_x".into()).await.unwrap_err();
        assert!(matches!(error, Error::Pool(_)), "{error}");
        assert_eq!(error.fault(), Some(Fault::NoConnection));
        drop(held);
        let error = org.contact("ct_x".into()).await.unwrap_err();
        assert!(matches!(error, Error::NotFound(_)), "{error}");
    }

    #[test]
    fn a_row_number_outside_the_search_index_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("bound.db")).unwrap();
        let (org, _) = db.create_org("Acme").unwrap();
        let conn = db.pool.get().unwrap();
        let insert = |seq: i64| {
            conn.execute(
                "INSERT INTO contacts (seq, id, org_seq, name, name_key, initials, phone,
                                       created_at, updated_at, change_seq)
                 VALUES (?1, ?2, ?3, 'A', 'a', '^^A', ?2, 0, 0, ?1)",
                rusqlite::params![seq, format!("ct_{seq}"), org.seq],
            )
        };
        assert!(insert((1 << 32) - 1).is_ok());
        let error = insert(1 << 32).unwrap_err().to_string();
        assert!(error.contains("outside the search index range"), "{error}");
    }
}
