use serde_json::{Map, Value};

use super::unknown_fields;
use crate::error::FieldError;

/// The most ids one request may name.
pub const MAX_IDS: usize = 1000;

/// Why a list of ids was refused: too many (413) or malformed (422).
#[derive(Debug, PartialEq, Eq)]
pub enum IdListError {
    TooMany(usize),
    Invalid(Vec<FieldError>),
}

/// Reads `contactIds` (1 to 1,000 strings, duplicates dropped, order kept)
/// from a body whose only other fields are `also_allowed`.
pub fn contact_ids(
    object: &Map<String, Value>,
    also_allowed: &[&str],
) -> Result<Vec<String>, IdListError> {
    let mut known = vec!["contactIds"];
    known.extend_from_slice(also_allowed);
    let mut errors: Vec<FieldError> = unknown_fields(object, &known);
    let ids = match object.get("contactIds") {
        None => {
            errors.push(FieldError::new("contactIds", "contactIds is required"));
            Vec::new()
        }
        Some(Value::Array(items)) if items.len() > MAX_IDS => {
            return Err(IdListError::TooMany(items.len()));
        }
        Some(Value::Array(items)) if items.is_empty() => {
            errors.push(FieldError::new(
                "contactIds",
                "contactIds must hold at least one id",
            ));
            Vec::new()
        }
        Some(Value::Array(items)) => {
            let mut ids: Vec<String> = Vec::with_capacity(items.len());
            let mut seen = std::collections::HashSet::new();
            for item in items {
                if let Some(id) = item.as_str() {
                    if seen.insert(id) {
                        ids.push(id.to_string());
                    }
                } else {
                    errors.push(FieldError::new(
                        "contactIds",
                        "contactIds must be an array of strings",
                    ));
                    break;
                }
            }
            ids
        }
        Some(_) => {
            errors.push(FieldError::new(
                "contactIds",
                "contactIds must be an array of strings",
            ));
            Vec::new()
        }
    };
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(IdListError::Invalid(errors))
    }
}
