//! Rate limits per API key: a general budget for every request and a bulk
//! budget for bulk writes, each so many requests a minute, enforced with
//! `governor`'s GCRA (a smooth budget: one request's worth returns every
//! 60/N seconds, up to N).
//!
//! Configured by `rate_limit_per_minute` and `bulk_rate_limit_per_minute`
//! (Rocket.toml, or `ROCKET_RATE_LIMIT_PER_MINUTE` and
//! `ROCKET_BULK_RATE_LIMIT_PER_MINUTE`); `0`, the default, means no limit.
//! A request over a budget is `429 rate_limited` with `Retry-After`, and does
//! nothing. While the general limit is set, every keyed answer carries
//! `X-RateLimit-Limit`, `-Remaining` and `-Reset` for it. Only verified keys
//! are counted: a request with an unknown key is 401 and uses no budget.

use std::num::NonZeroU32;
use std::sync::Mutex;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use rocket::http::{Header, Method};
use rocket::request::Request;

/// Keyed by the API key's row number.
type Limiter =
    RateLimiter<i64, DefaultKeyedStateStore<i64>, DefaultClock, StateInformationMiddleware>;

/// One budget: its limiter and its size.
struct Budget {
    limiter: Limiter,
    per_minute: u32,
}

impl Budget {
    fn new(per_minute: u32) -> Option<Budget> {
        let size = NonZeroU32::new(per_minute)?;
        Some(Budget {
            limiter: RateLimiter::dashmap(Quota::per_minute(size))
                .with_middleware::<StateInformationMiddleware>(),
            per_minute,
        })
    }

    /// Takes one request from `key`'s budget: what is left, or how long
    /// until there is room (whole seconds, at least 1).
    fn take(&self, key: i64) -> Result<Standing, u64> {
        match self.limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = u64::from(self.per_minute.saturating_sub(remaining));
                // One request's worth returns every 60/N seconds.
                let reset = (used * 60).div_ceil(u64::from(self.per_minute));
                Ok(Standing {
                    limit: self.per_minute,
                    remaining,
                    reset_seconds: reset,
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let whole = wait
                    .as_secs()
                    .saturating_add(u64::from(wait.subsec_nanos() > 0));
                Err(whole.max(1))
            }
        }
    }
}

/// A key's general budget after a request, for the `X-RateLimit-*`
/// headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Standing {
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: u64,
}

/// Both budgets, as configured.
pub(crate) struct RateLimits {
    general: Option<Budget>,
    bulk: Option<Budget>,
}

/// Why a request was refused: seconds until it may be retried, the
/// general budget's standing when that is the one spent, and whether the
/// bulk budget refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limited {
    pub retry_after: u64,
    pub standing: Option<Standing>,
    pub bulk: bool,
}

impl RateLimits {
    /// Budgets of `per_minute` requests and `bulk_per_minute` bulk
    /// requests a key; `0` sets none.
    pub(crate) fn new(per_minute: u32, bulk_per_minute: u32) -> RateLimits {
        RateLimits {
            general: Budget::new(per_minute),
            bulk: Budget::new(bulk_per_minute),
        }
    }

    /// Whether any budget is set.
    pub(crate) fn enabled(&self) -> bool {
        self.general.is_some() || self.bulk.is_some()
    }

    /// Counts one request of `key` (a bulk one when `bulk`) against the
    /// general budget, and a bulk one against the bulk budget too. The
    /// general budget's standing, when it is set: every keyed answer
    /// carries it, a `429` from the bulk budget included.
    pub(crate) fn take(&self, key: i64, bulk: bool) -> Result<Option<Standing>, Limited> {
        let general = self.general.as_ref().map(|budget| {
            budget.take(key).map_err(|retry_after| Limited {
                retry_after,
                bulk: false,
                // Empty; full again a minute after the last request.
                standing: Some(Standing {
                    limit: budget.per_minute,
                    remaining: 0,
                    reset_seconds: 60,
                }),
            })
        });
        let standing = match general {
            None => None,
            Some(Ok(standing)) => Some(standing),
            Some(Err(limited)) => return Err(limited),
        };
        if let (true, Some(budget)) = (bulk, &self.bulk) {
            budget.take(key).map_err(|retry_after| Limited {
                retry_after,
                standing,
                bulk: true,
            })?;
        }
        Ok(standing)
    }
}

