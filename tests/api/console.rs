//! The console's files (CONTRACT.md "The console"): served without a key,
//! with a strict Content-Security-Policy. What the page does is tested in
//! a real browser by `tests/browser/console.py`.

use rocket::http::{Header, Status};

use crate::helpers::TestApp;

#[test]
fn the_console_is_served_without_a_key_under_a_strict_policy() {
    let app = TestApp::spawn();
    for (path, content_type, needle) in [
        ("/", "text/html", "/console/app.js"),
        ("/console/app.js", "text/javascript", "API key"),
        ("/console/api.js", "text/javascript", "sessionStorage"),
        ("/console/style.css", "text/css", "font-family"),
    ] {
        let response = app.client.get(path).dispatch();
        assert_eq!(response.status(), Status::Ok, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers
                .get_one("Content-Type")
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        let policy = headers.get_one("Content-Security-Policy").unwrap();
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        assert!(response.into_string().unwrap().contains(needle), "{path}");
    }
    let page = app.client.get("/").dispatch().into_string().unwrap();
    // No inline script and no inline style: everything is a file.
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "{page}"
    );
    for path in ["/console/nope.js", "/console/../Cargo.toml"] {
        let response = app
            .client
            .get(path)
            .header(Header::new("x-api-key", app.key.clone()))
            .dispatch();
        assert_eq!(response.status(), Status::NotFound, "{path}");
    }
}
