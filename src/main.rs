//! contactsd: a self-hosted Contacts API server, one binary over one SQLite
//! file. This package is the binary: the command line on top of the
//! server (`contactsd-server`), storage (`contactsd-store`) and domain
//! (`contactsd-domain`) crates.

use std::process::ExitCode;

mod cli;

/// The crates below, under the names the commands use for them.
use contactsd_domain::{clock, import, listing};
use contactsd_server::{api, app, config, logging};
use contactsd_store as db;

fn main() -> ExitCode {
    cli::main()
}
