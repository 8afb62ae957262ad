//! A release `contactsd serve` in its own process, and what the
//! benchmarks that run release binaries share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use super::{batch_body, Client};

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// `dir/name.db`, removed with its WAL and shared memory if it was there.
pub fn fresh_in(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// Rows/s of `rows` contacts through `binary`'s bulk API, 1,000 a request,
/// into the new database `database`.
pub fn import_rate(binary: &Path, rows: u64, database: &Path) -> f64 {
    let key = new_key(binary, database);
    let served = Served::start(binary, database, &[]);
    let mut client = Client::connect(served.port, &key);
    let started = Instant::now();
    let mut start = 0;
    while start < rows {
        let (status, body) = client.request("POST", "/v1/contacts/bulk", &batch_body(start, ""));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        start += 1000;
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

/// The first organization's id on `database`.
pub fn first_org(binary: &Path, database: &Path) -> String {
    let out = Command::new(binary)
        .args(["--database", database.to_str().unwrap(), "org", "list"])
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str::<Value>(line.lines().next().unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A new key of organization `org` on `database`.
pub fn key_for(binary: &Path, database: &Path, org: &str) -> String {
    let out = Command::new(binary)
        .args([
            "--database",
            database.to_str().unwrap(),
            "key",
            "create",
            org,
        ])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["apiKey"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A `contactsd serve` of `binary` on `database`, with `env`.
pub struct Served {
    pub child: Child,
    pub port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    pub fn start(binary: &Path, database: &Path, env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(binary)
            .args(["--database", database.to_str().unwrap(), "serve"])
            .current_dir(database.parent().unwrap())
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_LOG_LEVEL", "critical")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start contactsd");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("contactsd exited").unwrap();
            if line.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Served { child, port }
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// A new organization's key on `database`, made with `binary`.
pub fn new_key(binary: &Path, database: &Path) -> String {
    let out = Command::new(binary)
        .args([
            "--database",
            database.to_str().unwrap(),
            "org",
            "create",
            "bench",
        ])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["apiKey"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The nearest-rank percentile `p` of `values` (sorted in place).
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    // The nearest rank: the first value at or above `p` percent of them.
    let last = values.len() - 1;
    let at = (0..=last)
        .find(|&i| i as f64 >= p / 100.0 * last as f64 - 1e-9)
        .unwrap_or(last);
    values[at]
}
