//! CONTRACT.md "Errors": one JSON shape for every error, Rocket's included.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn unknown_routes_are_404_json() {
    let app = TestApp::spawn();
    // (`/` is the console.)
    for uri in [
        "/v1",
        "/v1/nope",
        "/v2/contacts",
        "/v1/contacts/a/b",
        "/console",
    ] {
        let answer = app.get(uri);
        answer.assert_error(404, "not_found");
        assert_eq!(answer.body["error"], "Not Found");
    }
}

#[test]
fn wrong_methods_are_404_json() {
    let app = TestApp::spawn();
    for (method, uri) in [
        (Method::Put, "/v1/contacts"),
        (Method::Delete, "/v1/contacts"),
        (Method::Post, "/v1/contacts/ct_x"),
        (Method::Put, "/v1/contacts/ct_x"),
        (Method::Post, "/healthz"),
    ] {
        let answer = app.send(method, uri, Some(&app.key), Some("{}".into()));
        answer.assert_error(404, "not_found");
        assert!(answer.body["message"].as_str().unwrap().contains(uri));
    }
}

#[test]
fn validation_errors_list_each_field() {
    let app = TestApp::spawn();
    let answer = app.post(
        "/v1/contacts",
        &json!({"name": "", "phoneNumber": "12", "language": "??", "metadata": [], "phone": 1}),
    );
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.body["error"], "Unprocessable Entity");
    assert_eq!(
        answer.detail_fields(),
        ["name", "phoneNumber", "language", "metadata", "phone"]
    );
    for detail in answer.body["details"].as_array().unwrap() {
        assert!(detail["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn bodies_over_the_default_20_mib_limit_are_413() {
    let app = TestApp::spawn();
    let mut body = String::from("{\"name\": \"");
    body.push_str(&"x".repeat(20 * 1024 * 1024));
    body.push_str("\"}");
    let answer = app.send(Method::Post, "/v1/contacts", Some(&app.key), Some(body));
    answer.assert_error(413, "payload_too_large");
    assert_eq!(answer.body["error"], "Payload Too Large");
}

#[test]
fn the_body_limit_follows_limits_json() {
    let app = TestApp::spawn_with(|figment| figment.merge(("limits.json", 64)));
    let body = json!({"name": "A".repeat(100), "phoneNumber": "+919876543210"});
    app.post("/v1/contacts", &body)
        .assert_error(413, "payload_too_large");
    let small = json!({"name": "A", "phoneNumber": "+919876543210"});
    assert_eq!(app.post("/v1/contacts", &small).status, Status::Created);
}

#[test]
fn internal_errors_are_500_without_sql_or_paths() {
    let app = TestApp::spawn();
    // A fault installed on this test's own database: every insert fails.
    app.sqlite()
        .execute_batch(
            "CREATE TRIGGER fault BEFORE INSERT ON contacts
             BEGIN SELECT RAISE(ABORT, 'injected fault in /secret/path'); END;",
        )
        .unwrap();
    let answer = app.post(
        "/v1/contacts",
        &json!({"name": "A", "phoneNumber": "+919876543210"}),
    );
    answer.assert_error(500, "internal");
    let text = answer.body.to_string();
    for leak in ["fault", "secret", "INSERT", "contacts", "sqlite"] {
        assert!(!text.contains(leak), "{text}");
    }
    app.sqlite().execute_batch("DROP TRIGGER fault").unwrap();
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
}

#[rocket::get("/boom")]
fn boom() -> &'static str {
    panic!("a bug")
}

#[test]
fn a_panicking_handler_answers_500_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let db = contactsd_store::Db::open(&dir.path().join("contacts.db")).unwrap();
    let figment = contactsd_server::app::figment().merge(("log_level", "off"));
    let rocket = contactsd_server::app::build(figment, db)
        .expect("valid settings")
        .mount("/test", rocket::routes![boom]);
    let client = rocket::local::blocking::Client::tracked(rocket).unwrap();
    let response = client.get("/test/boom").dispatch();
    assert_eq!(response.status(), Status::InternalServerError);
    let body: serde_json::Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(body["statusCode"], 500);
    assert_eq!(body["code"], "internal");
    assert!(!body.to_string().contains("a bug"));
}
