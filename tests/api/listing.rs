//! `GET /v1/contacts`: the page envelope, paging rules and order.

use rocket::http::Status;
use serde_json::json;

use crate::helpers::{ids_of, TestApp};

fn seed(app: &TestApp, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let contact = app.create_contact(&format!("Person {i}"), &format!("+9198765{i:05}"));
            contact["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn empty_list_has_the_seed_envelope() {
    let app = TestApp::spawn();
    let answer = app.get("/v1/contacts");
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(
        answer.body,
        json!({"data": [], "total": 0, "page": 1, "limit": 20, "totalPages": 0, "nextCursor": null})
    );
}

#[test]
fn newest_first_and_stable_across_pages() {
    let app = TestApp::spawn();
    let created = seed(&app, 7);
    let all = app.list_ids("/v1/contacts?limit=100");
    let mut expected = created.clone();
    expected.reverse();
    // Newest first; rows created in the same millisecond fall back to id desc.
    let answer = app.get("/v1/contacts?limit=100");
    let rows = answer.body["data"].as_array().unwrap();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let key = |c: &serde_json::Value| {
            (
                c["createdAt"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
            )
        };
        assert!(key(a) > key(b), "{a} before {b}");
    }
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    let mut sorted_all = all.clone();
    sorted_all.sort();
    assert_eq!(sorted_all, sorted_expected);

    let mut paged = Vec::new();
    for page in 1..=4 {
        let answer = app.get(&format!("/v1/contacts?limit=2&page={page}"));
        assert_eq!(answer.body["total"], 7);
        assert_eq!(answer.body["totalPages"], 4);
        assert_eq!(answer.body["page"], page);
        assert_eq!(answer.body["limit"], 2);
        paged.extend(ids_of(&answer.body));
    }
    assert_eq!(paged, all);
}

#[test]
fn a_page_past_the_end_is_empty_with_the_true_total() {
    let app = TestApp::spawn();
    seed(&app, 3);
    let answer = app.get("/v1/contacts?page=9&limit=2");
    assert_eq!(answer.body["data"], json!([]));
    assert_eq!(answer.body["total"], 3);
    assert_eq!(answer.body["totalPages"], 2);
    let huge = app.get("/v1/contacts?page=99999999999999999999999");
    assert_eq!(huge.status, Status::Ok);
    assert_eq!(huge.body["data"], json!([]));
}

#[test]
fn limit_above_100_is_served_as_100() {
    let app = TestApp::spawn();
    let answer = app.get("/v1/contacts?limit=500");
    assert_eq!(answer.body["limit"], 100);
    let answer = app.get("/v1/contacts?limit=100000000000000000000000");
    assert_eq!(answer.body["limit"], 100);
}

#[test]
fn limit_or_page_below_1_is_422() {
    let app = TestApp::spawn();
    for (uri, field) in [
        ("/v1/contacts?limit=0", "limit"),
        ("/v1/contacts?limit=-5", "limit"),
        ("/v1/contacts?page=0", "page"),
        ("/v1/contacts?page=-1", "page"),
    ] {
        let answer = app.get(uri);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field]);
    }
}

#[test]
fn query_parameters_of_the_wrong_type_are_400() {
    let app = TestApp::spawn();
    for (uri, field) in [
        ("/v1/contacts?page=abc", "page"),
        ("/v1/contacts?limit=1.5", "limit"),
        ("/v1/contacts?limit=", "limit"),
        ("/v1/contacts?page=1e3", "page"),
    ] {
        let answer = app.get(uri);
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), [field], "{uri}");
    }
}

#[test]
fn unknown_query_parameters_are_400_naming_them() {
    let app = TestApp::spawn();
    let answer = app.get("/v1/contacts?pageSize=5");
    answer.assert_error(400, "bad_request");
    assert_eq!(answer.detail_fields(), ["pageSize"]);
}
