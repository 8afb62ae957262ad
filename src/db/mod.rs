//! Storage: the pool, the migrations, and (one module a table) all SQL.
//!
//! Every connection the pool hands out has WAL, `foreign_keys`, a busy
//! timeout and `synchronous=NORMAL`. Async code reaches SQLite only through
//! [`Db::read`] and [`Db::write`], which run on Tokio's blocking pool; writes
//! take `BEGIN IMMEDIATE` so a reader never fails upgrading to a writer.

pub mod audiences;
pub mod calls;
pub mod contacts;
pub mod keys;
pub mod orgs;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

/// How long a connection waits on another writer before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pooled connections; SQLite serializes writers, readers run in parallel.
const POOL_SIZE: u32 = 8;

/// What storage can fail with. `NotFound` and `PhoneTaken` are answers;
/// the rest are faults.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid or revoked API key")]
    Unauthorized,
    #[error("phone number {phone} is used by contact {contact_id}")]
    PhoneTaken { phone: String, contact_id: String },
    #[error("unknown contact ids: {0:?}")]
    MissingContacts(Vec<String>),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("blocking task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The organization a request acts for; every query is scoped by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub org_seq: i64,
    pub org_id: String,
}

/// The versioned schema. `schema.sql` is migration 1; later changes are new
/// migrations appended here, never edits of an applied one.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!("../../schema.sql"))])
}

/// The PRAGMAs every connection gets (public so benchmarks can give a raw
/// connection the very same settings).
pub fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         -- Checkpoint every ~100 MB of WAL instead of every 4 MB: hot
         -- index and FTS pages are then written back once, not again and
         -- again (measured: 14,400 -> 16,100 contacts/s importing 1M).
         PRAGMA wal_autocheckpoint = 25000;",
    )
}

/// The database: a pool of configured connections to one SQLite file.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    cursor_secret: std::sync::Arc<[u8]>,
}

impl Db {
    /// Opens (creating if needed) the file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Db> {
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .build(manager)?;
        let mut conn = pool.get()?;
        migrations().to_latest(&mut conn)?;
        let secret: Vec<u8> = conn.query_row(
            "SELECT value FROM settings WHERE key = 'cursor_secret'",
            [],
            |r| r.get(0),
        )?;
        Ok(Db {
            pool,
            cursor_secret: secret.into(),
        })
    }

    /// The key listing cursors are signed with (kept in the file, so
    /// cursors survive restarts).
    pub fn cursor_secret(&self) -> &[u8] {
        &self.cursor_secret
    }

    /// A pooled connection, for synchronous callers (the CLI).
    pub fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in a read transaction (one consistent snapshot) off the
    /// async workers.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = f(&tx)?;
            tx.finish()?;
            Ok(value)
        })
        .await
    }

    /// Authenticates `key` and runs `f` for its organization, in one read
    /// transaction on one blocking task: the hot read routes pay for one
    /// trip to the blocking pool instead of two.
    pub async fn read_as<T, F>(&self, key: String, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>, Tenant) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| {
            let tenant = keys::authenticate(conn, &key)?.ok_or(Error::Unauthorized)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = f(&tx, tenant)?;
            tx.finish()?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed only if `f`
    /// succeeds, off the async workers.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write(conn, f)).await
    }

    /// Runs `f` on a pooled connection in autocommit mode, off the async
    /// workers.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let task = rocket::tokio::task::spawn_blocking(move || {
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

/// Runs `f` in one `BEGIN IMMEDIATE` transaction on `conn`.
pub fn write<T>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// Whether `error` is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
