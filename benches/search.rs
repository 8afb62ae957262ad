//! The search and listing benchmark (issue 4). Run on demand:
//!
//!     cargo bench --bench search               # builds the data once, then measures
//!     cargo bench --bench search -- --rebuild  # rebuilds the data
//!     cargo bench --bench search -- --metadata # only the undeclared metadata filter
//!     cargo bench --bench search -- --combos   # only searches and filters combined
//!
//! It builds (once, cached under `target/bench-data/`) a database of
//! 1,000,000 contacts in one organization and 1,000,000 spread over 100
//! others, with realistic repeated names and Indian and other numbers,
//! serves it from this process on loopback, and measures each query with
//! wrk (Debian's `wrk`; one connection, 5 s each) for p50 and p99. It also
//! serves a bare Rocket route doing one pooled rusqlite point lookup on the
//! same file and compares requests per second for get-by-id (wrk, 2
//! threads, 50 connections), in the same run.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use contactsd_domain::ids::{ordered_id, Kind};
use contactsd_store::{self as db, Db};
use rusqlite::params;
use serde_json::Value;
use support::{bench_figment, launch, person_name, phone_number, require_wrk, wrk, Client};

const BIG_ORG: u64 = 1_000_000;
const OTHER_ORGS: u64 = 100;
const OTHER_ROWS: u64 = 1_000_000;
const CHUNK: u64 = 10_000;
/// One row in 10,000 gets this surname: a selective search.
const RARE_SURNAME: &str = "Vanderpoel";
const CITIES: &[&str] = &[
    "Mumbai",
    "Delhi",
    "Bengaluru",
    "Chennai",
    "Kolkata",
    "Hyderabad",
    "Pune",
    "Ahmedabad",
    "Jaipur",
    "Lucknow",
];
/// The indexes the second table declares.
const DECLARED: [&str; 2] = ["metadata.city", "name"];
const LANGUAGES: &[&str] = &["hi-IN", "en-IN", "ta-IN", "mr-IN", "bn-IN", "en"];

fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/search-1m.db")
}

