//! `POST /v1/contacts/bulk` and `POST /v1/contacts/bulk-delete`.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn bulk(app: &TestApp, contacts: &Value) -> crate::helpers::Answer {
    app.post("/v1/contacts/bulk", &json!({ "contacts": contacts }))
}

#[test]
fn bulk_creates_new_numbers_and_updates_known_ones_in_input_order() {
    let app = TestApp::spawn();
    let existing = app.create_contact("Old Name", "+919876543210");
    let answer = bulk(
        &app,
        &json!([
            {"name": "Ravi Kumar", "phoneNumber": "+919123456789", "language": "en-IN"},
            {"name": "Priya Sharma", "phoneNumber": "+91 98765-43210", "metadata": {"city": "Mumbai"}},
        ]),
    );
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.body["created"], 1);
    assert_eq!(answer.body["updated"], 1);
    assert_eq!(answer.body["failed"], 0);
    assert_eq!(answer.body["errors"], json!([]));
    let contacts = answer.body["contacts"].as_array().unwrap();
    assert_eq!(contacts[0]["name"], "Ravi Kumar");
    assert_eq!(contacts[0]["language"], "en-IN");
    assert_eq!(contacts[1]["id"], existing["id"]);
    assert_eq!(contacts[1]["name"], "Priya Sharma");
    assert_eq!(contacts[1]["metadata"], json!({"city": "Mumbai"}));
    assert_eq!(app.get("/v1/contacts").body["total"], 2);
}

#[test]
fn a_number_repeated_in_one_batch_is_created_once_then_updated() {
    let app = TestApp::spawn();
    let answer = bulk(
        &app,
        &json!([
            {"name": "First", "phoneNumber": "+919876543210", "language": "hi-IN"},
            {"name": "Second", "phoneNumber": "+91 98765 43210"},
        ]),
    );
    assert_eq!(answer.body["created"], 1);
    assert_eq!(answer.body["updated"], 1);
    let contacts = answer.body["contacts"].as_array().unwrap();
    assert_eq!(contacts[0]["id"], contacts[1]["id"]);
    assert_eq!(contacts[1]["name"], "Second");
    assert_eq!(contacts[1]["language"], "hi-IN");
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn updates_keep_absent_fields_clear_null_language_and_skip_no_ops() {
    let app = TestApp::spawn();
    let created = bulk(
        &app,
        &json!([{"name": "Priya", "phoneNumber": "+919876543210", "language": "hi-IN", "metadata": {"a": 1}}]),
    );
    let original = created.body["contacts"][0].clone();

    let same = bulk(
        &app,
        &json!([{"name": "Priya", "phoneNumber": "+919876543210"}]),
    );
    assert_eq!(same.body["updated"], 1);
    assert_eq!(
        same.body["contacts"][0], original,
        "unchanged row keeps updatedAt"
    );

    let cleared = bulk(
        &app,
        &json!([{"name": "Priya", "phoneNumber": "+919876543210", "language": null}]),
    );
    let contact = &cleared.body["contacts"][0];
    assert_eq!(contact["language"], Value::Null);
    assert_eq!(contact["metadata"], json!({"a": 1}));
    assert!(contact["updatedAt"].as_str() > original["updatedAt"].as_str());
}

#[test]
fn invalid_items_are_reported_by_index_and_the_rest_apply() {
    let app = TestApp::spawn();
    let answer = bulk(
        &app,
        &json!([
            {"name": "Good One", "phoneNumber": "+919876543210"},
            {"name": "Bad Phone", "phoneNumber": "98765"},
            {"name": "", "phoneNumber": "+919123456789"},
            {"name": "Typo", "phone": "+919000012345"},
            "not an object",
            {"name": "Good Two", "phoneNumber": "+14155552671", "id": "x"},
            {"name": "Good Three", "phoneNumber": "+14155552672"},
        ]),
    );
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body["created"], 2);
    assert_eq!(answer.body["failed"], 5);
    let errors = answer.body["errors"].as_array().unwrap();
    let summary: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "phoneNumber"),
            (2, "name"),
            (3, "phone"),
            (4, "body"),
            (5, "id")
        ]
    );
    assert!(errors
        .iter()
        .all(|e| e["reason"].as_str().is_some_and(|r| !r.is_empty())));
    let names: Vec<&str> = answer.body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Good One", "Good Three"]);
}

