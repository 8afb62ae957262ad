//! The contact listings' query string (CONTRACT.md "Listing beyond the
//! seed"): paging or cursor, search, filters and sort, shared by
//! `GET /v1/contacts`, `GET /v1/audiences/:id/contacts` and
//! `.../available-contacts`.
//!
//! [`Listing::parse`] reads and checks every parameter; [`Listing::request`]
//! turns it, with the cursor verified, into the storage's
//! [`ListRequest`]; [`Listing::next_cursor`] signs the position after a
//! page. The planner that answers the request is `db::listing`.

use crate::clock;
use crate::cursor::{self, CursorError, Position, SortKey};
use crate::error::Rejection;
use crate::query::{PageRequest, RawQuery};
use crate::search;
use crate::search::SearchPlan;
use crate::{Language, MAX_METADATA_KEY_CHARS};

/// The most `metadata.KEY=VALUE` filters one listing may carry. Metadata
/// holds at most 64 keys, so more filters could never all match; each one
/// adds to the SQL expression, whose depth SQLite bounds.
pub(crate) const MAX_METADATA_FILTERS: usize = 64;

/// Which contacts a listing route covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `GET /v1/contacts` (which may name an `audienceId` filter).
    All,
    /// An audience's members.
    Members(String),
    /// The organization's contacts outside an audience.
    Available(String),
}

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// `id,name,phoneNumber,language,metadata,createdAt,updatedAt`.
    Csv,
    /// One contact object a line, as the API shows it.
    Ndjson,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "contacts.csv",
            ExportFormat::Ndjson => "contacts.ndjson",
        }
    }
}

/// Restricts a listing to an audience's members, or to everyone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudienceFilter {
    /// The audience's public id (unknown or another organization's: 404).
    pub audience_id: String,
    /// Members (`true`) or the organization's other contacts (`false`).
    pub members: bool,
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

/// What a row's place in a listing's order depends on.
#[derive(Clone, Copy, Debug)]
pub struct RowKey<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Sort {
    /// The sort key of `row`, as a cursor records it.
    pub fn key_of(self, row: &RowKey<'_>) -> SortKey {
        match self.field {
            SortField::CreatedAt => SortKey::Integer(row.created_at),
            SortField::UpdatedAt => SortKey::Integer(row.updated_at),
            SortField::Name => SortKey::Text(search::sort_key(row.name)),
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub search: Option<SearchPlan>,
    pub audience: Option<AudienceFilter>,
    pub language: Option<Language>,
    pub metadata: Vec<MetadataFilter>,
    /// Whole milliseconds: `created_at >= after`, `created_at < before`.
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// `callable=true|false`, judged at `callableAt` (default: now).
    pub callable: Option<CallableFilter>,
}

/// Keeps the contacts that may be called at `at` (milliseconds), or, with
/// `wanted` false, the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallableFilter {
    pub wanted: bool,
    pub at: i64,
}

impl Filters {
    /// Whether a condition on the rows' own columns applies (language,
    /// metadata, times): those need the rows read to be counted.
    pub fn has_row_conditions(&self) -> bool {
        self.language.is_some()
            || !self.metadata.is_empty()
            || self.created_after.is_some()
            || self.created_before.is_some()
            || self.updated_after.is_some()
            || self.updated_before.is_some()
            || self.callable.is_some()
    }

