//! Bulk bodies (`POST /v1/contacts/bulk`, JSON imports): the body's shape
//! and each item validated like a create.

use serde_json::Value;

use crate::error::{FieldError, Rejection};
use crate::{expect_object, BulkItem, MAX_IDS};

/// The `contacts` array of a bulk body: 413 above 1,000 items, 422 when
/// the body has another shape.
pub fn items_of(mut body: Value) -> Result<Vec<Value>, Rejection> {
    let object = expect_object(&body).map_err(|e| Rejection::validation(vec![e]))?;
    let mut errors = crate::unknown_fields(object, &["contacts"]);
    match object.get("contacts") {
        Some(Value::Array(items)) if items.len() > MAX_IDS => {
            return Err(too_many("contacts", items.len()));
        }
        Some(Value::Array(_)) => {}
        Some(_) => errors.push(FieldError::new("contacts", "contacts must be an array")),
        None => errors.push(FieldError::new("contacts", "contacts is required")),
    }
    if !errors.is_empty() {
        return Err(Rejection::validation(errors));
    }
    match body.get_mut("contacts").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(Rejection::internal()),
    }
}

/// 413 for a list of `count` items where at most 1,000 are allowed.
pub fn too_many(field: &str, count: usize) -> Rejection {
    Rejection::payload_too_large(format!(
        "{field} holds {count} items; at most {MAX_IDS} are allowed in one request"
    ))
}

/// Validates one item like a create, keeping its first error.
pub fn validate_item(item: &Value) -> Result<BulkItem, FieldError> {
    BulkItem::from_json(item).map_err(|mut errors| {
        errors.truncate(1);
        errors
            .pop()
            .unwrap_or_else(|| FieldError::new("body", "invalid contact"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_other_shapes_and_oversize_batches() {
        assert_eq!(items_of(json!([])).unwrap_err().code(), "validation_failed");
        assert_eq!(
            items_of(json!({"contacts": {}})).unwrap_err().code(),
            "validation_failed"
        );
        let unknown = items_of(json!({"contacts": [], "extra": 1})).unwrap_err();
        assert_eq!(unknown.details[0].field, "extra");
        let many = vec![json!({}); MAX_IDS + 1];
        assert_eq!(
            items_of(json!({ "contacts": many })).unwrap_err().code(),
            "payload_too_large"
        );
        assert_eq!(items_of(json!({"contacts": [1, 2]})).unwrap().len(), 2);
    }

    #[test]
    fn an_item_reports_its_first_error() {
        let error = validate_item(&json!({"name": "", "phoneNumber": "1"})).unwrap_err();
        assert_eq!(error.field, "name");
        let error = validate_item(&json!({"name": "A"})).unwrap_err();
        assert_eq!(error.field, "phoneNumber");
    }
}
