//! Idempotency keys on `POST` (CONTRACT.md "Idempotency keys").
//!
//! A `POST` under `/v1` may carry `Idempotency-Key` (1 to 255 visible ASCII
//! characters, else 400 naming the header). Every such route reads its body
//! with the [`Idempotent`] data guard, which claims the key for the
//! organization with a fingerprint of the method, path and body, and hands
//! the handler one of two things to do:
//!
//! - [`Idempotent::Run`]: the body and a [`Claim`]; the handler runs the
//!   request and passes its answer through [`Claim::finish`], which stores
//!   status, `Location` and body (answers `5xx` and `429` are not stored,
//!   so a retry runs again);
//! - [`Idempotent::Replay`]: the stored answer of an earlier request with
//!   the same key and fingerprint, sent again with `Idempotent-Replayed:
//!   true`; nothing runs.
//!
//! A key held by a request still running is `409 conflict`; a key used for
//! another method, path or body is `422 idempotency_key_reused`. Keys are
//! kept 24 hours; the server sweeps older ones in small batches.

use rocket::data::{Data, FromData, Outcome};
use rocket::http::Method;
use rocket::request::Request;
use sha2::{Digest, Sha256};

use crate::api::Reply;
use crate::auth::Org;
use crate::db::idempotency::Claim as StoredClaim;
use crate::db::TenantDb;
use crate::error::{self, ApiError};

/// The request header.
pub(crate) const HEADER: &str = "Idempotency-Key";

/// A `POST`'s body `B`, with what its idempotency key says to do.
pub(crate) enum Idempotent<B> {
    /// Run the request, then pass its answer through the claim.
    Run(B, Claim),
    /// Send this stored answer again; run nothing.
    Replay(Reply),
}

/// A key this request holds (or none, when it sent none): its answer must
/// be stored with [`Claim::finish`], or the key stays "running".
#[must_use = "pass the answer through Claim::finish, or the key is never answered"]
pub(crate) struct Claim(Option<(TenantDb, String)>);

impl Claim {
    /// Stores `answer` for the key, unless it is `5xx` or `429` (then the
    /// key is freed, so a retry runs again), and returns it.
    pub(crate) async fn finish(self, answer: Result<Reply, ApiError>) -> Result<Reply, ApiError> {
        let Some((org, key)) = self.0 else {
            return answer;
        };
        let stored = match &answer {
            Ok(reply) => reply.to_stored(),
            Err(error) => error.to_stored(),
        };
        if let Err(e) = org.finish_idempotency_key(key, stored).await {
            tracing::warn!(target: "contactsd::idempotency", "answer not stored: {e}");
        }
        answer
    }
}

/// Whether an answer of `status` is kept for its key.
pub(crate) fn is_stored(status: u16) -> bool {
    status < 500 && status != 429
}

/// The request's idempotency key: `None` when it sends none; 400 when the
/// header is malformed.
pub(crate) fn key_of(req: &Request<'_>) -> Result<Option<String>, ApiError> {
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

/// The SHA-256 of a request body.
pub(crate) type BodyDigest = [u8; 32];

pub(crate) fn body_digest(bytes: &[u8]) -> BodyDigest {
    Sha256::digest(bytes).into()
}

/// What identifies a request for its key: method, route, path and query,
/// body. The matched route is part of it, so two spellings of one path
/// (`//v1/…`, `/v1/%61…`) that reach the same route share their key.
fn fingerprint(req: &Request<'_>, body: &BodyDigest) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(req.method().as_str().as_bytes());
    hash.update(b"\n");
    let route = req.route().map(|r| r.uri.to_string()).unwrap_or_default();
    hash.update(route.as_bytes());
    hash.update(b"\n");
    for segment in req.uri().path().segments() {
        hash.update(segment.as_bytes());
        hash.update(b"/");
    }
    hash.update(b"?");
    hash.update(req.uri().query().map_or("", |q| q.as_str()).as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().to_vec()
}

/// Claims `key` for `body`: run, answer again, or refuse.
async fn claim<B>(
    req: &Request<'_>,
    key: Option<String>,
    body: B,
    digest: &BodyDigest,
) -> Result<Idempotent<B>, ApiError> {
    let Some(key) = key else {
        return Ok(Idempotent::Run(body, Claim(None)));
    };
    let org = match req.guard::<Org>().await {
        rocket::outcome::Outcome::Success(org) => TenantDb::clone(&org),
        _ => return Err(ApiError::unauthorized("Invalid or revoked API key")),
    };
    let claimed = org
        .claim_idempotency_key(key.clone(), fingerprint(req, digest))
        .await?;
    match claimed.value {
        StoredClaim::Claimed => Ok(Idempotent::Run(body, Claim(Some((org, key))))),
        StoredClaim::Replay(answer) => Ok(Idempotent::Replay(Reply::replayed(answer))),
        StoredClaim::Running => Err(ApiError::conflict(
            "A request with this Idempotency-Key is still running; retry when it is done",
        )),
        StoredClaim::Reused => Err(ApiError::idempotency_key_reused()),
    }
}

/// A body that can be read for an idempotent `POST`, with the digest of
/// its bytes for the key's fingerprint.
pub(crate) trait IdempotentBody: Sized + Send {
    /// Reads the body; the digest of its bytes comes back beside it.
    fn read<'r>(
        req: &'r Request<'_>,
        data: Data<'r>,
    ) -> impl std::future::Future<Output = Result<(Self, BodyDigest), ApiError>> + Send;
}

#[rocket::async_trait]
impl<'r, B: IdempotentBody + 'r> FromData<'r> for Idempotent<B> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self, ()> {
        let run = async {
            debug_assert_eq!(
                req.method(),
                Method::Post,
                "Idempotent<_> is for POST routes"
            );
            let key = key_of(req)?;
            let (body, digest) = B::read(req, data).await?;
            claim(req, key, body, &digest).await
        };
        match run.await {
            Ok(idempotent) => Outcome::Success(idempotent),
            Err(e) => Outcome::Error((error::stash(req, e), ())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::Header;
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
        assert!(key(Some(&"k".repeat(255)), Method::Post, "/v1/x")
            .unwrap()
            .is_some());
        for bad in ["", "a b", "é", &"k".repeat(256)] {
            let error = key(Some(bad), Method::Post, "/v1/contacts").unwrap_err();
            assert_eq!(error.code(), "bad_request", "{bad:?}");
        }
    }
}
