//! The wire shape of the input types, as the OpenAPI document describes
//! them: a schema for each body type and its fields, and the query
//! parameters of the types read from query strings.
//!
//! The parsers beside each type are what enforce the rules; the schemas
//! are written here, next to the same constants, because every body type
//! holds parsed values (`phone` is a [`PhoneNumber`], `startedAt` is
//! milliseconds) while the wire carries JSON text under camelCase names.
//! Every body object refuses unknown fields (`additionalProperties:
//! false`), as the parsers do with a 422 naming the field. The import
//! request's schema is in `import`, beside the limits it quotes.

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::audience::MAX_DESCRIPTION_CHARS;
use crate::listing::{ExportFormat, Listing, MAX_METADATA_FILTERS};
use crate::metadata::{MAX_BYTES as MAX_METADATA_BYTES, MAX_KEYS as MAX_METADATA_KEYS};
use crate::name::MAX_NAME_CHARS;
use crate::query::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use crate::search::{MAX_SEARCH_CHARS, MAX_TERMS};
use crate::{
    AudienceFields, BulkItem, CallDirection, CallStatus, ContactFields, Language, Metadata, Name,
    NewCall, NewContact, PhoneNumber, MAX_METADATA_KEY_CHARS,
};

/// The component schemas a schema refers to, as [`ToSchema::schemas`]
/// collects them.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A reference to `T`'s component schema.
pub fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// `T`'s component schema, or `null`.
pub fn nullable<T: ToSchema>(description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(reference::<T>())
        .description(Some(description))
        .into()
}

/// Adds `T` and whatever it refers to to `schemas`.
pub fn register<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// `kind` or `null`.
pub fn or_null(kind: Type) -> SchemaType {
    SchemaType::from_iter([kind, Type::Null])
}

/// A string, described.
fn string(description: impl Into<String>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// A body object: the given properties, nothing else.
fn body_object(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

impl PartialSchema for Name {
    fn schema() -> RefOr<Schema> {
        string(format!(
            "Trimmed, then 1 to {MAX_NAME_CHARS} characters, in any script (accents, \
             Devanagari, Tamil, emoji); no control characters."
        ))
        .examples([json!("Priya Sharma")])
        .into()
    }
}

impl ToSchema for Name {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Name")
    }
}

impl PartialSchema for PhoneNumber {
    fn schema() -> RefOr<Schema> {
        string(
            "A valid phone number written internationally: `+`, the country code and the \
             number, with spaces, dashes, dots and parentheses anywhere (at most 40 \
             characters). Stored and returned in E.164: `+91 98765-43210` is \
             `+919876543210`, and a contact's number is unique in its organization in that \
             form. National-only numbers are refused.",
        )
        .examples([json!("+91 98765-43210")])
        .into()
    }
}

impl ToSchema for PhoneNumber {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PhoneNumber")
    }
}

impl PartialSchema for Language {
    fn schema() -> RefOr<Schema> {
        string(
            "A BCP 47 language tag (`hi-IN`, `en`, `ta-IN`, `zh-Hant-TW`) of at most 64 \
             characters, in any case; returned in canonical case (`HI-in` is `hi-IN`).",
        )
        .examples([json!("hi-IN")])
        .into()
    }
}

impl ToSchema for Language {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Language")
    }
}

impl PartialSchema for Metadata {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!(
                "A JSON object of at most {MAX_METADATA_KEYS} keys, each 1 to \
                 {MAX_METADATA_KEY_CHARS} characters, at most {MAX_METADATA_BYTES} bytes \
                 serialized. Values come back exactly as sent: a number keeps its value to \
                 the last digit."
            )))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .max_properties(Some(MAX_METADATA_KEYS))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_METADATA_KEY_CHARS)),
            ))
            .examples([json!({"city": "Mumbai", "tier": "premium"})])
            .into()
    }
}

impl ToSchema for Metadata {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Metadata")
    }
}

