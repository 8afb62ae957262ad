//! Idempotency keys on `POST` (CONTRACT.md "Idempotency keys").
//!
//! A `POST` under `/v1` may carry `Idempotency-Key` (1 to 255 visible ASCII
//! characters, else 400 naming the header). Once the body is read, the key
//! is claimed for the organization with a fingerprint of the method, path
//! and body ([`check`], called by the JSON body guard):
//!
//! - a free key is claimed, the request runs, and its status, `Location`
//!   and body are stored when it is answered ([`StoreAnswers`]); answers
//!   `5xx` and `429` are not stored, so a retry runs again;
//! - a key stored for the same fingerprint is answered again from storage,
//!   with `Idempotent-Replayed: true`, and nothing runs;
//! - a key held by a request still running is `409 conflict`;
//! - a key used for another method, path or body is `422
//!   idempotency_key_reused`.
//!
//! Keys are kept 24 hours; the server sweeps older ones in small batches.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use sha2::{Digest, Sha256};

use crate::db::idempotency::{Claim, StoredAnswer};
use crate::db::TenantDb;
use crate::error::ApiError;

/// The request header.
pub(crate) const HEADER: &str = "Idempotency-Key";

/// The organization handle of an authenticated `POST`, left by the key
/// guard for the body guard.
#[derive(Default)]
struct Caller(Mutex<Option<TenantDb>>);

/// Records the handle of an authenticated request.
pub(crate) fn record_caller(req: &Request<'_>, org: &TenantDb) {
    if let Ok(mut slot) = req.local_cache(Caller::default).0.lock() {
        *slot = Some(org.clone());
    }
}

/// The key a request claimed, for storing its answer.
#[derive(Default)]
struct Claimed(Mutex<Option<(TenantDb, String)>>);

/// A stored answer to send again, left for the catcher.
#[derive(Default)]
struct PendingReplay(Mutex<Option<StoredAnswer>>);

/// The request's idempotency key: `None` when it sends none or is not a
/// `POST` under `/v1`; 400 when the header is malformed.
pub(crate) fn key_of(req: &Request<'_>) -> Result<Option<String>, ApiError> {
    if req.method() != Method::Post || !req.uri().path().starts_with("/v1/") {
        return Ok(None);
    }
    let mut values = req.headers().get(HEADER);
    let Some(key) = values.next() else {
        return Ok(None);
    };
    let visible = |b: u8| (0x21..=0x7e).contains(&b);
    if values.next().is_some() || !(1..=255).contains(&key.len()) || !key.bytes().all(visible) {
        return Err(ApiError::bad_parameter(
            HEADER,
            "Idempotency-Key must be 1 to 255 visible ASCII characters, sent once",
        ));
    }
    Ok(Some(key.to_string()))
}

/// What identifies a request for its key: method, path and query, body.
fn fingerprint(req: &Request<'_>, body: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(req.method().as_str().as_bytes());
    hash.update(b"\n");
    hash.update(req.uri().to_string().as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().to_vec()
}

/// Claims the request's key, if it sends one. `Err` carries the answer to
/// give instead of running the request: the status of a stored answer
/// (left for the catcher), 409 or 422.
pub(crate) async fn check(
    req: &Request<'_>,
    key: Option<String>,
    body: &[u8],
) -> Result<(), ApiError> {
    let Some(key) = key else {
        return Ok(());
    };
    let org = req
        .local_cache(Caller::default)
        .0
        .lock()
        .ok()
        .and_then(|slot| slot.clone())
        .ok_or_else(ApiError::internal)?;
    let claim = org
        .claim_idempotency_key(key.clone(), fingerprint(req, body))
        .await?;
    match claim.value {
        Claim::Claimed => {
            if let Ok(mut slot) = req.local_cache(Claimed::default).0.lock() {
                *slot = Some((org, key));
            }
            Ok(())
        }
        Claim::Replay(answer) => {
            let status = Status::from_code(answer.status).unwrap_or(Status::Ok);
            if let Ok(mut slot) = req.local_cache(PendingReplay::default).0.lock() {
                *slot = Some(answer);
            }
            Err(ApiError::replay(status))
        }
        Claim::Running => Err(ApiError::conflict(
            "A request with this Idempotency-Key is still running; retry when it is done",
        )),
        Claim::Reused => Err(ApiError::idempotency_key_reused()),
    }
}

/// A stored answer, sent again.
pub(crate) struct Replay(StoredAnswer);

/// The stored answer the catcher should send for `req`, if any.
pub(crate) fn take_replay(req: &Request<'_>) -> Option<Replay> {
    req.local_cache(PendingReplay::default)
        .0
        .lock()
        .ok()?
        .take()
        .map(Replay)
}

impl<'r> Responder<'r, 'static> for Replay {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let Replay(answer) = self;
        let mut response = Response::build();
        response
            .status(Status::from_code(answer.status).unwrap_or(Status::Ok))
            .header(ContentType::JSON)
            .header(Header::new("Idempotent-Replayed", "true"))
            .sized_body(answer.body.len(), Cursor::new(answer.body));
        if let Some(location) = answer.location {
            response.header(Header::new("Location", location));
        }
        response.ok()
    }
}

/// Stores the answer of every request that claimed a key, or frees the
/// key when the answer is 5xx or 429.
pub(crate) struct StoreAnswers;

#[rocket::async_trait]
impl Fairing for StoreAnswers {
    fn info(&self) -> Info {
        Info {
            name: "idempotency keys",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let claimed = req
            .local_cache(Claimed::default)
            .0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        let Some((org, key)) = claimed else {
            return;
        };
        let status = res.status().code;
        let answer = if status >= 500 || status == 429 {
            None
        } else {
            let body = res.body_mut().to_bytes().await.unwrap_or_default();
            res.set_sized_body(body.len(), Cursor::new(body.clone()));
            Some(StoredAnswer {
                status,
                location: res.headers().get_one("Location").map(String::from),
                body,
            })
        };
        if let Err(e) = org.finish_idempotency_key(key, answer).await {
            tracing::warn!(target: "contactsd::idempotency", "answer not stored: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::local::blocking::Client;

    fn key(header: Option<&str>, method: Method, path: &str) -> Result<Option<String>, ApiError> {
        let client = Client::untracked(rocket::build()).unwrap();
        let mut request = client.req(method, path);
        if let Some(value) = header {
            request.add_header(Header::new(HEADER, value.to_string()));
        }
        key_of(request.inner())
    }

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters_on_posts() {
        assert_eq!(
            key(Some("abc-1"), Method::Post, "/v1/contacts")
                .unwrap()
                .as_deref(),
            Some("abc-1")
        );
        assert_eq!(key(None, Method::Post, "/v1/contacts").unwrap(), None);
        assert_eq!(key(Some("abc"), Method::Get, "/v1/contacts").unwrap(), None);
        assert!(key(Some(&"k".repeat(255)), Method::Post, "/v1/x")
            .unwrap()
            .is_some());
        for bad in ["", "a b", "é", &"k".repeat(256)] {
            let error = key(Some(bad), Method::Post, "/v1/contacts").unwrap_err();
            assert_eq!(error.code(), "bad_request", "{bad:?}");
        }
    }
}
