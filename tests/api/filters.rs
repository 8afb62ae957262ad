//! CONTRACT.md "Listing beyond the seed": filters, sort and cursors on the
//! three contact listings.

use rocket::http::Status;
use serde_json::{json, Value};

use crate::helpers::{encode, ids_of, TestApp};

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

fn create(app: &TestApp, body: &Value) -> Value {
    let answer = app.post("/v1/contacts", body);
    assert_eq!(answer.status, Status::Created, "{}", answer.body);
    answer.body
}

/// Four contacts with languages and metadata, oldest first.
fn seed(app: &TestApp) -> Vec<Value> {
    vec![
        create(
            app,
            &json!({"name": "Priya Sharma", "phoneNumber": "+919876543210", "language": "hi-IN",
                           "metadata": {"city": "Mumbai", "tier": "premium", "score": 5, "vip": true}}),
        ),
        create(
            app,
            &json!({"name": "ravi kumar", "phoneNumber": "+919123456789", "language": "en-IN",
                           "metadata": {"city": "Delhi", "score": 7}}),
        ),
        create(
            app,
            &json!({"name": "Anjali Iyer", "phoneNumber": "+919000012345", "language": "hi-IN",
                           "metadata": {"city": "Mumbai", "score": "5", "tags": ["a"]}}),
        ),
        create(
            app,
            &json!({"name": "Émile Zola", "phoneNumber": "+33142685300",
                           "metadata": {"city": "Paris", "a.b": "dotted", "q\"k": "quoted"}}),
        ),
    ]
}

fn ids(values: &[&Value]) -> Vec<String> {
    values.iter().map(|v| id(v)).collect()
}

