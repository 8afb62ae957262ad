//! `/v1/do-not-call`: the organization's do-not-call list (CONTRACT.md,
//! "Do-not-call and calling hours").

use rocket::Route;
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::Success;
use super::openapi::{DeleteByIdErrors, PageErrors, PostErrors};
use super::{for_verified, JsonBody, Page, PageRequest, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::dnc::Entry;
use crate::domain::dnc::DncRequest;
use crate::domain::schema::NewDoNotCall;
use crate::domain::PhoneNumber;
use crate::error::ApiError;
use crate::idempotency::Idempotent;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_list, post_numbers, get_entry, delete_entry]
}

/// A listed number.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DoNotCallEntry, example = json!({"phoneNumber": "+919876543210",
    "reason": "Asked not to be called", "source": "call 2026-12-01", "createdAt": "2026-12-05T10:00:00.000Z"}))]
pub(crate) struct EntryView<'a> {
    /// E.164.
    phone_number: &'a str,
    #[schema(required = true)]
    reason: Option<&'a str>,
    #[schema(required = true)]
    source: Option<&'a str>,
    created_at: String,
}

impl<'a> EntryView<'a> {
    fn new(entry: &'a Entry) -> Self {
        EntryView {
            phone_number: &entry.phone,
            reason: entry.reason.as_deref(),
            source: entry.source.as_deref(),
            created_at: clock::format_ms(entry.created_at),
        }
    }
}

/// A number that could not be listed.
#[derive(Serialize, ToSchema)]
pub(crate) struct ItemError {
    /// Its place in `phoneNumbers`, from 0.
    index: usize,
    field: String,
    reason: String,
}

/// What an add did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DoNotCallAdded)]
pub(crate) struct AddOutcome {
    added: usize,
    already_listed: usize,
    failed: usize,
    errors: Vec<ItemError>,
}

#[utoipa::path(
    get,
    path = "/v1/do-not-call",
    tag = "do-not-call",
    summary = "List the do-not-call list, newest first",
    params(PageRequest, ("search" = Option<String>, Query, description = "Numbers whose digits contain these digits")),
    responses((status = 200, body = Page<EntryView>), PageErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/do-not-call")]
async fn get_list(org: Org, mut query: Query) -> Result<Reply, ApiError> {
    let parsed = PageRequest::from_query(&mut query.0).and_then(|page| {
        let search = query.0.take("search");
        std::mem::take(&mut query.0).finish()?;
        Ok((page, search))
    });
    let (page, search) = for_verified(&org, parsed).await?;
    let digits: Option<String> = search
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| !d.is_empty());
    let answer = org
        .list_do_not_call(digits, page.limit, page.offset())
        .await?;
    let (rows, total) = &answer.value;
    let data = rows.iter().map(EntryView::new).collect();
    Reply::ok(&Page::new(data, *total, page.page, page.limit))
}

#[utoipa::path(
    post,
    path = "/v1/do-not-call",
    tag = "do-not-call",
    summary = "Add up to 1,000 numbers to the do-not-call list",
    request_body = NewDoNotCall,
    responses((status = 200, body = AddOutcome), PostErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/do-not-call", data = "<body>")]
async fn post_numbers(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(add_numbers(org, body).await).await,
    }
}

async fn add_numbers(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let request = DncRequest::from_json(body.value())?;
    let mut numbers = Vec::with_capacity(request.numbers.len());
    let mut errors = Vec::new();
    for (index, number) in request.numbers.into_iter().enumerate() {
        match number {
            Ok(number) => numbers.push(number),
            Err(error) => errors.push(ItemError {
                index,
                field: error.field,
                reason: error.message,
            }),
        }
    }
    let added = org
        .add_do_not_call(numbers, request.reason, request.source)
        .await?;
    Reply::ok(&AddOutcome {
        added: added.value.added,
        already_listed: added.value.already_listed,
        failed: errors.len(),
        errors,
    })
}

/// The number a path names, in any spelling; one that is not a number is
/// on no list.
fn listed_number(text: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(text)
        .ok_or_else(|| ApiError::not_found(String::from("Do-not-call entry not found")))
}

#[utoipa::path(
    get,
    path = "/v1/do-not-call/{number}",
    tag = "do-not-call",
    summary = "Whether a number is on the do-not-call list (any spelling, URL-encoded)",
    params(("number" = String, Path, description = "The number in any spelling, URL-encoded", example = "+919876543210")),
    responses((status = 200, body = EntryView), DeleteByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/do-not-call/<number>")]
async fn get_entry(org: Org, number: &str) -> Result<Reply, ApiError> {
    let number = for_verified(&org, listed_number(number)).await?;
    let entry = org.do_not_call_entry(number).await?;
    Reply::ok(&EntryView::new(&entry.value))
}

#[utoipa::path(
    delete,
    path = "/v1/do-not-call/{number}",
    tag = "do-not-call",
    summary = "Take a number off the do-not-call list",
    params(("number" = String, Path, description = "The number in any spelling, URL-encoded", example = "+919876543210")),
    responses((status = 200, body = Success), DeleteByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/do-not-call/<number>")]
async fn delete_entry(org: Org, number: &str) -> Result<Reply, ApiError> {
    let number = for_verified(&org, listed_number(number)).await?;
    org.remove_do_not_call(number).await?;
    Reply::ok(&Success::YES)
}