impl PartialSchema for CallStatus {
    fn schema() -> RefOr<Schema> {
        string("Where the call stands, as the platform names it.")
            .enum_values(Some(CallStatus::ALL.map(CallStatus::as_str)))
            .into()
    }
}

impl ToSchema for CallStatus {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CallStatus")
    }
}

impl PartialSchema for CallDirection {
    fn schema() -> RefOr<Schema> {
        string("Which way the call went.")
            .enum_values(Some(CallDirection::ALL.map(CallDirection::as_str)))
            .into()
    }
}

impl ToSchema for CallDirection {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CallDirection")
    }
}

/// The four fields of a contact body; `required` lists those that must
/// be present.
fn contact_object(description: &str, required: &[&str]) -> ObjectBuilder {
    let mut object = body_object(description)
        .property("name", reference::<Name>())
        .property("phoneNumber", reference::<PhoneNumber>())
        .property(
            "language",
            nullable::<Language>("`null` clears the language (none on create)."),
        )
        .property(
            "metadata",
            nullable::<Metadata>(
                "Replaces the whole object; `null` is `{}` (absent on create: `{}`).",
            ),
        );
    for field in required {
        object = object.required(*field);
    }
    object
}

/// The schemas a contact body refers to.
fn contact_schemas(schemas: &mut Schemas) {
    register::<Name>(schemas);
    register::<PhoneNumber>(schemas);
    register::<Language>(schemas);
    register::<Metadata>(schemas);
}

impl PartialSchema for NewContact {
    fn schema() -> RefOr<Schema> {
        contact_object(
            "A contact to create: `name` and `phoneNumber` required. Unknown and read-only \
             fields (`id`, `organizationId`, `createdAt`, `updatedAt`) are refused.",
            &["name", "phoneNumber"],
        )
        .examples([json!({
            "name": "Priya Sharma",
            "phoneNumber": "+91 98765-43210",
            "language": "hi-IN",
            "metadata": {"city": "Mumbai", "tier": "premium"}
        })])
        .into()
    }
}

impl ToSchema for NewContact {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewContact")
    }

    fn schemas(schemas: &mut Schemas) {
        contact_schemas(schemas);
    }
}

impl PartialSchema for ContactFields {
    fn schema() -> RefOr<Schema> {
        contact_object(
            "Any subset of a contact's fields; `{}` changes nothing. A phone number another \
             contact has is a 409.",
            &[],
        )
        .examples([json!({"language": "en-IN", "metadata": {"city": "Delhi"}})])
        .into()
    }
}

impl ToSchema for ContactFields {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ContactFields")
    }

    fn schemas(schemas: &mut Schemas) {
        contact_schemas(schemas);
    }
}

impl PartialSchema for BulkItem {
    fn schema() -> RefOr<Schema> {
        contact_object(
            "One item of a bulk upsert, checked like a create. A known phone number updates \
             `name` and whichever of `language` and `metadata` the item carries; absent ones \
             keep their values. A bad item fails alone.",
            &["name", "phoneNumber"],
        )
        .into()
    }
}

impl ToSchema for BulkItem {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("BulkItem")
    }

    fn schemas(schemas: &mut Schemas) {
        contact_schemas(schemas);
    }
}

impl PartialSchema for AudienceFields {
    fn schema() -> RefOr<Schema> {
        body_object("An audience's fields (`name` is required to create one).")
            .property("name", reference::<Name>())
            .property(
                "description",
                ObjectBuilder::new()
                    .schema_type(or_null(Type::String))
                    .max_length(Some(MAX_DESCRIPTION_CHARS))
                    .description(Some(format!(
                        "At most {MAX_DESCRIPTION_CHARS} characters; `null` clears it."
                    ))),
            )
            .examples([json!({"description": "Customers in Mumbai who asked for a callback"})])
            .into()
    }
}

