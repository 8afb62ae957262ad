//! `/v1/calls`: call records, kept when their contact is deleted.

use rocket::Route;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::contacts::raw_json;
use super::openapi::{ByIdErrors, PageErrors, PostNamingErrors};
use super::{for_verified, JsonBody, Page, PageRequest, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::calls::Call;
use crate::domain::{CallDirection, CallStatus, NewCall};
use crate::error::ApiError;
use crate::idempotency::Idempotent;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_calls, post_call, get_call]
}

/// A call record.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Call, example = json!({"id": "call_P7MTRIT------RcX3yA0lMn",
    "contactId": "ct_P7MTRIT------PaH9hpOL9r", "contactName": "Priya Sharma",
    "phoneNumber": "+919876543210", "status": "completed", "direction": "outbound",
    "startedAt": "2026-03-01T10:00:00.000Z", "durationSeconds": 94, "metadata": {},
    "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:02:00.000Z"}))]
pub(crate) struct CallView<'a> {
    id: &'a str,
    /// The contact called, kept when that contact is deleted.
    contact_id: &'a str,
    /// The contact's name when the call was recorded.
    contact_name: &'a str,
    /// The contact's number when the call was recorded.
    phone_number: &'a str,
    #[schema(value_type = CallStatus)]
    status: &'static str,
    #[schema(value_type = CallDirection)]
    direction: &'static str,
    /// RFC 3339 UTC with milliseconds.
    started_at: String,
    #[schema(required = true)]
    duration_seconds: Option<i64>,
    #[schema(value_type = Object)]
    metadata: Box<RawValue>,
    organization_id: &'a str,
    created_at: String,
}

impl<'a> CallView<'a> {
    pub(crate) fn new(call: &'a Call, org_id: &'a str) -> Self {
        CallView {
            id: &call.id,
            contact_id: &call.contact_id,
            contact_name: call.contact_name.as_str(),
            phone_number: call.phone.as_str(),
            status: call.status.as_str(),
            direction: call.direction.as_str(),
            started_at: clock::format_ms(call.started_at),
            duration_seconds: call.duration_seconds,
            metadata: raw_json(&call.metadata),
            organization_id: org_id,
            created_at: clock::format_ms(call.created_at),
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/calls",
    tag = "calls",
    summary = "List call records",
    params(PageRequest, ("contactId" = Option<String>, Query, description = "One contact's calls")),
    responses((status = 200, body = Page<CallView>), PageErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/calls")]
async fn get_calls(org: Org, mut query: Query) -> Result<Reply, ApiError> {
    let parsed = PageRequest::from_query(&mut query).and_then(|page| {
        let contact_id = query.take("contactId");
        std::mem::take(&mut query.0).finish()?;
        Ok((page, contact_id))
    });
    let (page, contact_id) = for_verified(&org, parsed).await?;
    let answer = org
        .list_calls(contact_id, page.limit, page.offset())
        .await?;
    let (rows, total) = &answer.value;
    let data = rows
        .iter()
        .map(|c| CallView::new(c, &answer.org_id))
        .collect();
    Reply::ok(&Page::new(data, *total, page.page, page.limit))
}

#[utoipa::path(
    post,
    path = "/v1/calls",
    tag = "calls",
    summary = "Record a call",
    request_body = NewCall,
    responses((status = 201, body = CallView, headers(("Location" = String, description = "/v1/calls/{id}"))), PostNamingErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/calls", data = "<body>")]
async fn post_call(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(create_call(org, body).await).await,
    }
}

/// Records the call.
async fn create_call(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let new = NewCall::from_json(body.value()).map_err(ApiError::validation)?;
    let call = org.create_call(new).await?;
    Reply::created(
        format!("/v1/calls/{}", call.value.id),
        &CallView::new(&call.value, &call.org_id),
    )
}

#[utoipa::path(
    get,
    path = "/v1/calls/{id}",
    tag = "calls",
    summary = "Get a call record",
    params(("id" = String, Path, description = "The call's id")),
    responses((status = 200, body = CallView), ByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/calls/<id>")]
async fn get_call(org: Org, id: &str) -> Result<Reply, ApiError> {
    let call = org.call(id.to_string()).await?;
    Reply::ok(&CallView::new(&call.value, &call.org_id))
}
