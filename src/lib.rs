//! contactsd: a self-hosted Contacts API server, one binary over one SQLite
//! file.
//!
//! The crate is a library so the integration tests can build the very same
//! Rocket instance the binary serves; `main.rs` only parses the command line.

pub mod api;
pub mod app;
pub mod auth;
pub mod bulk;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod db;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod import;
pub mod listing;
pub mod logging;
pub mod ratelimit;
pub mod search;
pub mod webhook;
pub mod worker;
