//! Webhook subscriptions to the changes feed (CONTRACT.md, "Changes
//! feed"): the `/v1/webhooks` routes, and deliveries to a real receiver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use rocket::http::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn keys_of(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn subscriptions_are_created_read_paused_and_deleted() {
    let app = TestApp::spawn();
    app.create_contact("A", "+14155550301");
    let latest = app.get("/v1/changes").body["lastSeq"].as_i64().unwrap();
    let created = app.post(
        "/v1/webhooks",
        &json!({"url": "https://crm.example.com/in", "types": ["contact"], "description": "CRM"}),
    );
    assert_eq!(created.status.code, 201, "{}", created.body);
    let body = &created.body;
    assert_eq!(
        keys_of(body),
        [
            "createdAt",
            "description",
            "id",
            "lastSeq",
            "secret",
            "status",
            "types",
            "updatedAt",
            "url"
        ]
    );
    let id = body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_"), "{id}");
    assert!(body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(body["status"], "active");
    assert_eq!(body["types"], json!(["contact"]));
    assert_eq!(body["lastSeq"], latest, "it starts at the current change");
    assert_eq!(
        created.location.as_deref(),
        Some(format!("/v1/webhooks/{id}").as_str())
    );

    // The secret is shown once.
    let read = app.get(&format!("/v1/webhooks/{id}"));
    assert_eq!(read.status.code, 200);
    assert!(read.body.get("secret").is_none(), "{}", read.body);
    let listed = app.get("/v1/webhooks").body;
    assert_eq!(listed["total"], 1);
    assert!(listed["data"][0].get("secret").is_none());

    let paused = app.patch(
        &format!("/v1/webhooks/{id}"),
        &json!({"status": "paused", "types": ["contact", "call"]}),
    );
    assert_eq!(paused.status.code, 200, "{}", paused.body);
    assert_eq!(
        (paused.body["status"].as_str(), paused.body["types"].clone()),
        (Some("paused"), json!(["contact", "call"]))
    );
    for (patch, field) in [
        (json!({"status": "disabled"}), "status"),
        (json!({"url": "mailto:x@example.com"}), "url"),
        (json!({"types": ["person"]}), "types"),
        (json!({"lastSeq": 0}), "lastSeq"),
    ] {
        let refused = app.patch(&format!("/v1/webhooks/{id}"), &patch);
        refused.assert_error(422, "validation_failed");
        assert_eq!(refused.detail_fields(), [field], "{patch}");
    }
    app.post("/v1/webhooks", &json!({"url": "not a url"}))
        .assert_error(422, "validation_failed");
    app.post("/v1/webhooks", &json!({"types": ["contact"]}))
        .assert_error(422, "validation_failed");

    // Another organization sees none of it.
    let (_, other) = app.other_org();
    let theirs = app.send(
        Method::Get,
        &format!("/v1/webhooks/{id}"),
        Some(&other),
        None,
    );
    theirs.assert_error(404, "not_found");

    assert_eq!(
        app.delete(&format!("/v1/webhooks/{id}")).body,
        json!({"success": true})
    );
    app.get(&format!("/v1/webhooks/{id}"))
        .assert_error(404, "not_found");
}

/// A webhook receiver on 127.0.0.1: answers each request with the next
/// status of `statuses` (then 200), keeps connections alive, and sends
/// every request's signature header and body to the test.
fn receiver(statuses: Vec<u16>) -> (String, Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    let (sent, received) = channel();
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(statuses.into_iter()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (sent, statuses) = (sent.clone(), std::sync::Arc::clone(&statuses));
            std::thread::spawn(move || serve_connection(stream, &sent, &statuses));
        }
    });
    (url, received)
}

fn serve_connection(
    stream: TcpStream,
    sent: &std::sync::mpsc::Sender<(String, Value)>,
    statuses: &std::sync::Mutex<std::vec::IntoIter<u16>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut signature = String::new();
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "x-contactsd-signature" => signature = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let status = statuses.lock().unwrap().next().unwrap_or(200);
        let _ = sent.send((signature, serde_json::from_slice(&body).unwrap()));
        let _ = write!(writer, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok");
    }
}

/// Checks `t=…,v1=…` against `secret` with openssl, as a receiver would.
fn signed_by(secret: &str, signature: &str, body: &Value) -> bool {
    let (t, v1) = signature
        .split_once(',')
        .map(|(t, v1)| (t.trim_start_matches("t="), v1.trim_start_matches("v1=")))
        .unwrap();
    let mut openssl = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let text = format!("{t}.{}", serde_json::to_string(body).unwrap());
    openssl
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = String::from_utf8(openssl.wait_with_output().unwrap().stdout).unwrap();
    out.trim().ends_with(v1)
}

/// The next delivery, waiting at most a minute (the first retry is due
/// 5 s after a failure).
fn next(received: &Receiver<(String, Value)>) -> (String, Value) {
    received
        .recv_timeout(Duration::from_secs(60))
        .expect("a delivery")
}

