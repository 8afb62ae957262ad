//! Property tests through HTTP: arbitrary bytes in every query parameter
//! and every body, arbitrary numbers in metadata. The server answers each
//! with the contract's error shape or success, never a 5xx, and numbers
//! come back as sent.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rocket::http::{ContentType, Method};
use serde_json::{json, Value};

use crate::helpers::{Answer, TestApp};

/// Percent-encodes every byte that is not unreserved.
fn encode_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_not_a_server_error(answer: &Answer, what: &str) {
    assert!(
        answer.status.code < 500,
        "{what}: {} {}",
        answer.status,
        answer.body
    );
    if answer.status.code >= 400 {
        let code = contract_code(answer.status.code).unwrap_or_else(|| {
            panic!(
                "{what}: {} is not an error status of the contract: {}",
                answer.status, answer.body
            )
        });
        answer.assert_error(answer.status.code, code);
    }
}

/// The `code` docs/api.md ("Errors") gives each 4xx status these requests
/// can get. `idempotency_key_reused` (also 422) needs an `Idempotency-Key`
/// header, which they never send.
fn contract_code(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "bad_request",
        401 => "unauthorized",
        404 => "not_found",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "validation_failed",
        429 => "rate_limited",
        _ => return None,
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Bytes that lean towards what breaks parsers: NUL, quotes, backslashes,
/// `%`, `&`, `=`, digits, separators, non-ASCII.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop_oneof![
        Just(0u8),
        Just(b'"'),
        Just(b'\\'),
        Just(b'%'),
        Just(b'&'),
        Just(b'='),
        Just(b'-'),
        Just(b'+'),
        Just(b':'),
        Just(b'.'),
        Just(b'*'),
        Just(b' '),
        Just(0xFFu8),
        Just(0xC3u8),
        b'0'..=b'9',
        any::<u8>(),
    ];
    prop::collection::vec(interesting, 0..48)
}

const PARAMETERS: &[&str] = &[
    "page",
    "limit",
    "search",
    "cursor",
    "sort",
    "language",
    "audienceId",
    "contactId",
    "createdAfter",
    "createdBefore",
    "updatedAfter",
    "updatedBefore",
    "metadata.city",
];

#[test]
fn any_bytes_in_any_query_parameter_never_reach_a_server_error() {
    let app = TestApp::spawn();
    app.create_contact("Priya Sharma", "+919876543210");
    let audience = app.post("/v1/audiences", &json!({"name": "A"})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let routes = [
        String::from("/v1/contacts"),
        format!("/v1/audiences/{audience}/contacts"),
        format!("/v1/audiences/{audience}/available-contacts"),
        String::from("/v1/audiences"),
        String::from("/v1/calls"),
    ];
    let strategy = (
        0..routes.len(),
        prop::collection::vec(
            (
                prop_oneof![
                    (0..PARAMETERS.len()).prop_map(|i| PARAMETERS[i].as_bytes().to_vec()),
                    hostile_bytes().prop_map(|b| [b"metadata.".to_vec(), b].concat()),
                    hostile_bytes(),
                ],
                hostile_bytes(),
            ),
            1..4,
        ),
    );
    runner(400)
        .run(&strategy, |(route, pairs)| {
            let query: Vec<String> = pairs
                .iter()
                .map(|(name, value)| format!("{}={}", encode_bytes(name), encode_bytes(value)))
                .collect();
            let uri = format!("{}?{}", routes[route], query.join("&"));
            assert_not_a_server_error(&app.get(&uri), &uri);
            Ok(())
        })
        .unwrap();
}

/// Any JSON value, nested a few levels, with keys and strings from the
/// contact fields and from anywhere.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just(String::from("name")),
        Just(String::from("phoneNumber")),
        Just(String::from("language")),
        Just(String::from("metadata")),
        Just(String::from("contacts")),
        Just(String::from("contactIds")),
        Just(String::from("status")),
        Just(String::from("startedAt")),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        Just(Value::from("+919876543210")),
        Just(Value::from("9999-12-31T23:59:59-01:00")),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

#[test]
fn any_json_or_bytes_in_any_body_never_reach_a_server_error() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya Sharma", "+919876543210");
    let id = contact["id"].as_str().unwrap().to_string();
    let audience = app.post("/v1/audiences", &json!({"name": "A"})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let targets = [
        (Method::Post, String::from("/v1/contacts")),
        (Method::Patch, format!("/v1/contacts/{id}")),
        (Method::Post, String::from("/v1/contacts/bulk")),
        (Method::Post, String::from("/v1/contacts/bulk-delete")),
        (Method::Post, String::from("/v1/contacts/add-to-audience")),
        (Method::Post, String::from("/v1/audiences")),
        (Method::Patch, format!("/v1/audiences/{audience}")),
        (Method::Post, format!("/v1/audiences/{audience}/contacts")),
        (Method::Post, String::from("/v1/calls")),
    ];
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| json!({ "contacts": [v] }).to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    runner(400)
        .run(&(0..targets.len(), body), |(target, body)| {
            let (method, uri) = &targets[target];
            let answer = app.send_raw(*method, uri, ContentType::JSON, body.clone());
            assert_not_a_server_error(&answer, &String::from_utf8_lossy(&body));
            Ok(())
        })
        .unwrap();
}

/// Number texts: any finite double written shortest and in exponent form,
/// integers far beyond 64 bits, and exponents of any size.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        "-?[1-9][0-9]{18,60}",
        "-?[1-9][0-9]{0,20}(\\.[0-9]{1,30})?[eE][+-]?[0-9]{1,4}",
        "-?0\\.[0-9]{15,40}",
    ]
}

#[test]
fn any_number_in_metadata_comes_back_with_every_digit() {
    let app = TestApp::spawn();
    runner(200)
        .run(&number_text(), |text| {
            let expected = serde_json::from_str::<Value>(&text).unwrap().to_string();
            let body =
                format!(r#"{{"name":"N","phoneNumber":"+14155552671","metadata":{{"n":{text}}}}}"#);
            let created = app.send_raw(
                Method::Post,
                "/v1/contacts",
                ContentType::JSON,
                body.into_bytes(),
            );
            prop_assert_eq!(created.status.code, 201, "{}", created.body);
            let id = created.body["id"].as_str().unwrap().to_string();
            let read = app.get(&format!("/v1/contacts/{id}"));
            let returned = read.body["metadata"]["n"].to_string();
            prop_assert_eq!(&returned, &expected);
            // The same number, whatever a reader parses it into.
            prop_assert_eq!(
                returned.parse::<f64>().unwrap().to_bits(),
                text.parse::<f64>().unwrap().to_bits()
            );
            app.delete(&format!("/v1/contacts/{id}"));
            Ok(())
        })
        .unwrap();
}
