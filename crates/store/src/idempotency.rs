//! Idempotency keys: claimed by a first request, answered again to its
//! repeats (see `crate::idempotency`).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Result, Tenant};

/// How long a key is kept, in milliseconds.
pub(crate) const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What a request with an idempotency key finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: this request runs, and its answer will be stored.
    Claimed,
    /// The same request ran before: its answer.
    Replay(StoredAnswer),
    /// The same key is held by a request still running.
    Running,
    /// The key was used by a request with another method, path or body.
    Reused,
}

/// Claims `key` for a request whose fingerprint is `fingerprint`, at `now`.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    key: &str,
    fingerprint: &[u8],
    now: i64,
) -> Result<Claim> {
    tx.prepare_cached(
        "DELETE FROM idempotency_keys WHERE org_seq = ?1 AND key = ?2 AND created_at <= ?3",
    )?
    .execute(params![tenant.org_seq, key, now - KEEP_MS])?;
    let found = tx
        .prepare_cached(
            "SELECT fingerprint, status, location, body FROM idempotency_keys
             WHERE org_seq = ?1 AND key = ?2",
        )?
        .query_row(params![tenant.org_seq, key], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<u16>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .optional()?;
    Ok(match found {
        None => {
            tx.prepare_cached(
                "INSERT INTO idempotency_keys (org_seq, key, fingerprint, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![tenant.org_seq, key, fingerprint, now])?;
            Claim::Claimed
        }
        Some((stored, _, _, _)) if stored != fingerprint => Claim::Reused,
        Some((_, None, _, _)) => Claim::Running,
        Some((_, Some(status), location, body)) => Claim::Replay(StoredAnswer {
            status,
            location,
            body: body.unwrap_or_default(),
        }),
    })
}

/// Stores the answer of the request that claimed `key`, or, with `None`,
/// frees the key (answers a retry should not get again: 5xx, 429).
pub(crate) fn finish(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    key: &str,
    answer: Option<StoredAnswer>,
) -> Result<()> {
    match answer {
        Some(answer) => tx
            .prepare_cached(
                "UPDATE idempotency_keys SET status = ?3, location = ?4, body = ?5
                 WHERE org_seq = ?1 AND key = ?2 AND status IS NULL",
            )?
            .execute(params![
                tenant.org_seq,
                key,
                answer.status,
                answer.location,
                answer.body
            ])?,
        None => tx
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE org_seq = ?1 AND key = ?2 AND status IS NULL",
            )?
            .execute(params![tenant.org_seq, key])?,
    };
    Ok(())
}

/// Deletes up to `batch` keys created at or before `cutoff`; how many went.
pub(crate) fn sweep(conn: &Connection, cutoff: i64, batch: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM idempotency_keys WHERE (org_seq, key) IN (
                 SELECT org_seq, key FROM idempotency_keys WHERE created_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, batch])?)
}

/// Frees every key whose request was still running: on start, when no
/// request can be.
pub(crate) fn release_unfinished(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM idempotency_keys WHERE status IS NULL", [])?)
}
