//! `GET /`: the console, a web page for the people who look after the
//! contacts. Plain ES modules and one stylesheet under `assets/console/`,
//! embedded in the binary (no build step, no network); the page talks only
//! to the public `/v1` API with the key its user signs in with, kept in
//! `sessionStorage`. Every file is sent with a strict Content-Security-
//! Policy: scripts and styles from contactsd only, no inline script or
//! style attribute, no other origin.

use rocket::http::{ContentType, Header};
use rocket::response::Responder;
use rocket::Route;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_console, get_console_file]
}

/// Nothing but contactsd's own origin; `blob:` only for the export's
/// download link.
pub(crate) const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The console's files: name, type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "js",
        include_bytes!("../../assets/console/app.js"),
    ),
    (
        "api.js",
        "js",
        include_bytes!("../../assets/console/api.js"),
    ),
    (
        "dom.js",
        "js",
        include_bytes!("../../assets/console/dom.js"),
    ),
    (
        "contacts.js",
        "js",
        include_bytes!("../../assets/console/contacts.js"),
    ),
    (
        "audiences.js",
        "js",
        include_bytes!("../../assets/console/audiences.js"),
    ),
    (
        "dnc.js",
        "js",
        include_bytes!("../../assets/console/dnc.js"),
    ),
    (
        "import.js",
        "js",
        include_bytes!("../../assets/console/import.js"),
    ),
    (
        "style.css",
        "css",
        include_bytes!("../../assets/console/style.css"),
    ),
];

const PAGE: &[u8] = include_bytes!("../../assets/console/index.html");

#[derive(Responder)]
pub(crate) struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    policy: Header<'static>,
    /// Always revalidated, so a new binary's console is used at once.
    cache: Header<'static>,
    referrer: Header<'static>,
}

impl Asset {
    fn new(body: &'static [u8], content_type: ContentType) -> Self {
        Asset {
            body,
            content_type,
            policy: Header::new("Content-Security-Policy", POLICY),
            cache: Header::new("Cache-Control", "no-cache"),
            referrer: Header::new("Referrer-Policy", "no-referrer"),
        }
    }
}

/// The console's page (no key: it asks for one).
#[utoipa::path(
    get,
    path = "/",
    tag = "service",
    summary = "The web console (no key; it signs in with one)",
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[rocket::get("/")]
fn get_console() -> Asset {
    Asset::new(PAGE, ContentType::HTML)
}

/// One of the console's scripts or its stylesheet.
#[utoipa::path(
    get,
    path = "/console/{file}",
    tag = "service",
    summary = "The console's scripts and stylesheet (no key)",
    params(("file" = String, Path, description = "app.js, style.css, …")),
    responses(
        (status = 200, description = "The file", content_type = "text/javascript"),
        (status = 404, description = "No such file (`not_found`)", body = super::ErrorBody)
    )
)]
#[rocket::get("/console/<file>")]
fn get_console_file(file: &str) -> Option<Asset> {
    FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, kind, body)| {
            let content_type = if *kind == "css" {
                ContentType::CSS
            } else {
                ContentType::JavaScript
            };
            Asset::new(body, content_type)
        })
}
