//! The API's OpenAPI 3.1 description, generated from the handlers'
//! `#[utoipa::path]` annotations and the types below, served at
//! `GET /v1/openapi.json` (no key).
//!
//! Handlers read bodies and query strings by hand (to name every broken
//! rule), so the request and answer shapes are described here, next to the
//! code that emits them; a test checks that every mounted route is in the
//! document.

use rocket::Route;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use super::Reply;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_openapi]
}

/// The OpenAPI document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "service",
    summary = "This OpenAPI 3.1 document (no key)",
    responses((status = 200, description = "The document", content_type = "application/json"))
)]
#[rocket::get("/openapi.json")]
fn get_openapi() -> Reply {
    Reply::raw_json(document().into_bytes())
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_default()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "contactsd",
        description = "A self-hosted Contacts API: contacts unique by phone number within an \
                       organization, audiences, call records. Keys are sent as `x-api-key` or \
                       `Authorization: Bearer`. Every error has the shape `Error`.",
        license(name = "MIT")
    ),
    paths(
        super::health::get_healthz,
        super::docs::get_docs,
        super::docs::get_redoc,
        super::console::get_console,
        super::console::get_console_file,
        super::contacts::get_contacts,
        super::export::get_contacts_export,
        super::contacts::post_contact,
        super::contacts::get_contact,
        super::contacts::patch_contact,
        super::contacts::delete_contact,
        super::contacts::post_contacts_bulk,
        super::contacts::post_contacts_bulk_delete,
        super::contacts::post_contacts_add_to_audience,
        super::contacts::post_contacts_remove_from_audience,
        super::audiences::get_audiences,
        super::audiences::post_audience,
        super::audiences::get_audience,
        super::audiences::patch_audience,
        super::audiences::delete_audience,
        super::audiences::get_audience_contacts,
        super::audiences::get_audience_available_contacts,
        super::audiences::post_audience_contacts,
        super::audiences::post_audience_contacts_remove,
        super::audiences::delete_audience_contacts,
        super::calls::get_calls,
        super::calls::post_call,
        super::calls::get_call,
        super::imports::post_imports_api_bulk,
        super::imports::post_imports_csv,
        super::imports::get_import_status,
        super::imports::get_imports,
        super::indexes::get_indexes,
        super::indexes::put_index,
        super::indexes::delete_index,
        get_openapi,
    ),
    modifiers(&Security),
    tags(
        (name = "contacts", description = "The people you call, unique by phone number"),
        (name = "audiences", description = "Named groups of contacts"),
        (name = "calls", description = "Call records, kept when their contact is deleted"),
        (name = "indexes", description = "Indexes an organization declares, so sort=name and chosen metadata filters stay fast at any size"),
        (name = "imports", description = "Background imports of JSON rows or CSV files, with a signed webhook when done"),
        (name = "service", description = "Health and this description"),
    )
)]
struct ApiDoc;

/// The two ways to send a key.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error: the platform's NestJS shape plus `code`, `details` and,
/// where useful, named fields.
#[derive(ToSchema)]
#[schema(example = json!({"statusCode": 422, "error": "Unprocessable Entity",
    "code": "validation_failed", "message": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210",
    "details": [{"field": "phoneNumber", "message": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210"}]}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Error {
    status_code: u16,
    error: String,
    /// `bad_request`, `unauthorized`, `not_found`, `conflict`,
    /// `payload_too_large`, `validation_failed`, `idempotency_key_reused`,
    /// `rate_limited`, `internal`, `unavailable`.
    code: String,
    message: String,
    /// Each broken rule (at most 100).
    details: Option<Vec<FieldError>>,
    /// On `409`: the contact that holds the phone number.
    contact_id: Option<String>,
    /// On `404` from the audience operations: the unknown contact ids.
    missing_contact_ids: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FieldError {
    /// The body field or query parameter.
    field: String,
    message: String,
}

/// A contact.
#[derive(ToSchema)]
#[schema(example = json!({"id": "ct_P7MTRIT------PaH9hpOL9r", "name": "Priya Sharma",
    "phoneNumber": "+919876543210", "language": "hi-IN", "metadata": {"city": "Mumbai"},
    "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-15T08:30:00.000Z"}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Contact {
    id: String,
    name: String,
    /// E.164.
    phone_number: String,
    /// A canonical BCP 47 tag, or null.
    language: Option<String>,
    /// The object as sent, every number to its last digit.
    #[schema(value_type = Object)]
    metadata: Value,
    organization_id: String,
    created_at: String,
    updated_at: String,
}

/// A contact to create (`name` and `phoneNumber` required).
#[derive(ToSchema)]
#[schema(example = json!({"name": "Priya Sharma", "phoneNumber": "+91 98765-43210",
    "language": "hi-IN", "metadata": {"city": "Mumbai", "tier": "premium"}}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactInput {
    /// 1 to 200 characters after trimming.
    name: String,
    /// International (`+`), spaces, dashes, dots and parentheses allowed.
    phone_number: String,
    language: Option<String>,
    /// At most 64 keys of 1 to 64 characters, 16 KiB serialized.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// Any subset of a contact's fields.
#[derive(ToSchema)]
#[schema(example = json!({"language": "en-IN", "metadata": {"city": "Delhi"}}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactPatch {
    name: Option<String>,
    phone_number: Option<String>,
    language: Option<String>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// A page of contacts.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactPage {
    data: Vec<Contact>,
    total: i64,
    /// `null` under a cursor.
    page: Option<i64>,
    limit: i64,
    total_pages: i64,
    /// The rows after this page, or `null` on the last.
    next_cursor: Option<String>,
}

