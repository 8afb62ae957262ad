//! Answers: a status, a JSON body and, for creations, `Location`; the
//! page envelope; and the body every error answers with.

use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldError;

use crate::db::idempotency::StoredAnswer;
use crate::db::Scan;

/// The header naming the index that would have made a listing fast.
pub(crate) const HINT_HEADER: &str = "X-Contactsd-Hint";
use crate::error::ApiError;
use crate::idempotency::is_stored;

pub(crate) struct Reply {
    status: Status,
    body: Vec<u8>,
    location: Option<String>,
    /// Sent again for an idempotency key (`Idempotent-Replayed: true`).
    replayed: bool,
    /// A listing that read its rows for an undeclared metadata filter.
    scan: Option<Scan>,
}

/// Rows a listing may check an undeclared metadata filter on before its
/// answer names the index that would make it fast (`scan_hint_rows`).
pub(crate) const SCAN_HINT_ROWS: u64 = 100_000;

/// What a metadata key's bytes become in the hint's path: every byte but
/// the unreserved ones (RFC 3986) and the sub-delimiters a path keeps.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// `scan_hint_rows`, as the server was started with.
pub(crate) struct ScanHintRows(pub u64);

/// What the access line says of a listing's plan: it read `rows` rows to
/// check an undeclared metadata filter, and the hint it answered with.
#[derive(Default)]
pub(crate) struct ScanNote(pub std::sync::Mutex<Option<(i64, Option<String>)>>);

impl Reply {
    /// `200` with `value` as JSON.
    pub(crate) fn ok<T: Serialize>(value: &T) -> Result<Reply, ApiError> {
        Self::with_status(Status::Ok, value)
    }

    /// `201` with `Location: location` and `value` as JSON.
    pub(crate) fn created<T: Serialize>(location: String, value: &T) -> Result<Reply, ApiError> {
        let mut reply = Self::with_status(Status::Created, value)?;
        reply.location = Some(location);
        Ok(reply)
    }

    /// `status` with `Location: location` and `value` as JSON (`202` for an
    /// accepted import).
    pub(crate) fn with_location<T: Serialize>(
        status: Status,
        location: String,
        value: &T,
    ) -> Result<Reply, ApiError> {
        let mut reply = Self::with_status(status, value)?;
        reply.location = Some(location);
        Ok(reply)
    }

    /// `200` with `body`, JSON text made elsewhere.
    pub(crate) fn raw_json(body: Vec<u8>) -> Reply {
        Reply {
            status: Status::Ok,
            body,
            location: None,
            replayed: false,
            scan: None,
        }
    }

    /// The answer of a listing that read `scan.rows` rows for an
    /// undeclared metadata filter: past `scan_hint_rows`, it names the
    /// index to declare (`X-Contactsd-Hint`) and the access line says the
    /// plan was a scan.
    pub(crate) fn with_scan(mut self, scan: Option<Scan>) -> Reply {
        self.scan = scan;
        self
    }

    /// A stored answer, sent again for its idempotency key.
    pub(crate) fn replayed(answer: StoredAnswer) -> Reply {
        Reply {
            status: Status::from_code(answer.status).unwrap_or(Status::Ok),
            body: answer.body,
            location: answer.location,
            replayed: true,
            scan: None,
        }
    }

    /// The answer as an idempotency key keeps it (`None`: not kept).
    pub(crate) fn to_stored(&self) -> Option<StoredAnswer> {
        is_stored(self.status.code).then(|| StoredAnswer {
            status: self.status.code,
            location: self.location.clone(),
            body: self.body.clone(),
        })
    }

    fn with_status<T: Serialize>(status: Status, value: &T) -> Result<Reply, ApiError> {
        let body = serde_json::to_vec(value).map_err(|e| ApiError::internal().caused_by(&e))?;
        Ok(Reply {
            status,
            body,
            location: None,
            replayed: false,
            scan: None,
        })
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(self.body.len(), Cursor::new(self.body))
            // Bulk answers run to hundreds of KiB; Rocket's default 4 KiB
            // chunks would cut them into a hundred writes.
            .max_chunk_size(64 * 1024);
        if let Some(location) = self.location {
            response.header(Header::new("Location", location));
        }
        if self.replayed {
            response.header(Header::new("Idempotent-Replayed", "true"));
        }
        let threshold = req
            .rocket()
            .state::<ScanHintRows>()
            .map_or(SCAN_HINT_ROWS, |rows| rows.0);
        if let Some(scan) = self
            .scan
            .filter(|s| u64::try_from(s.rows).unwrap_or(0) > threshold)
        {
            // The key as a path segment: a header holds no control
            // character, and the request it names must work as written.
            let hint = scan.key.map(|key| {
                let key = percent_encoding::utf8_percent_encode(&key, PATH_SEGMENT);
                format!("PUT /v1/indexes/metadata.{key}")
            });
            if let Ok(mut note) = req.local_cache(ScanNote::default).0.lock() {
                *note = Some((scan.rows, hint.clone()));
            }
            if let Some(hint) = hint {
                response.header(Header::new(HINT_HEADER, hint));
            }
        }
        response.ok()
    }
}

/// A page of a list (the seed's envelope).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
// `page` is the envelope's JSON field, named by the API's contract.
#[allow(clippy::struct_field_names)]
pub(crate) struct Page<T> {
    pub data: Vec<T>,
    /// Every matching row.
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    /// `ceil(total / limit)`, 0 when nothing matches.
    pub total_pages: i64,
}

impl<T> Page<T> {
    pub(crate) fn new(data: Vec<T>, total: i64, page: i64, limit: i64) -> Self {
        Page {
            data,
            total,
            page,
            limit,
            total_pages: (total + limit - 1) / limit,
        }
    }
}

/// Every error's body: the platform's NestJS shape (`statusCode`,
/// `error`, `message`) plus a machine-readable `code`, the broken rules in
/// `details` and, where useful, named fields.
// Built by `ApiError::to_body`, for every route and catcher.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error, example = json!({"statusCode": 422, "error": "Unprocessable Entity",
    "code": "validation_failed",
    "message": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210",
    "details": [{"field": "phoneNumber",
        "message": "phoneNumber must be a valid E.164 phone number, e.g. +919876543210"}]}))]
pub struct ErrorBody<'a> {
    /// The HTTP status.
    pub(crate) status_code: u16,
    /// The status's reason phrase (`Unprocessable Entity`).
    pub(crate) error: &'a str,
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `changes_expired`, `payload_too_large`, `validation_failed`,
    /// `idempotency_key_reused`, `rate_limited`, `internal` or
    /// `unavailable`.
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    /// Each broken rule (at most 100), when the error names fields.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    pub(crate) details: &'a [FieldError],
    /// On a `409` for a phone number: the contact that has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub(crate) contact_id: Option<&'a Value>,
    /// On a `404` of an audience operation: the contact ids that do not
    /// exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<String>)]
    pub(crate) missing_contact_ids: Option<&'a Value>,
    /// On a `422` for a CSV body that is not CSV: the line, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64)]
    pub(crate) line: Option<&'a Value>,
    /// On a `410` of the changes feed: the organization's latest change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub(crate) latest_seq: Option<&'a Value>,
}

impl ErrorBody<'_> {
    /// The names of the optional named fields above, as errors set them.
    pub(crate) const NAMED_FIELDS: [&'static str; 4] =
        ["contactId", "missingContactIds", "line", "latestSeq"];
}
