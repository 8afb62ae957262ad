//! The HTTP surface: routes, the shared request and response pieces, and the
//! catchers that give Rocket's own errors the contract's JSON shape.

mod audiences;
mod body;
mod calls;
mod contacts;
mod health;
mod listing;
mod query;
mod reply;

use rocket::http::Status;
use rocket::request::Request;
use rocket::{Catcher, Route};

use crate::error::{self, ApiError};

pub use body::{JsonBody, DEFAULT_JSON_LIMIT_MIB};
pub use query::{PageRequest, RawQuery};
pub use reply::{Page, Reply};

/// Every `/v1` route.
pub fn routes() -> Vec<Route> {
    let mut routes = contacts::routes();
    routes.extend(audiences::routes());
    routes.extend(calls::routes());
    routes
}

/// Routes outside `/v1` (no key needed).
pub fn root_routes() -> Vec<Route> {
    health::routes()
}

/// One catcher for every status, so unknown routes, wrong methods, bodies
/// over the limit and panics all answer in the contract's shape.
pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}

#[rocket::catch(default)]
fn default_catcher(status: Status, req: &Request<'_>) -> ApiError {
    error::take_pending(req, status).unwrap_or_else(|| ApiError::for_status(status, req))
}
