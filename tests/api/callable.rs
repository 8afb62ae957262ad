//! Callability and the `callable` listing filter (CONTRACT.md,
//! "Do-not-call and calling hours").

use rocket::http::{Header, Method};
use serde_json::{json, Value};

use crate::helpers::{encode, ids_of, TestApp};

/// Monday 7 December 2026, 06:00 UTC: 11:30 in India, 06:00 in London,
/// 01:00 in New York.
const MONDAY_0600: &str = "2026-12-07T06:00:00Z";
/// The same Monday at 15:00 UTC: 20:30 in India, 15:00 in London, 10:00 in
/// New York.
const MONDAY_1500: &str = "2026-12-07T15:00:00Z";

fn put_hours(app: &TestApp, hours: &Value) {
    let put = app.send(
        Method::Put,
        "/v1/settings/calling-hours",
        Some(&app.key),
        Some(hours.to_string()),
    );
    assert_eq!(put.status.code, 200, "{}", put.body);
}

fn callability(app: &TestApp, id: &str, at: &str) -> Value {
    let answer = app.get(&format!("/v1/contacts/{id}/callability?at={}", encode(at)));
    assert_eq!(answer.status.code, 200, "{}", answer.body);
    answer.body
}

#[test]
fn callability_names_the_zones_the_reasons_and_the_next_moment() {
    let app = TestApp::spawn();
    let india = app.create_contact("Priya", "+919876543210")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uk = app.create_contact("Olivia", "+447911123456")["id"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        callability(&app, &india, MONDAY_0600),
        json!({"callable": true, "reasons": [], "timeZones": ["Asia/Calcutta"],
               "nextCallableAt": "2026-12-07T06:00:00.000Z"})
    );
    // 21:30 in India: outside until 09:00 the next day (03:30 UTC).
    assert_eq!(
        callability(&app, &india, "2026-12-07T16:00:00Z"),
        json!({"callable": false, "reasons": ["outside_calling_hours"],
               "timeZones": ["Asia/Calcutta"], "nextCallableAt": "2026-12-08T03:30:00.000Z"})
    );
    // Any offset is read: 20:59:59 in India is inside, 21:00 is not.
    assert_eq!(
        callability(&app, &india, "2026-12-07T20:59:59+05:30")["callable"],
        true
    );
    assert_eq!(
        callability(&app, &india, "2026-12-07T21:00:00+05:30")["callable"],
        false
    );
    let uk_zones = callability(&app, &uk, MONDAY_0600);
    assert_eq!(
        uk_zones["timeZones"],
        json!([
            "Europe/Guernsey",
            "Europe/Isle_of_Man",
            "Europe/Jersey",
            "Europe/London"
        ])
    );
    assert_eq!(uk_zones["nextCallableAt"], "2026-12-07T09:00:00.000Z");

    // Listed: never callable, whatever the time.
    app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+91 98765 43210"]}),
    );
    assert_eq!(
        callability(&app, &india, "2026-12-07T16:00:00Z"),
        json!({"callable": false, "reasons": ["do_not_call", "outside_calling_hours"],
               "timeZones": ["Asia/Calcutta"], "nextCallableAt": null})
    );
    assert_eq!(
        callability(&app, &india, MONDAY_0600)["reasons"],
        json!(["do_not_call"])
    );

    // Weekdays only: Saturday night waits for Monday.
    put_hours(
        &app,
        &json!({"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}),
    );
    assert_eq!(
        callability(&app, &uk, "2026-12-05T20:00:00Z")["nextCallableAt"],
        "2026-12-07T09:00:00.000Z"
    );

    // Without `at`: now, with a moment in the answer either way.
    let now = app.get(&format!("/v1/contacts/{uk}/callability")).body;
    assert!(now["callable"].is_boolean(), "{now}");
    assert!(now["nextCallableAt"].is_string(), "{now}");

    app.get("/v1/contacts/ct_missing/callability")
        .assert_error(404, "not_found");
    let bad = app.get(&format!("/v1/contacts/{uk}/callability?at=tomorrow"));
    bad.assert_error(400, "bad_request");
    assert_eq!(bad.detail_fields(), ["at"]);
    app.get(&format!("/v1/contacts/{uk}/callability?when=now"))
        .assert_error(400, "bad_request");
}

#[test]
fn a_number_that_is_nowhere_inside_at_once_has_no_next_moment() {
    let app = TestApp::spawn();
    // +1 800 is toll free: every North American zone, Guam to St John's.
    let id = app.create_contact("Helpline", "+18005550199")["id"]
        .as_str()
        .unwrap()
        .to_string();
    put_hours(
        &app,
        &json!({"start": "10:00", "end": "20:00", "days": [1, 2, 3, 4, 5, 6, 7]}),
    );
    let answer = callability(&app, &id, MONDAY_1500);
    assert_eq!(answer["callable"], false);
    assert_eq!(answer["nextCallableAt"], Value::Null);
    assert!(answer["timeZones"].as_array().unwrap().len() > 30);
}

/// Three contacts in three countries, oldest first: India, UK, US (New York).
fn three_countries(app: &TestApp) -> [String; 3] {
    ["+919876543210", "+447911123456", "+12125550123"].map(|phone| {
        app.create_contact(&format!("Contact {phone}"), phone)["id"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn listed_ids(app: &TestApp, uri: &str) -> (Vec<String>, i64) {
    let answer = app.get(uri);
    assert_eq!(answer.status.code, 200, "{uri}: {}", answer.body);
    (ids_of(&answer.body), answer.body["total"].as_i64().unwrap())
}

#[test]
fn callable_keeps_the_contacts_inside_their_hours_and_off_the_list() {
    let app = TestApp::spawn();
    let [india, uk, us] = three_countries(&app);
    let at = |t: &str| encode(t);

    // 06:00 UTC: India (11:30) only; 15:00 UTC: all three.
    let early = format!("/v1/contacts?callable=true&callableAt={}", at(MONDAY_0600));
    assert_eq!(listed_ids(&app, &early), (vec![india.clone()], 1));
    let late = format!("/v1/contacts?callable=true&callableAt={}", at(MONDAY_1500));
    assert_eq!(
        listed_ids(&app, &late),
        (vec![us.clone(), uk.clone(), india.clone()], 3)
    );
    let others = format!("/v1/contacts?callable=false&callableAt={}", at(MONDAY_0600));
    assert_eq!(listed_ids(&app, &others), (vec![us.clone(), uk.clone()], 2));

    // Listing a number takes it out at once; removing it brings it back.
    app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+44 7911 123456"]}),
    );
    assert_eq!(
        listed_ids(&app, &late),
        (vec![us.clone(), india.clone()], 2)
    );
    app.delete("/v1/do-not-call/%2B447911123456");
    assert_eq!(listed_ids(&app, &late).1, 3);

    // A contact created later with a listed number is covered, and so is
    // one whose number changes to a listed one.
    app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+919812345678", "+12125550199"]}),
    );
    let later = app.create_contact("Later", "+919812345678")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!listed_ids(&app, &late).0.contains(&later));
    let moved = app.patch(
        &format!("/v1/contacts/{us}"),
        &json!({"phoneNumber": "+12125550199"}),
    );
    assert_eq!(moved.status.code, 200, "{}", moved.body);
    assert_eq!(
        listed_ids(&app, &late),
        (vec![uk.clone(), india.clone()], 2)
    );
    // A number moving to another zone moves with it: London to Kolkata.
    app.patch(
        &format!("/v1/contacts/{uk}"),
        &json!({"phoneNumber": "+919900012345"}),
    );
    assert_eq!(listed_ids(&app, &early).0, vec![uk.clone(), india.clone()]);

    // The organization's hours decide: 12:00 to 13:00 leaves India out at
    // 06:00 UTC.
    put_hours(
        &app,
        &json!({"start": "12:00", "end": "13:00", "days": [1]}),
    );
    assert_eq!(listed_ids(&app, &early), (vec![], 0));
    let (others, total) = listed_ids(&app, &others);
    assert_eq!(total, 4);
    assert_eq!(others.len(), 4);
}

#[test]
fn callable_combines_with_search_filters_sort_cursors_audiences_and_export() {
    let app = TestApp::spawn();
    let mut india = Vec::new();
    for i in 0..5 {
        let contact = app.create_contact(&format!("Asha {i}"), &format!("+91981234560{i}"));
        india.push(contact["id"].as_str().unwrap().to_string());
        app.create_contact(&format!("Asha US {i}"), &format!("+1212555010{i}"));
    }
    app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+919812345602"]}),
    );
    let at = encode(MONDAY_0600);

    // Search and sort.
    let (ids, total) = listed_ids(
        &app,
        &format!("/v1/contacts?search=asha&sort=name&callable=true&callableAt={at}"),
    );
    assert_eq!(total, 4);
    assert_eq!(
        ids,
        [&india[0], &india[1], &india[3], &india[4]].map(String::clone)
    );
    let (_, total) = listed_ids(
        &app,
        &format!("/v1/contacts?search=US&callable=true&callableAt={at}"),
    );
    assert_eq!(total, 0);
    // Newest first with a search: pages from the two indexes alone.
    let (ids, total) = listed_ids(
        &app,
        &format!("/v1/contacts?search=asha&limit=2&page=2&callable=true&callableAt={at}"),
    );
    assert_eq!(total, 4);
    assert_eq!(ids, [&india[1], &india[0]].map(String::clone));
    let (ids, total) = listed_ids(
        &app,
        &format!("/v1/contacts?search=asha&callable=false&callableAt={at}"),
    );
    assert_eq!(total, 6);
    assert_eq!(ids.len(), 6);
    assert!(ids.contains(&india[2]));

    // Cursors: two pages of two, the same four, the total exact on both.
    let first = app
        .get(&format!(
            "/v1/contacts?limit=2&callable=true&callableAt={at}"
        ))
        .body;
    assert_eq!(first["total"], 4);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/v1/contacts?limit=2&callable=true&callableAt={at}&cursor={}",
            encode(cursor)
        ))
        .body;
    assert_eq!(second["total"], 4);
    assert_eq!(second["nextCursor"], Value::Null);
    let mut paged = ids_of(&first);
    paged.extend(ids_of(&second));
    assert_eq!(
        paged,
        [&india[4], &india[3], &india[1], &india[0]].map(String::clone)
    );
    // A cursor is the query's own: not with another filter.
    app.get(&format!(
        "/v1/contacts?limit=2&callable=false&callableAt={at}&cursor={}",
        encode(cursor)
    ))
    .assert_error(400, "bad_request");

    // Audiences: members and available contacts.
    let audience = app.post("/v1/audiences", &json!({"name": "Mixed"})).body;
    let audience = audience["id"].as_str().unwrap();
    let all = app.list_ids("/v1/contacts?limit=100");
    let members = app.post(
        &format!("/v1/audiences/{audience}/contacts"),
        &json!({"contactIds": [all[0], all[1], all[2], all[3]]}),
    );
    assert_eq!(members.status.code, 200, "{}", members.body);
    let (in_audience, _) = listed_ids(
        &app,
        &format!("/v1/audiences/{audience}/contacts?callable=true&callableAt={at}"),
    );
    assert_eq!(in_audience, [&india[4], &india[3]].map(String::clone));
    let (available, _) = listed_ids(
        &app,
        &format!("/v1/audiences/{audience}/available-contacts?callable=true&callableAt={at}"),
    );
    assert_eq!(available, [&india[1], &india[0]].map(String::clone));
    let (by_audience, total) = listed_ids(
        &app,
        &format!("/v1/contacts?audienceId={audience}&callable=false&callableAt={at}"),
    );
    assert_eq!((by_audience.len(), total), (2, 2));

    // Export: NDJSON lines of the callable contacts, with language filter.
    let response = app
        .client
        .get(format!(
            "/v1/contacts/export?format=ndjson&callable=true&callableAt={at}"
        ))
        .header(Header::new("x-api-key", app.key.clone()))
        .dispatch();
    assert_eq!(response.status().code, 200);
    let text = response.into_string().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines.iter().all(|l| l.contains("+91")));
    let (_, total) = listed_ids(
        &app,
        &format!("/v1/contacts?language=hi-IN&callable=true&callableAt={at}"),
    );
    assert_eq!(total, 0);
}

