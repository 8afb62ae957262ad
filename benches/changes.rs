//! The changes feed as its users meet it, against the release binary:
//!
//! 1. import rate through the bulk API with the feed, against an older
//!    build (`--before BINARY`), alternating rounds on fresh databases;
//! 2. at 1,000,000 contacts: a page of 1,000 changes from a random
//!    position (p50/p99 at one connection), and a full resync from 0;
//! 3. 1,000 open streams: how long a change takes from its write to every
//!    stream (p50/p99), and the server's memory for the streams;
//! 4. a webhook subscription at 1,000 changes/s: how far the receiver is
//!    behind each acknowledged write.
//!
//! ```sh
//! cargo build --release && cargo bench --bench changes
//! cargo bench --bench changes -- --before /path/to/an/older/contactsd --streams 1000
//! cargo bench --bench changes -- --before /path/to/an/older/contactsd --import-only
//! ```
//!
//! The 1,000,000-contact database is built once under `target/bench-data/`.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio;
use serde_json::{json, Value};
use support::served::{arg, first_org, fresh_in, import_rate, key_for, percentile, Served};
use support::{phone_number, Client, Raw};

fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/changes");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fresh(name: &str) -> PathBuf {
    fresh_in(&bench_dir(), name)
}

/// The cached database of `contacts` contacts in one organization.
fn million(contacts: u64) -> PathBuf {
    let path = bench_dir().join(format!("feed-{contacts}.db"));
    if path.exists() {
        return path;
    }
    let building = fresh(&format!("feed-{contacts}.building"));
    eprintln!("building {contacts} contacts (once)...");
    let mut raw = Raw::open(&building);
    let mut start = 0;
    while start < contacts {
        raw.insert(start);
        start += 1000;
    }
    drop(raw);
    let conn = rusqlite::Connection::open(&building).unwrap();
    conn.execute_batch(
        "UPDATE organizations SET contact_count = (SELECT count(*) FROM contacts);
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    drop(conn);
    std::fs::rename(&building, &path).unwrap();
    path
}

fn main() {
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/contactsd");
    assert!(binary.exists(), "build it first: cargo build --release");
    let contacts: u64 = arg("--contacts").map_or(1_000_000, |n| n.parse().unwrap());
    let streams: usize = arg("--streams").map_or(1000, |n| n.parse().unwrap());
    let mut table = Vec::new();

    if let Some(before) = arg("--before").map(PathBuf::from) {
        let (mut now, mut then) = (Vec::new(), Vec::new());
        for round in 0..3 {
            now.push(import_rate(
                &binary,
                100_000,
                &fresh(&format!("import-now-{round}")),
            ));
            then.push(import_rate(
                &before,
                100_000,
                &fresh(&format!("import-before-{round}")),
            ));
            eprintln!(
                "round {round}: this build {:.0} rows/s, before {:.0} rows/s",
                now[round], then[round]
            );
        }
        let (a, b) = (percentile(&mut now, 50.0), percentile(&mut then, 50.0));
        table.push(format!("| import, bulk API, 100,000 contacts, this build | {a:.0} rows/s | {:.2}x of before ({b:.0}) |", a / b));
        // `--import-only`: the import rates alone.
        if std::env::args().any(|a| a == "--import-only") {
            for row in table {
                println!("{row}");
            }
            return;
        }
    }

    // The feed at a million contacts.
    let cached = million(contacts);
    let database = fresh("feed-run");
    std::fs::copy(&cached, &database).unwrap();
    let org_id = first_org(&binary, &database);
    let key = key_for(&binary, &database, &org_id);
    let served = Served::start(
        &binary,
        &database,
        &[("ROCKET_WEBHOOK_ALLOW_PRIVATE", "true")],
    );
    let mut client = Client::connect(served.port, &key);
    let latest = {
        let (_, body) = client.request("GET", "/v1/changes?limit=1", b"");
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert!(page["hasMore"].as_bool().unwrap());
        i64::try_from(contacts).unwrap()
    };
    let mut pages = Vec::new();
    let mut state: u64 = 7;
    for _ in 0..300 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let since = i64::try_from(state >> 33).unwrap() % (latest - 1000).max(1);
        let started = Instant::now();
        let (status, body) =
            client.request("GET", &format!("/v1/changes?since={since}&limit=1000"), b"");
        pages.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        assert!(body.len() > 100_000);
    }
    let (p50, p99) = (percentile(&mut pages, 50.0), percentile(&mut pages, 99.0));
    table.push(format!("| a page of 1,000 changes at {contacts} contacts, one connection | p50 {p50:.1} ms | p99 {p99:.1} ms |"));
    let started = Instant::now();
    let (mut since, mut seen) = (0i64, 0usize);
    loop {
        let (_, body) =
            client.request("GET", &format!("/v1/changes?since={since}&limit=1000"), b"");
        let page: Value = serde_json::from_slice(&body).unwrap();
        seen += page["data"].as_array().unwrap().len();
        since = page["lastSeq"].as_i64().unwrap();
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
    }
    let rate = seen as f64 / started.elapsed().as_secs_f64();
    table.push(format!("| full resync from since=0 ({seen} changes, pages of 1,000) | {rate:.0} changes/s | {:.1} s |", started.elapsed().as_secs_f64()));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Open streams, then writes: from each write to each stream.
    let (p50, p99, rss) = runtime.block_on(stream_latency(&served, &key, streams, latest));
    table.push(format!("| a change reaching {streams} open streams (20 writes/s), from write to event | p50 {p50:.1} ms | p99 {p99:.1} ms |"));
    table.push(format!(
        "| the server's memory for {streams} open streams | +{:.1} MiB | |",
        rss as f64 / 1024.0
    ));
    let (p50, p99, max) = runtime.block_on(webhook_lag(&served, &key));
    table.push(format!("| webhook receiver behind each acknowledged write, 1,000 changes/s for 10 s | p50 {p50:.0} ms, p99 {p99:.0} ms | max {max:.0} ms |"));

    println!(
        "\nchanges feed, release binary, {} cores\n",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("| measure | result | |\n|---|---:|---:|");
    for row in table {
        println!("{row}");
    }
}

/// Opens `streams` SSE connections from now on, then makes 100 contacts
/// at 20 a second; each event's delay from its write, and the server's
/// RSS growth (KiB) with the streams open.
async fn stream_latency(
    served: &Served,
    key: &str,
    streams: usize,
    latest: i64,
) -> (f64, f64, u64) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let delays: Arc<Mutex<Vec<f64>>> = Arc::default();
    let before = served.rss_kib();
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<()>(streams);
    for _ in 0..streams {
        let (sent, delays, key, opened) = (
            Arc::clone(&sent),
            Arc::clone(&delays),
            key.to_string(),
            opened_tx.clone(),
        );
        let port = served.port;
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let request = format!("GET /v1/changes/stream?since={latest}&types=contact HTTP/1.0\r\nx-api-key: {key}\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut lines = tokio::io::BufReader::new(stream).lines();
            let mut told = false;
            while let Ok(Some(line)) = lines.next_line().await {
                if !told && line.is_empty() {
                    let _ = opened.send(()).await;
                    told = true;
                }
                if let Some(data) = line.strip_prefix("data:") {
                    let change: Value = serde_json::from_str(data.trim()).unwrap();
                    let phone = change["object"]["phoneNumber"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let at = sent.lock().unwrap().get(&phone).copied();
                    if let Some(at) = at {
                        delays
                            .lock()
                            .unwrap()
                            .push(at.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            }
        });
    }
    for _ in 0..streams {
        opened_rx.recv().await.unwrap();
    }
    let grown = served.rss_kib().saturating_sub(before);
    let port = served.port;
    let key = key.to_string();
    let writer_sent = Arc::clone(&sent);
    tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(port, &key);
        for i in 0..100u64 {
            let phone = phone_number(5_000_000 + i);
            writer_sent
                .lock()
                .unwrap()
                .insert(phone.clone(), Instant::now());
            let body = json!({"name": format!("Stream {i}"), "phoneNumber": phone}).to_string();
            let (status, _) = client.request("POST", "/v1/contacts", body.as_bytes());
            assert_eq!(status, 201);
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    // Let the last events arrive.
    let expected = 100 * streams;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delays.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut delays = delays.lock().unwrap().clone();
    assert!(
        delays.len() >= expected,
        "{} of {expected} events",
        delays.len()
    );
    (
        percentile(&mut delays, 50.0),
        percentile(&mut delays, 99.0),
        grown,
    )
}

/// A subscription to a local receiver while 100 contacts are made every
/// 100 ms for 10 s: how long after each write was acknowledged the
/// receiver got it (p50, p99, max, in ms).
async fn webhook_lag(served: &Served, key: &str) -> (f64, f64, f64) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/in",
        listener.local_addr().unwrap().port()
    );
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let inbox = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let inbox = Arc::clone(&inbox);
            tokio::spawn(async move {
                let mut reader = tokio::io::BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    let batch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    {
                        let mut inbox = inbox.lock().unwrap();
                        for change in batch["changes"].as_array().into_iter().flatten() {
                            if let Some(phone) = change["object"]["phoneNumber"].as_str() {
                                inbox.entry(phone.to_string()).or_insert(now);
                            }
                        }
                    }
                    let _ = reader
                        .get_mut()
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .await;
                }
            });
        }
    });
    let port = served.port;
    let key = key.to_string();
    let acked: HashMap<String, Instant> = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(port, &key);
        let (status, body) = client.request(
            "POST",
            "/v1/webhooks",
            json!({"url": url, "types": ["contact"]})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let mut acked = HashMap::new();
        let started = Instant::now();
        for round in 0..100u64 {
            let first = 6_000_000 + round * 100;
            let rows: Vec<Value> = (first..first + 100)
                .map(|i| json!({"name": format!("Hook {i}"), "phoneNumber": phone_number(i)}))
                .collect();
            let (status, _) = client.request(
                "POST",
                "/v1/contacts/bulk",
                json!({"contacts": rows}).to_string().as_bytes(),
            );
            assert_eq!(status, 200);
            let at = Instant::now();
            for i in first..first + 100 {
                acked.insert(phone_number(i), at);
            }
            let next = started + Duration::from_millis(100 * (round + 1));
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        acked
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.lock().unwrap().len() < acked.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = received.lock().unwrap();
    assert_eq!(received.len(), acked.len(), "every change delivered");
    let mut lags: Vec<f64> = acked
        .iter()
        .map(|(phone, at)| received[phone].saturating_duration_since(*at).as_secs_f64() * 1000.0)
        .collect();
    let max = lags.iter().copied().fold(0.0, f64::max);
    (
        percentile(&mut lags, 50.0),
        percentile(&mut lags, 99.0),
        max,
    )
}
