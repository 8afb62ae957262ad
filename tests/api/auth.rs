use rocket::http::{Header, Method, Status};
use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn x_api_key_header_authenticates() {
    let app = TestApp::spawn();
    let answer = app.get("/v1/contacts");
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body["total"], 0);
}

#[test]
fn bearer_scheme_is_matched_case_insensitively() {
    let app = TestApp::spawn();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .client
            .get("/v1/contacts")
            .header(Header::new(
                "Authorization",
                format!("{scheme} {}", app.key),
            ))
            .dispatch();
        assert_eq!(response.status(), Status::Ok, "scheme {scheme}");
    }
}

#[test]
fn missing_key_is_401_in_the_error_shape() {
    let app = TestApp::spawn();
    let answer = app.send(Method::Get, "/v1/contacts", None, None);
    answer.assert_error(401, "unauthorized");
    assert_eq!(answer.body["error"], "Unauthorized");
}

#[test]
fn malformed_unknown_and_wrong_scheme_keys_are_401() {
    let app = TestApp::spawn();
    let unknown = format!("sk_live_{}", "A".repeat(32));
    for key in ["", "nope", "sk_live_short", unknown.as_str()] {
        let answer = app.send(Method::Get, "/v1/contacts", Some(key), None);
        answer.assert_error(401, "unauthorized");
    }
    for authorization in [
        format!("Basic {}", app.key),
        String::from("Bearer"),
        app.key.clone(),
    ] {
        let response = app
            .client
            .get("/v1/contacts")
            .header(Header::new("Authorization", authorization.clone()))
            .dispatch();
        assert_eq!(response.status(), Status::Unauthorized, "{authorization}");
    }
}

#[test]
fn writes_without_a_key_are_401_and_write_nothing() {
    let app = TestApp::spawn();
    let body = json!({"name": "A", "phoneNumber": "+919876543210"}).to_string();
    let answer = app.send(Method::Post, "/v1/contacts", None, Some(body));
    answer.assert_error(401, "unauthorized");
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
}

#[test]
fn another_organizations_contact_is_404_as_if_it_did_not_exist() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya Sharma", "+919876543210");
    let uri = format!("/v1/contacts/{}", contact["id"].as_str().unwrap());
    let (_, other_key) = app.other_org();

    let get = app.send(Method::Get, &uri, Some(&other_key), None);
    get.assert_error(404, "not_found");
    let unknown = app.get("/v1/contacts/ct_doesnotexist");
    assert_eq!(get.body["message"], unknown.body["message"]);

    let patch = app.send(
        Method::Patch,
        &uri,
        Some(&other_key),
        Some(r#"{"name":"X"}"#.into()),
    );
    patch.assert_error(404, "not_found");
    let delete = app.send(Method::Delete, &uri, Some(&other_key), None);
    delete.assert_error(404, "not_found");

    // Untouched for its owner.
    let mine = app.get(&uri);
    assert_eq!(mine.status, Status::Ok);
    assert_eq!(mine.body["name"], "Priya Sharma");
}

#[test]
fn listings_and_searches_see_only_the_keys_organization() {
    let app = TestApp::spawn();
    app.create_contact("Priya Sharma", "+919876543210");
    let (other_org, other_key) = app.other_org();
    let theirs = app.send(
        Method::Get,
        "/v1/contacts?search=priya",
        Some(&other_key),
        None,
    );
    assert_eq!(theirs.body["total"], 0);
    let all = app.send(Method::Get, "/v1/contacts", Some(&other_key), None);
    assert_eq!(all.body["total"], 0);
    assert_eq!(all.body["data"], json!([]));

    // The same number is free in another organization, and is its own row.
    let body = json!({"name": "Priya S", "phoneNumber": "+919876543210"}).to_string();
    let created = app.send(Method::Post, "/v1/contacts", Some(&other_key), Some(body));
    assert_eq!(created.status, Status::Created);
    assert_eq!(created.body["organizationId"], other_org.as_str());
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn healthz_needs_no_key() {
    let app = TestApp::spawn();
    let answer = app.send(Method::Get, "/healthz", None, None);
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.body, json!({"status": "ok"}));
}

