//! The import job queue's logic: which import takes the next turn, and
//! applying an import's stored chunks in order. The queue is the database
//! (see [`crate::imports`]); the server's worker and `contactsd import`
//! both drive it through [`take_turn`] and [`run_import`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use contactsd_domain::{import, BulkItem, FieldError};

use crate::imports::{Applied, QueuedChunk};
use crate::{Db, Error, Result};

/// Chunks one import applies before the next import's turn.
pub(crate) const CHUNKS_PER_TURN: usize = 10;

/// How long an import may keep failing (a full disk, a broken row number
/// bound) before it is given up as `FAILED`; meanwhile other imports take
/// their turns.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

/// When each import that keeps failing first failed.
#[derive(Default)]
pub struct Failing(std::collections::HashMap<i64, std::time::Instant>);

impl Failing {
    /// Records a failure of import `seq`; whether to give it up.
    pub fn failed(&mut self, seq: i64) -> bool {
        let since = *self.0.entry(seq).or_insert_with(std::time::Instant::now);
        let give_up = since.elapsed() >= GIVE_UP_AFTER;
        if give_up {
            self.0.remove(&seq);
        }
        give_up
    }

    pub fn cleared(&mut self, seq: i64) {
        self.0.remove(&seq);
    }
}

/// What one turn of the worker did.
pub enum Turn {
    /// No unfinished import.
    Idle,
    /// The import with this row number moved on.
    Applied(i64),
    /// Applying the import's chunk failed.
    Failed(i64, Error),
    /// The queue itself could not be read.
    Broken(Error),
}

/// Gives the unfinished import whose turn it is up to ten chunks.
pub fn take_turn(db: &Db, stop: &AtomicBool) -> Turn {
    let seq = match db.next_unfinished_import() {
        Ok(Some(seq)) => seq,
        Ok(None) => return Turn::Idle,
        Err(e) => return Turn::Broken(e),
    };
    match run_import(db, seq, Some(CHUNKS_PER_TURN), stop, |_| {}) {
        Ok(_) => Turn::Applied(seq),
        Err(e) => Turn::Failed(seq, e),
    }
}

/// A chunk's position and its rows as bulk items.
type Validated = (i64, Vec<std::result::Result<BulkItem, FieldError>>);

fn validate(chunk: &QueuedChunk) -> Validated {
    (
        chunk.first_row,
        import::decode_chunk(&chunk.format, &chunk.rows),
    )
}

/// Applies the import's stored chunks in order (at most `max_chunks`),
/// validating each next chunk while the current one is written; calls
/// `progress` with the rows applied after each chunk. `true` when this
/// call applied the import's last chunk.
pub fn run_import(
    db: &Db,
    import_seq: i64,
    max_chunks: Option<usize>,
    stop: &AtomicBool,
    mut progress: impl FnMut(usize),
) -> Result<bool> {
    let mut current = db
        .import_chunk_after(import_seq, None)?
        .map(|chunk| validate(&chunk));
    if current.is_none() {
        return db.finish_drained_import(import_seq);
    }
    let mut applied = 0usize;
    while let Some((first_row, items)) = current.take() {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        applied += 1;
        let more = max_chunks.is_none_or(|max| applied < max);
        let upcoming = if more {
            db.import_chunk_after(import_seq, Some(first_row))?
        } else {
            None
        };
        let rows = items.len();
        let (outcome, next) = std::thread::scope(|scope| {
            let next = upcoming.map(|chunk| scope.spawn(move || validate(&chunk)));
            let outcome = db.apply_import_chunk(import_seq, first_row, items);
            (outcome, next.map(std::thread::ScopedJoinHandle::join))
        });
        match outcome? {
            Applied::Chunk { finished: true, .. } => {
                progress(rows);
                return Ok(true);
            }
            Applied::Chunk {
                finished: false, ..
            } => progress(rows),
            Applied::Gone => {}
        }
        current = match next {
            Some(Ok(validated)) => Some(validated),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => None,
        };
    }
    Ok(false)
}
