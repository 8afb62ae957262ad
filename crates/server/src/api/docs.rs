//! `GET /docs`: the API reference, rendered in the browser by Redoc from
//! `/v1/openapi.json`. Redoc's standalone bundle is vendored under
//! `assets/redoc/` (MIT, licence beside it) and embedded in the binary, so
//! the page needs no network: its Content-Security-Policy lets it load
//! nothing from anywhere but contactsd.

use rocket::http::{ContentType, Header};
use rocket::response::Responder;
use rocket::Route;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_docs, get_redoc]
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>contactsd API reference</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22%3E%3Crect width=%2216%22 height=%2216%22 rx=%223%22 fill=%22%232457a5%22/%3E%3Ctext x=%228%22 y=%2212%22 font-size=%2211%22 text-anchor=%22middle%22 fill=%22white%22 font-family=%22sans-serif%22%3Ec%3C/text%3E%3C/svg%3E">
</head>
<body>
<redoc spec-url="/v1/openapi.json" hide-download-button></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"#;

/// Only contactsd's own origin; Redoc styles with inline `<style>` and
/// runs its search in a `blob:` worker.
const POLICY: &str = "default-src 'none'; script-src 'self' blob:; worker-src 'self' blob:; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const REDOC: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

#[derive(Responder)]
struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    policy: Header<'static>,
    cache: Header<'static>,
}

/// The reference page (no key).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "service",
    summary = "This API's reference, as a web page (no key)",
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[rocket::get("/docs")]
fn get_docs() -> Asset {
    Asset {
        body: PAGE.as_bytes(),
        content_type: ContentType::HTML,
        policy: Header::new("Content-Security-Policy", POLICY),
        cache: Header::new("Cache-Control", "no-cache"),
    }
}

/// Redoc's bundle, as the page loads it.
#[utoipa::path(
    get,
    path = "/docs/redoc.standalone.js",
    tag = "service",
    summary = "The reference page's script (no key)",
    responses((status = 200, description = "Redoc's standalone bundle", content_type = "text/javascript"))
)]
#[rocket::get("/docs/redoc.standalone.js")]
fn get_redoc() -> Asset {
    Asset {
        body: REDOC,
        content_type: ContentType::JavaScript,
        policy: Header::new("Content-Security-Policy", POLICY),
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}
