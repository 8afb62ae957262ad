//! The contact listings' query planner: one page of an organization's
//! contacts for any combination of search, filters, membership, sort and
//! window, with the exact total.
//!
//! Every shape of query it builds starts from the tenant's organization
//! (`c.org_seq = ?`, or the organization's own rowid range of the search
//! index, which `schema.sql` and migration 2 keep disjoint from every other
//! organization's). The shapes are chosen for speed; the tests below check
//! that they all answer alike.

use std::borrow::Cow;
use std::fmt::Write as _;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::contacts::{from_row, Contact, COLUMNS};
use super::indexes::{self, Declared};
use super::{audiences, callable, Result, Tenant};
use contactsd_domain::cursor::SortKey;
use contactsd_domain::listing::{Filters, ListRequest, MetadataFilter, Sort, SortField, Window};
use contactsd_domain::search::{self, SearchPlan};
use contactsd_domain::Language;
use contactsd_domain::{is_plain_metadata_key, Metadata};

/// A cursor's sort key as an SQL argument.
fn sql_key(key: &SortKey) -> SqlValue {
    match key {
        SortKey::Integer(n) => SqlValue::Integer(*n),
        SortKey::Text(text) => SqlValue::Text(text.clone()),
    }
}

/// The database's connections.
pub(crate) type Pool = r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>;

/// Rows a span must hold before it is counted in parallel parts.
const PARALLEL_SPAN: i64 = if cfg!(test) { 16 } else { 50_000 };

/// An audience filter resolved to its row and member count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Membership {
    In { audience_seq: i64, count: i64 },
    NotIn { audience_seq: i64, count: i64 },
}

/// The SQL of a listing's order: the sort is the domain's [`Sort`];
/// how it becomes SQL is storage's.
trait SortSql: Copy {
    fn key_terms(self) -> &'static [&'static str];
    fn direction(self) -> &'static str;
    fn order_by(self) -> String;
    fn name_order_by(self) -> String;
    fn name_after(self, key: &SqlValue, id: &str) -> (String, Vec<SqlValue>);
    fn after(self, key: &SqlValue, id: &str) -> (String, Vec<SqlValue>);
}

impl SortSql for Sort {
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

    fn direction(self) -> &'static str {
        if self.descending {
            "DESC"
        } else {
            "ASC"
        }
    }

    /// `ORDER BY` terms, ties broken by id in the same direction.
    fn order_by(self) -> String {
        let direction = self.direction();
        self.key_terms()
            .iter()
            .chain(["c.id"].iter())
            .map(|term| format!("{term} {direction}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `ORDER BY` terms over a declared `name_order` index (aliased `n`).
    fn name_order_by(self) -> String {
        let direction = self.direction();
        format!("n.name_key {direction}, n.id {direction}")
    }

    /// "after (key, id)" over a declared `name_order` index.
    fn name_after(self, key: &SqlValue, id: &str) -> (String, Vec<SqlValue>) {
        let op = if self.descending { "<" } else { ">" };
        (
            format!(" AND (n.name_key, n.id) {op} (?, ?)"),
            vec![key.clone(), id.to_string().into()],
        )
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
}

/// A page of contacts, the exact number of matching rows, and whether rows
/// follow the page.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub rows: Vec<Contact>,
    pub total: i64,
    pub has_more: bool,
    /// How many rows an undeclared metadata filter was checked on.
    pub scan: Option<Scan>,
}

/// A metadata filter answered without a declared index: every candidate
/// row's metadata was read. `rows` is how many candidates there were;
/// declaring `key` (the first such key an index can be declared on, if
/// any) makes the filter an index lookup instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub key: Option<String>,
    pub rows: i64,
}

/// What a connection saw of an organization: its change number, its
/// contact count, and its declared indexes.
type Seen = (i64, i64, Option<String>);

/// Counts over the row numbers `first..=last` cut in parts, one a core,
/// the first on `conn` and the others at once on connections borrowed
/// from `pool`; each part's count. A part counted on another connection is
/// used only when that connection saw the organization as `conn` does (the
/// same change number, which every write of a contact, membership or call
/// raises, and the same contact count), else it is counted on `conn` again.
/// `None` when there are not two cores, or no idle connection to spare
/// (one is always left for other requests).
fn in_parts<T, F>(
    conn: &Connection,
    pool: &Pool,
    org_seq: i64,
    (first, last): (i64, i64),
    count: &F,
) -> Result<Option<Vec<T>>>
where
    T: Send,
    F: Fn(&Connection, (i64, i64)) -> Result<T> + Sync,
{
    let cores = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4);
    let spare = usize::try_from(pool.state().idle_connections).unwrap_or(0);
    let cores = i64::try_from(cores.min(spare.saturating_sub(1) + 1)).unwrap_or(1);
    if cores < 2 {
        return Ok(None);
    }
    let step = (last - first) / cores + 1;
    let ranges: Vec<(i64, i64)> = (0..cores)
        .map(|i| (first + i * step, (first + (i + 1) * step - 1).min(last)))
        .collect();
    // Declaring or dropping an index changes no contact, so the
    // declarations are part of what must be seen alike.
    let marker = |conn: &Connection| -> rusqlite::Result<Seen> {
        conn.prepare_cached(
            "SELECT change_seq, contact_count,
                    (SELECT group_concat(kind || ':' || key || ':' || created_at || ':' || ready,
                                         char(10))
                     FROM declared_indexes WHERE org_seq = ?1)
             FROM organizations WHERE seq = ?1",
        )?
        .query_row([org_seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    };
    let seen = marker(conn)?;
    let (mine, others) = std::thread::scope(|scope| {
        let others: Vec<_> = ranges[1..]
            .iter()
            .map(|&range| {
                let marker = &marker;
                // A thread that cannot start leaves its part to this one.
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || -> Option<(Seen, T)> {
                        let helper = pool.try_get()?;
                        helper.execute_batch("BEGIN DEFERRED").ok()?;
                        let counted = marker(&helper)
                            .map_err(crate::Error::from)
                            .and_then(|seen| Ok((seen, count(&helper, range)?)));
                        let _ = helper.execute_batch("COMMIT");
                        counted.ok()
                    })
                    .ok()
            })
            .collect();
        let mine = count(conn, ranges[0]);
        let others: Vec<_> = others
            .into_iter()
            .map(|handle| handle.and_then(|h| h.join().ok().flatten()))
            .collect();
        (mine, others)
    });
    let mut parts = vec![mine?];
    for (range, other) in ranges[1..].iter().zip(others) {
        parts.push(match other {
            Some((their, part)) if their == seen => part,
            _ => count(conn, *range)?,
        });
    }
    Ok(Some(parts))
}

/// The conditions of a request once its audience is resolved.
struct Plan<'a> {
    tenant: &'a Tenant,
    /// The request's filters, with the language and declared metadata
    /// filters folded into the search when the search index answers them
    /// (see [`fold_into_search`]).
    filters: Cow<'a, Filters>,
    membership: Option<Membership>,
    /// The organization's declared indexes (read only when the listing
    /// sorts by name or filters by metadata).
    declared: Declared,
    /// A `callable` filter resolved to the zone sets inside the hours.
    callable: Option<Callable>,
    /// The organization's first and last row numbers, when an undeclared
    /// metadata filter reads its rows and nothing narrower (a search, an
    /// audience, a language) drives the query: the table is then read over
    /// that span in row order, which is `createdAt` order. That is cheaper
    /// than walking an index and looking up each row (20-25% at a million
    /// contacts) while other organizations' rows are under half the span.
    span: Option<(i64, i64)>,
}

/// A `callable` filter resolved: whether callable contacts are wanted, the
/// zone sets inside the calling hours at its time, and how many unlisted
/// contacts those sets hold.
struct Callable {
    wanted: bool,
    inside: Vec<i64>,
    /// The exact total of the filter alone, when the kept counts give it.
    total: Option<i64>,
}

impl Callable {
    /// ` AND …` on the row aliased `alias` (set numbers are integers the
    /// server computed, written inline so the planner sees them).
    fn condition(&self, alias: &str) -> String {
        let sets = self
            .inside
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // `+` keeps the planner from driving the query by these terms (a
        // long list of sets made it walk the narrow index by zone set).
        let callable = format!("+{alias}.dnc_listed = 0 AND +{alias}.zone_set IN ({sets})");
        if self.wanted {
            format!(" AND {callable}")
        } else {
            format!(" AND NOT ({callable})")
        }
    }

    /// The search's matches that pass, from the search index and the
    /// narrow `contacts_callable` index alone (migration 15); `select` is
    /// what each yields. Its arguments are [`search_args`] (base, query,
    /// first, last), after those of `select`.
    fn search_matches(&self, select: &str) -> String {
        format!(
            "SELECT {select} FROM contacts_search t
             CROSS JOIN contacts k INDEXED BY contacts_callable ON k.seq = t.rowid - ?
             WHERE t.contacts_search MATCH ? AND t.rowid BETWEEN ? AND ?{}",
            self.condition("k")
        )
    }
}

/// [`search_args`] for [`Callable::search_matches`] selecting
/// `t.rowid - ? AS seq` (the base once more).
fn callable_search_args(tenant: &Tenant, query: &str) -> Vec<SqlValue> {
    let mut args = search_args(tenant, query).to_vec();
    args.insert(0, args[0].clone());
    args
}

