//! Tells open change streams that their organization's feed moved, as the
//! writes commit: no stream polls the database.
//!
//! Each organization with a stream open has a `watch` channel; a write
//! through this process signals it after its commit (signals coalesce: a
//! busy stream wakes once for many writes). Writes by another process on
//! the same file (`contactsd import`) are caught by [`Live::poll`], which
//! the server runs once a second for all streams together.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// The organizations with open streams, by public id.
#[derive(Default)]
pub struct Live {
    channels: Mutex<HashMap<String, Channel>>,
}

struct Channel {
    sender: watch::Sender<()>,
    /// The latest change number seen by [`Live::poll`].
    seen: i64,
}

impl Live {
    /// A receiver that wakes when organization `org_id`'s feed moves.
    pub fn subscribe(&self, org_id: &str) -> watch::Receiver<()> {
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        channels
            .entry(org_id.to_string())
            .or_insert_with(|| Channel {
                sender: watch::channel(()).0,
                seen: 0,
            })
            .sender
            .subscribe()
    }

    /// Wakes organization `org_id`'s streams (after a commit).
    pub fn signal(&self, org_id: &str) {
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(channel) = channels.get(org_id) {
            if channel.sender.receiver_count() == 0 {
                channels.remove(org_id);
            } else {
                channel.sender.send_replace(());
            }
        }
    }

    /// The organizations with streams open now.
    pub(crate) fn watched(&self) -> Vec<String> {
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.retain(|_, c| c.sender.receiver_count() > 0);
        channels.keys().cloned().collect()
    }

    /// Records each watched organization's latest number, `positions`, and
    /// wakes the streams of those that moved since the last poll.
    pub(crate) fn moved(&self, positions: &[(String, i64)]) {
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (org_id, latest) in positions {
            if let Some(channel) = channels.get_mut(org_id) {
                // A stream woken for nothing reads nothing: waking on the
                // first poll too means no change is ever waited past.
                if *latest > channel.seen {
                    channel.seen = *latest;
                    channel.sender.send_replace(());
                }
            }
        }
    }
}
