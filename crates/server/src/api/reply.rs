//! Successful answers: a status, a JSON body and, for creations, `Location`.

use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;

use crate::db::idempotency::StoredAnswer;
use crate::error::ApiError;
use crate::idempotency::is_stored;

pub(crate) struct Reply {
    status: Status,
    body: Vec<u8>,
    location: Option<String>,
    /// Sent again for an idempotency key (`Idempotent-Replayed: true`).
    replayed: bool,
}

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
        }
    }

    /// A stored answer, sent again for its idempotency key.
    pub(crate) fn replayed(answer: StoredAnswer) -> Reply {
        Reply {
            status: Status::from_code(answer.status).unwrap_or(Status::Ok),
            body: answer.body,
            location: answer.location,
            replayed: true,
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
        })
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
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
        response.ok()
    }
}

/// The seed's list envelope.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    pub data: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub limit: i64,
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
