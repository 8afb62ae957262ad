//! Call records. They hold a snapshot of the contact (id, name, phone) and
//! no foreign key to it, so deleting the contact leaves them unchanged.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::{contacts, Error, Result, Tenant};
use contactsd_domain::ids::Kind;
use contactsd_domain::{CallDirection, CallStatus, Metadata, Name, NewCall, PhoneNumber};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    pub contact_id: String,
    pub contact_name: Name,
    pub phone: PhoneNumber,
    pub status: CallStatus,
    pub direction: CallDirection,
    pub started_at: i64,
    pub duration_seconds: Option<i64>,
    pub metadata: Metadata,
    pub created_at: i64,
}

pub(super) const COLUMNS: &str =
    "id, contact_id, contact_name, phone, status, direction, started_at, \
                       duration_seconds, metadata, created_at";

pub(super) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Call> {
    let status: String = row.get(4)?;
    let direction: String = row.get(5)?;
    Ok(Call {
        id: row.get(0)?,
        contact_id: row.get(1)?,
        contact_name: Name::from_stored(row.get(2)?),
        phone: PhoneNumber::from_stored(row.get(3)?),
        status: CallStatus::parse(&status).ok_or_else(|| stored_enum(4, &status))?,
        direction: CallDirection::parse(&direction).ok_or_else(|| stored_enum(5, &direction))?,
        started_at: row.get(6)?,
        duration_seconds: row.get(7)?,
        metadata: Metadata::from_stored(row.get(8)?),
        created_at: row.get(9)?,
    })
}

/// A stored status or direction this version does not know: a fault.
fn stored_enum(column: usize, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unknown stored value {text:?}").into(),
    )
}

/// Records a call against one of the tenant's contacts (`NotFound` when it
/// is unknown), snapshotting the contact's name and phone number.
pub(crate) fn insert(tx: &Transaction<'_>, tenant: &Tenant, new: NewCall) -> Result<Call> {
    let contact = contacts::get(tx, tenant, &new.contact_id)?;
    let (now, id) = super::next_created(tx, "calls", Kind::Call, tenant)?;
    let call = Call {
        id,
        contact_id: contact.id,
        contact_name: contact.name,
        phone: contact.phone,
        status: new.status,
        direction: new.direction,
        started_at: new.started_at.unwrap_or(now),
        duration_seconds: new.duration_seconds,
        metadata: new.metadata,
        created_at: now,
    };
    tx.execute(
        &format!(
            "INSERT INTO calls ({COLUMNS}, org_seq, change_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                     (SELECT change_seq + 1 FROM organizations WHERE seq = ?11))"
        ),
        params![
            call.id,
            call.contact_id,
            call.contact_name.as_str(),
            call.phone.as_str(),
            call.status.as_str(),
            call.direction.as_str(),
            call.started_at,
            call.duration_seconds,
            call.metadata.as_str(),
            call.created_at,
            tenant.org_seq
        ],
    )?;
    Ok(call)
}

pub(crate) fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Call> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1 AND org_seq = ?2"),
        params![id, tenant.org_seq],
        from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("Call"))
}

/// A page of the tenant's calls, newest first, optionally of one contact.
pub(crate) fn list(
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
