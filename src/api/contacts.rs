//! `/v1/contacts`: list, create, read, update, delete, and the bulk and
//! audience-membership operations of the seed.

use rocket::{Route, State};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::listing::{list_contacts, Scope};
use super::{JsonBody, RawQuery, Reply};
use crate::auth::Caller;
use crate::clock;
use crate::db::audiences::{self, MembershipChange};
use crate::db::contacts::{self, Contact, Upserted};
use crate::db::{self, Db, Tenant};
use crate::domain::{self, expect_object, BulkItem, ContactFields, IdListError, NewContact};
use crate::error::{ApiError, FieldError};

pub fn routes() -> Vec<Route> {
    rocket::routes![
        get_contacts,
        post_contact,
        get_contact,
        patch_contact,
        delete_contact,
        post_contacts_bulk,
        post_contacts_bulk_delete,
        post_contacts_add_to_audience,
        post_contacts_remove_from_audience,
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
            metadata: raw_json(&contact.metadata),
            organization_id: &tenant.org_id,
            created_at: clock::format_ms(contact.created_at),
            updated_at: clock::format_ms(contact.updated_at),
        }
    }
}

/// Stored metadata as it is: it is JSON we serialized ourselves.
pub fn raw_json(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string())
        .or_else(|_| RawValue::from_string(String::from("{}")))
        .unwrap_or_default()
}

fn location(contact: &Contact) -> String {
    format!("/v1/contacts/{}", contact.id)
}

#[rocket::get("/contacts")]
async fn get_contacts(db: &State<Db>, caller: Caller, query: RawQuery) -> Result<Reply, ApiError> {
    list_contacts(db, caller, query, Scope::All).await
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
async fn get_contact(db: &State<Db>, caller: Caller, id: &str) -> Result<Reply, ApiError> {
    let id = id.to_string();
    let (contact, tenant) = db
        .read_as(caller.0, move |tx, tenant| {
            Ok((contacts::get(tx, &tenant, &id)?, tenant))
        })
        .await?;
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
    Reply::ok(&json!({ "success": true }))
}

/// The answer of a bulk upsert, serialized straight from these fields.
#[derive(Serialize)]
struct BulkReply<'a> {
    created: usize,
    updated: usize,
    failed: usize,
    contacts: Vec<ContactView<'a>>,
    errors: Vec<BulkError>,
}

/// One failed bulk item.
#[derive(Serialize)]
struct BulkError {
    index: usize,
    field: String,
    reason: String,
}

#[rocket::post("/contacts/bulk", data = "<body>")]
async fn post_contacts_bulk(
    db: &State<Db>,
    tenant: Tenant,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let JsonBody(mut body) = body;
    let items = take_bulk_items(&mut body)?;
    let expected = items.len();
    // Validation (mostly phone parsing) streams items to the writer on
    // another core, so parsing and SQLite work overlap instead of adding up.
    let (sender, receiver) = std::sync::mpsc::channel();
    rocket::tokio::task::spawn_blocking(move || {
        for item in &items {
            if sender.send(validate_item(item)).is_err() {
                break;
            }
        }
    });
    let scope = tenant.clone();
    let (applied, errors) = db
        .write(move |tx| {
            let mut applied = Vec::with_capacity(expected);
            let mut errors = Vec::new();
            let mut rows = contacts::NewRows::start(tx, &scope)?;
            for (index, item) in receiver.iter().enumerate() {
                match item {
                    Ok(item) => applied.push(contacts::upsert(tx, &scope, &mut rows, item)?),
                    Err(error) => errors.push(BulkError {
                        index,
                        field: error.field,
                        reason: error.message,
                    }),
                }
            }
            // A validator that stopped early must not commit a partial batch.
            if applied.len() + errors.len() != expected {
                return Err(db::Error::Task(String::from(
                    "bulk validation stopped early",
                )));
            }
            Ok((applied, errors))
        })
        .await?;
    let created = applied
        .iter()
        .filter(|(_, how)| *how == Upserted::Created)
        .count();
    let views: Vec<ContactView<'_>> = applied
        .iter()
        .map(|(c, _)| ContactView::new(c, &tenant))
        .collect();
    Reply::ok(&BulkReply {
        created,
        updated: applied.len() - created,
        failed: errors.len(),
        contacts: views,
        errors,
    })
}

