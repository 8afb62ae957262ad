//! Delivering the changes feed to webhook subscriptions.
//!
//! One loop looks for due subscriptions five times a second (one indexed
//! read: active, due, and behind their organization's latest change) and
//! delivers each on a task of its own, one batch after another while it
//! has more, never two at once for one subscription. A batch is up to 100
//! changes after the subscription's position, `POST`ed as
//! `{"webhookId","changes"}` and signed with the subscription's secret; a
//! `2xx` moves the position, anything else is retried (5 s, 15 s, 45 s...
//! at most 10 minutes apart) with the same changes or more, and 24 hours
//! of failures disable it. Everything is in the database: a restart
//! resumes where deliveries stood. Connections are shared ([`Pool`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::{Orbit, Rocket};
use serde::Serialize;

use crate::api::changes::ChangeView;
use crate::clock;
use crate::db::webhooks::{Delivery, DueWebhook};
use crate::db::Db;
use crate::metrics::{Metrics, Subscription};
use crate::webhook::{self, Pool};

/// How often the loop looks for due subscriptions.
const LOOK_EVERY: Duration = Duration::from_millis(200);
/// Subscriptions taken in one look.
const DUE_AT_ONCE: i64 = 64;
/// Changes in one delivery.
const BATCH: i64 = 100;

/// What a receiver gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    webhook_id: &'a str,
    changes: Vec<ChangeView<'a>>,
}

/// Starts the delivery loop on `rocket`'s runtime, until it shuts down.
pub(crate) fn start(rocket: &Rocket<Orbit>, allow_private: bool, metrics: Metrics) {
    let Some(db) = rocket.state::<Db>().cloned() else {
        return;
    };
    let shutdown = rocket.shutdown();
    let pool = Arc::new(Pool::default());
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    rocket::tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            rocket::tokio::select! {
                () = &mut shutdown => return,
                () = rocket::tokio::time::sleep(LOOK_EVERY) => {}
            }
            let due = match db.due_subscriptions(DUE_AT_ONCE).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(target: "contactsd::webhooks", "due subscriptions not read: {e}");
                    continue;
                }
            };
            for subscription in due {
                let claimed = busy
                    .lock()
                    .is_ok_and(|mut busy| busy.insert(subscription.id.clone()));
                if !claimed {
                    continue;
                }
                let (db, pool, busy, metrics) = (
                    db.clone(),
                    Arc::clone(&pool),
                    Arc::clone(&busy),
                    metrics.clone(),
                );
                rocket::tokio::spawn(async move {
                    let id = subscription.id.clone();
                    deliver(&db, &pool, subscription, allow_private, &metrics).await;
                    if let Ok(mut busy) = busy.lock() {
                        busy.remove(&id);
                    }
                });
            }
        }
    });
}

/// Delivers batches to `due` until it is up to date or an attempt fails.
async fn deliver(
    db: &Db,
    pool: &Pool,
    mut due: DueWebhook,
    allow_private: bool,
    metrics: &Metrics,
) {
    loop {
        let page = match db.subscription_batch(due.clone(), BATCH).await {
            Ok(page) => page,
            Err(e) => {
                let error = format!("the changes after {} cannot be read: {e}", due.last_seq);
                record(db, &due, Delivery::Failed { error }).await;
                return;
            }
        };
        if page.changes.is_empty() {
            // Nothing of its kinds: the position moves on without a call.
            record(
                db,
                &due,
                Delivery::Acknowledged {
                    through: page.latest,
                },
            )
            .await;
            return;
        }
        let body = Body {
            webhook_id: &due.id,
            changes: page
                .changes
                .iter()
                .map(|change| ChangeView::new(change, &due.org_id))
                .collect(),
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        let signature = webhook::signature(&due.secret, clock::now_ms().div_euclid(1000), &body);
        let answer = pool.post(&due.url, body, signature, allow_private).await;
        match answer {
            Ok(status) if (200..300).contains(&status) => {
                metrics.subscription_delivery(Subscription::Delivered);
                // The page and its `latest` are one snapshot: with nothing
                // more of its kinds, the position moves to the latest.
                let through = if page.has_more {
                    page.last_seq
                } else {
                    page.latest
                };
                record(db, &due, Delivery::Acknowledged { through }).await;
                if !page.has_more {
                    return;
                }
                due.last_seq = through;
            }
            other => {
                metrics.subscription_delivery(Subscription::Failed);
                let error = match other {
                    Ok(status) => format!("the receiver answered {status}"),
                    Err(error) => error,
                };
                tracing::warn!(target: "contactsd::webhooks", webhook = %due.id, "delivery failed: {error}");
                record(db, &due, Delivery::Failed { error }).await;
                return;
            }
        }
    }
}

async fn record(db: &Db, due: &DueWebhook, delivery: Delivery) {
    if let Err(e) = db
        .record_subscription_delivery(due, clock::now_ms(), delivery)
        .await
    {
        tracing::warn!(target: "contactsd::webhooks", webhook = %due.id, "delivery not recorded: {e}");
    }
}
