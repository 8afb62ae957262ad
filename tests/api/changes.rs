//! The changes feed (CONTRACT.md, "Changes feed"): every write path gives
//! what it changes the next number, deletions stay as tombstones, and a
//! follower that applies the pages in order ends with the server's state.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Every change after `since`, read in pages of `limit`.
fn follow(app: &TestApp, since: i64, limit: i64) -> (Vec<Value>, i64) {
    let mut changes = Vec::new();
    let mut since = since;
    loop {
        let page = app.get(&format!("/v1/changes?since={since}&limit={limit}"));
        assert_eq!(page.status.code, 200, "{}", page.body);
        let data = page.body["data"].as_array().unwrap().clone();
        assert!(data.len() <= usize::try_from(limit).unwrap());
        let last = page.body["lastSeq"].as_i64().unwrap();
        if let Some(change) = data.last() {
            assert_eq!(change["seq"].as_i64().unwrap(), last);
        } else {
            assert_eq!(last, since);
        }
        for pair in data.windows(2) {
            assert!(
                pair[0]["seq"].as_i64() < pair[1]["seq"].as_i64(),
                "{pair:?}"
            );
        }
        changes.extend(data);
        since = last;
        if !page.body["hasMore"].as_bool().unwrap() {
            return (changes, since);
        }
    }
}

/// `(type, id, deleted)` of each change, in order.
fn summary(changes: &[Value]) -> Vec<(String, String, bool)> {
    changes
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
                c["deleted"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn latest(app: &TestApp) -> i64 {
    follow(app, 0, 1000).1
}

#[test]
fn each_write_path_makes_one_change_for_what_it_changed() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Asha Rao", "+14155550101");
    let id = contact["id"].as_str().unwrap().to_string();
    let (changes, after_create) = follow(&app, 0, 100);
    assert_eq!(summary(&changes), [("contact".into(), id.clone(), false)]);
    assert_eq!(changes[0]["object"], contact);

    // A PATCH that changes nothing makes no change; one that does moves
    // the contact to a new number, and it appears once.
    assert_eq!(
        app.patch(&format!("/v1/contacts/{id}"), &json!({"name": "Asha Rao"}))
            .status
            .code,
        200
    );
    assert_eq!(latest(&app), after_create);
    let patched = app
        .patch(&format!("/v1/contacts/{id}"), &json!({"name": "Asha R."}))
        .body;
    let (changes, after_patch) = follow(&app, 0, 100);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["object"], patched);
    assert!(after_patch > after_create);

    // An unchanged bulk upsert makes none; a changed one makes one.
    let bulk = |name: &str| {
        app.post(
            "/v1/contacts/bulk",
            &json!({"contacts": [{"name": name, "phoneNumber": "+14155550101"}]}),
        )
    };
    assert_eq!(bulk("Asha R.").status.code, 200);
    assert_eq!(latest(&app), after_patch);
    assert_eq!(bulk("Asha Rao").status.code, 200);
    assert!(latest(&app) > after_patch);

    // Membership: the membership and its audience (its count).
    let audience = app
        .post("/v1/audiences", &json!({"name": "Callbacks"}))
        .body;
    let aud = audience["id"].as_str().unwrap().to_string();
    let before = latest(&app);
    let added = app.post(
        &format!("/v1/audiences/{aud}/contacts"),
        &json!({"contactIds": [id]}),
    );
    assert_eq!(added.status.code, 200, "{}", added.body);
    let (changes, after_add) = follow(&app, before, 100);
    assert_eq!(
        summary(&changes),
        [
            ("membership".into(), format!("{aud}:{id}"), false),
            ("audience".into(), aud.clone(), false)
        ]
    );
    assert_eq!(
        changes[0]["object"],
        json!({"audienceId": aud, "contactId": id})
    );
    assert_eq!(changes[1]["object"]["contactCount"], 1);
    // Adding again changes nothing.
    app.post(
        &format!("/v1/audiences/{aud}/contacts"),
        &json!({"contactIds": [id]}),
    );
    assert_eq!(latest(&app), after_add);

    // A call record.
    let call = app
        .post(
            "/v1/calls",
            &json!({"contactId": id, "status": "completed"}),
        )
        .body;
    let (changes, after_call) = follow(&app, after_add, 100);
    assert_eq!(
        summary(&changes),
        [("call".into(), call["id"].as_str().unwrap().into(), false)]
    );
    assert_eq!(changes[0]["object"], call);

    // Deleting the contact: its membership and the contact are tombstones,
    // the audience changed (its count); the call record stays as it was.
    assert_eq!(app.delete(&format!("/v1/contacts/{id}")).status.code, 200);
    let (changes, _) = follow(&app, after_call, 100);
    let mut seen = summary(&changes);
    seen.sort();
    assert_eq!(
        seen,
        [
            ("audience".into(), aud.clone(), false),
            ("contact".into(), id.clone(), true),
            ("membership".into(), format!("{aud}:{id}"), true)
        ]
    );
    for change in &changes {
        if change["deleted"] == true {
            assert_eq!(change["object"], Value::Null);
        } else {
            assert_eq!(change["object"]["contactCount"], 0);
        }
    }
}

