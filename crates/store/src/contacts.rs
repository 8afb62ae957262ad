//! Contacts: one row per phone number per organization.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{is_unique_violation, Error, Result, Tenant};
use contactsd_domain::ids::{self, Kind};
use contactsd_domain::listing::RowKey;
use contactsd_domain::{clock, search};
use contactsd_domain::{
    BulkItem, ContactFields, FieldError, Language, Metadata, Name, NewContact, PhoneNumber,
};
use serde_json::Value;

/// A stored contact, its values in the types that parsed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The row number: internal, never shown.
    pub(crate) seq: i64,
    pub id: String,
    pub name: Name,
    pub phone: PhoneNumber,
    pub language: Option<Language>,
    pub metadata: Metadata,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Contact {
    /// What the contact's place in a listing's order depends on.
    pub(crate) fn row_key(&self) -> RowKey<'_> {
        RowKey {
            id: &self.id,
            name: self.name.as_str(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The columns [`from_row`] reads, for a table aliased `c`.
pub(super) const COLUMNS: &str =
    "c.seq, c.id, c.name, c.phone, c.language, c.metadata, c.created_at, c.updated_at";

pub(super) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        seq: row.get(0)?,
        id: row.get(1)?,
        name: Name::from_stored(row.get(2)?),
        phone: PhoneNumber::from_stored(row.get(3)?),
        language: row.get::<_, Option<String>>(4)?.map(Language::from_stored),
        metadata: Metadata::from_stored(row.get(5)?),
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// Hands out row numbers, creation times and ids for new contacts, so that
/// in each organization `created_at` never decreases as the row number
/// grows (even if the clock steps back) and ids sort as row numbers do:
/// then `(created_at, id)` order is row-number order, which the search
/// index (keyed by row number) can page through directly.
pub(crate) struct NewRows {
    first_seq: i64,
    next_seq: i64,
    next_counter: u64,
    last_created_at: i64,
}

impl NewRows {
    /// Must run inside the write transaction that inserts the rows.
    pub(crate) fn start(tx: &Transaction<'_>, tenant: &Tenant) -> Result<NewRows> {
        let next_seq = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM contacts")?
            .query_row([], |r| r.get(0))?;
        let newest = super::newest(tx, "contacts", tenant)?;
        Ok(NewRows {
            first_seq: next_seq,
            next_seq,
            next_counter: ids::next_counter(Kind::Contact, newest.as_ref().map(|n| n.1.as_str())),
            last_created_at: newest.map_or(i64::MIN, |n| n.0),
        })
    }

    /// Counts the rows created through this in `callable_counts`
    /// (migration 14): once for the whole batch, from the range of row
    /// numbers it handed out, instead of a trigger's statement for every
    /// row. Must run in the same transaction, after the last insert.
    pub(crate) fn finish(self, tx: &Transaction<'_>) -> Result<()> {
        if self.next_seq > self.first_seq {
            tx.prepare_cached(
                "INSERT INTO callable_counts (org_seq, zone_set, dnc_listed, contacts)
                 SELECT org_seq, zone_set, dnc_listed, count(*) FROM contacts
                 WHERE seq >= ?1 AND seq < ?2 GROUP BY 1, 2, 3
                 ON CONFLICT DO UPDATE SET contacts = contacts + excluded.contacts",
            )?
            .execute(params![self.first_seq, self.next_seq])?;
        }
        Ok(())
    }

    /// The next row's number, creation time and id.
    fn next(&mut self) -> (i64, i64, String) {
        let created_at = clock::now_ms().max(self.last_created_at);
        self.last_created_at = created_at;
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = ids::ordered_id(Kind::Contact, created_at, self.next_counter);
        self.next_counter += 1;
        (seq, created_at, id)
    }
}

/// Creates a contact; `PhoneTaken` when the number is in use.
pub(crate) fn insert(tx: &Transaction<'_>, tenant: &Tenant, new: NewContact) -> Result<Contact> {
    let mut rows = NewRows::start(tx, tenant)?;
    let (seq, now, id) = rows.next();
    let contact = Contact {
        seq,
        id,
        name: new.name,
        phone: new.phone,
        language: new.language,
        metadata: new.metadata,
        created_at: now,
        updated_at: now,
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO contacts (seq, id, org_seq, name, name_key, initials, phone, language,
                               metadata, created_at, updated_at, change_seq, zone_set, dnc_listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10,
                 (SELECT change_seq + 1 FROM organizations WHERE seq = ?3), ?11,
                 EXISTS (SELECT 1 FROM do_not_call WHERE org_seq = ?3 AND phone = ?7))",
    )?;
    let inserted = stmt.execute(params![
        contact.seq,
        contact.id,
        tenant.org_seq,
        contact.name.as_str(),
        search::sort_key(contact.name.as_str()),
        search::initials(contact.name.as_str()),
        contact.phone.as_str(),
        contact.language.as_ref().map(Language::as_str),
        contact.metadata.as_str(),
        now,
        contact.phone.zones().number()
    ]);
    match inserted {
        Ok(_) => {
            rows.finish(tx)?;
            Ok(contact)
        }
        Err(e) if is_unique_violation(&e) => match id_by_phone(tx, tenant, &contact.phone)? {
            Some(contact_id) => Err(Error::PhoneTaken {
                phone: contact.phone.into_string(),
                contact_id,
            }),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn id_by_phone(conn: &Connection, tenant: &Tenant, phone: &PhoneNumber) -> Result<Option<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM contacts WHERE org_seq = ?1 AND phone = ?2")?;
    Ok(stmt
        .query_row(params![tenant.org_seq, phone.as_str()], |r| r.get(0))
        .optional()?)
}

/// The contact with public id `id` in the tenant's organization.
pub(crate) fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Contact> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contacts c WHERE c.id = ?1 AND c.org_seq = ?2"
    ))?;
    stmt.query_row(params![id, tenant.org_seq], from_row)
        .optional()?
        .ok_or(Error::NotFound("Contact"))
}

fn by_phone(conn: &Connection, tenant: &Tenant, phone: &PhoneNumber) -> Result<Option<Contact>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contacts c WHERE c.org_seq = ?1 AND c.phone = ?2"
    ))?;
    Ok(stmt
        .query_row(params![tenant.org_seq, phone.as_str()], from_row)
        .optional()?)
}

