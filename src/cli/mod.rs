//! The command line: `serve` (the default) and the administration commands,
//! which work on the same database file while the server runs (WAL).
//!
//! Administration commands print JSON on stdout (one object, or one object a
//! line for lists) and errors on stderr with exit status 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::config::{self, Settings};
use crate::db::{self, keys, Db};
use crate::{app, clock};
use contactsd_domain::Name;

mod changes;
mod dnc;
mod transfer;

#[derive(Parser)]
#[command(
    name = "contactsd",
    version,
    about = "A self-hosted Contacts API server over one SQLite file"
)]
struct Cli {
    /// The SQLite database file [default: Rocket.toml's `database`, else contacts.db]
    #[arg(long, global = true, value_name = "PATH", env = "CONTACTSD_DATABASE")]
    database: Option<PathBuf>,

    /// How `serve` writes its log lines (on standard error)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CONTACTSD_LOG_FORMAT"
    )]
    log_format: LogFormatArg,

    #[command(subcommand)]
    command: Option<Command>,
}

/// What an import's metadata does (`--metadata-mode`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum MetadataModeArg {
    Replace,
    Merge,
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormatArg {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

impl From<LogFormatArg> for crate::logging::LogFormat {
    fn from(arg: LogFormatArg) -> Self {
        match arg {
            LogFormatArg::Text => crate::logging::LogFormat::Text,
            LogFormatArg::Json => crate::logging::LogFormat::Json,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default)
    Serve,
    /// Manage organizations
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage an organization's do-not-call list
    #[command(subcommand)]
    Dnc(DncCommand),
    /// Manage API keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print the API's OpenAPI 3.1 document (as served at /v1/openapi.json)
    Openapi,
    /// Copy the live database to DEST, also while the server runs
    Backup { dest: PathBuf },
    /// Put the backup SRC in place of the database (the server must be stopped)
    Restore { src: PathBuf },
    /// Check a database file and its search index (exit 1 if either is
    /// damaged, or the file is missing or not a contactsd database)
    Check {
        /// The file to check [default: the configured database]
        path: Option<PathBuf>,
    },
    /// Import a .csv, .ndjson or .jsonl file into an organization, with a
    /// progress bar on a terminal; prints the final status as one JSON line
    Import {
        file: PathBuf,
        /// The organization's id (org_…)
        #[arg(long = "org", value_name = "ORG_ID")]
        org_id: String,
        /// Every imported contact joins this audience (aud_…)
        #[arg(long = "audience", value_name = "AUD_ID")]
        audience_id: Option<String>,
        /// replace: a row's metadata replaces a known contact's whole;
        /// merge: its top-level keys replace the same keys, the others stay
        #[arg(long, value_enum, default_value = "replace")]
        metadata_mode: MetadataModeArg,
    },
    /// Export an organization's contacts as CSV or NDJSON
    Export {
        /// The organization's id (org_…)
        #[arg(long = "org", value_name = "ORG_ID")]
        org_id: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormatArg,
        /// Write to FILE (created readable by its owner only) instead of
        /// standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print an organization's changes feed, one change a line (NDJSON)
    Changes {
        /// The organization's id (org_…)
        #[arg(long = "org", value_name = "ORG_ID")]
        org_id: String,
        /// Changes after this number (a change's seq; 0: everything)
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Only these types, comma-separated: contact, audience, membership, call
        #[arg(long)]
        types: Option<String>,
        /// Keep printing changes as they are made, until interrupted
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormatArg {
    Csv,
    Ndjson,
}

#[derive(Subcommand)]
enum DncCommand {
    /// Add the numbers of FILE (one a line, or a CSV with a phone column)
    Import {
        file: PathBuf,
        /// The organization's id (org_…)
        #[arg(long = "org", value_name = "ORG_ID")]
        org_id: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization and its first API key
    Create { name: String },
    /// List organizations, one JSON object a line
    List,
    /// Print the organization's webhook signing secret (made on first use)
    WebhookSecret {
        org_id: String,
        /// Replace the secret with a new one; for 24 hours webhooks carry a
        /// signature with each
        #[arg(long)]
        rotate: bool,
    },
    /// Rename an organization
    Rename { org_id: String, name: String },
    /// Delete an organization and everything it owns (contacts, audiences,
    /// memberships, call records, imports, keys), in one transaction
    Delete {
        org_id: String,
        /// Required: the deletion cannot be undone (restore a backup)
        #[arg(long, required = true)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a new API key for an organization
    Create {
        org_id: String,
        /// The key may only read (GET and HEAD); anything else is 403
        #[arg(long)]
        read_only: bool,
        /// The key is refused after DAYS x 24 hours
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
        expires_in: Option<u32>,
        /// A label for the key, shown by `key list`
        #[arg(long, value_name = "TEXT")]
        name: Option<String>,
    },
    /// List an organization's keys (never the keys themselves)
    List { org_id: String },
    /// Revoke a key, given its id or the key itself
    Revoke { key_id_or_key: String },
}

/// Runs the command line; the process exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = config::check_file().and_then(|()| {
        let figment = app::figment();
        let settings = Settings::load(&figment)?;
        let path = settings.database_path(cli.database);
        let open = |path: &Path| open(path, &settings);
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(figment, &settings, &path, cli.log_format.into()),
            Command::Org(command) => open(&path).and_then(|db| run_org(&db, command)),
            Command::Dnc(DncCommand::Import { file, org_id }) => {
                open(&path).and_then(|db| dnc::import(&db, &file, &org_id))
            }
            Command::Key(command) => open(&path).and_then(|db| run_key(&db, command)),
            Command::Backup { dest } => open(&path).and_then(|db| backup(&db, &path, &dest)),
            Command::Restore { src } => restore(&src, &path),
            Command::Check { path: file } => {
                let target = file.unwrap_or_else(|| path.clone());
                verify(&target)
                    .and_then(|()| open(&target))
                    .and_then(|db| check(&db))
            }
            Command::Import {
                file,
                org_id,
                audience_id,
                metadata_mode,
            } => {
                let mode = match metadata_mode {
                    MetadataModeArg::Replace => crate::import::MetadataMode::Replace,
                    MetadataModeArg::Merge => crate::import::MetadataMode::Merge,
                };
                open(&path).and_then(|db| transfer::import(&db, &file, &org_id, audience_id, mode))
            }
            Command::Export {
                org_id,
                format,
                output,
            } => {
                let format = match format {
                    ExportFormatArg::Csv => crate::listing::ExportFormat::Csv,
                    ExportFormatArg::Ndjson => crate::listing::ExportFormat::Ndjson,
                };
                open(&path).and_then(|db| transfer::export(&db, &org_id, format, output.as_deref()))
            }
            Command::Changes {
                org_id,
                since,
                types,
                follow,
            } => open(&path)
                .and_then(|db| changes::print(&db, &org_id, since, types.as_deref(), follow)),
            Command::Openapi => {
                write_line(&crate::api::openapi::document());
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("contactsd: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the database with the operator's settings (`wal_autocheckpoint`).
fn open(path: &Path, settings: &Settings) -> Result<Db, String> {
    Db::open_with(path, settings.db_options()).map_err(|e| match e {
        db::Error::Open { path, reason } => {
            format!("cannot open database {}: {reason}", path.display())
        }
        other => format!("cannot open database {}: {other}", path.display()),
    })
}

/// Serves until SIGTERM or SIGINT: in-flight requests get Rocket's grace
/// period, then the WAL is checkpointed into the database file.
fn serve(
    figment: rocket::figment::Figment,
    settings: &Settings,
    path: &Path,
    log_format: crate::logging::LogFormat,
) -> Result<(), String> {
    crate::logging::init(settings.log_level, log_format);
    let db = open(path, settings)?;
    let _lock = serving_lock(path)?;
    println!("contactsd: database {}", path.display());
    raise_open_file_limit();
    let rocket = app::build(figment, db.clone())?.attach(rocket::fairing::AdHoc::on_liftoff(
        "first start",
        |rocket| Box::pin(announce(rocket)),
    ));
    let served = rocket::execute(rocket.launch());
    crate::logging::flush();
    served.map_err(|e| format!("server failed: {e}"))?;
    match db.checkpoint() {
        Ok(true) => println!("contactsd: stopped; database checkpointed"),
        Ok(false) => println!("contactsd: stopped; checkpoints are left to another process"),
        Err(e) => eprintln!("contactsd: stopped; checkpoint failed: {e}"),
    }
    Ok(())
}

/// Once the server listens: the address, and on a database with no
/// organization, the new `default` organization and its key (shown once).
/// Nothing is created when the server could not start.
async fn announce(rocket: &rocket::Rocket<rocket::Orbit>) {
    let config = rocket.config();
    let scheme = if config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{}:{}", config.address, config.port);
    if let Some(db) = rocket.state::<Db>().cloned() {
        // SQLite runs on the blocking pool, never on the async workers.
        let created = rocket::tokio::task::spawn_blocking(move || db.create_default_org_if_none())
            .await
            .unwrap_or_else(|e| Err(db::Error::Task(e.to_string())));
        announce_default_org(created, &base);
    }
    if let Some(served) = rocket.state::<contactsd_server::metrics::Served>() {
        let at = served.apart.map_or(base.clone(), |a| format!("http://{a}"));
        println!("contactsd: metrics on {at}/metrics");
    }
    println!("contactsd: listening on {base}");
}

/// Prints the organization and key made on first start, if any.
fn announce_default_org(created: db::Result<Option<(db::orgs::Org, keys::IssuedKey)>>, base: &str) {
    match created {
        Ok(Some((org, key))) => {
            println!(
                "contactsd: created organization \"{}\" ({}) on first start",
                org.name, org.id
            );
            println!("contactsd: its API key, shown only this once: {}", key.key);
            println!(
                "contactsd: try: curl -H 'x-api-key: {}' {base}/v1/contacts",
                key.key
            );
        }
        Ok(None) => {}
        Err(e) => eprintln!("contactsd: could not create the default organization: {e}"),
    }
}

/// Raises the soft open-file limit to the hard one, as Go programs do: a
/// service manager's default soft limit (1,024) is a few hundred clients.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => println!("contactsd: open-file limit {limit}"),
        Err(e) => eprintln!("contactsd: open-file limit not raised: {e}"),
    }
}

/// The lock `serve` holds on its database file for as long as it runs
/// (an advisory `flock`, apart from SQLite's own locks): a second server,
/// or a restore, on the same file is refused while it is held.
fn serving_lock(path: &Path) -> Result<Option<std::fs::File>, String> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "a contactsd server is using {}; stop it first",
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

fn backup(db: &Db, path: &Path, dest: &Path) -> Result<(), String> {
    if dest.canonicalize().ok() == path.canonicalize().ok() && dest.exists() {
        return Err(String::from("the backup cannot be the database itself"));
    }
    let copied = db
        .backup_to(dest)
        .map_err(|e| format!("backup failed: {e}"))?;
    print_line(&json!({"path": dest, "bytes": copied.bytes, "contacts": copied.contacts}));
    Ok(())
}

fn check(db: &Db) -> Result<(), String> {
    let checked = db.check().map_err(|e| format!("check failed: {e}"))?;
    print_line(&json!({
        "integrityCheck": checked.integrity,
        "searchIndex": checked.search_index,
        "contacts": checked.contacts,
    }));
    if checked.integrity == "ok" && checked.search_index == "ok" {
        Ok(())
    } else {
        Err(String::from("the database is damaged"))
    }
}

/// Refuses, before anything opens it for writing, a file that is missing or
/// is not a contactsd database of this version or older.
fn verify(path: &Path) -> Result<(), String> {
    if !path.is_file() {
        return Err(format!("no database file at {}", path.display()));
    }
    db::backup::verify_file(path)
        .map(|_| ())
        .map_err(|e| format!("check failed: {e}"))
}

fn restore(src: &Path, path: &Path) -> Result<(), String> {
    let _lock = serving_lock(path)?;
    let copied = db::backup::restore(src, path).map_err(|e| format!("restore failed: {e}"))?;
    print_line(&json!({"path": path, "bytes": copied.bytes, "contacts": copied.contacts}));
    Ok(())
}

fn run_org(db: &Db, command: OrgCommand) -> Result<(), String> {
    match command {
        OrgCommand::Create { name } => {
            let name =
                Name::parse(&name).ok_or("the organization name must be 1 to 200 characters")?;
            let (org, key) = db.create_org(name.as_str()).map_err(|e| e.to_string())?;
            print_line(&json!({ "id": org.id, "name": org.name, "apiKey": key.key }));
        }
        OrgCommand::Rename { org_id, name } => {
            let name =
                Name::parse(&name).ok_or("the organization name must be 1 to 200 characters")?;
            let org = db
                .rename_org(&org_id, name.as_str())
                .map_err(|e| not_found_as(e, &org_id))?;
            print_line(&json!({
                "id": org.id,
                "name": org.name,
                "createdAt": clock::format_ms(org.created_at),
            }));
        }
        OrgCommand::Delete { org_id, yes: _ } => {
            let removed = db
                .delete_org(&org_id)
                .map_err(|e| not_found_as(e, &org_id))?;
            print_line(&json!({
                "id": org_id,
                "deleted": {
                    "contacts": removed.contacts,
                    "audiences": removed.audiences,
                    "memberships": removed.memberships,
                    "calls": removed.calls,
                    "imports": removed.imports,
                    "keys": removed.keys,
                    "webhooks": removed.webhooks,
                    "doNotCall": removed.do_not_call,
                },
            }));
        }
        OrgCommand::WebhookSecret { org_id, rotate } => {
            let secret = if rotate {
                db.rotate_webhook_secret(&org_id)
            } else {
                db.webhook_secret(&org_id)
            }
            .map_err(|e| not_found_as(e, &org_id))?;
            print_line(&json!({ "webhookSecret": secret }));
        }
        OrgCommand::List => {
            for org in db.list_orgs().map_err(|e| e.to_string())? {
                print_line(&json!({
                    "id": org.id,
                    "name": org.name,
                    "createdAt": clock::format_ms(org.created_at),
                }));
            }
        }
    }
    Ok(())
}

fn run_key(db: &Db, command: KeyCommand) -> Result<(), String> {
    match command {
        KeyCommand::Create {
            org_id,
            read_only,
            expires_in,
            name,
        } => {
            let options = keys::KeyOptions {
                name,
                read_only,
                expires_in_days: expires_in,
            };
            let key = db
                .issue_key_with(&org_id, &options)
                .map_err(|e| not_found_as(e, &org_id))?;
            print_line(&json!({
                "id": key.id,
                "apiKey": key.key,
                "name": key.name,
                "readOnly": key.read_only,
                "expiresAt": key.expires_at.map(clock::format_ms),
            }));
        }
        KeyCommand::List { org_id } => {
            for key in db
                .list_keys(&org_id)
                .map_err(|e| not_found_as(e, &org_id))?
            {
                print_line(&key_json(&key));
            }
        }
        KeyCommand::Revoke { key_id_or_key } => {
            let key = db.revoke_key(&key_id_or_key).map_err(|e| match e {
                db::Error::NotFound(_) => String::from("no such API key"),
                other => other.to_string(),
            })?;
            print_line(&key_json(&key));
        }
    }
    Ok(())
}

pub(crate) fn not_found_as(error: db::Error, org_id: &str) -> String {
    match error {
        db::Error::NotFound(_) => format!("no organization with id {org_id}"),
        other => other.to_string(),
    }
}

fn key_json(key: &keys::KeyInfo) -> Value {
    json!({
        "id": key.id,
        "prefix": key.prefix,
        "createdAt": clock::format_ms(key.created_at),
        "lastUsedAt": key.last_used_at.map(clock::format_ms),
        "revokedAt": key.revoked_at.map(clock::format_ms),
        "name": key.name,
        "readOnly": key.read_only,
        "expiresAt": key.expires_at.map(clock::format_ms),
    })
}

pub(crate) fn print_line(value: &Value) {
    write_line(&value.to_string());
}

/// Writes `line` to standard output. A reader that stopped early closed
/// the pipe (`contactsd org list | head -1`): the command ends quietly
/// then, as other command-line tools do, instead of panicking.
pub(crate) fn write_line(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("contactsd: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}
