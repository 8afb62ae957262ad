//! Get by id as users run it: the release binary at its default log level
//! (one access line a request on standard error, here to a file), against
//! a bare Rocket route doing one pooled rusqlite point lookup on a copy of
//! the same database, in alternating rounds of the same run.
//!
//!     cargo bench --bench get_by_id
//!     cargo bench --bench get_by_id -- --contacts 100000
//!     cargo bench --bench get_by_id -- --before /path/to/an/older/contactsd
//!
//! The database (1,000,000 contacts by default) is built once and cached
//! under `target/bench-data/`. `--before` also serves the same data from
//! another contactsd binary (an older release build), so a change can be
//! judged before and after in one run. Needs Debian's `wrk`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use contactsd_store::Db;
use support::{require_wrk, wrk, Raw};

/// Rows `Raw::insert` writes a call.
const BATCH: u64 = 1_000;
const ROUNDS: usize = 4;
const SECONDS: u32 = 5;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The cached database of `contacts` rows in one organization.
fn data(contacts: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("get-by-id-{contacts}.db"));
    if path.exists() {
        return path;
    }
    let building = dir.join(format!("get-by-id-{contacts}.building.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    eprintln!("building {contacts} contacts (once)...");
    let mut raw = Raw::open(&building);
    let mut start = 0;
    while start < contacts {
        raw.insert(start);
        start += BATCH;
    }
    drop(raw);
    let conn = rusqlite::Connection::open(&building).unwrap();
    conn.execute(
        "UPDATE organizations SET contact_count = (SELECT count(*) FROM contacts)",
        [],
    )
    .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    std::fs::rename(&building, &path).unwrap();
    path
}

/// A copy of the database for one server (a file serves one server).
fn copy(path: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/run");
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
    }
    std::fs::copy(path, &to).unwrap();
    to
}

/// `contactsd serve` from `binary` on a copy of the data, its access log
/// written to a file as a service manager would keep it.
struct Served {
    child: Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(binary: &Path, database: &Path, log: &Path) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(binary)
        .args(["--database", database.to_str().unwrap(), "serve"])
        .current_dir(database.parent().unwrap())
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env_remove("ROCKET_LOG_LEVEL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start contactsd");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("contactsd exited").unwrap();
        if line.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Served { child, port }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}

fn main() {
    require_wrk();
    let contacts: u64 = arg("--contacts").map_or(1_000_000, |n| n.parse().expect("--contacts N"));
    let before = arg("--before").map(PathBuf::from);
    let path = data(contacts);
    let (org_id, some_id): (String, String) = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row(
            "SELECT o.id, (SELECT id FROM contacts ORDER BY seq LIMIT 1 OFFSET ?1)
             FROM organizations o LIMIT 1",
            [i64::try_from(contacts / 2).unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let key = Db::open(&path).unwrap().issue_key(&org_id).unwrap().key;

    let logs = tempfile::tempdir().unwrap();
    let after_binary = PathBuf::from(env!("CARGO_BIN_EXE_contactsd"));
    let after = serve(
        &after_binary,
        &copy(&path, "after"),
        &logs.path().join("after.log"),
    );
    let before = before.map(|binary| {
        serve(
            &binary,
            &copy(&path, "before"),
            &logs.path().join("before.log"),
        )
    });
    let bare_port = support::launch_bare(&copy(&path, "bare"));

    let mut targets: Vec<(&str, String)> = vec![
        (
            "GET /v1/contacts/:id, this build",
            format!("http://127.0.0.1:{}/v1/contacts/{some_id}", after.port),
        ),
        (
            "bare Rocket route, one pooled lookup",
            format!("http://127.0.0.1:{bare_port}/bare/{some_id}"),
        ),
    ];
    if let Some(before) = &before {
        targets.insert(
            1,
            (
                "GET /v1/contacts/:id, --before build",
                format!("http://127.0.0.1:{}/v1/contacts/{some_id}", before.port),
            ),
        );
    }
    // Warm every target, then alternate: the machine drifts, so each
    // round measures every target within seconds of the others.
    for (_, url) in &targets {
        wrk(url, &key, 2, 50, 1);
    }
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    for round in 0..ROUNDS {
        for (i, (label, url)) in targets.iter().enumerate() {
            let m = wrk(url, &key, 2, 50, SECONDS);
            eprintln!("round {round}: {label}: {:.0} requests/s", m.rps);
            rps[i].push(m.rps);
        }
    }
    let lines = std::fs::read_to_string(logs.path().join("after.log")).unwrap_or_default();
    let access_lines = lines.lines().filter(|l| l.contains("answered")).count();
    assert!(
        access_lines > 0,
        "the served binary logged no access lines: not at the default level?"
    );

    let bare = median(rps.last_mut().unwrap());
    println!();
    println!(
        "get by id, {contacts} contacts, wrk -t2 -c50, {ROUNDS} rounds of {SECONDS} s, medians \
         ({access_lines} access lines logged)"
    );
    println!();
    println!("| target | requests/s | vs bare |");
    println!("|---|---:|---:|");
    for (i, (label, _)) in targets.iter().enumerate() {
        let value = median(&mut rps[i]);
        println!("| {label} | {value:.0} | {:.2}x |", value / bare);
    }
}
