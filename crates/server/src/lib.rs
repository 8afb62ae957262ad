//! contactsd's HTTP server: the Rocket instance, its routes, guards and
//! catchers, the error answers of the contract, the OpenAPI document, the
//! console's assets, and the background worker that applies imports and
//! delivers their webhooks.
//!
//! It reaches storage only through `contactsd-store`'s tenant-scoped
//! handle and parses input only with `contactsd-domain`'s types. The binary
//! (the root package) builds on it; the integration tests build the very
//! same Rocket instance the binary serves.

pub mod api;
pub mod app;
mod auth;
mod bulk;
pub mod config;
pub(crate) mod error;
mod fanout;
mod idempotency;
pub mod logging;
pub mod metrics;
mod ratelimit;
mod subscriptions;
mod webhook;
mod worker;

pub(crate) use contactsd_domain as domain;
/// The domain's modules, under the names the handlers use for them.
pub(crate) use contactsd_domain::{clock, ids, import, listing, search};
/// Storage, under the name the handlers use for it.
pub(crate) use contactsd_store as db;
