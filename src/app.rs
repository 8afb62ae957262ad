//! Building the Rocket instance: configuration, state, routes, catchers.

use rocket::config::LogLevel;
use rocket::data::{Limits, ToByteUnit};
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};

use crate::db::Db;
use crate::ratelimit::{RateLimitHeaders, RateLimits};
use crate::{api, logging};

/// Rocket's configuration sources, as `rocket::Config::figment()` reads them
/// (`Rocket.toml` or `ROCKET_CONFIG`, then `ROCKET_*` variables), over our
/// own defaults: a 20 MiB JSON limit, so a full 1,000-item batch fits.
pub fn figment() -> Figment {
    let limits = Limits::default().limit("json", api::DEFAULT_JSON_LIMIT_MIB.mebibytes());
    Figment::from(rocket::Config::default())
        .merge(Serialized::default("limits", limits))
        .merge(user_settings())
        .select(profile())
}

/// What the operator set: `Rocket.toml` (or `ROCKET_CONFIG`), then
/// `ROCKET_*` variables.
fn user_settings() -> Figment {
    Figment::from(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
}

fn profile() -> Profile {
    Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE)
}

/// The log level the operator asked for (`log_level`, `ROCKET_LOG_LEVEL`),
/// else `normal`: one access line per request in every profile (Rocket's
/// own default is `critical` in release builds, which logs no requests).
pub fn log_level() -> LogLevel {
    user_settings()
        .select(profile())
        .extract_inner::<LogLevel>("log_level")
        .unwrap_or(LogLevel::Normal)
}

/// The server over `db`, configured by `figment`.
pub fn build(figment: Figment, db: Db) -> Rocket<Build> {
    crate::domain::PhoneNumber::warm_up();
    let json_limit = figment
        .extract_inner::<Limits>("limits")
        .ok()
        .and_then(|limits| limits.get("json"))
        .unwrap_or_else(|| api::DEFAULT_JSON_LIMIT_MIB.mebibytes());
    // Rocket's own request log prints query strings and, at `debug`, every
    // header; contactsd logs requests itself (see `logging`).
    let rate_limits = RateLimits::from_figment(&figment);
    rocket::custom(figment.merge(("log_level", LogLevel::Off)))
        .manage(db)
        .manage(api::BodyBudget::new(json_limit))
        .manage(rate_limits)
        .attach(RateLimitHeaders)
        .attach(logging::AccessLog)
        .attach(api::KeepSentMethod)
        .mount("/", api::root_routes())
        .mount("/v1", api::routes())
        .register("/", api::catchers())
}
