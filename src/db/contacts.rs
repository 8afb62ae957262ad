//! Contacts: one row per phone number per organization.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::{is_unique_violation, Error, Result, Tenant};
use crate::domain::{BulkItem, ContactFields, NewContact};
use crate::search::{self, SearchPlan};
use crate::{clock, ids};

/// A stored contact, as the API shows it (`metadata` is JSON text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The row number: internal, never shown.
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub phone: String,
    pub language: Option<String>,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "c.seq, c.id, c.name, c.phone, c.language, c.metadata, c.created_at, c.updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        seq: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        phone: row.get(3)?,
        language: row.get(4)?,
        metadata: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// Hands out row numbers and creation times for new contacts, so that in
/// each organization `created_at` never decreases as the row number grows
/// (even if the clock steps back) and ids sort as row numbers do: then
/// `(created_at, id)` order is row-number order, which the search index
/// (keyed by row number) can page through directly.
pub struct NewRows {
    next_seq: i64,
    last_created_at: i64,
}

impl NewRows {
    /// Must run inside the write transaction that inserts the rows.
    pub fn start(tx: &Transaction<'_>, tenant: &Tenant) -> Result<NewRows> {
        let next_seq = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM contacts")?
            .query_row([], |r| r.get(0))?;
        let last_created_at = tx
            .prepare_cached("SELECT coalesce(max(created_at), 0) FROM contacts WHERE org_seq = ?1")?
            .query_row([tenant.org_seq], |r| r.get(0))?;
        Ok(NewRows {
            next_seq,
            last_created_at,
        })
    }

    /// The next row's number, creation time and id.
    fn next(&mut self) -> (i64, i64, String) {
        let created_at = clock::now_ms().max(self.last_created_at);
        self.last_created_at = created_at;
        let seq = self.next_seq;
        self.next_seq += 1;
        (seq, created_at, ids::contact_id(created_at, seq))
    }
}

/// Creates a contact; `PhoneTaken` when the number is in use.
pub fn insert(tx: &Transaction<'_>, tenant: &Tenant, new: NewContact) -> Result<Contact> {
    let (seq, now, id) = NewRows::start(tx, tenant)?.next();
    let contact = Contact {
        seq,
        id,
        name: new.name.into_string(),
        phone: new.phone.into_string(),
        language: new.language.map(|l| l.into_string()),
        metadata: new.metadata.into_string(),
        created_at: now,
        updated_at: now,
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO contacts (seq, id, org_seq, name, name_key, initials, phone, language,
                               metadata, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?;
    let inserted = stmt.execute(params![
        contact.seq,
        contact.id,
        tenant.org_seq,
        contact.name,
        search::sort_key(&contact.name),
        search::initials(&contact.name),
        contact.phone,
        contact.language,
        contact.metadata,
        now
    ]);
    match inserted {
        Ok(_) => Ok(contact),
        Err(e) if is_unique_violation(&e) => match id_by_phone(tx, tenant, &contact.phone)? {
            Some(contact_id) => Err(Error::PhoneTaken {
                phone: contact.phone,
                contact_id,
            }),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn id_by_phone(conn: &Connection, tenant: &Tenant, phone: &str) -> Result<Option<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM contacts WHERE org_seq = ?1 AND phone = ?2")?;
    Ok(stmt
        .query_row(params![tenant.org_seq, phone], |r| r.get(0))
        .optional()?)
}

/// The contact with public id `id` in the tenant's organization.
pub fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Contact> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contacts c WHERE c.id = ?1 AND c.org_seq = ?2"
    ))?;
    stmt.query_row(params![id, tenant.org_seq], from_row)
        .optional()?
        .ok_or(Error::NotFound("Contact"))
}

fn by_phone(conn: &Connection, tenant: &Tenant, phone: &str) -> Result<Option<Contact>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contacts c WHERE c.org_seq = ?1 AND c.phone = ?2"
    ))?;
    Ok(stmt
        .query_row(params![tenant.org_seq, phone], from_row)
        .optional()?)
}