#[test]
fn a_failed_delivery_is_sent_again_then_everything_follows_in_order() {
    let app = TestApp::spawn_with(|figment| figment.merge(("webhook_allow_private", true)));
    let (url, received) = receiver(vec![500]);
    let created = app.post("/v1/webhooks", &json!({"url": url})).body;
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let first = app.create_contact("A", "+14155550311");

    // Answered 500: the same first change comes again.
    let (signature, refused) = next(&received);
    assert!(signed_by(secret, &signature, &refused), "{signature}");
    assert_eq!(refused["webhookId"], id);
    assert_eq!(refused["changes"][0]["id"], first["id"]);
    let (_, again) = next(&received);
    assert_eq!(again["changes"][0], refused["changes"][0]);

    // Then everything, in order, acknowledged (no change skipped).
    let mut ids: Vec<String> = Vec::new();
    for i in 0..150 {
        ids.push(
            app.create_contact(&format!("P{i}"), &format!("+1415555{:04}", 2000 + i))["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut delivered: Vec<Value> = again["changes"].as_array().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered.last().map(|c| c["id"].as_str().unwrap()) != ids.last().map(String::as_str) {
        assert!(Instant::now() < deadline, "not everything arrived");
        let (signature, batch) = next(&received);
        assert!(signed_by(secret, &signature, &batch));
        let changes = batch["changes"].as_array().unwrap();
        assert!(changes.len() <= 100);
        delivered.extend(changes.iter().cloned());
    }
    // Deliveries are at least once: a batch whose answer came too late
    // (a loaded machine) is sent again, and never a change out of order.
    let seqs: Vec<i64> = delivered
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    for i in 1..seqs.len() {
        // A step back is a batch sent again from a change delivered before.
        assert!(
            seqs[i] > seqs[i - 1] || seqs[..i].contains(&seqs[i]),
            "{seqs:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    let got: Vec<&str> = delivered
        .iter()
        .filter(|c| seen.insert(c["seq"].as_i64().unwrap()))
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let mut want = vec![first["id"].as_str().unwrap()];
    want.extend(ids.iter().map(String::as_str));
    assert_eq!(got, want);
    // The position is the last change acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let webhook = app.get(&format!("/v1/webhooks/{id}")).body;
        if webhook["lastSeq"] == *seqs.last().unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "{webhook}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn deliveries_to_a_private_address_are_refused_unless_allowed() {
    let app = TestApp::spawn();
    let (url, received) = receiver(vec![]);
    let created = app
        .post("/v1/webhooks", &json!({"url": url, "types": ["contact"]}))
        .body;
    let id = created["id"].as_str().unwrap().to_string();
    app.create_contact("A", "+14155550321");
    let deadline = Instant::now() + Duration::from_secs(60);
    let error: String = loop {
        let error: Option<String> = app
            .sqlite()
            .query_row(
                "SELECT last_error FROM webhooks WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        if let Some(error) = error {
            break error;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(error.contains("webhook_allow_private"), "{error}");
    assert!(received.try_recv().is_err(), "nothing reached the receiver");
    assert_eq!(
        app.get(&format!("/v1/webhooks/{id}")).body["lastSeq"],
        created["lastSeq"]
    );
}

#[test]
fn changes_of_other_kinds_move_the_position_without_a_call() {
    let app = TestApp::spawn_with(|figment| figment.merge(("webhook_allow_private", true)));
    let (url, received) = receiver(vec![]);
    let created = app
        .post("/v1/webhooks", &json!({"url": url, "types": ["call"]}))
        .body;
    let id = created["id"].as_str().unwrap().to_string();
    let contact = app.create_contact("A", "+14155550331");
    let call = app
        .post(
            "/v1/calls",
            &json!({"contactId": contact["id"], "status": "completed"}),
        )
        .body;
    let (_, batch) = next(&received);
    assert_eq!(batch["changes"].as_array().unwrap().len(), 1);
    assert_eq!(batch["changes"][0]["id"], call["id"]);
    let latest = app.get("/v1/changes").body["lastSeq"].clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.get(&format!("/v1/webhooks/{id}")).body["lastSeq"] != latest {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn delivery_state_survives_a_restart_of_the_server() {
    use crate::helpers::{contactsd, http, serve_with};
    let dir = tempfile::tempdir().unwrap();
    let made = contactsd(dir.path(), &["org", "create", "A"])
        .output()
        .unwrap();
    let key = serde_json::from_slice::<Value>(&made.stdout).unwrap()["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let env = [("ROCKET_WEBHOOK_ALLOW_PRIVATE", "true")];
    let (url, received) = receiver(vec![500]);
    let first = {
        let server = serve_with(dir.path(), &["serve"], &env);
        let body = json!({"url": url}).to_string();
        assert_eq!(
            http(server.port, "POST", "/v1/webhooks", Some(&key), &body).0,
            201
        );
        let body = json!({"name": "A", "phoneNumber": "+14155550341"}).to_string();
        let (_, contact) = http(server.port, "POST", "/v1/contacts", Some(&key), &body);
        // The first attempt is refused (500); the server is killed before
        // its retry is due.
        let (_, refused) = next(&received);
        assert_eq!(refused["changes"][0]["id"], contact["id"]);
        contact
    };
    // Started again, it retries the same change from the stored position.
    let server = serve_with(dir.path(), &["serve"], &env);
    let (_, again) = next(&received);
    assert_eq!(again["changes"][0]["id"], first["id"]);
    let body = json!({"name": "B", "phoneNumber": "+14155550342"}).to_string();
    let (_, second) = http(server.port, "POST", "/v1/contacts", Some(&key), &body);
    let (_, then) = next(&received);
    assert_eq!(then["changes"][0]["id"], second["id"]);
}
