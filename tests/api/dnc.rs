//! The do-not-call list (CONTRACT.md, "Do-not-call and calling hours").

use rocket::http::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

#[test]
fn numbers_are_added_by_any_spelling_with_per_item_errors() {
    let app = TestApp::spawn();
    let answer = app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+91 98765-43210", "+919876543210", "12345", "+14155550101"],
                "reason": "Asked on a call", "source": "agent"}),
    );
    assert_eq!(answer.status.code, 200, "{}", answer.body);
    assert_eq!(answer.body["added"], 2);
    assert_eq!(answer.body["alreadyListed"], 1);
    assert_eq!(answer.body["failed"], 1);
    assert_eq!(answer.body["errors"][0]["index"], 2);
    assert_eq!(answer.body["errors"][0]["field"], "phoneNumber");
    let again = app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+14155550101"]}),
    );
    assert_eq!(
        (
            again.body["added"].clone(),
            again.body["alreadyListed"].clone()
        ),
        (json!(0), json!(1))
    );

    // Any spelling finds the entry; it keeps its first reason.
    let entry = app.get("/v1/do-not-call/%2B91%2098765-43210");
    assert_eq!(entry.status.code, 200, "{}", entry.body);
    let mut keys: Vec<&str> = entry
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["createdAt", "phoneNumber", "reason", "source"]);
    assert_eq!(entry.body["phoneNumber"], "+919876543210");
    assert_eq!(
        (entry.body["reason"].as_str(), entry.body["source"].as_str()),
        (Some("Asked on a call"), Some("agent"))
    );

    let listed = app.get("/v1/do-not-call?search=98765").body;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["phoneNumber"], "+919876543210");
    assert_eq!(app.get("/v1/do-not-call").body["total"], 2);

    assert_eq!(
        app.delete("/v1/do-not-call/%2B919876543210").body,
        json!({"success": true})
    );
    app.get("/v1/do-not-call/%2B919876543210")
        .assert_error(404, "not_found");
    app.delete("/v1/do-not-call/%2B919876543210")
        .assert_error(404, "not_found");
    app.get("/v1/do-not-call/not-a-number")
        .assert_error(404, "not_found");
}

#[test]
fn entries_outlive_contacts_and_stay_in_their_organization() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Asha", "+14155550111");
    app.post(
        "/v1/do-not-call",
        &json!({"phoneNumbers": ["+14155550111"]}),
    );
    app.delete(&format!("/v1/contacts/{}", contact["id"].as_str().unwrap()));
    assert_eq!(app.get("/v1/do-not-call/%2B14155550111").status.code, 200);
    let (_, other) = app.other_org();
    let theirs = app.send(
        Method::Get,
        "/v1/do-not-call/%2B14155550111",
        Some(&other),
        None,
    );
    theirs.assert_error(404, "not_found");
    let theirs = app.send(Method::Get, "/v1/do-not-call", Some(&other), None);
    assert_eq!(theirs.body["total"], 0);
}

#[test]
fn bad_bodies_are_refused_whole() {
    let app = TestApp::spawn();
    for (body, field) in [
        (json!({}), "phoneNumbers"),
        (json!({"phoneNumbers": []}), "phoneNumbers"),
        (json!({"phoneNumbers": "+14155550101"}), "phoneNumbers"),
        (
            json!({"phoneNumbers": ["+14155550101"], "reason": "x".repeat(201)}),
            "reason",
        ),
        (
            json!({"phoneNumbers": ["+14155550101"], "source": 7}),
            "source",
        ),
        (
            json!({"phoneNumbers": ["+14155550101"], "note": "x"}),
            "note",
        ),
    ] {
        let answer = app.post("/v1/do-not-call", &body);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field], "{body}");
    }
    let many: Vec<Value> = (0..1001)
        .map(|i| json!(format!("+1415555{i:04}")))
        .collect();
    app.post("/v1/do-not-call", &json!({"phoneNumbers": many}))
        .assert_error(413, "payload_too_large");
    assert_eq!(app.get("/v1/do-not-call").body["total"], 0);
}

#[test]
fn the_cli_imports_a_list_from_a_file() {
    let app = TestApp::spawn();
    let dir = app.db_path.parent().unwrap().to_path_buf();
    let db = app.db_path.to_str().unwrap().to_string();
    std::fs::write(
        dir.join("plain.txt"),
        "+14155550121\n\n+1 415 555 0122\nnot a number\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("list.csv"),
        "Name,Mobile\nAsha,+14155550121\nRavi,+919876543210\n",
    )
    .unwrap();
    let run = |file: &str| -> Value {
        let out = crate::helpers::contactsd(
            &dir,
            &[
                "--database",
                &db,
                "dnc",
                "import",
                file,
                "--org",
                &app.org_id,
            ],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(
        run("plain.txt"),
        json!({"added": 2, "alreadyListed": 0, "failed": 1})
    );
    assert_eq!(
        run("list.csv"),
        json!({"added": 1, "alreadyListed": 1, "failed": 0})
    );
    assert_eq!(app.get("/v1/do-not-call").body["total"], 3);
    let unknown = crate::helpers::contactsd(
        &dir,
        &[
            "--database",
            &db,
            "dnc",
            "import",
            "list.csv",
            "--org",
            "org_nope",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
}

#[test]
fn calling_hours_default_to_nine_to_nine_and_are_set_strictly() {
    let app = TestApp::spawn();
    assert_eq!(
        app.get("/v1/settings/calling-hours").body,
        json!({"start": "09:00", "end": "21:00", "days": [1, 2, 3, 4, 5, 6, 7]})
    );
    let set = json!({"start": "08:30", "end": "24:00", "days": [6, 1, 2]});
    let put = app.send(
        Method::Put,
        "/v1/settings/calling-hours",
        Some(&app.key),
        Some(set.to_string()),
    );
    assert_eq!(put.status.code, 200, "{}", put.body);
    let stored = json!({"start": "08:30", "end": "24:00", "days": [1, 2, 6]});
    assert_eq!(put.body, stored);
    assert_eq!(app.get("/v1/settings/calling-hours").body, stored);
    for (body, field) in [
        (
            json!({"start": "21:00", "end": "09:00", "days": [1]}),
            "end",
        ),
        (
            json!({"start": "9am", "end": "21:00", "days": [1]}),
            "start",
        ),
        (
            json!({"start": "09:00", "end": "21:00", "days": [8]}),
            "days",
        ),
        (json!({"start": "09:00", "end": "21:00"}), "days"),
    ] {
        let refused = app.send(
            Method::Put,
            "/v1/settings/calling-hours",
            Some(&app.key),
            Some(body.to_string()),
        );
        refused.assert_error(422, "validation_failed");
        assert!(
            refused.detail_fields().contains(&field.to_string()),
            "{body}: {}",
            refused.body
        );
    }
    assert_eq!(app.get("/v1/settings/calling-hours").body, stored);
    // Another organization keeps its own.
    let (_, other) = app.other_org();
    let theirs = app.send(
        Method::Get,
        "/v1/settings/calling-hours",
        Some(&other),
        None,
    );
    assert_eq!(theirs.body["days"], json!([1, 2, 3, 4, 5, 6, 7]));
}