    /// Whether `callable` is the only condition besides the organization.
    pub fn only_callable(&self) -> bool {
        self.callable.is_some()
            && self.search.is_none()
            && self.audience.is_none()
            && Filters {
                callable: None,
                ..self.clone()
            } == Filters::default()
    }
}

/// Which rows of the ordered result a page holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Window {
    /// Skip this many rows.
    Offset(i64),
    /// The rows after this sort key and id (a cursor).
    After { key: SortKey, id: String },
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct ListRequest {
    pub filters: Filters,
    pub sort: Sort,
    pub limit: i64,
    pub window: Window,
}

/// A parsed listing query.
#[derive(Clone, Debug)]
pub struct Listing {
    /// `None` under a cursor.
    pub page: Option<i64>,
    pub limit: i64,
    cursor: Option<String>,
    sort: Sort,
    filters: Filters,
    /// What defines the result set and its order, for the cursor's
    /// fingerprint.
    fingerprint_source: String,
}

fn parse_bound(
    query: &mut RawQuery,
    name: &str,
    canonical: &mut Vec<(String, String)>,
) -> Result<Option<i64>, Rejection> {
    match query.take(name) {
        None => Ok(None),
        Some(text) => {
            let ms = clock::parse_rfc3339_bound(&text).ok_or_else(|| {
                Rejection::bad_parameter(
                    name,
                    format!(
                        "{name} must be an RFC 3339 time between the years 0000 and 9999, \
                         e.g. 2026-03-01T10:00:00Z"
                    ),
                )
            })?;
            canonical.push((name.to_string(), ms.to_string()));
            Ok(Some(ms))
        }
    }
}

fn parse_sort(text: &str) -> Option<Sort> {
    let (descending, field) = match text.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, text),
    };
    let field = match field {
        "createdAt" => SortField::CreatedAt,
        "updatedAt" => SortField::UpdatedAt,
        "name" => SortField::Name,
        _ => return None,
    };
    Some(Sort { field, descending })
}

impl Listing {
    /// Reads every parameter of a listing on `scope`; any parameter left
    /// over is a 400 naming it.
    pub fn parse(mut query: RawQuery, scope: &Scope) -> Result<Listing, Rejection> {
        let has_page = query.has("page");
        let paging = PageRequest::from_query(&mut query)?;
        let cursor = query.take("cursor");
        if cursor.is_some() && has_page {
            return Err(Rejection::bad_parameter(
                "cursor",
                "cursor and page cannot be used together",
            ));
        }
        let mut canonical: Vec<(String, String)> = Vec::new();
        let sort_text = query
            .take("sort")
            .unwrap_or_else(|| String::from("-createdAt"));
        let sort = parse_sort(&sort_text).ok_or_else(|| {
            Rejection::bad_parameter(
                "sort",
                "sort must be one of -createdAt, createdAt, -updatedAt, updatedAt, name, -name",
            )
        })?;
        canonical.push(("sort".into(), sort_text));

        let search_text = query.take("search").unwrap_or_default();
        let search = search::compile(&search_text)?;
        canonical.push(("search".into(), search_text.trim().to_string()));

        let language = match query.take("language") {
            None => None,
            Some(text) => {
                let language = Language::parse(&text).ok_or_else(|| {
                    Rejection::bad_parameter(
                        "language",
                        "language must be a BCP 47 language tag, e.g. hi-IN",
                    )
                })?;
                canonical.push(("language".into(), language.as_str().to_string()));
                Some(language)
            }
        };

        let audience = match scope {
            Scope::All => query.take("audienceId").map(|audience_id| AudienceFilter {
                audience_id,
                members: true,
            }),
            Scope::Members(id) => Some(AudienceFilter {
                audience_id: id.clone(),
                members: true,
            }),
            Scope::Available(id) => Some(AudienceFilter {
                audience_id: id.clone(),
                members: false,
            }),
        };
        if let Some(filter) = &audience {
            let kind = if filter.members { "in" } else { "not in" };
            canonical.push((kind.into(), filter.audience_id.clone()));
        }

        let metadata = metadata_filters(&mut query)?;
        let mut pairs: Vec<(String, String)> = metadata
            .iter()
            .map(|f| (format!("metadata.{}", f.key), f.value.clone()))
            .collect();
        pairs.sort();
        canonical.extend(pairs);

        let created_after = parse_bound(&mut query, "createdAfter", &mut canonical)?;
        let created_before = parse_bound(&mut query, "createdBefore", &mut canonical)?;
        let updated_after = parse_bound(&mut query, "updatedAfter", &mut canonical)?;
        let updated_before = parse_bound(&mut query, "updatedBefore", &mut canonical)?;
        let callable = parse_callable(&mut query, &mut canonical)?;
        query.finish()?;

        Ok(Listing {
            page: cursor.is_none().then_some(paging.page),
            limit: paging.limit,
            cursor,
            sort,
            filters: Filters {
                search,
                audience,
                language,
                metadata,
                created_after,
                created_before,
                updated_after,
                updated_before,
                callable,
            },
            // Serialized as JSON, so no two different queries read the same.
            fingerprint_source: serde_json::to_string(&canonical).unwrap_or_default(),
        })
    }

