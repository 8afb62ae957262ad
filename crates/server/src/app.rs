//! Building the Rocket instance: configuration, state, routes, catchers.

use rocket::config::LogLevel;
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Orbit, Rocket};

use crate::db::Db;
use crate::ratelimit::{RateLimitHeaders, RateLimits};
use crate::worker::Worker;
use crate::{api, logging};

/// Rocket's configuration sources, as `rocket::Config::figment()` reads them
/// (`Rocket.toml` or `ROCKET_CONFIG`, then `ROCKET_*` variables), over our
/// own defaults: a 20 MiB JSON limit, so a full 1,000-item batch fits.
pub fn figment() -> Figment {
    let limits = Limits::default()
        .limit("json", api::DEFAULT_JSON_LIMIT_MIB.mebibytes())
        .limit("file", api::DEFAULT_FILE_LIMIT_MIB.mebibytes());
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

/// How the operator's settings open the database: `wal_autocheckpoint`
/// (WAL pages per automatic checkpoint; `0` leaves every checkpoint to
/// another process such as Litestream).
pub fn db_options(figment: &Figment) -> crate::db::DbOptions {
    let mut options = crate::db::DbOptions::default();
    if let Ok(pages) = figment.extract_inner::<u32>("wal_autocheckpoint") {
        options.wal_autocheckpoint = pages;
    }
    options
}

/// The server over `db`, configured by `figment`.
pub fn build(figment: Figment, db: Db) -> Rocket<Build> {
    crate::domain::PhoneNumber::warm_up();
    let limits = figment.extract_inner::<Limits>("limits").ok();
    let limit = |name: &str, default: usize| {
        limits
            .as_ref()
            .and_then(|limits| limits.get(name))
            .unwrap_or_else(|| default.mebibytes())
    };
    let json_limit = limit("json", api::DEFAULT_JSON_LIMIT_MIB);
    let file_limit = limit("file", api::DEFAULT_FILE_LIMIT_MIB);
    let allow_private = figment
        .extract_inner::<bool>("webhook_allow_private")
        .unwrap_or(false);
    // Rocket's own request log prints query strings and, at `debug`, every
    // header; contactsd logs requests itself (see `logging`).
    let rate_limits = RateLimits::from_figment(&figment);
    rocket::custom(figment.merge(("log_level", LogLevel::Off)))
        .manage(db)
        .manage(api::BodyBudget::new(json_limit))
        .manage(api::FileBudget(api::BodyBudget::new(file_limit)))
        .manage(Worker::new(allow_private))
        .manage(rate_limits)
        .attach(RateLimitHeaders)
        .attach(AdHoc::on_liftoff("idempotency keys", |rocket| {
            Box::pin(async move { sweep_idempotency_keys(rocket) })
        }))
        .attach(AdHoc::on_liftoff("import worker", |rocket| {
            Box::pin(async move {
                if let Some(worker) = rocket.state::<Worker>() {
                    worker.start(rocket);
                }
            })
        }))
        .attach(logging::AccessLog)
        .attach(api::KeepSentMethod)
        .mount("/", api::root_routes())
        .mount("/v1", api::routes())
        .register("/", api::catchers())
}

/// Frees the idempotency keys of requests cut short by the last stop, then
/// sweeps keys older than 24 hours every ten minutes, off the request
/// path, until the server shuts down.
fn sweep_idempotency_keys(rocket: &Rocket<Orbit>) {
    let Some(db) = rocket.state::<Db>().cloned() else {
        return;
    };
    if let Err(e) = db.release_unfinished_idempotency_keys() {
        tracing::warn!(target: "contactsd::idempotency", "unfinished keys not freed: {e}");
    }
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            match db.sweep_idempotency_keys().await {
                Ok(0) => {}
                Ok(swept) => {
                    tracing::info!(target: "contactsd::idempotency", swept, "expired keys swept")
                }
                Err(e) => tracing::warn!(target: "contactsd::idempotency", "sweep failed: {e}"),
            }
            rocket::tokio::select! {
                _ = &mut shutdown => return,
                _ = rocket::tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
            }
        }
    });
}
