//! `search` on `GET /v1/contacts`, as CONTRACT.md defines it.

use rocket::http::Status;
use serde_json::json;

use crate::helpers::{encode, TestApp};

fn people(app: &TestApp) {
    for (name, phone) in [
        ("Priya Sharma", "+919876543210"),
        ("Ravi Kumar", "+919123456789"),
        ("José Ñúñez", "+14155552671"),
        ("Anushka Sharma-Kohli", "+442079460958"),
        ("प्रिया वर्मा", "+919000012345"),
        ("O'Brien & Sons", "+61291234567"),
        ("100% Real_Name", "+33142685300"),
        ("Zoë \"Quote\" Adams", "+4930901820"),
    ] {
        app.create_contact(name, phone);
    }
}

#[test]
fn a_name_term_matches_word_starts_case_insensitively() {
    let app = TestApp::spawn();
    people(&app);
    assert_eq!(app.search_names("pri"), ["Priya Sharma"]);
    assert_eq!(app.search_names("PRI"), ["Priya Sharma"]);
    assert_eq!(
        app.search_names("sh"),
        ["Anushka Sharma-Kohli", "Priya Sharma"]
    );
    assert_eq!(
        app.search_names("k"),
        ["Anushka Sharma-Kohli", "Ravi Kumar"]
    );
}

#[test]
fn short_terms_match_word_starts_only() {
    let app = TestApp::spawn();
    people(&app);
    // "ya" is inside "Priya" but starts no word.
    assert_eq!(app.search_names("ya"), Vec::<String>::new());
    assert_eq!(app.search_names("r"), ["100% Real_Name", "Ravi Kumar"]);
}

#[test]
fn terms_of_three_characters_or_more_match_substrings() {
    let app = TestApp::spawn();
    people(&app);
    assert_eq!(app.search_names("riy"), ["Priya Sharma"]);
    assert_eq!(
        app.search_names("arma"),
        ["Anushka Sharma-Kohli", "Priya Sharma"]
    );
    assert_eq!(app.search_names("ohli"), ["Anushka Sharma-Kohli"]);
}

#[test]
fn search_is_accent_insensitive() {
    let app = TestApp::spawn();
    people(&app);
    assert_eq!(app.search_names("jose"), ["José Ñúñez"]);
    assert_eq!(app.search_names("NUNEZ"), ["José Ñúñez"]);
    assert_eq!(app.search_names("ñúñ"), ["José Ñúñez"]);
    assert_eq!(app.search_names("zoe"), ["Zoë \"Quote\" Adams"]);
    assert_eq!(app.search_names("jo"), ["José Ñúñez"]);
}

#[test]
fn indic_names_are_searchable() {
    let app = TestApp::spawn();
    people(&app);
    assert_eq!(app.search_names("प्रिया"), ["प्रिया वर्मा"]);
    assert_eq!(app.search_names("वर्"), ["प्रिया वर्मा"]);
}

#[test]
fn phone_digits_match_in_any_spelling() {
    let app = TestApp::spawn();
    people(&app);
    for query in [
        "98765",
        "+91 98765 43210",
        "9876543210",
        "+919876543210",
        "(987) 654-3210",
        "98.765",
    ] {
        assert_eq!(app.search_names(query), ["Priya Sharma"], "{query:?}");
    }
    assert_eq!(app.search_names("555"), ["José Ñúñez"]);
    assert_eq!(app.search_names("99999"), Vec::<String>::new());
}

#[test]
fn every_term_must_match() {
    let app = TestApp::spawn();
    people(&app);
    assert_eq!(app.search_names("priya sharma"), ["Priya Sharma"]);
    assert_eq!(app.search_names("sharma 98765"), ["Priya Sharma"]);
    assert_eq!(app.search_names("sharma 44207"), ["Anushka Sharma-Kohli"]);
    assert_eq!(app.search_names("priya kumar"), Vec::<String>::new());
    assert_eq!(app.search_names("sh ko"), ["Anushka Sharma-Kohli"]);
}

