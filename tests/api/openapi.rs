//! The served OpenAPI document describes every mounted route.

use std::collections::BTreeSet;

use rocket::http::{Method, Status};
use serde_json::Value;

use crate::helpers::TestApp;

#[test]
fn every_mounted_route_is_in_the_document() {
    let app = TestApp::spawn();
    let answer = app.send(Method::Get, "/v1/openapi.json", None, None);
    assert_eq!(answer.status, Status::Ok, "served without a key");
    let doc = answer.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut mounted = BTreeSet::new();
    for route in app.client.rocket().routes() {
        let path = route.uri.as_str().split('?').next().unwrap().to_string();
        // Rocket's `<id>` is OpenAPI's `{id}`.
        let path = path.replace('<', "{").replace('>', "}");
        mounted.insert((route.method.as_str().to_string(), path));
    }
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&mounted).collect();
    assert!(stale.is_empty(), "documented but not mounted: {stale:?}");
}

#[test]
fn every_operation_documents_its_errors_in_the_error_shape() {
    let app = TestApp::spawn();
    let doc = app.send(Method::Get, "/v1/openapi.json", None, None).body;
    let error = &doc["components"]["schemas"]["Error"];
    for field in ["statusCode", "error", "code", "message", "details"] {
        assert!(error["properties"][field].is_object(), "Error.{field}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                for status in ["400", "401", "429", "503"] {
                    let schema =
                        &responses[status]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema,
                        &Value::from("#/components/schemas/Error"),
                        "{method} {path} {status}"
                    );
                }
                assert!(operation["security"].is_array(), "{method} {path}");
            }
        }
    }
}
