//! The one error type every route and catcher answers with.
//!
//! The body is the platform's NestJS shape (`statusCode`, `message`, `error`)
//! plus a machine-readable `code`, `details` for field errors, and named
//! fields such as `contactId`. What the client sees is decided here; causes
//! of internal errors go to the log and never into a response.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde_json::{Map, Value};

use contactsd_domain::cursor::CursorError;
pub(crate) use contactsd_domain::{FieldError, MAX_DETAILS};
use contactsd_domain::{Rejection, RejectionKind};

use crate::db::{self, Fault};

/// An error answer: status, code, message and optional extra fields.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: Status,
    code: &'static str,
    message: String,
    details: Vec<FieldError>,
    /// Seconds for `Retry-After`, on answers a retry can fix.
    retry_after: Option<u32>,
    /// What went wrong inside, for the log only (never the answer).
    cause: Option<String>,
    /// Boxed: most errors have none, and `Result<_, ApiError>` stays small.
    extra: Option<Box<Map<String, Value>>>,
}

impl ApiError {
    fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            cause: None,
            extra: None,
        }
    }

    /// 400: the body is not JSON, or a query parameter has the wrong type.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, "bad_request", message)
    }

    /// 400 naming the offending query parameter.
    pub(crate) fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::bad_request(message.clone()).with_details(vec![FieldError::new(field, message)])
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Status::Unauthorized, "unauthorized", message)
    }

    /// 403: a read-only key used for anything but reading.
    pub(crate) fn forbidden() -> Self {
        Self::new(
            Status::Forbidden,
            "forbidden",
            "This API key is read-only: it may send GET and HEAD requests only",
        )
    }

    /// 410: a changes feed position the feed cannot continue from; the
    /// consumer starts again from `since=0`.
    pub(crate) fn changes_expired(since: i64, latest: i64, pruned: i64) -> Self {
        let message = if since > latest {
            format!(
                "since={since} is after this organization's latest change ({latest}): the database \
                 was restored from an older copy. Start again from since=0"
            )
        } else {
            format!(
                "Deletions up to change {pruned} were pruned after the retention period: \
                 start again from since=0"
            )
        };
        Self::new(Status::Gone, "changes_expired", message).with("latestSeq", Value::from(latest))
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, "not_found", message)
    }

    /// 409 for a phone number that another contact of the organization uses.
    pub(crate) fn phone_taken(phone: &str, contact_id: &str) -> Self {
        Self::new(
            Status::Conflict,
            "conflict",
            format!("A contact with phone number {phone} already exists in this organization"),
        )
        .with("contactId", Value::from(contact_id))
    }

    /// 409 for a request that conflicts with one still running.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(Status::Conflict, "conflict", message)
    }

    /// 422: an idempotency key sent again with another request.
    pub(crate) fn idempotency_key_reused() -> Self {
        Self::new(
            Status::UnprocessableEntity,
            "idempotency_key_reused",
            "This Idempotency-Key was used with another method, path or body",
        )
    }

    /// 429 with `Retry-After`: over a rate limit budget.
    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            Status::TooManyRequests,
            "rate_limited",
            format!("Too many requests for this API key; retry in {retry_after} s"),
        );
        error.retry_after = Some(u32::try_from(retry_after).unwrap_or(u32::MAX));
        error
    }

    /// 408: a request body that stopped arriving.
    pub(crate) fn request_timeout(idle_seconds: u64) -> Self {
        Self::new(
            Status::RequestTimeout,
            "request_timeout",
            format!(
                "The request body stopped arriving (nothing for {idle_seconds} s, or not complete \
                 within {} s)",
                idle_seconds * 2
            ),
        )
    }

    pub(crate) fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(Status::PayloadTooLarge, "payload_too_large", message)
    }

    /// 422 listing every broken rule; the message is the first one's.
    pub(crate) fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [] => String::from("Validation failed"),
            [only] => only.message.clone(),
            [first, rest @ ..] => format!("{} (and {} more)", first.message, rest.len()),
        };
        Self::new(Status::UnprocessableEntity, "validation_failed", message).with_details(details)
    }

    /// 422 for a single field.
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            Status::InternalServerError,
            "internal",
            "Internal server error",
        )
    }

    /// 503 with `Retry-After: 1`: the database is busy or no connection
    /// came free in time.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        let mut error = Self::new(Status::ServiceUnavailable, "unavailable", message);
        error.retry_after = Some(1);
        error
    }

    /// The answer for a status no route produced itself (Rocket's catchers).
    pub(crate) fn for_status(status: Status, req: &Request<'_>) -> Self {
        match status.code {
            400 => Self::bad_request("Bad request"),
            401 => Self::unauthorized("Missing or invalid API key"),
            404 => Self::not_found(format!("Cannot {} {}", req.method(), req.uri().path())),
            413 => Self::payload_too_large("Request body is too large"),
            422 => Self::validation(Vec::new()),
            500 => Self::internal(),
            _ => Self::new(
                status,
                "error",
                status.reason().unwrap_or("Error").to_string(),
            ),
        }
    }

    /// Keeps `error`'s whole cause chain for the log.
    pub(crate) fn caused_by(self, error: &dyn std::error::Error) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(inner) = source {
            // Wrappers often repeat their source's text; keep each once.
            let text = inner.to_string();
            if !chain.contains(&text) {
                chain.push_str(": ");
                chain.push_str(&text);
            }
            source = inner.source();
        }
        self.with_cause(chain)
    }

    /// Keeps `cause` for the log.
    pub(crate) fn with_cause(mut self, cause: String) -> Self {
        self.cause = Some(cause);
        self
    }

    /// Sets `details`, keeping at most [`MAX_DETAILS`] entries.
    pub(crate) fn with_details(mut self, mut details: Vec<FieldError>) -> Self {
        details.truncate(MAX_DETAILS);
        self.details = details;
        self
    }

    /// Adds a named top-level field, such as `contactId`.
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value);
        self
    }

    pub(crate) fn status(&self) -> Status {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// The answer as an idempotency key keeps it (`None`: not kept).
    pub(crate) fn to_stored(&self) -> Option<crate::db::idempotency::StoredAnswer> {
        crate::idempotency::is_stored(self.status.code).then(|| {
            crate::db::idempotency::StoredAnswer {
                status: self.status.code,
                location: None,
                body: serde_json::to_vec(&self.to_body()).unwrap_or_default(),
            }
        })
    }

    /// The JSON body: status, code, message, the broken rules and the
    /// named fields the error carries.
    pub(crate) fn to_body(&self) -> crate::api::ErrorBody<'_> {
        use crate::api::ErrorBody;
        let named = |key: &str| self.extra.as_ref().and_then(|extra| extra.get(key));
        debug_assert!(
            self.extra
                .iter()
                .flat_map(|extra| extra.keys())
                .all(|key| ErrorBody::NAMED_FIELDS.contains(&key.as_str())),
            "an error field that ErrorBody (and so the API description) lacks: {:?}",
            self.extra
        );
        ErrorBody {
            status_code: self.status.code,
            error: self.status.reason().unwrap_or("Error"),
            code: self.code,
            message: &self.message,
            details: &self.details,
            contact_id: named("contactId"),
            missing_contact_ids: named("missingContactIds"),
            line: named("line"),
            latest_seq: named("latestSeq"),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.code, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<db::Error> for ApiError {
    fn from(error: db::Error) -> Self {
        match error {
            db::Error::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            db::Error::MissingContacts(ids) => {
                ApiError::not_found(format!("{} of the contacts do not exist", ids.len()))
                    .with("missingContactIds", Value::from(ids))
            }
            db::Error::PhoneTaken { phone, contact_id } => {
                ApiError::phone_taken(&phone, &contact_id)
            }
            db::Error::Unauthorized => ApiError::unauthorized("Invalid or revoked API key"),
            db::Error::ReadOnlyKey => ApiError::forbidden(),
            db::Error::ChangesExpired {
                since,
                latest,
                pruned,
            } => ApiError::changes_expired(since, latest, pruned),
            db::Error::BadCursor(error) => ApiError::bad_parameter(
                "cursor",
                match error {
                    CursorError::Invalid => "cursor is malformed or was altered",
                    CursorError::OtherQuery => {
                        "cursor belongs to a query with another sort, search or filter"
                    }
                },
            ),
            other => match other.fault() {
                Some(fault) => ApiError::unavailable(fault_message(fault)).caused_by(&other),
                None => ApiError::internal().caused_by(&other),
            },
        }
    }
}

/// What a 503 says for each storage fault.
fn fault_message(fault: Fault) -> &'static str {
    match fault {
        Fault::Busy => "The database is busy; retry the request",
        Fault::DiskFull => {
            "The disk holding the database is full: writes are refused until space is freed"
        }
        Fault::ReadOnly => "The database is read-only: writes are refused",
        Fault::Io => {
            "The database file could not be read or written (I/O error); retry the request"
        }
        Fault::NoConnection => "No database connection came free in time; retry the request",
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        let Rejection {
            kind,
            message,
            details,
            extra,
            cause,
        } = rejection;
        let mut error = match kind {
            RejectionKind::BadRequest => ApiError::bad_request(message),
            RejectionKind::Invalid => {
                let mut error = ApiError::validation(Vec::new());
                error.message = message;
                error
            }
            RejectionKind::TooLarge => ApiError::payload_too_large(message),
            RejectionKind::Internal => ApiError::internal(),
        }
        .with_details(details);
        for (key, value) in extra {
            error = error.with(&key, value);
        }
        match cause {
            Some(cause) => error.with_cause(cause),
            None => error,
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if self.status.code >= 500 {
            let cause = self.cause.clone().unwrap_or_else(|| self.message.clone());
            crate::logging::record_failure(req, cause);
        }
        let body = serde_json::to_vec(&self.to_body()).unwrap_or_default();
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body));
        if let Some(seconds) = self.retry_after {
            response.header(Header::new("Retry-After", seconds.to_string()));
        }
        response.ok()
    }
}

/// Where a request or data guard leaves its error for the catcher.
///
/// Rocket hands a failing guard's status, not its error, to the catcher; the
/// guard stores the full error in the request's local cache and the catcher
/// takes it from there.
#[derive(Default)]
struct PendingError(Mutex<Option<ApiError>>);

/// Stores `error` for the catcher and returns its status for the guard.
pub(crate) fn stash(req: &Request<'_>, error: ApiError) -> Status {
    let status = error.status;
    let slot = req.local_cache(PendingError::default);
    if let Ok(mut pending) = slot.0.lock() {
        *pending = Some(error);
    }
    status
}

/// The error a guard stored for this request, if its status is `status`.
pub(crate) fn take_pending(req: &Request<'_>, status: Status) -> Option<ApiError> {
    let slot = req.local_cache(PendingError::default);
    let mut pending = slot.0.lock().ok()?;
    match pending.take() {
        Some(error) if error.status == status => Some(error),
        _ => None,
    }
}
