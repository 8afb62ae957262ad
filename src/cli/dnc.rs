//! `contactsd dnc import`: a do-not-call list from a file, on the same
//! database file, with or without a server running.

use std::path::Path;

use serde_json::json;

use crate::db::Db;
use contactsd_domain::dnc::numbers_in_file;
use contactsd_domain::PhoneNumber;

/// Numbers parsed and listed a transaction at a time.
const CHUNK: usize = 20_000;

/// Lists every number of `file` for organization `org_id` and prints what
/// was added, what was listed already and what is not a number.
pub fn import(db: &Db, file: &Path, org_id: &str) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let texts = numbers_in_file(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let bar = super::transfer::progress_bar(texts.len() as u64);
    let (mut added, mut already_listed, mut failed) = (0usize, 0usize, 0usize);
    // The next chunk is parsed while this one is written.
    std::thread::scope(|scope| -> Result<(), String> {
        let mut chunks = texts.chunks(CHUNK);
        let mut parsing = chunks
            .next()
            .map(|chunk| scope.spawn(move || parse_all(chunk)));
        let mut sizes = texts.chunks(CHUNK).map(<[String]>::len);
        while let Some(handle) = parsing.take() {
            let numbers = handle.join().unwrap_or_default();
            parsing = chunks
                .next()
                .map(|chunk| scope.spawn(move || parse_all(chunk)));
            let size = sizes.next().unwrap_or(0);
            failed += size - numbers.len();
            let result = db
                .add_do_not_call_for_org(org_id, &numbers, None)
                .map_err(|e| super::not_found_as(e, org_id))?;
            added += result.added;
            already_listed += result.already_listed;
            bar.inc(size as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    super::print_line(&json!({
        "added": added,
        "alreadyListed": already_listed,
        "failed": failed,
    }));
    Ok(())
}

/// The numbers among `texts`, parsed on every core (parsing is most of the
/// work), in their order; what does not parse is left out.
fn parse_all(texts: &[String]) -> Vec<PhoneNumber> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let part = texts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(part)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|text| PhoneNumber::parse(text))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}
