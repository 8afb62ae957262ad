//! One reader per organization for the live part of its change streams.
//!
//! A stream catches up from its own position with its own reads; from then
//! on it takes what a single feeder task per organization reads once
//! after each commit and sends to every open stream of that organization,
//! already as JSON. A thousand streams of one organization cost one read
//! and one serialization a change, not a thousand.
//!
//! Nothing is missed in the hand-over: each batch says the position it was
//! read from, and a stream whose own position is behind that (it joined
//! as the feeder started, or fell more than the channel's capacity
//! behind) reads its way up from its position before it takes the batch;
//! changes at or below its position are skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rocket::tokio::sync::broadcast;

use crate::api::changes::ChangeView;
use crate::db::Db;
use crate::domain::changes::{ChangeType, ChangesRequest, TypeSet, MAX_CHANGES_LIMIT};

/// Batches a slow stream may be behind before it reads for itself.
const CAPACITY: usize = 16;

/// One change, ready to send.
pub(crate) struct Event {
    pub seq: i64,
    pub kind: ChangeType,
    pub json: String,
}

/// What the feeder read after one wake: every change after `from`, of
/// every kind, through `through`.
pub(crate) struct Batch {
    pub events: Vec<Event>,
    pub from: i64,
    pub through: i64,
}

/// The feeders, by organization id.
#[derive(Default)]
pub(crate) struct Fanout {
    feeders: Mutex<HashMap<String, broadcast::Sender<Arc<Batch>>>>,
}

impl Fanout {
    /// A receiver of organization `org_id`'s batches, starting a feeder
    /// for it when there is none. `start` is a change number the caller
    /// read before subscribing (the organization's latest then): a new
    /// feeder reads from there, so a commit between that read and the
    /// feeder's first look is not passed over.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        db: &Db,
        org_id: &str,
        start: i64,
    ) -> broadcast::Receiver<Arc<Batch>> {
        let mut feeders = self
            .feeders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = feeders.get(org_id) {
            return sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(CAPACITY);
        feeders.insert(org_id.to_string(), sender.clone());
        // Woken from now on: a commit after this point is read.
        let woken = db.live().subscribe(org_id);
        let (fanout, db, org_id) = (Arc::clone(self), db.clone(), org_id.to_string());
        rocket::tokio::spawn(async move { fanout.feed(db, org_id, start, sender, woken).await });
        receiver
    }

    /// Reads the organization's new changes after each wake and sends
    /// them, until no stream listens or the organization is gone.
    async fn feed(
        self: Arc<Self>,
        db: Db,
        org_id: String,
        start: i64,
        sender: broadcast::Sender<Arc<Batch>>,
        mut woken: rocket::tokio::sync::watch::Receiver<()>,
    ) {
        let mut position = start;
        loop {
            let since = position;
            let Some(page) = read(&db, &org_id, since, MAX_CHANGES_LIMIT).await else {
                break;
            };
            if !page.changes.is_empty() {
                let events = page
                    .changes
                    .iter()
                    .filter_map(|change| {
                        let json = serde_json::to_string(&ChangeView::new(change, &org_id)).ok()?;
                        Some(Event {
                            seq: change.seq,
                            kind: change.kind,
                            json,
                        })
                    })
                    .collect();
                let _ = sender.send(Arc::new(Batch {
                    events,
                    from: since,
                    through: page.last_seq,
                }));
                position = page.last_seq;
                if page.has_more {
                    continue;
                }
            }
            if woken.changed().await.is_err() || self.idle(&org_id, &sender) {
                break;
            }
        }
        let mut feeders = self
            .feeders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if feeders
            .get(&org_id)
            .is_some_and(|s| s.same_channel(&sender))
        {
            feeders.remove(&org_id);
        }
    }

    /// Whether no stream listens to `sender` any more; if so it is removed
    /// (under the lock, so no stream subscribes to a feeder that is ending).
    fn idle(&self, org_id: &str, sender: &broadcast::Sender<Arc<Batch>>) -> bool {
        let mut feeders = self
            .feeders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if sender.receiver_count() > 0 {
            return false;
        }
        if feeders.get(org_id).is_some_and(|s| s.same_channel(sender)) {
            feeders.remove(org_id);
        }
        true
    }
}

/// A page of every kind after `since`, read off the async workers; `None`
/// when the organization is gone or the database fails.
async fn read(
    db: &Db,
    org_id: &str,
    since: i64,
    limit: i64,
) -> Option<crate::db::changes::ChangePage> {
    let (db, org_id) = (db.clone(), org_id.to_string());
    let request = ChangesRequest {
        since,
        limit,
        types: TypeSet::ALL,
    };
    rocket::tokio::task::spawn_blocking(move || db.changes_for_org(&org_id, request))
        .await
        .ok()?
        .ok()
}