#[test]
fn language_filter_matches_the_canonical_tag() {
    let app = TestApp::spawn();
    let c = seed(&app);
    assert_eq!(
        app.list_ids("/v1/contacts?language=hi-IN"),
        ids(&[&c[2], &c[0]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?language=HI-in"),
        ids(&[&c[2], &c[0]])
    );
    assert_eq!(app.get("/v1/contacts?language=hi-IN").body["total"], 2);
    assert_eq!(
        app.list_ids("/v1/contacts?language=ta-IN"),
        Vec::<String>::new()
    );
    let bad = app.get("/v1/contacts?language=not%20a%20tag");
    bad.assert_error(400, "bad_request");
    assert_eq!(bad.detail_fields(), ["language"]);
}

#[test]
fn metadata_filters_match_strings_numbers_and_booleans() {
    let app = TestApp::spawn();
    let c = seed(&app);
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.city=Mumbai"),
        ids(&[&c[2], &c[0]])
    );
    // 5 (a number) and "5" (a string) both have the text 5.
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.score=5"),
        ids(&[&c[2], &c[0]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.vip=true"),
        ids(&[&c[0]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.city=mumbai"),
        Vec::<String>::new()
    );
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.tags=%5B%22a%22%5D"),
        Vec::<String>::new()
    );
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.a.b=dotted"),
        ids(&[&c[3]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?metadata.q%22k=quoted"),
        ids(&[&c[3]])
    );
    // Repeated for several keys: all must hold.
    let both = app.get("/v1/contacts?metadata.city=Mumbai&metadata.tier=premium");
    assert_eq!(ids_of(&both.body), ids(&[&c[0]]));
    assert_eq!(both.body["total"], 1);
    let bad = app.get("/v1/contacts?metadata.=x");
    bad.assert_error(400, "bad_request");
    assert_eq!(bad.detail_fields(), ["metadata."]);
}

#[test]
fn audience_filter_lists_members_and_unknown_audiences_are_404() {
    let app = TestApp::spawn();
    let c = seed(&app);
    let audience = app.post("/v1/audiences", &json!({"name": "VIP"})).body;
    let aid = audience["id"].as_str().unwrap();
    app.post(
        "/v1/contacts/add-to-audience",
        &json!({"audienceId": aid, "contactIds": [id(&c[1]), id(&c[3])]}),
    );
    let members = app.get(&format!("/v1/contacts?audienceId={aid}"));
    assert_eq!(ids_of(&members.body), ids(&[&c[3], &c[1]]));
    assert_eq!(members.body["total"], 2);
    let filtered = app.get(&format!("/v1/contacts?audienceId={aid}&search=ravi"));
    assert_eq!(ids_of(&filtered.body), ids(&[&c[1]]));
    app.get("/v1/contacts?audienceId=aud_nope")
        .assert_error(404, "not_found");
    let (_, other_key) = app.other_org();
    let theirs = app.send(
        rocket::http::Method::Get,
        &format!("/v1/contacts?audienceId={aid}"),
        Some(&other_key),
        None,
    );
    theirs.assert_error(404, "not_found");
}

#[test]
fn time_windows_are_half_open() {
    let app = TestApp::spawn();
    let c = seed(&app);
    let t = c[2]["createdAt"].as_str().unwrap();
    let after = app.get(&format!(
        "/v1/contacts?createdAfter={}&limit=100",
        encode(t)
    ));
    let before = app.get(&format!(
        "/v1/contacts?createdBefore={}&limit=100",
        encode(t)
    ));
    let mut all = ids_of(&after.body);
    all.extend(ids_of(&before.body));
    all.sort();
    let mut expected: Vec<String> = c.iter().map(id).collect();
    expected.sort();
    assert_eq!(all, expected, "windows neither overlap nor leave gaps");
    assert!(ids_of(&after.body).contains(&id(&c[2])));
    assert_eq!(
        after.body["total"].as_i64().unwrap() + before.body["total"].as_i64().unwrap(),
        4
    );

    let uri = format!("/v1/contacts/{}", id(&c[0]));
    let patched = app.patch(&uri, &json!({"name": "Priya S"})).body;
    let u = patched["updatedAt"].as_str().unwrap();
    let updated = app.get(&format!("/v1/contacts?updatedAfter={}", encode(u)));
    let not_updated = app.get(&format!("/v1/contacts?updatedBefore={}", encode(u)));
    // Another row may share the patch's millisecond; the windows still
    // split the four rows exactly, and the patched row is in the later one.
    assert!(ids_of(&updated.body).contains(&id(&c[0])));
    assert!(!ids_of(&not_updated.body).contains(&id(&c[0])));
    assert_eq!(
        updated.body["total"].as_i64().unwrap() + not_updated.body["total"].as_i64().unwrap(),
        4
    );
    // Offsets are accepted.
    let offset = app.get("/v1/contacts?createdAfter=2000-01-01T05:30:00%2B05:30");
    assert_eq!(offset.body["total"], 4);
    for bad in ["yesterday", "2026-03-01", "1700000000"] {
        let answer = app.get(&format!("/v1/contacts?createdAfter={bad}"));
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), ["createdAfter"]);
    }
}

#[test]
fn every_sort_order_is_total_and_stable() {
    let app = TestApp::spawn();
    let c = seed(&app);
    // Touch the oldest so updatedAt order differs from createdAt order.
    app.patch(
        &format!("/v1/contacts/{}", id(&c[0])),
        &json!({"language": "en"}),
    );
    assert_eq!(
        app.list_ids("/v1/contacts?sort=createdAt"),
        ids(&[&c[0], &c[1], &c[2], &c[3]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?sort=-createdAt"),
        ids(&[&c[3], &c[2], &c[1], &c[0]])
    );
    // updatedAt can tie with another row's (same millisecond): check the
    // order by its definition, (updatedAt, id) in the given direction.
    for (sort, descending) in [("-updatedAt", true), ("updatedAt", false)] {
        let rows = app.get(&format!("/v1/contacts?sort={sort}")).body["data"].clone();
        let keys: Vec<(String, String)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["updatedAt"].as_str().unwrap().to_string(), id(c)))
            .collect();
        assert_eq!(keys.len(), 4);
        for pair in keys.windows(2) {
            assert_eq!(pair[0] > pair[1], descending, "{sort}: {pair:?}");
        }
    }
    let newest = app.get("/v1/contacts?sort=-updatedAt&limit=1").body["data"][0].clone();
    assert_eq!(
        newest["updatedAt"],
        app.get(&format!("/v1/contacts/{}", id(&c[0]))).body["updatedAt"]
    );
    // Case-insensitive names, lower-cased text in code point order:
    // anjali, priya, ravi, émile.
    assert_eq!(
        app.list_ids("/v1/contacts?sort=name"),
        ids(&[&c[2], &c[0], &c[1], &c[3]])
    );
    assert_eq!(
        app.list_ids("/v1/contacts?sort=-name"),
        ids(&[&c[3], &c[1], &c[0], &c[2]])
    );
    for bad in ["newest", "-id", "name,createdAt", ""] {
        let answer = app.get(&format!("/v1/contacts?sort={bad}"));
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), ["sort"]);
    }
}

/// Walks every page of `uri` by cursor; the ids in order.
fn walk(app: &TestApp, uri: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next = app.get(uri);
    loop {
        assert_eq!(next.status, Status::Ok, "{}", next.body);
        seen.extend(ids_of(&next.body));
        match next.body["nextCursor"].as_str() {
            None => return seen,
            Some(cursor) => {
                let sep = if uri.contains('?') { '&' } else { '?' };
                next = app.get(&format!("{uri}{sep}cursor={}", encode(cursor)));
                assert_eq!(next.body["page"], Value::Null);
            }
        }
    }
}