/// Up to 1,000 contacts to upsert by phone number.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkRequest {
    contacts: Vec<ContactInput>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkError {
    index: usize,
    field: String,
    reason: String,
}

/// What a bulk upsert did.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkResult {
    created: usize,
    updated: usize,
    failed: usize,
    contacts: Vec<Contact>,
    errors: Vec<BulkError>,
}

/// 1 to 1,000 contact ids.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactIds {
    contact_ids: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Deleted {
    deleted: usize,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Success {
    success: bool,
}

/// Contacts to add to or remove from an audience.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembershipRequest {
    contact_ids: Vec<String>,
    audience_id: String,
}

/// What an add or remove did (`added` or `removed`).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembershipResult {
    audience_id: String,
    added: Option<usize>,
    removed: Option<usize>,
    /// The audience's member count afterwards.
    contact_count: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Audience {
    id: String,
    name: String,
    description: Option<String>,
    contact_count: i64,
    organization_id: String,
    created_at: String,
    updated_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AudienceInput {
    name: Option<String>,
    description: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AudiencePage {
    data: Vec<Audience>,
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Call {
    id: String,
    contact_id: String,
    contact_name: String,
    phone_number: String,
    /// queued, ringing, in-progress, completed, busy, no-answer, failed, canceled.
    status: String,
    /// outbound or inbound.
    direction: String,
    started_at: String,
    duration_seconds: Option<i64>,
    #[schema(value_type = Object)]
    metadata: Value,
    organization_id: String,
    created_at: String,
}

#[derive(ToSchema)]
#[schema(example = json!({"contactId": "ct_P7MTRIT------PaH9hpOL9r", "status": "completed",
    "startedAt": "2026-03-01T15:30:00+05:30", "durationSeconds": 94}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallInput {
    contact_id: String,
    status: String,
    direction: Option<String>,
    started_at: Option<String>,
    duration_seconds: Option<i64>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallPage {
    data: Vec<Call>,
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
}

/// Up to 10,000 rows; each row's keys other than `name`, `phoneNumber`,
/// `language` and `metadata` become metadata keys.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"contacts": [{"name": "Priya Sharma", "phoneNumber": "+919876543210", "language": "hi-IN", "city": "Mumbai"}], "audienceId": null, "webhookUrl": "https://example.com/hooks/contactsd"}))]
pub(crate) struct ImportRequest {
    #[schema(value_type = Vec<Object>)]
    contacts: Vec<Value>,
    audience_id: Option<String>,
    webhook_url: Option<String>,
}

/// An accepted import; follow it at `Location`.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"importId": "imp_0Nf3XqA000000Kx2bQ9vLm1", "status": "PENDING", "total": 2}))]
pub(crate) struct ImportAccepted {
    import_id: String,
    /// `PENDING`, `PROCESSING`, `COMPLETED`, `COMPLETED_WITH_ERRORS` or `FAILED`.
    status: String,
    total: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ImportRowError {
    /// The row's position, from 0.
    index: i64,
    field: String,
    reason: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookAttempt {
    at: String,
    /// The receiver's status, when it answered.
    status_code: Option<i64>,
    error: Option<String>,
}

/// A webhook's delivery.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct WebhookDelivery {
    /// `waiting` (import not final), `pending`, `delivered` or `failed`.
    state: String,
    attempts: Vec<WebhookAttempt>,
}

/// An import's status. `errors` (the first 1,000 failed rows) is on the
/// status route only.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportStatus {
    id: String,
    /// `PENDING`, `PROCESSING`, `COMPLETED`, `COMPLETED_WITH_ERRORS` or `FAILED`.
    status: String,
    total: i64,
    processed: i64,
    created: i64,
    updated: i64,
    failed: i64,
    error_count: i64,
    errors: Option<Vec<ImportRowError>>,
    audience_id: Option<String>,
    webhook_url: Option<String>,
    created_at: String,
    started_at: Option<String>,
    completed_at: Option<String>,
    organization_id: String,
    webhook: Option<WebhookDelivery>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportPage {
    data: Vec<ImportStatus>,
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
}

/// A declared index.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"field": "metadata.city", "createdAt": "2026-11-29T23:30:00.000Z"}))]
pub(crate) struct Index {
    /// `name` or `metadata.KEY`.
    field: String,
    created_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct IndexList {
    data: Vec<Index>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Health {
    status: String,
}

/// `page` and `limit`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct PageParams {
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20; above 100 is served as 100).
    limit: Option<i64>,
}

/// The contact listings' parameters. `metadata.KEY=VALUE` (repeatable)
/// also filters by a top-level metadata value.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct ListingParams {
    /// From 1 (default 1); not with `cursor`.
    page: Option<i64>,
    /// 1 to 100 (default 20; above 100 is served as 100).
    limit: Option<i64>,
    /// Names and phone digits; every term must match (at most 256 characters, 16 terms).
    search: Option<String>,
    /// `-createdAt` (default), `createdAt`, `-updatedAt`, `updatedAt`, `name`, `-name`.
    sort: Option<String>,
    /// A `nextCursor` of the same query.
    cursor: Option<String>,
    /// A BCP 47 tag.
    language: Option<String>,
    /// Members of this audience (`GET /v1/contacts` only).
    audience_id: Option<String>,
    /// RFC 3339: rows created at or after.
    created_after: Option<String>,
    /// RFC 3339: rows created strictly before.
    created_before: Option<String>,
    /// RFC 3339: rows updated at or after.
    updated_after: Option<String>,
    /// RFC 3339: rows updated strictly before.
    updated_before: Option<String>,
}
