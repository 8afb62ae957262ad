//! Indexes an organization declares (migration 5): `name` for `sort=name`,
//! and `metadata.KEY` for `metadata.KEY=VALUE` filters. Declaring one fills
//! it from the organization's contacts; triggers keep it exact from then
//! on; only the declaring organization's writes pay for it.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Error, Result, Tenant};
use contactsd_domain::clock;

/// A declarable index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexField {
    Name,
    Metadata(String),
}

impl IndexField {
    /// `name` or `metadata.KEY`, as the API names it.
    pub fn as_text(&self) -> String {
        match self {
            IndexField::Name => String::from("name"),
            IndexField::Metadata(key) => format!("metadata.{key}"),
        }
    }

    fn kind_and_key(&self) -> (&'static str, &str) {
        match self {
            IndexField::Name => ("name", ""),
            IndexField::Metadata(key) => ("metadata", key),
        }
    }
}

/// A declared index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredIndex {
    pub field: IndexField,
    pub created_at: i64,
}

/// What a listing's planner needs to know of an organization's indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    pub name: bool,
    pub metadata: Vec<String>,
}

impl Declared {
    pub(crate) fn has_metadata(&self, key: &str) -> bool {
        self.metadata.iter().any(|k| k == key)
    }
}

/// The JSON path of a top-level metadata key (declared keys hold no `"`,
/// `\` or control character, so quoting is exact).
pub(crate) fn metadata_path(key: &str) -> String {
    format!("$.\"{key}\"")
}

/// The tenant's declared indexes, oldest first.
pub(crate) fn list(conn: &Connection, tenant: &Tenant) -> Result<Vec<DeclaredIndex>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, key, created_at FROM declared_indexes WHERE org_seq = ?1 AND ready
         ORDER BY created_at, kind, key",
    )?;
    let rows = stmt.query_map([tenant.org_seq], |r| {
        let kind: String = r.get(0)?;
        let key: String = r.get(1)?;
        Ok(DeclaredIndex {
            field: if kind == "name" {
                IndexField::Name
            } else {
                IndexField::Metadata(key)
            },
            created_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What the planner needs, in one small read.
pub(crate) fn declared(conn: &Connection, tenant: &Tenant) -> Result<Declared> {
    let mut declared = Declared::default();
    for index in list(conn, tenant)? {
        match index.field {
            IndexField::Name => declared.name = true,
            IndexField::Metadata(key) => declared.metadata.push(key),
        }
    }
    Ok(declared)
}

/// Contacts one fill transaction reads: short enough that other writers
/// wait milliseconds, not seconds.
const FILL_BATCH: i64 = 20_000;

/// The first step of a declaration: `Ready` when `field` is declared and
/// filled already (nothing changes), else `Fill` (declared now, or left
/// unfilled by a stop) with its creation time.
pub(crate) enum Declaration {
    Ready(DeclaredIndex),
    /// To fill; `true` when declared by this call.
    Fill(DeclaredIndex, bool),
}

/// Declares `field` (not ready yet): from this commit on, the triggers keep
/// it current for every write while [`fill_batch`] fills it.
pub(crate) fn declare(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    field: &IndexField,
) -> Result<Declaration> {
    let (kind, key) = field.kind_and_key();
    let existing: Option<(i64, bool)> = tx
        .prepare_cached(
            "SELECT created_at, ready FROM declared_indexes
             WHERE org_seq = ?1 AND kind = ?2 AND key = ?3",
        )?
        .query_row(params![tenant.org_seq, kind, key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let index = |created_at| DeclaredIndex {
        field: field.clone(),
        created_at,
    };
    match existing {
        Some((created_at, true)) => Ok(Declaration::Ready(index(created_at))),
        Some((created_at, false)) => Ok(Declaration::Fill(index(created_at), false)),
        None => {
            let created_at = clock::now_ms();
            tx.execute(
                "INSERT INTO declared_indexes (org_seq, kind, key, created_at, ready)
                 VALUES (?1, ?2, ?3, ?4, 0)",
                params![tenant.org_seq, kind, key, created_at],
            )?;
            Ok(Declaration::Fill(index(created_at), true))
        }
    }
}

/// Fills `field` from the organization's contacts with row numbers after
/// `after`, at most [`FILL_BATCH`] of them; the last row number read, or
/// `None` when none was left (then the index is marked ready).
pub(crate) fn fill_batch(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    field: &IndexField,
    after: i64,
) -> Result<Option<i64>> {
    let last: Option<i64> = tx
        .prepare_cached(
            "SELECT max(seq) FROM (SELECT seq FROM contacts
             WHERE org_seq = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)",
        )?
        .query_row(params![tenant.org_seq, after, FILL_BATCH], |r| r.get(0))?;
    let Some(last) = last else {
        let (kind, key) = field.kind_and_key();
        tx.execute(
            "UPDATE declared_indexes SET ready = 1 WHERE org_seq = ?1 AND kind = ?2 AND key = ?3",
            params![tenant.org_seq, kind, key],
        )?;
        return Ok(None);
    };
    match field {
        IndexField::Name => tx.execute(
            "INSERT OR IGNORE INTO name_order (org_seq, name_key, id, contact_seq)
             SELECT org_seq, name_key, id, seq FROM contacts
             WHERE org_seq = ?1 AND seq > ?2 AND seq <= ?3",
            params![tenant.org_seq, after, last],
        )?,
        IndexField::Metadata(key) => tx.execute(
            "INSERT OR IGNORE INTO metadata_values (org_seq, key, value, contact_seq)
             SELECT org_seq, ?2, metadata -> ?3, seq FROM contacts
             WHERE org_seq = ?1 AND seq > ?4 AND seq <= ?5 AND (metadata -> ?3) IS NOT NULL",
            params![tenant.org_seq, key, metadata_path(key), after, last],
        )?,
    };
    Ok(Some(last))
}

/// Drops a declared index (`NotFound` when it is not declared).
pub(crate) fn drop_index(tx: &Transaction<'_>, tenant: &Tenant, field: &IndexField) -> Result<()> {
    let (kind, key) = field.kind_and_key();
    let removed = tx.execute(
        "DELETE FROM declared_indexes WHERE org_seq = ?1 AND kind = ?2 AND key = ?3",
        params![tenant.org_seq, kind, key],
    )?;
    if removed == 0 {
        return Err(Error::NotFound("Index"));
    }
    match field {
        IndexField::Name => tx.execute(
            "DELETE FROM name_order WHERE org_seq = ?1",
            [tenant.org_seq],
        )?,
        IndexField::Metadata(key) => tx.execute(
            "DELETE FROM metadata_values WHERE org_seq = ?1 AND key = ?2",
            params![tenant.org_seq, key],
        )?,
    };
    Ok(())
}