#[test]
fn listings_stay_exact_when_the_kept_counts_do_not_add_up() {
    let app = TestApp::spawn();
    let [india, _, _] = three_countries(&app);
    let at = encode(MONDAY_0600);
    let uri = format!("/v1/contacts?callable=true&callableAt={at}");
    assert_eq!(listed_ids(&app, &uri), (vec![india.clone()], 1));
    // Counts lost (a writer that bypassed them): rows are counted instead.
    app.sqlite()
        .execute("DELETE FROM callable_counts", [])
        .unwrap();
    assert_eq!(listed_ids(&app, &uri), (vec![india], 1));
    let others = format!("/v1/contacts?callable=false&callableAt={at}");
    assert_eq!(listed_ids(&app, &others).1, 2);
}

#[test]
fn callable_values_are_read_strictly() {
    let app = TestApp::spawn();
    for (query, field) in [
        ("callable=yes", "callable"),
        ("callable=TRUE", "callable"),
        ("callable=", "callable"),
        ("callable=true&callableAt=noon", "callableAt"),
        ("callableAt=2026-12-07T06:00:00Z", "callableAt"),
    ] {
        let answer = app.get(&format!("/v1/contacts?{query}"));
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), [field], "{query}");
    }
    // Without callableAt: now.
    app.create_contact("Now", "+919876543210");
    let (_, total_true) = listed_ids(&app, "/v1/contacts?callable=true");
    let (_, total_false) = listed_ids(&app, "/v1/contacts?callable=false");
    assert_eq!(total_true + total_false, 1);
}
