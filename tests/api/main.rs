//! Integration tests: every request goes through Rocket's full request
//! handling (routing, guards, catchers) against a real SQLite file; the CLI
//! tests run the real binary, and the serve test talks over a real socket.

mod audiences;
mod auth;
mod bulk;
mod callable;
mod calls;
mod changes;
mod cli;
mod connections;
mod console;
mod contacts;
mod dnc;
mod errors;
mod export;
mod fields;
mod filters;
mod helpers;
mod hostile;
mod idempotency;
mod imports;
mod indexes;
mod limits;
mod listing;
mod metrics;
mod openapi;
mod search;
mod serve;
mod trust;
mod webhooks;
