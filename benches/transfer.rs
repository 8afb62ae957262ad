//! The data in and out benchmark (issue 10). Run on demand:
//!
//!     cargo bench --bench transfer            # 1,000,000 rows (about 10 minutes)
//!     cargo bench --bench transfer -- 100000  # a quicker, smaller run
//!
//! Every phase runs in this one process, on this machine, in one run, so
//! the rates can be compared with each other:
//!
//! 1. the bulk API's sustained rate: N contacts in 1,000-item requests;
//! 2. a backup of that file (`Db::backup_to`, what `contactsd backup` runs);
//! 3. 1,000 updates through the bulk API at N contacts, beside the same
//!    updates with raw rusqlite on the backup (same schema, same size),
//!    alternating; and 1,000 unchanged rows through the bulk API;
//! 4. an export of the N contacts as CSV: rows/s and the process's peak
//!    resident memory after 100,000 rows and at the end;
//! 5. an import of N rows through `POST /v1/imports/csv`, from sending the
//!    file to the final status;
//! 6. a re-import of the same file with half of the rows changed, then of
//!    the same file unchanged;
//! 7. an import of N rows through `POST /v1/imports/api/bulk`, 10,000 rows
//!    a request, from the first request to the last import's final status.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use contactsd_store::Db;
use serde_json::{json, Value};
use support::{
    batch_body, median_ms, person_name, phone_number, start_server, status_kib, Client, Raw,
    Server, BATCH,
};

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Phase 1: the bulk API's sustained rate into an empty database.
fn bulk_load(server: &Server, total: u64) -> f64 {
    let mut client = Client::connect(server.port, &server.key);
    let started = Instant::now();
    for r in 0..total / BATCH {
        let status = client.request_status("POST", "/v1/contacts/bulk", &batch_body(r * BATCH, ""));
        assert_eq!(status, 200);
        if (r + 1) % 200 == 0 {
            eprintln!(
                "  bulk: {} contacts, {:.0} s",
                (r + 1) * BATCH,
                started.elapsed().as_secs_f64()
            );
        }
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Phase 3: medians of 1,000 updates, HTTP against raw, and of 1,000
/// unchanged rows through HTTP.
fn updates(server: &Server, raw_path: &Path, total: u64, samples: u64) -> (f64, f64, f64) {
    let mut client = Client::connect(server.port, &server.key);
    let mut raw = Raw::open_existing(raw_path);
    let (mut http, mut direct, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    let stride = (total / BATCH / samples).max(1) * BATCH;
    for s in 0..samples {
        let start = (s * stride) % total;
        let suffix = format!(" v{s}");
        let body = batch_body(start, &suffix);
        let t = Instant::now();
        assert_eq!(
            client.request_status("POST", "/v1/contacts/bulk", &body),
            200
        );
        http.push(t.elapsed());
        let t = Instant::now();
        raw.update(start, &suffix);
        direct.push(t.elapsed());
        // The same body again: every row equal to the stored one.
        let t = Instant::now();
        assert_eq!(
            client.request_status("POST", "/v1/contacts/bulk", &body),
            200
        );
        unchanged.push(t.elapsed());
    }
    (
        median_ms(&mut http),
        median_ms(&mut direct),
        median_ms(&mut unchanged),
    )
}

/// Phase 4: streams the export, counting rows; rows/s, and peak RSS after
/// 100,000 rows and at the end.
fn export(server: &Server) -> (u64, f64, u64, u64, u64) {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS");
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "GET /v1/contacts/export?format=csv HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {}\r\nConnection: close\r\n\r\n",
        server.key
    )
    .unwrap();
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed in the head");
        if line == "\r\n" {
            break;
        }
    }
    // Chunked transfer: size line, data, CRLF; a zero size ends it.
    let (mut rows, mut at_100k) = (0u64, 0u64);
    let mut chunk = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        chunk.resize(size, 0);
        reader.read_exact(&mut chunk).unwrap();
        // A plain count keeps the benchmark free of the bytecount crate.
        #[allow(clippy::naive_bytecount)]
        let lines = chunk.iter().filter(|&&b| b == b'\n').count();
        rows += lines as u64;
        if at_100k == 0 && rows >= 100_001 {
            at_100k = status_kib("VmHWM");
        }
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf).unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rows = rows - 1; // the header
    (
        rows,
        rows as f64 / elapsed,
        before,
        at_100k,
        status_kib("VmHWM"),
    )
}

