//! `/v1/contacts`: list, create, read, update, delete, and the bulk and
//! audience-membership operations of the seed.

use rocket::Route;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::listing::list_contacts;
use super::openapi as doc;
use super::{JsonBody, Query, Reply};
use crate::auth::Org;
use crate::bulk;
use crate::clock;
use crate::db::audiences::MembershipChange;
use crate::db::contacts::{Contact, Upserted};
use crate::db::ItemOutcome;
use crate::domain::{self, expect_object, ContactFields, IdListError, Metadata, NewContact};
use crate::error::{ApiError, FieldError};
use crate::idempotency::Idempotent;
use crate::listing::Scope;

pub(crate) fn routes() -> Vec<Route> {
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
pub(crate) struct ContactView<'a> {
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
    pub(crate) fn new(contact: &'a Contact, org_id: &'a str) -> Self {
        ContactView {
            id: &contact.id,
            name: contact.name.as_str(),
            phone_number: contact.phone.as_str(),
            language: contact.language.as_ref().map(|l| l.as_str()),
            metadata: raw_json(&contact.metadata),
            organization_id: org_id,
            created_at: clock::format_ms(contact.created_at),
            updated_at: clock::format_ms(contact.updated_at),
        }
    }
}

/// Stored metadata as it is, every number's text included.
pub(crate) fn raw_json(metadata: &Metadata) -> Box<RawValue> {
    RawValue::from_string(metadata.as_str().to_string())
        .or_else(|_| RawValue::from_string(String::from("{}")))
        .unwrap_or_default()
}

fn location(contact: &Contact) -> String {
    format!("/v1/contacts/{}", contact.id)
}

