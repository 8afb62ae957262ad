//! The API's OpenAPI 3.1 description, served at `GET /v1/openapi.json` (no
//! key) and printed by `contactsd openapi`.
//!
//! Generated from the handlers' `#[utoipa::path]` annotations and the types
//! the server really uses: each request body is the schema of the domain
//! type its parser returns (`NewContact`, `ContactFields`, `NewCall`, …),
//! each answer the schema of the struct that is serialized (`ContactView`,
//! `Page`, `BulkReply`, …), every error [`ErrorBody`]. The error answers a
//! route can give are declared once, as one of the sets below.

use rocket::Route;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use super::{ErrorBody, Reply};

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
                       `Authorization: Bearer`. Every error has the shape `Error`. Any `POST` \
                       may carry an `Idempotency-Key` (1 to 255 visible ASCII characters): the \
                       same key with the same request gets the stored answer again \
                       (`Idempotent-Replayed: true`).",
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
        super::changes::get_changes,
        super::changes::get_changes_stream,
        super::webhooks::get_webhooks,
        super::webhooks::post_webhook,
        super::webhooks::get_webhook,
        super::webhooks::patch_webhook,
        super::webhooks::delete_webhook,
        super::dnc::get_list,
        super::dnc::post_numbers,
        super::dnc::get_entry,
        super::dnc::delete_entry,
        super::settings::get_callability,
        super::settings::get_calling_hours,
        super::settings::put_calling_hours,
        super::imports::post_imports_api_bulk,
        super::imports::post_imports_csv,
        super::imports::get_import_status,
        super::imports::get_imports,
        super::indexes::get_indexes,
        super::indexes::put_index,
        super::indexes::delete_index,
        get_openapi,
    ),
    // Error answers are declared with the sets below, whose schema the
    // paths do not collect themselves.
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "contacts", description = "The people you call, unique by phone number"),
        (name = "audiences", description = "Named groups of contacts"),
        (name = "calls", description = "Call records, kept when their contact is deleted"),
        (name = "changes", description = "Every change, deletions included, in order: keep a copy in sync and resume after any restart"),
        (name = "do-not-call", description = "Numbers not to be called, whether or not a contact has them"),
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

// What each error status means, per kind of route. Every keyed route can
// answer 401 (the key), 429 (a rate limit) and 503 (the database); every
// `POST` reads an `Idempotency-Key`, so it can also answer 400 (a malformed
// key), 409 (the key's first request still running) and 422
// (`idempotency_key_reused`). A route without a body, a query string or an
// idempotency key cannot answer 400: nothing of the request is read but
// its path, and an unknown id there is a 404.

const UNAUTHORIZED: &str = "Missing, malformed, unknown or revoked key (`unauthorized`)";
const RATE_LIMITED: &str =
    "Over the key's rate limit (`rate_limited`); `Retry-After` says when to retry";
const UNAVAILABLE: &str = "The database cannot serve the request now: busy, no connection free \
                           in time, an I/O error or, for writes, a full disk or a read-only \
                           file (`unavailable`); `Retry-After` says when to retry";
const NOT_FOUND: &str = "Unknown id, or another organization's (`not_found`)";
const NOT_FOUND_AUDIENCE: &str = "Unknown audience, or another organization's (`not_found`)";
const NOT_FOUND_NAMED: &str = "An audience or contact the request names is unknown, or another \
                               organization's (`not_found`), and nothing changes; the audience \
                               operations list the unknown contacts in `missingContactIds`";
const NOT_DECLARED: &str = "The index is not declared (`not_found`)";
const BAD_QUERY: &str =
    "An unknown or malformed query parameter (`bad_request`; `details` names it)";
const BAD_LISTING_QUERY: &str =
    "An unknown or malformed query parameter, `cursor` with `page`, or \
                                 a cursor malformed, altered or of another query (`bad_request`; \
                                 `details` names it)";
const BAD_BODY: &str = "A body that cannot be read or is not JSON (`bad_request`)";
const BAD_POST: &str = "A body that cannot be read or is not JSON, or a malformed \
                        `Idempotency-Key` (`bad_request`)";
const BAD_IMPORT: &str = "A JSON body that cannot be read or is not JSON, an unknown query \
                          parameter of a CSV import, or a malformed `Idempotency-Key` \
                          (`bad_request`)";
const OUT_OF_RANGE: &str = "`page` or `limit` below 1, or a `search` of too many characters or \
                            terms (`validation_failed`; `details` names it)";
const INVALID: &str =
    "A rule broken (`validation_failed`; `details` names each field, at most 100)";
const INVALID_POST: &str = "A rule broken (`validation_failed`; `details` names each field, at \
                            most 100), or an `Idempotency-Key` sent before with another \
                            method, path or body (`idempotency_key_reused`)";
const INVALID_IMPORT: &str = "A body of another shape, no rows, an unknown field, a bad \
                              `webhookUrl`, a CSV file that is not CSV (`line` names where) or \
                              lacks a required column (`validation_failed`), or an \
                              `Idempotency-Key` sent before with another request \
                              (`idempotency_key_reused`)";
const INVALID_INDEX: &str = "Not `name` or `metadata.KEY` (`validation_failed`)";
const TOO_LARGE: &str =
    "A body over the size limit, or more than 1,000 items or ids (`payload_too_large`)";
const TOO_LARGE_IMPORT: &str = "A body over `limits.json` (`limits.file` for CSV), more than \
                                10,000 JSON rows or 1,000,000 CSV rows (`payload_too_large`)";
