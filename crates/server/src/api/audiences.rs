//! `/v1/audiences`: named groups of contacts.

use rocket::Route;
use serde::Serialize;
use serde_json::json;

use super::contacts::{contact_ids_of, membership_reply};
use super::listing::list_contacts;
use super::openapi as doc;
use super::{for_verified, JsonBody, Page, PageRequest, Query, RawQuery, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::audiences::Audience;
use crate::db::audiences::AudienceFilter;
use crate::domain::AudienceFields;
use crate::error::ApiError;
use crate::idempotency::Idempotent;
use crate::listing::Scope;
use crate::search::MAX_SEARCH_CHARS;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        get_audiences,
        post_audience,
        get_audience,
        patch_audience,
        delete_audience,
        get_audience_contacts,
        get_audience_available_contacts,
        post_audience_contacts,
        post_audience_contacts_remove,
        delete_audience_contacts,
    ]
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AudienceView<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    contact_count: i64,
    organization_id: &'a str,
    created_at: String,
    updated_at: String,
}

impl<'a> AudienceView<'a> {
    fn new(audience: &'a Audience, org_id: &'a str) -> Self {
        AudienceView {
            id: &audience.id,
            name: audience.name.as_str(),
            description: audience.description.as_deref(),
            contact_count: audience.contact_count,
            organization_id: org_id,
            created_at: clock::format_ms(audience.created_at),
            updated_at: clock::format_ms(audience.updated_at),
        }
    }
}

