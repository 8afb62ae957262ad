//! `/v1/audiences`: named groups of contacts.

use std::borrow::Cow;

use rocket::Route;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::contacts::{ContactIds, MembersAdded, MembersRemoved, Success};
use super::listing::{list_contacts, CursorPage};
use super::openapi::{
    ByIdErrors, DeleteByIdErrors, ListingErrors, PageErrors, PostErrors, PostNamingErrors,
    UpdateErrors,
};
use super::{for_verified, JsonBody, Page, PageRequest, Query, RawQuery, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::audiences::Audience;
use crate::db::audiences::AudienceFilter;
use crate::domain::schema::{register, Schemas};
use crate::domain::{AudienceFields, Name};
use crate::error::ApiError;
use crate::idempotency::Idempotent;
use crate::listing::{Listing, Scope};
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

/// An audience.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Audience, example = json!({"id": "aud_P7MTRIT------QbW2xZ9kLm", "name": "Mumbai callbacks",
    "description": "Customers in Mumbai who asked for a callback", "contactCount": 12,
    "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-15T08:30:00.000Z"}))]
pub(crate) struct AudienceView<'a> {
    id: &'a str,
    name: &'a str,
    /// `null` when none.
    #[schema(required = true)]
    description: Option<&'a str>,
    /// The members, always exact.
    contact_count: i64,
    organization_id: &'a str,
    created_at: String,
    updated_at: String,
}

/// An audience to create: the parse of its body, `name` required.
struct NewAudience {
    name: Name,
    description: Option<String>,
}

impl NewAudience {
    fn from_json(body: &Value) -> Result<Self, ApiError> {
        let (name, description) =
            AudienceFields::from_json_for_create(body).map_err(ApiError::validation)?;
        Ok(NewAudience { name, description })
    }
}

impl PartialSchema for NewAudience {
    /// [`AudienceFields`]'s schema, with `name` required.
    fn schema() -> RefOr<Schema> {
        let mut schema = AudienceFields::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required = vec![String::from("name")];
            object.description = Some(String::from("An audience to create."));
            object.examples = vec![serde_json::json!({
                "name": "Mumbai callbacks",
                "description": "Customers in Mumbai who asked for a callback"
            })];
        }
        schema
    }
}

impl ToSchema for NewAudience {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewAudience")
    }

    fn schemas(schemas: &mut Schemas) {
        register::<AudienceFields>(schemas);
    }
}

impl<'a> AudienceView<'a> {
    pub(crate) fn new(audience: &'a Audience, org_id: &'a str) -> Self {
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
    params(PageRequest, ("search" = Option<String>, Query, description = "Every term in the name (at most 256 characters)"), ("contactId" = Option<String>, Query, description = "Only the audiences this contact is a member of (an unknown contact: none)")),
    responses((status = 200, body = Page<AudienceView>), PageErrors),
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
    request_body = NewAudience,
    responses((status = 201, body = AudienceView, headers(("Location" = String, description = "/v1/audiences/{id}"))), PostErrors),
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
    let new = NewAudience::from_json(body.value())?;
    let audience = org.create_audience(new.name, new.description).await?;
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
    params(("id" = String, Path, description = "The audience's id")),
    responses((status = 200, body = AudienceView), ByIdErrors),
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
    params(("id" = String, Path, description = "The audience's id")),
    request_body = AudienceFields,
    responses((status = 200, body = AudienceView), UpdateErrors),
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
    params(("id" = String, Path, description = "The audience's id")),
    responses((status = 200, body = Success), DeleteByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/audiences/<id>")]
async fn delete_audience(org: Org, id: &str) -> Result<Reply, ApiError> {
    org.delete_audience(id.to_string()).await?;
    Reply::ok(&Success::YES)
}

#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/contacts",
    tag = "audiences",
    summary = "List an audience's members",
    description = crate::domain::schema::metadata_filters(),
    params(("id" = String, Path, description = "The audience's id"), Listing),
    responses((status = 200, body = CursorPage, headers(("X-Contactsd-Hint" = String, description = "Sent when the listing read more than `scan_hint_rows` rows (default 100,000) for a metadata key with no declared index: the request that declares it, e.g. `PUT /v1/indexes/metadata.tier`"))), ListingErrors),
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
    description = crate::domain::schema::metadata_filters(),
    params(("id" = String, Path, description = "The audience's id"), Listing),
    responses((status = 200, body = CursorPage, headers(("X-Contactsd-Hint" = String, description = "Sent when the listing read more than `scan_hint_rows` rows (default 100,000) for a metadata key with no declared index: the request that declares it, e.g. `PUT /v1/indexes/metadata.tier`"))), ListingErrors),
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
    params(("id" = String, Path, description = "The audience's id")),
    request_body = ContactIds,
    responses((status = 200, body = MembersAdded), PostNamingErrors),
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
    let ids = ContactIds::from_json(body.value())?;
    let change = org.add_members(id.to_string(), ids.contact_ids).await?;
    Reply::ok(&MembersAdded::new(&change.value))
}

async fn remove_members(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let ids = ContactIds::from_json(body.value())?;
    let change = org.remove_members(id.to_string(), ids.contact_ids).await?;
    Reply::ok(&MembersRemoved::new(&change.value))
}

#[utoipa::path(
    post,
    path = "/v1/audiences/{id}/contacts/remove",
    tag = "audiences",
    summary = "Remove contacts from the audience",
    params(("id" = String, Path, description = "The audience's id")),
    request_body = ContactIds,
    responses((status = 200, body = MembersRemoved), PostNamingErrors),
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
    params(("id" = String, Path, description = "The audience's id")),
    request_body = ContactIds,
    responses((status = 200, body = MembersRemoved), UpdateErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/audiences/<id>/contacts", data = "<body>")]
async fn delete_audience_contacts(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    remove_members(org, id, body).await
}
