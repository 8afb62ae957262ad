//! contactsd's settings: one typed struct read from Rocket's figment at
//! start, and a check of the configuration file.
//!
//! [`Settings::load`] reads every setting contactsd uses, and Rocket's own
//! (port, limits, TLS...), once: a value of the wrong type (`ROCKET_PORT=abc`,
//! `rate_limit_per_minute = "ten"`) stops every command with the setting's
//! name, where it came from, the value and the type it must have. Nothing
//! quietly becomes its default.
//!
//! The database is `--database PATH`, else `CONTACTSD_DATABASE` (both
//! handled by the command line parser), else the `database` key of Rocket's
//! configuration (`Rocket.toml`), else `contacts.db` in the working
//! directory.
//!
//! A mistyped key in `Rocket.toml` would otherwise be ignored in silence
//! (`databse = "/srv/contacts.db"` serving a new, empty `./contacts.db`), so
//! every key of every profile is checked before anything is opened.

use std::path::PathBuf;

use rocket::config::LogLevel;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::value::{Dict, Value};
use rocket::figment::{Figment, Provider};
use serde::Deserialize;

use crate::db::DbOptions;

/// Every setting contactsd itself reads (Rocket reads its own).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The SQLite file (`database`).
    pub database: Option<PathBuf>,
    /// Requests a key may make a minute; `0`: no limit.
    pub rate_limit_per_minute: u32,
    /// Bulk requests a key may make a minute; `0`: no limit.
    pub bulk_rate_limit_per_minute: u32,
    /// Deliver webhooks to loopback, private and link-local addresses too.
    pub webhook_allow_private: bool,
    /// WAL pages per automatic checkpoint; `0`: never (Litestream's).
    pub wal_autocheckpoint: u32,
    /// `off`, `critical`, `normal` (the default) or `debug`.
    pub log_level: LogLevel,
    /// Seconds a request head may take to arrive (read by the patched
    /// Rocket, vendor/README.md); here so a wrong type is reported.
    pub header_read_timeout: u32,
    /// Seconds a request body may go without a byte (and half the time it
    /// may take in all) before it is `408`.
    pub body_read_timeout: u32,
    /// Days the changes feed keeps deleted objects' tombstones.
    pub changes_retention_days: u32,
    /// Serve `GET /metrics` on the API's address.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead (and not on the API's).
    pub metrics_address: Option<std::net::SocketAddr>,
    /// Rows a listing may check an undeclared metadata filter on before
    /// its answer names the index to declare (`X-Contactsd-Hint`).
    pub scan_hint_rows: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: None,
            rate_limit_per_minute: 0,
            bulk_rate_limit_per_minute: 0,
            webhook_allow_private: false,
            wal_autocheckpoint: DbOptions::default().wal_autocheckpoint,
            log_level: LogLevel::Normal,
            header_read_timeout: 10,
            body_read_timeout: 30,
            changes_retention_days: 30,
            metrics: false,
            metrics_address: None,
            scan_hint_rows: crate::api::SCAN_HINT_ROWS,
        }
    }
}

impl Settings {
    /// Reads contactsd's settings and checks Rocket's, from `figment`.
    pub fn load(figment: &Figment) -> Result<Settings, String> {
        rocket::Config::try_from(figment).map_err(explain)?;
        let mut settings: Settings = figment.extract().map_err(explain)?;
        // Rocket's own default is `critical` in release builds, which logs
        // no requests: contactsd's default is `normal` in every profile,
        // unless the operator set a level.
        let set = Figment::from(user_settings())
            .select(profile())
            .find_value("log_level")
            .is_ok();
        if !set {
            settings.log_level = LogLevel::Normal;
        }
        Ok(settings)
    }

    /// The database file, when neither `--database` nor
    /// `CONTACTSD_DATABASE` names one.
    pub fn database_path(&self, from_cli_or_env: Option<PathBuf>) -> PathBuf {
        from_cli_or_env
            .or_else(|| self.database.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE))
    }

    /// How the database is opened.
    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            wal_autocheckpoint: self.wal_autocheckpoint,
            ..DbOptions::default()
        }
    }
}

