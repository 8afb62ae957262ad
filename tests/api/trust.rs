//! Issue 7's findings from outside, each through HTTP: exact metadata,
//! sub-millisecond bounds, ids that reveal nothing, isolation, a busy
//! database, hostile input, phone spellings, duplicate keys, method
//! override, files and paths.

use std::fmt::Write as _;

use rocket::http::{ContentType, Method, Status};
use serde_json::{json, Value};

use crate::helpers::{encode, ids_of, TestApp};

/// Sends `body` (JSON text, exactly as written) with the app's key.
fn send_text(app: &TestApp, method: Method, uri: &str, body: &str) -> crate::helpers::Answer {
    app.send_raw(method, uri, ContentType::JSON, body.as_bytes().to_vec())
}

/// The JSON text serde_json writes for the number `text`: the same digits,
/// with an exponent's sign written out.
fn canonical_number(text: &str) -> String {
    serde_json::from_str::<Value>(text).unwrap().to_string()
}

const EXACT_NUMBERS: &[&str] = &[
    "0.21549671757760558",
    "123456789012345678901234567890",
    "-98765432109876543210.123456789012345678901234567890",
    "1e400",
    "4.9406564584124654e-324",
    "17976931348623157e292",
    "0.1000000000000000055511151231257827",
];

#[test]
fn metadata_numbers_come_back_digit_for_digit_from_every_write() {
    let app = TestApp::spawn();
    for (i, number) in EXACT_NUMBERS.iter().enumerate() {
        let expected = canonical_number(number);
        let phone = format!("+1415555{:04}", 2000 + i);
        let body = format!(r#"{{"name":"N","phoneNumber":"{phone}","metadata":{{"f":{number}}}}}"#);
        let created = send_text(&app, Method::Post, "/v1/contacts", &body);
        assert_eq!(created.status, Status::Created, "{}", created.body);
        assert_eq!(created.body["metadata"]["f"].to_string(), expected);
        let id = created.body["id"].as_str().unwrap();
        let read = app.get(&format!("/v1/contacts/{id}"));
        assert_eq!(read.body["metadata"]["f"].to_string(), expected);

        let patched = send_text(
            &app,
            Method::Patch,
            &format!("/v1/contacts/{id}"),
            &format!(r#"{{"metadata":{{"g":[{number}]}}}}"#),
        );
        assert_eq!(patched.body["metadata"]["g"][0].to_string(), expected);

        let bulk = send_text(
            &app,
            Method::Post,
            "/v1/contacts/bulk",
            &format!(
                r#"{{"contacts":[{{"name":"N","phoneNumber":"{phone}","metadata":{{"h":{number}}}}}]}}"#
            ),
        );
        assert_eq!(
            bulk.body["contacts"][0]["metadata"]["h"].to_string(),
            expected
        );

        let call = send_text(
            &app,
            Method::Post,
            "/v1/calls",
            &format!(r#"{{"contactId":"{id}","status":"completed","metadata":{{"c":{number}}}}}"#),
        );
        assert_eq!(call.status, Status::Created, "{}", call.body);
        let call_id = call.body["id"].as_str().unwrap();
        let call = app.get(&format!("/v1/calls/{call_id}"));
        assert_eq!(call.body["metadata"]["c"].to_string(), expected);
    }
}

#[test]
fn a_metadata_filter_finds_a_number_by_its_exact_text() {
    let app = TestApp::spawn();
    let body = r#"{"name":"N","phoneNumber":"+14155552671","metadata":{"f":0.21549671757760558}}"#;
    assert_eq!(
        send_text(&app, Method::Post, "/v1/contacts", body).status,
        Status::Created
    );
    let found = app.get("/v1/contacts?metadata.f=0.21549671757760558");
    assert_eq!(found.body["total"], 1);
    let near = app.get("/v1/contacts?metadata.f=0.2154967175776056");
    assert_eq!(near.body["total"], 0, "a nearby double is another value");
}

#[test]
fn time_bounds_hold_below_the_millisecond() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya", "+919876543210");
    let created = contact["createdAt"].as_str().unwrap();
    // `…12.640Z` becomes `…12.640500Z`: half a millisecond later.
    let later = created.replace('Z', "500Z");
    let after = app.get(&format!("/v1/contacts?createdAfter={}", encode(&later)));
    assert_eq!(
        after.body["total"], 0,
        "created before T is not at or after T"
    );
    let before = app.get(&format!("/v1/contacts?createdBefore={}", encode(&later)));
    assert_eq!(
        before.body["total"], 1,
        "created before T is strictly before T"
    );
    let earlier = created.replace('Z', "000001Z");
    let after = app.get(&format!("/v1/contacts?updatedAfter={}", encode(&earlier)));
    assert_eq!(after.body["total"], 0);
    let exact = app.get(&format!("/v1/contacts?createdAfter={}", encode(created)));
    assert_eq!(exact.body["total"], 1);
}

/// The part of an id between its time and its random tail.
fn counter_part(id: &str) -> String {
    let start = id.find('_').unwrap() + 1 + 7;
    id[start..start + 6].to_string()
}

#[test]
fn ids_depend_on_their_own_organization_alone() {
    let app = TestApp::spawn();
    let (_, other_key) = app.other_org();
    let first = app.create_contact("A", "+14155550001")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let contacts: Vec<Value> = (0..50)
        .map(|i| json!({"name": "B", "phoneNumber": format!("+1415555{:04}", 100 + i)}))
        .collect();
    let bulk = app.send(
        Method::Post,
        "/v1/contacts/bulk",
        Some(&other_key),
        Some(json!({ "contacts": contacts }).to_string()),
    );
    assert_eq!(bulk.body["created"], 50);
    let second = app.create_contact("A2", "+14155550002")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let third = app.create_contact("A3", "+14155550003")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // What sits between the time and the random part moves by one per
    // contact of this organization, whatever the other one created.
    let (a, b, c) = (
        counter_part(&first),
        counter_part(&second),
        counter_part(&third),
    );
    assert!(a < b && b < c, "{first} {second} {third}");
    let other_first = ids_of(
        &app.send(
            Method::Get,
            "/v1/contacts?limit=100",
            Some(&other_key),
            None,
        )
        .body,
    );
    let mut theirs: Vec<String> = other_first.iter().map(|id| counter_part(id)).collect();
    theirs.sort();
    theirs.dedup();
    assert_eq!(theirs.len(), 50);
    assert_eq!(
        [&a, &b, &c].iter().filter(|p| theirs.contains(p)).count(),
        3,
        "both organizations count from the start on their own"
    );
}

#[test]
fn searches_see_one_organization_when_rows_interleave() {
    let app = TestApp::spawn();
    let (_, other_key) = app.other_org();
    for i in 0..30 {
        let phone = format!("+1415555{:04}", 3000 + i);
        app.create_contact(&format!("Shared Name {i}"), &phone);
        let other = app.send(
            Method::Post,
            "/v1/contacts",
            Some(&other_key),
            Some(json!({"name": format!("Shared Name {i}"), "phoneNumber": phone}).to_string()),
        );
        assert_eq!(other.status, Status::Created);
    }
    let own: Vec<String> = ids_of(&app.get("/v1/contacts?limit=100").body);
    for query in [
        "search=shared",
        "search=sh",
        "search=415555",
        "search=name&page=2&limit=7",
    ] {
        let page = app.get(&format!("/v1/contacts?{query}"));
        assert_eq!(page.body["total"], 30, "{query}");
        assert!(
            ids_of(&page.body).iter().all(|id| own.contains(id)),
            "{query}"
        );
    }
}

#[test]
fn a_busy_database_answers_503_with_retry_after_within_the_busy_timeout() {
    let app = TestApp::spawn_with_options(
        contactsd_store::DbOptions {
            busy_timeout: std::time::Duration::from_millis(50),
            ..Default::default()
        },
        |figment| figment,
    );
    let holder = app.sqlite();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let answer = app.post(
        "/v1/contacts",
        &json!({"name": "A", "phoneNumber": "+14155552671"}),
    );
    answer.assert_error(503, "unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
    holder.execute_batch("ROLLBACK").unwrap();
    let answer = app.post(
        "/v1/contacts",
        &json!({"name": "A", "phoneNumber": "+14155552671"}),
    );
    assert_eq!(answer.status, Status::Created);
}

#[test]
fn hostile_query_parameters_are_4xx_never_5xx() {
    let app = TestApp::spawn();
    let audience = app.post("/v1/audiences", &json!({"name": "A"})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let routes = [
        String::from("/v1/contacts"),
        format!("/v1/audiences/{audience}/contacts"),
        format!("/v1/audiences/{audience}/available-contacts"),
    ];
    for route in &routes {
        let nul = app.get(&format!("{route}?metadata.%00=x"));
        assert_eq!(nul.status, Status::Ok, "{route}: {}", nul.body);
        let quoted = app.get(&format!("{route}?metadata.a%22b%5C=x&metadata.%E2%80%AE=1"));
        assert_eq!(quoted.status, Status::Ok, "{route}: {}", quoted.body);
        let many: Vec<String> = (0..496).map(|i| format!("metadata.k{i}=v")).collect();
        app.get(&format!("{route}?{}", many.join("&")))
            .assert_error(400, "bad_request");
        for bound in [
            "createdAfter",
            "createdBefore",
            "updatedAfter",
            "updatedBefore",
        ] {
            let answer = app.get(&format!("{route}?{bound}=9999-12-31T23:59:59-01:00"));
            answer.assert_error(400, "bad_request");
            assert_eq!(answer.detail_fields(), [bound]);
        }
    }
}

#[test]
fn a_start_time_past_the_year_9999_is_422() {
    let app = TestApp::spawn();
    let contact = app.create_contact("A", "+14155552671");
    let answer = app.post(
        "/v1/calls",
        &json!({"contactId": contact["id"], "status": "completed",
                "startedAt": "9999-12-31T23:59:59-01:00"}),
    );
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.detail_fields(), ["startedAt"]);
}

#[test]
fn a_body_of_many_unknown_keys_lists_at_most_100_details() {
    let app = TestApp::spawn();
    let mut body = String::from(r#"{"name":"A","phoneNumber":"+14155552671""#);
    for i in 0..200_000 {
        let _ = write!(body, r#","k{i}":0"#);
    }
    body.push('}');
    let answer = send_text(&app, Method::Post, "/v1/contacts", &body);
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.body["details"].as_array().unwrap().len(), 100);
    assert_eq!(app.get("/v1/contacts").body["total"], 0);
}

#[test]
fn phone_numbers_accept_dashes_and_dots_anywhere() {
    let app = TestApp::spawn();
    for (text, e164) in [
        ("+1415-555-2671", "+14155552671"),
        ("+9198765-43210", "+919876543210"),
        ("+4420.7946.0958", "+442079460958"),
    ] {
        let answer = app.post("/v1/contacts", &json!({"name": "A", "phoneNumber": text}));
        assert_eq!(answer.status, Status::Created, "{text}: {}", answer.body);
        assert_eq!(answer.body["phoneNumber"], e164);
    }
}

#[test]
fn a_key_given_twice_is_422_naming_it() {
    let app = TestApp::spawn();
    for (uri, body, field) in [
        (
            "/v1/contacts",
            r#"{"name":"A","name":"B","phoneNumber":"+14155552671"}"#,
            "name",
        ),
        (
            "/v1/contacts",
            r#"{"name":"A","phoneNumber":"+14155552671","metadata":{"k":1,"k":2}}"#,
            "metadata.k",
        ),
        (
            "/v1/contacts/bulk",
            r#"{"contacts":[{"name":"A","phoneNumber":"+14155552671","phoneNumber":"+14155552672"}]}"#,
            "contacts.0.phoneNumber",
        ),
        (
            "/v1/audiences",
            r#"{"name":"A","description":null,"name":"B"}"#,
            "name",
        ),
    ] {
        let answer = send_text(&app, Method::Post, uri, body);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field], "{body}");
    }
    assert_eq!(
        app.get("/v1/contacts").body["total"],
        0,
        "nothing was written"
    );
}

#[test]
fn a_form_with_method_override_stays_a_post() {
    let app = TestApp::spawn();
    let contact = app.create_contact("A", "+14155552671");
    let id = contact["id"].as_str().unwrap();
    let answer = app.send_raw(
        Method::Post,
        &format!("/v1/contacts/{id}"),
        ContentType::Form,
        b"_method=DELETE".to_vec(),
    );
    answer.assert_error(404, "not_found");
    assert_eq!(app.get(&format!("/v1/contacts/{id}")).status, Status::Ok);
}
