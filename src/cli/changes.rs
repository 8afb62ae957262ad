//! `contactsd changes`: an organization's changes feed, one change a line
//! (NDJSON, as `GET /v1/changes` shows each), for scripts and debugging.

use std::io::Write;
use std::time::Duration;

use crate::api::changes::ChangeView;
use crate::db::{self, Db};
use contactsd_domain::changes::{ChangesRequest, TypeSet, MAX_CHANGES_LIMIT};

/// How often `--follow` looks for new changes.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// Prints organization `org_id`'s changes after `since`; with `follow`,
/// keeps printing them as they come until interrupted.
pub fn print(
    db: &Db,
    org_id: &str,
    since: u64,
    types: Option<&str>,
    follow: bool,
) -> Result<(), String> {
    let types = match types {
        None => TypeSet::ALL,
        Some(text) => TypeSet::parse("--types", text.split(',')).map_err(|e| e.message)?,
    };
    let mut since = i64::try_from(since).unwrap_or(i64::MAX);
    let stdout = std::io::stdout();
    loop {
        let request = ChangesRequest {
            since,
            limit: MAX_CHANGES_LIMIT,
            types,
        };
        let page = db.changes_for_org(org_id, request).map_err(|e| match e {
            db::Error::ChangesExpired { latest, .. } if since > latest => format!(
                "--since {since} is after the organization's latest change ({latest}); start again from 0"
            ),
            db::Error::ChangesExpired { pruned, .. } => format!(
                "deletions up to change {pruned} were pruned after the retention period; start again from 0"
            ),
            other => crate::cli::not_found_as(other, org_id),
        })?;
        let mut out = stdout.lock();
        for change in &page.changes {
            let line = serde_json::to_string(&ChangeView::new(change, org_id))
                .map_err(|e| e.to_string())?;
            // A closed pipe (`| head`) ends the command quietly.
            if writeln!(out, "{line}").is_err() {
                return Ok(());
            }
        }
        if out.flush().is_err() {
            return Ok(());
        }
        drop(out);
        since = page.last_seq;
        if page.has_more {
            continue;
        }
        if !follow {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_EVERY);
    }
}