/// The plan of `request` for `tenant`: its audience resolved, its
/// declared indexes read when they could serve it.
fn plan<'a>(conn: &Connection, tenant: &'a Tenant, request: &'a ListRequest) -> Result<Plan<'a>> {
    // The search for this organization: every token of the index is led
    // by its number (migration 17).
    let scoped = request.filters.search.as_ref().and_then(|search| {
        search.fts.as_ref().map(|query| Filters {
            search: Some(SearchPlan {
                fts: Some(search::scoped(query, tenant.org_seq)),
                literals: search.literals.clone(),
            }),
            ..request.filters.clone()
        })
    });
    let filters = scoped.as_ref().unwrap_or(&request.filters);
    let declared = if request.sort.field == SortField::Name || !filters.metadata.is_empty() {
        indexes::declared(conn, tenant)?
    } else {
        Declared::default()
    };
    let callable = match filters.callable {
        None => None,
        Some(filter) => {
            let found = callable::inside_sets(conn, tenant, filter.at)?;
            Some(Callable {
                wanted: filter.wanted,
                total: found.callable.map(|callable| {
                    if filter.wanted {
                        callable
                    } else {
                        found.all - callable
                    }
                }),
                inside: found.sets,
            })
        }
    };
    let membership = membership(conn, tenant, filters)?;
    let audience_drives = matches!(membership, Some(Membership::In { .. }));
    let filters = match (
        fold_into_search(conn, filters, &declared, audience_drives)?,
        scoped,
    ) {
        (Some(folded), _) => Cow::Owned(folded),
        (None, Some(scoped)) => Cow::Owned(scoped),
        (None, None) => Cow::Borrowed(&request.filters),
    };
    let span = if filters
        .metadata
        .iter()
        .any(|f| !declared.has_metadata(&f.key))
        && filters.search.is_none()
        && membership.is_none()
        && filters.language.is_none()
    {
        organization_span(conn, tenant)?
    } else {
        None
    };
    Ok(Plan {
        tenant,
        filters,
        membership,
        declared,
        callable,
        span,
    })
}

/// The search index's tag of row 0 of `search_tags`, which no row ever
/// is: three characters of the private use area spelling the row number,
/// as the `search_tag_codes` view of migration 16 spells every tag.
const NO_TAG: &str = "\u{E000}\u{E000}\u{E000}";

/// An FTS5 condition on the `tags` column matching any of `codes`; a tag
/// nobody has (row number 0 is never one) when there are none.
fn tags_condition(codes: &[String]) -> String {
    match codes {
        [] => format!("tags : \"{NO_TAG}\""),
        [one] => format!("tags : \"{one}\""),
        many => format!(
            "({})",
            many.iter()
                .map(|code| format!("tags : \"{code}\""))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    }
}

/// `filters` with the language filter and the declared metadata filters
/// made part of the search, when a listing asks for at least two of a
/// search, a language and declared metadata filters: the search index holds every contact's language and
/// declared metadata values as tags (migration 16), and one FTS5 query
/// intersects them far faster than each match's row can be checked
/// (`language=hi-IN&search=sharma` at a million contacts: 8 ms against
/// 40). One such condition alone keeps its own index.
///
/// Without a search, an audience's members drive the query instead
/// (`audience_drives`): an audience is often far smaller than a language.
fn fold_into_search(
    conn: &Connection,
    filters: &Filters,
    declared: &Declared,
    audience_drives: bool,
) -> Result<Option<Filters>> {
    let fts = filters.search.as_ref().and_then(|s| s.fts.as_deref());
    if audience_drives && fts.is_none() {
        return Ok(None);
    }
    let (tagged, untagged): (Vec<&MetadataFilter>, Vec<&MetadataFilter>) = filters
        .metadata
        .iter()
        .partition(|f| declared.has_metadata(&f.key));
    let terms = usize::from(fts.is_some()) + usize::from(filters.language.is_some()) + tagged.len();
    #[cfg(test)]
    if tests::UNFOLDED.with(std::cell::Cell::get) {
        return Ok(None);
    }
    if terms < 2 {
        return Ok(None);
    }
    let mut query: Vec<String> = fts.map(|q| format!("({q})")).into_iter().collect();
    if let Some(language) = &filters.language {
        query.push(tags_condition(&language_codes(conn, language)?));
    }
    for filter in tagged {
        // The values `metadata_values_condition` matches: a string equal
        // to VALUE, or a number or boolean whose JSON text is VALUE.
        let literal: SqlValue = match serde_json::from_str::<serde_json::Value>(&filter.value) {
            Ok(serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                filter.value.clone().into()
            }
            _ => SqlValue::Null,
        };
        let codes = conn
            .prepare_cached(
                "SELECT code FROM search_tag_codes
                 WHERE kind = 'metadata' AND key = ?1 AND value IN (json_quote(?2), ?3)",
            )?
            .query_map(rusqlite::params![filter.key, filter.value, literal], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        query.push(tags_condition(&codes));
    }
    Ok(Some(Filters {
        search: Some(SearchPlan {
            fts: Some(query.join(" AND ")),
            literals: filters
                .search
                .as_ref()
                .map(|s| s.literals.clone())
                .unwrap_or_default(),
        }),
        language: None,
        metadata: untagged.into_iter().cloned().collect(),
        ..filters.clone()
    }))
}

/// The first and last row numbers of the organization's contacts, when
/// other rows are under half of the span (an organization filled alongside
/// others can be spread over the whole table).
fn organization_span(conn: &Connection, tenant: &Tenant) -> Result<Option<(i64, i64)>> {
    Ok(match organization_bounds(conn, tenant)? {
        Some((first, last, count)) if last - first < 2 * count => Some((first, last)),
        _ => None,
    })
}

/// The first and last row numbers of the organization's contacts and how
/// many it has (`None` when none). Its first and last rows in
/// `(created_at, id)` order are its lowest and highest row numbers (see
/// `contacts::NewRows`).
fn organization_bounds(conn: &Connection, tenant: &Tenant) -> Result<Option<(i64, i64, i64)>> {
    let (first, last, count): (Option<i64>, Option<i64>, i64) = conn
        .prepare_cached(
            "SELECT (SELECT seq FROM contacts INDEXED BY contacts_by_created WHERE org_seq = ?1
                     ORDER BY created_at, id LIMIT 1),
                    (SELECT seq FROM contacts INDEXED BY contacts_by_created WHERE org_seq = ?1
                     ORDER BY created_at DESC, id DESC LIMIT 1),
                    (SELECT contact_count FROM organizations WHERE seq = ?1)",
        )?
        .query_row([tenant.org_seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(match (first, last) {
        (Some(first), Some(last)) => Some((first, last, count)),
        _ => None,
    })
}

/// A count over the organization's row numbers: `count` counts the rows
/// numbered within a range. Over an organization of more than
/// [`PARALLEL_SPAN`] contacts it runs in parts at once when `helpers` can
/// lend connections (a search counted whole at a million contacts took
/// 8 ms of a 10 ms answer).
fn count_in_parts<F>(
    conn: &Connection,
    tenant: &Tenant,
    helpers: Option<&Pool>,
    count: &F,
) -> Result<i64>
where
    F: Fn(&Connection, (i64, i64)) -> Result<i64> + Sync,
{
    match count_in_parts_only(conn, tenant, helpers, count)? {
        Some(total) => Ok(total),
        None => count(conn, (0, 0xFFFF_FFFF)),
    }
}

/// [`count_in_parts`] when the count can be cut in parts; `None` (and
/// nothing counted) when it cannot, so the caller may count another way.
fn count_in_parts_only<F>(
    conn: &Connection,
    tenant: &Tenant,
    helpers: Option<&Pool>,
    count: &F,
) -> Result<Option<i64>>
where
    F: Fn(&Connection, (i64, i64)) -> Result<i64> + Sync,
{
    let Some(pool) = helpers else {
        return Ok(None);
    };
    let Some((first, last, contacts)) = organization_bounds(conn, tenant)? else {
        return Ok(None);
    };
    if contacts < PARALLEL_SPAN {
        return Ok(None);
    }
    let parts = in_parts(conn, pool, tenant.org_seq, (first, last), count)?;
    Ok(parts.map(|parts| parts.into_iter().sum()))
}

/// The organization's matches of FTS5 `query`, counted inside the search
/// index.
fn count_matches(
    conn: &Connection,
    tenant: &Tenant,
    helpers: Option<&Pool>,
    query: &str,
) -> Result<i64> {
    count_in_parts(conn, tenant, helpers, &matches_counter(tenant, query))
}

/// Counts the organization's matches of FTS5 `query` within a range of
/// row numbers.
fn matches_counter<'a>(
    tenant: &Tenant,
    query: &'a str,
) -> impl Fn(&Connection, (i64, i64)) -> Result<i64> + Sync + 'a {
    let base = tenant.org_seq << 32;
    move |conn, (first, last)| {
        Ok(conn
            .prepare_cached(&format!("SELECT count(*) FROM ({SEARCH_MATCHES})"))?
            .query_row(
                rusqlite::params![base, query, base + first, base + last],
                |r| r.get(0),
            )?)
    }
}

/// The search index's tag codes of `language` (none when no contact has
/// ever had it).
fn language_codes(conn: &Connection, language: &Language) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT code FROM search_tag_codes
             WHERE kind = 'language' AND key = '' AND value = ?1",
        )?
        .query_map([language.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?)
}

/// Matches read from the search index: `sql` selects each match's `seq`,
/// and its last two arguments are the range of search-index rows to read
/// (`rowid` names that column); `leading` are its other arguments.
struct IndexMatches<'a> {
    sql: String,
    rowid: &'a str,
    leading: Vec<SqlValue>,
}

