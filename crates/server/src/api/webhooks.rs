//! `/v1/webhooks`: subscriptions that deliver the changes feed to a URL
//! (CONTRACT.md, "Changes feed"); the delivery itself is
//! `crate::subscriptions`.

use rocket::Route;
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::Success;
use super::openapi::{ByIdErrors, DeleteByIdErrors, PageErrors, PostErrors, UpdateErrors};
use super::{for_verified, JsonBody, Page, PageRequest, Query, Reply};
use crate::auth::Org;
use crate::clock;
use crate::db::webhooks::Webhook;
use crate::domain::schema::NewWebhook;
use crate::domain::webhook::WebhookFields;
use crate::error::ApiError;
use crate::idempotency::Idempotent;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        get_webhooks,
        post_webhook,
        get_webhook,
        patch_webhook,
        delete_webhook
    ]
}

/// A webhook subscription.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Webhook, example = json!({"id": "wh_P8Ak3Zq------0aB1cD2eF3g",
    "url": "https://crm.example.com/hooks/contactsd", "types": ["contact", "membership"],
    "description": "CRM sync", "status": "active", "lastSeq": 1042,
    "createdAt": "2026-12-05T10:00:00.000Z", "updatedAt": "2026-12-05T10:00:00.000Z"}))]
pub(crate) struct WebhookView<'a> {
    id: &'a str,
    /// Where deliveries go; a password in it is shown as `***`.
    url: std::borrow::Cow<'a, str>,
    /// The kinds delivered.
    types: Vec<&'static str>,
    #[schema(required = true)]
    description: Option<&'a str>,
    /// `active`, `paused`, or `disabled` (after 24 hours of failed
    /// deliveries, until a `PATCH` sets it `active`).
    status: &'static str,
    /// The `seq` of the last change the receiver acknowledged.
    last_seq: i64,
    created_at: String,
    updated_at: String,
}

impl<'a> WebhookView<'a> {
    fn new(webhook: &'a Webhook) -> Self {
        WebhookView {
            id: &webhook.id,
            url: crate::import::shown_webhook_url(&webhook.url),
            types: webhook.types.words(),
            description: webhook.description.as_deref(),
            status: webhook.status.as_str(),
            last_seq: webhook.last_seq,
            created_at: clock::format_ms(webhook.created_at),
            updated_at: clock::format_ms(webhook.updated_at),
        }
    }
}

/// A new subscription, with its signing secret (shown this once).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedWebhook<'a> {
    #[serde(flatten)]
    webhook: WebhookView<'a>,
    /// Signs every delivery (`X-Contactsd-Signature`); shown only here.
    secret: &'a str,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "changes",
    summary = "List webhook subscriptions",
    params(PageRequest),
    responses((status = 200, body = Page<WebhookView>), PageErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/webhooks")]
async fn get_webhooks(org: Org, mut query: Query) -> Result<Reply, ApiError> {
    let parsed = PageRequest::from_query(&mut query.0).and_then(|page| {
        std::mem::take(&mut query.0).finish()?;
        Ok(page)
    });
    let page = for_verified(&org, parsed).await?;
    let answer = org.list_webhooks(page.limit, page.offset()).await?;
    let (rows, total) = &answer.value;
    let data = rows.iter().map(WebhookView::new).collect();
    Reply::ok(&Page::new(data, *total, page.page, page.limit))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "changes",
    summary = "Subscribe a URL to the changes feed",
    description = "Deliveries start from the organization's current change: `POST`s of \
        `{\"webhookId\",\"changes\":[up to 100]}` in order, signed like import webhooks with \
        this subscription's `secret`, retried until acknowledged with `2xx`.",
    request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook, headers(("Location" = String, description = "/v1/webhooks/{id}"))), PostErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::post("/webhooks", data = "<body>")]
async fn post_webhook(org: Org, body: Idempotent<JsonBody>) -> Result<Reply, ApiError> {
    match body {
        Idempotent::Replay(answer) => Ok(answer),
        Idempotent::Run(body, claim) => claim.finish(create_webhook(org, body).await).await,
    }
}

async fn create_webhook(org: Org, body: JsonBody) -> Result<Reply, ApiError> {
    let mut fields =
        WebhookFields::from_json_for_create(body.value()).map_err(ApiError::validation)?;
    let url = fields.url.take().ok_or_else(ApiError::internal)?;
    let created = org.create_webhook(url, fields).await?;
    let (webhook, secret) = &created.value;
    Reply::created(
        format!("/v1/webhooks/{}", webhook.id),
        &CreatedWebhook {
            webhook: WebhookView::new(webhook),
            secret,
        },
    )
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "changes",
    summary = "Get a webhook subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, body = WebhookView), ByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/webhooks/<id>")]
async fn get_webhook(org: Org, id: &str) -> Result<Reply, ApiError> {
    let webhook = org.webhook(id.to_string()).await?;
    Reply::ok(&WebhookView::new(&webhook.value))
}

#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    tag = "changes",
    summary = "Change, pause or resume a webhook subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = WebhookFields,
    responses((status = 200, body = WebhookView), UpdateErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::patch("/webhooks/<id>", data = "<body>")]
async fn patch_webhook(org: Org, id: &str, body: JsonBody) -> Result<Reply, ApiError> {
    let fields = WebhookFields::from_json(body.value()).map_err(ApiError::validation)?;
    let webhook = org.update_webhook(id.to_string(), fields).await?;
    Reply::ok(&WebhookView::new(&webhook.value))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "changes",
    summary = "Delete a webhook subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, body = Success), DeleteByIdErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::delete("/webhooks/<id>")]
async fn delete_webhook(org: Org, id: &str) -> Result<Reply, ApiError> {
    org.delete_webhook(id.to_string()).await?;
    Reply::ok(&Success::YES)
}
