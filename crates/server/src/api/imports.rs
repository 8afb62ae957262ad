//! `/v1/imports`: the platform's Imports API (JSON rows), CSV imports, and
//! their status. Requests are checked for their shape, stored, answered
//! `202`, and applied by the worker (see `worker`).

use rocket::http::Status;
use rocket::{Route, State};
use serde::Serialize;

use super::body::FileBody;
use super::openapi as doc;
use super::{for_verified, JsonBody, Page, PageRequest, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::imports::{Import, RowError, WebhookAttempt};
use crate::db::TenantDb;
use crate::error::ApiError;
use crate::idempotency::Idempotent;
use crate::import::{self, ImportRequest};
use crate::worker::Worker;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        post_imports_api_bulk,
        post_imports_csv,
        get_import_status,
        get_imports
    ]
}

/// An import as the API shows it: its status object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView<'a> {
    id: &'a str,
    status: &'static str,
    total: i64,
    processed: i64,
    created: i64,
    updated: i64,
    failed: i64,
    error_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<RowErrorView<'a>>>,
    audience_id: Option<&'a str>,
    webhook_url: Option<&'a str>,
    created_at: String,
    started_at: Option<String>,
    completed_at: Option<String>,
    organization_id: &'a str,
    /// The webhook's delivery (`null` without a `webhookUrl`); not part of
    /// the webhook's own body.
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook: Option<Option<WebhookView<'a>>>,
}

#[derive(Serialize)]
pub(crate) struct RowErrorView<'a> {
    index: i64,
    field: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookView<'a> {
    /// `waiting` (the import is not final), `pending`, `delivered` or `failed`.
    state: &'a str,
    attempts: Vec<AttemptView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttemptView<'a> {
    at: String,
    status_code: Option<i64>,
    error: Option<&'a str>,
}

impl<'a> ImportView<'a> {
    /// The status object; `errors` only where asked (the status route).
    pub fn new(import: &'a Import, errors: Option<&'a [RowError]>, org_id: &'a str) -> Self {
        ImportView {
            id: &import.id,
            status: import.status.as_str(),
            total: import.total,
            processed: import.processed,
            created: import.created,
            updated: import.updated,
            failed: import.failed,
            error_count: import.failed,
            errors: errors.map(|errors| {
                errors
                    .iter()
                    .map(|e| RowErrorView {
                        index: e.index,
                        field: &e.field,
                        reason: &e.reason,
                    })
                    .collect()
            }),
            audience_id: import.audience_id.as_deref(),
            webhook_url: import.webhook_url.as_deref(),
            created_at: clock::format_ms(import.created_at),
            started_at: import.started_at.map(clock::format_ms),
            completed_at: import.completed_at.map(clock::format_ms),
            organization_id: org_id,
            webhook: Some(import.webhook_url.as_ref().map(|_| WebhookView {
                state: import.webhook_state.as_deref().unwrap_or("waiting"),
                attempts: import.webhook_attempts.iter().map(attempt_view).collect(),
            })),
        }
    }
}

fn attempt_view(attempt: &WebhookAttempt) -> AttemptView<'_> {
    AttemptView {
        at: clock::format_ms(attempt.at),
        status_code: attempt.status_code,
        error: attempt.error.as_deref(),
    }
}

/// The body of an import's webhook: `{"event":"import.completed","data":…}`
/// with the status object without `errors` (nor the delivery's own record).
pub(crate) fn webhook_body(import: &Import, org_id: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Event<'a> {
        event: &'static str,
        data: ImportView<'a>,
    }
    let mut data = ImportView::new(import, None, org_id);
    data.webhook = None;
    serde_json::to_vec(&Event {
        event: "import.completed",
        data,
    })
    .unwrap_or_default()
}

/// Queues `request` and answers `202` with where to follow it.
async fn accept(
    org: &TenantDb,
    worker: &Worker,
    request: ImportRequest,
) -> Result<Reply, ApiError> {
    let queued = org.create_import(request).await?;
    worker.wake();
    let import = &queued.value;
    Reply::with_location(
        Status::Accepted,
        format!("/v1/imports/{}/status", import.id),
        &serde_json::json!({
            "importId": import.id,
            "status": import.status.as_str(),
            "total": import.total,
        }),
    )
}

#[utoipa::path(
    post,
    path = "/v1/imports/api/bulk",
    tag = "imports",
    summary = "Import up to 10,000 contacts in the background",
    description = "Rows upsert on the phone number like bulk items; every key of a row other \
                   than `name`, `phoneNumber`, `language` and `metadata` becomes a metadata key. \
                   Rows are checked while processing: a bad row fails alone.",
    request_body = doc::ImportRequest,
    responses((status = 202, body = doc::ImportAccepted, headers(("Location" = String))), (status = 404, description = "Unknown audience", body = doc::Error), (status = 409, description = "The idempotency key's first request is still running", body = doc::Error), (status = 413, description = "Body too large or more than 10,000 rows", body = doc::Error), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed request", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/imports/api/bulk", data = "<body>")]
