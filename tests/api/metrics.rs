//! `GET /metrics`: off unless enabled, Prometheus' text format, labels
//! that never carry a key, an id or a search term; on an address of its
//! own with `metrics_address`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rocket::http::Method;
use serde_json::{json, Value};

use crate::helpers::{contactsd, serve_with, TestApp};

/// The value of the sample `series` (name and labels), as printed:
/// counters and the gauges here are whole numbers.
fn sample<'t>(text: &'t str, series: &str) -> Option<&'t str> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(str::trim)
}

fn scrape(app: &TestApp) -> String {
    let answer = app.client.get("/metrics").dispatch();
    assert_eq!(answer.status().code, 200);
    assert_eq!(
        answer.headers().get_one("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    answer.into_string().unwrap()
}

#[test]
fn metrics_are_not_served_unless_enabled() {
    let app = TestApp::spawn();
    let answer = app.send(Method::Get, "/metrics", None, None);
    answer.assert_error(404, "not_found");
}

#[test]
fn requests_are_counted_by_route_template_and_no_value_is_a_label() {
    let app = TestApp::spawn_with(|figment| {
        figment
            .merge(("metrics", true))
            .merge(("rate_limit_per_minute", 5))
    });
    let contact = app.create_contact("Secretname Person", "+14155550101");
    let id = contact["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/contacts/{id}")).status.code, 200);
    app.get("/v1/contacts/ct_NoSuchContactHere00")
        .assert_error(404, "not_found");
    assert_eq!(app.get("/v1/contacts?search=zebrafish").status.code, 200);
    assert_eq!(app.get("/v1/contacts").status.code, 200);
    app.get("/v1/contacts").assert_error(429, "rate_limited");

    let text = scrape(&app);
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(
        count(
            r#"contactsd_http_requests_total{method="GET",route="/v1/contacts/<id>",status="200"}"#
        ),
        "1"
    );
    assert_eq!(
        count(
            r#"contactsd_http_requests_total{method="GET",route="/v1/contacts/<id>",status="404"}"#
        ),
        "1"
    );
    assert_eq!(
        count(r#"contactsd_http_requests_total{method="POST",route="/v1/contacts",status="201"}"#),
        "1"
    );
    assert_eq!(
        count(
            r#"contactsd_http_request_duration_seconds_count{method="GET",route="/v1/contacts/<id>"}"#
        ),
        "2"
    );
    assert_eq!(
        count(r#"contactsd_rate_limited_total{limit="general"}"#),
        "1"
    );
    assert_eq!(count(r#"contactsd_rate_limited_total{limit="bulk"}"#), "0");
    assert!(count("contactsd_database_bytes").parse::<u64>().unwrap() > 0);
    assert_eq!(count("contactsd_imports_unfinished"), "0");
    assert_eq!(count("contactsd_http_stalled_bodies_total"), "0");
    assert!(text.contains("# TYPE contactsd_http_request_duration_seconds histogram"));
    for secret in [
        id,
        "ct_NoSuchContactHere00",
        "zebrafish",
        "Secretname",
        &app.key,
        &app.org_id,
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
}

#[test]
fn webhook_attempts_are_counted_by_outcome() {
    let app = TestApp::spawn_with(|figment| figment.merge(("metrics", true)));
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"webhookUrl": "http://127.0.0.1:9/hook", "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    let location = accepted.location.clone().unwrap();
    // The attempt is counted before it is recorded in the status.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: Value = app.get(&location).body;
        if status["webhook"]["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        assert!(Instant::now() < deadline, "no attempt: {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = scrape(&app);
    assert_eq!(
        sample(
            &text,
            r#"contactsd_webhook_attempts_total{outcome="failed"}"#
        ),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"contactsd_webhook_attempts_total{outcome="delivered"}"#
        ),
        Some("0")
    );
}

/// One request on `stream`, kept alive: the whole answer, read by its
/// `content-length`.
fn request_kept_alive(stream: &mut TcpStream, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed early");
        text.extend_from_slice(&chunk[..n]);
        let so_far = String::from_utf8_lossy(&text).into_owned();
        if let Some((head, body)) = so_far.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            if body.len() >= length {
                return so_far;
            }
        }
    }
}

fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text.split_once("\r\n\r\n").unwrap().1.to_string())
}

#[test]
fn metrics_address_serves_them_apart_with_connections_and_slow_heads() {
    let dir = tempfile::tempdir().unwrap();
    assert!(contactsd(dir.path(), &["org", "create", "A"])
        .output()
        .unwrap()
        .status
        .success());
    let server = serve_with(
        dir.path(),
        &["serve"],
        &[
            ("ROCKET_METRICS_ADDRESS", "127.0.0.1:0"),
            ("ROCKET_HEADER_READ_TIMEOUT", "1"),
            ("ROCKET_KEEP_ALIVE", "120"),
        ],
    );
    let metrics_port: u16 = server
        .output
        .iter()
        .find_map(|line| {
            let rest = line.split("metrics on http://127.0.0.1:").nth(1)?;
            rest.strip_suffix("/metrics")?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no metrics line: {:#?}", server.output));
    assert_ne!(metrics_port, server.port);

    // Not on the API's address; nothing but /metrics on its own.
    let (status, body) = get(server.port, "/metrics");
    assert_eq!(status, 404, "{body}");
    let (status, body) = get(metrics_port, "/v1/contacts");
    assert_eq!(status, 404);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "not_found");

    // A kept-alive connection, answered once, is open.
    let mut kept = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert!(request_kept_alive(&mut kept, "/healthz").starts_with("HTTP/1.1 200"));
    // A head that never ends is closed after a second.
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x").unwrap();
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).unwrap();

    let (status, text) = get(metrics_port, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        sample(&text, "contactsd_http_slow_heads_total"),
        Some("1"),
        "{text}"
    );
    assert!(
        sample(&text, "contactsd_http_connections_open")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"contactsd_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        Some("1"),
        "{text}"
    );
    drop(kept);
}
