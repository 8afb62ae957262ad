//! `/v1/indexes`: declared indexes change how fast listings are, never
//! what they answer.

use rocket::http::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn put(app: &TestApp, key: &str, field: &str) -> crate::helpers::Answer {
    app.send(
        Method::Put,
        &format!("/v1/indexes/{field}"),
        Some(key),
        None,
    )
}

fn seed(app: &TestApp) {
    let contacts: Vec<Value> = (0..40)
        .map(|i| {
            let first = ["Zoë", "anjali", "Émile", "Bob"][i % 4];
            let city = ["Pune", "Delhi"][i % 2];
            json!({
                "name": format!("{first} {i:02}"),
                "phoneNumber": format!("+1415555{i:04}"),
                "metadata": {"city": city, "n": i % 3, "flag": i % 5 == 0},
            })
        })
        .collect();
    assert_eq!(
        app.post("/v1/contacts/bulk", &json!({ "contacts": contacts }))
            .status
            .code,
        200
    );
}

fn pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut uri = format!("/v1/contacts?limit=7&{query}");
    loop {
        let page = app.get(&uri).body;
        assert!(page["data"].is_array(), "{uri}: {page}");
        seen.push(json!([
            page["total"],
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].clone())
                .collect::<Vec<_>>()
        ]));
        match page["nextCursor"].as_str() {
            Some(_) if query.contains("page=") => return seen,
            Some(cursor) => {
                uri = format!(
                    "/v1/contacts?limit=7&{query}&cursor={}",
                    crate::helpers::encode(cursor)
                );
            }
            None => return seen,
        }
    }
}

#[test]
fn declared_indexes_answer_what_the_rows_answer() {
    let app = TestApp::spawn();
    seed(&app);
    let queries = [
        "sort=name",
        "sort=-name",
        "metadata.city=Pune",
        "metadata.n=1",
        "metadata.flag=true",
        "metadata.city=Pune&sort=name",
        "metadata.city=Pune&metadata.n=2",
        "metadata.city=Nowhere",
        "page=2&metadata.city=Delhi",
    ];
    let before: Vec<_> = queries.iter().map(|q| pages(&app, q)).collect();
    for field in ["name", "metadata.city", "metadata.n", "metadata.flag"] {
        let answer = put(&app, &app.key, field);
        assert_eq!(answer.status.code, 201, "{}", answer.body);
        assert_eq!(answer.body["field"], field);
        assert_eq!(
            answer.location.as_deref(),
            Some(format!("/v1/indexes/{field}").as_str())
        );
    }
    assert_eq!(put(&app, &app.key, "name").status.code, 200);
    let after: Vec<_> = queries.iter().map(|q| pages(&app, q)).collect();
    assert_eq!(before, after);
    let listed = app.get("/v1/indexes").body;
    let fields: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 4);
    assert!(fields.contains(&"metadata.city") && fields.contains(&"name"));

    // Writes after declaring are indexed too.
    let created = app
        .post(
            "/v1/contacts",
            &json!({"name": "Aaron", "phoneNumber": "+14155559999", "metadata": {"city": "Pune"}}),
        )
        .body;
    let id = created["id"].as_str().unwrap();
    let first = app.get("/v1/contacts?sort=name&limit=1").body;
    assert_eq!(first["data"][0]["id"], id);
    let pune = app.get("/v1/contacts?metadata.city=Pune&limit=1").body;
    assert_eq!(
        (pune["total"].as_i64(), pune["data"][0]["id"].as_str()),
        (Some(21), Some(id))
    );
    app.patch(
        &format!("/v1/contacts/{id}"),
        &json!({"metadata": {"city": "Delhi"}}),
    );
    assert_eq!(app.get("/v1/contacts?metadata.city=Pune").body["total"], 20);
    app.delete(&format!("/v1/contacts/{id}"));
    assert_eq!(
        app.get("/v1/contacts?metadata.city=Delhi").body["total"],
        20
    );

    // Another organization sees none of it.
    let (_, other) = app.other_org();
    let theirs = app.send(Method::Get, "/v1/indexes", Some(&other), None);
    assert_eq!(theirs.body["data"], json!([]));
    app.send(Method::Delete, "/v1/indexes/name", Some(&other), None)
        .assert_error(404, "not_found");

    let dropped = app.send(
        Method::Delete,
        "/v1/indexes/metadata.city",
        Some(&app.key),
        None,
    );
    assert_eq!(dropped.body, json!({"success": true}));
    app.send(
        Method::Delete,
        "/v1/indexes/metadata.city",
        Some(&app.key),
        None,
    )
    .assert_error(404, "not_found");
    assert_eq!(app.get("/v1/contacts?metadata.city=Pune").body["total"], 20);
}

