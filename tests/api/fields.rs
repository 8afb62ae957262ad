//! CONTRACT.md "Contact fields" and "Ids, times, JSON".

use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn create(app: &TestApp, body: &Value) -> crate::helpers::Answer {
    app.post("/v1/contacts", body)
}

#[test]
fn names_are_trimmed_and_any_script_is_a_name() {
    let app = TestApp::spawn();
    let names = [
        "प्रिया शर्मा",
        "முருகன்",
        "Zoë Ørsted",
        "🙂 Sunny",
        "  Priya  ",
    ];
    for (i, name) in names.iter().enumerate() {
        let phone = format!("+9198765432{i:02}");
        let answer = create(&app, &json!({"name": name, "phoneNumber": phone}));
        assert_eq!(answer.status, Status::Created, "{name}: {}", answer.body);
        assert_eq!(answer.body["name"], name.trim());
    }
}

#[test]
fn names_must_be_1_to_200_characters() {
    let app = TestApp::spawn();
    let ok = create(
        &app,
        &json!({"name": "त".repeat(200), "phoneNumber": "+919876543210"}),
    );
    assert_eq!(ok.status, Status::Created);
    for name in [
        json!(""),
        json!("   "),
        json!("x".repeat(201)),
        json!(123),
        json!(null),
    ] {
        let answer = create(&app, &json!({"name": name, "phoneNumber": "+919123456789"}));
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["name"], "{name}");
    }
    let missing = create(&app, &json!({"phoneNumber": "+919123456789"}));
    assert_eq!(missing.detail_fields(), ["name"]);
}

#[test]
fn phone_numbers_are_stored_in_e164() {
    let app = TestApp::spawn();
    for (input, stored) in [
        ("+91 98765-43210", "+919876543210"),
        ("+1 (415) 555.2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ] {
        let answer = create(&app, &json!({"name": "A", "phoneNumber": input}));
        assert_eq!(answer.status, Status::Created, "{input}: {}", answer.body);
        assert_eq!(answer.body["phoneNumber"], stored);
    }
}

#[test]
fn invalid_and_national_phone_numbers_are_422() {
    let app = TestApp::spawn();
    for phone in [
        json!("9876543210"),
        json!("+91 123"),
        json!("+1 800 FLOWERS"),
        json!("+919876543210 ext. 5"),
        json!(""),
        json!(919_876_543_210_u64),
    ] {
        let answer = create(&app, &json!({"name": "A", "phoneNumber": phone}));
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["phoneNumber"], "{phone}");
        assert_eq!(
            answer.body["message"],
            "phoneNumber must be a valid E.164 phone number, e.g. +919876543210"
        );
    }
}

#[test]
fn language_is_returned_in_canonical_case() {
    let app = TestApp::spawn();
    for (i, (input, canonical)) in [
        ("HI-in", "hi-IN"),
        ("en", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("TA-in", "ta-IN"),
    ]
    .iter()
    .enumerate()
    {
        let phone = format!("+9198765432{i:02}");
        let answer = create(
            &app,
            &json!({"name": "A", "phoneNumber": phone, "language": input}),
        );
        assert_eq!(answer.body["language"], *canonical, "{input}");
    }
    for bad in [json!("not a tag"), json!(""), json!(5), json!("en_US")] {
        let answer = create(
            &app,
            &json!({"name": "A", "phoneNumber": "+14155552671", "language": bad}),
        );
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["language"], "{bad}");
    }
}

#[test]
fn unset_optionals_are_null_or_empty_never_missing() {
    let app = TestApp::spawn();
    let answer = create(&app, &json!({"name": "A", "phoneNumber": "+919876543210"}));
    assert_eq!(answer.body["language"], json!(null));
    assert_eq!(answer.body["metadata"], json!({}));
    let with_nulls = create(
        &app,
        &json!({"name": "B", "phoneNumber": "+919123456789", "language": null, "metadata": null}),
    );
    assert_eq!(with_nulls.body["language"], json!(null));
    assert_eq!(with_nulls.body["metadata"], json!({}));
}

