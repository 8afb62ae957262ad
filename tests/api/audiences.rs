//! `/v1/audiences` and the contacts' add/remove-to-audience operations.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn create_audience(app: &TestApp, name: &str) -> Value {
    let answer = app.post("/v1/audiences", &json!({ "name": name }));
    assert_eq!(answer.status, Status::Created, "{}", answer.body);
    answer.body
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn contact_count(app: &TestApp, audience: &Value) -> Value {
    app.get(&format!("/v1/audiences/{}", id(audience))).body["contactCount"].clone()
}

#[test]
fn create_get_patch_and_delete_an_audience() {
    let app = TestApp::spawn();
    let answer = app.post(
        "/v1/audiences",
        &json!({"name": "  VIP customers ", "description": "Top tier"}),
    );
    assert_eq!(answer.status, Status::Created);
    let audience = answer.body;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/v1/audiences/{}", id(&audience)).as_str())
    );
    assert!(id(&audience).starts_with("aud_"));
    let keys: Vec<&str> = audience
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "description",
            "contactCount",
            "organizationId",
            "createdAt",
            "updatedAt"
        ]
    );
    assert_eq!(audience["name"], "VIP customers");
    assert_eq!(audience["contactCount"], 0);
    assert_eq!(audience["organizationId"], app.org_id.as_str());

    let uri = format!("/v1/audiences/{}", id(&audience));
    assert_eq!(app.get(&uri).body, audience);
    let same = app.patch(&uri, &json!({"name": "VIP customers"}));
    assert_eq!(same.body, audience);
    let patched = app.patch(&uri, &json!({"description": null}));
    assert_eq!(patched.body["description"], Value::Null);
    assert!(patched.body["updatedAt"].as_str() > audience["updatedAt"].as_str());

    assert_eq!(app.delete(&uri).body, json!({"success": true}));
    app.get(&uri).assert_error(404, "not_found");
}

#[test]
fn audience_bodies_are_validated() {
    let app = TestApp::spawn();
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "A", "description": 5}), "description"),
        (json!({"name": "A", "contactCount": 5}), "contactCount"),
        (json!({"name": "A", "id": "aud_x"}), "id"),
    ] {
        let answer = app.post("/v1/audiences", &body);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), [field], "{body}");
    }
    let description = create_audience(&app, "No description");
    assert_eq!(description["description"], Value::Null);
}

#[test]
fn audiences_list_newest_first_with_search_by_name() {
    let app = TestApp::spawn();
    create_audience(&app, "Mumbai leads");
    create_audience(&app, "Delhi leads");
    create_audience(&app, "Renewals");
    let all = app.get("/v1/audiences");
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["data"][0]["name"], "Renewals");
    let found = app.get("/v1/audiences?search=LEADS&limit=1");
    assert_eq!(found.body["total"], 2);
    assert_eq!(found.body["totalPages"], 2);
    assert_eq!(found.body["limit"], 1);
    app.get("/v1/audiences?limit=0")
        .assert_error(422, "validation_failed");
    app.get("/v1/audiences?nope=1")
        .assert_error(400, "bad_request");
}

#[test]
fn add_to_audience_counts_added_and_re_adding_is_a_no_op() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    let answer = app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&audience), "contactIds": [id(&a), id(&b)]}),
    );
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(
        answer.body,
        json!({"audienceId": id(&audience), "added": 2, "contactCount": 2})
    );
    let again = app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&audience), "contactIds": [id(&a), id(&a)]}),
    );
    assert_eq!(
        again.body,
        json!({"audienceId": id(&audience), "added": 0, "contactCount": 2})
    );
    assert_eq!(contact_count(&app, &audience), 2);
}

#[test]
fn unknown_audience_or_contacts_are_404_and_change_nothing() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let a = app.create_contact("A", "+919876543210");
    app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": "aud_nope", "contactIds": [id(&a)]}),
    )
    .assert_error(404, "not_found");
    let answer = app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&audience), "contactIds": [id(&a), "ct_x", "ct_y"]}),
    );
    answer.assert_error(404, "not_found");
    assert_eq!(answer.body["missingContactIds"], json!(["ct_x", "ct_y"]));
    assert_eq!(contact_count(&app, &audience), 0);

    let removed = app.post(
        "/v1/contacts/remove-from-audience",
        &json!({"audienceId": id(&audience), "contactIds": ["ct_z"]}),
    );
    removed.assert_error(404, "not_found");
    assert_eq!(removed.body["missingContactIds"], json!(["ct_z"]));
}