/// Validates one bulk item like a create, keeping its first error.
fn validate_item(item: &Value) -> Result<BulkItem, FieldError> {
    BulkItem::from_json(item).map_err(|mut errors| {
        errors.truncate(1);
        errors
            .pop()
            .unwrap_or_else(|| FieldError::new("body", "invalid contact"))
    })
}

/// Takes the `contacts` array out of a bulk body: 413 above 1,000 items,
/// 422 when the body has another shape.
fn take_bulk_items(body: &mut Value) -> Result<Vec<Value>, ApiError> {
    let object = expect_object(body).map_err(|e| ApiError::validation(vec![e]))?;
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|k| k.as_str() != "contacts")
        .map(|k| domain::unknown_field(k))
        .collect();
    let items = match object.get("contacts") {
        Some(Value::Array(items)) if items.len() > domain::MAX_IDS => {
            return Err(too_many("contacts", items.len()));
        }
        Some(Value::Array(items)) => Some(items),
        Some(_) => {
            errors.push(FieldError::new("contacts", "contacts must be an array"));
            None
        }
        None => {
            errors.push(FieldError::new("contacts", "contacts is required"));
            None
        }
    };
    if items.is_none() || !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    match body.get_mut("contacts").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(ApiError::internal()),
    }
}

fn too_many(field: &str, count: usize) -> ApiError {
    ApiError::payload_too_large(format!(
        "{field} holds {count} items; at most {} are allowed in one request",
        domain::MAX_IDS
    ))
}

/// Reads `contactIds` (and nothing else but `also_allowed`).
pub fn contact_ids_of(body: &Value, also_allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let object = expect_object(body).map_err(|e| ApiError::validation(vec![e]))?;
    domain::contact_ids(object, also_allowed).map_err(|e| match e {
        IdListError::TooMany(count) => too_many("contactIds", count),
        IdListError::Invalid(errors) => ApiError::validation(errors),
    })
}

#[rocket::post("/contacts/bulk-delete", data = "<body>")]
async fn post_contacts_bulk_delete(
    db: &State<Db>,
    tenant: Tenant,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(&body.0, &[])?;
    let deleted = db
        .write(move |tx| contacts::delete_many(tx, &tenant, &ids))
        .await?;
    Reply::ok(&json!({ "deleted": deleted }))
}

/// `audienceId` and `contactIds` of an add/remove body.
fn membership_body(body: &Value) -> Result<(String, Vec<String>), ApiError> {
    let object = expect_object(body).map_err(|e| ApiError::validation(vec![e]))?;
    let audience_id = match object.get("audienceId") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(_) => Err(FieldError::new(
            "audienceId",
            "audienceId must be an audience id",
        )),
        None => Err(FieldError::new("audienceId", "audienceId is required")),
    };
    match (domain::contact_ids(object, &["audienceId"]), audience_id) {
        (Err(IdListError::TooMany(count)), _) => Err(too_many("contactIds", count)),
        (Ok(ids), Ok(audience_id)) => Ok((audience_id, ids)),
        (ids, audience_id) => {
            let mut details: Vec<FieldError> = audience_id.err().into_iter().collect();
            if let Err(IdListError::Invalid(errors)) = ids {
                details.extend(errors);
            }
            Err(ApiError::validation(details))
        }
    }
}

/// The answer of an add or remove: `added` or `removed` per `verb`.
pub fn membership_reply(change: &MembershipChange, verb: &str) -> Result<Reply, ApiError> {
    let mut body = serde_json::Map::new();
    body.insert("audienceId".into(), json!(change.audience_id));
    body.insert(verb.into(), json!(change.changed));
    body.insert("contactCount".into(), json!(change.contact_count));
    Reply::ok(&Value::Object(body))
}

#[rocket::post("/contacts/add-to-audience", data = "<body>")]
async fn post_contacts_add_to_audience(
    db: &State<Db>,
    tenant: Tenant,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let (audience_id, ids) = membership_body(&body.0)?;
    let change = db
        .write(move |tx| audiences::add_members(tx, &tenant, &audience_id, &ids))
        .await?;
    membership_reply(&change, "added")
}

#[rocket::post("/contacts/remove-from-audience", data = "<body>")]
async fn post_contacts_remove_from_audience(
    db: &State<Db>,
    tenant: Tenant,
    body: JsonBody,
) -> Result<Reply, ApiError> {
    let (audience_id, ids) = membership_body(&body.0)?;
    let change = db
        .write(move |tx| audiences::remove_members(tx, &tenant, &audience_id, &ids))
        .await?;
    membership_reply(&change, "removed")
}
