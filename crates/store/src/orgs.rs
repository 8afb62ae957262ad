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

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        seq: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        created_at: row.get(3)?,
    })
}
