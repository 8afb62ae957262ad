//! The answer of the three contact listings: the seed's envelope, with
//! `page` `null` under a cursor, and `nextCursor`. The query itself is
//! `crate::listing`'s; the planner is `db::listing`'s.

use serde::Serialize;

use super::contacts::ContactView;
use super::{RawQuery, Reply};
use crate::db::TenantDb;
use crate::error::ApiError;
use crate::listing::{Listing, Scope};

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

/// Answers a contact listing of `scope`.
pub async fn list_contacts(
    org: &TenantDb,
    query: RawQuery,
    scope: Scope,
) -> Result<Reply, ApiError> {
    let listing = Listing::parse(query, &scope)?;
    let page = org
        .list_contacts(listing.request(org.cursor_secret(), org.org_id())?)
        .await?;
    let next_cursor = match page.rows.last() {
        Some(last) if page.has_more => {
            Some(listing.next_cursor(org.cursor_secret(), org.org_id(), last))
        }
        _ => None,
    };
    Reply::ok(&CursorPage {
        data: page
            .rows
            .iter()
            .map(|c| ContactView::new(c, org.org_id()))
            .collect(),
        total: page.total,
        page: listing.page,
        limit: listing.limit,
        total_pages: (page.total + listing.limit - 1) / listing.limit,
        next_cursor,
    })
}
