//! contactsd's domain: input parsed at the edge into types that cannot hold
//! invalid values, and the requests built from them.
//!
//! A [`PhoneNumber`] is always E.164, a [`Language`] always a canonical BCP 47
//! tag, a [`Name`] always trimmed and 1 to 200 characters, [`Metadata`]
//! always a bounded JSON object. Past the edge no code validates again.
//! Beside them: the query string reader, the listing request and its
//! cursors, search compilation, bulk and import-row decoding, ids and the
//! clock. This crate knows neither HTTP nor SQL: a request it refuses is a
//! [`Rejection`], which the server turns into the contract's answer.

pub mod bulk;
pub mod changes;
pub mod clock;
pub mod cursor;
pub mod dnc;
pub mod error;
pub mod hours;
pub mod ids;
pub mod import;
pub mod listing;
pub mod query;
pub mod schema;
pub mod search;
pub mod webhook;
pub mod zones;

mod audience;
mod call;
mod contact;
mod id_list;
mod language;
mod metadata;
mod name;
mod phone;

pub use audience::AudienceFields;
pub use call::{CallDirection, CallStatus, NewCall};
pub use contact::{BulkItem, ContactFields, NewContact};
pub use id_list::{contact_ids, IdListError, MAX_IDS};
pub use language::Language;
pub use metadata::{
    is_plain_key as is_plain_metadata_key, Metadata, MAX_KEY_CHARS as MAX_METADATA_KEY_CHARS,
};
pub use name::Name;
pub use phone::PhoneNumber;

pub use error::{FieldError, Rejection, RejectionKind, MAX_DETAILS};
use serde_json::{Map, Value};

/// The fields a server sets and a client may never write.
pub(crate) const READ_ONLY_FIELDS: &[&str] = &["id", "organizationId", "createdAt", "updatedAt"];

/// The body as a JSON object, or the 422 detail saying it is not one.
pub fn expect_object(body: &Value) -> Result<&Map<String, Value>, FieldError> {
    body.as_object()
        .ok_or_else(|| FieldError::new("body", "The request body must be a JSON object"))
}

/// Runs `parse` on every member of a body object and collects each broken
/// rule, in body order, stopping at the most an answer lists (a body of a
/// million unknown keys costs a hundred errors, not a million).
pub(crate) fn parse_members(
    object: &Map<String, Value>,
    mut parse: impl FnMut(&str, &Value) -> Result<(), FieldError>,
) -> Vec<FieldError> {
    object
        .iter()
        .filter_map(|(key, value)| parse(key, value).err())
        .take(MAX_DETAILS)
        .collect()
}

/// The unknown members of a body object whose known members are `known`,
/// as errors, at most as many as an answer lists.
pub(crate) fn unknown_fields(object: &Map<String, Value>, known: &[&str]) -> Vec<FieldError> {
    object
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .take(MAX_DETAILS)
        .map(|k| unknown_field(k))
        .collect()
}

/// An optional text field of at most `max_chars` characters: a string, or
/// `null` to clear it.
pub(crate) fn optional_text(
    field: &str,
    value: &Value,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.chars().count() <= max_chars => Ok(Some(text.clone())),
        Value::String(_) => Err(FieldError::new(
            field,
            format!("{field} must be at most {max_chars} characters"),
        )),
        _ => Err(FieldError::new(
            field,
            format!("{field} must be a string or null"),
        )),
    }
}

/// The detail for a field this endpoint does not accept.
pub(crate) fn unknown_field(field: &str) -> FieldError {
    if READ_ONLY_FIELDS.contains(&field) {
        FieldError::new(field, format!("{field} is read-only and cannot be set"))
    } else {
        FieldError::new(field, format!("property {field} should not exist"))
    }
}
