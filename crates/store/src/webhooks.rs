//! Webhook subscriptions to the changes feed: the rows an organization
//! manages through `/v1/webhooks`, and the delivery state the server's
//! worker keeps in them (migration 11).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{changes, Error, Result, Tenant};
use contactsd_domain::changes::TypeSet;
use contactsd_domain::clock;
use contactsd_domain::ids::{self, Kind};
use contactsd_domain::webhook::{WebhookFields, WebhookStatus};

/// A subscription, as its organization sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub types: TypeSet,
    pub description: Option<String>,
    pub status: WebhookStatus,
    /// The last change the receiver acknowledged.
    pub last_seq: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// After 24 hours of nothing but failures a subscription is `disabled`.
pub const DISABLE_AFTER_MS: i64 = 24 * 3_600_000;

const COLUMNS: &str = "id, url, types, description, status, last_seq, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let types: String = row.get(2)?;
    Ok(Webhook {
        id: row.get(0)?,
        url: row.get(1)?,
        types: TypeSet::parse("types", types.split(',')).unwrap_or(TypeSet::ALL),
        description: row.get(3)?,
        status: WebhookStatus::from_stored(&row.get::<_, String>(4)?),
        last_seq: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

fn stored_types(types: TypeSet) -> String {
    types.words().join(",")
}

/// Creates a subscription that starts at the organization's current change
/// number; the secret is returned here only.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    url: String,
    fields: WebhookFields,
) -> Result<(Webhook, String)> {
    let (now, id) = super::next_created(tx, "webhooks", Kind::Webhook, tenant)?;
    let (latest, _) = changes::positions(tx, tenant)?;
    let secret = ids::new_webhook_secret();
    let webhook = Webhook {
        id,
        url,
        types: fields.types.unwrap_or(TypeSet::ALL),
        description: fields.description.flatten(),
        status: WebhookStatus::Active,
        last_seq: latest,
        created_at: now,
        updated_at: now,
    };
    tx.execute(
        "INSERT INTO webhooks (id, org_seq, url, types, description, status, secret, last_seq,
                               created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8)",
        params![
            webhook.id,
            tenant.org_seq,
            webhook.url,
            stored_types(webhook.types),
            webhook.description,
            secret,
            webhook.last_seq,
            now
        ],
    )?;
    Ok((webhook, secret))
}

pub(crate) fn get(conn: &Connection, tenant: &Tenant, id: &str) -> Result<Webhook> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = ?1 AND org_seq = ?2"
    ))?
    .query_row(params![id, tenant.org_seq], from_row)
    .optional()?
    .ok_or(Error::NotFound("Webhook"))
}

/// Applies `fields`. Setting it `active` again (or a new `url`) clears the
/// run of failures, so the next delivery is tried at once.
pub(crate) fn update(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    id: &str,
    fields: WebhookFields,
) -> Result<Webhook> {
    let current = get(tx, tenant, id)?;
    let restart = fields.status == Some(WebhookStatus::Active) || fields.url.is_some();
    let next = Webhook {
        url: fields.url.unwrap_or_else(|| current.url.clone()),
        types: fields.types.unwrap_or(current.types),
        description: fields
            .description
            .unwrap_or_else(|| current.description.clone()),
        status: fields.status.unwrap_or(current.status),
        ..current.clone()
    };
    if next == current && !restart {
        return Ok(current);
    }
    let updated_at = clock::now_ms().max(current.updated_at + 1);
    tx.execute(
        "UPDATE webhooks SET url = ?1, types = ?2, description = ?3, status = ?4, updated_at = ?5,
             failing_since = CASE WHEN ?6 THEN NULL ELSE failing_since END,
             failed_attempts = CASE WHEN ?6 THEN 0 ELSE failed_attempts END,
             next_attempt_at = CASE WHEN ?6 THEN 0 ELSE next_attempt_at END
         WHERE id = ?7 AND org_seq = ?8",
        params![
            next.url,
            stored_types(next.types),
            next.description,
            next.status.as_str(),
            updated_at,
            restart,
            id,
            tenant.org_seq
        ],
    )?;
    Ok(Webhook { updated_at, ..next })
}

pub(crate) fn delete(tx: &Transaction<'_>, tenant: &Tenant, id: &str) -> Result<()> {
    let deleted = tx.execute(
        "DELETE FROM webhooks WHERE id = ?1 AND org_seq = ?2",
        params![id, tenant.org_seq],
    )?;
    if deleted == 0 {
        return Err(Error::NotFound("Webhook"));
    }
    Ok(())
}