#[test]
fn membership_bodies_are_validated() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    for body in [
        json!({"audienceId": id(&audience), "contactIds": []}),
        json!({"audienceId": id(&audience)}),
        json!({"contactIds": ["ct_a"]}),
        json!({"audienceId": 5, "contactIds": ["ct_a"]}),
        json!({"audienceId": id(&audience), "contactIds": ["ct_a"], "extra": true}),
    ] {
        app.post("/v1/contacts/add-to-audience", &body)
            .assert_error(422, "validation_failed");
    }
    let ids: Vec<String> = (0..1001).map(|i| format!("ct_{i}")).collect();
    app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&audience), "contactIds": ids}),
    )
    .assert_error(413, "payload_too_large");
}

#[test]
fn remove_from_audience_counts_removed_and_ignores_non_members() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&audience), "contactIds": [id(&a)]}),
    );
    let answer = app.post(
        "/v1/contacts/remove-from-audience",
        &json!({"audienceId": id(&audience), "contactIds": [id(&a), id(&b)]}),
    );
    assert_eq!(
        answer.body,
        json!({"audienceId": id(&audience), "removed": 1, "contactCount": 0})
    );
    // The contacts themselves stay.
    assert_eq!(app.get("/v1/contacts").body["total"], 2);
}

#[test]
fn contact_count_stays_exact_through_contact_deletes_and_bulk_deletes() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let other = create_audience(&app, "Other");
    let contacts: Vec<Value> = (0..4)
        .map(|i| app.create_contact(&format!("P{i}"), &format!("+91987654321{i}")))
        .collect();
    let ids: Vec<&str> = contacts.iter().map(id).collect();
    for aud in [&audience, &other] {
        app.post(
            "/v1/contacts/add-to-audience",
            &json!({"audienceId": id(aud), "contactIds": ids}),
        );
    }
    assert_eq!(contact_count(&app, &audience), 4);
    app.delete(&format!("/v1/contacts/{}", ids[0]));
    assert_eq!(contact_count(&app, &audience), 3);
    app.post(
        "/v1/contacts/bulk-delete",
        &json!({"contactIds": [ids[1], ids[2]]}),
    );
    assert_eq!(contact_count(&app, &audience), 1);
    assert_eq!(contact_count(&app, &other), 1);
    // Deleting an audience leaves its members and the other audience alone.
    app.delete(&format!("/v1/audiences/{}", id(&audience)));
    assert_eq!(contact_count(&app, &other), 1);
    assert_eq!(app.get("/v1/contacts").body["total"], 1);
}

#[test]
fn members_and_available_contacts_partition_the_organization() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let a = app.create_contact("Priya Sharma", "+919876543210");
    let b = app.create_contact("Ravi Kumar", "+919123456789");
    let c = app.create_contact("Priya Iyer", "+919000012345");
    app.post(
        &format!("/v1/audiences/{}/contacts", id(&audience)),
        &json!({"contactIds": [id(&a), id(&b)]}),
    );
    let members = app.get(&format!("/v1/audiences/{}/contacts", id(&audience)));
    assert_eq!(members.body["total"], 2);
    assert_eq!(crate::helpers::ids_of(&members.body), [id(&b), id(&a)]);
    let available = app.get(&format!(
        "/v1/audiences/{}/available-contacts",
        id(&audience)
    ));
    assert_eq!(available.body["total"], 1);
    assert_eq!(crate::helpers::ids_of(&available.body), [id(&c)]);
    let searched = app.get(&format!(
        "/v1/audiences/{}/contacts?search=priya",
        id(&audience)
    ));
    assert_eq!(crate::helpers::ids_of(&searched.body), [id(&a)]);
    assert_eq!(searched.body["total"], 1);
    let searched = app.get(&format!(
        "/v1/audiences/{}/available-contacts?search=priya&limit=1",
        id(&audience)
    ));
    assert_eq!(searched.body["total"], 1);
    app.get("/v1/audiences/aud_nope/contacts")
        .assert_error(404, "not_found");
    app.get("/v1/audiences/aud_nope/available-contacts")
        .assert_error(404, "not_found");
}