#[test]
fn only_name_and_plain_metadata_keys_can_be_declared() {
    let app = TestApp::spawn();
    for field in [
        "phone",
        "metadata.",
        "metadata.a%22b",
        "metadata.a%5Cb",
        &format!("metadata.{}", "k".repeat(65)),
    ] {
        let answer = put(&app, &app.key, field);
        answer.assert_error(422, "validation_failed");
        assert_eq!(answer.detail_fields(), ["field"], "{field}");
    }
    app.send(Method::Put, "/v1/indexes/name", None, None)
        .assert_error(401, "unauthorized");
    assert_eq!(
        put(&app, &app.key, "metadata.Full%20Name").body["field"],
        "metadata.Full Name"
    );
}

#[test]
fn a_listing_that_read_many_rows_for_an_undeclared_key_names_the_index() {
    // A threshold of 10 rows stands in for the default 100,000.
    let app = TestApp::spawn_with(|figment| figment.merge(("scan_hint_rows", 10)));
    seed(&app);
    let hint = |uri: &str| {
        let answer = app.get(uri);
        assert_eq!(answer.status.code, 200, "{uri}: {}", answer.body);
        (
            answer.header("X-Contactsd-Hint").map(str::to_string),
            answer.body["total"].as_i64().unwrap(),
        )
    };
    let named = |key: &str| Some(format!("PUT /v1/indexes/metadata.{key}"));
    // 40 rows read for the city: more than 10.
    assert_eq!(hint("/v1/contacts?metadata.city=Pune"), (named("city"), 20));
    assert_eq!(
        hint("/v1/contacts?metadata.city=Nowhere"),
        (named("city"), 0)
    );
    assert_eq!(
        hint("/v1/contacts?metadata.city=Pune&page=9&limit=5"),
        (named("city"), 20)
    );
    assert_eq!(
        hint("/v1/contacts?metadata.n=1&sort=name"),
        (named("n"), 13)
    );
    // Narrowed first to 8 rows (the flag is declared below): no hint.
    assert_eq!(put(&app, &app.key, "metadata.flag").status.code, 201);
    assert_eq!(
        hint("/v1/contacts?metadata.flag=true&metadata.city=Pune"),
        (None, 4)
    );
    // A declared key reads no row for itself; an undeclared one is named.
    assert_eq!(
        hint("/v1/contacts?metadata.flag=true&metadata.n=0"),
        (None, 3)
    );
    assert_eq!(put(&app, &app.key, "metadata.city").status.code, 201);
    assert_eq!(hint("/v1/contacts?metadata.city=Pune"), (None, 20));
    assert_eq!(
        hint("/v1/contacts?metadata.city=Pune&metadata.n=2"),
        (named("n"), 7)
    );
    // A key an index cannot be declared on is never named (a control
    // character could not even travel in a header); others are named as
    // the request's path segment.
    assert_eq!(hint("/v1/contacts?metadata.a%01b=x"), (None, 0));
    assert_eq!(hint("/v1/contacts?metadata.a%22b=x"), (None, 0));
    assert_eq!(
        hint("/v1/contacts?metadata.caf%C3%A9%20au%20lait=x"),
        (
            Some("PUT /v1/indexes/metadata.caf%C3%A9%20au%20lait".into()),
            0
        )
    );
    // The named request works as written.
    let declared = put(&app, &app.key, "metadata.caf%C3%A9%20au%20lait");
    assert_eq!(declared.status.code, 201, "{}", declared.body);
    assert_eq!(declared.body["field"], "metadata.café au lait");
    // No metadata filter, or a search that reads only its matches: no hint.
    assert_eq!(hint("/v1/contacts").0, None);
    assert_eq!(hint("/v1/contacts?search=anjali&metadata.n=1").0, None);
}

#[test]
fn the_hint_waits_for_the_default_threshold() {
    let app = TestApp::spawn();
    seed(&app);
    let answer = app.get("/v1/contacts?metadata.city=Pune");
    assert_eq!(answer.body["total"], 20);
    assert_eq!(answer.header("X-Contactsd-Hint"), None);
}
