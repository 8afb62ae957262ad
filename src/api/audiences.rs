//! `/v1/audiences`: named groups of contacts.

use rocket::{Route, State};
use serde::Serialize;
use serde_json::json;

use super::contacts::{contact_ids_of, membership_reply};
use super::listing::{list_contacts, Scope};
use super::{JsonBody, Page, PageRequest, RawQuery, Reply};
use crate::auth::Caller;
use crate::clock;
use crate::db::audiences::{self, Audience};
use crate::db::{Db, Tenant};
use crate::domain::AudienceFields;
use crate::error::ApiError;
use crate::search::MAX_SEARCH_CHARS;

pub fn routes() -> Vec<Route> {
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
    fn new(audience: &'a Audience, tenant: &'a Tenant) -> Self {
        AudienceView {
            id: &audience.id,
            name: &audience.name,
            description: audience.description.as_deref(),
            contact_count: audience.contact_count,
            organization_id: &tenant.org_id,
            created_at: clock::format_ms(audience.created_at),
            updated_at: clock::format_ms(audience.updated_at),
        }
    }
}

#[rocket::get("/audiences")]
async fn get_audiences(
    db: &State<Db>,
    tenant: Tenant,
    mut query: RawQuery,
) -> Result<Reply, ApiError> {
    let page = PageRequest::from_query(&mut query)?;
    let search = query.take("search").unwrap_or_default();
    query.finish()?;
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(ApiError::invalid_field(
            "search",
            format!("search must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let terms: Vec<String> = search.split_whitespace().map(String::from).collect();
    let scope = tenant.clone();
    let (rows, total) = db
        .read(move |tx| audiences::list(tx, &scope, &terms, page.limit, page.offset()))
        .await?;
    let data = rows.iter().map(|a| AudienceView::new(a, &tenant)).collect();
    Reply::ok(&Page::new(data, total, page.page, page.limit))
}

#[rocket::post("/audiences", data = "<body>")]
async fn post_audience(db: &State<Db>, tenant: Tenant, body: JsonBody) -> Result<Reply, ApiError> {
    let (name, description) =
        AudienceFields::from_json_for_create(&body.0).map_err(ApiError::validation)?;
    let scope = tenant.clone();
    let audience = db
        .write(move |tx| audiences::insert(tx, &scope, name, description))
        .await?;
    Reply::created(
        format!("/v1/audiences/{}", audience.id),
        &AudienceView::new(&audience, &tenant),
    )
}

#[rocket::get("/audiences/<id>")]
async fn get_audience(db: &State<Db>, tenant: Tenant, id: &str) -> Result<Reply, ApiError> {
    let (scope, id) = (tenant.clone(), id.to_string());
    let audience = db.read(move |tx| audiences::get(tx, &scope, &id)).await?;
    Reply::ok(&AudienceView::new(&audience, &tenant))
}

#[rocket::patch("/audiences/<id>", data = "<body>")]
async fn patch_audience(
    db: &State<Db>,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let fields = AudienceFields::from_json(&body.0).map_err(ApiError::validation)?;
    let (scope, id) = (tenant.clone(), id.to_string());
    let audience = db
        .write(move |tx| audiences::update(tx, &scope, &id, fields))
        .await?;
    Reply::ok(&AudienceView::new(&audience, &tenant))
}

#[rocket::delete("/audiences/<id>")]
async fn delete_audience(db: &State<Db>, tenant: Tenant, id: &str) -> Result<Reply, ApiError> {
    let id = id.to_string();
    db.write(move |tx| audiences::delete(tx, &tenant, &id))
        .await?;
    Reply::ok(&json!({ "success": true }))
}

#[rocket::get("/audiences/<id>/contacts")]
async fn get_audience_contacts(
    db: &State<Db>,
    caller: Caller,
    id: &str,
    query: RawQuery,
) -> Result<Reply, ApiError> {
    list_contacts(db, caller, query, Scope::Members(id.to_string())).await
}

#[rocket::get("/audiences/<id>/available-contacts")]
async fn get_audience_available_contacts(
    db: &State<Db>,
    caller: Caller,
    id: &str,
    query: RawQuery,
) -> Result<Reply, ApiError> {
    list_contacts(db, caller, query, Scope::Available(id.to_string())).await
}

#[rocket::post("/audiences/<id>/contacts", data = "<body>")]
async fn post_audience_contacts(
    db: &State<Db>,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(&body.0, &[])?;
    let id = id.to_string();
    let change = db
        .write(move |tx| audiences::add_members(tx, &tenant, &id, &ids))
        .await?;
    membership_reply(&change, "added")
}

async fn remove_members(
    db: &Db,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(&body.0, &[])?;
    let id = id.to_string();
    let change = db
        .write(move |tx| audiences::remove_members(tx, &tenant, &id, &ids))
        .await?;
    membership_reply(&change, "removed")
}

#[rocket::post("/audiences/<id>/contacts/remove", data = "<body>")]
async fn post_audience_contacts_remove(
    db: &State<Db>,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    remove_members(db, tenant, id, body).await
}

#[rocket::delete("/audiences/<id>/contacts", data = "<body>")]
async fn delete_audience_contacts(
    db: &State<Db>,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    remove_members(db, tenant, id, body).await
}
