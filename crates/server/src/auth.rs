//! Who is calling: the API key request guard.
//!
//! A key arrives as `x-api-key: <key>` or `Authorization: Bearer <key>` (the
//! scheme word in any case). The guard hands the handler a [`TenantDb`] for
//! the key's organization, which verifies the key on every trip to the
//! database: a handler that takes no such guard has no way to reach the
//! organization's data. Requests that carry a body have the key verified
//! up front too, so an unknown key is 401 whatever the body holds; reads
//! pay for one trip, not two. With rate limits set, every request's key is
//! verified up front and counted (`ratelimit`).

use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome, Request};

use crate::db::{Db, TenantDb};
use crate::error::{self, ApiError};
use crate::ids;
use crate::metrics::{Limit, Metrics};
use crate::ratelimit::{self, RateLimits};

/// The calling key's organization, as a request guard: storage's
/// [`TenantDb`] for the key the request presented.
pub(crate) struct Org(TenantDb);

impl std::ops::Deref for Org {
    type Target = TenantDb;

    fn deref(&self) -> &TenantDb {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Org {
    type Error = ();

    /// Authenticates once per request: a data guard that asks again (the
    /// idempotency claim) gets the same answer without another trip or
    /// another count against the rate limit.
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let outcome: &Result<TenantDb, Status> = req
            .local_cache_async(async { authenticate(req).await.map_err(|e| error::stash(req, e)) })
            .await;
        match outcome {
            Ok(tenant) => Outcome::Success(Org(tenant.clone())),
            Err(status) => Outcome::Error((*status, ())),
        }
    }
}

fn well_formed_key<'a>(req: &'a Request<'_>) -> Result<&'a str, ApiError> {
    let key = presented_key(req)?;
    if ids::looks_like_api_key(key) {
        Ok(key)
    } else {
        Err(invalid_key())
    }
}

async fn authenticate(req: &Request<'_>) -> Result<TenantDb, ApiError> {
    let key = well_formed_key(req)?.to_string();
    let db = req.rocket().state::<Db>().ok_or_else(ApiError::internal)?;
    let limits = req.rocket().state::<RateLimits>().filter(|l| l.enabled());
    if limits.is_none() && matches!(req.method(), Method::Get | Method::Head) {
        return Ok(db.tenant(key));
    }
    let (tenant, verified) = db.authenticate(key).await?.ok_or_else(invalid_key)?;
    if let Some(limits) = limits {
        let bulk = ratelimit::is_bulk(req);
        match limits.take(verified.key_seq, bulk) {
            Ok(Some(standing)) => ratelimit::record(req, standing),
            Ok(None) => {}
            Err(limited) => {
                if let Some(standing) = limited.standing {
                    ratelimit::record(req, standing);
                }
                if let Some(metrics) = req.rocket().state::<Metrics>() {
                    metrics.rate_limited(if limited.bulk {
                        Limit::Bulk
                    } else {
                        Limit::General
                    });
                }
                return Err(ApiError::rate_limited(limited.retry_after));
            }
        }
    }
    // After the rate limit (the request counts), before the route's body
    // or idempotency key is looked at: nothing is read or stored.
    if verified.read_only && !is_read(req.method()) {
        return Err(ApiError::forbidden());
    }
    Ok(tenant)
}

/// Whether `req` presents a valid, read-only key (for answers no route
/// gave).
pub(crate) async fn is_read_only_key(req: &Request<'_>) -> bool {
    let Ok(key) = well_formed_key(req) else {
        return false;
    };
    let Some(db) = req.rocket().state::<Db>() else {
        return false;
    };
    matches!(
        db.authenticate(key.to_string()).await,
        Ok(Some((_, verified))) if verified.read_only
    )
}

/// Whether `method` only reads: what a read-only key may send.
pub(crate) fn is_read(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head)
}
fn invalid_key() -> ApiError {
    ApiError::unauthorized("Invalid or revoked API key")
}

/// The key the request presents, from `x-api-key` first, then `Bearer`.
fn presented_key<'a>(req: &'a Request<'_>) -> Result<&'a str, ApiError> {
    if let Some(key) = req.headers().get_one("x-api-key") {
        return Ok(key.trim());
    }
    let Some(authorization) = req.headers().get_one("authorization") else {
        return Err(ApiError::unauthorized(
            "Missing API key: send it as x-api-key or Authorization: Bearer",
        ));
    };
    let mut parts = authorization.trim().splitn(2, char::is_whitespace);
    let scheme = parts.next().unwrap_or_default();
    match parts.next().map(str::trim) {
        Some(token) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => Ok(token),
        _ => Err(ApiError::unauthorized(
            "The Authorization header must be `Bearer <key>`",
        )),
    }
}
