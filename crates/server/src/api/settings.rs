//! `/v1/settings/calling-hours`: when, in the callee's own time, the
//! organization's calls may be placed; and
//! `/v1/contacts/{id}/callability`: whether one contact may be called.

use rocket::Route;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::{CallabilityErrors, KeyErrors, PutErrors};
use super::{for_verified, JsonBody, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::domain::hours::{self, CallingHours};
use crate::error::ApiError;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_calling_hours, put_calling_hours, get_callability]
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

/// Whether a contact may be called at a moment, and why not.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Callability, example = json!({"callable": false, "reasons": ["outside_calling_hours"],
    "timeZones": ["Asia/Calcutta"], "nextCallableAt": "2026-12-07T03:30:00.000Z"}))]
pub(crate) struct CallabilityView {
    callable: bool,
    /// `do_not_call` and/or `outside_calling_hours`; empty when callable.
    reasons: Vec<&'static str>,
    /// The zones the number may be in, as libphonenumber names them;
    /// `["Etc/UTC"]` when unknown.
    time_zones: &'static [&'static str],
    /// The first moment at or after `at` inside the hours in every zone;
    /// `null` when listed, or when none comes within 7 days.
    #[schema(required = true)]
    next_callable_at: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/contacts/{id}/callability",
    tag = "do-not-call",
    summary = "Whether a contact may be called at a moment (default now)",
    params(
        ("id" = String, Path, description = "The contact's id"),
        ("at" = Option<String>, Query, format = DateTime, description = "RFC 3339 time (default: now)")
    ),
    responses((status = 200, body = CallabilityView), CallabilityErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/contacts/<id>/callability")]
async fn get_callability(org: Org, id: &str, query: Query) -> Result<Reply, ApiError> {
    let at = for_verified(&org, hours::callability_at(query.0)).await?;
    let found = org.callability(id.to_string(), at).await?.value;
    let mut reasons = Vec::new();
    if found.listed {
        reasons.push("do_not_call");
    }
    if !found.inside_hours {
        reasons.push("outside_calling_hours");
    }
    Reply::ok(&CallabilityView {
        callable: reasons.is_empty(),
        reasons,
        time_zones: found.zones.names(),
        next_callable_at: found.next_callable_at.map(clock::format_ms),
    })
}
