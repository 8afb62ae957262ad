//! `/v1/contacts`: list, create, read, update, delete, and the bulk and
//! audience-membership operations of the seed.

use rocket::Route;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::{PartialSchema, ToSchema};

use super::listing::{list_contacts, CursorPage};
use super::openapi::{
    ByIdErrors, DeleteByIdErrors, ListingErrors, PostContactErrors, PostErrors, PostNamingErrors,
    UpdateContactErrors,
};
use super::{JsonBody, Query, Reply};
use crate::auth::Org;
use crate::bulk;
use crate::clock;
use crate::db::audiences::MembershipChange;
use crate::db::contacts::{Contact, Upserted};
use crate::db::ItemOutcome;
use crate::domain::{
    self, expect_object, BulkItem, ContactFields, IdListError, Metadata, NewContact, MAX_IDS,
};
use crate::error::{ApiError, FieldError};
use crate::idempotency::Idempotent;
use crate::listing::{Listing, Scope};

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

/// A contact.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Contact, example = json!({"id": "ct_P7MTRIT------PaH9hpOL9r", "name": "Priya Sharma",
    "phoneNumber": "+919876543210", "language": "hi-IN", "metadata": {"city": "Mumbai"},
    "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-15T08:30:00.000Z"}))]
pub(crate) struct ContactView<'a> {
    id: &'a str,
    /// Trimmed, 1 to 200 characters.
    name: &'a str,
    /// E.164, unique in the organization.
    phone_number: &'a str,
    /// A canonical BCP 47 tag, or `null`.
    #[schema(required = true)]
    language: Option<&'a str>,
    /// The object as sent, every number to its last digit (`{}` when none).
    #[schema(value_type = Object)]
    metadata: Box<RawValue>,
    organization_id: &'a str,
    /// RFC 3339 UTC with milliseconds.
    created_at: String,
    /// Changes on every write that changes the contact, never on a no-op.
    updated_at: String,
}

impl<'a> ContactView<'a> {
    pub(crate) fn new(contact: &'a Contact, org_id: &'a str) -> Self {
        ContactView {
            id: &contact.id,
            name: contact.name.as_str(),
            phone_number: contact.phone.as_str(),
            language: contact.language.as_ref().map(domain::Language::as_str),
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
    description = crate::domain::schema::metadata_filters(),
    params(Listing, ("audienceId" = Option<String>, Query, description = "Only the members of this audience (unknown: 404)")),
    responses((status = 200, body = CursorPage, headers(("X-Contactsd-Hint" = String, description = "Sent when the listing read more than `scan_hint_rows` rows (default 100,000) for a metadata key with no declared index: the request that declares it, e.g. `PUT /v1/indexes/metadata.tier`"))), ListingErrors),
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
    request_body = NewContact,
    responses((status = 201, body = ContactView, headers(("Location" = String, description = "/v1/contacts/{id}"))), PostContactErrors),
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
    params(("id" = String, Path, description = "The contact's id")),
    responses((status = 200, body = ContactView), ByIdErrors),
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
    params(("id" = String, Path, description = "The contact's id")),
    request_body = ContactFields,
    responses((status = 200, body = ContactView), UpdateContactErrors),
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
    params(("id" = String, Path, description = "The contact's id")),
    responses((status = 200, body = Success), DeleteByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/contacts/<id>")]
async fn delete_contact(org: Org, id: &str) -> Result<Reply, ApiError> {
    org.delete_contact(id.to_string()).await?;
    Reply::ok(&Success::YES)
}

/// What a deletion answers.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"success": true}))]
pub(crate) struct Success {
    /// Always `true`.
    success: bool,
}

impl Success {
    pub(crate) const YES: Success = Success { success: true };
}

/// Up to 1,000 contacts to upsert by phone number: the body of
/// `POST /v1/contacts/bulk`, its items checked one by one as they apply.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)] // read by utoipa: no other field is taken
#[schema(example = json!({"contacts": [
    {"name": "Priya Sharma", "phoneNumber": "+91 98765-43210", "language": "hi-IN", "metadata": {"city": "Mumbai"}},
    {"name": "Arjun Mehta", "phoneNumber": "+14155552671"},
    {"name": "Not a number", "phoneNumber": "12345"}
]}))]
pub(crate) struct BulkRequest {
    /// 0 to 1,000 items (more: 413), applied in order; a bad item fails
    /// alone.
    #[schema(value_type = Vec<BulkItem>, max_items = 1000)]
    contacts: Vec<Value>,
}

