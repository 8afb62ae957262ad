//! Building the Rocket instance: configuration, state, routes, catchers.

use rocket::data::{Limits, ToByteUnit};
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};

use crate::api;
use crate::db::Db;

/// Rocket's configuration sources, as `rocket::Config::figment()` reads them
/// (`Rocket.toml` or `ROCKET_CONFIG`, then `ROCKET_*` variables), over our
/// own defaults: a 20 MiB JSON limit, so a full 1,000-item batch fits.
pub fn figment() -> Figment {
    let limits = Limits::default().limit("json", api::DEFAULT_JSON_LIMIT_MIB.mebibytes());
    Figment::from(rocket::Config::default())
        .merge(Serialized::default("limits", limits))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// The server over `db`, configured by `figment`.
pub fn build(figment: Figment, db: Db) -> Rocket<Build> {
    crate::domain::PhoneNumber::warm_up();
    let json_limit = figment
        .extract_inner::<Limits>("limits")
        .ok()
        .and_then(|limits| limits.get("json"))
        .unwrap_or_else(|| api::DEFAULT_JSON_LIMIT_MIB.mebibytes());
    rocket::custom(figment)
        .manage(db)
        .manage(api::BodyBudget::new(json_limit))
        .attach(api::KeepSentMethod)
        .mount("/", api::root_routes())
        .mount("/v1", api::routes())
        .register("/", api::catchers())
}