impl ToSchema for AudienceFields {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AudienceFields")
    }

    fn schemas(schemas: &mut Schemas) {
        register::<Name>(schemas);
    }
}

impl PartialSchema for NewCall {
    fn schema() -> RefOr<Schema> {
        body_object(
            "A call record against one of the organization's contacts, which keeps a \
             snapshot of the contact's name and number.",
        )
        .property(
            "contactId",
            string("The contact called (unknown: 404).").min_length(Some(1)),
        )
        .property("status", reference::<CallStatus>())
        .property("direction", {
            let mut direction = reference::<CallDirection>();
            if let RefOr::Ref(reference) = &mut direction {
                reference.description = String::from("`outbound` when absent.");
            }
            direction
        })
        .property(
            "startedAt",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some(
                    "RFC 3339 with any offset, returned in UTC; absent or `null`: now.",
                )),
        )
        .property(
            "durationSeconds",
            ObjectBuilder::new()
                .schema_type(or_null(Type::Integer))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .description(Some("A whole number from 0.")),
        )
        .property("metadata", nullable::<Metadata>("Absent or `null`: `{}`."))
        .required("contactId")
        .required("status")
        .examples([json!({
            "contactId": "ct_P7MTRIT------PaH9hpOL9r",
            "status": "completed",
            "startedAt": "2026-03-01T15:30:00+05:30",
            "durationSeconds": 94
        })])
        .into()
    }
}

impl ToSchema for NewCall {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewCall")
    }

    fn schemas(schemas: &mut Schemas) {
        register::<CallStatus>(schemas);
        register::<CallDirection>(schemas);
        register::<Metadata>(schemas);
    }
}

/// An optional query parameter.
fn query_param(name: &str, schema: Object, description: impl Into<String>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn integer() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .build()
}

fn text() -> Object {
    ObjectBuilder::new().schema_type(Type::String).build()
}

fn time() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}

/// `page` and `limit`; `page_note` is said of `page`.
fn page_params(page_note: &str) -> Vec<Parameter> {
    vec![
        query_param("page", integer(), format!("From 1 (default 1){page_note}.")),
        query_param(
            "limit",
            integer(),
            format!(
                "From 1 (default {DEFAULT_LIMIT}); above {MAX_LIMIT} is served, and \
                 reported, as {MAX_LIMIT}."
            ),
        ),
    ]
}

impl IntoParams for PageRequest {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        page_params("")
    }
}

/// What the contact listings and the export filter and sort by.
fn filter_params() -> Vec<Parameter> {
    vec![
        query_param(
            "search",
            text(),
            format!(
                "Names and phone digits, case- and accent-insensitively; every \
                 whitespace-separated term must match (at most {MAX_SEARCH_CHARS} characters \
                 and {MAX_TERMS} terms)."
            ),
        ),
        query_param(
            "sort",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([
                    "-createdAt",
                    "createdAt",
                    "-updatedAt",
                    "updatedAt",
                    "name",
                    "-name",
                ]))
                .build(),
            "`-createdAt` (the default: newest first); ties are broken by `id`.",
        ),
        query_param(
            "language",
            text(),
            "A BCP 47 tag, matched after canonicalizing.",
        ),
        query_param(
            "createdAfter",
            time(),
            "RFC 3339: rows created at or after.",
        ),
        query_param(
            "createdBefore",
            time(),
            "RFC 3339: rows created strictly before.",
        ),
        query_param(
            "updatedAfter",
            time(),
            "RFC 3339: rows updated at or after.",
        ),
        query_param(
            "updatedBefore",
            time(),
            "RFC 3339: rows updated strictly before.",
        ),
        query_param(
            "callable",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["true", "false"]))
                .build(),
            "`true`: only contacts not on the do-not-call list and inside the calling hours \
             (in every time zone of their number) at `callableAt`; `false`: the others.",
        ),
        query_param(
            "callableAt",
            time(),
            "RFC 3339: the moment `callable` is judged at (default: now). Only with `callable`.",
        ),
    ]
}

