//! `GET /v1/contacts/export` (CONTRACT.md "CSV", export).

use rocket::http::{Header, Status};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Status, content type, disposition and body text of an export.
fn export(app: &TestApp, query: &str) -> (Status, String, String, String) {
    let response = app
        .client
        .get(format!("/v1/contacts/export{query}"))
        .header(Header::new("x-api-key", app.key.clone()))
        .dispatch();
    let status = response.status();
    let content_type = response
        .headers()
        .get_one("Content-Type")
        .unwrap_or_default()
        .to_string();
    let disposition = response
        .headers()
        .get_one("Content-Disposition")
        .unwrap_or_default()
        .to_string();
    (
        status,
        content_type,
        disposition,
        response.into_string().unwrap_or_default(),
    )
}

fn seed(app: &TestApp) -> Vec<Value> {
    let contacts = json!({"contacts": [
        {"name": "Priya \"P\" Sharma, Jr", "phoneNumber": "+919876543210", "language": "hi-IN",
         "metadata": {"city": "Mumbai", "n": 1}},
        {"name": "Ravi Kumar", "phoneNumber": "+919123456789"},
        {"name": "Anjali Iyer", "phoneNumber": "+919900011111", "language": "ta-IN"},
    ]});
    let answer = app.post("/v1/contacts/bulk", &contacts);
    assert_eq!(answer.body["created"], 3);
    answer.body["contacts"].as_array().unwrap().clone()
}

#[test]
fn ndjson_lines_are_the_contacts_as_the_api_shows_them() {
    let app = TestApp::spawn();
    let created = seed(&app);
    let (status, content_type, disposition, body) = export(&app, "?format=ndjson");
    assert_eq!(status, Status::Ok);
    assert_eq!(content_type, "application/x-ndjson");
    assert_eq!(disposition, "attachment; filename=\"contacts.ndjson\"");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Newest first, as the listing orders them.
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(lines, expected);
}

#[test]
fn csv_has_the_header_quoting_and_cells_of_the_contract() {
    let app = TestApp::spawn();
    seed(&app);
    let (status, content_type, disposition, body) = export(&app, "?sort=name");
    assert_eq!(status, Status::Ok);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(disposition, "attachment; filename=\"contacts.csv\"");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "name",
            "phoneNumber",
            "language",
            "metadata",
            "createdAt",
            "updatedAt"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let names: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(
        names,
        ["Anjali Iyer", "Priya \"P\" Sharma, Jr", "Ravi Kumar"]
    );
    assert_eq!(&rows[1][3], "hi-IN");
    assert_eq!(&rows[2][3], "", "a null language is an empty cell");
    let metadata: Value = serde_json::from_str(&rows[1][4]).unwrap();
    assert_eq!(metadata, json!({"city": "Mumbai", "n": 1}));
}

#[test]
fn filters_and_search_apply_and_paging_does_not() {
    let app = TestApp::spawn();
    seed(&app);
    let (_, _, _, body) = export(&app, "?format=ndjson&language=ta-IN");
    assert_eq!(body.lines().count(), 1);
    let (_, _, _, body) = export(&app, "?format=ndjson&search=kumar");
    assert!(
        body.contains("Ravi Kumar") && body.lines().count() == 1,
        "{body}"
    );
    for (query, field) in [
        ("?format=xml", "format"),
        ("?page=2", "page"),
        ("?limit=5", "limit"),
        ("?cursor=x", "cursor"),
    ] {
        let answer = app.get(&format!("/v1/contacts/export{query}"));
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), [field], "{query}");
    }
    app.get("/v1/contacts/export?audienceId=aud_nope")
        .assert_error(404, "not_found");
    let unknown = format!("sk_live_{}", "Q".repeat(32));
    app.send(
        rocket::http::Method::Get,
        "/v1/contacts/export",
        Some(&unknown),
        None,
    )
    .assert_error(401, "unauthorized");
}

#[test]
fn thousands_of_contacts_stream_in_chunks_and_all_arrive() {
    let app = TestApp::spawn();
    for batch in 0..3 {
        let contacts: Vec<Value> = (0..1000)
            .map(|i| json!({"name": format!("Name {batch} {i}"), "phoneNumber": format!("+1415555{batch}{i:03}")}))
            .collect();
        let answer = app.post("/v1/contacts/bulk", &json!({ "contacts": contacts }));
        assert_eq!(answer.body["failed"], 0, "{}", answer.body["errors"][0]);
    }
    let total = app.get("/v1/contacts").body["total"].as_i64().unwrap();
    let (_, _, _, body) = export(&app, "?format=ndjson");
    assert!(body.len() > 64 * 1024, "more than one chunk");
    assert_eq!(i64::try_from(body.lines().count()).unwrap(), total);
    let (_, _, _, body) = export(&app, "");
    assert_eq!(
        i64::try_from(body.lines().count()).unwrap(),
        total + 1,
        "header and a line per contact"
    );
}
