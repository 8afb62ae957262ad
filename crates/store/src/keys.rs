//! API keys: issued once, stored as a SHA-256 hash, revocable at once.
//!
//! A key carries 192 random bits, so a fast hash is the right tool: there is
//! nothing to brute-force that a slow password hash would protect.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use super::{Error, Result, Tenant};
use contactsd_domain::{clock, ids};

/// How stale `last_used_at` may get before a request refreshes it; keeps
/// authenticated reads from turning into writes.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A key as issued: the only moment the secret exists outside the client.
#[derive(Clone, Debug)]
pub struct IssuedKey {
    pub id: String,
    pub key: String,
    pub name: Option<String>,
    pub read_only: bool,
    pub expires_at: Option<i64>,
}

/// What a new key may do, and for how long.
#[derive(Clone, Debug, Default)]
pub struct KeyOptions {
    /// A label for operators (`--name`).
    pub name: Option<String>,
    /// Reads only.
    pub read_only: bool,
    /// Whole days from now until it is refused; `None`: never.
    pub expires_in_days: Option<u32>,
}

/// A key as listed: never the secret.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub id: String,
    pub prefix: String,
    pub name: Option<String>,
    pub read_only: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The columns [`from_row`] reads.
const INFO_COLUMNS: &str =
    "id, prefix, name, read_only, created_at, expires_at, last_used_at, revoked_at";

fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A day in milliseconds: a key of `--expires-in DAYS` lasts DAYS x 24 h.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Issues a new key for the organization with row `org_seq`.
pub(super) fn issue(tx: &Transaction<'_>, org_seq: i64, options: &KeyOptions) -> Result<IssuedKey> {
    let now = clock::now_ms();
    let issued = IssuedKey {
        id: ids::new_id(ids::Kind::ApiKey, now),
        key: ids::new_api_key(),
        name: options.name.clone(),
        read_only: options.read_only,
        expires_at: options
            .expires_in_days
            .map(|days| now + i64::from(days) * DAY_MS),
    };
    tx.execute(
        "INSERT INTO api_keys (id, org_seq, key_hash, prefix, created_at, name, read_only,
                               expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            issued.id,
            org_seq,
            hash(&issued.key),
            &issued.key[..12],
            now,
            issued.name,
            issued.read_only,
            issued.expires_at
        ],
    )?;
    Ok(issued)
}

/// Issues a new key for the organization with public id `org_id`.
pub(crate) fn issue_for(
    tx: &Transaction<'_>,
    org_id: &str,
    options: &KeyOptions,
) -> Result<IssuedKey> {
    let org = super::orgs::find(tx, org_id)?;
    issue(tx, org.seq, options)
}

pub(crate) fn list(conn: &Connection, org_id: &str) -> Result<Vec<KeyInfo>> {
    let org = super::orgs::find(conn, org_id)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {INFO_COLUMNS} FROM api_keys WHERE org_seq = ?1 ORDER BY created_at, seq"
    ))?;
    let rows = stmt.query_map([org.seq], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Revokes the key whose id, or whole secret, is `id_or_key`. Revoking a
/// revoked key keeps its first `revoked_at`.
pub(crate) fn revoke(tx: &Transaction<'_>, id_or_key: &str) -> Result<KeyInfo> {
    let (column, value): (&str, rusqlite::types::Value) = if id_or_key.starts_with(ids::KEY_PREFIX)
    {
        ("key_hash", hash(id_or_key).into())
    } else {
        ("id", id_or_key.to_string().into())
    };
    let changed = tx.execute(
        &format!("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?1) WHERE {column} = ?2"),
        params![clock::now_ms(), value],
    )?;
    if changed == 0 {
        return Err(Error::NotFound("API key"));
    }
    Ok(tx.query_row(
        &format!("SELECT {INFO_COLUMNS} FROM api_keys WHERE {column} = ?1"),
        [value],
        from_row,
    )?)
}

/// The organization an unrevoked, unexpired `key` belongs to, refreshing
/// the key's `last_used_at` when it is stale.
pub(crate) fn authenticate(conn: &Connection, key: &str) -> Result<Option<Tenant>> {
    let key_hash = hash(key);
    let now = clock::now_ms();
    // Every request runs this: a cached statement is parsed once per
    // connection, not once per request.
    let found = conn
        .prepare_cached(
            "SELECT k.seq, k.last_used_at, o.seq, o.id, k.read_only
             FROM api_keys k JOIN organizations o ON o.seq = k.org_seq
             WHERE k.key_hash = ?1 AND k.revoked_at IS NULL
               AND (k.expires_at IS NULL OR k.expires_at > ?2)",
        )?
        .query_row(params![&key_hash, now], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                Tenant {
                    org_seq: r.get(2)?,
                    org_id: r.get(3)?,
                    key_seq: r.get(0)?,
                    read_only: r.get(4)?,
                },
            ))
        })
        .optional()?;
    let Some((key_seq, last_used_at, tenant)) = found else {
        return Ok(None);
    };
    if last_used_at.is_none_or(|t| now - t >= LAST_USED_RESOLUTION_MS) {
        // Best effort, and without waiting: while a bulk import holds the
        // write lock, the next request records the use instead.
        let busy_timeout_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        let recorded = conn.execute(
            "UPDATE api_keys SET last_used_at = ?1 WHERE seq = ?2",
            params![now, key_seq],
        );
        conn.busy_timeout(std::time::Duration::from_millis(
            busy_timeout_ms.unsigned_abs(),
        ))?;
        if let Err(e) = recorded {
            tracing::debug!("key use not recorded this time: {e}");
        }
    }
    Ok(Some(tenant))
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyInfo> {
    Ok(KeyInfo {
        id: row.get(0)?,
        prefix: row.get(1)?,
        name: row.get(2)?,
        read_only: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
        last_used_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}