#[utoipa::path(
    get,
    path = "/v1/contacts",
    tag = "contacts",
    summary = "List and search contacts",
    params(doc::ListingParams),
    responses((status = 200, body = doc::ContactPage), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/contacts")]
async fn get_contacts(org: Org, query: Query) -> Result<Reply, ApiError> {
    list_contacts(&org, query, Scope::All).await
}

#[utoipa::path(
    post,
    path = "/v1/contacts",
    tag = "contacts",
    summary = "Create a contact",
    request_body = doc::ContactInput,
    responses((status = 201, body = doc::Contact, headers(("Location" = String))), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/contacts", data = "<body>")]
async fn post_contact(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(create_contact(org, body).await).await,
    }
}

/// Creates the contact.
async fn create_contact(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let new = NewContact::from_json(body.value()).map_err(ApiError::validation)?;
    let contact = org.create_contact(new).await?;
    Reply::created(
        location(&contact.value),
        &ContactView::new(&contact.value, &contact.org_id),
    )
}

#[utoipa::path(
    get,
    path = "/v1/contacts/{id}",
    tag = "contacts",
    summary = "Get a contact",
    params(("id" = String, Path, description = "The id")),
    responses((status = 200, body = doc::Contact), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/contacts/<id>")]
async fn get_contact(org: Org, id: &str) -> Result<Reply, ApiError> {
    let contact = org.contact(id.to_string()).await?;
    Reply::ok(&ContactView::new(&contact.value, &contact.org_id))
}

#[utoipa::path(
    patch,
    path = "/v1/contacts/{id}",
    tag = "contacts",
    summary = "Update a contact",
    params(("id" = String, Path, description = "The id")),
    request_body = doc::ContactPatch,
    responses((status = 200, body = doc::Contact), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::patch("/contacts/<id>", data = "<body>")]
async fn patch_contact(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let fields = ContactFields::from_json(body.value()).map_err(ApiError::validation)?;
    let contact = org.update_contact(id.to_string(), fields).await?;
    Reply::ok(&ContactView::new(&contact.value, &contact.org_id))
}

#[utoipa::path(
    delete,
    path = "/v1/contacts/{id}",
    tag = "contacts",
    summary = "Delete a contact (its calls stay)",
    params(("id" = String, Path, description = "The id")),
    responses((status = 200, body = doc::Success), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/contacts/<id>")]
async fn delete_contact(org: Org, id: &str) -> Result<Reply, ApiError> {
    org.delete_contact(id.to_string()).await?;
    Reply::ok(&json!({ "success": true }))
}

/// The answer of a bulk upsert, serialized straight from these fields.
#[derive(Serialize)]
struct BulkReply<'a> {
    created: usize,
    updated: usize,
    failed: usize,
    contacts: Vec<ContactView<'a>>,
    errors: Vec<BulkError<'a>>,
}

/// One failed bulk item.
#[derive(Serialize)]
struct BulkError<'a> {
    index: usize,
    field: &'a str,
    reason: &'a str,
}

impl<'a> BulkReply<'a> {
    fn new(outcomes: &'a [ItemOutcome], org_id: &'a str) -> Self {
        let mut reply = BulkReply {
            created: 0,
            updated: 0,
            failed: 0,
            contacts: Vec::with_capacity(outcomes.len()),
            errors: Vec::new(),
        };
        for (index, outcome) in outcomes.iter().enumerate() {
            match outcome {
                ItemOutcome::Applied(contact, how) => {
                    match how {
                        Upserted::Created => reply.created += 1,
                        Upserted::Updated => reply.updated += 1,
                    }
                    reply.contacts.push(ContactView::new(contact, org_id));
                }
                ItemOutcome::Failed(error) => {
                    reply.failed += 1;
                    reply.errors.push(BulkError {
                        index,
                        field: &error.field,
                        reason: &error.message,
                    });
                }
            }
        }
        reply
    }
}

#[utoipa::path(
    post,
    path = "/v1/contacts/bulk",
    tag = "contacts",
    summary = "Upsert up to 1,000 contacts by phone number",
    request_body = doc::BulkRequest,
    responses((status = 200, body = doc::BulkResult), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/contacts/bulk", data = "<body>")]
async fn post_contacts_bulk(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(upsert_contacts(org, body).await).await,
    }
}

/// Upserts the contacts in one transaction.
async fn upsert_contacts(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let items = bulk::items_of(body.into_value())?;
    let outcomes = bulk::upsert(&org, items).await?;
    Reply::ok(&BulkReply::new(&outcomes.value, &outcomes.org_id))
}

/// Reads `contactIds` (and nothing else but `also_allowed`).
pub(crate) fn contact_ids_of(body: &Value, also_allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let object = expect_object(body).map_err(|e| ApiError::validation(vec![e]))?;
    domain::contact_ids(object, also_allowed).map_err(|e| match e {
        IdListError::TooMany(count) => bulk::too_many("contactIds", count).into(),
        IdListError::Invalid(errors) => ApiError::validation(errors),
    })
}

#[utoipa::path(
    post,
    path = "/v1/contacts/bulk-delete",
    tag = "contacts",
    summary = "Delete up to 1,000 contacts",
    request_body = doc::ContactIds,
    responses((status = 200, body = doc::Deleted), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/contacts/bulk-delete", data = "<body>")]
async fn post_contacts_bulk_delete(
    org: Org,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(delete_contacts(org, body).await).await,
    }
}

/// Deletes the contacts.
async fn delete_contacts(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let ids = contact_ids_of(body.value(), &[])?;
    let deleted = org.delete_contacts(ids).await?;
    Reply::ok(&json!({ "deleted": deleted.value }))
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
        (Err(IdListError::TooMany(count)), _) => Err(bulk::too_many("contactIds", count).into()),
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
pub(crate) fn membership_reply(change: &MembershipChange, verb: &str) -> Result<Reply, ApiError> {
    let mut body = serde_json::Map::new();
    body.insert("audienceId".into(), json!(change.audience_id));
    body.insert(verb.into(), json!(change.changed));
    body.insert("contactCount".into(), json!(change.contact_count));
    Reply::ok(&Value::Object(body))
}

#[utoipa::path(
    post,
    path = "/v1/contacts/add-to-audience",
    tag = "contacts",
    summary = "Add contacts to an audience",
    request_body = doc::MembershipRequest,
    responses((status = 200, body = doc::MembershipResult), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/contacts/add-to-audience", data = "<body>")]
async fn post_contacts_add_to_audience(
    org: Org,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(add_to_audience(org, body).await).await,
    }
}

/// Adds the contacts to the audience.
async fn add_to_audience(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let (audience_id, ids) = membership_body(body.value())?;
    let change = org.add_members(audience_id, ids).await?;
    membership_reply(&change.value, "added")
}

#[utoipa::path(
    post,
    path = "/v1/contacts/remove-from-audience",
    tag = "contacts",
    summary = "Remove contacts from an audience",
    request_body = doc::MembershipRequest,
    responses((status = 200, body = doc::MembershipResult), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 409, description = "Phone number taken (`contactId`), or the idempotency key's first request still running", body = doc::Error), (status = 413, description = "Body or batch too large", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request or query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/contacts/remove-from-audience", data = "<body>")]
async fn post_contacts_remove_from_audience(
    org: Org,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(remove_from_audience(org, body).await).await,
    }
}

/// Removes the contacts from the audience.
async fn remove_from_audience(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let (audience_id, ids) = membership_body(body.value())?;
    let change = org.remove_members(audience_id, ids).await?;
    membership_reply(&change.value, "removed")
}
