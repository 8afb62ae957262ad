//! Do-not-call lists and calling hours at scale, against the release
//! binary:
//!
//! 1. import rate through the bulk API, against an older build
//!    (`--before BINARY`, the build before migration 14), alternating
//!    rounds on fresh databases;
//! 2. `contactsd dnc import` of 1,000,000 numbers into a new organization;
//! 3. at 1,000,000 contacts (80% Indian, 10% US, 10% UK mobiles) with
//!    100,000 numbers on the list (half of them contacts' numbers, of all
//!    three countries): the
//!    first start after the upgrade (migration 14 and the zone sets), page 1
//!    of `callable=true` at four moments of the day, with a search, and a
//!    contact's callability, each at one connection (p50/p99).
//!
//! ```sh
//! cargo build --release && cargo bench --bench callable -- --before /path/to/an/older/contactsd
//! ```
//!
//! `--import-only` stops after the import rates; `--samples N` (default
//! 300) sets the requests per page measure.
//!
//! It starts from the changes benchmark's cached 1,000,000-contact database
//! (`target/bench-data/changes/feed-1000000.db`, built once by
//! `cargo bench --bench changes`).

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use support::served::{
    arg, first_org, fresh_in, import_rate, key_for, new_key, percentile, Served,
};
use support::{phone_number, Client};

fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/callable");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fresh(name: &str) -> PathBuf {
    fresh_in(&bench_dir(), name)
}

/// `contactsd dnc import` of the numbers `numbers` yields, in numbers/s.
fn dnc_import(
    binary: &Path,
    database: &Path,
    org: &str,
    numbers: impl Iterator<Item = String>,
) -> (f64, Value) {
    let file = bench_dir().join("dnc-numbers.txt");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let mut count = 0u64;
    for number in numbers {
        writeln!(out, "{number}").unwrap();
        count += 1;
    }
    out.flush().unwrap();
    drop(out);
    let started = Instant::now();
    let output = Command::new(binary)
        .args(["--database", database.to_str().unwrap(), "dnc", "import"])
        .arg(&file)
        .args(["--org", org])
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    (count as f64 / seconds, printed)
}

/// p50 and p99 in ms of `samples` GETs of `path(i)`.
fn timed(client: &mut Client, samples: usize, path: impl Fn(usize) -> String) -> (f64, f64) {
    let mut ms = Vec::with_capacity(samples);
    for i in 0..samples {
        let uri = path(i);
        let started = Instant::now();
        let (status, body) = client.request("GET", &uri, b"");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
    }
    (percentile(&mut ms, 50.0), percentile(&mut ms, 99.0))
}

