//! What the benchmarks share: a contactsd server on a real socket (the same
//! Rocket instance the binary serves, launched in this process on a free
//! port) and a keep-alive HTTP/1.1 client whose responses `httparse` reads.

// Each benchmark compiles this module as its own copy and uses only some
// of its helpers; the rest would warn as unused in every one of them.
#![allow(dead_code)]

pub mod served;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use contactsd_domain::ids::{ordered_id, Kind};
use contactsd_store::{self as db, Db};
use rocket::fairing::AdHoc;
use rusqlite::params;
use serde_json::json;

/// A running server: its port and the organization's key.
pub struct Server {
    pub port: u16,
    pub key: String,
    pub org_id: String,
}

/// Opens (migrating) `path`, creates one organization, and serves it.
pub fn start_server(path: &Path) -> Server {
    start_server_with(path, bench_figment())
}

/// As [`start_server`], configured by `figment`.
pub fn start_server_with(path: &Path, figment: rocket::figment::Figment) -> Server {
    let db = Db::open(path).expect("open database");
    let (org, key) = db.create_org("bench").expect("org");
    Server {
        port: launch(contactsd_server::app::build(figment, db).expect("valid settings")),
        key: key.key,
        org_id: org.id,
    }
}

/// The server's configuration for benchmarks: a free port, no request log.
pub fn bench_figment() -> rocket::figment::Figment {
    contactsd_server::app::figment()
        .merge(("port", 0))
        .merge(("log_level", "off"))
}

/// Launches `rocket` on a background thread; the port it listens on.
pub fn launch(rocket: rocket::Rocket<rocket::Build>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    let rocket = rocket.attach(AdHoc::on_liftoff("port", move |r| {
        let port = r.config().port;
        Box::pin(async move {
            let _ = tx.send(port);
        })
    }));
    std::thread::spawn(move || {
        let _ = rocket::execute(rocket.launch());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server launched")
}

/// One keep-alive connection.
pub struct Client {
    reader: BufReader<TcpStream>,
    key: String,
    port: u16,
    /// When the connection was last used: the server closes a kept-alive
    /// connection idle for `keep_alive` (5 s), as while wrk runs.
    used: std::time::Instant,
}

impl Client {
    pub fn connect(port: u16, key: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).ok();
        Client {
            reader: BufReader::with_capacity(1 << 16, stream),
            key: key.to_string(),
            port,
            used: std::time::Instant::now(),
        }
    }

    /// Sends a request and returns `(status, body)`.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        self.send(method, path, body);
        self.read_response()
    }

    /// Sends a request and returns its status, reading the body through a
    /// small buffer (so the client's memory stays out of the server's).
    pub fn request_status(&mut self, method: &str, path: &str, body: &[u8]) -> u16 {
        self.send(method, path, body);
        let (status, length) = self.read_head();
        std::io::copy(
            &mut (&mut self.reader).take(length as u64),
            &mut std::io::sink(),
        )
        .expect("read body");
        status
    }

    fn send(&mut self, method: &str, path: &str, body: &[u8]) {
        self.send_with(method, path, &[], body);
    }

    /// Sends a request with extra headers and returns `(status, body)`.
    pub fn request_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        self.send_with(method, path, headers, body);
        self.read_response()
    }

    fn send_with(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let extra = headers
            .iter()
            .fold(String::new(), |mut extra, (name, value)| {
                let _ = write!(extra, "{name}: {value}\r\n");
                extra
            });
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {}\r\n{extra}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        if self.used.elapsed() > Duration::from_secs(4) {
            *self = Client::connect(self.port, &self.key);
        }
        self.used = std::time::Instant::now();
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(body).expect("write body");
    }

    fn read_response(&mut self) -> (u16, Vec<u8>) {
        let (status, length) = self.read_head();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("read body");
        (status, body)
    }

    /// The status and `Content-Length` of the next response.
    fn read_head(&mut self) -> (u16, usize) {
        // Read up to the blank line ending the head, then parse it.
        let mut head = Vec::new();
        loop {
            let before = head.len();
            self.reader.read_until(b'\n', &mut head).expect("read head");
            assert!(head.len() > before, "connection closed");
            if head.ends_with(b"\r\n\r\n") {
                break;
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        response.parse(&head).expect("parse response head");
        let status = response.code.expect("status");
        let length: usize = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
            .expect("content-length");
        (status, length)
    }
}

/// The median of `samples` (sorted in place), in milliseconds.
pub fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let mid = samples.len() / 2;
    let median = if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    };
    median.as_secs_f64() * 1000.0
}

