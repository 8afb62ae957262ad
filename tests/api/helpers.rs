//! A fresh server on a fresh SQLite file for every test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use contactsd_store::{Db, DbOptions};
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;
use serde_json::Value;
use tempfile::TempDir;

/// One answer: status, `Location` (if any) and the body as JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: Status,
    pub location: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    /// The value of the header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts this is the contract's error shape with `status` and `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.code, status, "body: {}", self.body);
        assert_eq!(self.body["statusCode"], status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(self.body["error"].is_string(), "body: {}", self.body);
        assert!(self.body["message"].is_string(), "body: {}", self.body);
    }

    /// The `field`s named in `details`.
    pub fn detail_fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|e| e["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct TestApp {
    pub client: Client,
    pub key: String,
    pub org_id: String,
    pub db_path: PathBuf,
    db: Db,
    _dir: TempDir,
}

impl TestApp {
    pub fn spawn() -> TestApp {
        Self::spawn_with(|figment| figment)
    }

    /// Spawns with a configuration change (for example a smaller limit).
    pub fn spawn_with(
        configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
    ) -> TestApp {
        Self::spawn_with_options(DbOptions::default(), configure)
    }

    /// Spawns over a database opened with `options` (a small pool, a short
    /// busy timeout).
    pub fn spawn_with_options(
        options: DbOptions,
        configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("contacts.db");
        let (org_id, key) = create_org(&Db::open(&db_path).expect("open database"), "Acme");
        let db = Db::open_with(&db_path, options).expect("open database");
        let figment = configure(contactsd_server::app::figment().merge(("log_level", "off")));
        let client = Client::tracked(
            contactsd_server::app::build(figment, db.clone()).expect("valid settings"),
        )
        .expect("rocket");
        TestApp {
            client,
            key,
            org_id,
            db_path,
            db,
            _dir: dir,
        }
    }

    /// Another organization on the same database: `(org_id, key)`.
    pub fn other_org(&self) -> (String, String) {
        create_org(&self.db, "Other")
    }

    /// A direct connection to the test's database file.
    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db_path).expect("sqlite")
    }

    pub fn send(
        &self,
        method: rocket::http::Method,
        uri: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        let mut request = self.client.req(method, uri.to_string());
        if let Some(key) = key {
            request.add_header(Header::new("x-api-key", key.to_string()));
        }
        if let Some(body) = body {
            request.add_header(ContentType::JSON);
            request.set_body(body);
        }
        Self::answer(request.dispatch())
    }

    /// `POST uri` with `body` as JSON, the app's key and `headers`.
    pub fn post_with(&self, uri: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.client.post(uri.to_string());
        request.add_header(Header::new("x-api-key", self.key.clone()));
        request.add_header(ContentType::JSON);
        for (name, value) in headers {
            request.add_header(Header::new(name.to_string(), value.to_string()));
        }
        request.set_body(body.to_string());
        Self::answer(request.dispatch())
    }

    /// Reads a response into an [`Answer`], asserting its body is JSON.
    fn answer(response: rocket::local::blocking::LocalResponse<'_>) -> Answer {
        let status = response.status();
        let location = response.headers().get_one("Location").map(String::from);
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_lowercase(), h.value().to_string()))
            .collect();
        let text = response.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text:?}"));
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    /// Sends `body` as it is, with `content_type`, and the app's key.
    pub fn send_raw(
        &self,
        method: rocket::http::Method,
        uri: &str,
        content_type: ContentType,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self.client.req(method, uri.to_string());
        request.add_header(Header::new("x-api-key", self.key.clone()));
        request.add_header(content_type);
        request.set_body(body);
        Self::answer(request.dispatch())
    }

    pub fn get(&self, uri: &str) -> Answer {
        self.send(rocket::http::Method::Get, uri, Some(&self.key), None)
    }

    pub fn post(&self, uri: &str, body: &Value) -> Answer {
        self.send(
            rocket::http::Method::Post,
            uri,
            Some(&self.key),
            Some(body.to_string()),
        )
    }

    pub fn patch(&self, uri: &str, body: &Value) -> Answer {
        self.send(
            rocket::http::Method::Patch,
            uri,
            Some(&self.key),
            Some(body.to_string()),
        )
    }

    pub fn delete(&self, uri: &str) -> Answer {
        self.send(rocket::http::Method::Delete, uri, Some(&self.key), None)
    }

    /// Creates a contact and returns it, asserting 201.
    pub fn create_contact(&self, name: &str, phone: &str) -> Value {
        let answer = self.post(
            "/v1/contacts",
            &serde_json::json!({ "name": name, "phoneNumber": phone }),
        );
        assert_eq!(answer.status, Status::Created, "{}", answer.body);
        answer.body
    }

    /// The ids of `GET uri`'s `data`, in order.
    pub fn list_ids(&self, uri: &str) -> Vec<String> {
        let answer = self.get(uri);
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
        ids_of(&answer.body)
    }

    /// The names `GET /v1/contacts?search=…` finds.
    pub fn search_names(&self, search: &str) -> Vec<String> {
        let uri = format!("/v1/contacts?limit=100&search={}", encode(search));
        let answer = self.get(&uri);
        assert_eq!(answer.status, Status::Ok, "{search:?}: {}", answer.body);
        let mut names: Vec<String> = answer.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }
}

pub fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn create_org(db: &Db, name: &str) -> (String, String) {
    let (org, key) = db.create_org(name).expect("create org");
    (org.id, key.key)
}

/// Percent-encodes a query parameter value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `contactsd` binary with `args`, run in `dir`, with none of the
/// environment's settings for the database, config file or logs.
pub fn contactsd(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_contactsd"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("CONTACTSD_DATABASE")
        .env_remove("CONTACTSD_LOG_FORMAT")
        .env_remove("ROCKET_CONFIG")
        .env_remove("ROCKET_DATABASE")
        .env_remove("ROCKET_LOG_LEVEL");
    command
}

/// A running `contactsd serve` on a free port, stopped when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub port: u16,
    pub output: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and reads its output up to the launch line.
pub fn serve(dir: &Path, args: &[&str]) -> Server {
    serve_with(dir, args, &[])
}

/// Starts the server with `env` set and reads its output up to the
/// launch line.
pub fn serve_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut command = contactsd(dir, args);
    command.envs(env.iter().copied());
    let mut child = command
        .env("ROCKET_PORT", "0")
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_LOG_LEVEL", "normal")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().unwrap();
    let mut output = Vec::new();
    let mut port = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(at) = line.find("listening on http://127.0.0.1:") {
            let digits: String = line[at + 30..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            port = digits.parse().ok();
        }
        output.push(line);
        if port.is_some() {
            break;
        }
    }
    // Keep draining the log so the server never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        port: port.unwrap_or_else(|| panic!("server did not launch: {output:#?}")),
        output,
    }
}

/// One HTTP/1.1 request over a real socket: `(status, body)`.
pub fn http(port: u16, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = key
        .map(|k| format!("x-api-key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}