#[test]
fn deleting_an_audience_leaves_tombstones_for_it_and_its_memberships() {
    let app = TestApp::spawn();
    let a = app.create_contact("A", "+14155550111");
    let b = app.create_contact("B", "+14155550112");
    let ids = [a["id"].clone(), b["id"].clone()];
    let aud = app.post("/v1/audiences", &json!({"name": "X"})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/v1/audiences/{aud}/contacts"),
        &json!({"contactIds": ids}),
    );
    let before = latest(&app);
    assert_eq!(app.delete(&format!("/v1/audiences/{aud}")).status.code, 200);
    let (changes, _) = follow(&app, before, 100);
    let seen: BTreeSet<_> = summary(&changes).into_iter().collect();
    let expected: BTreeSet<_> = [
        ("audience".to_string(), aud.clone(), true),
        (
            "membership".to_string(),
            format!("{aud}:{}", ids[0].as_str().unwrap()),
            true,
        ),
        (
            "membership".to_string(),
            format!("{aud}:{}", ids[1].as_str().unwrap()),
            true,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, expected);
    // From the start, the audience and its memberships appear once each,
    // deleted; the contacts are live.
    let (all, _) = follow(&app, 0, 2);
    let ids_seen: Vec<_> = summary(&all).into_iter().map(|(_, id, _)| id).collect();
    let unique: BTreeSet<_> = ids_seen.iter().collect();
    assert_eq!(unique.len(), ids_seen.len(), "{ids_seen:?}");
}

#[test]
fn a_membership_removed_and_added_again_appears_once_live() {
    let app = TestApp::spawn();
    let c = app.create_contact("A", "+14155550121")["id"].clone();
    let aud = app.post("/v1/audiences", &json!({"name": "X"})).body["id"].clone();
    let aud = aud.as_str().unwrap();
    for path in ["contacts", "contacts/remove", "contacts"] {
        let answer = app.post(
            &format!("/v1/audiences/{aud}/{path}"),
            &json!({"contactIds": [c]}),
        );
        assert_eq!(answer.status.code, 200, "{}", answer.body);
    }
    let (changes, _) = follow(&app, 0, 100);
    let memberships: Vec<_> = summary(&changes)
        .into_iter()
        .filter(|(kind, _, _)| kind == "membership")
        .collect();
    assert_eq!(
        memberships,
        [(
            "membership".into(),
            format!("{aud}:{}", c.as_str().unwrap()),
            false
        )]
    );
}

#[test]
fn imports_make_changes_and_index_fills_do_not() {
    let app = TestApp::spawn();
    let accepted = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{"name": "A", "phoneNumber": "+14155550131", "tier": "gold"},
                             {"name": "B", "phoneNumber": "+14155550132"}]}),
    );
    let location = accepted.location.clone().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.get(&location).body["status"] != "COMPLETED" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (changes, after_import) = follow(&app, 0, 100);
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c["type"] == "contact"));
    let declared = app.send(
        rocket::http::Method::Put,
        "/v1/indexes/metadata.tier",
        Some(&app.key),
        None,
    );
    assert!(
        declared.status.code == 200 || declared.status.code == 201,
        "{}",
        declared.body
    );
    assert_eq!(latest(&app), after_import);
}

#[test]
fn types_filter_and_organizations_are_apart() {
    let app = TestApp::spawn();
    let c = app.create_contact("A", "+14155550141");
    app.post(
        "/v1/calls",
        &json!({"contactId": c["id"], "status": "completed"}),
    );
    let calls = app.get("/v1/changes?types=call").body;
    assert_eq!(calls["data"].as_array().unwrap().len(), 1);
    assert_eq!(calls["data"][0]["type"], "call");
    let (_, other_key) = app.other_org();
    let theirs = app.send(
        rocket::http::Method::Get,
        "/v1/changes",
        Some(&other_key),
        None,
    );
    assert_eq!(theirs.status.code, 200);
    assert_eq!(
        theirs.body,
        json!({"data": [], "lastSeq": 0, "hasMore": false})
    );
}