/// What the operations that filter contacts say of `metadata.KEY=VALUE`,
/// which no fixed parameter name describes.
pub fn metadata_filters() -> String {
    format!(
        "`metadata.KEY=VALUE` filters by a top-level metadata value: the string VALUE, or a \
         number or boolean whose JSON text is VALUE; repeatable for other keys (at most \
         {MAX_METADATA_FILTERS}). Every filter, `search` and the time bounds are ANDed. An \
         unknown parameter, bad time, unknown sort or malformed filter is a 400 naming it."
    )
}

impl IntoParams for Listing {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = page_params("; not with `cursor`");
        params.push(query_param(
            "cursor",
            text(),
            "A `nextCursor` of the same query (same filters, search and sort): the rows \
             after that page; the answer's `page` is then `null`.",
        ));
        params.extend(filter_params());
        params
    }
}

impl IntoParams for ExportFormat {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![query_param(
            "format",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["csv", "ndjson"]))
                .build(),
            "`csv` (the default) or `ndjson`. An export has no paging: `page`, `limit` and \
             `cursor` are 400.",
        )];
        params.extend(filter_params());
        params
    }
}

/// The kinds the changes feed carries, as `types` lists them.
fn change_types() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["contact", "audience", "membership", "call"])),
        )
        .min_items(Some(1))
        .description(Some("The kinds delivered (default all)."))
        .into()
}

/// A subscription body's `url`, `types` and `description`.
fn webhook_body(description: &str) -> ObjectBuilder {
    body_object(description)
        .property(
            "url",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(2048))
                .description(Some("An absolute http or https URL, at most 2,048 bytes.")),
        )
        .property("types", change_types())
        .property(
            "description",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .max_length(Some(500))
                .description(Some("At most 500 characters; `null` clears it.")),
        )
}

impl PartialSchema for crate::webhook::WebhookFields {
    fn schema() -> RefOr<Schema> {
        webhook_body("A webhook subscription's fields (`status`: `PATCH` only).")
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["active", "paused"]))
                    .description(Some(
                        "`paused` stops deliveries; `active` resumes them (also after `disabled`).",
                    )),
            )
            .examples([json!({"status": "paused"})])
            .into()
    }
}

impl ToSchema for crate::webhook::WebhookFields {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WebhookFields")
    }
}

/// A subscription to create: the body of `POST /v1/webhooks`.
pub struct NewWebhook;

impl PartialSchema for NewWebhook {
    fn schema() -> RefOr<Schema> {
        webhook_body("A webhook subscription to create.")
            .required("url")
            .examples([json!({"url": "https://crm.example.com/hooks/contactsd",
                "types": ["contact", "membership"], "description": "CRM sync"})])
            .into()
    }
}

impl ToSchema for NewWebhook {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewWebhook")
    }
}

/// Numbers to add to the do-not-call list: the body of `POST /v1/do-not-call`.
pub struct NewDoNotCall;

impl PartialSchema for NewDoNotCall {
    fn schema() -> RefOr<Schema> {
        body_object(
            "Numbers to add to the do-not-call list; each is read as a contact's phoneNumber.",
        )
        .property(
            "phoneNumbers",
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(reference::<PhoneNumber>())
                .min_items(Some(1))
                .max_items(Some(crate::dnc::MAX_NUMBERS)),
        )
        .property(
            "reason",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .max_length(Some(200)),
        )
        .property(
            "source",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .max_length(Some(100)),
        )
        .required("phoneNumbers")
        .examples([json!({"phoneNumbers": ["+919876543210", "+14155552671"],
                "reason": "Asked not to be called", "source": "agent"})])
        .into()
    }
}

impl ToSchema for NewDoNotCall {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewDoNotCall")
    }

    fn schemas(schemas: &mut Schemas) {
        register::<PhoneNumber>(schemas);
    }
}
