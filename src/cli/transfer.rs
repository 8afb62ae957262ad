//! `contactsd import` and `contactsd export`: the API's import and export
//! machinery run by the operator on the database file, also while a server
//! uses it.
//!
//! `import` queues the file as one import (the server's worker could pick
//! it up after a crash of this command) and applies it on this process
//! itself, so it needs no running server; a chunk is applied by whoever
//! deletes it first, so the two never apply a row twice.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{not_found_as, print_line};
use crate::api::export::{render_row, CSV_HEADER};
use crate::api::imports::ImportView;
use crate::db::contacts::Contact;
use crate::db::{self, Db, RowSink};
use crate::import::{self, ImportRequest, MAX_FILE_ROWS};
use crate::listing::{ExportFormat, Listing};
use contactsd_domain::Rejection;

/// Imports `file` into organization `org_id` and prints its final status.
pub fn import(
    db: &Db,
    file: &Path,
    org_id: &str,
    audience_id: Option<String>,
    metadata_mode: import::MetadataMode,
) -> Result<(), String> {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let rows = match extension.as_deref() {
        Some("csv") => import::csv_rows(&bytes, MAX_FILE_ROWS).map_err(|e| explain(&e))?,
        Some("ndjson" | "jsonl") => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| format!("{} is not UTF-8 text: {e}", file.display()))?;
            let rows = import::ndjson_rows(text, MAX_FILE_ROWS)?;
            import::json_rows(&rows).map_err(|e| explain(&e))?
        }
        _ => return Err(String::from("FILE must end in .csv, .ndjson or .jsonl")),
    };
    let total = rows.total as u64;
    let request = ImportRequest {
        rows,
        audience_id,
        webhook_url: None,
        metadata_mode,
    };
    let queued = db
        .enqueue_import_for_org(org_id, &request)
        .map_err(|e| match e {
            db::Error::NotFound("Audience") => format!(
                "no audience with id {} in organization {org_id}",
                request.audience_id.as_deref().unwrap_or_default()
            ),
            other => not_found_as(other, org_id),
        })?;
    let bar = progress_bar(total);
    let stop = AtomicBool::new(false);
    // A server on the same file applies the same import's chunks too, and
    // the two take the write lock in turns: a chunk that waited past the
    // busy timeout is tried again (it was not applied), until no chunk has
    // gone in for as long as the server's worker would wait.
    let last_progress = std::cell::Cell::new(std::time::Instant::now());
    let finished = loop {
        let ran = crate::db::jobs::run_import(db, queued.seq, None, &stop, |rows| {
            last_progress.set(std::time::Instant::now());
            bar.inc(rows as u64);
        });
        match ran {
            Ok(finished) => break finished,
            Err(e)
                if e.fault() == Some(db::Fault::Busy)
                    && last_progress.get().elapsed() < crate::db::jobs::GIVE_UP_AFTER => {}
            Err(e) => return Err(format!("import stopped: {e}")),
        }
    };
    if !finished {
        // A server's worker took the last chunks: wait for its final status.
        loop {
            let import = db.import_by_seq(queued.seq).map_err(|e| e.to_string())?;
            bar.set_position(u64::try_from(import.processed).unwrap_or(0));
            if import.status.is_final() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    bar.finish_and_clear();
    let (import, errors, org_id) = db
        .import_for_operator(&queued.id)
        .map_err(|e| e.to_string())?;
    let view = ImportView::new(&import, Some(&errors), &org_id);
    print_line(&serde_json::to_value(&view).map_err(|e| e.to_string())?);
    Ok(())
}

/// A bar on standard error when it is a terminal, nothing otherwise.
pub(crate) fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {rate} rows/s  eta {eta}")
    {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}", state.per_sec());
            },
        ));
    }
    bar
}

/// A refused file, as one line of text for the terminal.
fn explain(rejection: &Rejection) -> String {
    let mut text = rejection.message.clone();
    for detail in &rejection.details {
        if detail.message != text {
            text.push_str("; ");
            text.push_str(&detail.message);
        }
    }
    text
}

/// Writes every contact of organization `org_id` to `output` or standard
/// output, from one read snapshot.
pub fn export(
    db: &Db,
    org_id: &str,
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<(), String> {
    let listing = Listing::everything();
    // A file is written beside `output` and renamed over it when complete:
    // never half an export, always 0600, and a link at `output` is
    // replaced rather than followed.
    let partial = match output {
        Some(path) => Some(
            db::backup::new_partial_file(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let writer: Box<dyn Write + Send> = match &partial {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let result = write_export(db, org_id, format, &listing, writer, output);
    if let (Some(partial), Some(path)) = (&partial, output) {
        match &result {
            Ok(()) => std::fs::rename(partial, path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
            Err(_) => {
                let _ = std::fs::remove_file(partial);
            }
        }
    }
    result
}

/// Writes the export to `writer`; prints its summary when it goes to a
/// file.
fn write_export(
    db: &Db,
    org_id: &str,
    format: ExportFormat,
    listing: &Listing,
    writer: Box<dyn Write + Send>,
    output: Option<&Path>,
) -> Result<(), String> {
    let outcome = Arc::new(Mutex::new(Written::default()));
    let sink = WriterSink {
        format,
        writer: std::io::BufWriter::with_capacity(64 * 1024, writer),
        buffer: match format {
            ExportFormat::Csv => CSV_HEADER.to_vec(),
            ExportFormat::Ndjson => Vec::new(),
        },
        written: Written::default(),
        outcome: Arc::clone(&outcome),
    };
    db.export_for_org(org_id, listing, sink)
        .map_err(|e| not_found_as(e, org_id))?;
    let written = std::mem::take(&mut *outcome.lock().map_err(|e| e.to_string())?);
    match written.error {
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Some(e) => Err(format!("export failed: {e}")),
        None => {
            if let Some(path) = output {
                print_line(
                    &json!({"path": path, "contacts": written.contacts, "bytes": written.bytes}),
                );
            }
            Ok(())
        }
    }
}

/// What an export wrote, or why it stopped.
#[derive(Default)]
struct Written {
    contacts: u64,
    bytes: u64,
    error: Option<std::io::Error>,
}

/// Renders rows as the HTTP export does and writes them to a file or a pipe.
struct WriterSink {
    format: ExportFormat,
    writer: std::io::BufWriter<Box<dyn Write + Send>>,
    buffer: Vec<u8>,
    written: Written,
    /// Where the totals go when the export is done.
    outcome: Arc<Mutex<Written>>,
}

impl WriterSink {
    /// Writes the buffer out; `false` once writing failed.
    fn flush_buffer(&mut self) -> bool {
        let result = self.writer.write_all(&self.buffer);
        self.written.bytes += self.buffer.len() as u64;
        self.buffer.clear();
        match result {
            Ok(()) => true,
            Err(e) => {
                self.written.error = Some(e);
                false
            }
        }
    }
}

impl RowSink for WriterSink {
    fn row(&mut self, contact: &Contact, org_id: &str) -> bool {
        if !render_row(self.format, contact, org_id, &mut self.buffer) {
            return false;
        }
        self.written.contacts += 1;
        self.flush_buffer()
    }

    fn finish(&mut self) {
        if self.written.error.is_none() {
            self.flush_buffer();
            if let Err(e) = self.writer.flush() {
                self.written.error = Some(e);
            }
        }
        if let Ok(mut outcome) = self.outcome.lock() {
            *outcome = std::mem::take(&mut self.written);
        }
    }
}