#[test]
fn bad_positions_and_parameters_are_refused_as_the_contract_says() {
    let app = TestApp::spawn();
    app.create_contact("A", "+14155550151");
    let latest = latest(&app);
    for (query, status, code) in [
        ("since=-1", 400, "bad_request"),
        ("since=abc", 400, "bad_request"),
        ("cursor=x", 400, "bad_request"),
        ("limit=0", 422, "validation_failed"),
        ("limit=1001", 422, "validation_failed"),
        ("types=contact,person", 422, "validation_failed"),
    ] {
        app.get(&format!("/v1/changes?{query}"))
            .assert_error(status, code);
    }
    // A position after the latest change: the database is older than the
    // consumer (restored from an older copy).
    let ahead = app.get(&format!("/v1/changes?since={}", latest + 1));
    ahead.assert_error(410, "changes_expired");
    assert_eq!(ahead.body["latestSeq"], latest);
    let current = app.get(&format!("/v1/changes?since={latest}"));
    assert_eq!(current.status.code, 200);
    // The latest number, for a consumer that starts from now.
    let calls_only = app.get("/v1/changes?types=call&limit=1");
    for answer in [current, calls_only] {
        assert_eq!(
            answer.header("x-latest-seq"),
            Some(latest.to_string().as_str())
        );
    }
}

/// The state a follower keeps: each object by type and id.
#[derive(Default, Debug, PartialEq)]
struct Copy(BTreeMap<(String, String), Value>);

impl Copy {
    fn apply(&mut self, changes: &[Value]) {
        for change in changes {
            let key = (
                change["type"].as_str().unwrap().to_string(),
                change["id"].as_str().unwrap().to_string(),
            );
            if change["deleted"] == true {
                self.0.remove(&key);
            } else {
                self.0.insert(key, change["object"].clone());
            }
        }
    }
}

/// The server's state read through the ordinary routes.
fn server_state(app: &TestApp) -> Copy {
    let mut state = Copy::default();
    let all = |path: &str| -> Vec<Value> {
        let mut rows = Vec::new();
        for page in 1.. {
            let answer = app.get(&format!(
                "{path}{}limit=100&page={page}",
                if path.contains('?') { "&" } else { "?" }
            ));
            assert_eq!(answer.status.code, 200, "{}", answer.body);
            let data = answer.body["data"].as_array().unwrap().clone();
            let done = data.len() < 100;
            rows.extend(data);
            if done {
                break;
            }
        }
        rows
    };
    for contact in all("/v1/contacts") {
        state.0.insert(
            ("contact".into(), contact["id"].as_str().unwrap().into()),
            contact,
        );
    }
    for audience in all("/v1/audiences") {
        let aud = audience["id"].as_str().unwrap().to_string();
        for member in all(&format!("/v1/audiences/{aud}/contacts")) {
            let contact = member["id"].as_str().unwrap();
            state.0.insert(
                ("membership".into(), format!("{aud}:{contact}")),
                json!({"audienceId": aud, "contactId": contact}),
            );
        }
        state.0.insert(("audience".into(), aud), audience);
    }
    for call in all("/v1/calls") {
        state
            .0
            .insert(("call".into(), call["id"].as_str().unwrap().into()), call);
    }
    state
}

