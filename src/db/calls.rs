//! Call records. They hold a snapshot of the contact (id, name, phone) and
//! no foreign key to it, so deleting the contact leaves them unchanged.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::{contacts, Error, Result, Tenant};
use crate::domain::NewCall;
use crate::{clock, ids};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    pub contact_id: String,
    pub contact_name: String,
    pub phone: String,
    pub status: String,
    pub direction: String,
    pub started_at: i64,
    pub duration_seconds: Option<i64>,
    pub metadata: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, contact_id, contact_name, phone, status, direction, started_at, \
                       duration_seconds, metadata, created_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Call> {
    Ok(Call {
        id: row.get(0)?,
        contact_id: row.get(1)?,
        contact_name: row.get(2)?,
        phone: row.get(3)?,
        status: row.get(4)?,
        direction: row.get(5)?,
        started_at: row.get(6)?,
        duration_seconds: row.get(7)?,
        metadata: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// Records a call against one of the tenant's contacts (`NotFound` when it
/// is unknown), snapshotting the contact's name and phone number.
pub fn insert(tx: &Transaction<'_>, tenant: &Tenant, new: NewCall) -> Result<Call> {
    let contact = contacts::get(tx, tenant, &new.contact_id)?;
    let now = clock::now_ms();
    let call = Call {
        id: ids::new_id(ids::Kind::Call),
        contact_id: contact.id,
        contact_name: contact.name,
        phone: contact.phone,
        status: new.status.to_string(),
        direction: new.direction.to_string(),
        started_at: new.started_at.unwrap_or(now),
        duration_seconds: new.duration_seconds,
        metadata: new.metadata.into_string(),
        created_at: now,
    };
    tx.execute(
        &format!(
            "INSERT INTO calls ({COLUMNS}, org_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            call.id,
            call.contact_id,
            call.contact_name,
            call.phone,
            call.status,
            call.direction,
            call.started_at,
            call.duration_seconds,
            call.metadata,
            call.created_at,
            tenant.org_seq
        ],
    )?;
    Ok(call)
}

pub fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Call> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1 AND org_seq = ?2"),
        params![id, tenant.org_seq],
        from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("Call"))
}

/// A page of the tenant's calls, newest first, optionally of one contact.
pub fn list(
    conn: &Connection,
    tenant: &Tenant,
    contact_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Call>, i64)> {
    let mut filter = String::from("org_seq = ?");
    let mut args: Vec<SqlValue> = vec![tenant.org_seq.into()];
    if let Some(contact_id) = contact_id {
        filter.push_str(" AND contact_id = ?");
        args.push(contact_id.to_string().into());
    }
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM calls WHERE {filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    args.push(limit.into());
    args.push(offset.into());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM calls WHERE {filter}
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), from_row)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, total))
}