fn main() {
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/contactsd");
    assert!(binary.exists(), "build it first: cargo build --release");
    let samples: usize = arg("--samples").map_or(300, |n| n.parse().unwrap());
    let mut table = vec![
        String::from("| measure | result |"),
        String::from("|---|---:|"),
    ];

    if let Some(before) = arg("--before").map(PathBuf::from) {
        let (mut now, mut then) = (Vec::new(), Vec::new());
        // Five rounds, the first of each pair alternating: on this shared
        // machine whichever runs first in a pair tends to be faster.
        for round in 0..5 {
            let run_now = || import_rate(&binary, 100_000, &fresh(&format!("import-now-{round}")));
            let run_then =
                || import_rate(&before, 100_000, &fresh(&format!("import-before-{round}")));
            if round % 2 == 0 {
                now.push(run_now());
                then.push(run_then());
            } else {
                then.push(run_then());
                now.push(run_now());
            }
            eprintln!(
                "round {round}: this build {:.0} rows/s, before {:.0} rows/s",
                now[round], then[round]
            );
        }
        // Rounds are pairs run back to back: the median of the pairs'
        // ratios, beside the medians of each build's rates.
        let mut ratios: Vec<f64> = now.iter().zip(&then).map(|(a, b)| a / b).collect();
        let ratio = percentile(&mut ratios, 50.0);
        let (a, b) = (percentile(&mut now, 50.0), percentile(&mut then, 50.0));
        table.push(format!(
            "| import, bulk API, 100,000 contacts, 5 paired rounds | {a:.0} rows/s against {b:.0} (medians); {ratio:.2}x of before (median of the rounds' ratios) |"
        ));
    }

    if std::env::args().any(|a| a == "--import-only") {
        println!("\n{}", table.join("\n"));
        return;
    }

    // 1,000,000 numbers onto an empty organization's list.
    {
        let database = fresh("dnc-million");
        new_key(&binary, &database);
        let org = first_org(&binary, &database);
        let (rate, printed) = dnc_import(
            &binary,
            &database,
            &org,
            (0..1_000_000u64).map(|i| phone_number(i + 5_000_000)),
        );
        eprintln!("dnc import of 1,000,000: {printed}");
        table.push(format!(
            "| `dnc import`, 1,000,000 numbers, new organization | {rate:.0} numbers/s |"
        ));
    }

    // The changes benchmark's million contacts, upgraded by this build.
    let cached =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/changes/feed-1000000.db");
    assert!(
        cached.exists(),
        "run `cargo bench --bench changes` once first"
    );
    let database = fresh("callable-run");
    std::fs::copy(&cached, &database).unwrap();
    let started = Instant::now();
    let org = first_org(&binary, &database);
    table.push(format!(
        "| first start after the upgrade: migrations 14 and 15, 1,000,000 zone sets | {:.1} s |",
        started.elapsed().as_secs_f64()
    ));
    // 100,000 numbers of the first 2,000,000 of the sequence, spread over
    // it (7,919 is prime to 2,000,000), so half are contacts' numbers, of
    // every country alike.
    let (rate, printed) = dnc_import(
        &binary,
        &database,
        &org,
        (0..100_000u64).map(|k| phone_number(k * 7_919 % 2_000_000)),
    );
    eprintln!("dnc import of 100,000 onto 1M contacts: {printed}");
    table.push(format!(
        "| `dnc import`, 100,000 numbers onto 1,000,000 contacts | {rate:.0} numbers/s |"
    ));

    let key = key_for(&binary, &database, &org);
    let served = Served::start(&binary, &database, &[]);
    let mut client = Client::connect(served.port, &key);

    // Monday 7 December 2026: who is inside 09:00-21:00 differs by hour.
    for (at, who) in [
        ("2026-12-07T06:00:00Z", "India"),
        ("2026-12-07T14:00:00Z", "India, UK"),
        ("2026-12-07T18:00:00Z", "UK, US"),
        ("2026-12-07T23:00:00Z", "US"),
    ] {
        let uri = format!(
            "/v1/contacts?callable=true&callableAt={}",
            at.replace(':', "%3A")
        );
        let (_, body) = client.request("GET", &uri, b"");
        let total = serde_json::from_slice::<Value>(&body).unwrap()["total"].clone();
        let (p50, p99) = timed(&mut client, samples, |_| uri.clone());
        table.push(format!(
            "| `callable=true` page 1 at {at} ({who} inside; total {total}) | p50 {p50:.2} ms, p99 {p99:.2} ms |"
        ));
        let searched = format!("{uri}&search=pri");
        let (_, body) = client.request("GET", &searched, b"");
        let total = serde_json::from_slice::<Value>(&body).unwrap()["total"].clone();
        let (p50, p99) = timed(&mut client, samples, |_| searched.clone());
        table.push(format!(
            "| … with `search=pri` (total {total}) | p50 {p50:.2} ms, p99 {p99:.2} ms |"
        ));
    }

    // A contact's callability, for 1,000 contacts spread over the table.
    let mut ids = Vec::new();
    for page in (1..=10_000).step_by(1000) {
        let (_, body) = client.request("GET", &format!("/v1/contacts?limit=100&page={page}"), b"");
        let body: Value = serde_json::from_slice(&body).unwrap();
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
    }
    let (p50, p99) = timed(&mut client, samples.max(1000), |i| {
        format!(
            "/v1/contacts/{}/callability?at=2026-12-07T18%3A00%3A00Z",
            ids[i % ids.len()]
        )
    });
    table.push(format!(
        "| one contact's callability | p50 {p50:.3} ms, p99 {p99:.3} ms |"
    ));
    drop(served);

    println!("\n{}", table.join("\n"));
}