async fn post_imports_api_bulk(
    org: Org,
    worker: &State<Worker>,
    body: Idempotent<JsonBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(import_rows(org, worker, body).await).await,
    }
}

/// Queues the JSON rows as an import.
async fn import_rows(org: Org, worker: &State<Worker>, body: JsonBody) -> Result<Reply, ApiError> {
    let request = import::json_request(body.into_value())?;
    accept(&org, worker, request).await
}

#[utoipa::path(
    post,
    path = "/v1/imports/csv",
    tag = "imports",
    summary = "Import a CSV file of up to 1,000,000 contacts in the background",
    description = "The first line is a header: `name` and `phoneNumber` (or `phone`, `mobile`, \
                   `phone_number`) are required, `language` optional, matched ignoring case, \
                   spaces, `_` and `-`; a `metadata` column holds a JSON object; every other \
                   column becomes a metadata key (empty cells add nothing).",
    params(
        ("audienceId" = Option<String>, Query, description = "Every imported contact joins this audience"),
        ("webhookUrl" = Option<String>, Query, description = "POSTed the final status")
    ),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 202, body = doc::ImportAccepted, headers(("Location" = String))), (status = 404, description = "Unknown audience", body = doc::Error), (status = 409, description = "The idempotency key's first request is still running", body = doc::Error), (status = 413, description = "Body over `limits.file` or more than 1,000,000 rows", body = doc::Error), (status = 422, description = "Not CSV (naming the `line`), a required column missing, or a bad `webhookUrl`", body = doc::Error), (status = 400, description = "An unknown query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy, full or read-only", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/imports/csv", data = "<body>")]
async fn post_imports_csv(
    org: Org,
    worker: &State<Worker>,
    query: Query,
    body: Idempotent<FileBody>,
) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => {
            claim
                .finish(import_csv(org, worker, query, body).await)
                .await
        }
    }
}

/// Queues the CSV file as an import.
async fn import_csv(
    org: Org,
    worker: &State<Worker>,
    mut query: Query,
    body: FileBody,
) -> Result<Reply, ApiError> {
    let audience_id = query.take("audienceId").filter(|id| !id.is_empty());
    let webhook_url = query.take("webhookUrl");
    query.0.finish()?;
    let webhook_url = match webhook_url {
        Some(url) => Some(import::webhook_url(&url).map_err(|e| ApiError::validation(vec![e]))?),
        None => None,
    };
    let bytes = body.into_bytes();
    let rows = rocket::tokio::task::spawn_blocking(move || {
        import::csv_rows(&bytes, import::MAX_FILE_ROWS)
    })
    .await
    .map_err(|e| ApiError::internal().caused_by(&e))??;
    let request = ImportRequest {
        rows,
        audience_id,
        webhook_url,
    };
    accept(&org, worker, request).await
}

#[utoipa::path(
    get,
    path = "/v1/imports/{id}/status",
    tag = "imports",
    summary = "An import's progress, counts and first 1,000 failed rows",
    params(("id" = String, Path, description = "The import's id")),
    responses((status = 200, body = doc::ImportStatus), (status = 404, description = "Unknown id, or another organization's", body = doc::Error), (status = 400, description = "A malformed request", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy or unreachable", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/imports/<id>/status")]
async fn get_import_status(org: Org, id: &str) -> Result<Reply, ApiError> {
    let found = org.import(id.to_string()).await?;
    let (import, errors) = &found.value;
    Reply::ok(&ImportView::new(import, Some(errors), &found.org_id))
}

#[utoipa::path(
    get,
    path = "/v1/imports",
    tag = "imports",
    summary = "List imports, newest first",
    params(doc::PageParams),
    responses((status = 200, body = doc::ImportPage), (status = 422, description = "A rule broken; `details` names each field", body = doc::Error), (status = 400, description = "A malformed query parameter", body = doc::Error), (status = 401, description = "Missing, unknown or revoked key", body = doc::Error), (status = 429, description = "Over a rate limit", body = doc::Error), (status = 503, description = "The database is busy or unreachable", body = doc::Error)),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/imports")]
async fn get_imports(org: Org, mut query: Query) -> Result<Reply, ApiError> {
    let parsed = PageRequest::from_query(&mut query).and_then(|page| {
        std::mem::take(&mut query.0).finish()?;
        Ok(page)
    });
    let page = for_verified(&org, parsed).await?;
    let answer = org.list_imports(page.limit, page.offset()).await?;
    let (imports, total) = &answer.value;
    let data = imports
        .iter()
        .map(|import| ImportView::new(import, None, &answer.org_id))
        .collect();
    Reply::ok(&Page::new(data, *total, page.page, page.limit))
}
