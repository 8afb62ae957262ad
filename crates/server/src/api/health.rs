//! `GET /healthz`: 200 only when the database answers a read and takes a
//! write; otherwise 503 saying why (busy, disk full, read-only, I/O).

use rocket::{Route, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ErrorBody, Reply};
use crate::db::Db;
use crate::error::ApiError;
use crate::metrics::{self, Metrics};
use rocket::http::ContentType;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_healthz]
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    summary = "Whether the database answers a read and takes a write (no key)",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Busy, disk full, read-only or unreachable (`unavailable`)", body = ErrorBody)
    )
)]
#[rocket::get("/healthz")]
async fn get_healthz(db: &State<Db>) -> Result<Reply, ApiError> {
    db.healthy().await.map_err(|e| {
        let reason = e.to_string();
        match ApiError::from(e) {
            answer if answer.status().code == 503 => answer,
            _ => ApiError::unavailable("The database is not answering").with_cause(reason),
        }
    })?;
    Reply::ok(&Health { status: "ok" })
}

/// Prometheus' text format (see `crate::metrics`); mounted only when the
/// operator enables it.
#[rocket::get("/metrics")]
pub(super) async fn get_metrics(metrics: &State<Metrics>, db: &State<Db>) -> (ContentType, String) {
    (metrics::content_type(), metrics.render(db).await)
}

/// A database that answers.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
struct Health {
    /// Always `ok`.
    status: &'static str,
}
