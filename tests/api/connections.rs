//! Slow and malformed clients, over real sockets against the real binary
//! (CONTRACT.md "Connections (round 3)"): heads and bodies that stop
//! arriving, idle connections, and requests the HTTP layer refuses.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{contactsd, http, serve_with, Server};

/// A read bound, so a test that would otherwise hang fails instead: the
/// timeouts under test are 1 to 2 s, this is far above them.
const READ_BOUND: Duration = Duration::from_secs(30);

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(READ_BOUND)).unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut text = Vec::new();
    stream
        .read_to_end(&mut text)
        .expect("the server closes the connection (not the read bound)");
    String::from_utf8_lossy(&text).into_owned()
}

/// A response's status and JSON body.
fn answer(text: &str) -> (u16, Value) {
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Two organizations' keys and a server with `env` on their database.
fn two_orgs(dir: &std::path::Path, env: &[(&str, &str)]) -> (Server, String, String) {
    let key = |name: &str| {
        let output = contactsd(dir, &["org", "create", name]).output().unwrap();
        let org: Value = serde_json::from_slice(&output.stdout).unwrap();
        org["apiKey"].as_str().unwrap().to_string()
    };
    let (a, b) = (key("A"), key("B"));
    (serve_with(dir, &["serve"], env), a, b)
}

#[test]
fn a_request_head_that_stops_arriving_is_closed_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        dir.path(),
        &["serve"],
        &[("ROCKET_HEADER_READ_TIMEOUT", "1")],
    );
    let mut slow = connect(server.port);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .unwrap();
    assert_eq!(http(server.port, "GET", "/healthz", None, "").0, 200);
    assert_eq!(read_until_closed(&mut slow), "", "closed without an answer");
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(dir.path(), &["serve"], &[("ROCKET_KEEP_ALIVE", "1")]);
    let mut stream = connect(server.port);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let text = read_until_closed(&mut stream);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#"{"status":"ok"}"#), "{text}");
}

#[test]
fn requests_the_http_parser_refuses_are_answered_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(dir.path(), &["serve"], &[]);
    let long_line = format!(
        "GET /v1/contacts?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    let mut many_headers = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..80 {
        let _ = write!(many_headers, "X-Filler-{i}: {}\r\n", "b".repeat(1000));
    }
    many_headers.push_str("\r\n");
    for (request, status, code) in [
        (long_line.as_str(), 414, "uri_too_long"),
        (many_headers.as_str(), 431, "headers_too_large"),
        ("GARBAGE\r\n\r\n", 400, "bad_request"),
        ("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "bad_request"),
    ] {
        let mut stream = connect(server.port);
        stream.write_all(request.as_bytes()).unwrap();
        let text = read_until_closed(&mut stream);
        let (got, body) = answer(&text);
        assert_eq!(got, status, "{text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{text}"
        );
        assert_eq!(body["statusCode"], status, "{text}");
        assert_eq!(body["code"], code, "{text}");
        assert!(body["message"].is_string(), "{text}");
    }
    assert_eq!(http(server.port, "GET", "/healthz", None, "").0, 200);
}

#[test]
fn a_body_that_stops_arriving_is_408_and_other_organizations_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (server, a, b) = two_orgs(dir.path(), &[("ROCKET_BODY_READ_TIMEOUT", "1")]);
    // Organization A declares the largest body and sends 14 bytes of it.
    let mut stalled = connect(server.port);
    write!(
        stalled,
        "POST /v1/contacts/bulk HTTP/1.1\r\nHost: x\r\nx-api-key: {a}\r\n\
         Content-Type: application/json\r\nContent-Length: 20971520\r\n\r\n{{\"contacts\": ["
    )
    .unwrap();
    // Organization B's bodies are read meanwhile.
    let (status, body) = http(
        server.port,
        "POST",
        "/v1/contacts",
        Some(&b),
        r#"{"name":"Bee","phoneNumber":"+14155552671"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let text = read_until_closed(&mut stalled);
    let (status, body) = answer(&text);
    assert_eq!(status, 408, "{text}");
    assert_eq!(body["code"], "request_timeout", "{text}");
    // A's share of the budget came back with the 408.
    let (status, body) = http(
        server.port,
        "POST",
        "/v1/contacts",
        Some(&a),
        r#"{"name":"Ay","phoneNumber":"+14155552672"}"#,
    );
    assert_eq!(status, 201, "{body}");
}
