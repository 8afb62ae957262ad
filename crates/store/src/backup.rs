//! Backups: a consistent copy of the live database, and putting one back.
//!
//! Both use SQLite's online backup API, copying every page in one step
//! inside one read transaction: the copy is one snapshot of the database,
//! taken while the server keeps serving (a writer is not blocked; the copy
//! holds the writes committed before it began).

use std::path::Path;

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use super::{create_private_file, Db, Error, Result, SCHEMA_VERSION};

/// What a backup or restore wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub bytes: u64,
    pub contacts: i64,
}

/// Copies every page of `source` into `dest` in one step.
fn copy(source: &Connection, dest: &mut Connection) -> Result<()> {
    let backup = Backup::new(source, dest)?;
    backup.step(-1)?;
    Ok(())
}

/// Tables the first migration makes that no later one drops: a contactsd
/// database of any version has them all (the search index was rebuilt
/// under a new name by migration 17).
const TABLES: [&str; 7] = [
    "settings",
    "organizations",
    "api_keys",
    "contacts",
    "audiences",
    "audience_members",
    "calls",
];

/// Checks that `conn` holds an intact contactsd database of this version
/// or older (which opening it migrates): its contacts.
fn check(conn: &Connection, what: &Path) -> Result<i64> {
    let refuse = |reason: String| Error::Open {
        path: what.to_path_buf(),
        reason,
    };
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        return Err(refuse(format!("integrity check failed: {integrity}")));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 1 {
        return Err(refuse(String::from(
            "not a contactsd database (no schema version)",
        )));
    }
    if usize::try_from(version).map_or(true, |v| v > SCHEMA_VERSION) {
        return Err(refuse(format!(
            "made by a newer contactsd (schema version {version}; this one reads up to \
             {SCHEMA_VERSION})"
        )));
    }
    for table in TABLES {
        let found: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        if found == 0 {
            return Err(refuse(format!(
                "not a contactsd database (no {table} table)"
            )));
        }
    }
    conn.query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .map_err(|_| refuse(String::from("not a contactsd database")))
}

/// What `contactsd check` found.
#[derive(Debug)]
pub struct Checked {
    /// `ok`, or what `PRAGMA integrity_check` reported.
    pub integrity: String,
    /// `ok`, or what FTS5's `integrity-check` of the search index reported.
    pub search_index: String,
    pub contacts: i64,
}

impl Db {
    /// Checks the whole file (`PRAGMA integrity_check`) and the search
    /// index's structure (FTS5's own `integrity-check`): for a restored
    /// or copied database before it is served.
    pub fn check(&self) -> Result<Checked> {
        let conn = self.pool.get()?;
        let integrity = conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .join("; ");
        let search_index = match conn.execute(
            "INSERT INTO contacts_search (contacts_search, rank) VALUES ('integrity-check', 0)",
            [],
        ) {
            Ok(_) => String::from("ok"),
            Err(e) => e.to_string(),
        };
        let contacts = conn.query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))?;
        Ok(Checked {
            integrity,
            search_index,
            contacts,
        })
    }

    /// Copies the live database to `dest` (created 0600; written under a
    /// temporary name of its own beside it, then renamed, so `dest` is
    /// never half a backup and no other file is touched).
    pub fn backup_to(&self, dest: &Path) -> Result<Copied> {
        let open_error = |e: &dyn std::fmt::Display| Error::Open {
            path: dest.to_path_buf(),
            reason: e.to_string(),
        };
        // `backup backups/2026-12-05.db` on a first run: the directory is
        // made, readable by its owner alone, like the copy.
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| open_error(&e))?;
        }
        let partial = new_partial_file(dest).map_err(|e| open_error(&e))?;
        let result = (|| {
            let mut target = Connection::open(&partial)?;
            copy(&*self.pool.get()?, &mut target)?;
            let contacts = check(&target, dest)?;
            // A single-file copy: the WAL folded in, journal mode DELETE.
            target.pragma_update(None, "journal_mode", "DELETE")?;
            drop(target);
            Ok(contacts)
        })();
        let contacts = match result {
            Ok(contacts) => contacts,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, dest).map_err(|e| open_error(&e))?;
        let bytes = std::fs::metadata(dest).map_err(|e| open_error(&e))?.len();
        Ok(Copied { bytes, contacts })
    }
}

/// Creates (0600, never over an existing file) a temporary file beside
/// `dest` for a file in progress: `.NAME.RANDOM.partial`. Renamed over
/// `dest` when done, it replaces a link there instead of following it.
pub fn new_partial_file(dest: &Path) -> std::io::Result<std::path::PathBuf> {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty());
    let name = dest.file_name().map_or_else(
        || String::from("backup"),
        |n| n.to_string_lossy().into_owned(),
    );
    loop {
        let file = format!(".{name}.{}.partial", contactsd_domain::ids::random_token(8));
        let path = dir.map_or_else(|| Path::new(&file).to_path_buf(), |d| d.join(&file));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// The file at `path`, opened for reading only.
fn open_read_only(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| Error::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Checks, read-only, that the file at `path` is an intact contactsd
/// database of this version or older: its contacts.
pub fn verify_file(path: &Path) -> Result<i64> {
    let conn = open_read_only(path)?;
    check(&conn, path).map_err(|e| match e {
        Error::Sqlite(e) => Error::Open {
            path: path.to_path_buf(),
            reason: format!("not a contactsd database ({e})"),
        },
        other => other,
    })
}

/// Puts the backup `source` in place of the database at `dest` (which no
/// server may be using: the caller checks), after checking the backup is an
/// intact contactsd database.
pub fn restore(source: &Path, dest: &Path) -> Result<Copied> {
    let backup = open_read_only(source)?;
    let contacts = check(&backup, source)?;
    create_private_file(dest).map_err(|e| Error::Open {
        path: dest.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut target = Connection::open(dest)?;
    copy(&backup, &mut target)?;
    target.pragma_update(None, "journal_mode", "WAL")?;
    target.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(target);
    let bytes = std::fs::metadata(dest).map_or(0, |m| m.len());
    Ok(Copied { bytes, contacts })
}