// `maxItems` above is the bulk limit.
const _: () = assert!(MAX_IDS == 1000);

impl BulkRequest {
    fn from_json(body: Value) -> Result<Self, ApiError> {
        Ok(BulkRequest {
            contacts: bulk::items_of(body)?,
        })
    }
}

/// What a bulk upsert did.
#[derive(Serialize, ToSchema)]
#[schema(as = BulkResult, example = json!({"created": 1, "updated": 1, "failed": 1,
    "contacts": [{"id": "ct_P7MTRIT------PaH9hpOL9r", "name": "Priya Sharma",
        "phoneNumber": "+919876543210", "language": "hi-IN", "metadata": {"city": "Mumbai"},
        "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:00:00.000Z",
        "updatedAt": "2026-03-15T08:30:00.000Z"}],
    "errors": [{"index": 2, "field": "phoneNumber",
        "reason": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210"}]}))]
struct BulkReply<'a> {
    created: usize,
    /// Known numbers, including items equal to what was stored.
    updated: usize,
    failed: usize,
    /// The resulting contact of each applied item, in input order.
    contacts: Vec<ContactView<'a>>,
    /// Each failed item, in input order.
    errors: Vec<BulkError<'a>>,
}

/// One failed bulk item.
#[derive(Serialize, ToSchema)]
struct BulkError<'a> {
    /// The item's position in `contacts`, from 0.
    index: usize,
    /// The first field that broke a rule.
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
    description = "One transaction: a new number creates, a known one updates; items apply in \
                   order. Invalid items are reported in `errors` and the rest apply.",
    request_body = BulkRequest,
    responses((status = 200, body = BulkReply), PostErrors),
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
    let request = BulkRequest::from_json(body.into_value())?;
    let outcomes = bulk::upsert(&org, request.contacts).await?;
    Reply::ok(&BulkReply::new(&outcomes.value, &outcomes.org_id))
}

/// The schema of `contactIds`: 1 to 1,000 ids.
fn contact_id_list() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(String::schema())
        .min_items(Some(1))
        .max_items(Some(MAX_IDS))
        .description(Some(format!(
            "1 to {MAX_IDS} contact ids (more: 413); a repeated id counts once."
        )))
        .build()
}

/// A body naming contacts: `{"contactIds": [...]}`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)] // read by utoipa: the wire names
#[schema(example = json!({"contactIds": ["ct_P7MTRIT------PaH9hpOL9r", "ct_P7MTRIU------QbW2xZ9kLm"]}))]
pub(crate) struct ContactIds {
    #[schema(schema_with = contact_id_list)]
    pub(crate) contact_ids: Vec<String>,
}

impl ContactIds {
    /// Reads `contactIds` (and nothing else).
    pub(crate) fn from_json(body: &Value) -> Result<Self, ApiError> {
        let object = expect_object(body).map_err(|e| ApiError::validation(vec![e]))?;
        domain::contact_ids(object, &[])
            .map(|contact_ids| ContactIds { contact_ids })
            .map_err(|e| match e {
                IdListError::TooMany(count) => bulk::too_many("contactIds", count).into(),
                IdListError::Invalid(errors) => ApiError::validation(errors),
            })
    }
}

/// How many contacts a bulk delete removed.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"deleted": 2}))]
pub(crate) struct Deleted {
    /// The rows actually removed: unknown ids and other organizations' are
    /// ignored.
    deleted: usize,
}

