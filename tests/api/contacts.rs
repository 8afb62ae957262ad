use rocket::http::Status;
use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn create_answers_201_with_location_and_the_contact() {
    let app = TestApp::spawn();
    let answer = app.post(
        "/v1/contacts",
        &json!({
            "name": "Priya Sharma",
            "phoneNumber": "+919876543210",
            "language": "hi-IN",
            "metadata": { "city": "Mumbai", "tier": "premium" }
        }),
    );
    assert_eq!(answer.status, Status::Created);
    let contact = &answer.body;
    let id = contact["id"].as_str().unwrap();
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/v1/contacts/{id}").as_str())
    );
    assert_eq!(contact["name"], "Priya Sharma");
    assert_eq!(contact["phoneNumber"], "+919876543210");
    assert_eq!(contact["language"], "hi-IN");
    assert_eq!(
        contact["metadata"],
        json!({"city": "Mumbai", "tier": "premium"})
    );
    assert_eq!(contact["organizationId"], app.org_id.as_str());
    assert_eq!(contact["createdAt"], contact["updatedAt"]);
    let keys: Vec<&str> = contact
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "phoneNumber",
            "language",
            "metadata",
            "organizationId",
            "createdAt",
            "updatedAt"
        ]
    );
}

#[test]
fn get_returns_the_contact_and_404_for_unknown_ids() {
    let app = TestApp::spawn();
    let created = app.create_contact("Ravi Kumar", "+919123456789");
    let uri = format!("/v1/contacts/{}", created["id"].as_str().unwrap());
    let answer = app.get(&uri);
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body, created);
    app.get("/v1/contacts/ct_nope")
        .assert_error(404, "not_found");
    app.get("/v1/contacts/%22%3B%20DROP%20TABLE%20contacts")
        .assert_error(404, "not_found");
}

#[test]
fn duplicate_phone_is_409_naming_the_existing_contact() {
    let app = TestApp::spawn();
    let first = app.create_contact("Priya Sharma", "+919876543210");
    // Uniqueness is on the normalized form.
    let answer = app.post(
        "/v1/contacts",
        &json!({"name": "Someone Else", "phoneNumber": "+91 98765-43210"}),
    );
    answer.assert_error(409, "conflict");
    assert_eq!(answer.body["contactId"], first["id"]);
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn patch_changes_only_the_given_fields_and_replaces_metadata() {
    let app = TestApp::spawn();
    let created = app.post(
        "/v1/contacts",
        &json!({"name": "Priya Sharma", "phoneNumber": "+919876543210", "language": "hi-IN",
                "metadata": {"city": "Mumbai", "tier": "premium"}}),
    );
    let uri = format!("/v1/contacts/{}", created.body["id"].as_str().unwrap());
    let answer = app.patch(
        &uri,
        &json!({"language": "en-IN", "metadata": {"city": "Delhi"}}),
    );
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.body["name"], "Priya Sharma");
    assert_eq!(answer.body["language"], "en-IN");
    assert_eq!(answer.body["metadata"], json!({"city": "Delhi"}));
    assert_eq!(answer.body["createdAt"], created.body["createdAt"]);
    assert_ne!(answer.body["updatedAt"], created.body["updatedAt"]);
    assert_eq!(app.get(&uri).body, answer.body);

    let renamed = app.patch(
        &uri,
        &json!({"name": "  Priya S  ", "phoneNumber": "+91 91234 56789"}),
    );
    assert_eq!(renamed.body["name"], "Priya S");
    assert_eq!(renamed.body["phoneNumber"], "+919123456789");
}

#[test]
fn patch_to_a_taken_phone_is_409_and_changes_nothing() {
    let app = TestApp::spawn();
    let first = app.create_contact("Priya Sharma", "+919876543210");
    let second = app.create_contact("Ravi Kumar", "+919123456789");
    let uri = format!("/v1/contacts/{}", second["id"].as_str().unwrap());
    let answer = app.patch(
        &uri,
        &json!({"name": "Ravi K", "phoneNumber": "+919876543210"}),
    );
    answer.assert_error(409, "conflict");
    assert_eq!(answer.body["contactId"], first["id"]);
    assert_eq!(app.get(&uri).body, second);
    // Its own number is not a conflict.
    let same = app.patch(&uri, &json!({"phoneNumber": "+91 91234 56789"}));
    assert_eq!(same.status, Status::Ok);
}

#[test]
fn empty_patch_and_same_values_are_no_ops_that_keep_updated_at() {
    let app = TestApp::spawn();
    let created = app.post(
        "/v1/contacts",
        &json!({"name": "Priya", "phoneNumber": "+919876543210", "language": "hi-IN",
                "metadata": {"a": 1}}),
    );
    let uri = format!("/v1/contacts/{}", created.body["id"].as_str().unwrap());
    let empty = app.patch(&uri, &json!({}));
    assert_eq!(empty.status, Status::Ok);
    assert_eq!(empty.body, created.body);
    let same = app.patch(
        &uri,
        &json!({"name": "Priya", "phoneNumber": "+91 98765 43210", "language": "HI-in",
                "metadata": {"a": 1}}),
    );
    assert_eq!(same.body, created.body);
    let changed = app.patch(&uri, &json!({"name": "Priya Sharma"}));
    assert!(changed.body["updatedAt"].as_str() > created.body["updatedAt"].as_str());
}

#[test]
fn patch_null_language_clears_it_and_null_metadata_empties_it() {
    let app = TestApp::spawn();
    let created = app.post(
        "/v1/contacts",
        &json!({"name": "Priya", "phoneNumber": "+919876543210", "language": "hi-IN",
                "metadata": {"a": 1}}),
    );
    let uri = format!("/v1/contacts/{}", created.body["id"].as_str().unwrap());
    let answer = app.patch(&uri, &json!({"language": null, "metadata": null}));
    assert_eq!(answer.body["language"], json!(null));
    assert_eq!(answer.body["metadata"], json!({}));
    // name and phoneNumber cannot be cleared.
    let bad = app.patch(&uri, &json!({"name": null, "phoneNumber": null}));
    bad.assert_error(422, "validation_failed");
    assert_eq!(bad.detail_fields(), ["name", "phoneNumber"]);
}

#[test]
fn patch_of_an_unknown_contact_is_404() {
    let app = TestApp::spawn();
    app.patch("/v1/contacts/ct_nope", &json!({"name": "X"}))
        .assert_error(404, "not_found");
}

#[test]
fn delete_answers_success_then_404() {
    let app = TestApp::spawn();
    let created = app.create_contact("Priya Sharma", "+919876543210");
    let uri = format!("/v1/contacts/{}", created["id"].as_str().unwrap());
    let answer = app.delete(&uri);
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body, json!({"success": true}));
    app.get(&uri).assert_error(404, "not_found");
    app.delete(&uri).assert_error(404, "not_found");
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
    // The number is free again.
    app.create_contact("Priya Again", "+919876543210");
}