/// The routes that spend the bulk budget: bulk upserts and deletes,
/// imports (as mounted, under `/v1`).
const BULK_ROUTES: &[&str] = &[
    "/v1/contacts/bulk",
    "/v1/contacts/bulk-delete",
    "/v1/imports/api/bulk",
    "/v1/imports/csv",
];

/// Whether `req` spends the bulk budget. Judged by the route the request
/// reached, not by how its path is spelled: `//v1/contacts/bulk`,
/// `/v1/contacts/%62ulk` and `/v1/contacts/bulk/` reach the same route.
pub(crate) fn is_bulk(req: &Request<'_>) -> bool {
    req.method() == Method::Post
        && req
            .route()
            .is_some_and(|route| BULK_ROUTES.contains(&route.uri.as_str()))
}

/// The standing a request left, kept in its local cache for the answer.
#[derive(Default)]
struct Slot(Mutex<Option<Standing>>);

/// Records the key's standing for the answer's headers.
pub(crate) fn record(req: &Request<'_>, standing: Standing) {
    if let Ok(mut slot) = req.local_cache(Slot::default).0.lock() {
        *slot = Some(standing);
    }
}

/// The `X-RateLimit-*` headers for the standing `req` recorded, if any.
pub(crate) fn headers(req: &Request<'_>) -> Vec<Header<'static>> {
    let standing = req
        .local_cache(Slot::default)
        .0
        .lock()
        .ok()
        .and_then(|slot| *slot);
    standing.map_or_else(Vec::new, |s| {
        vec![
            Header::new("X-RateLimit-Limit", s.limit.to_string()),
            Header::new("X-RateLimit-Remaining", s.remaining.to_string()),
            Header::new("X-RateLimit-Reset", s.reset_seconds.to_string()),
        ]
    })
}

/// Adds the `X-RateLimit-*` headers to answers of counted requests.
pub(crate) struct RateLimitHeaders;

#[rocket::async_trait]
impl rocket::fairing::Fairing for RateLimitHeaders {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "rate limit headers",
            kind: rocket::fairing::Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut rocket::Response<'r>) {
        for header in headers(req) {
            res.set_header(header);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(general: u32, bulk: u32) -> RateLimits {
        RateLimits::new(general, bulk)
    }

    #[test]
    fn zero_means_no_limit() {
        let off = limits(0, 0);
        assert!(!off.enabled());
        for _ in 0..1000 {
            assert_eq!(off.take(1, true), Ok(None));
        }
    }

    #[test]
    fn a_budget_counts_down_then_refuses_with_a_retry_time() {
        let on = limits(3, 0);
        let remaining: Vec<u32> = (0..3)
            .map(|_| on.take(7, false).unwrap().unwrap().remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = on.take(7, false).unwrap_err();
        assert!((1..=20).contains(&refused.retry_after), "{refused:?}");
        assert_eq!(on.take(8, false).unwrap().unwrap().remaining, 2, "per key");
    }

    #[test]
    fn the_bulk_budget_refuses_before_the_general_one_is_spent() {
        let on = limits(10, 1);
        assert_eq!(on.take(1, true).unwrap().unwrap().remaining, 9);
        // Refused by the bulk budget: still a request of the key's, and
        // its answer carries the general budget's standing.
        let refused = on.take(1, true).unwrap_err();
        assert_eq!(refused.standing.map(|s| s.remaining), Some(8));
        assert_eq!(on.take(1, false).unwrap().unwrap().remaining, 7);
    }
}