/// Builds the data set; returns the big organization's id.
fn build(path: &Path) -> String {
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let started = Instant::now();
    let db = Db::open(path).expect("open");
    let (big, _) = db.create_org("big").unwrap();
    let others: Vec<i64> = (0..OTHER_ORGS)
        .map(|i| db.create_org(&format!("other {i}")).unwrap().0.seq)
        .collect();
    drop(db);
    let mut conn = rusqlite::Connection::open(path).unwrap();
    db::configure(&mut conn).unwrap();
    let base_ms: i64 = 1_767_225_600_000; // 2026-01-01
    let total = BIG_ORG + OTHER_ROWS;
    let mut i: u64 = 0;
    while i < total {
        // Alternate chunks of the big organization and the others, so their
        // rows interleave in time as they would in one shared file.
        let chunk = i / CHUNK;
        let org_seq = if chunk.is_multiple_of(2) {
            big.seq
        } else {
            others[((chunk / 2) % OTHER_ORGS) as usize]
        };
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO contacts (seq, id, org_seq, name, name_key, initials, phone,
                                           language, metadata, created_at, updated_at, change_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10,
                             (SELECT change_seq + 1 FROM organizations WHERE seq = ?3))",
                )
                .unwrap();
            for j in i..i + CHUNK {
                let name = if j % 10_000 == 7 {
                    format!(
                        "{} {RARE_SURNAME}",
                        person_name(j).split(' ').next().unwrap()
                    )
                } else {
                    person_name(j)
                };
                let metadata = serde_json::json!({
                    "city": CITIES[(j % CITIES.len() as u64) as usize],
                    "tier": if j % 5 == 0 { "premium" } else { "standard" },
                });
                // Row numbers and times grow together, as the server makes them.
                let n = i64::try_from(j).unwrap();
                let seq = n + 1;
                let created_at = base_ms + n * 10;
                stmt.execute(params![
                    seq,
                    ordered_id(Kind::Contact, created_at, j + 1),
                    org_seq,
                    name,
                    contactsd_domain::search::sort_key(&name),
                    contactsd_domain::search::initials(&name),
                    phone_number(j),
                    LANGUAGES[(j % LANGUAGES.len() as u64) as usize],
                    metadata.to_string(),
                    created_at,
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
        i += CHUNK;
        if i.is_multiple_of(200_000) {
            eprintln!(
                "  built {i} rows in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    eprintln!(
        "built {total} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    big.id
}

fn big_org_id(path: &Path) -> Option<String> {
    let conn = rusqlite::Connection::open(path).ok()?;
    conn.query_row(
        "SELECT o.id FROM organizations o WHERE o.name = 'big' AND o.contact_count = ?1",
        [i64::try_from(BIG_ORG).unwrap()],
        |r| r.get(0),
    )
    .ok()
}

fn main() {
    require_wrk();
    let path = data_path();
    let rebuild = std::env::args().any(|a| a == "--rebuild");
    let org_id = match big_org_id(&path) {
        Some(id) if !rebuild => id,
        _ => build(&path),
    };
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();

    let opening = Instant::now();
    let db = Db::open(&path).unwrap();
    let opened = opening.elapsed().as_secs_f64();
    if opened > 1.0 {
        println!("opened in {opened:.1} s (migrations included)");
    }
    let key = db.issue_key(&org_id).unwrap().key;
    let port = launch(contactsd_server::app::build(bench_figment(), db).expect("valid settings"));
    let bare_port = support::launch_bare(&path);

    let base = format!("http://127.0.0.1:{port}");
    let mut client = Client::connect(port, &key);
    // The cached data set is measured without declared indexes first.
    for field in DECLARED {
        client.request("DELETE", &format!("/v1/indexes/{field}"), b"");
    }
    let deep = get(&mut client, "/v1/contacts?page=24999");
    let cursor = deep["nextCursor"].as_str().unwrap().to_string();
    let some_id = deep["data"][0]["id"].as_str().unwrap().to_string();
    let encoded_cursor = percent_encoded(&cursor);

    let scenarios: Vec<(&str, String, &str)> = vec![
        ("page 1", String::from("/v1/contacts"), "10"),
        (
            "page 25,000 by page",
            String::from("/v1/contacts?page=25000"),
            "50",
        ),
        (
            "page 25,000 by cursor",
            format!("/v1/contacts?cursor={encoded_cursor}"),
            "10",
        ),
        ("get by id", format!("/v1/contacts/{some_id}"), "10"),
        (
            "search rare surname",
            format!("/v1/contacts?search={}", RARE_SURNAME.to_lowercase()),
            "10",
        ),
        (
            "search common first name",
            String::from("/v1/contacts?search=priya"),
            "50",
        ),
        (
            "search 3-letter substring",
            String::from("/v1/contacts?search=ram"),
            "50",
        ),
        (
            "search 5-digit phone fragment",
            String::from("/v1/contacts?search=98765"),
            "10",
        ),
        (
            "search two terms",
            String::from("/v1/contacts?search=priya%20sharma"),
            "50",
        ),
        (
            "metadata filter",
            String::from("/v1/contacts?metadata.city=Pune"),
            "- (not indexed)",
        ),
        (
            "language filter",
            String::from("/v1/contacts?language=ta-IN"),
            "10",
        ),
        (
            "filter + search",
            String::from("/v1/contacts?language=hi-IN&search=sharma"),
            "50",
        ),
        (
            "sort=name page 1",
            String::from("/v1/contacts?sort=name"),
            "- (not indexed)",
        ),
    ];

    println!(
        "{} contacts in the measured organization, {} in {} others; file {:.0} MiB",
        BIG_ORG,
        OTHER_ROWS,
        OTHER_ORGS,
        size as f64 / 1_048_576.0
    );
    println!("| query | matches | p50 (ms) | p99 (ms) | target p99 (ms) |");
    println!("|---|---:|---:|---:|---:|");
    // `--metadata`: only the undeclared metadata filter against the plain scan.
    let metadata_only = std::env::args().any(|a| a == "--metadata");
    // `--combos`: only the searches and filters combined, declared or not.
    let combos_only = std::env::args().any(|a| a == "--combos");
    for (label, path, target) in scenarios
        .iter()
        .filter(|_| !metadata_only)
        .filter(|(label, ..)| !combos_only || label.contains('+'))
    {
        let body = get(&mut client, path);
        let matches = body
            .get("total")
            .map_or(String::from("1"), std::string::ToString::to_string);
        let m = wrk(&format!("{base}{path}"), &key, 1, 1, 5);
        println!(
            "| {label} | {matches} | {:.2} | {:.2} | {target} |",
            m.p50_ms, m.p99_ms
        );
    }

    // An undeclared metadata filter beside the plain scan a user would
    // write in SQLite for the same rows, on a copy of the same file, in
    // alternating rounds.
    if !combos_only {
        compare_with_plain_scan(&path, port, &key, &org_id);
    }
    if metadata_only {
        return;
    }
    let mut client = Client::connect(port, &key);

    // The same slow paths with their indexes declared.
    println!();
    println!("| declared index | time to declare (fills it from 1,000,000 contacts) |");

    println!("|---|---:|");
    for field in DECLARED {
        let started = Instant::now();
        let (status, _) = client.request("PUT", &format!("/v1/indexes/{field}"), b"");
        assert_eq!(status, 201);
        println!("| `{field}` | {:.1} s |", started.elapsed().as_secs_f64());
    }
    let by_name = get(&mut client, "/v1/contacts?sort=name&page=1000");
    let name_cursor = percent_encoded(by_name["nextCursor"].as_str().unwrap());
    let declared: Vec<(&str, String, u32)> = vec![
        (
            "metadata filter, declared",
            String::from("/v1/contacts?metadata.city=Pune"),
            10,
        ),
        (
            "metadata filter, declared, page 500",
            String::from("/v1/contacts?metadata.city=Pune&page=500"),
            10,
        ),
        (
            "metadata filter + language, declared",
            String::from("/v1/contacts?metadata.city=Pune&language=ta-IN"),
            20,
        ),
        (
            "metadata filter + search, declared",
            String::from("/v1/contacts?metadata.city=Pune&search=sharma"),
            20,
        ),
        (
            "metadata filter + language + search, declared",
            String::from("/v1/contacts?metadata.city=Pune&language=hi-IN&search=sharma"),
            20,
        ),
        (
            "`sort=name` page 1, declared",
            String::from("/v1/contacts?sort=name"),
            10,
        ),
        (
            "`sort=-name` page 1, declared",
            String::from("/v1/contacts?sort=-name"),
            10,
        ),
        (
            "`sort=name` by cursor after 20,000 rows, declared",
            format!("/v1/contacts?sort=name&cursor={name_cursor}"),
            10,
        ),
    ];
    println!();
    println!("| query | matches | p50 (ms) | p99 (ms) | target p99 (ms) |");
    println!("|---|---:|---:|---:|---:|");
    for (label, path, target) in &declared {
        let body = get(&mut client, path);
        let m = wrk(&format!("{base}{path}"), &key, 1, 1, 5);
        println!(
            "| {label} | {} | {:.2} | {:.2} | {target} |",
            body["total"], m.p50_ms, m.p99_ms
        );
    }
    for field in DECLARED {
        client.request("DELETE", &format!("/v1/indexes/{field}"), b"");
    }

    let api = wrk(&format!("{base}/v1/contacts/{some_id}"), &key, 2, 50, 5);
    let baseline = wrk(
        &format!("http://127.0.0.1:{bare_port}/bare/{some_id}"),
        &key,
        2,
        50,
        5,
    );
    println!();
    println!("| get by id, wrk -t2 -c50 | requests/s |");
    println!("|---|---:|");
    println!("| GET /v1/contacts/:id (auth, JSON) | {:.0} |", api.rps);
    println!(
        "| bare Rocket route, one pooled lookup | {:.0} |",
        baseline.rps
    );
    println!(
        "| ratio | {:.0}% (target 80%) |",
        100.0 * api.rps / baseline.rps
    );
}

/// An undeclared metadata filter beside the plain scan a user would write
/// in SQLite for the same rows, on a copy of the same file, in
/// alternating rounds.
fn compare_with_plain_scan(path: &Path, port: u16, key: &str, org_id: &str) {
    println!();
    println!(
        "| undeclared filter | matches | contactsd, page 1 with total (ms) | plain `json_extract` count on a copy (ms) | contactsd faster by |"
    );
    println!("|---|---:|---:|---:|---:|");
    let copy = path.with_file_name("search-1m-plain.db");
    for suffix in ["", "-wal"] {
        let from = format!("{}{suffix}", path.display());
        let to = format!("{}{suffix}", copy.display());
        let _ = std::fs::remove_file(&to);
        if std::path::Path::new(&from).exists() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    // Copying took longer than a kept-alive connection waits idle.
    let mut client = Client::connect(port, key);
    let mut plain = rusqlite::Connection::open(&copy).unwrap();
    db::configure(&mut plain).unwrap();
    let big_seq: i64 = plain
        .query_row(
            "SELECT seq FROM organizations WHERE id = ?1",
            [org_id],
            |r| r.get(0),
        )
        .unwrap();
    for (key, value) in [("city", "Pune"), ("tier", "premium"), ("city", "Nowhere")] {
        let path = format!("/v1/contacts?metadata.{key}={value}");
        let matches = get(&mut client, &path)["total"].as_i64().unwrap();
        let sql = format!(
            "SELECT count(*) FROM contacts WHERE org_seq = ?1 AND json_extract(metadata, '$.{key}') = ?2"
        );
        let counted: i64 = plain
            .query_row(&sql, params![big_seq, value], |r| r.get(0))
            .unwrap();
        assert_eq!(counted, matches, "{key}={value}");
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            let started = Instant::now();
            get(&mut client, &path);
            ours.push(started.elapsed());
            let started = Instant::now();
            let _: i64 = plain
                .query_row(&sql, params![big_seq, value], |r| r.get(0))
                .unwrap();
            theirs.push(started.elapsed());
        }
        let (ours, theirs) = (
            support::median_ms(&mut ours),
            support::median_ms(&mut theirs),
        );
        println!(
            "| `metadata.{key}={value}` | {matches} | {ours:.1} | {theirs:.1} | {:.2}x |",
            theirs / ours
        );
    }
    drop(plain);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
}

/// `GET path`, which must answer 200; its JSON body.
fn get(client: &mut Client, path: &str) -> Value {
    let (status, body) = client.request("GET", path, b"");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// `text` as a query-string value.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
