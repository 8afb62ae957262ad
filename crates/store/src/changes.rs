//! The changes feed: an organization's objects in change-number order,
//! deletions included (migration 10 says how the numbers are kept).
//!
//! A page walks each kind's `(org_seq, change_seq)` index from `since` on,
//! takes at most `limit + 1` of each, and merges them by number: every
//! read is an index range, whatever the organization's size.

use rusqlite::{params, Connection};

use super::audiences::{self, Audience};
use super::calls::{self, Call};
use super::contacts::{self, Contact};
use super::{Error, Result, Tenant};
use contactsd_domain::changes::{ChangeType, TypeSet};
use contactsd_domain::clock;

/// What a change carries: the object as it is now, or that it is gone.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Contact(Contact),
    Audience(Audience),
    Membership {
        audience_id: String,
        contact_id: String,
    },
    Call(Call),
    Deleted,
}

/// One object's latest change.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub kind: ChangeType,
    /// The object's public id (a membership's: `audienceId:contactId`).
    pub id: String,
    pub object: Object,
}

/// A page of the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// The last change's number, or `since` when there is none.
    pub last_seq: i64,
    /// Whether changes after `last_seq` exist (of the kinds asked for).
    pub has_more: bool,
    /// The organization's latest change number, of any kind.
    pub latest: i64,
}

