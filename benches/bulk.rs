//! The bulk-write benchmark (issue 3). Run on demand:
//!
//!     cargo bench --bench bulk                 # HTTP vs raw rusqlite, 1,000 rows
//!     cargo bench --bench bulk -- --sustained  # import to 1,000,000 contacts
//!     cargo bench --bench bulk -- --sustained 1000000 --declared  # with declared indexes
//!
//! Part 1 sends 1,000 new contacts through `POST /v1/contacts/bulk` over a
//! real socket, then the same 1,000 again with new names (updates), and
//! writes the same rows directly with rusqlite in one transaction into the
//! same schema on another file, interleaved sample by sample so both see the
//! same machine and the same database sizes. It prints medians and the
//! HTTP/raw ratios.
//!
//! Part 2 imports 1,000,000 contacts through the API in 1,000-item requests
//! one after another, from an empty database, and prints the rate, the
//! per-request time at the start and the end, and the file size.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{
    batch_body, median_ms, person_name, phone_number, start_server, status_kib, Client, Raw, BATCH,
};

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn compare(samples: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&dir.path().join("http.db"));
    let mut client = Client::connect(server.port, &server.key);
    let mut raw = Raw::open(&dir.path().join("raw.db"));

    // Warm up both paths (page cache, prepared statements, allocator).
    let warm = 5_000_000;
    client.request("POST", "/v1/contacts/bulk", &batch_body(warm, ""));
    raw.insert(warm);

    let (mut http_new, mut http_upd, mut raw_new, mut raw_upd) = (vec![], vec![], vec![], vec![]);
    for s in 0..samples as u64 {
        let start = s * BATCH;
        let new_body = batch_body(start, "");
        let update_body = batch_body(start, " Jr");
        http_new.push(timed(|| {
            let (status, body) = client.request("POST", "/v1/contacts/bulk", &new_body);
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let tail = &body[body.len().saturating_sub(400)..];
            assert!(
                body.starts_with(b"{\"created\":1000,"),
                "every item must apply: {}",
                String::from_utf8_lossy(tail)
            );
        }));
        raw_new.push(timed(|| raw.insert(start)));
        http_upd.push(timed(|| {
            let (status, _) = client.request("POST", "/v1/contacts/bulk", &update_body);
            assert_eq!(status, 200);
        }));
        raw_upd.push(timed(|| raw.update(start, " Jr")));
    }
    let (hn, rn) = (median_ms(&mut http_new), median_ms(&mut raw_new));
    let (hu, ru) = (median_ms(&mut http_upd), median_ms(&mut raw_upd));
    println!("bulk upsert of {BATCH} contacts, {samples} samples each (medians)");
    println!("| operation | HTTP bulk (ms) | raw rusqlite (ms) | HTTP/raw |");
    println!("|---|---:|---:|---:|");
    println!(
        "| 1,000 new contacts | {hn:.1} | {rn:.1} | {:.2}x |",
        hn / rn
    );
    println!("| 1,000 updates | {hu:.1} | {ru:.1} | {:.2}x |", hu / ru);
    println!();
    memory(server.port, &server.key);
}

/// A 1,000-item body of about 16 MB: each item at the metadata maximum.
fn large_body(request: u64) -> Vec<u8> {
    let filler = "x".repeat(240);
    let contacts: Vec<_> = (0..BATCH)
        .map(|i| {
            let metadata: serde_json::Map<String, serde_json::Value> = (0..62)
                .map(|k| (format!("field{k:02}"), json!(filler)))
                .collect();
            json!({
                "name": person_name(i),
                "phoneNumber": phone_number(9_000_000 + request * BATCH + i),
                "metadata": metadata,
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "contacts": contacts })).unwrap()
}

/// Six concurrent 16 MB bulk requests, each on its own connection: the
/// process's resident memory before and at its peak (the server runs in
/// this process; the bodies are built before the first reading and the
/// answers are read through a small buffer).
fn memory(port: u16, key: &str) {
    const CONCURRENT: u64 = 6;
    let bodies: Vec<Vec<u8>> = (0..CONCURRENT).map(large_body).collect();
    let size_mb = bodies[0].len() as f64 / 1e6;
    // Resets the peak (VmHWM) to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS");
    let started = Instant::now();
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let key = key.to_string();
            std::thread::spawn(move || {
                let mut client = Client::connect(port, &key);
                assert_eq!(
                    client.request_status("POST", "/v1/contacts/bulk", &body),
                    200
                );
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM");
    println!("{CONCURRENT} concurrent bulk requests of {size_mb:.1} MB each ({elapsed:.1} s)");
    println!("| RSS before (MiB) | peak RSS (MiB) | growth (MiB) |");
    println!("|---:|---:|---:|");
    println!(
        "| {:.0} | {:.0} | {:.0} |",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0
    );
}

fn sustained(total: u64, declared: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("import.db");
    let server = start_server(&path);
    let mut client = Client::connect(server.port, &server.key);
    if declared {
        for field in ["name", "metadata.city"] {
            let (status, _) = client.request("PUT", &format!("/v1/indexes/{field}"), b"");
            assert_eq!(status, 201);
        }
    }
    let requests = total / BATCH;
    let mut per_request = Vec::with_capacity(requests as usize);
    let started = Instant::now();
    for r in 0..requests {
        let body = batch_body(r * BATCH, "");
        let t = Instant::now();
        let (status, _) = client.request("POST", "/v1/contacts/bulk", &body);
        per_request.push(t.elapsed());
        assert_eq!(status, 200);
        if (r + 1) % 100 == 0 {
            eprintln!(
                "  {} contacts, {:.1} s",
                (r + 1) * BATCH,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let window = (per_request.len() / 20).max(1);
    let first = median_ms(&mut per_request[..window].to_vec());
    let last = median_ms(&mut per_request[per_request.len() - window..].to_vec());
    let size: u64 = ["import.db", "import.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    let indexes = if declared {
        "with `name` and `metadata.city` declared"
    } else {
        "no declared index"
    };
    println!("sustained import of {total} contacts in {requests} requests of {BATCH}, {indexes}");
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| total time | {elapsed:.1} s |");
    println!("| rate | {:.0} contacts/s |", total as f64 / elapsed);
    println!("| median request, first 5% | {first:.1} ms |");
    println!("| median request, last 5% | {last:.1} ms |");
    println!(
        "| database file (+ WAL) | {:.0} MiB |",
        size as f64 / 1_048_576.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--sustained") {
        let total = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        sustained(total, args.iter().any(|a| a == "--declared"));
    } else {
        let samples = args
            .iter()
            .position(|a| a == "--samples")
            .and_then(|at| args.get(at + 1)?.parse().ok())
            .unwrap_or(30);
        compare(samples);
    }
}
