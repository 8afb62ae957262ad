//! The contact listings' query: paging or cursor, search, filters and sort
//! (CONTRACT.md "Listing beyond the seed"), shared by `GET /v1/contacts`,
//! `GET /v1/audiences/:id/contacts` and `.../available-contacts`.

use serde::Serialize;

use super::contacts::ContactView;
use super::{PageRequest, RawQuery, Reply};
use crate::auth::Caller;
use crate::clock;
use crate::cursor::{self, CursorError, Position};
use crate::db::audiences;
use crate::db::contacts::{
    self, Filters, ListRequest, Membership, MetadataFilter, Sort, SortField, Window,
};
use crate::db::Db;
use crate::domain::Language;
use crate::error::ApiError;
use crate::search;

/// Which contacts a listing route covers.
#[derive(Clone, Debug)]
pub enum Scope {
    /// `GET /v1/contacts` (which may name an `audienceId` filter).
    All,
    /// An audience's members.
    Members(String),
    /// The organization's contacts outside an audience.
    Available(String),
}

/// The envelope of the three contact listings: the seed's, with `page`
/// `null` under a cursor, and `nextCursor`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CursorPage<'a> {
    data: Vec<ContactView<'a>>,
    total: i64,
    page: Option<i64>,
    limit: i64,
    total_pages: i64,
    next_cursor: Option<String>,
}

/// A parsed listing query.
struct Listing {
    page: Option<i64>,
    limit: i64,
    cursor: Option<String>,
    sort: Sort,
    filters: Filters,
    audience_id: Option<String>,
    /// Everything that defines the result set and its order, as
    /// `(parameter, value)` pairs, for the cursor's fingerprint.
    canonical: Vec<(String, String)>,
}