#[test]
fn cursors_walk_every_row_once_in_every_order() {
    let app = TestApp::spawn();
    for i in 0..23 {
        let name = format!("{} Person {i:02}", ["Zed", "amy", "Bob"][i % 3]);
        app.create_contact(&name, &format!("+9198765{i:05}"));
    }
    for sort in [
        "-createdAt",
        "createdAt",
        "-updatedAt",
        "updatedAt",
        "name",
        "-name",
    ] {
        let paged = walk(&app, &format!("/v1/contacts?limit=5&sort={sort}"));
        let all = app.list_ids(&format!("/v1/contacts?limit=100&sort={sort}"));
        assert_eq!(paged, all, "sort {sort}");
        assert_eq!(paged.len(), 23);
    }
    let first = app.get("/v1/contacts?limit=5");
    assert_eq!(first.body["page"], 1);
    assert!(first.body["nextCursor"].is_string());
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = app.get(&format!("/v1/contacts?limit=5&cursor={}", encode(cursor)));
    assert_eq!(second.body["page"], Value::Null);
    assert_eq!(second.body["total"], 23);
    assert_eq!(second.body["totalPages"], 5);
    let last = app.get("/v1/contacts?limit=100");
    assert_eq!(last.body["nextCursor"], Value::Null);
}

