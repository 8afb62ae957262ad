//! What rate limiting and idempotency keys add to a request (issue 9). Run
//! on demand:
//!
//!     cargo bench --bench protection
//!
//! Two servers run in this process on loopback, each on its own fresh
//! database: one with no rate limit, one with a limit so large it never
//! refuses (so every request is counted). Requests alternate between the
//! two, one at a time on keep-alive connections, so both see the same
//! machine; it prints the medians and their differences. Idempotency keys
//! are measured on one server: `POST /v1/audiences` with a new key each
//! time against the same request without a key, alternating.

mod support;

use std::time::{Duration, Instant};

use support::{bench_figment, median_ms, start_server, start_server_with, Client};

const SAMPLES: usize = 3000;

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn contact_id(client: &mut Client) -> String {
    let (status, body) = client.request(
        "POST",
        "/v1/contacts",
        br#"{"name":"Priya Sharma","phoneNumber":"+919876543210"}"#,
    );
    assert_eq!(status, 201);
    let contact: serde_json::Value = serde_json::from_slice(&body).unwrap();
    contact["id"].as_str().unwrap().to_string()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let plain = start_server(&dir.path().join("plain.db"));
    let limited = start_server_with(
        &dir.path().join("limited.db"),
        bench_figment()
            .merge(("rate_limit_per_minute", 1_000_000_000u32))
            .merge(("bulk_rate_limit_per_minute", 1_000_000_000u32)),
    );
    let mut plain_client = Client::connect(plain.port, &plain.key);
    let mut limited_client = Client::connect(limited.port, &limited.key);
    let plain_path = format!("/v1/contacts/{}", contact_id(&mut plain_client));
    let limited_path = format!("/v1/contacts/{}", contact_id(&mut limited_client));

    let (mut without_limit, mut with_limit) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        without_limit.push(timed(|| {
            assert_eq!(plain_client.request("GET", &plain_path, b"").0, 200);
        }));
        with_limit.push(timed(|| {
            assert_eq!(limited_client.request("GET", &limited_path, b"").0, 200);
        }));
    }

    let (mut without_key, mut with_key) = (Vec::new(), Vec::new());
    let body = br#"{"name":"Callers"}"#;
    for i in 0..SAMPLES {
        without_key.push(timed(|| {
            assert_eq!(plain_client.request("POST", "/v1/audiences", body).0, 201);
        }));
        let key = format!("bench-{i}");
        with_key.push(timed(|| {
            let (status, _) = plain_client.request_with(
                "POST",
                "/v1/audiences",
                &[("Idempotency-Key", &key)],
                body,
            );
            assert_eq!(status, 201);
        }));
    }

    let rows = [
        (
            "GET /v1/contacts/:id",
            "no rate limit",
            "rate limited (never refused)",
            &mut without_limit,
            &mut with_limit,
        ),
        (
            "POST /v1/audiences",
            "no Idempotency-Key",
            "a new Idempotency-Key",
            &mut without_key,
            &mut with_key,
        ),
    ];
    println!("{SAMPLES} requests each, alternating, one at a time (medians)");
    println!("| route | without | with | without (ms) | with (ms) | added (ms) | ratio |");
    println!("|---|---|---|---:|---:|---:|---:|");
    for (route, a, b, without, with) in rows {
        let (w, x) = (median_ms(without), median_ms(with));
        println!(
            "| {route} | {a} | {b} | {w:.3} | {x:.3} | {:.3} | {:.2}x |",
            x - w,
            x / w
        );
    }
}