const PHONE_TAKEN: &str =
    "The phone number is another contact's (`conflict`; `contactId` names that contact)";
const PHONE_TAKEN_OR_RUNNING: &str = "The phone number is another contact's (`conflict`; \
                                      `contactId` names that contact), or the \
                                      `Idempotency-Key`'s first request is still running";
const FORBIDDEN: &str =
    "A read-only key, which may only read (`forbidden`; refused before the body is read)";
const RUNNING: &str = "The `Idempotency-Key`'s first request is still running (`conflict`)";

/// A keyed route that reads nothing of the request but the key.
#[derive(IntoResponses)]
pub enum KeyErrors {
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A `PUT` of a setting: its body, no id.
#[derive(IntoResponses)]
pub enum PutErrors {
    #[response(status = 400, description = BAD_BODY)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// Reading or deleting one object by its id.
#[derive(IntoResponses)]
pub enum ByIdErrors {
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND)]
    NotFound(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A contact's callability: its id and `at`.
#[derive(IntoResponses)]
pub enum CallabilityErrors {
    #[response(
        status = 400,
        description = "`at` is not an RFC 3339 time, or an unknown parameter (`bad_request`)"
    )]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND)]
    NotFound(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// `DELETE` of one object by its id.
#[derive(IntoResponses)]
pub enum DeleteByIdErrors {
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND)]
    NotFound(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A paged list (`page`, `limit` and the route's own filters).
#[derive(IntoResponses)]
pub enum PageErrors {
    #[response(status = 400, description = BAD_QUERY)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 422, description = OUT_OF_RANGE)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// The changes feed and its stream: `since`, `limit`, `types`, and `410`.
#[derive(IntoResponses)]
pub enum ChangesErrors {
    #[response(
        status = 400,
        description = "`since` is not a whole number, or an unknown parameter (`bad_request`)"
    )]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(
        status = 410,
        description = "`since` is before tombstones pruned after the retention period, or after the latest change (the database was restored from an older copy): start again from `since=0` (`changes_expired`)"
    )]
    Gone(ErrorBody<'static>),
    #[response(
        status = 422,
        description = "`limit` outside 1 to 1,000, or an unknown type in `types` (`validation_failed`)"
    )]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A contact listing or export: filters, sort, cursors, an audience.
#[derive(IntoResponses)]
pub enum ListingErrors {
    #[response(status = 400, description = BAD_LISTING_QUERY)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND_AUDIENCE)]
    NotFound(ErrorBody<'static>),
    #[response(status = 422, description = OUT_OF_RANGE)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// Declaring an index (the field is in the path; no body).
#[derive(IntoResponses)]
pub enum DeclareIndexErrors {
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_INDEX)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// Dropping an index.
#[derive(IntoResponses)]
pub enum DropIndexErrors {
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_DECLARED)]
    NotFound(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_INDEX)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A `PATCH` or `DELETE` with a JSON body, on an object by its id (no
/// idempotency key: it is read on `POST` only).
#[derive(IntoResponses)]
pub enum UpdateErrors {
    #[response(status = 400, description = BAD_BODY)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND_NAMED)]
    NotFound(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// `PATCH /v1/contacts/{id}`: an update that can take a phone number.
#[derive(IntoResponses)]
pub enum UpdateContactErrors {
    #[response(status = 400, description = BAD_BODY)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND)]
    NotFound(ErrorBody<'static>),
    #[response(status = 409, description = PHONE_TAKEN)]
    Conflict(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A `POST` whose body names no other object.
#[derive(IntoResponses)]
pub enum PostErrors {
    #[response(status = 400, description = BAD_POST)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 409, description = RUNNING)]
    Conflict(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_POST)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// `POST /v1/contacts`: a creation that can take a phone number.
#[derive(IntoResponses)]
pub enum PostContactErrors {
    #[response(status = 400, description = BAD_POST)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 409, description = PHONE_TAKEN_OR_RUNNING)]
    Conflict(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_POST)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// A `POST` naming other objects: an audience, contacts.
#[derive(IntoResponses)]
pub enum PostNamingErrors {
    #[response(status = 400, description = BAD_POST)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND_NAMED)]
    NotFound(ErrorBody<'static>),
    #[response(status = 409, description = RUNNING)]
    Conflict(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_POST)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}

/// Starting an import, of JSON rows or a CSV file.
#[derive(IntoResponses)]
pub enum ImportErrors {
    #[response(status = 400, description = BAD_IMPORT)]
    BadRequest(ErrorBody<'static>),
    #[response(status = 401, description = UNAUTHORIZED)]
    Unauthorized(ErrorBody<'static>),
    #[response(status = 403, description = FORBIDDEN)]
    Forbidden(ErrorBody<'static>),
    #[response(status = 404, description = NOT_FOUND_AUDIENCE)]
    NotFound(ErrorBody<'static>),
    #[response(status = 409, description = RUNNING)]
    Conflict(ErrorBody<'static>),
    #[response(status = 413, description = TOO_LARGE_IMPORT)]
    TooLarge(ErrorBody<'static>),
    #[response(status = 422, description = INVALID_IMPORT)]
    Invalid(ErrorBody<'static>),
    #[response(status = 429, description = RATE_LIMITED)]
    RateLimited(ErrorBody<'static>),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(ErrorBody<'static>),
}