/// The organization's latest change number and the highest pruned one.
pub(crate) fn positions(conn: &Connection, tenant: &Tenant) -> Result<(i64, i64)> {
    Ok(conn
        .prepare_cached("SELECT change_seq, changes_pruned_seq FROM organizations WHERE seq = ?1")?
        .query_row([tenant.org_seq], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Refuses a `since` the feed cannot continue from: beyond the latest
/// number (the database is older than what the consumer saw), or before
/// the last pruned tombstone (a deletion may be gone). `0` always works.
pub(crate) fn check_since(conn: &Connection, tenant: &Tenant, since: i64) -> Result<i64> {
    let (latest, pruned) = positions(conn, tenant)?;
    if since > latest || (since > 0 && since < pruned) {
        return Err(Error::ChangesExpired {
            since,
            latest,
            pruned,
        });
    }
    Ok(latest)
}

/// At most `limit` changes after `since` of the kinds in `types`, oldest
/// first, read in the caller's one transaction.
pub(crate) fn page(
    conn: &Connection,
    tenant: &Tenant,
    since: i64,
    limit: i64,
    types: TypeSet,
) -> Result<ChangePage> {
    let latest = check_since(conn, tenant, since)?;
    let take = limit.saturating_add(1);
    let mut changes = Vec::new();
    // Each kind: its index range from `since`, at most `take` rows.
    let mut range =
        |sql: &str, row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Change>| -> Result<()> {
            let mut stmt = conn.prepare_cached(sql)?;
            for change in stmt.query_map(params![tenant.org_seq, since, take], row)? {
                changes.push(change?);
            }
            Ok(())
        };
    if types.has(ChangeType::Contact) {
        range(
            &format!(
                "SELECT {}, c.change_seq FROM contacts c
                 WHERE c.org_seq = ?1 AND c.change_seq > ?2 ORDER BY c.change_seq LIMIT ?3",
                contacts::COLUMNS
            ),
            |r| {
                let contact = contacts::from_row(r)?;
                Ok(Change {
                    seq: r.get(8)?,
                    kind: ChangeType::Contact,
                    id: contact.id.clone(),
                    object: Object::Contact(contact),
                })
            },
        )?;
    }
    if types.has(ChangeType::Audience) {
        range(
            &format!(
                "SELECT {}, change_seq FROM audiences
                 WHERE org_seq = ?1 AND change_seq > ?2 ORDER BY change_seq LIMIT ?3",
                audiences::COLUMNS
            ),
            |r| {
                let audience = audiences::from_row(r)?;
                Ok(Change {
                    seq: r.get(7)?,
                    kind: ChangeType::Audience,
                    id: audience.id.clone(),
                    object: Object::Audience(audience),
                })
            },
        )?;
    }
    if types.has(ChangeType::Membership) {
        range(
            "SELECT m.change_seq, a.id, c.id FROM audience_members m
             JOIN audiences a ON a.seq = m.audience_seq
             JOIN contacts c ON c.seq = m.contact_seq
             WHERE m.org_seq = ?1 AND m.change_seq > ?2 ORDER BY m.change_seq LIMIT ?3",
            |r| {
                let (audience_id, contact_id): (String, String) = (r.get(1)?, r.get(2)?);
                Ok(Change {
                    seq: r.get(0)?,
                    kind: ChangeType::Membership,
                    id: format!("{audience_id}:{contact_id}"),
                    object: Object::Membership {
                        audience_id,
                        contact_id,
                    },
                })
            },
        )?;
    }
    if types.has(ChangeType::Call) {
        range(
            &format!(
                "SELECT {}, change_seq FROM calls
                 WHERE org_seq = ?1 AND change_seq > ?2 ORDER BY change_seq LIMIT ?3",
                calls::COLUMNS
            ),
            |r| {
                let call = calls::from_row(r)?;
                Ok(Change {
                    seq: r.get(10)?,
                    kind: ChangeType::Call,
                    id: call.id.clone(),
                    object: Object::Call(call),
                })
            },
        )?;
    }
    {
        let mut stmt = conn.prepare_cached(
            "SELECT change_seq, type, object_id FROM change_tombstones
             WHERE org_seq = ?1 AND change_seq > ?2 ORDER BY change_seq",
        )?;
        let mut rows = stmt.query(params![tenant.org_seq, since])?;
        let mut kept = 0;
        while kept < take {
            let Some(row) = rows.next()? else { break };
            let kind: String = row.get(1)?;
            let Some(kind) = ChangeType::from_word(&kind).filter(|k| types.has(*k)) else {
                continue;
            };
            changes.push(Change {
                seq: row.get(0)?,
                kind,
                id: row.get(2)?,
                object: Object::Deleted,
            });
            kept += 1;
        }
    }
    changes.sort_unstable_by_key(|c| c.seq);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = changes.len() > limit;
    changes.truncate(limit);
    let last_seq = changes.last().map_or(since, |c| c.seq);
    Ok(ChangePage {
        changes,
        last_seq,
        has_more,
        latest,
    })
}

/// Deletes tombstones older than `cutoff` (milliseconds), at most `batch`
/// of them, moving each organization's `changes_pruned_seq` up to the
/// highest number pruned. How many went.
pub(crate) fn prune(conn: &Connection, cutoff: i64, batch: i64) -> Result<usize> {
    let pruned = conn
        .prepare_cached(
            "SELECT org_seq, max(change_seq) FROM (
                 SELECT org_seq, change_seq FROM change_tombstones
                 WHERE deleted_at < ?1 ORDER BY deleted_at LIMIT ?2)
             GROUP BY org_seq",
        )?
        .query_map(params![cutoff, batch], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut gone = 0;
    for (org_seq, through) in pruned {
        gone += conn
            .prepare_cached(
                "DELETE FROM change_tombstones WHERE org_seq = ?1 AND change_seq <= ?2",
            )?
            .execute(params![org_seq, through])?;
        conn.prepare_cached(
            "UPDATE organizations SET changes_pruned_seq = max(changes_pruned_seq, ?2)
             WHERE seq = ?1",
        )?
        .execute(params![org_seq, through])?;
    }
    Ok(gone)
}

/// Milliseconds in `days` days, for the retention cutoff.
pub fn retention_cutoff(days: u32) -> i64 {
    clock::now_ms() - i64::from(days) * 86_400_000
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// A database at migration 9 with two organizations' rows, migrated.
    fn migrated_from_9() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::register_search_functions(&conn).unwrap();
        crate::migrations().to_version(&mut conn, 9).unwrap();
        conn.execute_batch(
            "INSERT INTO organizations (seq, id, name, created_at) VALUES (1, 'org_a', 'A', 0), (2, 'org_b', 'B', 0);
             INSERT INTO contacts (seq, id, org_seq, name, name_key, initials, phone, created_at, updated_at)
             VALUES (1, 'ct_1', 1, 'a', 'a', '', '+1', 0, 0), (2, 'ct_2', 2, 'b', 'b', '', '+2', 0, 0),
                    (3, 'ct_3', 1, 'c', 'c', '', '+3', 0, 0);
             INSERT INTO audiences (seq, id, org_seq, name, name_key, created_at, updated_at)
             VALUES (1, 'aud_1', 1, 'x', 'x', 0, 0);
             INSERT INTO audience_members (audience_seq, contact_seq, added_at) VALUES (1, 1, 0), (1, 3, 0);
             INSERT INTO calls (seq, id, org_seq, contact_id, contact_name, phone, status, direction, started_at, created_at)
             VALUES (1, 'call_1', 2, 'ct_2', 'b', '+2', 'completed', 'outbound', 0, 0);",
        )
        .unwrap();
        crate::migrations().to_latest(&mut conn).unwrap();
        conn
    }

    #[test]
    fn migration_numbers_what_exists_once_per_organization() {
        let conn = migrated_from_9();
        let numbers = |sql: &str| -> Vec<(String, i64)> {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(
            numbers("SELECT id, change_seq FROM contacts ORDER BY seq"),
            [("ct_1".into(), 1), ("ct_2".into(), 1), ("ct_3".into(), 2)]
        );
        assert_eq!(
            numbers("SELECT id, change_seq FROM audiences"),
            [("aud_1".into(), 3)]
        );
        assert_eq!(
            numbers("SELECT CAST(contact_seq AS TEXT), change_seq FROM audience_members ORDER BY contact_seq"),
            [("1".into(), 4), ("3".into(), 5)]
        );
        assert_eq!(
            numbers("SELECT id, change_seq FROM calls"),
            [("call_1".into(), 2)]
        );
        assert_eq!(
            numbers("SELECT id, change_seq FROM organizations ORDER BY seq"),
            [("org_a".into(), 5), ("org_b".into(), 2)]
        );
        let orgs: Vec<(String, i64)> = numbers(
            "SELECT CAST(org_seq AS TEXT), count(*) FROM audience_members GROUP BY org_seq",
        );
        assert_eq!(orgs, [("1".into(), 2)]);
    }

    #[test]
    fn pruning_moves_the_pruned_position_and_keeps_newer_tombstones() {
        let conn = migrated_from_9();
        conn.execute_batch(
            "DELETE FROM audience_members WHERE contact_seq = 3; DELETE FROM contacts WHERE seq = 3;",
        )
        .unwrap();
        // The membership's tombstone (6) and the contact's (7).
        conn.execute(
            "UPDATE change_tombstones SET deleted_at = 10 WHERE change_seq = 6",
            [],
        )
        .unwrap();
        assert_eq!(super::prune(&conn, 100, 1000).unwrap(), 1);
        let (latest, pruned): (i64, i64) = conn
            .query_row(
                "SELECT change_seq, changes_pruned_seq FROM organizations WHERE seq = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((latest, pruned), (7, 6));
        let left: Vec<i64> = conn
            .prepare("SELECT change_seq FROM change_tombstones")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, [7]);
    }
}
