//! The HTTP surface: routes, the shared request and response pieces, and the
//! catchers that give Rocket's own errors the contract's JSON shape.

mod audiences;
mod body;
mod calls;
pub mod changes;
mod console;
mod contacts;
mod dnc;
mod docs;
pub mod export;
mod health;
pub mod imports;
mod indexes;
mod listing;
pub mod openapi;
mod query;
mod reply;
mod settings;
mod webhooks;

use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Method, Status};
use rocket::request::Request;
use rocket::{Catcher, Route};

use crate::error::{self, ApiError};

pub(crate) use body::{
    BodyBudget, BodyTimeouts, FileBudget, JsonBody, DEFAULT_FILE_LIMIT_MIB, DEFAULT_JSON_LIMIT_MIB,
};
pub(crate) use contactsd_domain::query::{PageRequest, RawQuery};
pub(crate) use query::Query;
pub use reply::ErrorBody;
pub(crate) use reply::{Page, Reply, ScanHintRows, ScanNote, SCAN_HINT_ROWS};

/// `parsed`, once the caller's key is known to be valid: what is wrong with
/// a request is told only to a verified caller (an unknown key is 401
/// first). Read routes verify the key on the trip that reads, so they pay
/// for a separate check only here, on the error path.
pub(crate) async fn for_verified<T, E: Into<ApiError>>(
    org: &crate::db::TenantDb,
    parsed: Result<T, E>,
) -> Result<T, ApiError> {
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => {
            org.verify().await?;
            Err(error.into())
        }
    }
}

/// Every `/v1` route.
pub(crate) fn routes() -> Vec<Route> {
    let mut routes = contacts::routes();
    routes.extend(export::routes());
    routes.extend(audiences::routes());
    routes.extend(calls::routes());
    routes.extend(changes::routes());
    routes.extend(webhooks::routes());
    routes.extend(dnc::routes());
    routes.extend(settings::routes());
    routes.extend(imports::routes());
    routes.extend(indexes::routes());
    routes.extend(openapi::routes());
    routes
}

/// Routes outside `/v1` (no key needed).
pub(crate) fn root_routes() -> Vec<Route> {
    let mut routes = health::routes();
    routes.extend(docs::routes());
    routes.extend(console::routes());
    routes
}

/// `GET /metrics`, on the API's address when `metrics = true`.
pub(crate) fn metrics_routes() -> Vec<Route> {
    rocket::routes![health::get_metrics]
}

/// One catcher for every status, so unknown routes, wrong methods, bodies
/// over the limit and panics all answer in the contract's shape.
pub(crate) fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}

#[rocket::catch(default)]
async fn default_catcher(status: Status, req: &Request<'_>) -> ApiError {
    let error = error_for(status, req);
    // A read-only key is refused anything but reading before any route is
    // looked at: a write to an unknown route is 403 for it too.
    if error.status() == Status::NotFound
        && !crate::auth::is_read(req.method())
        && crate::auth::is_read_only_key(req).await
    {
        return ApiError::forbidden();
    }
    error
}

fn error_for(status: Status, req: &Request<'_>) -> ApiError {
    if let Some(error) = error::take_pending(req, status) {
        return error;
    }
    // A 400 that no guard raised is a request Rocket could not take in.
    // When its path survived, what Rocket refused was the method (`FOO`,
    // `PROPFIND`: it knows only the standard ones), and an unknown method
    // is 404 like any unknown route.
    if status == Status::BadRequest && req.uri().path() != "/" {
        return ApiError::not_found(format!("Cannot answer this method on {}", req.uri().path()));
    }
    ApiError::for_status(status, req)
}

/// Undoes Rocket's `_method` override. Rocket turns a `POST` whose form
/// body starts with `_method=DELETE` into a `DELETE` before any route sees
/// it, past proxies that filter by method; contactsd reads every body as
/// JSON, so such a request stays the `POST` it was sent as.
pub(crate) struct KeepSentMethod;

#[rocket::async_trait]
impl Fairing for KeepSentMethod {
    fn info(&self) -> Info {
        Info {
            name: "keep the sent method",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, data: &mut Data<'_>) {
        let is_form = req.content_type().is_some_and(|ct| ct.is_form());
        if is_form && req.method() != Method::Post {
            let peeked = data.peek("_method=delete".len()).await;
            if peeked.starts_with(b"_method=") {
                req.set_method(Method::Post);
            }
        }
    }
}
