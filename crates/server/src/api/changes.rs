//! `/v1/changes`: every change to an organization's contacts, audiences,
//! memberships and call records, deletions included, in change-number
//! order (CONTRACT.md, "Changes feed").

use std::time::Duration;

use rocket::http::Header;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::stream::{Event, EventStream};
use rocket::{Route, Shutdown, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::audiences::AudienceView;
use super::calls::CallView;
use super::contacts::ContactView;
use super::openapi::ChangesErrors;
use super::{for_verified, Query, Reply};
use crate::auth::Org;
use crate::db::changes::{Change, ChangePage, Object};
use crate::db::Db;
use crate::domain::changes::{whole_number, ChangesRequest};
use crate::error::ApiError;
use crate::fanout::Fanout;
use std::sync::Arc;

pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![get_changes, get_changes_stream]
}

/// How often an idle stream sends a comment line (the contract: at least
/// every 15 s), so proxies and clients know it is alive.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Changes a stream reads from the database at a time.
const STREAM_BATCH: i64 = 1000;
/// How often an idle stream checks that its key still works: a revoked
/// or expired key's stream ends within this time.
const KEY_RECHECK: Duration = Duration::from_secs(15);

/// The `Last-Event-ID` header, when present.
pub(crate) struct LastEventId(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LastEventId {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(LastEventId(
            req.headers().get_one("last-event-id").map(str::to_string),
        ))
    }
}

