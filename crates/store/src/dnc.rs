//! Each organization's do-not-call list (migration 12) and calling hours
//! (migration 13).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Error, Result, Tenant};
use contactsd_domain::hours::CallingHours;
use contactsd_domain::{clock, PhoneNumber};

/// One listed number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub phone: String,
    pub reason: Option<String>,
    pub source: Option<String>,
    pub created_at: i64,
}

/// What an add did: how many numbers were listed now, and how many were
/// listed already (their entries are left as they were).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Added {
    pub added: usize,
    pub already_listed: usize,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        phone: row.get(0)?,
        reason: row.get(1)?,
        source: row.get(2)?,
        created_at: row.get(3)?,
    })
}

/// Lists `numbers` with `reason` and `source`; a number listed already
/// keeps its entry (and counts as `already_listed`), as does a repeat.
pub(crate) fn add(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    numbers: &[PhoneNumber],
    reason: Option<&str>,
    source: Option<&str>,
) -> Result<Added> {
    let now = clock::now_ms();
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO do_not_call (org_seq, phone, reason, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // The contact with the number, if any, is marked listed (migration 14).
    let mut mark = tx.prepare_cached(
        "UPDATE contacts SET dnc_listed = 1 WHERE org_seq = ?1 AND phone = ?2 AND dnc_listed = 0",
    )?;
    let mut added = Added::default();
    for number in numbers {
        if insert.execute(params![
            tenant.org_seq,
            number.as_str(),
            reason,
            source,
            now
        ])? == 1
        {
            mark.execute(params![tenant.org_seq, number.as_str()])?;
            added.added += 1;
        } else {
            added.already_listed += 1;
        }
    }
    Ok(added)
}

pub(crate) fn get(conn: &Connection, tenant: &Tenant, number: &PhoneNumber) -> Result<Entry> {
    conn.prepare_cached(
        "SELECT phone, reason, source, created_at FROM do_not_call
         WHERE org_seq = ?1 AND phone = ?2",
    )?
    .query_row(params![tenant.org_seq, number.as_str()], from_row)
    .optional()?
    .ok_or(Error::NotFound("Do-not-call entry"))
}

pub(crate) fn remove(tx: &Transaction<'_>, tenant: &Tenant, number: &PhoneNumber) -> Result<()> {
    let removed = tx
        .prepare_cached("DELETE FROM do_not_call WHERE org_seq = ?1 AND phone = ?2")?
        .execute(params![tenant.org_seq, number.as_str()])?;
    if removed == 0 {
        return Err(Error::NotFound("Do-not-call entry"));
    }
    tx.prepare_cached("UPDATE contacts SET dnc_listed = 0 WHERE org_seq = ?1 AND phone = ?2")?
        .execute(params![tenant.org_seq, number.as_str()])?;
    Ok(())
}

/// A page of the list, newest first, and its total; `digits` keeps the
/// numbers whose digits contain them.
pub(crate) fn list(
    conn: &Connection,
    tenant: &Tenant,
    digits: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Entry>, i64)> {
    let pattern = digits.map(|d| format!("%{d}%"));
    let total = conn
        .prepare_cached(
            "SELECT count(*) FROM do_not_call
             WHERE org_seq = ?1 AND (?2 IS NULL OR phone LIKE ?2)",
        )?
        .query_row(params![tenant.org_seq, pattern], |r| r.get(0))?;
    let rows = conn
        .prepare_cached(
            "SELECT phone, reason, source, created_at FROM do_not_call
             WHERE org_seq = ?1 AND (?2 IS NULL OR phone LIKE ?2)
             ORDER BY created_at DESC, phone DESC LIMIT ?3 OFFSET ?4",
        )?
        .query_map(params![tenant.org_seq, pattern, limit, offset], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// The organization's calling hours.
pub(crate) fn calling_hours(conn: &Connection, tenant: &Tenant) -> Result<CallingHours> {
    Ok(conn
        .prepare_cached(
            "SELECT calling_start, calling_end, calling_days FROM organizations WHERE seq = ?1",
        )?
        .query_row([tenant.org_seq], |r| {
            Ok(CallingHours {
                start: r.get(0)?,
                end: r.get(1)?,
                days: r.get(2)?,
            })
        })?)
}

/// Stores the organization's calling hours.
pub(crate) fn set_calling_hours(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    hours: CallingHours,
) -> Result<CallingHours> {
    tx.prepare_cached(
        "UPDATE organizations SET calling_start = ?2, calling_end = ?3, calling_days = ?4 WHERE seq = ?1",
    )?
    .execute(params![tenant.org_seq, hours.start, hours.end, hours.days])?;
    calling_hours(tx, tenant)
}