/// A configuration error as one line: each setting, where it came from,
/// and what is wrong with its value.
fn explain(error: rocket::figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if key.is_empty() {
                format!("configuration{source}: {}", e.kind)
            } else {
                format!("configuration: setting `{key}`{source}: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the operator set: `Rocket.toml` (or `ROCKET_CONFIG`), then
/// `ROCKET_*` variables.
pub(crate) fn user_settings() -> Figment {
    Figment::from(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
}

/// The selected profile (`ROCKET_PROFILE`, else debug or release).
pub(crate) fn profile() -> rocket::figment::Profile {
    rocket::figment::Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE)
}

pub(crate) const DEFAULT_DATABASE: &str = "contacts.db";

/// Rocket's own configuration keys (`rocket::Config`, with `tls` and
/// `mtls`), then contactsd's.
const KNOWN_KEYS: &[&str] = &[
    "address",
    "port",
    "workers",
    "max_blocking",
    "ident",
    "ip_header",
    "proxy_proto_header",
    "limits",
    "temp_dir",
    "keep_alive",
    "tls",
    "mtls",
    "secret_key",
    "shutdown",
    "log_level",
    "cli_colors",
    "database",
    "rate_limit_per_minute",
    "bulk_rate_limit_per_minute",
    "webhook_allow_private",
    "wal_autocheckpoint",
    "header_read_timeout",
    "body_read_timeout",
    "metrics",
    "metrics_address",
    "changes_retention_days",
    "scan_hint_rows",
];

/// Checks the configuration file (`Rocket.toml`, or `ROCKET_CONFIG`):
/// every key of every profile is one contactsd or Rocket reads, and
/// `database` is a path. The error names the file, profile and key.
pub fn check_file() -> Result<(), String> {
    let file = Env::var_or("ROCKET_CONFIG", "Rocket.toml");
    let profiles = Toml::file(&file)
        .nested()
        .data()
        .map_err(|e| format!("{file}: cannot be read: {e}"))?;
    for (profile, dict) in profiles {
        check_profile(&file, profile.as_str().as_str(), &dict)?;
    }
    Ok(())
}

fn check_profile(file: &str, profile: &str, dict: &Dict) -> Result<(), String> {
    for (key, value) in dict {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            let hint = KNOWN_KEYS
                .iter()
                .find(|known| close(known, key))
                .map(|known| format!(" (did you mean `{known}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "{file}: unknown key `{key}` in [{profile}]{hint}; known keys: {}",
                KNOWN_KEYS.join(", ")
            ));
        }
        if key == "database" && !matches!(value, Value::String(_, s) if !s.is_empty()) {
            return Err(format!(
                "{file}: `database` in [{profile}] must be a file path"
            ));
        }
    }
    Ok(())
}

/// Whether `a` and `b` differ by at most one edit, or by two adjacent
/// letters swapped: how a key gets mistyped.
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    match (a.len(), b.len()) {
        (x, y) if x.max(y) <= 1 => true,
        (2, 2) => a[0] == b[1] && a[1] == b[0],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str) -> Result<(), String> {
        for (profile, dict) in Toml::string(toml).nested().data().unwrap() {
            check_profile("Rocket.toml", profile.as_str().as_str(), &dict)?;
        }
        Ok(())
    }

    #[test]
    fn names_an_unknown_key_and_its_likely_spelling() {
        assert!(check(
            "[default]\ndatabase = \"x.db\"\nport = 8000\n[default.limits]\njson = \"1 MiB\""
        )
        .is_ok());
        let error = check("[default]\ndatabse = \"x.db\"").unwrap_err();
        assert!(
            error.contains("unknown key `databse` in [default]"),
            "{error}"
        );
        assert!(error.contains("did you mean `database`"), "{error}");
        let error = check("[release]\nprot = 80").unwrap_err();
        assert!(
            error.contains("`prot` in [release]") && error.contains("`port`"),
            "{error}"
        );
        assert!(check("[debug]\nfrobnicate = 1")
            .unwrap_err()
            .contains("frobnicate"));
        assert!(check("[default]\ndatabase = 3").is_err());
    }
}