#[test]
fn healthz_fails_when_the_database_does_not_answer() {
    let app = TestApp::spawn();
    app.sqlite()
        .execute_batch("DROP TABLE api_keys; DROP TABLE organizations;")
        .ok();
    // The schema is broken under the server: the health check must say so.
    let answer = app.send(Method::Get, "/healthz", None, None);
    assert_eq!(answer.status.code, 503, "{}", answer.body);
    assert_eq!(answer.body["code"], "unavailable");
}

#[test]
fn an_unknown_key_is_401_before_any_query_error() {
    let app = TestApp::spawn();
    let unknown = format!("sk_live_{}", "B".repeat(32));
    for uri in [
        "/v1/contacts?limit=0",
        "/v1/contacts?nope=1",
        "/v1/contacts?cursor=junk",
        "/v1/contacts/ct_missing",
        "/v1/audiences/aud_missing/contacts",
    ] {
        let answer = app.send(Method::Get, uri, Some(&unknown), None);
        answer.assert_error(401, "unauthorized");
    }
}

/// A read-only key of the app's organization.
fn read_only_key(app: &TestApp) -> String {
    let db = contactsd_store::Db::open(&app.db_path).unwrap();
    let org_id = db.list_orgs().unwrap().remove(0).id;
    db.issue_key_with(
        &org_id,
        &contactsd_store::keys::KeyOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .unwrap()
    .key
}

#[test]
fn a_read_only_key_reads_everything_and_writes_nothing() {
    let app = TestApp::spawn();
    let created = app.post(
        "/v1/contacts",
        &json!({"name": "Priya", "phoneNumber": "+919876543210"}),
    );
    let id = created.body["id"].as_str().unwrap().to_string();
    let key = read_only_key(&app);
    for path in [
        "/v1/contacts".to_string(),
        format!("/v1/contacts/{id}"),
        "/v1/audiences".into(),
    ] {
        let answer = app.send(Method::Get, &path, Some(&key), None);
        assert_eq!(answer.status, Status::Ok, "{path}");
    }
    let body = Some(json!({"name": "Other", "phoneNumber": "+14155552671"}).to_string());
    for (method, path) in [
        (Method::Post, "/v1/contacts".to_string()),
        (Method::Patch, format!("/v1/contacts/{id}")),
        (Method::Delete, format!("/v1/contacts/{id}")),
        (Method::Post, "/v1/contacts/bulk".into()),
        (Method::Put, "/v1/indexes/name".into()),
        (Method::Post, "/v1/no-such-route".into()),
    ] {
        app.send(method, &path, Some(&key), body.clone())
            .assert_error(403, "forbidden");
    }
    // Refused before its body or Idempotency-Key is looked at: nothing stored.
    let mut request = app.client.post("/v1/contacts");
    request.add_header(Header::new("x-api-key", key.clone()));
    request.add_header(Header::new("Idempotency-Key", "ro-1"));
    request.set_body("not json");
    assert_eq!(request.dispatch().status(), Status::Forbidden);
    let stored: i64 = app
        .sqlite()
        .query_row("SELECT count(*) FROM idempotency_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn an_expired_key_is_401_like_a_revoked_one() {
    let app = TestApp::spawn();
    let db = contactsd_store::Db::open(&app.db_path).unwrap();
    let org_id = db.list_orgs().unwrap().remove(0).id;
    let key = db
        .issue_key_with(
            &org_id,
            &contactsd_store::keys::KeyOptions {
                expires_in_days: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        app.send(Method::Get, "/v1/contacts", Some(&key.key), None)
            .status,
        Status::Ok
    );
    app.sqlite()
        .execute(
            "UPDATE api_keys SET expires_at = 1 WHERE id = ?1",
            [&key.id],
        )
        .unwrap();
    app.send(Method::Get, "/v1/contacts", Some(&key.key), None)
        .assert_error(401, "unauthorized");
}