#[test]
fn audience_scoped_add_and_remove_routes_answer_like_the_contact_ones() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let a = app.create_contact("A", "+919876543210");
    let b = app.create_contact("B", "+919123456789");
    let base = format!("/v1/audiences/{}/contacts", id(&audience));
    let added = app.post(&base, &json!({"contactIds": [id(&a), id(&b)]}));
    assert_eq!(
        added.body,
        json!({"audienceId": id(&audience), "added": 2, "contactCount": 2})
    );
    let removed = app.post(&format!("{base}/remove"), &json!({"contactIds": [id(&a)]}));
    assert_eq!(
        removed.body,
        json!({"audienceId": id(&audience), "removed": 1, "contactCount": 1})
    );
    let deleted = app.send(
        Method::Delete,
        &base,
        Some(&app.key),
        Some(json!({"contactIds": [id(&b)]}).to_string()),
    );
    assert_eq!(
        deleted.body,
        json!({"audienceId": id(&audience), "removed": 1, "contactCount": 0})
    );
    let missing = app.post(&base, &json!({"contactIds": ["ct_nope"]}));
    missing.assert_error(404, "not_found");
    assert_eq!(missing.body["missingContactIds"], json!(["ct_nope"]));
    app.post(&base, &json!({"contactIds": [], "audienceId": "x"}))
        .assert_error(422, "validation_failed");
}

#[test]
fn another_organizations_audiences_and_contacts_are_404() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "VIP");
    let mine = app.create_contact("Mine", "+919876543210");
    let (_, other_key) = app.other_org();
    let uri = format!("/v1/audiences/{}", id(&audience));
    for (method, path, body) in [
        (Method::Get, uri.clone(), None),
        (Method::Patch, uri.clone(), Some(json!({"name": "X"}))),
        (Method::Delete, uri.clone(), None),
        (Method::Get, format!("{uri}/contacts"), None),
        (Method::Get, format!("{uri}/available-contacts"), None),
        (
            Method::Post,
            format!("{uri}/contacts"),
            Some(json!({"contactIds": [id(&mine)]})),
        ),
    ] {
        let answer = app.send(method, &path, Some(&other_key), body.map(|b| b.to_string()));
        answer.assert_error(404, "not_found");
    }
    let listed = app.send(Method::Get, "/v1/audiences", Some(&other_key), None);
    assert_eq!(listed.body["total"], 0);

    // Their audience cannot take my contact: it is missing for them.
    let body = json!({"name": "Theirs"}).to_string();
    let theirs = app.send(Method::Post, "/v1/audiences", Some(&other_key), Some(body));
    let body = json!({"audienceId": id(&theirs.body), "contactIds": [id(&mine)]}).to_string();
    let answer = app.send(
        Method::Post,
        "/v1/contacts/add-to-audience",
        Some(&other_key),
        Some(body),
    );
    answer.assert_error(404, "not_found");
    assert_eq!(answer.body["missingContactIds"], json!([id(&mine)]));
    // And my key cannot use their audience.
    app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": id(&theirs.body), "contactIds": [id(&mine)]}),
    )
    .assert_error(404, "not_found");
    assert_eq!(contact_count(&app, &audience), 0);
}

#[test]
fn audience_search_folds_unicode_case_and_membership_moves_updated_at() {
    let app = TestApp::spawn();
    let elite = create_audience(&app, "Élite ÖKO");
    create_audience(&app, "Other");
    for search in ["élite", "ÉLITE", "öko", "Élite"] {
        let found = app.get(&format!(
            "/v1/audiences?search={}",
            crate::helpers::encode(search)
        ));
        assert_eq!(found.body["total"], 1, "{search}");
    }
    let contact = app.create_contact("A", "+919876543210");
    let added = app.post(
        &format!("/v1/audiences/{}/contacts", id(&elite)),
        &json!({"contactIds": [id(&contact)]}),
    );
    assert_eq!(added.body["added"], 1);
    let after = app.get(&format!("/v1/audiences/{}", id(&elite))).body;
    assert!(after["updatedAt"].as_str() > elite["updatedAt"].as_str());
    assert_eq!(after["contactCount"], 1);
}

#[test]
fn create_reports_a_missing_name_with_other_errors() {
    let app = TestApp::spawn();
    let answer = app.post("/v1/audiences", &json!({"description": 5}));
    assert_eq!(answer.detail_fields(), ["description", "name"]);
}

