//! `/v1/contacts`: list, create, read, update, delete.

use rocket::{Route, State};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{JsonBody, Page, PageRequest, RawQuery, Reply};
use crate::clock;
use crate::db::contacts::{self, Contact, ListRequest};
use crate::db::{Db, Tenant};
use crate::domain::{ContactFields, NewContact};
use crate::error::ApiError;
use crate::search;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        get_contacts,
        post_contact,
        get_contact,
        patch_contact,
        delete_contact
    ]
}

/// A contact as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactView<'a> {
    id: &'a str,
    name: &'a str,
    phone_number: &'a str,
    language: Option<&'a str>,
    metadata: Box<RawValue>,
    organization_id: &'a str,
    created_at: String,
    updated_at: String,
}

impl<'a> ContactView<'a> {
    pub fn new(contact: &'a Contact, tenant: &'a Tenant) -> Self {
        ContactView {
            id: &contact.id,
            name: &contact.name,
            phone_number: &contact.phone,
            language: contact.language.as_deref(),
            // Stored metadata is JSON we serialized ourselves.
            metadata: RawValue::from_string(contact.metadata.clone())
                .unwrap_or_else(|_| empty_object()),
            organization_id: &tenant.org_id,
            created_at: clock::format_ms(contact.created_at),
            updated_at: clock::format_ms(contact.updated_at),
        }
    }
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string(String::from("{}")).unwrap_or_default()
}

fn location(contact: &Contact) -> String {
    format!("/v1/contacts/{}", contact.id)
}

#[rocket::get("/contacts")]
async fn get_contacts(
    db: &State<Db>,
    tenant: Tenant,
    mut query: RawQuery,
) -> Result<Reply, ApiError> {
    let page = PageRequest::from_query(&mut query)?;
    let search = query
        .take("search")
        .map(|s| search::compile(&s))
        .transpose()?
        .flatten();
    query.finish()?;
    let request = ListRequest {
        search,
        limit: page.limit,
        offset: page.offset(),
    };
    let scope = tenant.clone();
    let (rows, total) = db
        .read(move |tx| contacts::list(tx, &scope, &request))
        .await?;
    let data = rows.iter().map(|c| ContactView::new(c, &tenant)).collect();
    Reply::ok(&Page::new(data, total, page.page, page.limit))
}

#[rocket::post("/contacts", data = "<body>")]
async fn post_contact(db: &State<Db>, tenant: Tenant, body: JsonBody) -> Result<Reply, ApiError> {
    let new = NewContact::from_json(&body.0).map_err(ApiError::validation)?;
    let scope = tenant.clone();
    let contact = db
        .write(move |tx| contacts::insert(tx, &scope, new))
        .await?;
    Reply::created(location(&contact), &ContactView::new(&contact, &tenant))
}

#[rocket::get("/contacts/<id>")]
async fn get_contact(db: &State<Db>, tenant: Tenant, id: &str) -> Result<Reply, ApiError> {
    let (scope, id) = (tenant.clone(), id.to_string());
    let contact = db.read(move |tx| contacts::get(tx, &scope, &id)).await?;
    Reply::ok(&ContactView::new(&contact, &tenant))
}

#[rocket::patch("/contacts/<id>", data = "<body>")]
async fn patch_contact(
    db: &State<Db>,
    tenant: Tenant,
    id: &str,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let fields = ContactFields::from_json(&body.0).map_err(ApiError::validation)?;
    let (scope, id) = (tenant.clone(), id.to_string());
    let contact = db
        .write(move |tx| contacts::update(tx, &scope, &id, fields))
        .await?;
    Reply::ok(&ContactView::new(&contact, &tenant))
}

#[rocket::delete("/contacts/<id>")]
async fn delete_contact(db: &State<Db>, tenant: Tenant, id: &str) -> Result<Reply, ApiError> {
    let id = id.to_string();
    db.write(move |tx| contacts::delete(tx, &tenant, &id))
        .await?;
    Reply::ok(&serde_json::json!({ "success": true }))
}
