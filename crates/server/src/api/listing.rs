//! The answer of the three contact listings: the seed's envelope, with
//! `page` `null` under a cursor, and `nextCursor`. The query itself is
//! `crate::listing`'s; the planner is `db::listing`'s.

use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::ContactView;
use super::{for_verified, Query, Reply};
use crate::db::TenantDb;
use crate::error::ApiError;
use crate::listing::{Listing, Scope};

/// A page of contacts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ContactPage)]
pub(crate) struct CursorPage<'a> {
    data: Vec<ContactView<'a>>,
    /// Every matching contact.
    total: i64,
    /// `null` under a cursor.
    #[schema(required = true)]
    page: Option<i64>,
    /// 1 to 100.
    limit: i64,
    /// `ceil(total / limit)`, 0 when nothing matches.
    total_pages: i64,
    /// The contacts after this page (`cursor=`), or `null` on the last.
    #[schema(required = true)]
    next_cursor: Option<&'a str>,
}

/// Answers a contact listing of `scope`. What is wrong with a query is
/// told only to a caller whose key is valid (a bad key is 401 first).
pub(crate) async fn list_contacts(
    org: &TenantDb,
    query: Query,
    scope: Scope,
) -> Result<Reply, ApiError> {
    let listing = for_verified(org, Listing::parse(query.0, &scope)).await?;
    let answer = org.list_contacts(listing).await?;
    let (page, org_id) = (&answer.value, answer.org_id.as_str());
    Ok(Reply::ok(&CursorPage {
        data: page
            .rows
            .iter()
            .map(|c| ContactView::new(c, org_id))
            .collect(),
        total: page.total,
        page: page.listing.page,
        limit: page.listing.limit,
        total_pages: (page.total + page.listing.limit - 1) / page.listing.limit,
        next_cursor: page.next_cursor.as_deref(),
    })?
    .with_scan(page.scan.clone()))
}