impl IndexMatches<'_> {
    fn read(
        &self,
        conn: &Connection,
        order: &str,
        range: (i64, i64),
        tail: &[i64],
    ) -> Result<Vec<i64>> {
        let mut args = self.leading.clone();
        args.extend([range.0.into(), range.1.into()]);
        args.extend(tail.iter().map(|&n| SqlValue::Integer(n)));
        let mut stmt =
            conn.prepare_cached(&format!("{} ORDER BY {} {order}", self.sql, self.rowid))?;
        let seqs = stmt
            .query_map(params_from_iter(args.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(seqs)
    }
}

/// The row numbers of the organization's `matches` at positions
/// `offset..offset + fetch` counted from the newest, among its rows
/// numbered `below` or less (all of them when `None`), when it has about
/// `total` matches in all.
///
/// FTS5 walks a row list backwards by first reading all of it: a tag's
/// list spans every organization, and at 10M contacts reading the newest
/// 51 matches backwards took 5-10 ms where reading forwards took 0.2 ms.
/// So the matches are read forwards over the newest part of the range,
/// sized from `total` to hold the page twice over, and widened until it
/// holds the page or reaches the organization's first row. `total` sizes
/// the first part only; the answer does not depend on it.
fn newest_matches(
    conn: &Connection,
    tenant: &Tenant,
    matches: &IndexMatches,
    total: i64,
    below: Option<i64>,
    offset: i64,
    fetch: i64,
) -> Result<Vec<i64>> {
    let Some((first, org_last, _)) = organization_bounds(conn, tenant)? else {
        return Ok(Vec::new());
    };
    let base = tenant.org_seq << 32;
    let last = below.map_or(org_last, |below| below.min(org_last));
    if offset >= total {
        // Past the end (as of the count): whatever is there is read
        // backwards, the rare way, so the answer stays exact.
        let range = match below {
            Some(_) => (base, base + last),
            None => search_range(tenant),
        };
        return matches.read(conn, "DESC LIMIT ? OFFSET ?", range, &[fetch, offset]);
    }
    let wanted = offset.saturating_add(fetch);
    let span = org_last - first + 1;
    // Twice the width that `wanted` matches take on average.
    let mut width = ((span as f64) * (wanted as f64) / (total.max(1) as f64) * 2.0).ceil() as i64;
    loop {
        let low = last.saturating_sub(width.max(64) - 1).max(first);
        let seqs = matches.read(conn, "ASC", (base + low, base + last), &[])?;
        let found = i64::try_from(seqs.len()).unwrap_or(i64::MAX);
        if found >= wanted || low == first {
            let skip = usize::try_from(offset).unwrap_or(usize::MAX);
            let take = usize::try_from(fetch).unwrap_or(usize::MAX);
            return Ok(seqs.into_iter().rev().skip(skip).take(take).collect());
        }
        // Widen by the density seen so far, at least fourfold.
        width = width.saturating_mul(4.max(2 * wanted / found.max(1)));
    }
}

/// The row numbers of the organization's `matches` that come after the
/// cursor's row (`created_at`, `id`) in creation order, newest first when
/// `descending`: at most `fetch` of them, when it has about `total`
/// matches in all.
///
/// An organization's creation order is its row-number order (see
/// `contacts::NewRows`), so the rows after the cursor are those on one
/// side of the nearest row past it (the cursor's own row may be gone),
/// and the page is read from the search index as an offset page is,
/// instead of every match being sorted (70 ms for `priya` at a million
/// contacts).
fn matches_after(
    conn: &Connection,
    tenant: &Tenant,
    matches: &IndexMatches,
    total: i64,
    descending: bool,
    (created_at, id): (&SqlValue, &str),
    fetch: i64,
) -> Result<Vec<i64>> {
    let nearest = if descending {
        "SELECT seq FROM contacts INDEXED BY contacts_by_created
         WHERE org_seq = ?1 AND (created_at, id) < (?2, ?3)
         ORDER BY created_at DESC, id DESC LIMIT 1"
    } else {
        "SELECT seq FROM contacts INDEXED BY contacts_by_created
         WHERE org_seq = ?1 AND (created_at, id) > (?2, ?3)
         ORDER BY created_at, id LIMIT 1"
    };
    let nearest: Option<i64> = conn
        .prepare_cached(nearest)?
        .query_row(rusqlite::params![tenant.org_seq, created_at, id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(nearest) = nearest else {
        return Ok(Vec::new());
    };
    if descending {
        return newest_matches(conn, tenant, matches, total, Some(nearest), 0, fetch);
    }
    let base = tenant.org_seq << 32;
    matches.read(
        conn,
        "ASC LIMIT ?",
        (base + nearest, base + 0xFFFF_FFFF),
        &[fetch],
    )
}

/// One metadata filter checked on the row aliased `c`, without a declared
/// index, and its arguments: first a substring test on the stored text
/// (see [`Metadata::member_texts`]), which rules out most rows without
/// parsing any JSON, then the exact test on the rows left.
fn unindexed_metadata_condition(filter: &MetadataFilter) -> (String, Vec<SqlValue>) {
    let texts = Metadata::member_texts(&filter.key, &filter.value);
    let prefilter = vec!["instr(c.metadata, ?) > 0"; texts.len()].join(" OR ");
    let mut args: Vec<SqlValue> = texts.into_iter().map(SqlValue::Text).collect();
    // A string equal to VALUE, or a number or boolean whose JSON text is
    // VALUE; SQLite renders both sides, so they compare alike.
    let parsed = serde_json::from_str::<serde_json::Value>(&filter.value);
    let literal: SqlValue = match parsed {
        Ok(serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
            filter.value.clone().into()
        }
        _ => SqlValue::Null,
    };
    if is_plain_metadata_key(&filter.key)
        && !matches!(parsed, Ok(ref v) if !v.is_string() && !v.is_null())
    {
        // A VALUE that is no JSON number, boolean, array or object can
        // match only a string member: `->>` gives that string as SQL text
        // (anything else gives a number, NULL, or JSON text that would
        // parse as such a VALUE), which is cheaper than rendering JSON.
        args.push(format!("$.\"{}\"", filter.key).into());
        args.push(filter.value.clone().into());
        return (format!("(({prefilter}) AND (c.metadata ->> ?) = ?)"), args);
    }
    let exact = if is_plain_metadata_key(&filter.key) {
        args.push(format!("$.\"{}\"", filter.key).into());
        "(c.metadata -> ?) IN (json_quote(?), ?)"
    } else {
        // Keys a quoted JSON path cannot hold (`"`, `\`, control
        // characters): find the member, then read it by the path SQLite
        // itself wrote for it.
        args.push(filter.key.clone().into());
        "EXISTS (SELECT 1 FROM json_each(c.metadata) e WHERE e.key = ? \
         AND (c.metadata -> e.fullkey) IN (json_quote(?), ?))"
    };
    args.push(filter.value.clone().into());
    args.push(literal);
    (format!("(({prefilter}) AND {exact})"), args)
}

/// A listing's conditions as SQL: `from` is `FROM … WHERE …` with its
/// arguments; `unindexed` holds the undeclared metadata filters apart
/// (`""` when there are none, or when they are part of `from`).
struct WhereParts {
    from: String,
    args: Vec<SqlValue>,
    unindexed: String,
    unindexed_args: Vec<SqlValue>,
}

/// The first and last search-index rowids of the organization: entries are
/// keyed `(org_seq << 32) + seq`, and migration 2 refuses rows that would
/// leave that range.
fn search_range(tenant: &Tenant) -> (i64, i64) {
    let base = tenant.org_seq << 32;
    (base, base + 0xFFFF_FFFF)
}

/// The search index's matches of `query` in the tenant's organization, as
/// a subquery yielding `seq`.
const SEARCH_MATCHES: &str = "SELECT rowid - ? AS seq FROM contacts_search \
     WHERE contacts_search MATCH ? AND rowid BETWEEN ? AND ?";

fn search_args(tenant: &Tenant, query: &str) -> [SqlValue; 4] {
    let (first, last) = search_range(tenant);
    [
        first.into(),
        query.to_string().into(),
        first.into(),
        last.into(),
    ]
}

impl Plan<'_> {
    /// The FROM and WHERE clauses (`FROM … WHERE …`) and their arguments.
    ///
    /// With a search, the organization's FTS5 matches drive the query
    /// (`CROSS JOIN` fixes the join order): each match is looked up by row
    /// number, instead of every row of the organization being checked
    /// against the matches, which at a million contacts was 50-100 ms even
    /// for a search matching 100 rows. Sorting by name without a search
    /// walks the name-prefix index, which the planner does not find by
    /// itself (it would sort the whole organization).
    fn where_clause(&self, sort: Sort) -> (String, Vec<SqlValue>) {
        let parts = self.where_parts(sort, false, false);
        (parts.from, parts.args)
    }

    /// [`Plan::where_clause`], reading the organization's span of the
    /// table in row order when `scan` and the plan has one, with the
    /// undeclared metadata filters apart when `split`.
    fn where_parts(&self, sort: Sort, scan: bool, split: bool) -> WhereParts {
        let (tenant, filters) = (self.tenant, &*self.filters);
        let mut args: Vec<SqlValue> = Vec::new();
        let mut sql = match filters.search.as_ref().and_then(|p| p.fts.as_ref()) {
            _ if scan && self.span.is_some() => {
                let (first, last) = self.span.unwrap_or_default();
                args.extend([first.into(), last.into()]);
                String::from("FROM contacts c NOT INDEXED WHERE c.seq BETWEEN ? AND ? AND")
            }
            Some(query) => {
                args.extend(search_args(tenant, query));
                format!("FROM ({SEARCH_MATCHES}) m CROSS JOIN contacts c ON c.seq = m.seq")
            }
            None if self.uses_name_order(sort) => {
                args.push(tenant.org_seq.into());
                String::from(
                    "FROM name_order n CROSS JOIN contacts c ON c.seq = n.contact_seq \
                     WHERE n.org_seq = ? AND",
                )
            }
            None if sort.field == SortField::Name && filters.search.is_none() => {
                String::from("FROM contacts c INDEXED BY contacts_by_name_prefix WHERE")
            }
            None => String::from("FROM contacts c WHERE"),
        };
        if !sql.ends_with("WHERE") && !sql.ends_with("AND") {
            sql.push_str(" WHERE");
        }
        sql.push_str(" c.org_seq = ?");
        args.push(tenant.org_seq.into());
        match self.membership {
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
            args.push(language.as_str().to_string().into());
        }
        let (mut unindexed, mut unindexed_args) = (Vec::new(), Vec::new());
        for filter in &filters.metadata {
            if self.declared.has_metadata(&filter.key) {
                let (values, values_args) = metadata_values_condition(tenant, filter);
                let _ = write!(
                    sql,
                    " AND c.seq IN (SELECT contact_seq FROM metadata_values WHERE {values})"
                );
                args.extend(values_args);
            } else {
                let (condition, condition_args) = unindexed_metadata_condition(filter);
                if split {
                    unindexed.push(condition);
                    unindexed_args.extend(condition_args);
                } else {
                    let _ = write!(sql, " AND {condition}");
                    args.extend(condition_args);
                }
            }
        }
        if let Some(callable) = &self.callable {
            sql.push_str(&callable.condition("c"));
        }
        for (bound, column, op) in [
            (filters.created_after, "c.created_at", ">="),
            (filters.created_before, "c.created_at", "<"),
            (filters.updated_after, "c.updated_at", ">="),
            (filters.updated_before, "c.updated_at", "<"),
        ] {
            if let Some(ms) = bound {
                let _ = write!(sql, " AND {column} {op} ?");
                args.push(ms.into());
            }
        }
        WhereParts {
            from: sql,
            args,
            unindexed: unindexed.join(" AND "),
            unindexed_args,
        }
    }

    /// Whether a metadata key is filtered on without a declared index.
    fn has_unindexed(&self) -> bool {
        self.filters
            .metadata
            .iter()
            .any(|f| !self.declared.has_metadata(&f.key))
    }

    /// The first metadata key filtered on without a declared index that
    /// an index can be declared on.
    fn declarable_key(&self) -> Option<&str> {
        self.filters
            .metadata
            .iter()
            .find(|f| !self.declared.has_metadata(&f.key) && is_plain_metadata_key(&f.key))
            .map(|f| f.key.as_str())
    }

    /// The exact number of matching contacts, and how many rows the
    /// undeclared metadata filters were checked on, in one pass.
    ///
    /// Over a span of the table, with `helpers` to borrow connections
    /// from, the span is cut in parts counted at once, one a core: a part
    /// counted on another connection is used only when that connection
    /// saw the organization as this one does (the same change number, which
    /// every write of a contact, membership or call raises), else it is
    /// counted here again. Left out: `callable` (the do-not-call list
    /// changes rows without a change number), declared metadata filters
    /// (dropping an index changes its rows without one either), and a
    /// pool without idle connections to spare for other requests.
    fn count_checked(&self, conn: &Connection, helpers: Option<&Pool>) -> Result<(i64, i64)> {
        let parts = self.where_parts(Sort::default(), true, true);
        let filter = if parts.unindexed.is_empty() {
            "1"
        } else {
            parts.unindexed.as_str()
        };
        let sql = format!(
            "SELECT count(*) FILTER (WHERE {filter}), count(*) {}",
            parts.from
        );
        // The span's first and last row numbers are the first two
        // arguments of `from` (see `where_parts`).
        let count = |conn: &Connection, range: Option<(i64, i64)>| -> Result<(i64, i64)> {
            let mut args = parts.unindexed_args.clone();
            let at = args.len();
            args.extend(parts.args.iter().cloned());
            if let Some((first, last)) = range {
                args[at] = first.into();
                args[at + 1] = last.into();
            }
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(args.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?)
        };
        let (Some(span), Some(pool), None) = (self.span, helpers, self.filters.callable) else {
            return count(conn, None);
        };
        let declared = self
            .filters
            .metadata
            .iter()
            .any(|f| self.declared.has_metadata(&f.key));
        if span.1 - span.0 < PARALLEL_SPAN || declared {
            return count(conn, None);
        }
        let Some(parts) = in_parts(conn, pool, self.tenant.org_seq, span, &|conn, range| {
            count(conn, Some(range))
        })?
        else {
            return count(conn, None);
        };
        let (mut total, mut checked) = (0, 0);
        for (part_total, part_checked) in parts {
            total += part_total;
            checked += part_checked;
        }
        Ok((total, checked))
    }

    /// Whether the rows come in name order from the declared `name_order`
    /// index (a name sort without a search, the index declared).
    fn uses_name_order(&self, sort: Sort) -> bool {
        sort.field == SortField::Name && self.filters.search.is_none() && self.declared.name
    }

    /// The `ORDER BY` of the query that picks a page's rows.
    fn order_by(&self, sort: Sort) -> String {
        if self.uses_name_order(sort) {
            sort.name_order_by()
        } else {
            sort.order_by()
        }
    }

    /// The keyset condition "after (key, id)" for that query.
    fn after(&self, sort: Sort, key: &SqlValue, id: &str) -> (String, Vec<SqlValue>) {
        if self.uses_name_order(sort) {
            sort.name_after(key, id)
        } else {
            sort.after(key, id)
        }
    }

    /// The one metadata filter when it is the listing's only condition and
    /// its key is declared: then the declared index answers it alone.
    fn metadata_alone(&self) -> Option<&MetadataFilter> {
        let filters = &*self.filters;
        match filters.metadata.as_slice() {
            [only]
                if self.declared.has_metadata(&only.key)
                    && filters.search.is_none()
                    && self.membership.is_none()
                    && filters.language.is_none()
                    && filters.created_after.is_none()
                    && filters.created_before.is_none()
                    && filters.updated_after.is_none()
                    && filters.updated_before.is_none()
                    && filters.callable.is_none() =>
            {
                Some(only)
            }
            _ => None,
        }
    }

    /// The exact number of matching contacts when it costs no row reads:
    /// from the kept counters when only membership restricts the listing,
    /// from the organization's range of the search index when only a
    /// search, or a large organization's language, does.
    fn cheap_count(&self, conn: &Connection, helpers: Option<&Pool>) -> Result<Option<i64>> {
        let filters = &*self.filters;
        if filters.search.is_none() && !filters.has_row_conditions() {
            let all: i64 = conn
                .prepare_cached("SELECT contact_count FROM organizations WHERE seq = ?1")?
                .query_row([self.tenant.org_seq], |r| r.get(0))?;
            return Ok(Some(match self.membership {
                None => all,
                Some(Membership::In { count, .. }) => count,
                Some(Membership::NotIn { count, .. }) => all - count,
            }));
        }
        if let (
            Some(Callable {
                total: Some(total), ..
            }),
            None,
        ) = (&self.callable, self.membership)
        {
            if filters.only_callable() {
                return Ok(Some(*total));
            }
        }
        if let Some((query, callable)) = self.search_with_callable() {
            let args = search_args(self.tenant, query);
            return Ok(Some(
                conn.prepare(&callable.search_matches("count(*)"))?
                    .query_row(params_from_iter(args.iter()), |r| r.get(0))?,
            ));
        }
        if let Some(filter) = self.metadata_alone() {
            let (values, args) = metadata_values_condition(self.tenant, filter);
            let sql = format!(
                "SELECT count(*) FROM metadata_values WHERE {values} \
                 AND contact_seq BETWEEN ? AND ?"
            );
            let count = |conn: &Connection, (first, last): (i64, i64)| -> Result<i64> {
                let mut args = args.clone();
                args.extend([first.into(), last.into()]);
                Ok(conn
                    .prepare_cached(&sql)?
                    .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
            };
            return Ok(Some(count_in_parts(conn, self.tenant, helpers, &count)?));
        }
        if let Some(language) = self.language_alone() {
            // The language's own index counts a large organization's
            // matches in one pass (8-14 ms for 166,667 of a million at
            // 10M contacts); its tags in the search index count in parts
            // at once. A small organization keeps the index.
            let query = tags_condition(&language_codes(conn, language)?);
            let count = matches_counter(self.tenant, &query);
            return count_in_parts_only(conn, self.tenant, helpers, &count);
        }
        match self.search_alone() {
            Some(query) => Ok(Some(count_matches(conn, self.tenant, helpers, query)?)),
            None => Ok(None),
        }
    }

    /// The language filter when it is the listing's only condition.
    fn language_alone(&self) -> Option<&Language> {
        let filters = &*self.filters;
        match &filters.language {
            Some(language)
                if self.membership.is_none()
                    && Filters {
                        language: None,
                        ..filters.clone()
                    } == Filters::default() =>
            {
                Some(language)
            }
            _ => None,
        }
    }

    /// The FTS5 query and the `callable` filter when they are the
    /// listing's only conditions: both are answered from indexes.
    fn search_with_callable(&self) -> Option<(&str, &Callable)> {
        let filters = &*self.filters;
        match (&filters.search, &self.callable) {
            (
                Some(SearchPlan {
                    fts: Some(query),
                    literals,
                }),
                Some(callable),
            ) if literals.is_empty()
                && self.membership.is_none()
                && Filters {
                    search: None,
                    callable: None,
                    ..filters.clone()
                } == Filters::default() =>
            {
                Some((query.as_str(), callable))
            }
            _ => None,
        }
    }

    /// The matches of a search alone (filters folded in) or a search with
    /// `callable` alone, as the search index reads them.
    fn index_matches(&self) -> Option<IndexMatches<'static>> {
        if let Some(fts_query) = self.search_alone() {
            let mut leading = search_args(self.tenant, fts_query).to_vec();
            leading.truncate(2);
            return Some(IndexMatches {
                sql: SEARCH_MATCHES.to_string(),
                rowid: "rowid",
                leading,
            });
        }
        let (fts_query, callable) = self.search_with_callable()?;
        let mut leading = callable_search_args(self.tenant, fts_query);
        leading.truncate(3);
        Some(IndexMatches {
            sql: callable.search_matches("t.rowid - ? AS seq"),
            rowid: "t.rowid",
            leading,
        })
    }

    /// The FTS5 query when a search is the listing's only condition.
    fn search_alone(&self) -> Option<&str> {
        match &self.filters.search {
            Some(SearchPlan {
                fts: Some(query),
                literals,
            }) if literals.is_empty()
                && self.membership.is_none()
                && !self.filters.has_row_conditions() =>
            {
                Some(query.as_str())
            }
            _ => None,
        }
    }

    /// The exact number of matching contacts.
    fn count(&self, conn: &Connection) -> Result<i64> {
        if let Some(total) = self.cheap_count(conn, None)? {
            return Ok(total);
        }
        let parts = self.where_parts(Sort::default(), true, false);
        let (sql, args) = (parts.from, parts.args);
        Ok(conn
            .prepare_cached(&format!("SELECT count(*) {sql}"))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
    }
}

/// The rows of a declared metadata index that `filter` matches: a string
/// equal to VALUE, or a number or boolean whose JSON text is VALUE.
fn metadata_values_condition(tenant: &Tenant, filter: &MetadataFilter) -> (String, Vec<SqlValue>) {
    let mut args: Vec<SqlValue> = vec![
        tenant.org_seq.into(),
        filter.key.clone().into(),
        filter.value.clone().into(),
    ];
    let condition = match serde_json::from_str::<serde_json::Value>(&filter.value) {
        Ok(serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
            args.push(filter.value.clone().into());
            "org_seq = ? AND key = ? AND value IN (json_quote(?), ?)"
        }
        _ => "org_seq = ? AND key = ? AND value = json_quote(?)",
    };
    (condition.to_string(), args)
}

/// The audience filter of `filters` resolved to its row and count (an
/// unknown audience is `NotFound`).
fn membership(conn: &Connection, tenant: &Tenant, filters: &Filters) -> Result<Option<Membership>> {
    Ok(match &filters.audience {
        None => None,
        Some(filter) => {
            let audience = audiences::get(conn, tenant, &filter.audience_id)?;
            let (audience_seq, count) = (audience.seq, audience.contact_count);
            Some(if filter.members {
                Membership::In {
                    audience_seq,
                    count,
                }
            } else {
                Membership::NotIn {
                    audience_seq,
                    count,
                }
            })
        }
    })
}

/// Calls `each` with every contact matching `request`'s filters, in its
/// sort order, whatever its window and limit (an export), in one
/// statement; stops early when `each` answers `false`.
pub(crate) fn for_each(
    conn: &Connection,
    tenant: &Tenant,
    request: &ListRequest,
    mut each: impl FnMut(Contact) -> bool,
) -> Result<()> {
    let plan = plan(conn, tenant, request)?;
    let (sql, args) = plan.where_clause(request.sort);
    let query = format!(
        "SELECT {COLUMNS} {sql} ORDER BY {}",
        plan.order_by(request.sort)
    );
    let mut stmt = conn.prepare(&query)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(row) = rows.next()? {
        if !each(from_row(row)?) {
            break;
        }
    }
    Ok(())
}

/// The page query reading the organization's rows `seqs`, in `order_by`.
fn rows_by_seq(tenant: &Tenant, seqs: &[i64], order_by: &str) -> (String, Vec<SqlValue>) {
    let seqs = serde_json::to_string(seqs).expect("integers serialize");
    (
        format!(
            "SELECT {COLUMNS}, NULL FROM contacts c
             WHERE c.seq IN (SELECT value FROM json_each(?))
             AND +c.org_seq = ?
             ORDER BY {order_by}"
        ),
        vec![seqs.into(), tenant.org_seq.into()],
    )
}

/// One page of the tenant's contacts.
///
/// `helpers`: the pool to borrow connections from for counting in
/// parallel (none: everything on `conn`).
pub(crate) fn list(
    conn: &Connection,
    tenant: &Tenant,
    request: &ListRequest,
    helpers: Option<&Pool>,
) -> Result<ListPage> {
    let plan = plan(conn, tenant, request)?;
    let mut cheap_total = plan.cheap_count(conn, helpers)?;
    // Undeclared metadata filters read every candidate row anyway: count
    // first, in one pass that also tells how many rows that was, and skip
    // the page's query when the window starts past the end.
    let mut scan = None;
    if let (None, None, true) = (cheap_total, &request.filters.search, plan.has_unindexed()) {
        let (total, rows) = plan.count_checked(conn, helpers)?;
        cheap_total = Some(total);
        scan = Some(Scan {
            key: plan.declarable_key().map(str::to_string),
            rows,
        });
        if matches!(request.window, Window::Offset(offset) if offset >= total) {
            return Ok(ListPage {
                rows: Vec::new(),
                total,
                has_more: false,
                scan,
            });
        }
    }
    let sort = request.sort;
    let order_by = sort.order_by();
    let pick_order = plan.order_by(sort);
    let index_matches = plan.index_matches();
    // One row more than the page tells whether another page follows.
    let fetch = request.limit + 1;

    let (query, args) = match (&request.window, plan.search_alone()) {
        // The declared index of the one metadata filter holds its matches
        // in row-number order, which is (created_at, id) order: take the
        // page's row numbers from it, then read just those rows.
        (Window::Offset(offset), None)
            if sort.field == SortField::CreatedAt && plan.metadata_alone().is_some() =>
        {
            let filter = plan.metadata_alone().expect("checked above");
            let (values, mut args) = metadata_values_condition(tenant, filter);
            args.extend([fetch.into(), (*offset).into(), tenant.org_seq.into()]);
            let direction = sort.direction();
            (
                format!(
                    "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                         SELECT contact_seq FROM metadata_values WHERE {values}
                         ORDER BY contact_seq {direction} LIMIT ? OFFSET ?)
                     AND +c.org_seq = ?
                     ORDER BY {order_by}"
                ),
                args,
            )
        }
        // An organization's (created_at, id) order is its row-number order
        // (see `contacts::NewRows`), which is the search index's own order:
        // take the page's row numbers from the organization's range of the
        // index, then read just those rows. Newest first, they are read
        // forwards over the newest part of the range (`newest_matches`);
        // after a cursor, over the range on its side (`matches_after`).
        // For a search alone (filters folded in) and a search with
        // `callable`.
        (Window::Offset(offset), _)
            if sort.field == SortField::CreatedAt
                && sort.descending
                && cheap_total.is_some()
                && index_matches.is_some() =>
        {
            let matches = index_matches.as_ref().expect("checked above");
            let total = cheap_total.expect("checked above");
            let seqs = newest_matches(conn, tenant, matches, total, None, *offset, fetch)?;
            rows_by_seq(tenant, &seqs, &order_by)
        }
        (Window::After { key, id }, _)
            if sort.field == SortField::CreatedAt
                && cheap_total.is_some()
                && index_matches.is_some() =>
        {
            let matches = index_matches.as_ref().expect("checked above");
            let total = cheap_total.expect("checked above");
            let after = (&sql_key(key), id.as_str());
            let seqs = matches_after(conn, tenant, matches, total, sort.descending, after, fetch)?;
            rows_by_seq(tenant, &seqs, &order_by)
        }
        // Oldest first: straight from the index. The organization is
        // checked on each row too; `+` keeps the planner from scanning the
        // organization's rows by that condition instead.
        (Window::Offset(offset), Some(fts_query)) if sort.field == SortField::CreatedAt => {
            let mut args = search_args(tenant, fts_query).to_vec();
            args.extend([fetch.into(), (*offset).into(), tenant.org_seq.into()]);
            let direction = sort.direction();
            (
                format!(
                    "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                         {SEARCH_MATCHES} ORDER BY rowid {direction} LIMIT ? OFFSET ?)
                     AND +c.org_seq = ?
                     ORDER BY {order_by}"
                ),
                args,
            )
        }
        // A search and `callable` alone, oldest first: the page's row
        // numbers come from the two indexes in the search index's order,
        // which stops at the page's end; then just those rows are read.
        (Window::Offset(offset), _)
            if sort.field == SortField::CreatedAt && plan.search_with_callable().is_some() =>
        {
            let (fts_query, callable) = plan.search_with_callable().expect("checked above");
            let mut args = callable_search_args(tenant, fts_query);
            args.extend([fetch.into(), (*offset).into(), tenant.org_seq.into()]);
            let direction = sort.direction();
            let matches = callable.search_matches("t.rowid - ? AS seq");
            (
                format!(
                    "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                         {matches} ORDER BY t.rowid {direction} LIMIT ? OFFSET ?)
                     AND +c.org_seq = ?
                     ORDER BY {order_by}"
                ),
                args,
            )
        }
        // Undeclared metadata filters over the organization's span: read
        // the table in row order, newest (or oldest) first, until the
        // page is full.
        (Window::Offset(offset), _)
            if plan.span.is_some() && sort.field == SortField::CreatedAt =>
        {
            let parts = plan.where_parts(sort, true, false);
            let mut args = parts.args;
            args.extend([fetch.into(), (*offset).into()]);
            let direction = sort.direction();
            (
                format!(
                    "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                         SELECT c.seq {} ORDER BY c.seq {direction} LIMIT ? OFFSET ?)
                     ORDER BY {order_by}",
                    parts.from
                ),
                args,
            )
        }
        // With a search the matches are joined to their rows anyway; count
        // them in the same pass that orders them (a window over the
        // matches), not in a second query.
        (Window::Offset(offset), _) if cheap_total.is_none() && plan.filters.search.is_some() => {
            let (sql, mut args) = plan.where_clause(sort);
            args.extend([fetch.into(), (*offset).into()]);
            (
                format!(
                    "SELECT {COLUMNS}, p.total FROM (
                         SELECT c.seq AS seq, count(*) OVER () AS total {sql}
                         ORDER BY {order_by} LIMIT ? OFFSET ?) p
                     CROSS JOIN contacts c ON c.seq = p.seq
                     ORDER BY {order_by}"
                ),
                args,
            )
        }
        // Order and skip on (sort key, id, row number) alone, which an
        // index covers or a search match yields without reading whole
        // rows; read whole rows only for the page itself.
        (window, _) => {
            let (mut sql, mut args) = plan.where_clause(sort);
            let offset = match window {
                Window::Offset(offset) => *offset,
                Window::After { key, id } => {
                    let (condition, after_args) = plan.after(sort, &sql_key(key), id);
                    sql.push_str(&condition);
                    args.extend(after_args);
                    0
                }
            };
            args.extend([fetch.into(), offset.into()]);
            (
                format!(
                    "SELECT {COLUMNS}, NULL FROM contacts c WHERE c.seq IN (
                         SELECT c.seq {sql}
                         ORDER BY {pick_order} LIMIT ? OFFSET ?)
                     ORDER BY {order_by}"
                ),
                args,
            )
        }
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
        (None, None) => plan.count(conn)?,
    };
    let limit = usize::try_from(request.limit).unwrap_or(0);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Ok(ListPage {
        rows,
        total,
        has_more,
        scan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexes::IndexField;
    use crate::{contacts, Db};
    use contactsd_domain::listing::CallableFilter;
    use contactsd_domain::{search, Language};
    use contactsd_domain::{Metadata, Name, NewContact, PhoneNumber};

    thread_local! {
        /// Answers without the search index's tags: the reference the
        /// folded queries are checked against.
        pub(super) static UNFOLDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Two organizations whose contacts alternate row by row, so their
    /// search-index entries interleave in time.
    fn interleaved() -> (tempfile::TempDir, Db, Tenant, Tenant) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (a, _) = db.create_org("a").unwrap();
        let (b, _) = db.create_org("b").unwrap();
        let (a, b) = (Tenant::of_org(&a), Tenant::of_org(&b));
        db.write_now(|tx| {
            for i in 0..60 {
                for (t, who) in [(&a, "Alpha"), (&b, "Beta")] {
                    let metadata = serde_json::json!({"n": i % 3, "k\u{1}": "x", "é": i % 2 == 0});
                    contacts::insert(
                        tx,
                        t,
                        NewContact {
                            name: Name::parse(&format!("{who} Person{i}")).unwrap(),
                            phone: PhoneNumber::parse(&format!("+1415555{:04}", 1000 + i)).unwrap(),
                            language: Language::parse(if i % 2 == 0 { "hi-IN" } else { "en" }),
                            metadata: Metadata::from_json("metadata", &metadata).unwrap(),
                        },
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
        (dir, db, a, b)
    }

    #[test]
    fn counting_in_parallel_parts_answers_as_one_pass_does() {
        // 60 rows of each organization, alternating: a span of 119 rows,
        // cut in parts (over 16 rows in tests) counted on other pooled
        // connections.
        let (_dir, db, a, b) = interleaved();
        let conn = db.pool.get().unwrap();
        let metadata = |pairs: &[(&str, &str)]| Filters {
            metadata: pairs
                .iter()
                .map(|(key, value)| MetadataFilter {
                    key: (*key).into(),
                    value: (*value).into(),
                })
                .collect(),
            ..Filters::default()
        };
        let cases = [
            metadata(&[("n", "1")]),
            metadata(&[("n", "0"), ("é", "true")]),
            metadata(&[("k\u{1}", "x")]),
            metadata(&[("n", "7")]),
            Filters {
                created_before: Some(i64::MAX),
                ..metadata(&[("é", "false")])
            },
        ];
        let searches = [
            search("person1"),
            search("alpha"),
            search("zzz"),
            Filters {
                language: Language::parse("hi-IN"),
                ..search("person")
            },
        ];
        // Metadata scans (which also say how many rows they read), then
        // searches, alone and with a language, counted inside the search
        // index in parts.
        let scans = cases.iter().map(|f| (f, true));
        for (filters, scan) in scans.chain(searches.iter().map(|f| (f, false))) {
            for tenant in [&a, &b] {
                let req = request(filters.clone(), Sort::default(), Window::Offset(0), 100);
                let alone = list(&conn, tenant, &req, None).unwrap();
                let parallel = list(&conn, tenant, &req, Some(&db.pool)).unwrap();
                assert_eq!(parallel.total, alone.total, "{filters:?}");
                assert_eq!(names(&parallel), names(&alone), "{filters:?}");
                assert_eq!(parallel.scan, alone.scan, "{filters:?}");
                assert_eq!(
                    alone.total,
                    i64::try_from(alone.rows.len()).unwrap(),
                    "{filters:?}"
                );
                if scan {
                    assert_eq!(alone.scan.as_ref().map(|s| s.rows), Some(60));
                }
            }
        }
        // A declared metadata key: counted in its index, in parts.
        for tenant in [&a, &b] {
            declare_and_fill(&db, tenant, &IndexField::Metadata("n".into()));
        }
        for filters in [metadata(&[("n", "1")]), metadata(&[("n", "7")])] {
            for tenant in [&a, &b] {
                let req = request(filters.clone(), Sort::default(), Window::Offset(0), 100);
                let alone = list(&conn, tenant, &req, None).unwrap();
                let parallel = list(&conn, tenant, &req, Some(&db.pool)).unwrap();
                assert_eq!(alone.scan, None, "{filters:?}");
                assert_eq!(parallel.total, alone.total, "{filters:?}");
                assert_eq!(names(&parallel), names(&alone), "{filters:?}");
                assert_eq!(
                    alone.total,
                    i64::try_from(alone.rows.len()).unwrap(),
                    "{filters:?}"
                );
            }
        }
    }

    #[test]
    fn a_newest_first_search_reads_back_until_its_page_is_whole() {
        // 200 old matches, 196 rows that do not match, then 4 new matches:
        // the newest part of the range first read (64 rows at least) holds
        // only 4 matches, so pages that reach past them must widen it. The
        // same with the `callable` filter, which halves the matches.
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (org, _) = db.create_org("a").unwrap();
        let tenant = Tenant::of_org(&org);
        db.write_now(|tx| {
            for i in 0..400 {
                let who = if (200..396).contains(&i) {
                    "Other"
                } else {
                    "Sharma"
                };
                contacts::insert(
                    tx,
                    &tenant,
                    NewContact {
                        name: Name::parse(&format!("{who} Person{i}")).unwrap(),
                        // New York and San Francisco, alternately.
                        phone: PhoneNumber::parse(&format!(
                            "+1{}555{:04}",
                            if i % 2 == 0 { 212 } else { 415 },
                            1000 + i
                        ))
                        .unwrap(),
                        language: Language::parse("en"),
                        metadata: Metadata::from_json("metadata", &serde_json::json!({})).unwrap(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
        let conn = db.pool.get().unwrap();
        let oldest_first = Sort {
            descending: false,
            ..Sort::default()
        };
        // 16:30 UTC on a Monday: 11:30 in New York, inside the default
        // calling hours; 08:30 in San Francisco, outside them.
        let callable = |wanted| Filters {
            callable: Some(CallableFilter {
                wanted,
                at: 1_796_661_000_000,
            }),
            ..search("sharma")
        };
        for filters in [search("sharma"), callable(true), callable(false)] {
            // The reference: oldest first, in one page, reversed.
            let everything = request(filters.clone(), oldest_first, Window::Offset(0), 1000);
            let mut expected = names(&list(&conn, &tenant, &everything, None).unwrap());
            expected.reverse();
            let total = i64::try_from(expected.len()).unwrap();
            if filters.callable.is_none() {
                assert_eq!(total, 204);
            } else {
                assert_eq!(total, 102, "{filters:?}");
            }
            for limit in [1, 2, 3, 7, 50] {
                for offset in 0..=total + 2 {
                    let req = request(
                        filters.clone(),
                        Sort::default(),
                        Window::Offset(offset),
                        limit,
                    );
                    let page = list(&conn, &tenant, &req, None).unwrap();
                    let from = usize::try_from(offset).unwrap().min(expected.len());
                    let to = (from + usize::try_from(limit).unwrap()).min(expected.len());
                    let at = format!("{filters:?}, offset {offset}, limit {limit}");
                    assert_eq!(names(&page), expected[from..to], "{at}");
                    assert_eq!(page.total, total, "{at}");
                    assert_eq!(page.has_more, to < expected.len(), "{at}");
                }
            }
            // By cursor, newest and oldest first.
            for descending in [true, false] {
                let sort = Sort {
                    descending,
                    ..Sort::default()
                };
                let mut expected = expected.clone();
                if !descending {
                    expected.reverse();
                }
                for limit in [1, 3, 50] {
                    let pages = cursor_pages(&conn, &tenant, &filters, sort, limit, expected.len());
                    for page in &pages {
                        assert_eq!(page.total, total, "{filters:?} {sort:?} {limit}");
                    }
                    let got: Vec<String> = pages.iter().flat_map(names).collect();
                    assert_eq!(got, expected, "{filters:?} {sort:?} {limit}");
                }
            }
        }
        // After a cursor whose row has since been deleted: the rows after
        // where it stood, either way.
        let newest = Sort::default();
        let all = request(search("sharma"), newest, Window::Offset(0), 1000);
        let rows = list(&conn, &tenant, &all, None).unwrap().rows;
        let gone = rows[10].clone();
        let after_gone = Window::After {
            key: newest.key_of(&gone.row_key()),
            id: gone.id.clone(),
        };
        db.write_now(|tx| contacts::delete(tx, &tenant, &gone.id))
            .unwrap();
        let names_of = |rows: &[Contact]| -> Vec<String> {
            rows.iter().map(|c| c.name.as_str().to_string()).collect()
        };
        for (sort, expected) in [
            (newest, names_of(&rows[11..14])),
            (oldest_first, {
                let mut older = names_of(&rows[7..10]);
                older.reverse();
                older
            }),
        ] {
            let req = request(search("sharma"), sort, after_gone.clone(), 3);
            let page = list(&conn, &tenant, &req, None).unwrap();
            assert_eq!(names(&page), expected, "{sort:?}");
        }
    }

    /// Declares `field` for `tenant` and fills it, batch by batch.
    fn declare_and_fill(db: &Db, tenant: &Tenant, field: &IndexField) {
        let index = match db
            .write_now(|tx| indexes::declare(tx, tenant, field))
            .unwrap()
        {
            indexes::Declaration::Ready(index) | indexes::Declaration::Fill(index, _) => index,
        };
        let mut after = None;
        while let Some((last, _)) = db
            .write_now(|tx| indexes::fill_batch(tx, tenant, &index, after.as_ref()))
            .unwrap()
        {
            after = Some(last);
        }
    }

    fn request(filters: Filters, sort: Sort, window: Window, limit: i64) -> ListRequest {
        ListRequest {
            filters,
            sort,
            limit,
            window,
        }
    }

    /// A contact of `name`, `phone` and `language`, without metadata.
    fn plain_contact(name: &str, phone: &str, language: Option<&str>) -> NewContact {
        NewContact {
            name: Name::parse(name).unwrap(),
            phone: PhoneNumber::parse(phone).unwrap(),
            language: language.and_then(Language::parse),
            metadata: Metadata::from_json("metadata", &serde_json::json!({})).unwrap(),
        }
    }

    fn search(text: &str) -> Filters {
        Filters {
            search: search::compile(text).unwrap(),
            ..Filters::default()
        }
    }

    fn names(page: &ListPage) -> Vec<String> {
        page.rows
            .iter()
            .map(|c| c.name.as_str().to_string())
            .collect()
    }

    /// Every page of `filters` in `sort`, by offset and by cursor.
    /// Every page of the listing by cursor, `limit` rows a page; fails
    /// instead of spinning when the pages hold more than `at_most` rows.
    fn cursor_pages(
        conn: &Connection,
        tenant: &Tenant,
        filters: &Filters,
        sort: Sort,
        limit: i64,
        at_most: usize,
    ) -> Vec<ListPage> {
        let (mut pages, mut rows, mut window) = (Vec::new(), 0, Window::Offset(0));
        loop {
            let req = request(filters.clone(), sort, window, limit);
            let page = list(conn, tenant, &req, None).unwrap();
            rows += page.rows.len();
            assert!(
                rows <= at_most,
                "{filters:?} {sort:?}: more rows by cursor than {at_most}"
            );
            let next = match page.rows.last() {
                Some(last) if page.has_more => Some(Window::After {
                    key: sort.key_of(&last.row_key()),
                    id: last.id.clone(),
                }),
                _ => None,
            };
            pages.push(page);
            match next {
                Some(next) => window = next,
                None => return pages,
            }
        }
    }

    fn all_pages(
        conn: &Connection,
        tenant: &Tenant,
        filters: &Filters,
        sort: Sort,
    ) -> Vec<Vec<String>> {
        let mut by_offset = Vec::new();
        let mut offset = 0;
        let mut total = None;
        loop {
            let page = list(
                conn,
                tenant,
                &request(filters.clone(), sort, Window::Offset(offset), 7),
                None,
            )
            .unwrap();
            by_offset.extend(names(&page));
            total = total.or(Some(page.total));
            offset += 7;
            if !page.has_more {
                break;
            }
        }
        let by_cursor = cursor_pages(conn, tenant, filters, sort, 7, by_offset.len())
            .iter()
            .flat_map(names)
            .collect();
        let total = total.unwrap_or_default();
        assert_eq!(
            total,
            i64::try_from(by_offset.len()).unwrap(),
            "{filters:?}"
        );
        vec![by_offset, by_cursor]
    }

    #[test]
    fn every_query_shape_sees_its_own_organization_alone() {
        let (_dir, db, a, b) = interleaved();
        let conn = db.pool.get().unwrap();
        let sorts = [
            Sort::default(),
            Sort {
                field: SortField::CreatedAt,
                descending: false,
            },
            Sort {
                field: SortField::Name,
                descending: false,
            },
            Sort {
                field: SortField::UpdatedAt,
                descending: true,
            },
        ];
        let filter_sets = [
            Filters::default(),
            search("person"),
            search("pe"),
            search("415555"),
            Filters {
                language: Language::parse("hi-IN"),
                ..search("person1")
            },
            Filters {
                metadata: vec![MetadataFilter {
                    key: "n".into(),
                    value: "1".into(),
                }],
                ..Filters::default()
            },
        ];
        for (tenant, mine, theirs) in [(&a, "Alpha", "Beta"), (&b, "Beta", "Alpha")] {
            for filters in &filter_sets {
                let expected = list(
                    &conn,
                    tenant,
                    &request(filters.clone(), Sort::default(), Window::Offset(0), 100),
                    None,
                )
                .unwrap();
                assert!(expected.total > 0, "{filters:?}");
                assert_eq!(expected.total, i64::try_from(expected.rows.len()).unwrap());
                for sort in sorts {
                    for pages in all_pages(&conn, tenant, filters, sort) {
                        assert_eq!(
                            i64::try_from(pages.len()).unwrap(),
                            expected.total,
                            "{filters:?} {sort:?}"
                        );
                        assert!(pages.iter().all(|n| n.starts_with(mine)), "{pages:?}");
                        assert!(!pages.iter().any(|n| n.starts_with(theirs)));
                        let mut sorted = pages.clone();
                        sorted.sort();
                        let mut all = names(&expected);
                        all.sort();
                        assert_eq!(sorted, all, "{filters:?} {sort:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn metadata_keys_a_json_path_cannot_name_still_match() {
        let (_dir, db, a, _) = interleaved();
        let conn = db.pool.get().unwrap();
        for (key, value, expected) in [
            ("k\u{1}", "x", 60),
            ("é", "true", 30),
            ("n", "2", 20),
            ("k", "x", 0),
        ] {
            let filters = Filters {
                metadata: vec![MetadataFilter {
                    key: key.into(),
                    value: value.into(),
                }],
                ..Filters::default()
            };
            let page = list(
                &conn,
                &a,
                &request(filters, Sort::default(), Window::Offset(0), 100),
                None,
            )
            .unwrap();
            assert_eq!(page.total, expected, "{key:?}={value}");
        }
    }

    #[test]
    fn declared_indexes_answer_exactly_as_the_rows_do_and_stay_exact() {
        let (_dir, db, a, b) = interleaved();
        let sorts = [
            Sort::default(),
            Sort {
                field: SortField::CreatedAt,
                descending: false,
            },
            Sort {
                field: SortField::Name,
                descending: false,
            },
            Sort {
                field: SortField::Name,
                descending: true,
            },
        ];
        let metadata = |key: &str, value: &str| MetadataFilter {
            key: key.into(),
            value: value.into(),
        };
        let filter_sets = [
            Filters::default(),
            Filters {
                metadata: vec![metadata("n", "1")],
                ..Filters::default()
            },
            Filters {
                metadata: vec![metadata("n", "2"), metadata("é", "true")],
                ..Filters::default()
            },
            Filters {
                metadata: vec![metadata("n", "0")],
                language: Language::parse("hi-IN"),
                ..Filters::default()
            },
            Filters {
                metadata: vec![metadata("n", "9")],
                ..Filters::default()
            },
        ];
        let every = |db: &Db| -> Vec<Vec<Vec<String>>> {
            let conn = db.pool.get().unwrap();
            let mut out = Vec::new();
            for filters in &filter_sets {
                for sort in sorts {
                    out.push(all_pages(&conn, &a, filters, sort));
                }
            }
            out
        };
        let before = every(&db);
        for field in [IndexField::Name, IndexField::Metadata("n".into())] {
            declare_and_fill(&db, &a, &field);
        }
        assert_eq!(every(&db), before);
        // Writes keep them exact: a changed name and metadata value, a
        // deleted contact, a new one; the other organization's writes
        // touch nothing of a's.
        db.write_now(|tx| {
            let page = list(
                tx,
                &a,
                &request(Filters::default(), Sort::default(), Window::Offset(0), 3),
                None,
            )?;
            let fields = contactsd_domain::ContactFields {
                name: Name::parse("Aardvark First"),
                metadata: Some(
                    Metadata::from_json("metadata", &serde_json::json!({"n": 1})).unwrap(),
                ),
                ..Default::default()
            };
            contacts::update(tx, &a, &page.rows[0].id, fields)?;
            contacts::delete(tx, &a, &page.rows[1].id)?;
            contacts::insert(
                tx,
                &a,
                NewContact {
                    name: Name::parse("Alpha Zed").unwrap(),
                    phone: PhoneNumber::parse("+14155559999").unwrap(),
                    language: None,
                    metadata: Metadata::from_json("metadata", &serde_json::json!({"n": 1}))
                        .unwrap(),
                },
            )?;
            contacts::delete(
                tx,
                &b,
                &list(
                    tx,
                    &b,
                    &request(Filters::default(), Sort::default(), Window::Offset(0), 1),
                    None,
                )?
                .rows[0]
                    .id,
            )?;
            Ok(())
        })
        .unwrap();
        let declared_now = every(&db);
        for field in [IndexField::Name, IndexField::Metadata("n".into())] {
            db.write_now(|tx| indexes::drop_index(tx, &a, &field))
                .unwrap();
        }
        assert_eq!(declared_now, every(&db));
        let conn = db.pool.get().unwrap();
        let left: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM metadata_values) + (SELECT count(*) FROM name_order)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_fill_stops_when_its_declaration_is_dropped() {
        let (_dir, db, a, _) = interleaved();
        let field = IndexField::Metadata("n".into());
        let Ok(indexes::Declaration::Fill(index, true)) =
            db.write_now(|tx| indexes::declare(tx, &a, &field))
        else {
            panic!("a new declaration to fill");
        };
        db.write_now(|tx| indexes::drop_index(tx, &a, &field))
            .unwrap();
        let filled = db
            .write_now(|tx| indexes::fill_batch(tx, &a, &index, None))
            .unwrap();
        assert!(filled.is_none());
        let conn = db.pool.get().unwrap();
        let (values, retired): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM metadata_values),
                        (SELECT count(*) FROM retired_tag_keys WHERE key = 'n')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((values, retired), (0, 1));
    }

    /// A database made before migration 17 has its search index rebuilt
    /// as windows when opened: names, phone digits, word starts and
    /// languages are all found again, and new contacts join them.
    #[test]
    fn migration_17_rebuilds_the_search_index_from_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            crate::migrations().to_version(&mut conn, 16).unwrap();
            conn.execute_batch(
                "INSERT INTO organizations (seq, id, name, created_at) VALUES (1, 'org_a', 'A', 0);
                 INSERT INTO contacts (id, org_seq, name, name_key, initials, phone, language,
                                       created_at, updated_at, change_seq)
                 VALUES ('c1', 1, 'Priya Sharma', 'priya sharma', '^^Pr ^^Sh', '+919876543210', 'hi-IN', 1, 1, 1),
                        ('c2', 1, 'José Álvarez', 'josé álvarez', '^^Jo ^^Ál', '+14155550100', 'es', 2, 2, 2);
                 UPDATE organizations SET change_seq = 2 WHERE seq = 1;",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let tenant = Tenant::of_org(&db.list_orgs().unwrap()[0]);
        db.write_now(|tx| {
            contacts::insert(
                tx,
                &tenant,
                plain_contact("Ravi Sharman", "+919812345678", Some("hi-IN")),
            )
            .map(|_| ())
        })
        .unwrap();
        let conn = db.pool.get().unwrap();
        let found = |filters: Filters| -> Vec<String> {
            let req = request(filters, Sort::default(), Window::Offset(0), 100);
            let mut found = names(&list(&conn, &tenant, &req, None).unwrap());
            found.sort();
            found
        };
        let both = vec!["Priya Sharma".to_string(), "Ravi Sharman".to_string()];
        assert_eq!(found(search("harm")), both);
        assert_eq!(found(search("alvarez")), ["José Álvarez"]);
        assert_eq!(found(search("98765")), ["Priya Sharma"]);
        assert_eq!(found(search("+91 98")), both);
        assert_eq!(found(search("sh")), both);
        assert_eq!(found(search("á")), ["José Álvarez"]);
        let hindi = |text: &str| Filters {
            language: Language::parse("hi-IN"),
            ..search(text)
        };
        assert_eq!(found(hindi("sharma")), both);
        assert_eq!(found(hindi("jose")), Vec::<String>::new());
    }

    /// The search index of windows (migration 17) against the rule it
    /// keeps: a term of three characters or more matches any substring of
    /// a name, ignoring case and accents. Every substring of every name
    /// (runs shorter than, as long as and longer than a window) finds it;
    /// among names of ASCII alone, a term finds exactly those holding it,
    /// ignoring case, including terms longer than a window over periodic
    /// runs, where windows of a term also lie elsewhere in a name.
    #[test]
    fn a_search_term_finds_exactly_the_names_that_hold_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (org, _) = db.create_org("a").unwrap();
        let tenant = Tenant::of_org(&org);
        let mut ascii: Vec<String> = [
            "Priya Sharma",
            "O'Brien-Smith",
            "abababababababababab",
            "ababababababababababababababc",
            "xyzxyzxyzxyzxyzxyzxyzxyzq",
            "Abcdefghijklmnopqrstuvwxyz",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab b",
        ]
        .map(String::from)
        .to_vec();
        // Runs of a small alphabet, so that terms repeat across names.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let alphabet: Vec<char> = "abAB.'-".chars().collect();
        for _ in 0..40 {
            let runs: Vec<String> = (0..=next(2))
                .map(|_| {
                    (0..3 + next(28))
                        .map(|_| alphabet[usize::try_from(next(7)).unwrap()])
                        .collect()
                })
                .collect();
            ascii.push(runs.join(" "));
        }
        let unicode = [
            "José Álvarez",
            "राम शर्मा",
            "Zoë d'Arcy",
            "Nguyễn Thưởng",
            "தமிழ்செல்வி",
        ];
        // Typed with combining accents, and with U+180E (a separator in
        // SQLite's Unicode tables, not white space): checked one by one.
        let decomposed = "Ame\u{301}lie-Beaumont-Roy";
        let others = [
            decomposed,
            "Amélie-Beaumont-Roi",
            "ab\u{180E}cdef",
            "Xäb cdef",
        ];
        db.write_now(|tx| {
            for (i, name) in ascii
                .iter()
                .map(String::as_str)
                .chain(unicode)
                .chain(others)
                .enumerate()
            {
                contacts::insert(
                    tx,
                    &tenant,
                    plain_contact(name, &format!("+1415555{:04}", 1000 + i), None),
                )?;
            }
            Ok(())
        })
        .unwrap();
        let conn = db.pool.get().unwrap();
        let found = |term: &str| -> std::collections::BTreeSet<String> {
            let req = request(search(term), Sort::default(), Window::Offset(0), 100);
            let page = list(&conn, &tenant, &req, None).unwrap();
            assert_eq!(
                page.total,
                i64::try_from(page.rows.len()).unwrap(),
                "{term}"
            );
            names(&page).into_iter().collect()
        };
        let substrings = |name: &str| -> Vec<String> {
            let mut terms = Vec::new();
            for run in name.split_whitespace() {
                let chars: Vec<char> = run.chars().collect();
                for start in 0..chars.len() {
                    for end in start + 3..=chars.len() {
                        terms.push(chars[start..end].iter().collect());
                    }
                }
            }
            terms
        };
        let mut terms = std::collections::BTreeSet::new();
        for name in &ascii {
            terms.extend(substrings(name));
        }
        for length in 3..=24 {
            terms.insert("ab".repeat(length).chars().take(length).collect::<String>());
            terms.insert(format!("{}b", "a".repeat(length - 1)));
        }
        for term in &terms {
            let expected: std::collections::BTreeSet<String> = ascii
                .iter()
                .filter(|name| name.to_lowercase().contains(&term.to_lowercase()))
                .cloned()
                .collect();
            for asked in [term.clone(), term.to_uppercase()] {
                let ascii_found: std::collections::BTreeSet<String> =
                    found(&asked).into_iter().filter(|n| n.is_ascii()).collect();
                assert_eq!(ascii_found, expected, "{asked}");
            }
        }
        for name in unicode {
            for term in substrings(name) {
                assert!(found(&term).contains(name), "{term} in {name}");
            }
        }
        for (term, name) in [
            ("jose", "José Álvarez"),
            ("ÁLVAREZ", "José Álvarez"),
            ("alvar", "José Álvarez"),
            ("zoe", "Zoë d'Arcy"),
            ("nguyen", "Nguyễn Thưởng"),
            ("thuong", "Nguyễn Thưởng"),
        ] {
            assert!(found(term).contains(name), "{term} in {name}");
        }
        assert!(found("राम").contains("राम शर्मा"));
        assert!(!found("रमा").contains("राम शर्मा"));
        let both: std::collections::BTreeSet<String> =
            [decomposed, "Amélie-Beaumont-Roi"].map(String::from).into();
        for term in [
            "amelie-beaumont-r",
            "Amélie-Beaumont-R",
            "ame\u{301}lie-beaumont-r",
            "melie",
        ] {
            assert_eq!(found(term), both, "{term}");
        }
        for term in [
            "amelie-beaumont-roy",
            "Amélie-Beaumont-Roy",
            "e\u{301}lie-beaumont-roy",
        ] {
            assert_eq!(found(term), [decomposed.to_string()].into(), "{term}");
        }
        // A letter and two accents is a one-letter term: word starts only.
        assert_eq!(found("m\u{301}\u{301}"), std::collections::BTreeSet::new());
        assert!(found("a\u{301}\u{301}").contains(decomposed));
        assert_eq!(found("b\u{180E}cd"), ["ab\u{180E}cdef".to_string()].into());
        assert_eq!(found("ab\u{180E}"), ["ab\u{180E}cdef".to_string()].into());
        assert_eq!(found("\u{180E}cde"), ["ab\u{180E}cdef".to_string()].into());
        let cdef = found("cdef");
        assert!(cdef.contains("ab\u{180E}cdef") && cdef.contains("Xäb cdef"));
    }

    #[test]
    fn the_search_index_tags_answer_as_the_rows_do_and_stay_exact() {
        let (_dir, db, a, b) = interleaved();
        let metadata = |pairs: &[(&str, &str)]| -> Vec<MetadataFilter> {
            pairs
                .iter()
                .map(|(key, value)| MetadataFilter {
                    key: (*key).into(),
                    value: (*value).into(),
                })
                .collect()
        };
        let with = |search_text: &str, language: &str, pairs: &[(&str, &str)]| Filters {
            search: search::compile(search_text).unwrap(),
            language: Language::parse(language),
            metadata: metadata(pairs),
            ..Filters::default()
        };
        let filter_sets = [
            with("person1", "hi-IN", &[]),
            with("alpha", "en", &[]),
            with("person", "fr", &[]),
            with("pe", "hi-IN", &[]),
            with("", "hi-IN", &[("n", "1")]),
            with("person2", "", &[("n", "2")]),
            with("", "", &[("n", "0"), ("é", "true")]),
            with("alpha", "hi-IN", &[("n", "0"), ("é", "true")]),
            with("alpha", "en", &[("n", "\"1\"")]),
            with("person10", "", &[("n", "1")]),
            with("", "fr", &[("n", "1")]),
            with("", "en", &[("é", "false"), ("k\u{1}", "x")]),
            // A language alone: a large organization counts it from the
            // tags, in parts, and the index answers the reference.
            with("", "hi-IN", &[]),
            with("", "fr", &[]),
            with("", "de", &[]),
            Filters {
                created_after: Some(0),
                ..with("person", "en", &[("n", "1")])
            },
        ];
        let sorts = [
            Sort::default(),
            Sort {
                field: SortField::CreatedAt,
                descending: false,
            },
            Sort {
                field: SortField::UpdatedAt,
                descending: true,
            },
            Sort {
                field: SortField::Name,
                descending: false,
            },
            Sort {
                field: SortField::Name,
                descending: true,
            },
        ];
        let conn = db.pool.get().unwrap();
        let check = |when: &str| {
            for filters in &filter_sets {
                for sort in sorts {
                    let folded = all_pages(&conn, &a, filters, sort);
                    UNFOLDED.with(|u| u.set(true));
                    let rows = all_pages(&conn, &a, filters, sort);
                    UNFOLDED.with(|u| u.set(false));
                    assert_eq!(folded, rows, "{when}: {filters:?} {sort:?}");
                }
                // Counted in parallel parts on other pooled connections.
                let req = request(filters.clone(), Sort::default(), Window::Offset(0), 100);
                let parallel = list(&conn, &a, &req, Some(&db.pool)).unwrap();
                let alone = list(&conn, &a, &req, None).unwrap();
                assert_eq!(parallel.total, alone.total, "{when}: {filters:?}");
                assert_eq!(names(&parallel), names(&alone), "{when}: {filters:?}");
            }
        };
        check("nothing declared");
        let declare = |key: &str| declare_and_fill(&db, &a, &IndexField::Metadata(key.into()));
        declare("n");
        declare("é");
        check("declared");
        // Writes keep the tags exact: a language and a value changed, a
        // contact deleted, one added, the other organization's writes.
        // A contact's language and `n` changed (`n` removed when `None`),
        // one deleted, one added with that `n`.
        let change = |language: Option<&str>, n: Option<i64>| {
            db.write_now(|tx| {
                let page = list(
                    tx,
                    &a,
                    &request(Filters::default(), Sort::default(), Window::Offset(0), 2),
                    None,
                )?;
                contacts::update(
                    tx,
                    &a,
                    &page.rows[0].id,
                    contactsd_domain::ContactFields {
                        language: Some(language.and_then(Language::parse)),
                        metadata: Some(
                            Metadata::from_json(
                                "metadata",
                                &match n {
                                    Some(n) => serde_json::json!({"n": n, "é": n == 1}),
                                    None => serde_json::json!({"é": false}),
                                },
                            )
                            .unwrap(),
                        ),
                        ..Default::default()
                    },
                )?;
                contacts::delete(tx, &a, &page.rows[1].id)?;
                contacts::insert(
                    tx,
                    &a,
                    NewContact {
                        name: Name::parse("Alpha Person100").unwrap(),
                        phone: PhoneNumber::parse(&format!("+1415556{:04}", 1000 + n.unwrap_or(9)))
                            .unwrap(),
                        language: language.and_then(Language::parse),
                        metadata: Metadata::from_json("metadata", &serde_json::json!({"n": n}))
                            .unwrap(),
                    },
                )?;
                let first_of_b = list(
                    tx,
                    &b,
                    &request(Filters::default(), Sort::default(), Window::Offset(0), 1),
                    None,
                )?;
                contacts::delete(tx, &b, &first_of_b.rows[0].id)?;
                Ok(())
            })
            .unwrap();
        };
        change(Some("fr"), Some(1));
        check("after writes");
        // Dropped, then changed while not declared, then declared again:
        // entries written under the first declaration hold its old values.
        for key in ["n", "é"] {
            db.write_now(|tx| indexes::drop_index(tx, &a, &IndexField::Metadata(key.into())))
                .unwrap();
        }
        // Only the metadata changes (the same language): the contact's
        // entry keeps its tag of `n` = 1 while `n` is not declared.
        change(Some("fr"), None);
        check("dropped");
        declare("n");
        check("declared again");
    }
}
