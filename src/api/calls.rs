//! `/v1/calls`: call records, kept when their contact is deleted.

use rocket::{Route, State};
use serde::Serialize;
use serde_json::value::RawValue;

use super::contacts::raw_json;
use super::{JsonBody, Page, PageRequest, RawQuery, Reply};
use crate::clock;
use crate::db::calls::{self, Call};
use crate::db::{Db, Tenant};
use crate::domain::NewCall;
use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    rocket::routes![get_calls, post_call, get_call]
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallView<'a> {
    id: &'a str,
    contact_id: &'a str,
    contact_name: &'a str,
    phone_number: &'a str,
    status: &'a str,
    direction: &'a str,
    started_at: String,
    duration_seconds: Option<i64>,
    metadata: Box<RawValue>,
    organization_id: &'a str,
    created_at: String,
}

impl<'a> CallView<'a> {
    fn new(call: &'a Call, tenant: &'a Tenant) -> Self {
        CallView {
            id: &call.id,
            contact_id: &call.contact_id,
            contact_name: &call.contact_name,
            phone_number: &call.phone,
            status: &call.status,
            direction: &call.direction,
            started_at: clock::format_ms(call.started_at),
            duration_seconds: call.duration_seconds,
            metadata: raw_json(&call.metadata),
            organization_id: &tenant.org_id,
            created_at: clock::format_ms(call.created_at),
        }
    }
}

#[rocket::get("/calls")]
async fn get_calls(db: &State<Db>, tenant: Tenant, mut query: RawQuery) -> Result<Reply, ApiError> {
    let page = PageRequest::from_query(&mut query)?;
    let contact_id = query.take("contactId");
    query.finish()?;
    let scope = tenant.clone();
    let (rows, total) = db
        .read(move |tx| calls::list(tx, &scope, contact_id.as_deref(), page.limit, page.offset()))
        .await?;
    let data = rows.iter().map(|c| CallView::new(c, &tenant)).collect();
    Reply::ok(&Page::new(data, total, page.page, page.limit))
}

#[rocket::post("/calls", data = "<body>")]
async fn post_call(db: &State<Db>, tenant: Tenant, body: JsonBody) -> Result<Reply, ApiError> {
    let new = NewCall::from_json(&body.0).map_err(ApiError::validation)?;
    let scope = tenant.clone();
    let call = db.write(move |tx| calls::insert(tx, &scope, new)).await?;
    Reply::created(
        format!("/v1/calls/{}", call.id),
        &CallView::new(&call, &tenant),
    )
}

#[rocket::get("/calls/<id>")]
async fn get_call(db: &State<Db>, tenant: Tenant, id: &str) -> Result<Reply, ApiError> {
    let (scope, id) = (tenant.clone(), id.to_string());
    let call = db.read(move |tx| calls::get(tx, &scope, &id)).await?;
    Reply::ok(&CallView::new(&call, &tenant))
}