/// The object a change carries, as `GET` returns it.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ObjectView<'a> {
    Contact(ContactView<'a>),
    Audience(AudienceView<'a>),
    Membership(MembershipView<'a>),
    Call(CallView<'a>),
}

/// A membership: one contact in one audience.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembershipView<'a> {
    audience_id: &'a str,
    contact_id: &'a str,
}

/// One object's latest change.
#[derive(Serialize, ToSchema)]
#[schema(as = Change, example = json!({"seq": 1042, "type": "contact", "id": "ct_P7MTRIT------PaH9hpOL9r",
    "deleted": false, "object": {"id": "ct_P7MTRIT------PaH9hpOL9r", "name": "Priya Sharma",
    "phoneNumber": "+919876543210", "language": "hi-IN", "metadata": {"city": "Mumbai"},
    "organizationId": "org_P7MTQv28TC14NLYvtcAHiWw", "createdAt": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-15T08:30:00.000Z"}}))]
pub struct ChangeView<'a> {
    /// The organization's change number: larger is later.
    seq: i64,
    /// `contact`, `audience`, `membership` or `call`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The object's id (a membership's: `audienceId:contactId`).
    id: &'a str,
    deleted: bool,
    /// The object as it is now; `null` when it was deleted.
    #[schema(required = true)]
    object: Option<ObjectView<'a>>,
}

impl<'a> ChangeView<'a> {
    pub fn new(change: &'a Change, org_id: &'a str) -> Self {
        let object = match &change.object {
            Object::Contact(contact) => {
                Some(ObjectView::Contact(ContactView::new(contact, org_id)))
            }
            Object::Audience(audience) => {
                Some(ObjectView::Audience(AudienceView::new(audience, org_id)))
            }
            Object::Membership {
                audience_id,
                contact_id,
            } => Some(ObjectView::Membership(MembershipView {
                audience_id,
                contact_id,
            })),
            Object::Call(call) => Some(ObjectView::Call(CallView::new(call, org_id))),
            Object::Deleted => None,
        };
        ChangeView {
            seq: change.seq,
            kind: change.kind.as_str(),
            id: &change.id,
            deleted: object.is_none(),
            object,
        }
    }
}

/// A page of the feed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangesPage<'a> {
    data: Vec<ChangeView<'a>>,
    /// The last change's `seq` (`since` when `data` is empty): the next
    /// call's `since`.
    last_seq: i64,
    /// Whether more changes follow now.
    has_more: bool,
}

impl<'a> ChangesPage<'a> {
    fn new(page: &'a ChangePage, org_id: &'a str) -> Self {
        ChangesPage {
            data: page
                .changes
                .iter()
                .map(|c| ChangeView::new(c, org_id))
                .collect(),
            last_seq: page.last_seq,
            has_more: page.has_more,
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "changes",
    summary = "Changes after a position, deletions included, oldest first",
    description = "Every write that changes a contact, an audience, a membership or a call record \
        gives it the organization's next change number; only an object's latest change is kept. \
        Pass the answer's `lastSeq` as the next `since`: a consumer that applies the pages in order \
        ends with the server's state. One answer is one snapshot.",
    params(
        ("since" = Option<i64>, Query, description = "Changes with a larger `seq` (default 0: everything)"),
        ("limit" = Option<i64>, Query, description = "1 to 1,000 (default 100)"),
        ("types" = Option<String>, Query, description = "Comma-separated: `contact`, `audience`, `membership`, `call` (default all)")
    ),
    responses(
        (status = 200, body = ChangesPage, headers(("X-Latest-Seq" = i64, description = "The organization's latest change number: `since` for a consumer that wants only what changes from now on"))),
        ChangesErrors
    ),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/changes")]
async fn get_changes(org: Org, query: Query) -> Result<WithLatest, ApiError> {
    let request = for_verified(&org, ChangesRequest::parse(query.0)).await?;
    let answer = org.changes(request).await?;
    Ok(WithLatest {
        reply: Reply::ok(&ChangesPage::new(&answer.value, &answer.org_id))?,
        latest: Header::new("x-latest-seq", answer.value.latest.to_string()),
    })
}

/// A page of changes with the organization's latest number in a header.
#[derive(rocket::Responder)]
struct WithLatest {
    reply: Reply,
    latest: Header<'static>,
}

#[utoipa::path(
    get,
    path = "/v1/changes/stream",
    tag = "changes",
    summary = "The changes feed as server-sent events, live",
    description = "`text/event-stream`: first every change after `since` (or the `Last-Event-ID` \
        header; `since` wins), then each change as its write commits. Each is an event `change` \
        with `id: <seq>` and the change as JSON in `data`; a comment line every 10 s while \
        nothing changes. Reconnecting with the last id seen misses nothing.",
    params(
        ("since" = Option<i64>, Query, description = "Changes with a larger `seq` (default: `Last-Event-ID`, else 0)"),
        ("types" = Option<String>, Query, description = "Comma-separated: `contact`, `audience`, `membership`, `call` (default all)"),
        ("Last-Event-ID" = Option<String>, Header, description = "The last `id` a dropped stream saw")
    ),
    responses((status = 200, description = "Server-sent events, one `change` event a change", content_type = "text/event-stream", body = String), ChangesErrors),
    security(("apiKey" = []), ("bearer" = []))
)]
#[rocket::get("/changes/stream")]
async fn get_changes_stream(
    org: Org,
    query: Query,
    last_event_id: LastEventId,
    db: &State<Db>,
    fanout: &State<Arc<Fanout>>,
    mut shutdown: Shutdown,
) -> Result<EventStream![Event + 'static], ApiError> {
    let parsed = ChangesRequest::parse_stream(query.0).and_then(|(since, types)| {
        let since = match (since, last_event_id.0) {
            (Some(since), _) => since,
            (None, Some(id)) => whole_number("Last-Event-ID", id.trim())?,
            (None, None) => 0,
        };
        Ok((since, types))
    });
    let (since, types) = for_verified(&org, parsed).await?;
    // The first page is read before the answer starts, so a refused
    // position is an ordinary 410 (and it names the organization).
    let first = org
        .changes(ChangesRequest {
            since,
            limit: STREAM_BATCH,
            types,
        })
        .await?;
    let mut feed = fanout.subscribe(db, &first.org_id, first.value.latest);
    let tenant = (*org).clone();
    Ok(EventStream! {
        let mut position = since;
        let mut page = Some(first);
        // Catching up with reads of its own, from its position; the
        // feeder's batches are taken once caught up. The first page was
        // read before the stream subscribed to the feeder, so at least one
        // more read follows it: a batch sent between that page and the
        // subscription would otherwise be missed until the next commit.
        let mut caught_up = false;
        let mut subscribed_read = false;
        loop {
            if !caught_up {
                let scoped = match page.take() {
                    Some(scoped) => scoped,
                    None => match tenant.changes(ChangesRequest { since: position, limit: STREAM_BATCH, types }).await {
                        Ok(scoped) => scoped,
                        // The key was revoked, the organization deleted, the
                        // position pruned away: the stream ends; reconnecting
                        // says why.
                        Err(_) => break,
                    },
                };
                for change in &scoped.value.changes {
                    let view = ChangeView::new(change, &scoped.org_id);
                    let Ok(json) = serde_json::to_string(&view) else { continue };
                    yield Event::data(json).event("change").id(change.seq.to_string());
                }
                position = scoped.value.last_seq;
                caught_up = !scoped.value.has_more && subscribed_read;
                subscribed_read = true;
                continue;
            }
            rocket::tokio::select! {
                batch = feed.recv() => match batch {
                    Ok(batch) => {
                        if batch.from > position {
                            // Read from its own position first; this batch
                            // is then taken from where that read ended.
                            caught_up = false;
                            continue;
                        }
                        for event in &batch.events {
                            if event.seq > position && types.has(event.kind) {
                                yield Event::data(event.json.clone()).event("change").id(event.seq.to_string());
                            }
                        }
                        position = position.max(batch.through);
                    }
                    Err(rocket::tokio::sync::broadcast::error::RecvError::Lagged(_)) => caught_up = false,
                    Err(rocket::tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                () = &mut shutdown => break,
                () = rocket::tokio::time::sleep(KEY_RECHECK) => {
                    if tenant.verify().await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    .heartbeat(HEARTBEAT))
}
