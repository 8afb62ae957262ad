//! `/v1/calls`: call records outlive their contacts.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[test]
fn a_call_snapshots_its_contact_and_fills_defaults() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya Sharma", "+919876543210");
    let answer = app.post(
        "/v1/calls",
        &json!({"contactId": id(&contact), "status": "completed"}),
    );
    assert_eq!(answer.status, Status::Created, "{}", answer.body);
    let call = &answer.body;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/v1/calls/{}", id(call)).as_str())
    );
    assert!(id(call).starts_with("call_"));
    let keys: Vec<&str> = call
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "contactId",
            "contactName",
            "phoneNumber",
            "status",
            "direction",
            "startedAt",
            "durationSeconds",
            "metadata",
            "organizationId",
            "createdAt"
        ]
    );
    assert_eq!(call["contactId"], contact["id"]);
    assert_eq!(call["contactName"], "Priya Sharma");
    assert_eq!(call["phoneNumber"], "+919876543210");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["durationSeconds"], Value::Null);
    assert_eq!(call["metadata"], json!({}));
    assert_eq!(call["organizationId"], app.org_id.as_str());
    assert!(call["startedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.get(&format!("/v1/calls/{}", id(call))).body, *call);
}

#[test]
fn started_at_is_returned_in_utc() {
    let app = TestApp::spawn();
    let contact = app.create_contact("A", "+919876543210");
    let answer = app.post(
        "/v1/calls",
        &json!({"contactId": id(&contact), "status": "no-answer", "direction": "inbound",
                "startedAt": "2026-03-01T15:30:00+05:30", "durationSeconds": 0,
                "metadata": {"agent": "v2"}}),
    );
    assert_eq!(answer.status, Status::Created, "{}", answer.body);
    assert_eq!(answer.body["startedAt"], "2026-03-01T10:00:00.000Z");
    assert_eq!(answer.body["direction"], "inbound");
    assert_eq!(answer.body["durationSeconds"], 0);
    assert_eq!(answer.body["metadata"], json!({"agent": "v2"}));
}

#[test]
fn call_bodies_are_validated() {
    let app = TestApp::spawn();
    let contact = app.create_contact("A", "+919876543210");
    let cid = id(&contact);
    for (body, field) in [
        (json!({"contactId": cid}), "status"),
        (json!({"status": "completed"}), "contactId"),
        (json!({"contactId": cid, "status": "done"}), "status"),
        (
            json!({"contactId": cid, "status": "completed", "direction": "sideways"}),
            "direction",
        ),
        (
            json!({"contactId": cid, "status": "completed", "startedAt": "yesterday"}),
            "startedAt",
        ),
        (
            json!({"contactId": cid, "status": "completed", "durationSeconds": -1}),
            "durationSeconds",
        ),
        (
            json!({"contactId": cid, "status": "completed", "durationSeconds": 1.5}),
            "durationSeconds",
        ),
        (
            json!({"contactId": cid, "status": "completed", "metadata": [1]}),
            "metadata",
        ),
        (
            json!({"contactId": cid, "status": "completed", "contactName": "X"}),
            "contactName",
        ),
    ] {
        let answer = app.post("/v1/calls", &body);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field], "{body}");
    }
    for status in [
        "queued",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "no-answer",
        "failed",
        "canceled",
    ] {
        let answer = app.post("/v1/calls", &json!({"contactId": cid, "status": status}));
        assert_eq!(answer.status, Status::Created, "{status}");
    }
}

#[test]
fn calls_to_unknown_or_foreign_contacts_are_404() {
    let app = TestApp::spawn();
    app.post(
        "/v1/calls",
        &json!({"contactId": "ct_nope", "status": "completed"}),
    )
    .assert_error(404, "not_found");
    let (_, other_key) = app.other_org();
    let mine = app.create_contact("Mine", "+919876543210");
    let body = json!({"contactId": id(&mine), "status": "completed"}).to_string();
    app.send(Method::Post, "/v1/calls", Some(&other_key), Some(body))
        .assert_error(404, "not_found");
    let call = app.post(
        "/v1/calls",
        &json!({"contactId": id(&mine), "status": "busy"}),
    );
    let uri = format!("/v1/calls/{}", id(&call.body));
    app.send(Method::Get, &uri, Some(&other_key), None)
        .assert_error(404, "not_found");
    let theirs = app.send(Method::Get, "/v1/calls", Some(&other_key), None);
    assert_eq!(theirs.body["total"], 0);
}

#[test]
fn calls_list_newest_first_and_filter_by_contact() {
    let app = TestApp::spawn();
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    let first = app
        .post(
            "/v1/calls",
            &json!({"contactId": id(&a), "status": "completed"}),
        )
        .body;
    let second = app
        .post("/v1/calls", &json!({"contactId": id(&b), "status": "busy"}))
        .body;
    let third = app
        .post(
            "/v1/calls",
            &json!({"contactId": id(&a), "status": "failed"}),
        )
        .body;
    let all = app.get("/v1/calls");
    assert_eq!(all.body["total"], 3);
    assert_eq!(
        crate::helpers::ids_of(&all.body),
        [id(&third), id(&second), id(&first)]
    );
    let of_a = app.get(&format!("/v1/calls?contactId={}", id(&a)));
    assert_eq!(crate::helpers::ids_of(&of_a.body), [id(&third), id(&first)]);
    let paged = app.get("/v1/calls?limit=2&page=2");
    assert_eq!(crate::helpers::ids_of(&paged.body), [id(&first)]);
    assert_eq!(paged.body["totalPages"], 2);
    app.get("/v1/calls?status=busy")
        .assert_error(400, "bad_request");
}

#[test]
fn deleting_a_contact_keeps_its_calls_unchanged() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya Sharma", "+919876543210");
    let call = app
        .post(
            "/v1/calls",
            &json!({"contactId": id(&contact), "status": "completed"}),
        )
        .body;
    let renamed = app.patch(
        &format!("/v1/contacts/{}", id(&contact)),
        &json!({"name": "Priya S"}),
    );
    assert_eq!(renamed.status, Status::Ok);
    app.delete(&format!("/v1/contacts/{}", id(&contact)));
    let after = app.get(&format!("/v1/calls/{}", id(&call)));
    assert_eq!(after.body, call);
    assert_eq!(after.body["contactName"], "Priya Sharma");
    let listed = app.get(&format!("/v1/calls?contactId={}", id(&contact)));
    assert_eq!(listed.body["total"], 1);
    // Bulk deletes keep them too.
    let other = app.create_contact("Ravi", "+919123456789");
    app.post(
        "/v1/calls",
        &json!({"contactId": id(&other), "status": "busy"}),
    );
    app.post(
        "/v1/contacts/bulk-delete",
        &json!({"contactIds": [id(&other)]}),
    );
    assert_eq!(app.get("/v1/calls").body["total"], 2);
}
