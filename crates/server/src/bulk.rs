//! Bulk upsert (`POST /v1/contacts/bulk`): all items applied in one
//! transaction.
//!
//! Validation (mostly phone parsing) runs on one blocking thread and
//! streams items to the writer on another, so parsing and SQLite work
//! overlap instead of adding up; the writer commits only if it saw every
//! item.

use serde_json::Value;

pub(crate) use contactsd_domain::bulk::{items_of, too_many, validate_item};

use crate::db::{ItemOutcome, Scoped, TenantDb};
use crate::error::ApiError;

/// Validates and upserts `items` in order, in one transaction; what became
/// of each.
pub(crate) async fn upsert(
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
            other @ ItemOutcome::Failed(_) => panic!("{other:?}"),
        }
    }
}
