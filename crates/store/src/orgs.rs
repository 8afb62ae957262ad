//! Organizations: the tenants.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{keys, Error, Result};
use contactsd_domain::{clock, ids};

#[derive(Clone, Debug)]
pub struct Org {
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// Creates an organization and its first API key.
pub(crate) fn create(tx: &Transaction<'_>, name: &str) -> Result<(Org, keys::IssuedKey)> {
    let created_at = clock::now_ms();
    let org = Org {
        seq: 0,
        id: ids::new_id(ids::Kind::Organization, created_at),
        name: name.to_string(),
        created_at,
    };
    tx.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![org.id, org.name, org.created_at],
    )?;
    let org = Org {
        seq: tx.last_insert_rowid(),
        ..org
    };
    let key = keys::issue(tx, org.seq, &keys::KeyOptions::default())?;
    Ok((org, key))
}

/// On a database with no organization, creates `default` with a key.
pub(crate) fn create_default_if_none(
    tx: &Transaction<'_>,
) -> Result<Option<(Org, keys::IssuedKey)>> {
    let any: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM organizations)", [], |r| {
        r.get(0)
    })?;
    if any {
        return Ok(None);
    }
    create(tx, "default").map(Some)
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Org>> {
    let mut stmt =
        conn.prepare("SELECT seq, id, name, created_at FROM organizations ORDER BY seq")?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn find(conn: &Connection, id: &str) -> Result<Org> {
    conn.query_row(
        "SELECT seq, id, name, created_at FROM organizations WHERE id = ?1",
        [id],
        from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("Organization"))
}

/// Renames the organization with public id `id`.
pub(crate) fn rename(tx: &Transaction<'_>, id: &str, name: &str) -> Result<Org> {
    let changed = tx.execute(
        "UPDATE organizations SET name = ?1 WHERE id = ?2",
        params![name, id],
    )?;
    if changed == 0 {
        return Err(Error::NotFound("Organization"));
    }
    find(tx, id)
}

/// What deleting an organization removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub contacts: i64,
    pub audiences: i64,
    pub memberships: i64,
    pub calls: i64,
    pub imports: i64,
    pub keys: i64,
    pub webhooks: i64,
    pub do_not_call: i64,
}

/// Deletes the organization with public id `id` and everything it owns,
/// in the caller's one transaction: what went.
pub(crate) fn delete(tx: &Transaction<'_>, id: &str) -> Result<Removed> {
    let org = find(tx, id)?;
    let count = |sql: &str| -> Result<i64> { Ok(tx.query_row(sql, [org.seq], |r| r.get(0))?) };
    let removed = Removed {
        contacts: count("SELECT count(*) FROM contacts WHERE org_seq = ?1")?,
        audiences: count("SELECT count(*) FROM audiences WHERE org_seq = ?1")?,
        memberships: count(
            "SELECT count(*) FROM audience_members m JOIN audiences a ON a.seq = m.audience_seq
             WHERE a.org_seq = ?1",
        )?,
        calls: count("SELECT count(*) FROM calls WHERE org_seq = ?1")?,
        imports: count("SELECT count(*) FROM imports WHERE org_seq = ?1")?,
        keys: count("SELECT count(*) FROM api_keys WHERE org_seq = ?1")?,
        webhooks: count("SELECT count(*) FROM webhooks WHERE org_seq = ?1")?,
        do_not_call: count("SELECT count(*) FROM do_not_call WHERE org_seq = ?1")?,
    };
    // The declared indexes' rows carry no foreign key: their triggers could
    // fire after the declarations themselves are gone.
    tx.execute("DELETE FROM metadata_values WHERE org_seq = ?1", [org.seq])?;
    tx.execute("DELETE FROM name_order WHERE org_seq = ?1", [org.seq])?;
    // Everything else goes with the organization (ON DELETE CASCADE); the
    // contacts' triggers take them out of the search index.
    tx.execute("DELETE FROM organizations WHERE seq = ?1", [org.seq])?;
    Ok(removed)
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        seq: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        created_at: row.get(3)?,
    })
}
