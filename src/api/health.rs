//! `GET /healthz`: 200 only when the database answers.

use rocket::{Route, State};
use serde_json::json;

use super::Reply;
use crate::db::Db;
use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    rocket::routes![get_healthz]
}

#[rocket::get("/healthz")]
async fn get_healthz(db: &State<Db>) -> Result<Reply, ApiError> {
    db.healthy().await.map_err(|e| {
        log::error!("health check failed: {e}");
        ApiError::unavailable("The database is not answering")
    })?;
    Reply::ok(&json!({ "status": "ok" }))
}
