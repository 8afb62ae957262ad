//! Rate limits per API key (CONTRACT.md "Rate limits").

use rocket::http::{Method, Status};
use serde_json::json;

use crate::helpers::TestApp;

fn limited(general: u32, bulk: u32) -> TestApp {
    TestApp::spawn_with(|figment| {
        figment
            .merge(("rate_limit_per_minute", general))
            .merge(("bulk_rate_limit_per_minute", bulk))
    })
}

#[test]
fn no_limit_and_no_headers_by_default() {
    let app = TestApp::spawn();
    for _ in 0..100 {
        let answer = app.get("/v1/contacts");
        assert_eq!(answer.status, Status::Ok);
        assert_eq!(answer.header("x-ratelimit-limit"), None);
    }
}

#[test]
fn the_general_budget_counts_down_then_answers_429_with_retry_after() {
    let app = limited(3, 0);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = app.get("/v1/contacts");
        assert_eq!(answer.status, Status::Ok);
        assert_eq!(answer.header("x-ratelimit-limit"), Some("3"));
        assert!(answer.header("x-ratelimit-reset").is_some());
        remaining.push(answer.header("x-ratelimit-remaining").unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = app.post(
        "/v1/contacts",
        &json!({"name": "A", "phoneNumber": "+14155552671"}),
    );
    refused.assert_error(429, "rate_limited");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));

    // The refused request did nothing, and another key has its own budget.
    let (_, other_key) = app.other_org();
    let other = app.send(Method::Get, "/v1/contacts", Some(&other_key), None);
    assert_eq!(other.status, Status::Ok);
    assert_eq!(other.header("x-ratelimit-remaining"), Some("2"));
    let count: i64 = app
        .sqlite()
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
}

#[test]
fn unknown_keys_are_401_and_spend_no_budget_and_healthz_is_never_limited() {
    let app = limited(2, 0);
    let unknown = format!("sk_live_{}", "Q".repeat(32));
    for _ in 0..5 {
        app.send(Method::Get, "/v1/contacts", Some(&unknown), None)
            .assert_error(401, "unauthorized");
    }
    for _ in 0..5 {
        let health = app.send(Method::Get, "/healthz", None, None);
        assert_eq!(health.status, Status::Ok);
        assert_eq!(health.header("x-ratelimit-limit"), None);
    }
    assert_eq!(
        app.get("/v1/contacts").header("x-ratelimit-remaining"),
        Some("1")
    );
}

#[test]
fn bulk_requests_also_spend_the_bulk_budget() {
    let app = limited(100, 1);
    let batch = json!({"contacts": [{"name": "A", "phoneNumber": "+14155552671"}]});
    assert_eq!(app.post("/v1/contacts/bulk", &batch).status, Status::Ok);
    app.post("/v1/contacts/bulk", &batch)
        .assert_error(429, "rate_limited");
    app.post("/v1/contacts/bulk-delete", &json!({"contactIds": ["ct_x"]}))
        .assert_error(429, "rate_limited");
    let answer = app.get("/v1/contacts");
    assert_eq!(answer.status, Status::Ok, "other requests go on");
    assert_eq!(answer.body["total"], 1);
}

#[test]
fn a_429_from_the_bulk_budget_carries_the_general_budgets_headers() {
    let app = limited(100, 1);
    let batch = json!({"contacts": [{"name": "A", "phoneNumber": "+14155552671"}]});
    let first = app.post("/v1/contacts/bulk", &batch);
    assert_eq!(first.header("x-ratelimit-remaining"), Some("99"));
    let refused = app.post("/v1/contacts/bulk", &batch);
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("98"));
    assert!(refused.header("x-ratelimit-reset").is_some());
}

/// Every spelling of a bulk route's path that reaches the route spends the
/// bulk budget: the limit follows the route, not the text of the path.
#[test]
fn the_bulk_budget_follows_the_route_whatever_the_spelling() {
    let batch = json!({"contacts": [{"name": "A", "phoneNumber": "+14155552671"}]});
    let ids = json!({"contactIds": ["ct_x"]});
    let rows = json!({"contacts": [{"name": "A", "phoneNumber": "+14155552671"}]});
    let routes: [(&str, &serde_json::Value); 3] = [
        ("/v1/contacts/bulk", &batch),
        ("/v1/contacts/bulk-delete", &ids),
        ("/v1/imports/api/bulk", &rows),
    ];
    for (path, body) in routes {
        let (head, last) = path.rsplit_once('/').unwrap();
        let spellings = [
            path.replacen("/v1/", "/v1//", 1),
            format!("{head}/%{:02X}{}", last.as_bytes()[0], &last[1..]),
            format!("/{path}"),
        ];
        for spelling in spellings {
            let app = limited(100, 1);
            let first = app.post(&spelling, body);
            assert!(first.status.code < 300, "{spelling}: {}", first.body);
            app.post(path, body).assert_error(429, "rate_limited");
        }
    }
    let app = limited(100, 1);
    let csv = b"name,phone\nA,+14155552671\n".to_vec();
    let first = app.send_raw(
        Method::Post,
        "/v1//imports/csv",
        rocket::http::ContentType::CSV,
        csv.clone(),
    );
    assert_eq!(first.status.code, 202, "{}", first.body);
    app.send_raw(
        Method::Post,
        "/v1/imports/csv",
        rocket::http::ContentType::CSV,
        csv,
    )
    .assert_error(429, "rate_limited");
}