#[test]
fn empty_batches_are_fine_and_over_1000_items_are_413() {
    let app = TestApp::spawn();
    let empty = bulk(&app, &json!([]));
    assert_eq!(
        empty.body,
        json!({"created": 0, "updated": 0, "failed": 0, "contacts": [], "errors": []})
    );
    let items: Vec<Value> = (0..1001)
        .map(|i| json!({"name": format!("P{i}"), "phoneNumber": format!("+9198765{i:05}")}))
        .collect();
    bulk(&app, &Value::Array(items)).assert_error(413, "payload_too_large");
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
}

#[test]
fn a_full_batch_of_1000_is_accepted() {
    let app = TestApp::spawn();
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("Person {i}"), "phoneNumber": format!("+9198765{i:05}")}))
        .collect();
    let answer = bulk(&app, &Value::Array(items));
    assert_eq!(answer.body["created"], 1000);
    assert_eq!(app.get("/v1/contacts").body["total"], 1000);
    assert_eq!(app.search_names("person 00042"), ["Person 42"]);
    assert_eq!(app.get("/v1/contacts?search=87650004").body["total"], 10);
}

#[test]
fn malformed_bulk_bodies_are_422() {
    let app = TestApp::spawn();
    for body in [
        json!([]),
        json!({}),
        json!({"contacts": {}}),
        json!({"contacts": [], "extra": 1}),
    ] {
        let answer = app.post("/v1/contacts/bulk", &body);
        answer.assert_error(422, "validation_failed");
    }
}

#[test]
fn a_failure_midway_leaves_nothing_of_the_request_behind() {
    let app = TestApp::spawn();
    app.create_contact("Before", "+14155550000");
    // A fault on this test's own database: the 500th insert raises.
    app.sqlite()
        .execute_batch(
            "CREATE TRIGGER fault BEFORE INSERT ON contacts
             WHEN (SELECT count(*) FROM contacts) >= 500
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .unwrap();
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("Person {i}"), "phoneNumber": format!("+9198765{i:05}")}))
        .collect();
    let answer = bulk(&app, &Value::Array(items));
    answer.assert_error(500, "internal");
    assert!(!answer.body.to_string().contains("fault"));
    app.sqlite().execute_batch("DROP TRIGGER fault").unwrap();
    let list = app.get("/v1/contacts");
    assert_eq!(list.body["total"], 1);
    assert_eq!(app.search_names("person").len(), 0);
}

#[test]
fn bulk_upserts_keep_search_in_step() {
    let app = TestApp::spawn();
    bulk(
        &app,
        &json!([{"name": "Priya Sharma", "phoneNumber": "+919876543210"}]),
    );
    assert_eq!(app.search_names("priya"), ["Priya Sharma"]);
    bulk(
        &app,
        &json!([{"name": "Meera Iyer", "phoneNumber": "+919876543210"}]),
    );
    assert_eq!(app.search_names("priya"), Vec::<String>::new());
    assert_eq!(app.search_names("me"), ["Meera Iyer"]);
}

#[test]
fn bulk_delete_counts_rows_removed_and_ignores_unknown_and_foreign_ids() {
    let app = TestApp::spawn();
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    let (_, other_key) = app.other_org();
    let body = json!({"name": "Theirs", "phoneNumber": "+14155552671"}).to_string();
    let theirs = app.send(Method::Post, "/v1/contacts", Some(&other_key), Some(body));
    let answer = app.post(
        "/v1/contacts/bulk-delete",
        &json!({"contactIds": [a["id"], "ct_unknown", theirs.body["id"], a["id"]]}),
    );
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body, json!({"deleted": 1}));
    assert_eq!(app.list_ids("/v1/contacts"), [b["id"].as_str().unwrap()]);
    let uri = format!("/v1/contacts/{}", theirs.body["id"].as_str().unwrap());
    assert_eq!(
        app.send(Method::Get, &uri, Some(&other_key), None).status,
        Status::Ok
    );
    assert_eq!(app.search_names("a"), Vec::<String>::new());
}

#[test]
fn bulk_delete_needs_1_to_1000_string_ids() {
    let app = TestApp::spawn();
    for body in [
        json!({"contactIds": []}),
        json!({}),
        json!({"contactIds": [1]}),
        json!({"contactIds": "x"}),
        json!({"contactIds": ["a"], "x": 1}),
    ] {
        let answer = app.post("/v1/contacts/bulk-delete", &body);
        answer.assert_error(422, "validation_failed");
    }
    let ids: Vec<String> = (0..1001).map(|i| format!("ct_{i}")).collect();
    app.post("/v1/contacts/bulk-delete", &json!({"contactIds": ids}))
        .assert_error(413, "payload_too_large");
}