/// `page`, `limit` and the `search` terms of `GET /v1/audiences`.
fn audience_query(query: &mut RawQuery) -> Result<(PageRequest, AudienceFilter), ApiError> {
    let page = PageRequest::from_query(query)?;
    let search = query.take("search").unwrap_or_default();
    let contact_id = query.take("contactId").filter(|id| !id.is_empty());
    std::mem::take(query).finish()?;
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(ApiError::invalid_field(
            "search",
            format!("search must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let terms = search.split_whitespace().map(String::from).collect();
    Ok((page, AudienceFilter { terms, contact_id }))
}

#[utoipa::path(
    get,
    path = "/v1/audiences",
    tag = "audiences",
    summary = "List audiences",
    params(doc::PageParams, ("search" = Option<String>, Query, description = "Every term in the name"), ("contactId" = Option<String>, Query, description = "Only the audiences this contact is a member of")),
    responses((status = 200, body = doc::AudiencePage), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/audiences")]
async fn get_audiences(org: Org, mut query: Query) -> Result<Reply, ApiError> {
    let (page, filter) = for_verified(&org, audience_query(&mut query)).await?;
    let answer = org
        .list_audiences(filter, page.limit, page.offset())
        .await?;
    let (rows, total) = &answer.value;
    let data = rows
        .iter()
        .map(|a| AudienceView::new(a, &answer.org_id))
        .collect();
    Reply::ok(&Page::new(data, *total, page.page, page.limit))
}

#[utoipa::path(
    post,
    path = "/v1/audiences",
    tag = "audiences",
    summary = "Create an audience",
    request_body = doc::AudienceInput,
    responses((status = 201, body = doc::Audience, headers(("Location" = String))), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/audiences", data = "<body>")]
async fn post_audience(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(create_audience(org, body).await).await,
    }
}

/// Creates the audience.
async fn create_audience(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let (name, description) =
        AudienceFields::from_json_for_create(body.value()).map_err(ApiError::validation)?;
    let audience = org.create_audience(name, description).await?;
    Reply::created(
        format!("/v1/audiences/{}", audience.value.id),
        &AudienceView::new(&audience.value, &audience.org_id),
    )
}

#[utoipa::path(
    get,
    path = "/v1/audiences/{id}",
    tag = "audiences",
    summary = "Get an audience",
    params(("id" = String, Path, description = "The id")),
    responses((status = 200, body = doc::Audience), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/audiences/<id>")]
async fn get_audience(org: Org, id: &str) -> Result<Reply, ApiError> {
    let audience = org.audience(id.to_string()).await?;
    Reply::ok(&AudienceView::new(&audience.value, &audience.org_id))
}

#[utoipa::path(
    patch,
    path = "/v1/audiences/{id}",
    tag = "audiences",
    summary = "Rename or describe an audience",
    params(("id" = String, Path, description = "The id")),
    request_body = doc::AudienceInput,
    responses((status = 200, body = doc::Audience), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::patch("/audiences/<id>", data = "<body>")]
async fn patch_audience(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let fields = AudienceFields::from_json(body.value()).map_err(ApiError::validation)?;
    let audience = org.update_audience(id.to_string(), fields).await?;
    Reply::ok(&AudienceView::new(&audience.value, &audience.org_id))
}

#[utoipa::path(
    delete,
    path = "/v1/audiences/{id}",
    tag = "audiences",
    summary = "Delete an audience (its members stay)",
    params(("id" = String, Path, description = "The id")),
    responses((status = 200, body = doc::Success), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/audiences/<id>")]
async fn delete_audience(org: Org, id: &str) -> Result<Reply, ApiError> {
    org.delete_audience(id.to_string()).await?;
    Reply::ok(&json!({ "success": true }))
}

#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/contacts",
    tag = "audiences",
    summary = "List an audience's members",
    params(("id" = String, Path, description = "The id"), doc::ListingParams),
    responses((status = 200, body = doc::ContactPage), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/audiences/<id>/contacts")]
async fn get_audience_contacts(org: Org, id: &str, query: Query) -> Result<Reply, ApiError> {
    list_contacts(&org, query, Scope::Members(id.to_string())).await
}

#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/available-contacts",
    tag = "audiences",
    summary = "List the contacts outside an audience",
    params(("id" = String, Path, description = "The id"), doc::ListingParams),
    responses((status = 200, body = doc::ContactPage), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/audiences/<id>/available-contacts")]
async fn get_audience_available_contacts(
    org: Org,
    id: &str,
    query: Query,
) -> Result<Reply, ApiError> {
    list_contacts(&org, query, Scope::Available(id.to_string())).await
}

#[utoipa::path(
    post,
    path = "/v1/audiences/{id}/contacts",
    tag = "audiences",
    summary = "Add contacts to the audience",
    params(("id" = String, Path, description = "The id")),
    request_body = doc::ContactIds,
    responses((status = 200, body = doc::MembershipResult), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/audiences/<id>/contacts", data = "<body>")]
async fn post_audience_contacts(
    org: Org,
    id: &str,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => {
            claim
                .finish(add_audience_members(org, id, body).await)
                .await
        }
    }
}

/// Adds the contacts to the audience.
async fn add_audience_members(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(body.value(), &[])?;
    let change = org.add_members(id.to_string(), ids).await?;
    membership_reply(&change.value, "added")
}

async fn remove_members(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(body.value(), &[])?;
    let change = org.remove_members(id.to_string(), ids).await?;
    membership_reply(&change.value, "removed")
}

#[utoipa::path(
    post,
    path = "/v1/audiences/{id}/contacts/remove",
    tag = "audiences",
    summary = "Remove contacts from the audience",
    params(("id" = String, Path, description = "The id")),
    request_body = doc::ContactIds,
    responses((status = 200, body = doc::MembershipResult), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/audiences/<id>/contacts/remove", data = "<body>")]
async fn post_audience_contacts_remove(
    org: Org,
    id: &str,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(remove_members(org, id, body).await).await,
    }
}

#[utoipa::path(
    delete,
    path = "/v1/audiences/{id}/contacts",
    tag = "audiences",
    summary = "Remove contacts from the audience",
    params(("id" = String, Path, description = "The id")),
    request_body = doc::ContactIds,
    responses((status = 200, body = doc::MembershipResult), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/audiences/<id>/contacts", data = "<body>")]
async fn delete_audience_contacts(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    remove_members(org, id, body).await
}