/// A deterministic stream of realistic names: common Indian and other first
/// names (so many repeat), and surnames.
pub fn person_name(i: u64) -> String {
    const FIRST: &[&str] = &[
        "Priya", "Rahul", "Anjali", "Amit", "Sneha", "Vikram", "Pooja", "Arjun", "Kavya", "Rohan",
        "Neha", "Karan", "Divya", "Sanjay", "Meera", "Aditya", "Lakshmi", "Suresh", "Fatima",
        "Mohammed", "José", "María", "Chen", "Aisha", "John", "Emma", "Olga", "Hiroshi", "Zoë",
        "Ravi", "Deepak", "Anushka", "Ishaan", "Tanvi", "Harpreet", "Gurpreet", "Sofia", "Liam",
    ];
    const LAST: &[&str] = &[
        "Sharma",
        "Verma",
        "Patel",
        "Iyer",
        "Reddy",
        "Nair",
        "Khan",
        "Singh",
        "Gupta",
        "Das",
        "Mukherjee",
        "Banerjee",
        "Menon",
        "Rao",
        "Joshi",
        "Kulkarni",
        "Desai",
        "Mehta",
        "Shah",
        "Pillai",
        "García",
        "Müller",
        "Smith",
        "Nguyen",
        "Kim",
        "Silva",
        "Ivanova",
        "Okafor",
        "Tanaka",
        "O'Brien",
        "Fernandes",
        "Chatterjee",
        "Bhat",
        "Saxena",
        "Agarwal",
        "Malhotra",
    ];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let first = FIRST[(h % FIRST.len() as u64) as usize];
    let last = LAST[((h >> 20) % LAST.len() as u64) as usize];
    format!("{first} {last}")
}

/// The `i`-th phone number of a deterministic, collision-free sequence in
/// scattered order (as real imports arrive): valid Indian mobiles mostly,
/// some US and UK numbers. Multiplying by an odd number not divisible by 5
/// permutes the residues modulo any 2^a 5^b, so no two `i` collide.
pub fn phone_number(i: u64) -> String {
    const SCATTER: u64 = 2_654_435_761;
    let k = i / 10;
    match i % 10 {
        0 => format!("+1415{:07}", 2_000_000 + (k * SCATTER) % 8_000_000),
        1 => format!("+4471{:08}", (k * SCATTER) % 100_000_000),
        _ => format!("+919{:09}", (i * SCATTER) % 1_000_000_000),
    }
}

/// Items per bulk request.
pub const BATCH: u64 = 1000;

