//! `/v1/indexes`: the indexes an organization declares, so that
//! `sort=name` and chosen `metadata.KEY=VALUE` filters are index lookups at
//! any size, paid for only by that organization's writes.

use rocket::http::Status;
use rocket::Route;
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::Success;
use super::openapi::{DeclareIndexErrors, DropIndexErrors, KeyErrors};
use super::Reply;
use crate::auth::Org;
use crate::clock;
use crate::db::indexes::{DeclaredIndex, IndexField};
use crate::domain::{is_plain_metadata_key, MAX_METADATA_KEY_CHARS};
use crate::error::{ApiError, FieldError};

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_indexes, put_index, delete_index]
}

/// A declared index.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Index, example = json!({"field": "metadata.city", "createdAt": "2026-11-29T23:30:00.000Z"}))]
struct IndexView {
    /// `name` or `metadata.KEY`.
    field: String,
    created_at: String,
}

/// The organization's declared indexes.
#[derive(Serialize, ToSchema)]
#[schema(as = IndexList)]
struct IndexList {
    data: Vec<IndexView>,
}

impl IndexView {
    fn new(index: &DeclaredIndex) -> Self {
        IndexView {
            field: index.field.as_text(),
            created_at: clock::format_ms(index.created_at),
        }
    }
}

/// `name`, or `metadata.KEY` with a key of 1 to 64 characters and no `"`,
/// `\` or control character.
fn parse_field(text: &str) -> Result<IndexField, ApiError> {
    if text == "name" {
        return Ok(IndexField::Name);
    }
    let refuse = || {
        ApiError::validation(vec![FieldError::new(
            "field",
            format!(
                "an index is on name or metadata.KEY (a key of 1 to {MAX_METADATA_KEY_CHARS} \
                 characters without quotes, backslashes or control characters)"
            ),
        )])
    };
    let key = text.strip_prefix("metadata.").ok_or_else(refuse)?;
    if is_plain_metadata_key(key) && (1..=MAX_METADATA_KEY_CHARS).contains(&key.chars().count()) {
        Ok(IndexField::Metadata(key.to_string()))
    } else {
        Err(refuse())
    }
}

#[utoipa::path(
    get,
    path = "/v1/indexes",
    tag = "indexes",
    summary = "List the organization's declared indexes",
    responses((status = 200, body = IndexList), KeyErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/indexes")]
async fn get_indexes(org: Org) -> Result<Reply, ApiError> {
    let indexes = org.indexes().await?;
    let data = indexes.value.iter().map(IndexView::new).collect();
    Reply::ok(&IndexList { data })
}

#[utoipa::path(
    put,
    path = "/v1/indexes/{field}",
    tag = "indexes",
    summary = "Declare an index: `name` (for sort=name) or `metadata.KEY` (for metadata.KEY filters)",
    description = "Fills the index from the organization's contacts in one transaction (seconds at \
                   a million contacts), then keeps it exact on every write. `201` when new, `200` \
                   when it was declared already.",
    params(("field" = String, Path, description = "`name` or `metadata.KEY`", example = "metadata.city")),
    responses(
        (status = 201, description = "Declared now", body = IndexView, headers(("Location" = String, description = "/v1/indexes/{field}"))),
        (status = 200, description = "Declared already", body = IndexView, headers(("Location" = String, description = "/v1/indexes/{field}"))),
        DeclareIndexErrors
    ),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::put("/indexes/<field>")]
async fn put_index(org: Org, field: &str) -> Result<Reply, ApiError> {
    let field = parse_field(field)?;
    let declared = org.declare_index(field).await?;
    let (index, new) = &declared.value;
    let status = if *new { Status::Created } else { Status::Ok };
    Reply::with_location(
        status,
        format!("/v1/indexes/{}", index.field.as_text()),
        &IndexView::new(index),
    )
}

#[utoipa::path(
    delete,
    path = "/v1/indexes/{field}",
    tag = "indexes",
    summary = "Drop a declared index",
    params(("field" = String, Path, description = "`name` or `metadata.KEY`", example = "name")),
    responses((status = 200, body = Success), DropIndexErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/indexes/<field>")]
async fn delete_index(org: Org, field: &str) -> Result<Reply, ApiError> {
    let field = parse_field(field)?;
    org.drop_index(field).await?;
    Reply::ok(&Success::YES)
}