#[test]
fn a_follower_reading_small_pages_among_random_writes_ends_with_the_servers_state() {
    let app = TestApp::spawn();
    let mut copy = Copy::default();
    let mut since = 0;
    // A small deterministic generator: the same writes every run.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut contacts: Vec<String> = Vec::new();
    let mut audiences: Vec<String> = Vec::new();
    for step in 0..300 {
        match next(10) {
            0 | 1 => {
                let c = app.create_contact(
                    &format!("Person {step}"),
                    &format!("+1415555{:04}", 1000 + step),
                );
                contacts.push(c["id"].as_str().unwrap().to_string());
            }
            2 if !contacts.is_empty() => {
                let id = &contacts[usize::try_from(next(contacts.len() as u64)).unwrap()];
                app.patch(
                    &format!("/v1/contacts/{id}"),
                    &json!({"metadata": {"n": step}}),
                );
            }
            3 if !contacts.is_empty() => {
                let i = usize::try_from(next(contacts.len() as u64)).unwrap();
                let id = contacts.swap_remove(i);
                app.delete(&format!("/v1/contacts/{id}"));
            }
            4 => {
                let rows: Vec<Value> = (0..3)
                    .map(|k| json!({"name": format!("Bulk {}", next(5)), "phoneNumber": format!("+1415556{:04}", next(40) + k)}))
                    .collect();
                let answer = app.post("/v1/contacts/bulk", &json!({"contacts": rows}));
                for contact in answer.body["contacts"].as_array().into_iter().flatten() {
                    let id = contact["id"].as_str().unwrap().to_string();
                    if !contacts.contains(&id) {
                        contacts.push(id);
                    }
                }
            }
            5 if audiences.len() < 4 => {
                let a = app
                    .post(
                        "/v1/audiences",
                        &json!({"name": format!("Audience {step}")}),
                    )
                    .body;
                audiences.push(a["id"].as_str().unwrap().to_string());
            }
            6 | 7 if !audiences.is_empty() && !contacts.is_empty() => {
                let aud = &audiences[usize::try_from(next(audiences.len() as u64)).unwrap()];
                let id = &contacts[usize::try_from(next(contacts.len() as u64)).unwrap()];
                let path = if next(3) == 0 {
                    "contacts/remove"
                } else {
                    "contacts"
                };
                app.post(
                    &format!("/v1/audiences/{aud}/{path}"),
                    &json!({"contactIds": [id]}),
                );
            }
            8 if !contacts.is_empty() => {
                let id = &contacts[usize::try_from(next(contacts.len() as u64)).unwrap()];
                app.post(
                    "/v1/calls",
                    &json!({"contactId": id, "status": "completed"}),
                );
            }
            9 if !audiences.is_empty() && next(4) == 0 => {
                let aud =
                    audiences.swap_remove(usize::try_from(next(audiences.len() as u64)).unwrap());
                app.delete(&format!("/v1/audiences/{aud}"));
            }
            _ => {}
        }
        // Now and then the follower reads a small page or two.
        if next(3) == 0 {
            let page = app.get(&format!("/v1/changes?since={since}&limit=3"));
            assert_eq!(page.status.code, 200, "{}", page.body);
            copy.apply(page.body["data"].as_array().unwrap());
            since = page.body["lastSeq"].as_i64().unwrap();
        }
    }
    let (rest, _) = follow(&app, since, 7);
    copy.apply(&rest);
    assert_eq!(copy, server_state(&app));
    // A consumer starting from scratch gets the same state.
    let mut fresh = Copy::default();
    fresh.apply(&follow(&app, 0, 1000).0);
    assert_eq!(fresh, copy);
}

#[test]
fn pruned_tombstones_make_older_positions_expire_and_zero_still_works() {
    use crate::helpers::{http, serve_with};
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let env = [("ROCKET_CHANGES_RETENTION_DAYS", "0")];
    let (kept, deleted_seq) = {
        let server = serve_with(dir.path(), &["serve"], &env);
        let create = |phone: &str| {
            let (status, body) = http(
                server.port,
                "POST",
                "/v1/contacts",
                Some(&key),
                &json!({"name": "A", "phoneNumber": phone}).to_string(),
            );
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        };
        let (gone, kept) = (create("+14155550161"), create("+14155550162"));
        let (status, _) = http(
            server.port,
            "DELETE",
            &format!("/v1/contacts/{gone}"),
            Some(&key),
            "",
        );
        assert_eq!(status, 200);
        let (_, page) = http(server.port, "GET", "/v1/changes?since=2", Some(&key), "");
        assert_eq!(page["data"][0]["deleted"], true, "{page}");
        (kept, page["lastSeq"].as_i64().unwrap())
    };
    // Started again, the server prunes the tombstone (a retention of 0
    // days) before it serves: a consumer at 1 may have missed it.
    let server = serve_with(dir.path(), &["serve"], &env);
    let (status, body) = http(server.port, "GET", "/v1/changes?since=1", Some(&key), "");
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("changes_expired")),
        "{body}"
    );
    let (status, body) = http(
        server.port,
        "GET",
        &format!("/v1/changes?since={deleted_seq}"),
        Some(&key),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(server.port, "GET", "/v1/changes?since=0", Some(&key), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        summary(body["data"].as_array().unwrap()),
        [("contact".into(), kept, false)]
    );
}

/// A server-sent events reader over a real socket (HTTP/1.0, so the body
/// is the bytes as sent, not chunked).
struct Stream {
    reader: std::io::BufReader<std::net::TcpStream>,
    pub status: u16,
    pub head: String,
}

