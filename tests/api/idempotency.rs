//! Idempotency keys on POST (CONTRACT.md "Idempotency keys").

use rocket::http::{ContentType, Header, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn contacts_in_db(app: &TestApp) -> i64 {
    app.sqlite()
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_repeat_gets_the_stored_answer_and_does_nothing() {
    let app = TestApp::spawn();
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    let first = app.post_with(
        "/v1/contacts",
        &body,
        &[("Idempotency-Key", "create-priya")],
    );
    assert_eq!(first.status, Status::Created);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.post_with(
        "/v1/contacts",
        &body,
        &[("Idempotency-Key", "create-priya")],
    );
    assert_eq!(again.status, Status::Created);
    assert_eq!(again.body, first.body);
    assert_eq!(again.location, first.location);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(contacts_in_db(&app), 1);
    // Without the key the same body is a new request: 409, the number is taken.
    app.post("/v1/contacts", &body)
        .assert_error(409, "conflict");
}

#[test]
fn the_same_key_with_another_body_or_path_is_422() {
    let app = TestApp::spawn();
    let key = [("Idempotency-Key", "k1")];
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    assert_eq!(
        app.post_with("/v1/contacts", &body, &key).status,
        Status::Created
    );
    let other = json!({"name": "Ravi", "phoneNumber": "+919123456789"});
    app.post_with("/v1/contacts", &other, &key)
        .assert_error(422, "idempotency_key_reused");
    app.post_with("/v1/audiences", &json!({"name": "A"}), &key)
        .assert_error(422, "idempotency_key_reused");
    assert_eq!(contacts_in_db(&app), 1);
}

#[test]
fn client_errors_are_stored_and_replayed_too() {
    let app = TestApp::spawn();
    let key = [("Idempotency-Key", "bad-one")];
    let body = json!({"name": "", "phoneNumber": "1"});
    let first = app.post_with("/v1/contacts", &body, &key);
    first.assert_error(422, "validation_failed");
    let again = app.post_with("/v1/contacts", &body, &key);
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[test]
fn keys_belong_to_one_organization() {
    let app = TestApp::spawn();
    let (_, other_key) = app.other_org();
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    assert_eq!(
        app.post_with("/v1/contacts", &body, &[("Idempotency-Key", "shared")])
            .status,
        Status::Created
    );
    let mut request = app.client.post("/v1/contacts");
    request.add_header(Header::new("x-api-key", other_key));
    request.add_header(Header::new("Idempotency-Key", "shared"));
    request.add_header(ContentType::JSON);
    request.set_body(body.to_string());
    let response = request.dispatch();
    assert_eq!(response.status(), Status::Created);
    assert_eq!(response.headers().get_one("Idempotent-Replayed"), None);
}

#[test]
fn a_malformed_key_is_400_naming_the_header() {
    let app = TestApp::spawn();
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    let long = "k".repeat(256);
    for bad in ["", "has space", long.as_str()] {
        let answer = app.post_with("/v1/contacts", &body, &[("Idempotency-Key", bad)]);
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), ["Idempotency-Key"], "{bad:?}");
    }
    assert_eq!(contacts_in_db(&app), 0);
}

#[test]
fn a_key_whose_first_request_is_still_running_is_409() {
    let app = TestApp::spawn();
    // The first request has claimed the key and not answered yet.
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    let first = app.post_with(
        "/v1/audiences",
        &json!({"name": "x"}),
        &[("Idempotency-Key", "warm")],
    );
    assert_eq!(first.status, Status::Created);
    app.sqlite()
        .execute(
            "INSERT INTO idempotency_keys (org_seq, key, fingerprint, created_at)
             SELECT org_seq, 'busy', x'00', created_at FROM idempotency_keys WHERE key = 'warm'",
            [],
        )
        .unwrap();
    let fingerprint_of_this = fingerprint("POST", "/v1/contacts", body.to_string().as_bytes());
    app.sqlite()
        .execute(
            "UPDATE idempotency_keys SET fingerprint = ?1 WHERE key = 'busy'",
            [fingerprint_of_this],
        )
        .unwrap();
    app.post_with("/v1/contacts", &body, &[("Idempotency-Key", "busy")])
        .assert_error(409, "conflict");
    assert_eq!(contacts_in_db(&app), 0);
}

/// The fingerprint the server keeps: SHA-256 of the method, the matched
/// route, the path's segments and query, and the body's SHA-256 (here the
/// route is the path itself and there is no query).
fn fingerprint(method: &str, uri: &str, body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(uri.as_bytes());
    hash.update(b"\n");
    for segment in uri.split('/').filter(|s| !s.is_empty()) {
        hash.update(segment.as_bytes());
        hash.update(b"/");
    }
    hash.update(b"?");
    hash.update(b"\n");
    hash.update(Sha256::digest(body));
    hash.finalize().to_vec()
}

#[test]
fn a_key_older_than_24_hours_is_free_again() {
    let app = TestApp::spawn();
    let body = json!({"name": "A"});
    let key = [("Idempotency-Key", "old")];
    assert_eq!(
        app.post_with("/v1/audiences", &body, &key).status,
        Status::Created
    );
    app.sqlite()
        .execute(
            "UPDATE idempotency_keys SET created_at = created_at - 86400001 WHERE key = 'old'",
            [],
        )
        .unwrap();
    let again = app.post_with("/v1/audiences", &body, &key);
    assert_eq!(again.status, Status::Created);
    assert_eq!(again.header("idempotent-replayed"), None, "it ran again");
    let audiences: i64 = app
        .sqlite()
        .query_row("SELECT count(*) FROM audiences", [], |r| r.get(0))
        .unwrap();
    assert_eq!(audiences, 2);
}

#[test]
fn a_503_is_not_stored_so_the_retry_runs() {
    let app = TestApp::spawn_with_options(
        contactsd_store::DbOptions {
            busy_timeout: std::time::Duration::from_millis(50),
            ..Default::default()
        },
        |figment| figment,
    );
    let body = json!({"name": "Priya", "phoneNumber": "+919876543210"});
    let key = [("Idempotency-Key", "retry-me")];
    let holder = app.sqlite();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    app.post_with("/v1/contacts", &body, &key)
        .assert_error(503, "unavailable");
    holder.execute_batch("ROLLBACK").unwrap();
    let retry = app.post_with("/v1/contacts", &body, &key);
    assert_eq!(retry.status, Status::Created);
    assert_eq!(retry.header("idempotent-replayed"), None);
}

#[test]
fn two_concurrent_requests_with_one_key_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.db");
    let db = contactsd_store::Db::open(&path).unwrap();
    let (_, key) = db.create_org("Acme").unwrap();
    let figment = contactsd_server::app::figment().merge(("log_level", "off"));
    rocket::execute(async move {
        let client = rocket::local::asynchronous::Client::untracked(
            contactsd_server::app::build(figment, db).expect("valid settings"),
        )
        .await
        .unwrap();
        let contacts: Vec<Value> = (0..1000)
            .map(|i| json!({"name": format!("N{i}"), "phoneNumber": format!("+1415555{:04}", i)}))
            .collect();
        let body = json!({ "contacts": contacts }).to_string();
        let send = || {
            client
                .post("/v1/contacts/bulk")
                .header(Header::new("x-api-key", key.key.clone()))
                .header(Header::new("Idempotency-Key", "once"))
                .header(ContentType::JSON)
                // As a real client sends it: the body budget reserves what
                // it declares (without it, the whole budget).
                .header(Header::new("Content-Length", body.len().to_string()))
                .body(body.clone())
                .dispatch()
        };
        let (a, b) = rocket::tokio::join!(send(), send());
        let mut outcomes = Vec::new();
        for response in [a, b] {
            let status = response.status().code;
            let replayed = response.headers().get_one("Idempotent-Replayed").is_some();
            let answer: Value =
                serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
            outcomes.push((status, replayed, answer));
        }
        outcomes.sort_by_key(|(status, replayed, _)| (*status, *replayed));
        let (first, second) = (&outcomes[0], &outcomes[1]);
        assert_eq!((first.0, first.1), (200, false), "{:?}", first.2["created"]);
        assert_eq!(first.2["created"], 1000);
        match second.0 {
            409 => assert_eq!(second.2["code"], "conflict"),
            200 => {
                assert!(second.1, "a second 200 must be a replay");
                assert_eq!(second.2, first.2);
            }
            other => panic!("unexpected {other}: {}", second.2),
        }
    });
    let count: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1000, "the batch applied once");
}

