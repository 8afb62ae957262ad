//! Bulk upsert (`POST /v1/contacts/bulk`): the body's shape, each item
//! validated like a create, and all of them applied in one transaction.
//!
//! Validation (mostly phone parsing) runs on one blocking thread and
//! streams items to the writer on another, so parsing and SQLite work
//! overlap instead of adding up; the writer commits only if it saw every
//! item.

use serde_json::Value;

use crate::db::{ItemOutcome, Scoped, TenantDb};
use crate::domain::{self, expect_object, BulkItem, MAX_IDS};
use crate::error::{ApiError, FieldError};

/// The `contacts` array of a bulk body: 413 above 1,000 items, 422 when
/// the body has another shape.
pub fn items_of(mut body: Value) -> Result<Vec<Value>, ApiError> {
    let object = expect_object(&body).map_err(|e| ApiError::validation(vec![e]))?;
    let mut errors = domain::unknown_fields(object, &["contacts"]);
    match object.get("contacts") {
        Some(Value::Array(items)) if items.len() > MAX_IDS => {
            return Err(too_many("contacts", items.len()));
        }
        Some(Value::Array(_)) => {}
        Some(_) => errors.push(FieldError::new("contacts", "contacts must be an array")),
        None => errors.push(FieldError::new("contacts", "contacts is required")),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    match body.get_mut("contacts").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(ApiError::internal()),
    }
}

/// 413 for a list of `count` items where at most 1,000 are allowed.
pub fn too_many(field: &str, count: usize) -> ApiError {
    ApiError::payload_too_large(format!(
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

/// Validates and upserts `items` in order, in one transaction; what became
/// of each.
pub async fn upsert(
    org: &TenantDb,
    items: Vec<Value>,
) -> Result<Scoped<Vec<ItemOutcome>>, ApiError> {
    let expected = items.len();
    let (sender, receiver) = std::sync::mpsc::channel();
    rocket::tokio::task::spawn_blocking(move || {
        for item in &items {
            if sender.send(validate_item(item)).is_err() {
                break;
            }
        }
    });
    Ok(org.upsert_contacts(receiver, expected).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::contacts::Upserted;
    use crate::db::Db;
    use serde_json::json;

    #[test]
    fn refuses_other_shapes_and_oversize_batches() {
        assert_eq!(items_of(json!([])).unwrap_err().code(), "validation_failed");
        assert_eq!(
            items_of(json!({"contacts": {}})).unwrap_err().code(),
            "validation_failed"
        );
        let unknown = items_of(json!({"contacts": [], "extra": 1})).unwrap_err();
        assert_eq!(unknown.to_body()["details"][0]["field"], "extra");
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

    #[rocket::async_test]
    async fn applies_valid_items_in_order_and_reports_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("bulk.db")).unwrap();
        let (_, key) = db.create_org("Acme").unwrap();
        let (org, _) = db.authenticate(key.key).await.unwrap().unwrap();
        let items = vec![
            json!({"name": "A", "phoneNumber": "+14155552671"}),
            json!({"name": "B", "phoneNumber": "nope"}),
            json!({"name": "A2", "phoneNumber": "+1 415 555 2671", "language": "en"}),
            serde_json::from_str(
                r#"{"name": "C", "phoneNumber": "+919876543210", "metadata": {"n": 1e400}}"#,
            )
            .unwrap(),
        ];
        let outcomes = upsert(&org, items).await.unwrap().value;
        let summary: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                ItemOutcome::Applied(c, Upserted::Created) => {
                    format!("created {}", c.name.as_str())
                }
                ItemOutcome::Applied(c, Upserted::Updated) => {
                    format!("updated {}", c.name.as_str())
                }
                ItemOutcome::Failed(e) => format!("failed {}", e.field),
            })
            .collect();
        assert_eq!(
            summary,
            ["created A", "failed phoneNumber", "updated A2", "created C"]
        );
        match &outcomes[3] {
            ItemOutcome::Applied(c, _) => assert_eq!(c.metadata.as_str(), r#"{"n":1e+400}"#),
            other => panic!("{other:?}"),
        }
    }
}