/// A page of the organization's subscriptions, newest first, and their total.
pub(crate) fn list(
    conn: &Connection,
    tenant: &Tenant,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Webhook>, i64)> {
    let total = conn.query_row(
        "SELECT count(*) FROM webhooks WHERE org_seq = ?1",
        [tenant.org_seq],
        |r| r.get(0),
    )?;
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE org_seq = ?1
             ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
        ))?
        .query_map(params![tenant.org_seq, limit, offset], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// A subscription with changes to deliver, as the worker takes it.
#[derive(Clone, Debug)]
pub struct DueWebhook {
    pub(crate) seq: i64,
    pub id: String,
    pub url: String,
    pub secret: String,
    pub org_id: String,
    pub(crate) org_seq: i64,
    pub types: TypeSet,
    pub last_seq: i64,
}

/// Active subscriptions whose next attempt is due at `now` and whose
/// organization has changed since their position: at most `max`.
pub(crate) fn due(conn: &Connection, now: i64, max: i64) -> Result<Vec<DueWebhook>> {
    let rows = conn
        .prepare_cached(
            "SELECT w.seq, w.id, w.url, w.secret, o.id, o.seq, w.types, w.last_seq
             FROM webhooks w JOIN organizations o ON o.seq = w.org_seq
             WHERE w.status = 'active' AND w.next_attempt_at <= ?1 AND o.change_seq > w.last_seq
             ORDER BY w.next_attempt_at LIMIT ?2",
        )?
        .query_map(params![now, max], |r| {
            let types: String = r.get(6)?;
            Ok(DueWebhook {
                seq: r.get(0)?,
                id: r.get(1)?,
                url: r.get(2)?,
                secret: r.get(3)?,
                org_id: r.get(4)?,
                org_seq: r.get(5)?,
                types: TypeSet::parse("types", types.split(',')).unwrap_or(TypeSet::ALL),
                last_seq: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The changes a delivery carries: at most `max` after the subscription's
/// position, of its kinds, from one snapshot.
pub(crate) fn batch(conn: &Connection, due: &DueWebhook, max: i64) -> Result<changes::ChangePage> {
    let tenant = Tenant {
        org_seq: due.org_seq,
        org_id: due.org_id.clone(),
        key_seq: 0,
        read_only: false,
    };
    changes::page(conn, &tenant, due.last_seq, max, due.types)
}

/// How a delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver answered 2xx: the position moves to `through`.
    Acknowledged { through: i64 },
    /// It did not (or could not be reached).
    Failed { error: String },
}

/// The wait after the `n`th failed attempt in a row (from 1): 5 s, 15 s,
/// 45 s, 2 min 15 s, 6 min 45 s, then 10 minutes.
pub fn retry_in_ms(failed_attempts: i64) -> i64 {
    let exponent = u32::try_from(failed_attempts.clamp(1, 10) - 1).unwrap_or(0);
    (5_000 * 3i64.pow(exponent)).min(600_000)
}

/// Records an attempt made at `at` for subscription `seq`. A run of
/// failures that has lasted 24 hours disables it. A subscription paused or
/// deleted meanwhile keeps what its organization set.
pub(crate) fn record(tx: &Transaction<'_>, seq: i64, at: i64, delivery: &Delivery) -> Result<()> {
    match delivery {
        Delivery::Acknowledged { through } => {
            tx.prepare_cached(
                "UPDATE webhooks SET last_seq = max(last_seq, ?2), failing_since = NULL,
                     failed_attempts = 0, next_attempt_at = 0, last_error = NULL
                 WHERE seq = ?1",
            )?
            .execute(params![seq, through])?;
        }
        Delivery::Failed { error } => {
            let failed: Option<(i64, Option<i64>)> = tx
                .prepare_cached(
                    "SELECT failed_attempts, failing_since FROM webhooks WHERE seq = ?1",
                )?
                .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((attempts, since)) = failed else {
                return Ok(());
            };
            let attempts = attempts + 1;
            let since = since.unwrap_or(at);
            let disable = at - since >= DISABLE_AFTER_MS;
            tx.prepare_cached(
                "UPDATE webhooks SET failed_attempts = ?2, failing_since = ?3,
                     next_attempt_at = ?4, last_error = ?5,
                     status = CASE WHEN ?6 AND status = 'active' THEN 'disabled' ELSE status END
                 WHERE seq = ?1",
            )?
            .execute(params![
                seq,
                attempts,
                since,
                at + retry_in_ms(attempts),
                error,
                disable
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_to_ten_minutes_apart() {
        let waits: Vec<i64> = (1..=7).map(retry_in_ms).collect();
        assert_eq!(
            waits,
            [5_000, 15_000, 45_000, 135_000, 405_000, 600_000, 600_000]
        );
    }

    #[test]
    fn a_day_of_failures_disables_and_a_success_clears_them() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::register_search_functions(&conn).unwrap();
        crate::migrations().to_latest(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO organizations (seq, id, name, created_at) VALUES (1, 'org_a', 'A', 0);
             INSERT INTO webhooks (seq, id, org_seq, url, types, status, secret, last_seq, created_at, updated_at)
             VALUES (1, 'wh_1', 1, 'https://e.com', 'contact', 'active', 's', 0, 0, 0);",
        )
        .unwrap();
        let state = |conn: &Connection| -> (String, i64, i64) {
            conn.query_row(
                "SELECT status, failed_attempts, next_attempt_at FROM webhooks WHERE seq = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        let failed = Delivery::Failed {
            error: String::from("the receiver answered 500"),
        };
        let tx = conn.transaction().unwrap();
        record(&tx, 1, 1_000, &failed).unwrap();
        record(&tx, 1, 1_000 + DISABLE_AFTER_MS - 1, &failed).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            state(&conn),
            ("active".into(), 2, 1_000 + DISABLE_AFTER_MS - 1 + 15_000)
        );
        let tx = conn.transaction().unwrap();
        record(&tx, 1, 1_000 + DISABLE_AFTER_MS, &failed).unwrap();
        tx.commit().unwrap();
        assert_eq!(state(&conn).0, "disabled");
        let tx = conn.transaction().unwrap();
        conn_reset(&tx);
        record(&tx, 1, 5, &Delivery::Acknowledged { through: 9 }).unwrap();
        tx.commit().unwrap();
        let last: (i64, i64) = conn
            .query_row("SELECT last_seq, failed_attempts FROM webhooks", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(last, (9, 0));
    }

    fn conn_reset(tx: &Transaction<'_>) {
        tx.execute("UPDATE webhooks SET status = 'active'", [])
            .unwrap();
    }
}
