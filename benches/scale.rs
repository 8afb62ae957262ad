//! Ten million contacts across 1,000 organizations (issue 12). Run on
//! demand (about 20 minutes the first time; the data is kept under
//! `target/bench-data/` and reused):
//!
//!     cargo bench --bench scale
//!     cargo bench --bench scale -- --rebuild
//!
//! Loads 9,991,000 contacts through `POST /v1/contacts/bulk` (1,000 a
//! request, one request at a time, over a real socket): 1,000,000 into the
//! largest organization and 9,000 into each of 999 others, their requests
//! interleaved, and prints the rate for each million. Then the file's size,
//! the process's resident memory, and the search benchmark's latency table
//! (wrk, one connection, 5 s each) for the largest organization and for a
//! small one, side by side.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use contactsd_store::Db;
use serde_json::{json, Value};
use support::{
    bench_figment, launch, person_name, phone_number, require_wrk, status_kib, wrk, Client,
};

const ORGS: u64 = 1_000;
const BIG: u64 = 1_000_000;
const SMALL: u64 = 9_000;
const BATCH: u64 = 1_000;

fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/scale-10m.db")
}

fn status_mib(field: &str) -> f64 {
    status_kib(field) as f64 / 1024.0
}

/// A bulk body of `BATCH` contacts for organization `org` from its row
/// `start` (numbers are unique across organizations too).
fn body(org: u64, start: u64) -> Vec<u8> {
    let contacts: Vec<Value> = (start..start + BATCH)
        .map(|i| {
            let n = org * 10_000_000 + i;
            let language = ["hi-IN", "en-IN", "ta-IN", "mr-IN", "bn-IN", "en"][(n % 6) as usize];
            let city = ["Mumbai", "Delhi", "Pune", "Chennai", "Kolkata"][(n % 5) as usize];
            let tier = if n.is_multiple_of(5) {
                "premium"
            } else {
                "standard"
            };
            json!({
                "name": person_name(n),
                "phoneNumber": phone_number(n),
                "language": language,
                "metadata": {"city": city, "tier": tier},
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "contacts": contacts })).unwrap()
}

/// Loads the data set through the API; the organizations' `(id, key)`.
fn load(path: &Path) -> Vec<(String, String)> {
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = Db::open(path).unwrap();
    let orgs: Vec<(String, String)> = (0..ORGS)
        .map(|i| {
            let (org, key) = db.create_org(&format!("org {i:04}")).unwrap();
            (org.id, key.key)
        })
        .collect();
    let port = launch(contactsd_server::app::build(bench_figment(), db).expect("valid settings"));
    // The small organizations take turns, batch by batch; one request in
    // ten goes to the largest, so rows interleave as in a shared file.
    let mut schedule = Vec::new();
    let mut big_next = 0u64;
    for start in (0..SMALL).step_by(BATCH as usize) {
        for org in 1..ORGS {
            if schedule.len() % 10 == 0 && big_next < BIG {
                schedule.push((0u64, big_next));
                big_next += BATCH;
            }
            schedule.push((org, start));
        }
    }
    while big_next < BIG {
        schedule.push((0, big_next));
        big_next += BATCH;
    }
    let started = Instant::now();
    let mut segment = Instant::now();
    let mut rows = 0u64;
    println!("| contacts loaded | rate over the last million |");
    println!("|---:|---:|");
    for (org, start) in schedule {
        let mut client = Client::connect(port, &orgs[org as usize].1);
        let status = client.request_status("POST", "/v1/contacts/bulk", &body(org, start));
        assert_eq!(status, 200);
        rows += BATCH;
        if rows.is_multiple_of(1_000_000) {
            println!(
                "| {rows} | {:.0} contacts/s |",
                1_000_000.0 / segment.elapsed().as_secs_f64()
            );
            segment = Instant::now();
        }
    }
    println!();
    println!(
        "loaded {rows} contacts in {:.0} s: {:.0} contacts/s over all",
        started.elapsed().as_secs_f64(),
        rows as f64 / started.elapsed().as_secs_f64()
    );
    orgs
}

fn wrk_ms(url: &str, key: &str) -> (f64, f64) {
    let measured = wrk(url, key, 1, 1, 5);
    (measured.p50_ms, measured.p99_ms)
}

fn main() {
    require_wrk();
    let path = data_path();
    let rebuild = std::env::args().any(|a| a == "--rebuild");
    let cached = !rebuild && path.exists();
    let orgs = if cached {
        let db = Db::open(&path).unwrap();
        let listed = db.list_orgs().unwrap();
        let big = &listed[0];
        let small = &listed[500];
        let keys = [&big.id, &small.id].map(|id| (id.clone(), db.issue_key(id).unwrap().key));
        keys.to_vec()
    } else {
        let all = load(&path);
        vec![all[0].clone(), all[500].clone()]
    };
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    let db = Db::open(&path).unwrap();
    let port = launch(contactsd_server::app::build(bench_figment(), db).expect("valid settings"));
    let base = format!("http://127.0.0.1:{port}");
    let (big_key, small_key) = (&orgs[0].1, &orgs[1].1);
    let mut big_client = Client::connect(port, big_key);
    let mut small_client = Client::connect(port, small_key);
    let get = |client: &mut Client, path: &str| -> Value {
        let (status, body) = client.request("GET", path, b"");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    };
    let big_id = get(&mut big_client, "/v1/contacts?page=100")["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let small_id = get(&mut small_client, "/v1/contacts?page=100")["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    println!(
        "file {:.0} MiB (+ WAL) for {} organizations; the process's resident memory now {:.0} MiB",
        size as f64 / 1_048_576.0,
        ORGS,
        status_mib("VmRSS")
    );
    println!();
    let scenarios: Vec<(&str, String, String)> = vec![
        ("page 1", "/v1/contacts".into(), "/v1/contacts".into()),
        (
            "page 200",
            "/v1/contacts?page=200".into(),
            "/v1/contacts?page=200".into(),
        ),
        (
            "get by id",
            format!("/v1/contacts/{big_id}"),
            format!("/v1/contacts/{small_id}"),
        ),
        (
            "search common first name (`priya`)",
            "/v1/contacts?search=priya".into(),
            "/v1/contacts?search=priya".into(),
        ),
        (
            "search 3-letter substring (`ram`)",
            "/v1/contacts?search=ram".into(),
            "/v1/contacts?search=ram".into(),
        ),
        (
            "search 5-digit phone fragment",
            "/v1/contacts?search=98765".into(),
            "/v1/contacts?search=98765".into(),
        ),
        (
            "search two terms (`priya sharma`)",
            "/v1/contacts?search=priya%20sharma".into(),
            "/v1/contacts?search=priya%20sharma".into(),
        ),
        (
            "language filter",
            "/v1/contacts?language=ta-IN".into(),
            "/v1/contacts?language=ta-IN".into(),
        ),
        (
            "filter + search",
            "/v1/contacts?language=hi-IN&search=sharma".into(),
            "/v1/contacts?language=hi-IN&search=sharma".into(),
        ),
        (
            "metadata filter (not declared)",
            "/v1/contacts?metadata.city=Pune".into(),
            "/v1/contacts?metadata.city=Pune".into(),
        ),
        (
            "`sort=name` page 1 (not declared)",
            "/v1/contacts?sort=name".into(),
            "/v1/contacts?sort=name".into(),
        ),
    ];
    println!("| query | largest org: matches | p50 (ms) | p99 (ms) | small org: matches | p50 (ms) | p99 (ms) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, big_path, small_path) in &scenarios {
        let big_total = get(&mut big_client, big_path)
            .get("total")
            .cloned()
            .unwrap_or(json!(1));
        let small_total = get(&mut small_client, small_path)
            .get("total")
            .cloned()
            .unwrap_or(json!(1));
        let (b50, b99) = wrk_ms(&format!("{base}{big_path}"), big_key);
        let (s50, s99) = wrk_ms(&format!("{base}{small_path}"), small_key);
        println!(
            "| {label} | {big_total} | {b50:.2} | {b99:.2} | {small_total} | {s50:.2} | {s99:.2} |"
        );
    }
    println!();
    println!(
        "peak resident memory of the process (server and benchmark): {:.0} MiB",
        status_mib("VmHWM")
    );
}
