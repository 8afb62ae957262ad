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
/// wait milliseconds, not seconds. A metadata index also rewrites each
/// contact's search-index entry (about 20 µs a contact), so it takes fewer.
fn fill_batch_size(field: &IndexField) -> i64 {
    match field {
        IndexField::Name => 20_000,
        IndexField::Metadata(_) => 5_000,
    }
}

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

/// Where a fill has got to: the last contact filled, in `(created_at, id)`
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FillCursor {
    created_at: i64,
    id: String,
}

/// Fills `field` from the organization's next contacts after `after` (from
/// the first when `None`), at most [`fill_batch_size`] of them, found by
/// the organization's time index (a seek, however many contacts it has or
/// the file holds); the last contact filled and how many search-index
/// entries were rewritten, or `None` when none was left (then the index is
/// marked ready).
pub(crate) fn fill_batch(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    index: &DeclaredIndex,
    after: Option<&FillCursor>,
) -> Result<Option<(FillCursor, usize)>> {
    let field = &index.field;
    let (kind, key) = field.kind_and_key();
    // Stop when the declaration being filled is gone (dropped, or dropped
    // and declared again, which a fill of its own fills) or filled.
    let filling: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM declared_indexes
                            WHERE org_seq = ?1 AND kind = ?2 AND key = ?3
                              AND created_at = ?4 AND NOT ready)",
        )?
        .query_row(params![tenant.org_seq, kind, key, index.created_at], |r| {
            r.get(0)
        })?;
    if !filling {
        return Ok(None);
    }
    let (after_created_at, after_id) = after.map_or((i64::MIN, ""), |c| (c.created_at, &c.id));
    let mut seqs = Vec::new();
    let mut last: Option<FillCursor> = None;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, created_at, id FROM contacts INDEXED BY contacts_by_created
             WHERE org_seq = ?1 AND (created_at, id) > (?2, ?3)
             ORDER BY created_at, id LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![
            tenant.org_seq,
            after_created_at,
            after_id,
            fill_batch_size(field)
        ])?;
        while let Some(row) = rows.next()? {
            seqs.push(row.get::<_, i64>(0)?);
            last = Some(FillCursor {
                created_at: row.get(1)?,
                id: row.get(2)?,
            });
        }
    }
    let Some(last) = last else {
        tx.execute(
            "UPDATE declared_indexes SET ready = 1 WHERE org_seq = ?1 AND kind = ?2 AND key = ?3",
            params![tenant.org_seq, kind, key],
        )?;
        // Every entry is rewritten now: none holds an older tag of the key.
        tx.execute(
            "DELETE FROM retired_tag_keys WHERE org_seq = ?1 AND key = ?2",
            params![tenant.org_seq, key],
        )?;
        return Ok(None);
    };
    // The batch's row numbers, as one JSON array argument.
    let batch = serde_json::to_string(&seqs).unwrap_or_default();
    let rewritten = match field {
        IndexField::Name => {
            tx.execute(
                "INSERT OR IGNORE INTO name_order (org_seq, name_key, id, contact_seq)
             SELECT org_seq, name_key, id, seq FROM contacts
             WHERE seq IN (SELECT value FROM json_each(?1))",
                [&batch],
            )?;
            0
        }
        IndexField::Metadata(key) => {
            tx.execute(
                "INSERT OR IGNORE INTO metadata_values (org_seq, key, value, contact_seq)
                 SELECT org_seq, ?2, metadata -> ?3, seq FROM contacts
                 WHERE seq IN (SELECT value FROM json_each(?1)) AND (metadata -> ?3) IS NOT NULL",
                params![batch, key, metadata_path(key)],
            )?;
            // Only the entries whose tags change: contacts with a value,
            // and every contact when an earlier declaration of the key may
            // have left tags made from older values.
            let retired: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM retired_tag_keys WHERE org_seq = ?1 AND key = ?2)",
                )?
                .query_row(params![tenant.org_seq, key], |r| r.get(0))?;
            let changing: String = tx
                .prepare_cached(
                    "SELECT json_group_array(seq) FROM contacts
                     WHERE seq IN (SELECT value FROM json_each(?1))
                       AND (?2 OR (metadata -> ?3) IS NOT NULL)",
                )?
                .query_row(params![batch, retired, metadata_path(key)], |r| r.get(0))?;
            retag(tx, tenant, &changing)?
        }
    };
    Ok(Some((last, rewritten)))
}