    /// Every contact of the organization, newest first: an export with
    /// no filter.
    pub fn everything() -> Listing {
        Listing {
            page: None,
            limit: crate::query::MAX_LIMIT,
            cursor: None,
            sort: Sort::default(),
            filters: Filters::default(),
            fingerprint_source: String::new(),
        }
    }

    /// The audience the listing is restricted to, if any.
    pub fn audience_id(&self) -> Option<&str> {
        self.filters
            .audience
            .as_ref()
            .map(|a| a.audience_id.as_str())
    }

    /// Reads an export's query: `format` (`csv`, the default, or
    /// `ndjson`) and every listing filter, `search` and `sort`; exports have
    /// no paging, so `page`, `limit` and `cursor` are 400.
    pub fn parse_export(mut query: RawQuery) -> Result<(Listing, ExportFormat), Rejection> {
        let format = match query.take("format").as_deref() {
            None | Some("csv") => ExportFormat::Csv,
            Some("ndjson") => ExportFormat::Ndjson,
            Some(_) => {
                return Err(Rejection::bad_parameter(
                    "format",
                    "format must be csv or ndjson",
                ))
            }
        };
        for name in ["page", "limit", "cursor"] {
            if query.has(name) {
                return Err(Rejection::bad_parameter(
                    name,
                    format!("an export has every matching contact: {name} does not apply"),
                ));
            }
        }
        Ok((Listing::parse(query, &Scope::All)?, format))
    }

    /// The cursor's fingerprint: the query (organization, route, filters,
    /// search, sort) it belongs to.
    fn fingerprint(&self, org_id: &str) -> String {
        cursor::fingerprint(&format!("{org_id}\n{}", self.fingerprint_source))
    }

    /// The storage request, the cursor verified against `secret` and this
    /// query of `org_id`'s: refused when it is malformed, altered or another
    /// query's.
    pub fn request(&self, secret: &[u8], org_id: &str) -> Result<ListRequest, CursorError> {
        let window = match &self.cursor {
            None => Window::Offset((self.page.unwrap_or(1) - 1).saturating_mul(self.limit)),
            Some(text) => {
                let position = cursor::decode(secret, &self.fingerprint(org_id), text)?;
                Window::After {
                    key: position.key,
                    id: position.id,
                }
            }
        };
        Ok(ListRequest {
            filters: self.filters.clone(),
            sort: self.sort,
            limit: self.limit,
            window,
        })
    }

    /// The cursor for the rows after `last`.
    pub fn next_cursor(&self, secret: &[u8], org_id: &str, last: &RowKey<'_>) -> String {
        let key = self.sort.key_of(last);
        cursor::encode(
            secret,
            &self.fingerprint(org_id),
            &Position {
                key,
                id: last.id.to_string(),
            },
        )
    }
}

/// `callable=true|false` and `callableAt=T` (default: now). The time is
/// left out of the cursor's fingerprint unless given, so that a listing of
/// "callable now" can be paged while now moves on.
fn parse_callable(
    query: &mut RawQuery,
    canonical: &mut Vec<(String, String)>,
) -> Result<Option<CallableFilter>, Rejection> {
    let at = match query.take("callableAt") {
        None => None,
        Some(text) => Some(clock::parse_rfc3339_ms(&text).ok_or_else(|| {
            Rejection::bad_parameter(
                "callableAt",
                "callableAt must be an RFC 3339 time, e.g. 2026-03-01T10:00:00Z",
            )
        })?),
    };
    let wanted = match query.take("callable").as_deref() {
        None if at.is_some() => {
            return Err(Rejection::bad_parameter(
                "callableAt",
                "callableAt applies with callable=true or callable=false",
            ))
        }
        None => return Ok(None),
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            return Err(Rejection::bad_parameter(
                "callable",
                "callable must be true or false",
            ))
        }
    };
    canonical.push(("callable".into(), wanted.to_string()));
    if let Some(at) = at {
        canonical.push(("callableAt".into(), at.to_string()));
    }
    Ok(Some(CallableFilter {
        wanted,
        at: at.unwrap_or_else(clock::now_ms),
    }))
}