#[test]
fn metadata_must_be_a_bounded_object() {
    let app = TestApp::spawn();
    let many_keys: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!(i))).collect();
    let max_keys: serde_json::Map<String, Value> =
        (0..64).map(|i| (format!("k{i}"), json!(i))).collect();
    let long_key = json!({ "k".repeat(65): 1 });
    let big = json!({ "blob": "x".repeat(16 * 1024) });
    for bad in [
        json!([1, 2]),
        json!("text"),
        json!(3),
        Value::Object(many_keys),
        long_key,
        json!({"": 1}),
        big,
    ] {
        let answer = create(
            &app,
            &json!({"name": "A", "phoneNumber": "+919876543210", "metadata": bad}),
        );
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["metadata"]);
    }
    let nested = json!({"city": "Mumbai", "tags": ["a", "b"], "score": 4.5, "vip": true, "address": {"pin": "400001"}});
    let ok = create(
        &app,
        &json!({"name": "A", "phoneNumber": "+919876543210", "metadata": nested}),
    );
    assert_eq!(ok.body["metadata"], nested);
    let ok = create(
        &app,
        &json!({"name": "B", "phoneNumber": "+919123456789", "metadata": Value::Object(max_keys)}),
    );
    assert_eq!(ok.status, Status::Created);
}

#[test]
fn unknown_and_read_only_fields_are_rejected_by_name() {
    let app = TestApp::spawn();
    for field in [
        "id",
        "organizationId",
        "createdAt",
        "updatedAt",
        "phone",
        "Name",
    ] {
        let answer = create(
            &app,
            &json!({"name": "A", "phoneNumber": "+919876543210", field: "x"}),
        );
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field]);
        assert!(answer.body["message"].as_str().unwrap().contains(field));
    }
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
    let created = app.create_contact("A", "+919876543210");
    let uri = format!("/v1/contacts/{}", created["id"].as_str().unwrap());
    let answer = app.patch(&uri, &json!({"id": "ct_other"}));
    assert_eq!(answer.detail_fields(), ["id"]);
    assert_eq!(app.get(&uri).body, created);
}

#[test]
fn ids_are_opaque_url_safe_and_unique() {
    let app = TestApp::spawn();
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    for id in [a["id"].as_str().unwrap(), b["id"].as_str().unwrap()] {
        assert!(id.len() >= 16);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'),
            "{id}"
        );
    }
    assert_ne!(a["id"], b["id"]);
    assert!(app.org_id.starts_with("org_"));
}

#[test]
fn times_are_rfc3339_utc_with_milliseconds() {
    let app = TestApp::spawn();
    let contact = app.create_contact("A", "+919876543210");
    for field in ["createdAt", "updatedAt"] {
        let text = contact[field].as_str().unwrap();
        let parsed =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339);
        assert!(parsed.is_ok(), "{text}");
        assert_eq!(text.len(), 24, "{text}");
        assert_eq!(&text[19..20], ".");
        assert!(text.ends_with('Z'));
    }
}

#[test]
fn bodies_are_json_whatever_the_content_type() {
    let app = TestApp::spawn();
    for content_type in [ContentType::Plain, ContentType::Form, ContentType::HTML] {
        let response = app
            .client
            .post("/v1/contacts")
            .header(rocket::http::Header::new("x-api-key", app.key.clone()))
            .header(content_type.clone())
            .body(json!({"name": "A", "phoneNumber": "+919876543210"}).to_string())
            .dispatch();
        assert!(
            [Status::Created, Status::Conflict].contains(&response.status()),
            "{content_type}: {}",
            response.status()
        );
    }
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn wrong_shape_is_422_and_not_json_is_400() {
    let app = TestApp::spawn();
    for body in [json!([{"name": "A"}]), json!("A"), json!(42), json!(null)] {
        let answer = app.post("/v1/contacts", &body);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["body"]);
    }
    for text in ["", "{", "name=A", "{\"name\": 'A'}", "[1,]"] {
        let answer = app.send(
            rocket::http::Method::Post,
            "/v1/contacts",
            Some(&app.key),
            Some(text.to_string()),
        );
        answer.assert_error(400, "bad_request");
    }
    let deep = "[".repeat(10_000);
    let answer = app.send(
        rocket::http::Method::Post,
        "/v1/contacts",
        Some(&app.key),
        Some(deep),
    );
    answer.assert_error(400, "bad_request");
}

#[test]
fn missing_required_fields_are_reported_with_other_errors() {
    let app = TestApp::spawn();
    let answer = create(&app, &json!({"name": ""}));
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.detail_fields(), ["name", "phoneNumber"]);
    let answer = create(&app, &json!({"name": "A", "language": "!!"}));
    assert_eq!(answer.detail_fields(), ["language", "phoneNumber"]);
}