impl Stream {
    fn open(port: u16, path: &str, key: &str, headers: &[(&str, &str)]) -> Stream {
        use std::io::{BufRead, Write};
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A bound on every read, so a missing event fails instead of hanging.
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let extra: Vec<String> = headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect();
        let extra = extra.concat();
        write!(
            socket,
            "GET {path} HTTP/1.0\r\nHost: x\r\nx-api-key: {key}\r\n{extra}\r\n"
        )
        .unwrap();
        let mut reader = std::io::BufReader::new(socket);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let status = head[9..12].parse().unwrap();
        Stream {
            reader,
            status,
            head,
        }
    }

    /// The next `change` event: its id and data.
    fn next_change(&mut self) -> (i64, Value) {
        use std::io::BufRead;
        let (mut id, mut data, mut event) = (None, None, None);
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).unwrap();
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if let (Some(id), Some(data), Some("change")) = (id, data.take(), event.as_deref())
                {
                    return (id, data);
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("id:") {
                id = Some(value.trim().parse().unwrap());
            } else if let Some(value) = line.strip_prefix("data:") {
                data = Some(serde_json::from_str(value.trim()).unwrap());
            } else if let Some(value) = line.strip_prefix("event:") {
                event = Some(value.trim().to_string());
            }
        }
    }

    /// The rest of the answer's body (for an error answer).
    fn body(mut self) -> Value {
        use std::io::Read;
        let mut text = String::new();
        self.reader.read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

#[test]
fn a_stream_sends_what_commits_and_a_reconnect_with_last_event_id_misses_nothing() {
    use crate::helpers::{http, serve};
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let server = serve(dir.path(), &["serve"]);
    let create = |name: &str, phone: &str| -> String {
        let body = json!({"name": name, "phoneNumber": phone}).to_string();
        let (status, body) = http(server.port, "POST", "/v1/contacts", Some(&key), &body);
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    };
    let a = create("A", "+14155550171");

    let mut stream = Stream::open(server.port, "/v1/changes/stream", &key, &[]);
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert!(
        stream
            .head
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{}",
        stream.head
    );
    let (first, change) = stream.next_change();
    assert_eq!((first, change["id"].as_str()), (1, Some(a.as_str())));
    // Live: a write that commits while the stream is open reaches it.
    let b = create("B", "+14155550172");
    let (second, change) = stream.next_change();
    assert_eq!(change["id"], b.as_str());
    assert_eq!(change["seq"], second);
    drop(stream);

    // Missed while disconnected, then sent on reconnecting.
    let c = create("C", "+14155550173");
    let (status, _) = http(
        server.port,
        "DELETE",
        &format!("/v1/contacts/{a}"),
        Some(&key),
        "",
    );
    assert_eq!(status, 200);
    let mut stream = Stream::open(
        server.port,
        "/v1/changes/stream",
        &key,
        &[("Last-Event-ID", &second.to_string())],
    );
    let (_, change) = stream.next_change();
    assert_eq!(change["id"], c.as_str());
    let (_, change) = stream.next_change();
    assert_eq!(
        (change["id"].as_str(), change["deleted"].as_bool()),
        (Some(a.as_str()), Some(true))
    );
    let d = create("D", "+14155550174");
    assert_eq!(stream.next_change().1["id"], d.as_str());

    // `since` wins over the header; `types` filters.
    let mut calls_only = Stream::open(
        server.port,
        "/v1/changes/stream?since=0&types=call",
        &key,
        &[("Last-Event-ID", "3")],
    );
    let (status, _) = http(
        server.port,
        "POST",
        "/v1/calls",
        Some(&key),
        &json!({"contactId": d, "status": "completed"}).to_string(),
    );
    assert_eq!(status, 201);
    assert_eq!(calls_only.next_change().1["type"], "call");

    // Refusals are ordinary error answers, before any event.
    let ahead = Stream::open(server.port, "/v1/changes/stream?since=999", &key, &[]);
    assert_eq!(ahead.status, 410);
    assert_eq!(ahead.body()["code"], "changes_expired");
    let bad = Stream::open(
        server.port,
        "/v1/changes/stream",
        &key,
        &[("Last-Event-ID", "abc")],
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body()["details"][0]["field"], "Last-Event-ID");
}

#[test]
fn a_stream_hears_of_writes_by_another_process() {
    use crate::helpers::{contactsd, serve};
    let dir = tempfile::tempdir().unwrap();
    let (org_id, key) = new_org(dir.path());
    let server = serve(dir.path(), &["serve"]);
    let mut stream = Stream::open(server.port, "/v1/changes/stream", &key, &[]);
    assert_eq!(stream.status, 200);
    std::fs::write(
        dir.path().join("people.csv"),
        "name,phone\nAsha,+14155550181\n",
    )
    .unwrap();
    let imported = contactsd(dir.path(), &["import", "people.csv", "--org", &org_id])
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let (_, change) = stream.next_change();
    assert_eq!(change["object"]["name"], "Asha");
}

#[test]
fn the_cli_prints_the_feed_as_ndjson_and_follows_it() {
    use std::io::BufRead;
    let app = TestApp::spawn();
    let contact = app.create_contact("Asha", "+14155550191");
    app.post(
        "/v1/calls",
        &json!({"contactId": contact["id"], "status": "completed"}),
    );
    let db = app.db_path.to_str().unwrap().to_string();
    let dir = app.db_path.parent().unwrap().to_path_buf();
    let run = |args: &[&str]| {
        let mut all = vec!["--database", db.as_str()];
        all.extend_from_slice(args);
        crate::helpers::contactsd(&dir, &all).output().unwrap()
    };
    let printed = run(&["changes", "--org", &app.org_id]);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(printed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        app.get("/v1/changes").body["data"]
            .as_array()
            .unwrap()
            .clone()
    );
    let calls = run(&[
        "changes",
        "--org",
        &app.org_id,
        "--since",
        "1",
        "--types",
        "call",
    ]);
    assert_eq!(String::from_utf8(calls.stdout).unwrap().lines().count(), 1);
    let ahead = run(&["changes", "--org", &app.org_id, "--since", "99"]);
    assert_eq!(ahead.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&ahead.stderr).contains("start again from 0"));

    let mut follower = crate::helpers::contactsd(
        &dir,
        &[
            "--database",
            &db,
            "changes",
            "--org",
            &app.org_id,
            "--since",
            "2",
            "--follow",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let made = app.create_contact("Ravi", "+14155550192");
    // A bound on the wait, so a follower that never prints fails the test.
    let line = lines_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    let change: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(change["id"], made["id"]);
    follower.kill().unwrap();
    follower.wait().unwrap();
}

#[test]
fn the_documented_python_consumer_keeps_an_exact_copy_and_resumes() {
    use crate::helpers::{http, serve};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("docs/examples/follow_changes.py");
    let doc = std::fs::read_to_string(root.join("docs/changes.md")).unwrap();
    assert!(
        doc.contains(std::fs::read_to_string(&script).unwrap().trim()),
        "docs/changes.md shows docs/examples/follow_changes.py as it is"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let server = serve(dir.path(), &["serve"]);
    let port = server.port;
    let call = |method: &str, path: &str, body: Value| {
        let (status, answer) = http(port, method, path, Some(&key), &body.to_string());
        assert!(status < 300, "{method} {path}: {status} {answer}");
        answer
    };
    let a = call(
        "POST",
        "/v1/contacts",
        json!({"name": "A", "phoneNumber": "+14155550201"}),
    );
    let b = call(
        "POST",
        "/v1/contacts",
        json!({"name": "B", "phoneNumber": "+14155550202"}),
    );
    let aud = call("POST", "/v1/audiences", json!({"name": "X"}));
    let aud_id = aud["id"].as_str().unwrap().to_string();
    call(
        "POST",
        &format!("/v1/audiences/{aud_id}/contacts"),
        json!({"contactIds": [a["id"], b["id"]]}),
    );
    call(
        "POST",
        "/v1/calls",
        json!({"contactId": a["id"], "status": "completed"}),
    );

    let copy = dir.path().join("copy.db");
    let consume = || {
        let ran = std::process::Command::new("python3")
            .arg(&script)
            .arg(&copy)
            .arg("--once")
            .env("CONTACTSD_URL", format!("http://127.0.0.1:{port}"))
            .env("CONTACTSD_KEY", &key)
            .output()
            .unwrap();
        assert!(
            ran.status.success(),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let mut stmt = conn
            .prepare("SELECT type, id, object FROM objects")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                let object: String = r.get(2)?;
                Ok((
                    (r.get(0)?, r.get(1)?),
                    serde_json::from_str::<Value>(&object).unwrap(),
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect::<BTreeMap<(String, String), Value>>();
        rows
    };
    let server_state = || {
        let mut state = BTreeMap::new();
        let list = |path: &str| {
            call("GET", path, json!(null))["data"]
                .as_array()
                .unwrap()
                .clone()
        };
        for c in list("/v1/contacts?limit=100") {
            state.insert(
                ("contact".to_string(), c["id"].as_str().unwrap().to_string()),
                c,
            );
        }
        for a in list("/v1/audiences?limit=100") {
            let aud = a["id"].as_str().unwrap().to_string();
            for m in list(&format!("/v1/audiences/{aud}/contacts?limit=100")) {
                let contact = m["id"].as_str().unwrap();
                state.insert(
                    ("membership".to_string(), format!("{aud}:{contact}")),
                    json!({"audienceId": aud, "contactId": contact}),
                );
            }
            state.insert(("audience".to_string(), aud), a);
        }
        for c in list("/v1/calls?limit=100") {
            state.insert(
                ("call".to_string(), c["id"].as_str().unwrap().to_string()),
                c,
            );
        }
        state
    };
    assert_eq!(consume(), server_state());
    // More writes, a deletion among them; the consumer resumes from the
    // position it stored.
    call(
        "DELETE",
        &format!("/v1/contacts/{}", b["id"].as_str().unwrap()),
        json!(null),
    );
    call(
        "PATCH",
        &format!("/v1/audiences/{aud_id}"),
        json!({"name": "Y"}),
    );
    call(
        "POST",
        "/v1/contacts",
        json!({"name": "C", "phoneNumber": "+14155550203"}),
    );
    let resumed = consume();
    assert_eq!(resumed, server_state());
    assert_eq!(resumed.len(), 5, "{resumed:?}");
}

#[test]
fn deleting_the_organization_ends_its_open_streams() {
    use crate::helpers::{contactsd, serve};
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (org_id, key) = new_org(dir.path());
    let server = serve(dir.path(), &["serve"]);
    let stream = Stream::open(server.port, "/v1/changes/stream", &key, &[]);
    assert_eq!(stream.status, 200);
    let deleted = contactsd(dir.path(), &["org", "delete", &org_id, "--yes"])
        .output()
        .unwrap();
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    // The server ends the stream (within about a second: it looks for
    // other processes' writes once a second). Heartbeats keep each read
    // short, so the bound is on the whole wait.
    let (ended, end) = std::sync::mpsc::channel();
    let mut reader = stream.reader;
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let read = reader.read_to_end(&mut rest);
        let _ = ended.send((read.is_ok(), String::from_utf8_lossy(&rest).into_owned()));
    });
    let (closed, text) = end
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the stream ends");
    assert!(closed, "{text}");
    assert!(!text.contains("event: change"), "{text}");
}

/// `POST path` with `body` over a real socket; `None` when the server is
/// gone (killed mid-request).
fn try_post(port: u16, key: &str, path: &str, body: &Value) -> Option<(u16, Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let json = answer.split_once("\r\n\r\n")?.1;
    Some((status, serde_json::from_str(json).ok()?))
}

#[test]
fn a_follower_converges_across_a_sigkill_and_no_acknowledged_write_is_missing() {
    use crate::helpers::serve;
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let mut server = serve(dir.path(), &["serve"]);
    let port = Arc::new(AtomicU16::new(server.port));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    // A writer that keeps sending bulk upserts of 20 new contacts, through
    // the kill and after the restart, and keeps what was acknowledged.
    let writer = {
        let (port, acked, sent, key) = (
            Arc::clone(&port),
            Arc::clone(&acked),
            Arc::clone(&sent),
            key.clone(),
        );
        std::thread::spawn(move || {
            for batch in 0..60 {
                let rows: Vec<Value> = (0..20)
                    .map(|i| json!({"name": format!("W{batch}-{i}"), "phoneNumber": format!("+1415{:07}", 3_000_000 + batch * 20 + i)}))
                    .collect();
                sent.fetch_add(1, Ordering::SeqCst);
                loop {
                    match try_post(
                        port.load(Ordering::SeqCst),
                        &key,
                        "/v1/contacts/bulk",
                        &json!({"contacts": rows}),
                    ) {
                        Some((200, answer)) => {
                            let mut acked = acked.lock().unwrap();
                            for contact in answer["contacts"].as_array().unwrap() {
                                acked.push(contact["id"].as_str().unwrap().to_string());
                            }
                            break;
                        }
                        // The server is down: try again once it is back
                        // (an upsert by phone number is safe to repeat).
                        _ => std::thread::yield_now(),
                    }
                }
            }
        })
    };
    let mut copy = Copy::default();
    let mut since = 0;
    let read_page = |port: u16, copy: &mut Copy, since: &mut i64| -> bool {
        let (status, page) = crate::helpers::http(
            port,
            "GET",
            &format!("/v1/changes?since={since}&limit=7"),
            Some(&key),
            "",
        );
        assert_eq!(status, 200, "{page}");
        copy.apply(page["data"].as_array().unwrap());
        *since = page["lastSeq"].as_i64().unwrap();
        page["hasMore"].as_bool().unwrap()
    };
    // Follow while the writer runs, then kill the server mid-write.
    while sent.load(Ordering::SeqCst) < 20 {
        read_page(server.port, &mut copy, &mut since);
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let restarted = serve(dir.path(), &["serve"]);
    port.store(restarted.port, Ordering::SeqCst);
    writer.join().unwrap();
    while read_page(restarted.port, &mut copy, &mut since) {}
    // Every acknowledged contact is in the copy, and the copy is the
    // server's state.
    let ids: std::collections::BTreeSet<&str> = copy.0.keys().map(|(_, id)| id.as_str()).collect();
    let acked = acked.lock().unwrap();
    assert_eq!(acked.len(), 1200);
    for id in acked.iter() {
        assert!(ids.contains(id.as_str()), "acknowledged {id} is missing");
    }
    let (_, listed) = crate::helpers::http(
        restarted.port,
        "GET",
        "/v1/contacts?limit=1",
        Some(&key),
        "",
    );
    assert_eq!(listed["total"].as_u64().unwrap() as usize, copy.0.len());
    drop(server);
}

#[test]
fn a_consumer_ahead_of_a_restored_older_copy_is_told_to_start_again() {
    use crate::helpers::{contactsd, http, serve};
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let create = |port: u16, phone: &str| {
        let body = json!({"name": "A", "phoneNumber": phone}).to_string();
        assert_eq!(http(port, "POST", "/v1/contacts", Some(&key), &body).0, 201);
    };
    let ahead = {
        let server = serve(dir.path(), &["serve"]);
        create(server.port, "+14155550341");
        let backup = contactsd(dir.path(), &["backup", "older.db"])
            .output()
            .unwrap();
        assert!(
            backup.status.success(),
            "{}",
            String::from_utf8_lossy(&backup.stderr)
        );
        create(server.port, "+14155550342");
        create(server.port, "+14155550343");
        let (_, page) = http(server.port, "GET", "/v1/changes", Some(&key), "");
        page["lastSeq"].as_i64().unwrap()
    };
    let restored = contactsd(dir.path(), &["restore", "older.db"])
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let server = serve(dir.path(), &["serve"]);
    let (status, body) = http(
        server.port,
        "GET",
        &format!("/v1/changes?since={ahead}"),
        Some(&key),
        "",
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("changes_expired")),
        "{body}"
    );
    assert_eq!(body["latestSeq"], 1);
    let (status, body) = http(server.port, "GET", "/v1/changes?since=0", Some(&key), "");
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}

#[test]
fn many_streams_of_one_organization_each_get_every_change_once() {
    use crate::helpers::{http, serve};
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = new_org(dir.path());
    let server = serve(dir.path(), &["serve"]);
    let create = |phone: &str| -> String {
        let body = json!({"name": "A", "phoneNumber": phone}).to_string();
        let (status, answer) = http(server.port, "POST", "/v1/contacts", Some(&key), &body);
        assert_eq!(status, 201);
        answer["id"].as_str().unwrap().to_string()
    };
    let mut streams: Vec<Stream> = (0..5)
        .map(|_| Stream::open(server.port, "/v1/changes/stream", &key, &[]))
        .collect();
    let first = create("+14155550351");
    for stream in &mut streams {
        assert_eq!(stream.next_change().1["id"], first.as_str());
    }
    // One more joins later, from the start; one takes calls only.
    streams.push(Stream::open(
        server.port,
        "/v1/changes/stream?since=0",
        &key,
        &[],
    ));
    let mut calls = Stream::open(server.port, "/v1/changes/stream?types=call", &key, &[]);
    assert_eq!(streams[5].next_change().1["id"], first.as_str());
    let second = create("+14155550352");
    let body = json!({"contactId": second, "status": "completed"}).to_string();
    let (_, call) = http(server.port, "POST", "/v1/calls", Some(&key), &body);
    for stream in &mut streams {
        let (seq, change) = stream.next_change();
        assert_eq!(change["id"], second.as_str());
        let (next, change) = stream.next_change();
        assert!(next > seq);
        assert_eq!(change["id"], call["id"]);
    }
    assert_eq!(calls.next_change().1["id"], call["id"]);
}

/// A new organization on the database in `dir`, made with the CLI: its id
/// and key.
fn new_org(dir: &std::path::Path) -> (String, String) {
    let made = crate::helpers::contactsd(dir, &["org", "create", "A"])
        .output()
        .unwrap();
    let org: Value = serde_json::from_slice(&made.stdout).unwrap();
    (
        org["id"].as_str().unwrap().to_string(),
        org["apiKey"].as_str().unwrap().to_string(),
    )
}