/// One step of merging the search index into one segment again, after a
/// declaration rewrote many of its entries (FTS5's `merge` with a negative
/// page count: an optimize done a little at a time, so other writers go on
/// between steps): rewritten entries left it in many segments, and queries
/// read every segment (three times slower at a million contacts). Whether
/// there was work left.
pub(crate) fn compact_search_index(tx: &Transaction<'_>) -> Result<bool> {
    let before = tx.total_changes();
    tx.execute(
        "INSERT INTO contacts_search (contacts_search, rank) VALUES ('merge', ?1)",
        [-COMPACTION_PAGES],
    )?;
    Ok(tx.total_changes() > before + 1)
}

/// Pages one step of [`compact_search_index`] writes at most.
const COMPACTION_PAGES: i64 = 2000;

/// How many steps of [`compact_search_index`] to take after `rewritten`
/// search-index entries were written again: none when that was under a
/// tenth of the file's contacts (FTS5's own merges take them in as writes
/// go on), else about twice what merging the whole index takes, so that
/// other writers, whose writes start the merge over, cannot keep it going
/// forever.
pub(crate) fn compaction_steps(tx: &Transaction<'_>, rewritten: usize) -> Result<usize> {
    let contacts: i64 = tx
        .prepare_cached("SELECT coalesce(sum(contact_count), 0) FROM organizations")?
        .query_row([], |r| r.get(0))?;
    if i64::try_from(rewritten)
        .unwrap_or(i64::MAX)
        .saturating_mul(10)
        < contacts
    {
        return Ok(0);
    }
    let pages: i64 = tx
        .prepare_cached("SELECT count(*) FROM contacts_search_data")?
        .query_row([], |r| r.get(0))?;
    Ok(usize::try_from(pages / COMPACTION_PAGES * 2 + 4).unwrap_or(4))
}

/// Writes the search-index entries of the organization's contacts in
/// `batch` (a JSON array of row numbers) again, with their tags as the
/// declared indexes now make them (migration 16). Every contact is
/// rewritten, not only those with a value: an entry may still hold a tag
/// of an earlier declaration of the same key, made from older values.
fn retag(tx: &Transaction<'_>, tenant: &Tenant, batch: &str) -> Result<usize> {
    tx.execute(
        "INSERT INTO search_tags (kind, key, value)
         SELECT DISTINCT m.kind, m.key, m.value
         FROM contact_missing_tags m
         WHERE m.seq IN (SELECT value FROM json_each(?1))
           AND NOT EXISTS (SELECT 1 FROM search_tags t
                           WHERE t.kind = m.kind AND t.key = m.key AND t.value = m.value)",
        [batch],
    )?;
    tx.execute(
        "DELETE FROM contacts_search
         WHERE rowid IN (SELECT (?2 << 32) + value FROM json_each(?1))",
        params![batch, tenant.org_seq],
    )?;
    Ok(tx.execute(
        "INSERT INTO contacts_search (rowid, name, phone, initials, tags)
         SELECT (c.org_seq << 32) + c.seq, search_windows(c.org_seq, c.name),
                search_windows(c.org_seq, ltrim(c.phone, '+')),
                search_initials(c.org_seq, c.initials), t.tags
         FROM contacts c JOIN contact_search_tags t ON t.seq = c.seq
         WHERE c.seq IN (SELECT value FROM json_each(?1))",
        [batch],
    )?)
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
        IndexField::Metadata(key) => {
            // Its tags stay in the search index (no listing reads them) and
            // go stale as contacts change; declaring it again rewrites them.
            tx.execute(
                "INSERT OR IGNORE INTO retired_tag_keys (org_seq, key) VALUES (?1, ?2)",
                params![tenant.org_seq, key],
            )?;
            tx.execute(
                "DELETE FROM metadata_values WHERE org_seq = ?1 AND key = ?2",
                params![tenant.org_seq, key],
            )?
        }
    };
    Ok(())
}