#[test]
fn contact_count_stays_exact_under_concurrent_writes() {
    let app = TestApp::spawn();
    let audience = create_audience(&app, "Busy");
    let ids: Vec<String> = (0..60)
        .map(|i| id(&app.create_contact(&format!("P{i}"), &format!("+9198765{i:05}"))).to_string())
        .collect();
    let (aid, key, path) = (
        id(&audience).to_string(),
        app.key.clone(),
        app.db_path.clone(),
    );

    // A second server on the same file, driven by concurrent requests.
    std::thread::spawn(move || {
        let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let db = contactsd_store::Db::open(&path).unwrap();
            let figment = contactsd_server::app::figment().merge(("log_level", "off"));
            let client = rocket::local::asynchronous::Client::untracked(
                contactsd_server::app::build(figment, db).expect("valid settings"),
            )
            .await
            .unwrap();
            let mut requests = Vec::new();
            for (i, chunk) in ids.chunks(5).enumerate() {
                let body = json!({"audienceId": aid, "contactIds": chunk}).to_string();
                requests.push((
                    rocket::http::Method::Post,
                    "/v1/contacts/add-to-audience".to_string(),
                    body,
                ));
                match i % 3 {
                    0 => requests.push((
                        rocket::http::Method::Delete,
                        format!("/v1/contacts/{}", chunk[0]),
                        String::new(),
                    )),
                    1 => requests.push((
                        rocket::http::Method::Post,
                        "/v1/contacts/bulk-delete".to_string(),
                        json!({"contactIds": [chunk[1], chunk[2]]}).to_string(),
                    )),
                    _ => requests.push((
                        rocket::http::Method::Post,
                        "/v1/contacts/remove-from-audience".to_string(),
                        json!({"audienceId": aid, "contactIds": [chunk[3]]}).to_string(),
                    )),
                }
            }
            let responses = requests.into_iter().map(|(method, uri, body)| {
                let client = &client;
                let key = key.clone();
                async move {
                    let mut request = client
                        .req(method, uri)
                        .header(rocket::http::Header::new("x-api-key", key));
                    if !body.is_empty() {
                        request = request.body(body);
                    }
                    request.dispatch().await.status()
                }
            });
            for status in rocket::futures::future::join_all(responses).await {
                // A write may find its contact already deleted by another.
                assert!([200, 404].contains(&status.code), "{status}");
            }
        });
    })
    .join()
    .unwrap();

    let members: i64 = app
        .sqlite()
        .query_row(
            "SELECT count(*) FROM audience_members m JOIN audiences a ON a.seq = m.audience_seq WHERE a.id = ?1",
            [id(&audience)],
            |r| r.get(0),
        )
        .unwrap();
    let answer = app.get(&format!("/v1/audiences/{}", id(&audience)));
    assert_eq!(answer.body["contactCount"], members);
    let listed = app.get(&format!(
        "/v1/audiences/{}/contacts?limit=100",
        id(&audience)
    ));
    assert_eq!(
        i64::try_from(listed.body["data"].as_array().unwrap().len()).unwrap(),
        members
    );
    assert!(members > 0);
}

#[test]
fn audiences_can_be_listed_for_one_contact() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya", "+919876543210");
    let id = contact["id"].as_str().unwrap();
    let mut audience_ids = Vec::new();
    for name in ["A", "B", "C"] {
        let audience = app.post("/v1/audiences", &json!({ "name": name })).body;
        audience_ids.push(audience["id"].as_str().unwrap().to_string());
    }
    for audience in &audience_ids[..2] {
        let added = app.post(
            &format!("/v1/audiences/{audience}/contacts"),
            &json!({"contactIds": [id]}),
        );
        assert_eq!(added.status.code, 200);
    }
    let page = app.get(&format!("/v1/audiences?contactId={id}")).body;
    assert_eq!(page["total"], 2);
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["B", "A"]);
    assert_eq!(app.get("/v1/audiences?contactId=ct_nope").body["total"], 0);
    // Another organization's contact id finds nothing of theirs or ours.
    let (_, other_key) = app.other_org();
    let theirs = app.send(
        rocket::http::Method::Get,
        &format!("/v1/audiences?contactId={id}"),
        Some(&other_key),
        None,
    );
    assert_eq!(theirs.body["total"], 0);
}