/// Applies `fields` to the contact. A change that leaves every value as it
/// was writes nothing and keeps `updatedAt`.
pub fn update(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    id: &str,
    fields: ContactFields,
) -> Result<Contact> {
    let current = get(tx, tenant, id)?;
    let next = Contact {
        name: fields
            .name
            .map_or_else(|| current.name.clone(), |n| n.into_string()),
        phone: fields
            .phone
            .map_or_else(|| current.phone.clone(), |p| p.into_string()),
        language: match fields.language {
            None => current.language.clone(),
            Some(language) => language.map(|l| l.into_string()),
        },
        metadata: fields
            .metadata
            .map_or_else(|| current.metadata.clone(), |m| m.into_string()),
        ..current.clone()
    };
    if next.phone != current.phone {
        if let Some(contact_id) = id_by_phone(tx, tenant, &next.phone)? {
            return Err(Error::PhoneTaken {
                phone: next.phone,
                contact_id,
            });
        }
    }
    save_changes(tx, current, next)
}

/// Writes `next` over `current` when they differ, moving `updated_at`
/// strictly forward; returns the stored contact.
fn save_changes(tx: &Transaction<'_>, current: Contact, next: Contact) -> Result<Contact> {
    if next == current {
        return Ok(current);
    }
    let updated_at = clock::now_ms().max(current.updated_at + 1);
    let mut stmt = tx.prepare_cached(
        "UPDATE contacts SET name = ?1, name_key = ?2, initials = ?3, phone = ?4, language = ?5,
                             metadata = ?6, updated_at = ?7
         WHERE seq = ?8",
    )?;
    stmt.execute(params![
        next.name,
        search::sort_key(&next.name),
        search::initials(&next.name),
        next.phone,
        next.language,
        next.metadata,
        updated_at,
        current.seq
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
pub fn upsert(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    rows: &mut NewRows,
    item: BulkItem,
) -> Result<(Contact, Upserted)> {
    let (seq, now, id) = rows.next();
    let (has_language, language) = match item.language {
        None => (false, None),
        Some(language) => (true, language.map(|l| l.into_string())),
    };
    let (has_metadata, metadata) = match item.metadata {
        None => (false, crate::domain::Metadata::empty().into_string()),
        Some(metadata) => (true, metadata.into_string()),
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO contacts (id, org_seq, name, phone, language, metadata, created_at, updated_at,
                               name_key, initials, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?10, ?11, ?12)
         ON CONFLICT (org_seq, phone) DO UPDATE SET
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
                seq
            ],
            from_row,
        )
        .optional()?;
    match written {
        Some(contact) if contact.id == id => Ok((contact, Upserted::Created)),
        Some(contact) => Ok((contact, Upserted::Updated)),
        // The stored row already held these values.
        None => by_phone(tx, tenant, item.phone.as_str())?
            .map(|contact| (contact, Upserted::Updated))
            .ok_or(Error::NotFound("Contact")),
    }
}

/// Deletes the contact; its memberships go with it (foreign-key cascade),
/// its call records stay.
pub fn delete(tx: &Transaction<'_>, tenant: &Tenant, id: &str) -> Result<()> {
    if delete_many(tx, tenant, &[id.to_string()])? == 0 {
        return Err(Error::NotFound("Contact"));
    }
    Ok(())
}

/// Deletes the tenant's contacts among `ids`, ignoring the rest; how many
/// rows went.
pub fn delete_many(tx: &Transaction<'_>, tenant: &Tenant, ids: &[String]) -> Result<usize> {
    let mut stmt = tx.prepare_cached("DELETE FROM contacts WHERE id = ?1 AND org_seq = ?2")?;
    let mut deleted = 0;
    for id in ids {
        deleted += stmt.execute(params![id, tenant.org_seq])?;
    }
    Ok(deleted)
}

/// The row numbers of the tenant's contacts `ids`, or `MissingContacts`
/// naming every id that is unknown (or another organization's).
pub fn seqs_of(conn: &Connection, tenant: &Tenant, ids: &[String]) -> Result<Vec<i64>> {
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

/// Restricts a listing to an audience's members, or to everyone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    In { audience_seq: i64, count: i64 },
    NotIn { audience_seq: i64, count: i64 },
}

/// What a listing can be ordered by; ties are broken by `id` in the same
/// direction, so the order is total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    /// Case-insensitively, by the stored `name_key`.
    Name,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

impl Sort {
    /// The sort key as SQL terms, before the `c.id` tie-break. Names lead
    /// with their first two characters, which `contacts_by_name_prefix`
    /// indexes: SQLite then walks that index and sorts only within each
    /// two-character group, instead of sorting the whole organization.
    /// (Ordering by the prefix first orders exactly as by the name.)
    fn key_terms(self) -> &'static [&'static str] {
        match self.field {
            SortField::CreatedAt => &["c.created_at"],
            SortField::UpdatedAt => &["c.updated_at"],
            SortField::Name => &["substr(c.name_key, 1, 2)", "c.name_key"],
        }
    }

    /// `ORDER BY` terms, ties broken by id in the same direction.
    fn order_by(self) -> String {
        let direction = if self.descending { "DESC" } else { "ASC" };
        self.key_terms()
            .iter()
            .chain(["c.id"].iter())
            .map(|term| format!("{term} {direction}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The keyset condition "after (key, id)" and its arguments.
    fn after(self, key: &SqlValue, id: &str) -> (String, Vec<SqlValue>) {
        let op = if self.descending { "<" } else { ">" };
        let terms = self.key_terms().join(", ");
        let (placeholders, mut args): (&str, Vec<SqlValue>) = match self.field {
            SortField::Name => ("substr(?, 1, 2), ?", vec![key.clone(), key.clone()]),
            _ => ("?", vec![key.clone()]),
        };
        args.push(id.to_string().into());
        (
            format!(" AND ({terms}, c.id) {op} ({placeholders}, ?)"),
            args,
        )
    }

    /// The sort key of `contact`, as a cursor records it.
    pub fn key_of(self, contact: &Contact) -> SqlValue {
        match self.field {
            SortField::CreatedAt => contact.created_at.into(),
            SortField::UpdatedAt => contact.updated_at.into(),
            SortField::Name => search::sort_key(&contact.name).into(),
        }
    }
}

/// One `metadata.KEY=VALUE` filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataFilter {
    pub key: String,
    pub value: String,
}

/// Every condition a listing can carry; all are ANDed.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub search: Option<SearchPlan>,
    pub membership: Option<Membership>,
    pub language: Option<String>,
    pub metadata: Vec<MetadataFilter>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
}

impl Filters {
    /// Whether a condition on the rows' own columns applies (language,
    /// metadata, times): those need the rows read to be counted.
    fn has_row_conditions(&self) -> bool {
        self.language.is_some()
            || !self.metadata.is_empty()
            || self.created_after.is_some()
            || self.created_before.is_some()
            || self.updated_after.is_some()
            || self.updated_before.is_some()
    }
}

/// Which rows of the ordered result a page holds.
#[derive(Clone, Debug)]
pub enum Window {
    /// Skip this many rows.
    Offset(i64),
    /// The rows after this sort key and id (a cursor).
    After { key: SqlValue, id: String },
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct ListRequest {
    pub filters: Filters,
    pub sort: Sort,
    pub limit: i64,
    pub window: Window,
}

/// A page of contacts, the exact number of matching rows, and whether rows
/// follow the page.
#[derive(Debug)]
pub struct ListPage {
    pub rows: Vec<Contact>,
    pub total: i64,
    pub has_more: bool,
}

/// The first search-index rowid of the organization: entries are keyed
/// `(org_seq << 32) + seq` (see `schema.sql`).
fn search_base(tenant: &Tenant) -> i64 {
    tenant.org_seq << 32
}

/// The search index's matches of `query` in the tenant's organization, as
/// a subquery yielding `seq`.
const SEARCH_MATCHES: &str = "SELECT rowid - ? AS seq FROM contacts_trigram \
     WHERE contacts_trigram MATCH ? AND rowid BETWEEN ? AND ?";

fn search_args(tenant: &Tenant, query: &str) -> [SqlValue; 4] {
    let base = search_base(tenant);
    [
        base.into(),
        query.to_string().into(),
        base.into(),
        (base + 0xFFFF_FFFF).into(),
    ]
}

/// The FROM and WHERE clauses of `filters` (`FROM … WHERE …`) and their
/// arguments.
///
/// With a search, the organization's FTS5 matches drive the query (`CROSS
/// JOIN` fixes the join order): each match is looked up by row number,
/// instead of every row of the organization being checked against the
/// matches, which at a million contacts was 50-100 ms even for a search
/// matching 100 rows.
fn where_clause(tenant: &Tenant, filters: &Filters) -> (String, Vec<SqlValue>) {
    let mut args: Vec<SqlValue> = Vec::new();
    let mut sql = match filters.search.as_ref().and_then(|p| p.trigram.as_ref()) {
        Some(query) => {
            args.extend(search_args(tenant, query));
            format!(
                "FROM ({SEARCH_MATCHES}) m CROSS JOIN contacts c ON c.seq = m.seq \
                 WHERE c.org_seq = ?"
            )
        }
        None => String::from("FROM contacts c WHERE c.org_seq = ?"),
    };
    args.push(tenant.org_seq.into());
    match filters.membership {
        Some(Membership::In { audience_seq, .. }) => {
            sql.push_str(
                " AND c.seq IN (SELECT contact_seq FROM audience_members WHERE audience_seq = ?)",
            );
            args.push(audience_seq.into());
        }
        Some(Membership::NotIn { audience_seq, .. }) => {
            sql.push_str(
                " AND c.seq NOT IN (SELECT contact_seq FROM audience_members WHERE audience_seq = ?)",
            );
            args.push(audience_seq.into());
        }
        None => {}
    }
    if let Some(plan) = &filters.search {
        for literal in &plan.literals {
            sql.push_str(" AND instr(c.name, ?) > 0");
            args.push(literal.clone().into());
        }
    }
    if let Some(language) = &filters.language {
        sql.push_str(" AND c.language = ?");
        args.push(language.clone().into());
    }
    for filter in &filters.metadata {
        // A string equal to VALUE, or a number or boolean whose JSON text
        // is VALUE; SQLite renders both sides, so they compare alike.
        let literal: SqlValue = match serde_json::from_str::<serde_json::Value>(&filter.value) {
            Ok(serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                filter.value.clone().into()
            }
            _ => SqlValue::Null,
        };
        if filter.key.contains(['"', '\\']) {
            // Keys a JSON path cannot quote: walk the object's members.
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(c.metadata) e WHERE e.key = ? \
                 AND (c.metadata -> e.fullkey) IN (json_quote(?), ?))",
            );
            args.push(filter.key.clone().into());
        } else {
            sql.push_str(" AND (c.metadata -> ?) IN (json_quote(?), ?)");
            args.push(format!("$.\"{}\"", filter.key).into());
        }
        args.push(filter.value.clone().into());
        args.push(literal);
    }
    for (bound, column, op) in [
        (filters.created_after, "c.created_at", ">="),
        (filters.created_before, "c.created_at", "<"),
        (filters.updated_after, "c.updated_at", ">="),
        (filters.updated_before, "c.updated_at", "<"),
    ] {
        if let Some(ms) = bound {
            sql.push_str(&format!(" AND {column} {op} ?"));
            args.push(ms.into());
        }
    }
    (sql, args)
}

/// The exact number of the tenant's contacts matching `filters` when it
/// costs no row reads: from the kept counters when only membership
/// restricts the listing, from the search index when only a search does.
fn cheap_count(conn: &Connection, tenant: &Tenant, filters: &Filters) -> Result<Option<i64>> {
    if filters.search.is_none() && !filters.has_row_conditions() {
        let all: i64 = conn
            .prepare_cached("SELECT contact_count FROM organizations WHERE seq = ?1")?
            .query_row([tenant.org_seq], |r| r.get(0))?;
        return Ok(Some(match filters.membership {
            None => all,
            Some(Membership::In { count, .. }) => count,
            Some(Membership::NotIn { count, .. }) => all - count,
        }));
    }
    let only_search = filters.membership.is_none() && !filters.has_row_conditions();
    if let Some(SearchPlan {
        trigram: Some(query),
        literals,
    }) = &filters.search
    {
        if only_search && literals.is_empty() {
            let args = search_args(tenant, query);
            return Ok(Some(
                conn.prepare_cached(&format!("SELECT count(*) FROM ({SEARCH_MATCHES})"))?
                    .query_row(params_from_iter(args.iter()), |r| r.get(0))?,
            ));
        }
    }
    Ok(None)
}

/// The exact number of the tenant's contacts matching `filters`.
fn count(conn: &Connection, tenant: &Tenant, filters: &Filters) -> Result<i64> {
    if let Some(total) = cheap_count(conn, tenant, filters)? {
        return Ok(total);
    }
    let (sql, args) = where_clause(tenant, filters);
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) {sql}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// The FTS5 query and offset of a listing the search index can page by
/// itself: a search and nothing else, in `createdAt` order, by page.
fn search_in_row_order(request: &ListRequest) -> Option<(&str, i64)> {
    let filters = &request.filters;
    match (&filters.search, &request.window) {
        (
            Some(SearchPlan {
                trigram: Some(query),
                literals,
            }),
            Window::Offset(offset),
        ) if literals.is_empty()
            && filters.membership.is_none()
            && !filters.has_row_conditions()
            && request.sort.field == SortField::CreatedAt =>
        {
            Some((query.as_str(), *offset))
        }
        _ => None,
    }
}

/// One page of the tenant's contacts.
pub fn list(conn: &Connection, tenant: &Tenant, request: &ListRequest) -> Result<ListPage> {
    let cheap_total = cheap_count(conn, tenant, &request.filters)?;
    let (mut sql, mut args) = where_clause(tenant, &request.filters);
    let order_by = request.sort.order_by();
    let direction = if request.sort.descending {
        "DESC"
    } else {
        "ASC"
    };
    if request.sort.field == SortField::Name && request.filters.search.is_none() {
        // The planner does not find the name-prefix walk by itself (it
        // would sort the whole organization); name it.
        sql = sql.replacen(
            "FROM contacts c WHERE",
            "FROM contacts c INDEXED BY contacts_by_name_prefix WHERE",
            1,
        );
    }
    let mut offset = 0;
    match &request.window {
        Window::Offset(skip) => offset = *skip,
        Window::After { key, id } => {
            let (condition, after_args) = request.sort.after(key, id);
            sql.push_str(&condition);
            args.extend(after_args);
        }
    }
    // One row more than the page tells whether another page follows.
    args.push((request.limit + 1).into());
    args.push(offset.into());
    // With a search the matches are joined to their rows anyway; count
    // them in the same pass. Without one, an index range usually counts
    // the rows cheaper than a window over them would.
    let counted_here = cheap_total.is_none()
        && request.filters.search.is_some()
        && matches!(request.window, Window::Offset(_));
    let query = match search_in_row_order(request) {
        // An organization's (created_at, id) order is its row-number order
        // (see `NewRows`), which is the search index's own order: take the
        // page's row numbers from the index, then read just those rows.
        Some((fts_query, offset)) => {
            args = search_args(tenant, fts_query).to_vec();
            args.push((request.limit + 1).into());
            args.push(offset.into());
            format!(
                "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                     {SEARCH_MATCHES} ORDER BY rowid {direction} LIMIT ? OFFSET ?)
                 ORDER BY {order_by}"
            )
        }
        // Count the matches in the same pass that orders them (a window
        // over the matches), not in a second query.
        None if counted_here => format!(
            "SELECT {COLUMNS}, p.total FROM (
                 SELECT c.seq AS seq, count(*) OVER () AS total {sql}
                 ORDER BY {order_by} LIMIT ? OFFSET ?) p
             CROSS JOIN contacts c ON c.seq = p.seq
             ORDER BY {order_by}"
        ),
        // Order and skip on (sort key, id, row number) alone, which an index
        // covers or a search match yields without reading whole rows; read
        // whole rows only for the page itself.
        None => format!(
            "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                 SELECT c.seq {sql}
                 ORDER BY {order_by} LIMIT ? OFFSET ?)
             ORDER BY {order_by}"
        ),
    };
    let mut stmt = conn.prepare_cached(&query)?;
    let mut window_total = None;
    let mut rows = stmt
        .query_map(params_from_iter(args.iter()), |row| {
            Ok((from_row(row)?, row.get::<_, Option<i64>>(8)?))
        })?
        .map(|r| {
            r.map(|(contact, total)| {
                window_total = window_total.or(total);
                contact
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let total = match (cheap_total, window_total) {
        (Some(total), _) | (None, Some(total)) => total,
        // A page past the end (or a cursor page): count on its own.
        (None, None) => count(conn, tenant, &request.filters)?,
    };
    let has_more = rows.len() as i64 > request.limit;
    rows.truncate(request.limit as usize);
    Ok(ListPage {
        rows,
        total,
        has_more,
    })
}
