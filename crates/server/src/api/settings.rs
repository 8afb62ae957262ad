//! `/v1/settings/calling-hours`: when, in the callee's own time, the
//! organization's calls may be placed.

use rocket::Route;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::{KeyErrors, PutErrors};
use super::{JsonBody, Reply};
use crate::auth::Org;
use crate::domain::hours::CallingHours;
use crate::error::ApiError;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_calling_hours, put_calling_hours]
}

/// Calling hours: local times from `start` up to, not including, `end`,
/// on `days` (ISO weekdays, Monday = 1).
#[derive(Serialize, ToSchema)]
#[schema(as = CallingHours, example = json!({"start": "09:00", "end": "21:00", "days": [1, 2, 3, 4, 5, 6]}))]
pub(crate) struct HoursView {
    /// `HH:MM`, local to the callee.
    start: String,
    /// `HH:MM`, after `start`; may be `24:00`.
    end: String,
    /// 1 to 7 distinct ISO weekdays.
    days: Vec<u8>,
}

impl HoursView {
    fn new(hours: CallingHours) -> Self {
        HoursView {
            start: CallingHours::format_time(hours.start),
            end: CallingHours::format_time(hours.end),
            days: hours.day_list(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/settings/calling-hours",
    tag = "do-not-call",
    summary = "The organization's calling hours (default 09:00 to 21:00 every day)",
    responses((status = 200, body = HoursView), KeyErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/settings/calling-hours")]
async fn get_calling_hours(org: Org) -> Result<Reply, ApiError> {
    let hours = org.calling_hours().await?;
    Reply::ok(&HoursView::new(hours.value))
}

#[utoipa::path(
    put,
    path = "/v1/settings/calling-hours",
    tag = "do-not-call",
    summary = "Set the organization's calling hours",
    request_body = HoursView,
    responses((status = 200, body = HoursView), PutErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::put("/settings/calling-hours", data = "<body>")]
async fn put_calling_hours(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let hours = CallingHours::from_json(body.value()).map_err(ApiError::validation)?;
    let stored = org.set_calling_hours(hours).await?;
    Reply::ok(&HoursView::new(stored.value))
}