#[test]
fn hostile_input_is_plain_text_never_syntax() {
    let app = TestApp::spawn();
    people(&app);
    let hostile = [
        "\"",
        "\"\"",
        "'",
        "*",
        "-",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR(a b)",
        "(",
        ")",
        "%",
        "_",
        "pri*",
        "\"pri",
        "a\"b",
        "name:priya",
        "{name}:x",
        "^pri",
        "-pri",
        "+",
        "pri OR ravi",
        "); DROP TABLE contacts; --",
        "\\",
        "%%%",
        "__",
        "'; --",
        "\u{0}",
        "a\u{0}b",
        "ⓐ",
        "🙂",
    ];
    for query in hostile {
        let answer = app.get(&format!("/v1/contacts?search={}", encode(query)));
        assert_eq!(answer.status, Status::Ok, "{query:?}: {}", answer.body);
    }
    // Literal, not wildcards or operators.
    assert_eq!(app.search_names("%"), ["100% Real_Name"]);
    assert_eq!(app.search_names("_"), ["100% Real_Name"]);
    assert_eq!(app.search_names("pri*"), Vec::<String>::new());
    assert_eq!(app.search_names("pri OR ravi"), Vec::<String>::new());
    assert_eq!(app.search_names("\"Quote\""), ["Zoë \"Quote\" Adams"]);
    assert_eq!(app.search_names("'"), ["O'Brien & Sons"]);
    assert_eq!(app.search_names("&"), ["O'Brien & Sons"]);
    assert_eq!(app.search_names("o'b"), ["O'Brien & Sons"]);
    assert_eq!(app.get("/v1/contacts").body["total"], 8);
}

#[test]
fn blank_search_is_no_filter() {
    let app = TestApp::spawn();
    people(&app);
    for query in ["", "%20%20%20", "%20%09"] {
        let answer = app.get(&format!("/v1/contacts?search={query}"));
        assert_eq!(answer.body["total"], 8, "{query:?}");
    }
}

#[test]
fn search_total_and_pages_count_only_matches() {
    let app = TestApp::spawn();
    people(&app);
    let answer = app.get("/v1/contacts?search=sharma&limit=1");
    assert_eq!(answer.body["total"], 2);
    assert_eq!(answer.body["totalPages"], 2);
    assert_eq!(answer.body["data"].as_array().unwrap().len(), 1);
}

#[test]
fn search_follows_create_patch_and_delete() {
    let app = TestApp::spawn();
    let contact = app.create_contact("Priya Sharma", "+919876543210");
    let uri = format!("/v1/contacts/{}", contact["id"].as_str().unwrap());
    app.patch(
        &uri,
        &json!({"name": "Meera Iyer", "phoneNumber": "+919123456789"}),
    );
    assert_eq!(app.search_names("priya"), Vec::<String>::new());
    assert_eq!(app.search_names("98765"), Vec::<String>::new());
    assert_eq!(app.search_names("meera"), ["Meera Iyer"]);
    assert_eq!(app.search_names("me"), ["Meera Iyer"]);
    assert_eq!(app.search_names("91234"), ["Meera Iyer"]);
    // A metadata-only change keeps the index as it was.
    app.patch(&uri, &json!({"metadata": {"city": "Pune"}}));
    assert_eq!(app.search_names("iyer"), ["Meera Iyer"]);
    app.delete(&uri);
    assert_eq!(app.search_names("meera"), Vec::<String>::new());
    assert_eq!(app.search_names("me"), Vec::<String>::new());
}

#[test]
fn overlong_searches_are_422() {
    let app = TestApp::spawn();
    let answer = app.get(&format!("/v1/contacts?search={}", "a".repeat(300)));
    answer.assert_error(422, "validation_failed");
    assert_eq!(answer.detail_fields(), ["search"]);
    let many_terms = vec!["ab"; 40].join("%20");
    let answer = app.get(&format!("/v1/contacts?search={many_terms}"));
    assert_eq!(answer.detail_fields(), ["search"]);
}

#[test]
fn search_pages_match_the_general_order() {
    let app = TestApp::spawn();
    // Many rows in the same millisecond, interleaved with non-matching ones,
    // some created through bulk and some one by one.
    let items: Vec<serde_json::Value> = (0..30)
        .map(|i| json!({"name": format!("Priya {i}"), "phoneNumber": format!("+9198765{i:05}")}))
        .collect();
    app.post("/v1/contacts/bulk", &json!({ "contacts": items }));
    for i in 0..10 {
        app.create_contact(&format!("Ravi {i}"), &format!("+9191234{i:05}"));
        app.create_contact(&format!("Priya Solo {i}"), &format!("+9190000{i:05}"));
    }
    // The index-ordered path (search alone) against the general path (the
    // same search with a condition that keeps every row).
    for (sort, limit) in [("-createdAt", 7), ("createdAt", 7), ("-createdAt", 100)] {
        for page in 1..=6 {
            let fast = app.get(&format!(
                "/v1/contacts?search=priya&sort={sort}&limit={limit}&page={page}"
            ));
            let general = app.get(&format!(
                "/v1/contacts?search=priya&sort={sort}&limit={limit}&page={page}\
                 &createdAfter=2000-01-01T00:00:00Z"
            ));
            assert_eq!(fast.body["total"], 40);
            assert_eq!(
                crate::helpers::ids_of(&fast.body),
                crate::helpers::ids_of(&general.body)
            );
            assert_eq!(
                fast.body["nextCursor"].is_null(),
                general.body["nextCursor"].is_null()
            );
        }
    }
}
