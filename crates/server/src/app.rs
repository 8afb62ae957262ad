//! Building the Rocket instance: configuration, state, routes, catchers.

use rocket::config::LogLevel;
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::{Build, Orbit, Rocket};

use crate::config::{self, Settings};
use crate::db::Db;
use crate::metrics::{self, Metrics};
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
        .merge(config::user_settings())
        .select(config::profile())
}

/// The server over `db`, configured by `figment`; a setting of the wrong
/// type is an error naming it (see [`Settings::load`]).
pub fn build(figment: Figment, db: Db) -> Result<Rocket<Build>, String> {
    let settings = Settings::load(&figment)?;
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
    // Rocket's own request log prints query strings and, at `debug`, every
    // header; contactsd logs requests itself (see `logging`).
    let rate_limits = RateLimits::new(
        settings.rate_limit_per_minute,
        settings.bulk_rate_limit_per_minute,
    );
    let metrics = Metrics::new();
    let allow_private = settings.webhook_allow_private;
    // Bound now, so an address in use stops the start with its name.
    let metrics_listener = settings
        .metrics_address
        .map(|address| {
            std::net::TcpListener::bind(address)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| format!("metrics_address {address}: cannot listen: {e}"))
        })
        .transpose()?;
    let mut rocket = rocket::custom(figment.merge(("log_level", LogLevel::Off)))
        .manage(db)
        .manage(metrics.clone())
        .manage(std::sync::Arc::new(crate::fanout::Fanout::default()))
        .manage(api::BodyBudget::new(json_limit))
        .manage(api::BodyTimeouts::new(settings.body_read_timeout))
        .manage(api::FileBudget(api::BodyBudget::new(file_limit)))
        .manage(Worker::new(settings.webhook_allow_private, metrics))
        .manage(rate_limits)
        .attach(RateLimitHeaders)
        .attach(AdHoc::on_ignite("unfinished idempotency keys", |rocket| {
            Box::pin(release_unfinished_idempotency_keys(rocket))
        }))
        .attach(AdHoc::on_liftoff("idempotency keys", |rocket| {
            Box::pin(async move { sweep_idempotency_keys(rocket) })
        }))
        .manage(Retention(settings.changes_retention_days))
        .manage(api::ScanHintRows(settings.scan_hint_rows))
        .attach(AdHoc::on_ignite("expired tombstones", |rocket| {
            Box::pin(prune_tombstones_at_start(rocket))
        }))
        .attach(AdHoc::on_liftoff("tombstones", |rocket| {
            Box::pin(async move { prune_tombstones(rocket) })
        }))
        .attach(AdHoc::on_liftoff("webhook subscriptions", move |rocket| {
            Box::pin(async move {
                if let Some(metrics) = rocket.state::<Metrics>().cloned() {
                    crate::subscriptions::start(rocket, allow_private, metrics);
                }
            })
        }))
        .attach(AdHoc::on_liftoff("change streams", |rocket| {
            Box::pin(async move { watch_other_writers(rocket) })
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
        .register("/", api::catchers());
    if let Some(listener) = metrics_listener {
        let apart = listener.local_addr().ok();
        rocket = rocket
            .manage(metrics::Served { apart })
            .attach(AdHoc::on_liftoff("metrics listener", |rocket| {
                Box::pin(async move { metrics::serve_apart(listener, rocket) })
            }));
    } else if settings.metrics {
        rocket = rocket
            .manage(metrics::Served { apart: None })
            .mount("/", api::metrics_routes());
    }
    Ok(rocket)
}

/// Frees the idempotency keys of requests cut short by the last stop,
/// before the first request is served.
async fn release_unfinished_idempotency_keys(rocket: Rocket<Build>) -> Rocket<Build> {
    if let Some(db) = rocket.state::<Db>() {
        if let Err(e) = db.release_unfinished_idempotency_keys().await {
            tracing::warn!(target: "contactsd::idempotency", "unfinished keys not freed: {e}");
        }
    }
    rocket
}

/// How many days the changes feed keeps tombstones.
struct Retention(u32);

/// Prunes tombstones past the retention period before the first request
/// is served, so a feed position they invalidate is refused from the start.
async fn prune_tombstones_at_start(rocket: Rocket<Build>) -> Rocket<Build> {
    if let (Some(db), Some(Retention(days))) = (rocket.state::<Db>(), rocket.state::<Retention>()) {
        if let Err(e) = db.prune_tombstones(*days).await {
            tracing::warn!(target: "contactsd::changes", "tombstones not pruned: {e}");
        }
    }
    rocket
}

/// Runs `task` on `rocket`'s database every `period` (the first time after
/// one period, or at once when `first_now`), off the request path, until
/// the server shuts down.
fn every<F, Fut>(rocket: &Rocket<Orbit>, period: std::time::Duration, first_now: bool, task: F)
where
    F: Fn(Db) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let Some(db) = rocket.state::<Db>().cloned() else {
        return;
    };
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut wait = !first_now;
        loop {
            if wait {
                rocket::tokio::select! {
                    () = &mut shutdown => return,
                    () = rocket::tokio::time::sleep(period) => {}
                }
            }
            wait = true;
            task(db.clone()).await;
        }
    });
}

/// Prunes tombstones past the retention period every ten minutes, a
/// thousand a transaction (the first time is at start, before serving).
fn prune_tombstones(rocket: &Rocket<Orbit>) {
    let Some(&Retention(days)) = rocket.state::<Retention>() else {
        return;
    };
    every(rocket, TEN_MINUTES, false, move |db| async move {
        match db.prune_tombstones(days).await {
            Ok(0) => {}
            Ok(pruned) => {
                tracing::info!(target: "contactsd::changes", pruned, "expired tombstones pruned");
            }
            Err(e) => tracing::warn!(target: "contactsd::changes", "pruning failed: {e}"),
        }
    });
}

/// Once a second, wakes the change streams of organizations that another
/// process wrote to (`contactsd import` on the same file); this process's
/// own writes wake them as they commit.
fn watch_other_writers(rocket: &Rocket<Orbit>) {
    every(
        rocket,
        std::time::Duration::from_secs(1),
        false,
        |db| async move {
            if let Err(e) = db.poll_live().await {
                tracing::warn!(target: "contactsd::changes", "change positions not read: {e}");
            }
        },
    );
}

/// Sweeps idempotency keys older than 24 hours at start and every ten
/// minutes.
fn sweep_idempotency_keys(rocket: &Rocket<Orbit>) {
    every(rocket, TEN_MINUTES, true, |db| async move {
        match db.sweep_idempotency_keys().await {
            Ok(0) => {}
            Ok(swept) => {
                tracing::info!(target: "contactsd::idempotency", swept, "expired keys swept");
            }
            Err(e) => tracing::warn!(target: "contactsd::idempotency", "sweep failed: {e}"),
        }
    });
}

const TEN_MINUTES: std::time::Duration = std::time::Duration::from_secs(600);
