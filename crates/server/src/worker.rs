//! The background worker inside the server: it applies queued imports,
//! chunk by chunk, and delivers their webhooks.
//!
//! The queue is the database (see `db::imports`), so the worker holds no
//! state of its own: on start it resumes whatever a crash interrupted, and
//! an import queued by `contactsd import` on the same file is safe to meet
//! (a chunk is applied by whoever deletes it first). Imports take turns of
//! ten chunks. While one chunk is written, the next one is validated on
//! another thread (phone parsing is half the work), as bulk requests do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::tokio::sync::Notify;
use rocket::{Orbit, Rocket};

use crate::db::imports::{AttemptOutcome, DueWebhook};
use crate::db::jobs::{take_turn, Failing, Turn, GIVE_UP_AFTER};
use crate::db::Db;
use crate::metrics::{Attempt, Metrics};
use crate::{clock, webhook};
/// How often the worker looks for work nobody told it about (imports
/// queued by another process, webhooks whose retry is due).
const POLL: Duration = Duration::from_secs(1);
/// Webhooks delivered at once.
const DELIVERIES_PER_ROUND: i64 = 16;

/// The handle routes use to tell the worker an import was queued.
pub(crate) struct Worker {
    wake: Arc<Notify>,
    stop: Arc<AtomicBool>,
    allow_private: bool,
    metrics: Metrics,
}

impl Worker {
    /// `allow_private`: deliver webhooks to loopback, private and
    /// link-local addresses too; `metrics` counts delivery attempts.
    pub(crate) fn new(allow_private: bool, metrics: Metrics) -> Self {
        Worker {
            wake: Arc::new(Notify::new()),
            stop: Arc::new(AtomicBool::new(false)),
            allow_private,
            metrics,
        }
    }

    /// Starts looking at the queue now rather than at the next poll.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs the worker on `rocket`'s runtime until it shuts down.
    pub(crate) fn start(&self, rocket: &Rocket<Orbit>) {
        let Some(db) = rocket.state::<Db>().cloned() else {
            return;
        };
        let (wake, stop, allow_private, metrics) = (
            Arc::clone(&self.wake),
            Arc::clone(&self.stop),
            self.allow_private,
            self.metrics.clone(),
        );
        let shutdown = rocket.shutdown();
        let stopper = (Arc::clone(&wake), Arc::clone(&stop));
        rocket::tokio::spawn(async move {
            shutdown.await;
            stopper.1.store(true, Ordering::SeqCst);
            stopper.0.notify_one();
        });
        rocket::tokio::spawn(async move {
            let mut failing = Failing::default();
            while !stop.load(Ordering::SeqCst) {
                let turn = {
                    let (db, stop) = (db.clone(), Arc::clone(&stop));
                    rocket::tokio::task::spawn_blocking(move || take_turn(&db, &stop)).await
                };
                let worked = match turn {
                    Ok(Turn::Idle) => false,
                    Ok(Turn::Applied(seq)) => {
                        failing.cleared(seq);
                        true
                    }
                    Ok(Turn::Failed(seq, e)) => {
                        let db = db.clone();
                        let give_up = failing.failed(seq);
                        let outcome = rocket::tokio::task::spawn_blocking(move || {
                            if give_up {
                                db.fail_import(seq).map(|()| true)
                            } else {
                                db.push_back_import(seq).map(|()| false)
                            }
                        })
                        .await;
                        if let Ok(Ok(true)) = outcome {
                            tracing::error!(target: "contactsd::imports",
                                "import failing for {} s, given up: {e}", GIVE_UP_AFTER.as_secs());
                        } else {
                            tracing::warn!(target: "contactsd::imports",
                                "import chunk not applied, retrying later: {e}");
                        }
                        false
                    }
                    Ok(Turn::Broken(e)) => {
                        tracing::warn!(target: "contactsd::imports", "import queue not read: {e}");
                        false
                    }
                    Err(e) => {
                        tracing::error!(target: "contactsd::imports", "import worker failed: {e}");
                        false
                    }
                };
                deliver_due(&db, allow_private, &metrics).await;
                if !worked {
                    rocket::tokio::select! {
                        () = wake.notified() => {}
                        () = rocket::tokio::time::sleep(POLL) => {}
                    }
                }
            }
        });
    }
}

/// Leases the webhooks due now and delivers each on its own task.
async fn deliver_due(db: &Db, allow_private: bool, metrics: &Metrics) {
    let leased = {
        let db = db.clone();
        rocket::tokio::task::spawn_blocking(move || db.lease_due_webhooks(DELIVERIES_PER_ROUND))
            .await
    };
    let due = match leased {
        Ok(Ok(due)) => due,
        Ok(Err(e)) => {
            tracing::warn!(target: "contactsd::webhooks", "due webhooks not read: {e}");
            return;
        }
        Err(_) => return,
    };
    for webhook in due {
        let (db, metrics) = (db.clone(), metrics.clone());
        rocket::tokio::spawn(async move { deliver_one(db, webhook, allow_private, metrics).await });
    }
}

/// One delivery attempt, recorded.
async fn deliver_one(db: Db, due: DueWebhook, allow_private: bool, metrics: Metrics) {
    let body = crate::api::imports::webhook_body(&due.import, &due.org_id);
    let at = clock::now_ms();
    let signature = webhook::signatures(
        &due.secret,
        due.previous_secret.as_deref(),
        at.div_euclid(1000),
        &body,
    );
    let outcome = webhook::deliver(&due.url, body, signature, allow_private).await;
    match &outcome {
        AttemptOutcome::Delivered(code) => {
            metrics.webhook_attempt(Attempt::Delivered);
            tracing::info!(target: "contactsd::webhooks", import = %due.import.id, status = code, "webhook delivered");
        }
        AttemptOutcome::Retry { error, .. } | AttemptOutcome::GiveUp(error) => {
            metrics.webhook_attempt(if matches!(outcome, AttemptOutcome::GiveUp(_)) {
                Attempt::GaveUp
            } else {
                Attempt::Failed
            });
            tracing::warn!(target: "contactsd::webhooks", import = %due.import.id, "webhook attempt failed: {error}");
        }
    }
    let seq = due.import.seq;
    let recorded = rocket::tokio::task::spawn_blocking(move || {
        db.record_webhook_attempt(seq, at, &outcome, webhook::retry_in_ms)
    })
    .await;
    if let Ok(Err(e)) = recorded {
        tracing::warn!(target: "contactsd::webhooks", "webhook attempt not recorded: {e}");
    }
}