fn parse_time(
    query: &mut RawQuery,
    name: &str,
    canonical: &mut Vec<(String, String)>,
) -> Result<Option<i64>, ApiError> {
    match query.take(name) {
        None => Ok(None),
        Some(text) => {
            let ms = clock::parse_rfc3339_ms(&text).ok_or_else(|| {
                ApiError::bad_parameter(
                    name,
                    format!("{name} must be an RFC 3339 time, e.g. 2026-03-01T10:00:00Z"),
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
    fn parse(query: &mut RawQuery, scope: &Scope) -> Result<Listing, ApiError> {
        let has_page = query.has("page");
        let paging = PageRequest::from_query(query)?;
        let cursor = query.take("cursor");
        if cursor.is_some() && has_page {
            return Err(ApiError::bad_parameter(
                "cursor",
                "cursor and page cannot be used together",
            ));
        }
        let mut canonical: Vec<(String, String)> = Vec::new();
        let sort_text = query
            .take("sort")
            .unwrap_or_else(|| String::from("-createdAt"));
        let sort = parse_sort(&sort_text).ok_or_else(|| {
            ApiError::bad_parameter(
                "sort",
                "sort must be one of -createdAt, createdAt, -updatedAt, updatedAt, name, -name",
            )
        })?;
        canonical.push(("sort".into(), sort_text.clone()));

        let search_text = query.take("search").unwrap_or_default();
        let search = search::compile(&search_text)?;
        canonical.push(("search".into(), search_text.trim().to_string()));

        let language = match query.take("language") {
            None => None,
            Some(text) => {
                let language = Language::parse(&text).ok_or_else(|| {
                    ApiError::bad_parameter(
                        "language",
                        "language must be a BCP 47 language tag, e.g. hi-IN",
                    )
                })?;
                canonical.push(("language".into(), language.as_str().to_string()));
                Some(language.into_string())
            }
        };

        let audience_id = match scope {
            Scope::All => query.take("audienceId"),
            _ => None,
        };
        if let Some(id) = &audience_id {
            canonical.push(("audienceId".into(), id.clone()));
        }

        let mut metadata = Vec::new();
        for (key, value) in query.take_prefixed("metadata.") {
            if key.is_empty() || key.chars().count() > crate::domain::MAX_METADATA_KEY_CHARS {
                return Err(ApiError::bad_parameter(
                    &format!("metadata.{key}"),
                    "metadata filters are metadata.KEY=VALUE with a key of 1 to 64 characters",
                ));
            }
            metadata.push(MetadataFilter { key, value });
        }
        let mut pairs: Vec<(String, String)> = metadata
            .iter()
            .map(|f| (format!("metadata.{}", f.key), f.value.clone()))
            .collect();
        pairs.sort();
        canonical.extend(pairs);

        let created_after = parse_time(query, "createdAfter", &mut canonical)?;
        let created_before = parse_time(query, "createdBefore", &mut canonical)?;
        let updated_after = parse_time(query, "updatedAfter", &mut canonical)?;
        let updated_before = parse_time(query, "updatedBefore", &mut canonical)?;

        Ok(Listing {
            page: cursor.is_none().then_some(paging.page),
            limit: paging.limit,
            cursor,
            sort,
            filters: Filters {
                search,
                membership: None,
                language,
                metadata,
                created_after,
                created_before,
                updated_after,
                updated_before,
            },
            audience_id,
            canonical,
        })
    }
}

/// Answers a contact listing for `scope`, authenticating `caller` on the
/// same trip to the database.
pub async fn list_contacts(
    db: &Db,
    caller: Caller,
    mut query: RawQuery,
    scope: Scope,
) -> Result<Reply, ApiError> {
    let secret = db.cursor_secret().to_vec();
    let answer = db
        .read_as(caller.0, move |tx, tenant| {
            // The key is checked first, so a bad key is 401 whatever the
            // query; query errors come back as the inner error.
            let listing = match Listing::parse(&mut query, &scope).and_then(|l| {
                query.finish()?;
                Ok(l)
            }) {
                Ok(listing) => listing,
                Err(e) => return Ok(Err(e)),
            };
            let scope_text = match &scope {
                Scope::All => String::from("all"),
                Scope::Members(id) => format!("members:{id}"),
                Scope::Available(id) => format!("available:{id}"),
            };
            // Serialized as JSON, so no two different queries read the same.
            let fingerprint = cursor::fingerprint(
                &serde_json::to_string(&(tenant.org_seq, &scope_text, &listing.canonical))
                    .unwrap_or_default(),
            );
            let window = match &listing.cursor {
                None => {
                    Window::Offset((listing.page.unwrap_or(1) - 1).saturating_mul(listing.limit))
                }
                Some(text) => match cursor::decode(&secret, &fingerprint, text) {
                    Ok(position) => Window::After {
                        key: position.key,
                        id: position.id,
                    },
                    Err(e) => return Ok(Err(bad_cursor(e))),
                },
            };
            let membership_of = match &scope {
                Scope::All => listing.audience_id.clone().map(|id| (id, true)),
                Scope::Members(id) => Some((id.clone(), true)),
                Scope::Available(id) => Some((id.clone(), false)),
            };
            let mut filters = listing.filters.clone();
            if let Some((audience_id, members)) = membership_of {
                let audience = audiences::get(tx, &tenant, &audience_id)?;
                let (audience_seq, count) = (audience.seq, audience.contact_count);
                filters.membership = Some(if members {
                    Membership::In {
                        audience_seq,
                        count,
                    }
                } else {
                    Membership::NotIn {
                        audience_seq,
                        count,
                    }
                });
            }
            let request = ListRequest {
                filters,
                sort: listing.sort,
                limit: listing.limit,
                window,
            };
            let page = contacts::list(tx, &tenant, &request)?;
            Ok(Ok((page, tenant, fingerprint, listing)))
        })
        .await?;
    let (page, tenant, fingerprint, listing) = answer?;

    let next_cursor = match page.rows.last() {
        Some(last) if page.has_more => Some(cursor::encode(
            db.cursor_secret(),
            &fingerprint,
            &Position {
                key: listing.sort.key_of(last),
                id: last.id.clone(),
            },
        )),
        _ => None,
    };
    let data = page
        .rows
        .iter()
        .map(|c| ContactView::new(c, &tenant))
        .collect();
    Reply::ok(&CursorPage {
        data,
        total: page.total,
        page: listing.page,
        limit: listing.limit,
        total_pages: (page.total + listing.limit - 1) / listing.limit,
        next_cursor,
    })
}

fn bad_cursor(error: CursorError) -> ApiError {
    ApiError::bad_parameter(
        "cursor",
        match error {
            CursorError::Invalid => "cursor is malformed or was altered",
            CursorError::OtherQuery => {
                "cursor belongs to a query with another sort, search or filter"
            }
        },
    )
}
