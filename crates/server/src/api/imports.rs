//! `/v1/imports`: the platform's Imports API (JSON rows), CSV imports, and
//! their status. Requests are checked for their shape, stored, answered
//! `202`, and applied by the worker (see `worker`).

use rocket::http::Status;
use rocket::{Route, State};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

use super::body::FileBody;
use super::openapi::{ByIdErrors, ImportErrors, PageErrors};
use super::{for_verified, JsonBody, Page, PageRequest, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::imports::{Import, ImportStatus, RowError, WebhookAttempt};
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

/// An import as the API shows it: its status object. `errors` is on the
/// status route only; `webhook` is not part of the webhook's own body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Import)]
pub struct ImportView<'a> {
    id: &'a str,
    #[schema(schema_with = import_status)]
    status: &'static str,
    /// Rows in the import.
    total: i64,
    /// Rows handled so far (`total` when done).
    processed: i64,
    created: i64,
    updated: i64,
    failed: i64,
    /// Equals `failed`.
    error_count: i64,
    /// The first 1,000 failed rows, in row order (the status route only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    errors: Option<Vec<RowErrorView<'a>>>,
    #[schema(required = true)]
    audience_id: Option<&'a str>,
    /// A password in it is shown as `***`.
    #[schema(required = true, value_type = Option<String>)]
    webhook_url: Option<std::borrow::Cow<'a, str>>,
    created_at: String,
    /// `null` until processing starts.
    #[schema(required = true)]
    started_at: Option<String>,
    /// `null` until the import ends.
    #[schema(required = true)]
    completed_at: Option<String>,
    organization_id: &'a str,
    /// The webhook's delivery (`null` without a `webhookUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<WebhookView>, required = true)]
    // Three states on the wire: `None` leaves the field out (the webhook's
    // own body), `Some(None)` is `null`, `Some(Some(_))` the delivery.
    #[allow(clippy::option_option)]
    webhook: Option<Option<WebhookView<'a>>>,
}

/// The schema of an import's `status`, with every value it can take.
fn import_status() -> ObjectBuilder {
    use ImportStatus::{Completed, CompletedWithErrors, Failed, Pending, Processing};
    let all = [Pending, Processing, Completed, CompletedWithErrors, Failed];
    // A new status fails to compile here until it is listed above.
    let _ = |status: ImportStatus| match status {
        Pending | Processing | Completed | CompletedWithErrors | Failed => (),
    };
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all.map(ImportStatus::as_str)))
        .description(Some(
            "`COMPLETED`: no row failed; `COMPLETED_WITH_ERRORS`: some rows failed, some \
             applied; `FAILED`: no row applied.",
        ))
}

/// A row that failed.
#[derive(Serialize, ToSchema)]
#[schema(as = ImportRowError)]
pub(crate) struct RowErrorView<'a> {
    /// The row's position, from 0.
    index: i64,
    field: &'a str,
    reason: &'a str,
}

/// A webhook's delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookDelivery)]
pub(crate) struct WebhookView<'a> {
    /// `waiting` (the import is not final), `pending`, `delivered` or `failed`.
    state: &'a str,
    attempts: Vec<AttemptView<'a>>,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookAttempt)]
pub(crate) struct AttemptView<'a> {
    at: String,
    /// The receiver's status, when it answered.
    #[schema(required = true)]
    status_code: Option<i64>,
    /// Why the attempt failed, when it did.
    #[schema(required = true)]
    error: Option<&'a str>,
}

/// An accepted import: follow it at `Location`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"importId": "imp_P7MTRIT------SdY4zB1mNo", "status": "PENDING", "total": 2}))]
struct ImportAccepted<'a> {
    import_id: &'a str,
    #[schema(schema_with = import_status)]
    status: &'static str,
    /// Rows in the import.
    total: i64,
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
            webhook_url: import
                .webhook_url
                .as_deref()
                .map(crate::import::shown_webhook_url),
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
        &ImportAccepted {
            import_id: &import.id,
            status: import.status.as_str(),
            total: import.total,
        },
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
    request_body = ImportRequest,
    responses((status = 202, body = ImportAccepted, headers(("Location" = String, description = "/v1/imports/{id}/status"))), ImportErrors),
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
        ("webhookUrl" = Option<String>, Query, description = "POSTed the final status"),
        ("metadataMode" = Option<String>, Query, description = "`replace` (the default) or `merge`: a row's top-level metadata keys replace the same keys of a known contact, the others stay")
    ),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "UTF-8, with or without BOM; RFC 4180 quoting.",
        example = json!("name,phoneNumber,language,city\nPriya Sharma,+91 98765 43210,hi-IN,Mumbai\nArjun Mehta,+14155552671,,\n")
    ),
    responses((status = 202, body = ImportAccepted, headers(("Location" = String, description = "/v1/imports/{id}/status"))), ImportErrors),
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
    let metadata_mode = match query.take("metadataMode") {
        None => import::MetadataMode::Replace,
        Some(text) => import::MetadataMode::parse(&text)
            .ok_or_else(|| ApiError::validation(vec![import::MetadataMode::invalid()]))?,
    };
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
        metadata_mode,
    };
    accept(&org, worker, request).await
}

#[utoipa::path(
    get,
    path = "/v1/imports/{id}/status",
    tag = "imports",
    summary = "An import's progress, counts and first 1,000 failed rows",
    params(("id" = String, Path, description = "The import's id")),
    responses((status = 200, body = ImportView, example = json!({"id": "imp_P7MTRIT------SdY4zB1mNo",
        "status": "COMPLETED_WITH_ERRORS", "total": 2, "processed": 2, "created": 1, "updated": 0,
        "failed": 1, "errorCount": 1, "errors": [{"index": 1, "field": "phoneNumber",
            "reason": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210"}],
        "audienceId": null, "webhookUrl": "https://example.com/hooks/contactsd",
        "createdAt": "2026-03-01T10:00:00.000Z", "startedAt": "2026-03-01T10:00:00.100Z",
        "completedAt": "2026-03-01T10:00:00.300Z", "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw",
        "webhook": {"state": "delivered", "attempts": [{"at": "2026-03-01T10:00:00.400Z",
            "statusCode": 204, "error": null}]}})), ByIdErrors),
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
    params(PageRequest),
    responses((status = 200, body = Page<ImportView>), PageErrors),
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
