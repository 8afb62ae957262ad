//! Logs: one access line per request, in text or JSON, and never a secret.
//!
//! contactsd logs through `tracing`. Every request, when answered, gets one
//! event with its method, route template, request id, status and latency;
//! a 5xx event carries the error's whole cause chain.
//! What is logged is chosen here, field by field: never a query string
//! (search terms and metadata values are personal data), never a body,
//! never a header (API keys travel in them). Rocket's own request logging,
//! which prints query strings and, at `debug`, every header, is switched
//! off (`log_level = "off"` in the configuration Rocket sees); its level
//! setting drives this subscriber instead.
//!
//! The request id is the client's `x-request-id` when it is a plain token
//! (1 to 128 of `A-Z a-z 0-9 . _ -`), else a new one; either way it is
//! echoed in the answer's `x-request-id`.

use std::sync::Mutex;
use std::time::Instant;

use rocket::config::LogLevel;
use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::request::Request;
use rocket::response::Response;
use tracing::Level;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// The most verbose level `level` lets through; `None` for `off`.
fn max_level(level: LogLevel) -> Option<Level> {
    match level {
        LogLevel::Off => None,
        LogLevel::Critical => Some(Level::WARN),
        LogLevel::Normal => Some(Level::INFO),
        LogLevel::Debug => Some(Level::DEBUG),
    }
}