/// Every `POST` route under `/v1` claims its idempotency key: the same
/// request sent again, under any spelling of its path that reaches the same
/// route, is the stored answer replayed. A `POST` route that reads its body
/// without the `Idempotent` guard answers 500 here, so none can be missed.
#[test]
fn every_post_route_replays_under_every_spelling_of_its_path() {
    let app = TestApp::spawn();
    let posts: Vec<String> = app
        .client
        .rocket()
        .routes()
        .filter(|r| r.method == rocket::http::Method::Post)
        .map(|r| r.uri.as_str().split('?').next().unwrap().to_string())
        .filter(|path| path.starts_with("/v1/"))
        .collect();
    assert_eq!(posts.len(), 13, "{posts:?}");
    for (n, route) in posts.iter().enumerate() {
        // Path parameters become an id that exists nowhere: a 404 answer,
        // which is kept for its key like any other client error.
        let path = route.replace("<id>", "aud_none");
        let (head, last) = path.rsplit_once('/').unwrap();
        let percent = format!("{head}/%{:02X}{}", last.as_bytes()[0], &last[1..]);
        let doubled = path.replacen("/v1/", "/v1//", 1);
        let key = format!("walk-{n}");
        let body = json!({"name": "Walk"});
        let first = app.post_with(&path, &body, &[("Idempotency-Key", &key)]);
        assert!(
            first.status.code < 500,
            "{route}: {} {}",
            first.status,
            first.body
        );
        assert_eq!(first.header("idempotent-replayed"), None, "{route}");
        for spelling in [&path, &percent, &doubled] {
            let again = app.post_with(spelling, &body, &[("Idempotency-Key", &key)]);
            assert_eq!(again.status, first.status, "{route} as {spelling}");
            assert_eq!(again.body, first.body, "{route} as {spelling}");
            assert_eq!(
                again.header("idempotent-replayed"),
                Some("true"),
                "{route} as {spelling}"
            );
        }
    }
}