/// Applies `fields` to the contact. A change that leaves every value as it
/// was writes nothing and keeps `updatedAt`.
pub(crate) fn update(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    id: &str,
    fields: ContactFields,
) -> Result<Contact> {
    let current = get(tx, tenant, id)?;
    let next = Contact {
        name: fields.name.unwrap_or_else(|| current.name.clone()),
        phone: fields.phone.unwrap_or_else(|| current.phone.clone()),
        language: fields.language.unwrap_or_else(|| current.language.clone()),
        metadata: fields.metadata.unwrap_or_else(|| current.metadata.clone()),
        ..current.clone()
    };
    if next.phone != current.phone {
        if let Some(contact_id) = id_by_phone(tx, tenant, &next.phone)? {
            return Err(Error::PhoneTaken {
                phone: next.phone.into_string(),
                contact_id,
            });
        }
    }
    if next == current {
        return Ok(current);
    }
    let updated_at = clock::now_ms().max(current.updated_at + 1);
    let mut stmt = tx.prepare_cached(
        "UPDATE contacts SET name = ?1, name_key = ?2, initials = ?3, phone = ?4, language = ?5,
                             metadata = ?6, updated_at = ?7,
                             change_seq = (SELECT change_seq + 1 FROM organizations WHERE seq = ?9),
                             zone_set = ?10,
                             dnc_listed = EXISTS (SELECT 1 FROM do_not_call
                                                  WHERE org_seq = ?9 AND phone = ?4)
         WHERE seq = ?8 AND org_seq = ?9",
    )?;
    stmt.execute(params![
        next.name.as_str(),
        search::sort_key(next.name.as_str()),
        search::initials(next.name.as_str()),
        next.phone.as_str(),
        next.language.as_ref().map(Language::as_str),
        next.metadata.as_str(),
        updated_at,
        current.seq,
        tenant.org_seq,
        next.phone.zones().number()
    ])?;
    Ok(Contact { updated_at, ..next })
}

/// Whether a bulk item created a contact or updated an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Creates the item's contact, or updates the one with its phone number:
/// `name` always, `language` and `metadata` only when the item carries them.
///
/// One `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement does either
/// with a single probe of the phone index; its `WHERE` skips updates that
/// would change nothing, so those keep `updated_at` (and are read back).
pub(crate) fn upsert(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    rows: &mut NewRows,
    item: &BulkItem,
) -> Result<(Contact, Upserted)> {
    let (seq, now, id) = rows.next();
    let (has_language, language) = match &item.language {
        None => (false, None),
        Some(language) => (true, language.as_ref().map(Language::as_str)),
    };
    let (has_metadata, metadata) = match &item.metadata {
        None => (false, "{}"),
        Some(metadata) => (true, metadata.as_str()),
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO contacts (id, org_seq, name, phone, language, metadata, created_at, updated_at,
                               name_key, initials, seq, change_seq, zone_set, dnc_listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?10, ?11, ?12,
                 (SELECT change_seq + 1 FROM organizations WHERE seq = ?2), ?13,
                 EXISTS (SELECT 1 FROM do_not_call WHERE org_seq = ?2 AND phone = ?4))
         ON CONFLICT (org_seq, phone) DO UPDATE SET
             change_seq = excluded.change_seq,
             name = excluded.name,
             name_key = excluded.name_key,
             initials = excluded.initials,
             language = CASE WHEN ?8 THEN excluded.language ELSE language END,
             metadata = CASE WHEN ?9 THEN excluded.metadata ELSE metadata END,
             updated_at = max(excluded.updated_at, updated_at + 1)
         WHERE name IS NOT excluded.name
            OR (?8 AND language IS NOT excluded.language)
            OR (?9 AND metadata IS NOT excluded.metadata)
         RETURNING seq, id, name, phone, language, metadata, created_at, updated_at",
    )?;
    let written = stmt
        .query_row(
            params![
                id,
                tenant.org_seq,
                item.name.as_str(),
                item.phone.as_str(),
                language,
                metadata,
                now,
                has_language,
                has_metadata,
                search::sort_key(item.name.as_str()),
                search::initials(item.name.as_str()),
                seq,
                item.phone.zones().number()
            ],
            from_row,
        )
        .optional()?;
    match written {
        Some(contact) if contact.id == id => Ok((contact, Upserted::Created)),
        Some(contact) => Ok((contact, Upserted::Updated)),
        // The stored row already held these values.
        None => by_phone(tx, tenant, &item.phone)?
            .map(|contact| (contact, Upserted::Updated))
            .ok_or(Error::NotFound("Contact")),
    }
}