#[utoipa::path(
    post,
    path = "/v1/contacts/bulk-delete",
    tag = "contacts",
    summary = "Delete up to 1,000 contacts",
    request_body = ContactIds,
    responses((status = 200, body = Deleted), PostErrors),
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
    let ids = ContactIds::from_json(body.value())?;
    let deleted = org.delete_contacts(ids.contact_ids).await?;
    Reply::ok(&Deleted {
        deleted: deleted.value,
    })
}

/// Contacts to add to or remove from an audience.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)] // read by utoipa: the wire names
#[schema(example = json!({"contactIds": ["ct_P7MTRIT------PaH9hpOL9r"], "audienceId": "aud_P7MTRIT------QbW2xZ9kLm"}))]
struct Membership {
    #[schema(schema_with = contact_id_list)]
    contact_ids: Vec<String>,
    /// The audience (unknown: 404).
    #[schema(min_length = 1)]
    audience_id: String,
}

impl Membership {
    /// Reads `audienceId` and `contactIds`, reporting both when both are
    /// wrong.
    fn from_json(body: &Value) -> Result<Self, ApiError> {
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
            (Err(IdListError::TooMany(count)), _) => {
                Err(bulk::too_many("contactIds", count).into())
            }
            (Ok(contact_ids), Ok(audience_id)) => Ok(Membership {
                contact_ids,
                audience_id,
            }),
            (ids, audience_id) => {
                let mut details: Vec<FieldError> = audience_id.err().into_iter().collect();
                if let Err(IdListError::Invalid(errors)) = ids {
                    details.extend(errors);
                }
                Err(ApiError::validation(details))
            }
        }
    }
}

/// What adding contacts to an audience did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"audienceId": "aud_P7MTRIT------QbW2xZ9kLm", "added": 1, "contactCount": 12}))]
pub(crate) struct MembersAdded<'a> {
    audience_id: &'a str,
    /// Contacts that were not members yet.
    added: usize,
    /// The audience's member count afterwards.
    contact_count: i64,
}

impl<'a> MembersAdded<'a> {
    pub(crate) fn new(change: &'a MembershipChange) -> Self {
        MembersAdded {
            audience_id: &change.audience_id,
            added: change.changed,
            contact_count: change.contact_count,
        }
    }
}

/// What removing contacts from an audience did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"audienceId": "aud_P7MTRIT------QbW2xZ9kLm", "removed": 1, "contactCount": 11}))]
pub(crate) struct MembersRemoved<'a> {
    audience_id: &'a str,
    /// Contacts that were members.
    removed: usize,
    /// The audience's member count afterwards.
    contact_count: i64,
}

impl<'a> MembersRemoved<'a> {
    pub(crate) fn new(change: &'a MembershipChange) -> Self {
        MembersRemoved {
            audience_id: &change.audience_id,
            removed: change.changed,
            contact_count: change.contact_count,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/contacts/add-to-audience",
    tag = "contacts",
    summary = "Add contacts to an audience",
    description = "Adding a member again changes nothing. Any unknown contact: 404 listing them, \
                   and nothing is added.",
    request_body = Membership,
    responses((status = 200, body = MembersAdded), PostNamingErrors),
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
    let request = Membership::from_json(body.value())?;
    let change = org
        .add_members(request.audience_id, request.contact_ids)
        .await?;
    Reply::ok(&MembersAdded::new(&change.value))
}

#[utoipa::path(
    post,
    path = "/v1/contacts/remove-from-audience",
    tag = "contacts",
    summary = "Remove contacts from an audience",
    description = "A known contact that is not a member changes nothing. Any unknown contact: \
                   404 listing them, and nothing is removed.",
    request_body = Membership,
    responses((status = 200, body = MembersRemoved), PostNamingErrors),
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
    let request = Membership::from_json(body.value())?;
    let change = org
        .remove_members(request.audience_id, request.contact_ids)
        .await?;
    Reply::ok(&MembersRemoved::new(&change.value))
}
