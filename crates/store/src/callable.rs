//! Who may be called when: a contact's callability, and the zone sets a
//! `callable` listing keeps (migration 14).
//!
//! Each contact row carries its number's zone set and whether the number
//! is on the do-not-call list. A listing asks the organization's few
//! zone sets (from `callable_counts`, not from the rows) which are inside
//! the calling hours at T, then filters rows by those set numbers, an
//! integer comparison per row; the counts give the exact total too.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{dnc, Result, Tenant};
use contactsd_domain::hours::CallingHours;
use contactsd_domain::zones::{self, ZoneSet};
use contactsd_domain::PhoneNumber;

/// A contact's callability at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callability {
    pub listed: bool,
    pub inside_hours: bool,
    pub zones: ZoneSet,
    /// The first moment at or after the asked one inside the hours
    /// (milliseconds), when not listed and within seven days.
    pub next_callable_at: Option<i64>,
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Whether `phone` is on the tenant's do-not-call list.
pub(crate) fn listed(conn: &Connection, tenant: &Tenant, phone: &PhoneNumber) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM do_not_call WHERE org_seq = ?1 AND phone = ?2")?
        .query_row(params![tenant.org_seq, phone.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The callability of the contact with public id `id` at `at`.
pub(crate) fn of_contact(
    conn: &Connection,
    tenant: &Tenant,
    id: &str,
    at: i64,
) -> Result<Callability> {
    let contact = super::contacts::get(conn, tenant, id)?;
    let hours = dnc::calling_hours(conn, tenant)?;
    let listed = listed(conn, tenant, &contact.phone)?;
    let zones = contact.phone.zones();
    let at = timestamp(at);
    let next = (!listed)
        .then(|| hours.next_inside(zones, at))
        .flatten()
        .map(Timestamp::as_millisecond);
    Ok(Callability {
        listed,
        inside_hours: hours.inside(zones, at),
        zones,
        next_callable_at: next,
    })
}

/// The zone sets inside the calling hours at one moment, for one
/// organization.
pub(crate) struct InsideSets {
    /// The set numbers (every set the map has that is inside, so that the
    /// answer holds whatever the counts say).
    pub sets: Vec<i64>,
    /// How many unlisted contacts those sets hold, when the kept counts
    /// add up to the organization's contacts (else `None`: count rows).
    pub callable: Option<i64>,
    /// The organization's contacts.
    pub all: i64,
}

/// The zone sets inside the calling hours of the tenant at `at`
/// (milliseconds), and how many of its unlisted contacts they hold.
pub(crate) fn inside_sets(conn: &Connection, tenant: &Tenant, at: i64) -> Result<InsideSets> {
    let hours: CallingHours = dnc::calling_hours(conn, tenant)?;
    let at = timestamp(at);
    let sets: Vec<i64> = ZoneSet::all()
        .filter(|&zones| hours.inside(zones, at))
        .map(ZoneSet::number)
        .collect();
    let all: i64 = conn
        .prepare_cached("SELECT contact_count FROM organizations WHERE seq = ?1")?
        .query_row([tenant.org_seq], |r| r.get(0))?;
    let (mut counted, mut callable) = (0, 0);
    let mut stmt = conn.prepare_cached(
        "SELECT zone_set, dnc_listed, contacts FROM callable_counts WHERE org_seq = ?1",
    )?;
    let mut rows = stmt.query([tenant.org_seq])?;
    while let Some(row) = rows.next()? {
        let (number, listed, contacts): (i64, bool, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        counted += contacts;
        if !listed && sets.binary_search(&number).is_ok() {
            callable += contacts;
        }
    }
    Ok(InsideSets {
        sets,
        callable: (counted == all).then_some(callable),
        all,
    })
}

/// Counts again the contacts of every organization whose kept counts do
/// not add up to its contacts (a writer that bypassed `NewRows::finish`).
pub(crate) fn repair_counts(conn: &mut Connection) -> Result<()> {
    let stale = "SELECT o.seq FROM organizations o
                 WHERE o.contact_count != (SELECT coalesce(sum(contacts), 0)
                                           FROM callable_counts WHERE org_seq = o.seq)";
    let any: bool = conn.query_row(&format!("SELECT EXISTS ({stale})"), [], |r| r.get(0))?;
    if !any {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(&format!(
        "CREATE TEMP TABLE stale_counts AS {stale};
         DELETE FROM callable_counts WHERE org_seq IN (SELECT seq FROM stale_counts);
         INSERT INTO callable_counts (org_seq, zone_set, dnc_listed, contacts)
         SELECT org_seq, zone_set, dnc_listed, count(*) FROM contacts
         WHERE org_seq IN (SELECT seq FROM stale_counts) GROUP BY 1, 2, 3;
         DROP TABLE stale_counts;"
    ))?;
    tx.commit()?;
    Ok(())
}

/// Gives every contact the zone set of its number under this build's map,
/// once per version of the map (a new database, the first start after
/// migration 14, or a newer map): rows hold set numbers of one version.
pub(crate) fn renumber_zone_sets(conn: &mut Connection) -> Result<()> {
    let current = |conn: &Connection| -> rusqlite::Result<bool> {
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'zone_data'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stored.as_deref() == Some(zones::SOURCE))
    };
    if current(conn)? {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have done it while this one waited.
    if current(&tx)? {
        return Ok(());
    }
    {
        let rows: Vec<(i64, String, i64)> = tx
            .prepare("SELECT seq, phone, zone_set FROM contacts")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut update = tx.prepare("UPDATE contacts SET zone_set = ?2 WHERE seq = ?1")?;
        for (seq, zones) in zone_sets_of(&rows) {
            update.execute(params![seq, zones])?;
        }
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('zone_data', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [zones::SOURCE],
    )?;
    tx.commit()?;
    Ok(())
}

/// The rows whose stored zone set differs from their number's, with the
/// number's: every number is parsed again, on every core (parsing is the
/// work: a million numbers take seconds on one).
fn zone_sets_of(rows: &[(i64, String, i64)]) -> Vec<(i64, i64)> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let part = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(part)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|(seq, phone, stored)| {
                            let zones = PhoneNumber::from_stored(phone.clone()).zones().number();
                            (zones != *stored).then_some((*seq, zones))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use crate::{contacts, Db, Tenant};
    use contactsd_domain::{Metadata, Name, NewContact, PhoneNumber};

    /// (zone set, listed, contacts) rows.
    type Counts = Vec<(i64, i64, i64)>;

    /// The kept counts, and the counts of the rows themselves.
    fn counts(db: &Db) -> (Counts, Counts) {
        let conn = db.pool.get().unwrap();
        let read = |sql: &str| -> Counts {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        (
            read(
                "SELECT zone_set, dnc_listed, contacts FROM callable_counts
                 WHERE contacts > 0 ORDER BY 1, 2",
            ),
            read("SELECT zone_set, dnc_listed, count(*) FROM contacts GROUP BY 1, 2 ORDER BY 1, 2"),
        )
    }

    #[test]
    fn zone_sets_are_renumbered_when_the_map_version_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zones.db");
        let db = Db::open(&path).unwrap();
        let (org, _) = db.create_org("Acme").unwrap();
        let tenant = Tenant::of_org(&org);
        db.write_now(|tx| {
            for phone in ["+919876543210", "+447911123456", "+12125550123"] {
                contacts::insert(
                    tx,
                    &tenant,
                    NewContact {
                        name: Name::parse("A").unwrap(),
                        phone: PhoneNumber::parse(phone).unwrap(),
                        language: None,
                        metadata: Metadata::from_json("metadata", &serde_json::json!({})).unwrap(),
                    },
                )?;
            }
            crate::dnc::add(
                tx,
                &tenant,
                &[PhoneNumber::parse("+12125550123").unwrap()],
                None,
                None,
            )?;
            Ok(())
        })
        .unwrap();
        let before = counts(&db);
        assert_eq!(before.0, before.1);
        assert_eq!(before.0.len(), 3);
        assert!(before.0.iter().all(|&(set, _, _)| set > 0));

        // A database from before migration 14, or from an older map.
        {
            let conn = db.pool.get().unwrap();
            conn.execute_batch(
                "UPDATE contacts SET zone_set = 0; DELETE FROM settings WHERE key = 'zone_data';",
            )
            .unwrap();
        }
        drop(db);
        let db = Db::open(&path).unwrap();
        let after = counts(&db);
        assert_eq!(after, before);

        // Counts that do not add up are not used, and the next start
        // counts again.
        {
            let conn = db.pool.get().unwrap();
            conn.execute("DELETE FROM callable_counts WHERE zone_set > 0", [])
                .unwrap();
            let found = super::inside_sets(&conn, &tenant, 0).unwrap();
            assert_eq!(found.callable, None);
            assert_eq!(found.all, 3);
        }
        drop(db);
        let db = Db::open(&path).unwrap();
        assert_eq!(counts(&db), before);
        let conn = db.pool.get().unwrap();
        let found = super::inside_sets(&conn, &tenant, 0).unwrap();
        assert!(found.callable.is_some());
    }
}
