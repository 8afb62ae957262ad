//! Where the database lives: `--database PATH`, else `CONTACTSD_DATABASE`
//! (both handled by the command line parser), else the `database` key of
//! Rocket's configuration (`Rocket.toml`), else `contacts.db` in the working
//! directory.

use std::path::PathBuf;

use rocket::figment::Figment;

pub const DEFAULT_DATABASE: &str = "contacts.db";

pub fn database_path(from_cli_or_env: Option<PathBuf>, figment: &Figment) -> PathBuf {
    from_cli_or_env
        .or_else(|| figment.extract_inner::<PathBuf>("database").ok())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE))
}