/// The `metadata.KEY=VALUE` filters, each key 1 to 64 characters, at most
/// [`MAX_METADATA_FILTERS`] of them.
fn metadata_filters(query: &mut RawQuery) -> Result<Vec<MetadataFilter>, Rejection> {
    let taken = query.take_prefixed("metadata.");
    if taken.len() > MAX_METADATA_FILTERS {
        return Err(Rejection::bad_parameter(
            &format!("metadata.{}", taken[MAX_METADATA_FILTERS].0),
            format!("at most {MAX_METADATA_FILTERS} metadata filters are allowed in one query"),
        ));
    }
    taken
        .into_iter()
        .map(|(key, value)| {
            if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_CHARS {
                Err(Rejection::bad_parameter(
                    &format!("metadata.{key}"),
                    "metadata filters are metadata.KEY=VALUE with a key of 1 to 64 characters",
                ))
            } else {
                Ok(MetadataFilter { key, value })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> RawQuery {
        RawQuery::parse(text)
    }

    fn parse(text: &str) -> Result<Listing, Rejection> {
        Listing::parse(query(text), &Scope::All)
    }

    fn bad_field(text: &str) -> String {
        let error = parse(text).unwrap_err();
        assert_eq!(error.code(), "bad_request", "{text}");
        error.details[0].field.clone()
    }

    #[test]
    fn names_the_parameter_that_is_wrong() {
        assert_eq!(bad_field("sort=newest"), "sort");
        assert_eq!(bad_field("createdAfter=yesterday"), "createdAfter");
        assert_eq!(
            bad_field("updatedBefore=9999-12-31T23:59:59-01:00"),
            "updatedBefore"
        );
        assert_eq!(bad_field("language=%%"), "language");
        assert_eq!(bad_field("colour=red"), "colour");
        assert_eq!(bad_field("page=2&cursor=x"), "cursor");
        assert_eq!(bad_field("metadata.=x"), "metadata.");
    }

    #[test]
    fn caps_metadata_filters() {
        let many: Vec<String> = (0..=MAX_METADATA_FILTERS)
            .map(|i| format!("metadata.k{i}=v"))
            .collect();
        assert_eq!(
            bad_field(&many.join("&")),
            format!("metadata.k{MAX_METADATA_FILTERS}")
        );
        assert!(parse(&many[..MAX_METADATA_FILTERS].join("&")).is_ok());
    }

    #[test]
    fn time_bounds_round_up_to_whole_milliseconds() {
        let listing = parse("createdAfter=2026-03-01T10:00:12.640500Z").unwrap();
        let request = listing.request(b"secret", "org_a").unwrap();
        assert_eq!(
            request
                .filters
                .created_after
                .map(clock::format_ms)
                .as_deref(),
            Some("2026-03-01T10:00:12.641Z")
        );
    }

    #[test]
    fn cursors_belong_to_one_query_of_one_organization() {
        let listing = parse("sort=name&search=pri").unwrap();
        let row = RowKey {
            id: "ct_x",
            name: "Priya",
            created_at: 0,
            updated_at: 0,
        };
        let cursor = listing.next_cursor(b"secret", "org_a", &row);
        let next = parse(&format!("sort=name&search=pri&cursor={cursor}")).unwrap();
        assert!(matches!(
            next.request(b"secret", "org_a").unwrap().window,
            Window::After { .. }
        ));
        assert_eq!(next.page, None);
        let other_org = next.request(b"secret", "org_b").unwrap_err();
        assert_eq!(other_org, CursorError::OtherQuery);
        let other_sort = parse(&format!("sort=-name&search=pri&cursor={cursor}")).unwrap();
        assert!(other_sort.request(b"secret", "org_a").is_err());
    }
}