/// Installs the process's subscriber, writing to standard error. Later
/// calls (tests building several servers) keep the first.
pub fn init(level: LogLevel, format: LogFormat) {
    let Some(level) = max_level(level) else {
        return;
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(BatchedStderr::start())
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    std::panic::set_hook(Box::new(|panic| {
        tracing::error!(target: "contactsd::panic", "{panic}");
    }));
}

/// How long an info line may wait in the buffer before it is written.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// A buffer this full is written at once.
const FLUSH_AT: usize = 64 * 1024;

/// Standard error, written in batches: info lines (one a request) gather
/// in a buffer that a thread writes every 50 ms, so a request costs no
/// system call for its access line (a write per line cost a sixth of
/// get-by-id's throughput). Warnings and errors are written at once,
/// after whatever is buffered, so they are never late and lines stay in
/// order. [`flush`] writes what is left when the server stops.
#[derive(Clone)]
struct BatchedStderr {
    buffer: std::sync::Arc<Mutex<Vec<u8>>>,
}

/// The one batched writer of the process, for [`flush`].
static BATCHED: std::sync::OnceLock<BatchedStderr> = std::sync::OnceLock::new();

impl BatchedStderr {
    fn start() -> BatchedStderr {
        BATCHED
            .get_or_init(|| {
                let writer = BatchedStderr {
                    buffer: std::sync::Arc::new(Mutex::new(Vec::with_capacity(FLUSH_AT))),
                };
                let flusher = writer.clone();
                std::thread::Builder::new()
                    .name("contactsd-log".into())
                    .spawn(move || loop {
                        std::thread::sleep(FLUSH_EVERY);
                        flusher.write_out();
                    })
                    .ok();
                writer
            })
            .clone()
    }

    /// Writes the buffered lines to standard error.
    fn write_out(&self) {
        use std::io::Write;
        let pending = match self.buffer.lock() {
            Ok(mut buffer) if !buffer.is_empty() => std::mem::take(&mut *buffer),
            _ => return,
        };
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(&pending);
        let _ = stderr.flush();
    }
}

/// Writes what the log still holds (the server calls it as it stops).
pub fn flush() {
    if let Some(writer) = BATCHED.get() {
        writer.write_out();
    }
}

/// One event's line, on its way to the buffer or to standard error.
enum LineWriter {
    Buffered(BatchedStderr),
    Direct(BatchedStderr),
}

impl std::io::Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            LineWriter::Buffered(writer) => {
                let full = match writer.buffer.lock() {
                    Ok(mut buffer) => {
                        buffer.extend_from_slice(bytes);
                        buffer.len() >= FLUSH_AT
                    }
                    Err(_) => return std::io::stderr().write(bytes),
                };
                if full {
                    writer.write_out();
                }
                Ok(bytes.len())
            }
            LineWriter::Direct(writer) => {
                writer.write_out();
                std::io::stderr().write_all(bytes)?;
                Ok(bytes.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter::Direct(self.clone())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        if *meta.level() >= Level::INFO {
            LineWriter::Buffered(self.clone())
        } else {
            LineWriter::Direct(self.clone())
        }
    }
}

/// The request's start time and id, kept in its local cache.
struct RequestLog {
    started: Instant,
    id: String,
}

/// The cause of a 5xx answer, left by the error responder for the access
/// event.
#[derive(Default)]
pub(crate) struct FailureCause(Mutex<Option<String>>);

/// Records the cause chain of the answer `req` is about to get.
pub(crate) fn record_failure(req: &Request<'_>, cause: String) {
    if let Ok(mut slot) = req.local_cache(FailureCause::default).0.lock() {
        *slot = Some(cause);
    }
}

/// Whether `id` is safe to log and echo as a request id.
fn is_plain_token(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The fairing that opens each request's span and writes its access event.
pub(crate) struct AccessLog;

#[rocket::async_trait]
impl Fairing for AccessLog {
    fn info(&self) -> Info {
        Info {
            name: "access log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let id = req
            .headers()
            .get_one("x-request-id")
            .filter(|id| is_plain_token(id))
            .map_or_else(|| contactsd_domain::ids::random_token(16), str::to_string);
        req.local_cache(|| {
            Mutex::new(Some(RequestLog {
                started: Instant::now(),
                id,
            }))
        });
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let slot: &Mutex<Option<RequestLog>> = req.local_cache(|| Mutex::new(None));
        let Some(log) = slot.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        res.set_header(Header::new("x-request-id", log.id.clone()));
        let route = req.route().map_or_else(
            || String::from("-"),
            |r| {
                r.uri
                    .as_str()
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            },
        );
        // One event a request, with every field on it: a span per request
        // cost a sixth of get-by-id's throughput and carried nothing else.
        let method = req.method().as_str();
        let request_id = log.id.as_str();
        let status = res.status().code;
        let took = log.started.elapsed();
        if let Some(metrics) = req.rocket().state::<crate::metrics::Metrics>() {
            let template = if req.route().is_some() {
                route.as_str()
            } else {
                "unmatched"
            };
            metrics.request(method, template, status, took);
        }
        let latency_ms = (took.as_secs_f64() * 1e5).round() / 100.0;
        if status >= 500 {
            let cause = req
                .local_cache(FailureCause::default)
                .0
                .lock()
                .ok()
                .and_then(|mut c| c.take())
                .unwrap_or_else(|| String::from("unknown"));
            tracing::error!(target: "contactsd::access", method = %method, route, request_id = %request_id, status, latency_ms, cause, "answered");
        } else if let Some((scanned_rows, hint)) = req
            .local_cache(crate::api::ScanNote::default)
            .0
            .lock()
            .ok()
            .and_then(|mut note| note.take())
        {
            // A listing that read its rows for an undeclared metadata
            // filter: the operator sees the plan and the index to declare.
            let hint = hint.as_deref().unwrap_or("-");
            tracing::info!(target: "contactsd::access", method = %method, route, request_id = %request_id, status, latency_ms, plan = "scan", scanned_rows, hint = %hint, "answered");
        } else {
            tracing::info!(target: "contactsd::access", method = %method, route, request_id = %request_id, status, latency_ms, "answered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_plain_tokens() {
        assert!(is_plain_token("req-1.a_B"));
        assert!(!is_plain_token(""));
        assert!(!is_plain_token("a b"));
        assert!(!is_plain_token("x\ny"));
        assert!(!is_plain_token(&"a".repeat(129)));
    }

    #[test]
    fn levels_map_onto_tracing() {
        assert_eq!(max_level(LogLevel::Off), None);
        assert_eq!(max_level(LogLevel::Critical), Some(Level::WARN));
        assert_eq!(max_level(LogLevel::Normal), Some(Level::INFO));
        assert_eq!(max_level(LogLevel::Debug), Some(Level::DEBUG));
    }
}