/// A bulk body of `BATCH` contacts from number `start`, names ending in
/// `suffix`.
pub fn batch_body(start: u64, suffix: &str) -> Vec<u8> {
    let contacts: Vec<_> = (start..start + BATCH)
        .map(|i| {
            json!({
                "name": format!("{}{suffix}", person_name(i)),
                "phoneNumber": phone_number(i),
                "language": if i % 3 == 0 { "hi-IN" } else { "en-IN" },
                "metadata": {"city": if i % 2 == 0 { "Mumbai" } else { "Delhi" }, "tier": "premium"},
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "contacts": contacts })).unwrap()
}

/// The raw baseline: the same rows, one transaction, same schema.
pub struct Raw {
    conn: rusqlite::Connection,
    org_seq: i64,
}

impl Raw {
    pub fn open(path: &Path) -> Raw {
        let db = Db::open(path).expect("open raw database");
        let (org, _) = db.create_org("raw").unwrap();
        drop(db);
        let mut conn = rusqlite::Connection::open(path).unwrap();
        db::configure(&mut conn).unwrap();
        Raw {
            conn,
            org_seq: org.seq,
        }
    }

    /// A raw connection to a copy of a benchmark's database (one
    /// organization), to write beside the server on the same data.
    pub fn open_existing(path: &Path) -> Raw {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        db::configure(&mut conn).unwrap();
        let org_seq = conn
            .query_row("SELECT seq FROM organizations LIMIT 1", [], |r| r.get(0))
            .unwrap();
        Raw { conn, org_seq }
    }

    pub fn insert(&mut self, start: u64) {
        let tx = self.conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO contacts (id, org_seq, name, name_key, initials, phone, language,
                                           metadata, created_at, updated_at, change_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9,
                             (SELECT change_seq + 1 FROM organizations WHERE seq = ?2))",
                )
                .unwrap();
            let now = contactsd_domain::clock::now_ms();
            for i in start..start + BATCH {
                let metadata =
                    json!({"city": if i % 2 == 0 { "Mumbai" } else { "Delhi" }, "tier": "premium"});
                let name = person_name(i);
                stmt.execute(params![
                    ordered_id(Kind::Contact, now, i),
                    self.org_seq,
                    name,
                    contactsd_domain::search::sort_key(&name),
                    contactsd_domain::search::initials(&name),
                    phone_number(i),
                    if i % 3 == 0 { "hi-IN" } else { "en-IN" },
                    metadata.to_string(),
                    now
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    pub fn update(&mut self, start: u64, suffix: &str) {
        let tx = self.conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE contacts SET name = ?1, name_key = ?2, initials = ?3, updated_at = ?4,
                         change_seq = (SELECT change_seq + 1 FROM organizations WHERE seq = ?5)
                     WHERE org_seq = ?5 AND phone = ?6",
                )
                .unwrap();
            let now = contactsd_domain::clock::now_ms();
            for i in start..start + BATCH {
                let name = format!("{}{suffix}", person_name(i));
                stmt.execute(params![
                    name,
                    contactsd_domain::search::sort_key(&name),
                    contactsd_domain::search::initials(&name),
                    now,
                    self.org_seq,
                    phone_number(i)
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

/// A line of `/proc/self/status`, in KiB.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix(" kB")?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// What wrk reported.
pub struct Measured {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
}

fn to_ms(text: &str) -> f64 {
    let (number, unit) =
        text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Exits with a hint when Debian's `wrk` is not installed.
pub fn require_wrk() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("this benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
}

/// Runs wrk against `url` with the key: p50, p99 and requests/s.
pub fn wrk(url: &str, key: &str, threads: u32, connections: u32, seconds: u32) -> Measured {
    let output = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-H",
            &format!("x-api-key: {key}"),
            url,
        ])
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let percentile = |label: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(label))
            .map_or(f64::NAN, |rest| to_ms(rest.trim()))
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or(f64::NAN);
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw errors for {url}:\n{text}"
    );
    Measured {
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
        rps,
    }
}

type Pool = r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>;

/// The baseline the API is compared with: a bare route doing one pooled
/// point lookup.
#[rocket::get("/bare/<id>")]
async fn bare(pool: &rocket::State<Pool>, id: String) -> Option<String> {
    let pool = pool.inner().clone();
    rocket::tokio::task::spawn_blocking(move || {
        let conn = pool.get().ok()?;
        conn.query_row(
            "SELECT id, name, phone, language, metadata, created_at, updated_at
             FROM contacts WHERE id = ?1",
            [id],
            |r| {
                Ok(serde_json::json!({
                    "id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?,
                    "phoneNumber": r.get::<_, String>(2)?, "language": r.get::<_, Option<String>>(3)?,
                    "metadata": r.get::<_, String>(4)?, "createdAt": r.get::<_, i64>(5)?,
                    "updatedAt": r.get::<_, i64>(6)?,
                })
                .to_string())
            },
        )
        .ok()
    })
    .await
    .ok()
    .flatten()
}

/// Serves `GET /bare/<id>` over the database at `path` (eight pooled
/// connections, the API's PRAGMAs) from this process; its port.
pub fn launch_bare(path: &Path) -> u16 {
    let pool: Pool = r2d2::Pool::builder()
        .max_size(8)
        .build(r2d2_sqlite::SqliteConnectionManager::file(path).with_init(db::configure))
        .unwrap();
    launch(
        rocket::custom(bench_figment())
            .manage(pool)
            .mount("/", rocket::routes![bare]),
    )
}