/// Waits for the import at `location` to be final; its status object.
fn wait_final(client: &mut Client, location: &str) -> Value {
    loop {
        let (status, body) = client.request("GET", location, b"");
        assert_eq!(status, 200);
        let body: Value = serde_json::from_slice(&body).unwrap();
        if !matches!(body["status"].as_str(), Some("PENDING" | "PROCESSING")) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn location_of(body: &[u8]) -> String {
    let accepted: Value = serde_json::from_slice(body).unwrap();
    format!(
        "/v1/imports/{}/status",
        accepted["importId"].as_str().unwrap()
    )
}

/// A CSV of `total` contacts; rows whose number `changed` picks get
/// another name.
fn csv_file(total: u64, changed: impl Fn(u64) -> bool) -> Vec<u8> {
    let mut csv = Vec::with_capacity(total as usize * 80);
    csv.extend_from_slice(b"name,phoneNumber,language,city,tier\n");
    for i in 0..total {
        let name = person_name(i);
        let name = if changed(i) {
            format!("{name} Jr")
        } else {
            name
        };
        let language = if i % 3 == 0 { "hi-IN" } else { "en-IN" };
        let city = if i % 2 == 0 { "Mumbai" } else { "Delhi" };
        writeln!(csv, "{name},{},{language},{city},premium", phone_number(i)).unwrap();
    }
    csv
}

/// Phases 5 and 6: one CSV import; rows/s and its final status.
fn csv_import(server: &Server, csv: &[u8]) -> (f64, Value) {
    let mut client = Client::connect(server.port, &server.key);
    let started = Instant::now();
    let (status, body) = client.request("POST", "/v1/imports/csv", csv);
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let done = wait_final(&mut client, &location_of(&body));
    let rate = done["total"].as_f64().unwrap() / started.elapsed().as_secs_f64();
    assert_eq!(done["status"], "COMPLETED", "{done}");
    (rate, done)
}

/// Phase 7: `total` rows through the Imports API, 10,000 a request.
fn api_import(server: &Server, total: u64) -> f64 {
    const ROWS: u64 = 10_000;
    let mut client = Client::connect(server.port, &server.key);
    let started = Instant::now();
    let mut last = String::new();
    for r in 0..total.div_ceil(ROWS) {
        let rows: Vec<Value> = (r * ROWS..((r + 1) * ROWS).min(total))
            .map(|i| {
                json!({
                    "name": person_name(i),
                    "phoneNumber": phone_number(i),
                    "language": if i % 3 == 0 { "hi-IN" } else { "en-IN" },
                    "city": if i % 2 == 0 { "Mumbai" } else { "Delhi" },
                    "tier": "premium",
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "contacts": rows })).unwrap();
        let (status, answer) = client.request("POST", "/v1/imports/api/bulk", &body);
        assert_eq!(status, 202, "{}", String::from_utf8_lossy(&answer));
        last = location_of(&answer);
    }
    let done = wait_final(&mut client, &last);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    total as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let total: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let mut table = Vec::new();

    eprintln!("1. bulk API, {total} contacts");
    let bulk_path = dir.path().join("bulk.db");
    let bulk = start_server(&bulk_path);
    let bulk_rate = bulk_load(&bulk, total);
    table.push(format!(
        "| bulk API (`POST /v1/contacts/bulk`, 1,000 a request) | {bulk_rate:.0} rows/s | 1.00x |"
    ));

    eprintln!("2. backup");
    let copy_path = dir.path().join("copy.db");
    let started = Instant::now();
    let copied = Db::open(&bulk_path).unwrap().backup_to(&copy_path).unwrap();
    let backup_s = started.elapsed().as_secs_f64();
    assert_eq!(u64::try_from(copied.contacts).unwrap(), total);

    eprintln!("3. updates at {total}");
    let (http_ms, raw_ms, unchanged_ms) = updates(&bulk, &copy_path, total, 20);

    eprintln!("4. export");
    let (rows, export_rate, rss_before, rss_100k, rss_end) = export(&bulk);
    assert_eq!(rows, total);

    eprintln!("5. CSV import");
    let csv_server = start_server(&dir.path().join("csv.db"));
    let csv = csv_file(total, |_| false);
    let csv_mb = csv.len() as f64 / 1e6;
    let (csv_rate, done) = csv_import(&csv_server, &csv);
    assert_eq!(done["created"].as_u64(), Some(total));
    table.push(format!("| CSV import (`POST /v1/imports/csv`, one {csv_mb:.0} MB file) | {csv_rate:.0} rows/s | {:.2}x |", csv_rate / bulk_rate));

    eprintln!("6. re-imports");
    let half = csv_file(total, |i| i % 2 == 0);
    let (half_rate, done) = csv_import(&csv_server, &half);
    assert_eq!(done["updated"].as_u64(), Some(total));
    table.push(format!(
        "| CSV re-import, half of the rows changed | {half_rate:.0} rows/s | {:.2}x |",
        half_rate / bulk_rate
    ));
    let (same_rate, _) = csv_import(&csv_server, &half);
    table.push(format!(
        "| CSV re-import, no row changed | {same_rate:.0} rows/s | {:.2}x |",
        same_rate / bulk_rate
    ));
    drop((csv, half));

    eprintln!("7. Imports API");
    let api_server = start_server(&dir.path().join("api.db"));
    let api_rate = api_import(&api_server, total);
    table.push(format!("| Imports API (`POST /v1/imports/api/bulk`, 10,000 a request) | {api_rate:.0} rows/s | {:.2}x |", api_rate / bulk_rate));

    println!("data in and out at {total} contacts, one run");
    println!();
    println!("| import | rate | vs bulk API |");
    println!("|---|---:|---:|");
    for line in &table {
        println!("{line}");
    }
    println!();
    println!("| 1,000 rows through the bulk API at {total} contacts (medians of 20) | HTTP (ms) | raw rusqlite (ms) | HTTP/raw |");
    println!("|---|---:|---:|---:|");
    println!(
        "| updates (new names) | {http_ms:.1} | {raw_ms:.1} | {:.2}x |",
        http_ms / raw_ms
    );
    println!(
        "| unchanged rows | {unchanged_ms:.1} | | {:.2}x of the updates |",
        unchanged_ms / http_ms
    );
    println!();
    println!("| export of {total} contacts (CSV) | value |");
    println!("|---|---:|");
    println!("| rate | {export_rate:.0} rows/s |");
    println!("| process RSS before | {:.0} MiB |", mib(rss_before));
    println!("| peak RSS after 100,000 rows | {:.0} MiB |", mib(rss_100k));
    println!("| peak RSS after {total} rows | {:.0} MiB |", mib(rss_end));
    println!(
        "| growth from 100,000 rows to the end | {:.1} MiB |",
        mib(rss_end.saturating_sub(rss_100k))
    );
    println!();
    println!("| backup of the {total}-contact file | value |");
    println!("|---|---:|");
    println!("| time | {backup_s:.1} s |");
    println!("| size | {:.0} MiB |", copied.bytes as f64 / 1_048_576.0);
}
