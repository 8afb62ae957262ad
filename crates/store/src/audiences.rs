//! Audiences and their members. `contact_count` is kept exact by triggers
//! on `audience_members`, whatever removes a membership (a remove call, a
//! contact delete, a bulk delete, the audience's own delete).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::contacts::seqs_of;
use super::{Error, Result, Tenant};
use contactsd_domain::ids::Kind;
use contactsd_domain::{clock, search};
use contactsd_domain::{AudienceFields, Name};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    pub(crate) seq: i64,
    pub id: String,
    pub name: Name,
    pub description: Option<String>,
    pub contact_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(super) const COLUMNS: &str =
    "seq, id, name, description, contact_count, created_at, updated_at";

pub(super) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Audience> {
    Ok(Audience {
        seq: row.get(0)?,
        id: row.get(1)?,
        name: Name::from_stored(row.get(2)?),
        description: row.get(3)?,
        contact_count: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

pub(crate) fn insert(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    name: Name,
    description: Option<String>,
) -> Result<Audience> {
    let (now, id) = super::next_created(tx, "audiences", Kind::Audience, tenant)?;
    tx.execute(
        "INSERT INTO audiences (id, org_seq, name, name_key, description, created_at, updated_at,
                                change_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, (SELECT change_seq + 1 FROM organizations WHERE seq = ?2))",
        params![
            id,
            tenant.org_seq,
            name.as_str(),
            search::sort_key(name.as_str()),
            description,
            now
        ],
    )?;
    Ok(Audience {
        seq: tx.last_insert_rowid(),
        id,
        name,
        description,
        contact_count: 0,
        created_at: now,
        updated_at: now,
    })
}

pub(crate) fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Audience> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audiences WHERE id = ?1 AND org_seq = ?2"
    ))?;
    stmt.query_row(params![id, tenant.org_seq], from_row)
        .optional()?
        .ok_or(Error::NotFound("Audience"))
}

/// Applies `fields`; a change to nothing writes nothing.
pub(crate) fn update(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    id: &str,
    fields: AudienceFields,
) -> Result<Audience> {
    let current = get(tx, tenant, id)?;
    let next = Audience {
        name: fields.name.unwrap_or_else(|| current.name.clone()),
        description: fields
            .description
            .unwrap_or_else(|| current.description.clone()),
        ..current.clone()
    };
    if next == current {
        return Ok(current);
    }
    let updated_at = clock::now_ms().max(current.updated_at + 1);
    tx.execute(
        "UPDATE audiences SET name = ?1, name_key = ?2, description = ?3, updated_at = ?4,
                              change_seq = (SELECT change_seq + 1 FROM organizations WHERE seq = ?6)
         WHERE seq = ?5 AND org_seq = ?6",
        params![
            next.name.as_str(),
            search::sort_key(next.name.as_str()),
            next.description,
            updated_at,
            current.seq,
            tenant.org_seq
        ],
    )?;
    Ok(Audience { updated_at, ..next })
}

/// Deletes the audience and its memberships; the contacts stay. The
/// memberships go first, so each leaves a tombstone naming both ids.
pub(crate) fn delete(tx: &Transaction<'_>, tenant: &Tenant, id: &str) -> Result<()> {
    let audience = get(tx, tenant, id)?;
    tx.execute(
        "DELETE FROM audience_members WHERE audience_seq = ?1",
        [audience.seq],
    )?;
    tx.execute("DELETE FROM audiences WHERE seq = ?1", [audience.seq])?;
    Ok(())
}

/// Records that audience `audience_seq` changed at `now` through its
/// members (its count is part of it): `updated_at` moves forward and it
/// takes the organization's next change number.
pub(crate) fn changed(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    audience_seq: i64,
    now: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE audiences SET updated_at = max(updated_at + 1, ?1),
             change_seq = (SELECT change_seq + 1 FROM organizations WHERE seq = ?3)
         WHERE seq = ?2 AND org_seq = ?3",
    )?
    .execute(params![now, audience_seq, tenant.org_seq])?;
    Ok(())
}

/// A page of the tenant's audiences, newest first, whose names contain
/// every term (case-insensitively), with the exact total.
/// Which audiences a listing keeps.
#[derive(Clone, Debug, Default)]
pub struct AudienceFilter {
    /// Every term must be in the name (case-insensitively).
    pub terms: Vec<String>,
    /// Only audiences this contact (the organization's) is a member of.
    pub contact_id: Option<String>,
}

pub(crate) fn list(
    conn: &Connection,
    tenant: &Tenant,
    keep: &AudienceFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Audience>, i64)> {
    let mut filter = String::from("org_seq = ?");
    let mut args: Vec<SqlValue> = vec![tenant.org_seq.into()];
    for term in &keep.terms {
        filter.push_str(" AND instr(name_key, ?) > 0");
        args.push(search::sort_key(term).into());
    }
    if let Some(contact_id) = &keep.contact_id {
        filter.push_str(
            " AND seq IN (SELECT m.audience_seq FROM audience_members m
                          JOIN contacts c ON c.seq = m.contact_seq
                          WHERE c.id = ? AND c.org_seq = ?)",
        );
        args.push(contact_id.clone().into());
        args.push(tenant.org_seq.into());
    }
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM audiences WHERE {filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    args.push(limit.into());
    args.push(offset.into());
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audiences WHERE {filter}
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), from_row)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, total))
}

/// What an add or remove did: how many memberships changed, and the
/// audience's member count after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipChange {
    pub audience_id: String,
    pub changed: usize,
    pub contact_count: i64,
}

/// Adds contacts to the audience. Unknown audience: `NotFound`; any unknown
/// contact: `MissingContacts` and nothing added. Re-adding is a no-op.
pub(crate) fn add_members(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    audience_id: &str,
    contact_ids: &[String],
) -> Result<MembershipChange> {
    change_members(tx, tenant, audience_id, contact_ids, Change::Add)
}

/// Removes contacts from the audience, with the same rules as
/// [`add_members`]; a known contact that is not a member is a no-op.
pub(crate) fn remove_members(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    audience_id: &str,
    contact_ids: &[String],
) -> Result<MembershipChange> {
    change_members(tx, tenant, audience_id, contact_ids, Change::Remove)
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

fn change_members(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    audience_id: &str,
    contact_ids: &[String],
    change: Change,
) -> Result<MembershipChange> {
    let audience = get(tx, tenant, audience_id)?;
    let seqs = seqs_of(tx, tenant, contact_ids)?;
    let now = clock::now_ms();
    let mut changed = 0;
    match change {
        Change::Add => {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO audience_members
                     (audience_seq, contact_seq, added_at, org_seq, change_seq)
                 VALUES (?1, ?2, ?3, ?4, (SELECT change_seq + 1 FROM organizations WHERE seq = ?4))",
            )?;
            for seq in seqs {
                changed += stmt.execute(params![audience.seq, seq, now, tenant.org_seq])?;
            }
        }
        Change::Remove => {
            let mut stmt = tx.prepare_cached(
                "DELETE FROM audience_members WHERE audience_seq = ?1 AND contact_seq = ?2",
            )?;
            for seq in seqs {
                changed += stmt.execute(params![audience.seq, seq])?;
            }
        }
    }
    if changed > 0 {
        self::changed(tx, tenant, audience.seq, now)?;
    }
    let contact_count = tx.query_row(
        "SELECT contact_count FROM audiences WHERE seq = ?1 AND org_seq = ?2",
        params![audience.seq, tenant.org_seq],
        |r| r.get(0),
    )?;
    Ok(MembershipChange {
        audience_id: audience.id,
        changed,
        contact_count,
    })
}