/// `item` with its metadata merged into the stored contact's of the same
/// phone number (an import's `metadataMode: merge`): the item's top-level
/// keys replace the same keys, the stored object's others stay, in their
/// order, every number to its last digit. The item alone when no contact
/// has the number or the item carries no metadata; a field error when the
/// merged object breaks the metadata limits.
pub(crate) fn merge_metadata(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    mut item: BulkItem,
) -> Result<std::result::Result<BulkItem, FieldError>> {
    let Some(metadata) = &item.metadata else {
        return Ok(Ok(item));
    };
    let stored: Option<String> = tx
        .prepare_cached("SELECT metadata FROM contacts WHERE org_seq = ?1 AND phone = ?2")?
        .query_row(params![tenant.org_seq, item.phone.as_str()], |r| r.get(0))
        .optional()?;
    let Some(stored) = stored else {
        return Ok(Ok(item));
    };
    let parse = |text: &str| serde_json::from_str::<serde_json::Map<String, Value>>(text);
    let (Ok(mut merged), Ok(changes)) = (parse(&stored), parse(metadata.as_str())) else {
        return Ok(Ok(item));
    };
    for (key, value) in changes {
        merged.insert(key, value);
    }
    match Metadata::from_json("metadata", &Value::Object(merged)) {
        Ok(merged) => {
            item.metadata = Some(merged);
            Ok(Ok(item))
        }
        Err(error) => Ok(Err(error)),
    }
}

/// Deletes the contact; its memberships go with it (foreign-key cascade),
/// its call records stay.
pub(crate) fn delete(tx: &Transaction<'_>, tenant: &Tenant, id: &str) -> Result<()> {
    if delete_many(tx, tenant, &[id.to_string()])? == 0 {
        return Err(Error::NotFound("Contact"));
    }
    Ok(())
}

/// Deletes the tenant's contacts among `ids`, ignoring the rest; how many
/// rows went. Its memberships go first (each leaves a tombstone in the
/// changes feed, which needs the contact's id), and each audience that
/// loses a member changes: its count and `updated_at`.
pub(crate) fn delete_many(tx: &Transaction<'_>, tenant: &Tenant, ids: &[String]) -> Result<usize> {
    let now = clock::now_ms();
    let mut find = tx.prepare_cached("SELECT seq FROM contacts WHERE id = ?1 AND org_seq = ?2")?;
    let mut audiences_of =
        tx.prepare_cached("SELECT audience_seq FROM audience_members WHERE contact_seq = ?1")?;
    let mut leave = tx.prepare_cached("DELETE FROM audience_members WHERE contact_seq = ?1")?;
    let mut delete = tx.prepare_cached("DELETE FROM contacts WHERE seq = ?1")?;
    let mut deleted = 0;
    for id in ids {
        let Some(seq) = find
            .query_row(params![id, tenant.org_seq], |r| r.get::<_, i64>(0))
            .optional()?
        else {
            continue;
        };
        let audiences = audiences_of
            .query_map([seq], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        if !audiences.is_empty() {
            leave.execute([seq])?;
            for audience in audiences {
                super::audiences::changed(tx, tenant, audience, now)?;
            }
        }
        deleted += delete.execute([seq])?;
    }
    Ok(deleted)
}

/// The row numbers of the tenant's contacts `ids`, or `MissingContacts`
/// naming every id that is unknown (or another organization's).
pub(crate) fn seqs_of(conn: &Connection, tenant: &Tenant, ids: &[String]) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq FROM contacts WHERE id = ?1 AND org_seq = ?2")?;
    let mut seqs = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        match stmt
            .query_row(params![id, tenant.org_seq], |r| r.get::<_, i64>(0))
            .optional()?
        {
            Some(seq) => seqs.push(seq),
            None => missing.push(id.clone()),
        }
    }
    if missing.is_empty() {
        Ok(seqs)
    } else {
        Err(Error::MissingContacts(missing))
    }
}