#[test]
fn cursors_skip_and_repeat_nothing_while_rows_come_and_go() {
    let app = TestApp::spawn();
    let mut stable = Vec::new();
    for i in 0..20 {
        let c = app.create_contact(&format!("Stable {i}"), &format!("+9198765{i:05}"));
        stable.push(id(&c));
    }
    let doomed: Vec<String> = (0..5)
        .map(|i| id(&app.create_contact(&format!("Doomed {i}"), &format!("+9191234{i:05}"))))
        .collect();
    for sort in ["-createdAt", "name"] {
        let mut seen = Vec::new();
        let mut page = app.get(&format!("/v1/contacts?limit=4&sort={sort}"));
        let mut round = 0;
        loop {
            seen.extend(ids_of(&page.body));
            // Between pages: insert new rows, delete others.
            app.create_contact(
                &format!("New {sort} {round}"),
                &format!("+9190000{round:02}{:03}", sort.len()),
            );
            if let Some(d) = doomed.get(round) {
                app.delete(&format!("/v1/contacts/{d}"));
            }
            round += 1;
            let Some(cursor) = page.body["nextCursor"].as_str().map(String::from) else {
                break;
            };
            page = app.get(&format!(
                "/v1/contacts?limit=4&sort={sort}&cursor={}",
                encode(&cursor)
            ));
            assert_eq!(page.status, Status::Ok, "{}", page.body);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no row repeated ({sort})");
        for s in &stable {
            assert!(seen.contains(s), "stable row {s} skipped ({sort})");
        }
        for d in &doomed {
            assert_eq!(
                app.get(&format!("/v1/contacts/{d}")).status,
                Status::NotFound
            );
        }
    }
}

#[test]
fn bad_cursors_are_400() {
    let app = TestApp::spawn();
    for i in 0..5 {
        app.create_contact(&format!("P{i}"), &format!("+9198765{i:05}"));
    }
    let first = app.get("/v1/contacts?limit=2");
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let enc = encode(&cursor);
    for uri in [
        format!("/v1/contacts?limit=2&page=2&cursor={enc}"),
        format!("/v1/contacts?limit=2&cursor={enc}&sort=name"),
        format!("/v1/contacts?limit=2&cursor={enc}&search=p"),
        format!("/v1/contacts?limit=2&cursor={enc}&language=hi-IN"),
        format!("/v1/contacts?limit=2&cursor={enc}&metadata.city=Mumbai"),
        String::from("/v1/contacts?cursor=garbage"),
        format!("/v1/contacts?cursor={}", encode(&format!("x{cursor}"))),
        format!(
            "/v1/contacts?cursor={}",
            encode(&cursor[..cursor.len() - 2])
        ),
    ] {
        let answer = app.get(&uri);
        answer.assert_error(400, "bad_request");
        assert_eq!(answer.detail_fields(), ["cursor"], "{uri}");
    }
    // A different limit is fine.
    assert_eq!(
        app.get(&format!("/v1/contacts?limit=3&cursor={enc}"))
            .status,
        Status::Ok
    );
    // Another organization cannot use it.
    let (_, other_key) = app.other_org();
    let theirs = app.send(
        rocket::http::Method::Get,
        &format!("/v1/contacts?limit=2&cursor={enc}"),
        Some(&other_key),
        None,
    );
    theirs.assert_error(400, "bad_request");
}

#[test]
fn filters_sort_and_cursors_work_on_audience_listings() {
    let app = TestApp::spawn();
    let c = seed(&app);
    let audience = app.post("/v1/audiences", &json!({"name": "VIP"})).body;
    let aid = audience["id"].as_str().unwrap();
    app.post(
        &format!("/v1/audiences/{aid}/contacts"),
        &json!({"contactIds": [id(&c[0]), id(&c[1]), id(&c[2])]}),
    );
    let members = app.get(&format!(
        "/v1/audiences/{aid}/contacts?language=hi-IN&sort=name"
    ));
    assert_eq!(ids_of(&members.body), ids(&[&c[2], &c[0]]));
    assert_eq!(members.body["total"], 2);
    let walked = walk(
        &app,
        &format!("/v1/audiences/{aid}/contacts?limit=1&sort=name"),
    );
    assert_eq!(walked, ids(&[&c[2], &c[0], &c[1]]));
    let available = app.get(&format!(
        "/v1/audiences/{aid}/available-contacts?metadata.city=Paris"
    ));
    assert_eq!(ids_of(&available.body), ids(&[&c[3]]));
    assert!(available
        .body
        .as_object()
        .unwrap()
        .contains_key("nextCursor"));
    // A members cursor is not an available-contacts cursor.
    let first = app.get(&format!("/v1/audiences/{aid}/contacts?limit=1"));
    let cursor = encode(first.body["nextCursor"].as_str().unwrap());
    app.get(&format!(
        "/v1/audiences/{aid}/available-contacts?limit=1&cursor={cursor}"
    ))
    .assert_error(400, "bad_request");
    // audienceId is a /v1/contacts filter only.
    app.get(&format!("/v1/audiences/{aid}/contacts?audienceId={aid}"))
        .assert_error(400, "bad_request");
}

#[test]
fn search_follows_bulk_delete() {
    let app = TestApp::spawn();
    let a = app.create_contact("Priya Sharma", "+919876543210");
    app.create_contact("Priya Iyer", "+919123456789");
    app.post("/v1/contacts/bulk-delete", &json!({"contactIds": [id(&a)]}));
    assert_eq!(app.search_names("priya"), ["Priya Iyer"]);
    assert_eq!(app.search_names("sh"), Vec::<String>::new());
    assert_eq!(app.search_names("98765"), Vec::<String>::new());
}

#[test]
fn a_cursor_does_not_fit_a_query_that_merely_spells_alike() {
    let app = TestApp::spawn();
    for i in 0..4 {
        create(
            &app,
            &json!({"name": format!("a|language=hi-IN {i}"), "phoneNumber": format!("+9198765{i:05}"),
                   "language": "hi-IN"}),
        );
    }
    let first = app.get("/v1/contacts?limit=1&search=a%7Clanguage%3Dhi-IN");
    assert_eq!(first.body["total"], 4);
    let cursor = encode(first.body["nextCursor"].as_str().unwrap());
    let other = app.get(&format!(
        "/v1/contacts?limit=1&search=a&language=hi-IN&cursor={cursor}"
    ));
    other.assert_error(400, "bad_request");
}

#[test]
fn metadata_filters_follow_every_write() {
    let app = TestApp::spawn();
    let c = create(
        &app,
        &json!({"name": "A", "phoneNumber": "+919876543210", "metadata": {"city": "Mumbai", "n": 1}}),
    );
    let total = |query: &str| app.get(&format!("/v1/contacts?{query}")).body["total"].clone();
    assert_eq!(total("metadata.city=Mumbai"), 1);
    assert_eq!(total("metadata.n=1"), 1);
    app.patch(
        &format!("/v1/contacts/{}", id(&c)),
        &json!({"metadata": {"city": "Delhi"}}),
    );
    assert_eq!(total("metadata.city=Mumbai"), 0);
    assert_eq!(total("metadata.n=1"), 0);
    assert_eq!(total("metadata.city=Delhi"), 1);
    app.post(
        "/v1/contacts/bulk",
        &json!({"contacts": [{"name": "A", "phoneNumber": "+919876543210", "metadata": {"city": "Pune"}}]}),
    );
    assert_eq!(total("metadata.city=Delhi"), 0);
    assert_eq!(
        ids_of(&app.get("/v1/contacts?metadata.city=Pune").body),
        [id(&c)]
    );
    // A name-only bulk update keeps the metadata and its index entries.
    app.post(
        "/v1/contacts/bulk",
        &json!({"contacts": [{"name": "B", "phoneNumber": "+919876543210"}]}),
    );
    assert_eq!(total("metadata.city=Pune"), 1);
    app.post("/v1/contacts/bulk-delete", &json!({"contactIds": [id(&c)]}));
    assert_eq!(total("metadata.city=Pune"), 0);
}
