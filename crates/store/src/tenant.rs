//! The tenant-scoped handle: the only way API code reaches SQL.
//!
//! A [`TenantDb`] holds a well-formed API key. Each of its methods is one
//! trip to the blocking pool that first verifies the key
//! (`keys::authenticate`, the only maker of a [`Tenant`]), then runs one
//! transaction (reads a consistent snapshot, writes `BEGIN IMMEDIATE`)
//! passing that tenant to every query, and answers with the organization's
//! id beside the value ([`Scoped`]). No method runs a query without a
//! verified tenant, and a revoked key fails on its very next trip; a read
//! costs one trip, not two.

use rusqlite::{Connection, Transaction};

use super::audiences::{self, Audience, MembershipChange};
use super::calls::{self, Call};
use super::contacts::{self, Contact, NewRows, Upserted};
use super::idempotency::{self, Claim, StoredAnswer};
use super::imports::{self, Import, RowError};
use super::indexes::{self, DeclaredIndex, IndexField};
use super::listing;
use super::{keys, write, Db, Error, Result, Tenant};
use contactsd_domain::import::ImportRequest;
use contactsd_domain::listing::Listing;
use contactsd_domain::FieldError;
use contactsd_domain::{AudienceFields, BulkItem, ContactFields, Name, NewCall, NewContact};

/// Storage as one organization sees it.
#[derive(Clone)]
pub struct TenantDb {
    db: Db,
    key: String,
}

/// A value read or written for an organization, and that organization's id.
#[derive(Debug)]
pub struct Scoped<T> {
    pub org_id: String,
    pub value: T,
}

/// Where an export's rows go, one at a time, in one read snapshot.
pub trait RowSink: Send + 'static {
    /// Takes one contact; `false` stops the export (the reader went away).
    fn row(&mut self, contact: &Contact, org_id: &str) -> bool;
    /// Called once after the last row.
    fn finish(&mut self);
}

/// A page of a contact listing.
#[derive(Debug)]
pub struct ContactPage {
    pub rows: Vec<Contact>,
    /// Every matching contact, not just this page's.
    pub total: i64,
    pub next_cursor: Option<String>,
    /// The query the page answers.
    pub listing: Listing,
    /// Set when an undeclared metadata filter read the rows it checked.
    pub scan: Option<crate::Scan>,
}

/// What became of one bulk item.
#[derive(Debug)]
pub enum ItemOutcome {
    Applied(Contact, Upserted),
    Failed(FieldError),
}

/// Ends a read transaction left open by a panic, before the connection
/// goes back to the pool.
struct EndsRead<'a>(&'a Connection);

impl Drop for EndsRead<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

impl TenantDb {
    pub(super) fn new(db: Db, key: String) -> Self {
        TenantDb { db, key }
    }

    /// The key listing cursors are signed with.
    pub(crate) fn cursor_secret(&self) -> &[u8] {
        self.db.cursor_secret()
    }

    /// Verifies the key on its own trip: `Unauthorized` when it is unknown
    /// or revoked. For answers that must not tell an unverified caller
    /// anything, such as what is wrong with its query.
    pub async fn verify(&self) -> Result<crate::Verified> {
        let key = self.key.clone();
        self.db
            .run(move |conn| {
                let tenant = keys::authenticate(conn, &key)?.ok_or(Error::Unauthorized)?;
                Ok(crate::Verified {
                    key_seq: tenant.key_seq,
                    read_only: tenant.read_only,
                })
            })
            .await
    }

    /// Runs `f` for the key's tenant in one read transaction.
    async fn read<T, F>(&self, f: F) -> Result<Scoped<T>>
    where
        F: FnOnce(&Connection, &Tenant) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let key = self.key.clone();
        self.db
            .run(move |conn| {
                // One snapshot for the key check and the read. The two
                // statements are cached: `Connection::transaction` parses
                // BEGIN and COMMIT again on every request.
                conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
                let _ended = EndsRead(conn);
                let read = keys::authenticate(conn, &key)
                    .and_then(|tenant| tenant.ok_or(Error::Unauthorized))
                    .and_then(|tenant| Ok((f(conn, &tenant)?, tenant)));
                // A read changes nothing: ending it is the same whether
                // it succeeded or not.
                conn.prepare_cached("COMMIT")?.execute([])?;
                let (value, tenant) = read?;
                Ok(Scoped {
                    org_id: tenant.org_id,
                    value,
                })
            })
            .await
    }

    /// Runs `f` for the key's tenant in one `BEGIN IMMEDIATE` transaction,
    /// committed only if it succeeds.
    async fn write<T, F>(&self, f: F) -> Result<Scoped<T>>
    where
        F: FnOnce(&Transaction<'_>, &Tenant) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let key = self.key.clone();
        let live = std::sync::Arc::clone(&self.db.live);
        self.db
            .run(move |conn| {
                let tenant = keys::authenticate(conn, &key)?.ok_or(Error::Unauthorized)?;
                // The server refuses a read-only key's writes before their
                // route; storage refuses them too, whatever calls it.
                if tenant.read_only {
                    return Err(Error::ReadOnlyKey);
                }
                let value = write(conn, |tx| f(tx, &tenant))?;
                // Open change streams learn of it now it is committed.
                live.signal(&tenant.org_id);
                Ok(Scoped {
                    org_id: tenant.org_id,
                    value,
                })
            })
            .await
    }

    /// Claims the idempotency key `key` for a request with `fingerprint`.
    pub async fn claim_idempotency_key(
        &self,
        key: String,
        fingerprint: Vec<u8>,
    ) -> Result<Scoped<Claim>> {
        self.write(move |tx, tenant| {
            idempotency::claim(
                tx,
                tenant,
                &key,
                &fingerprint,
                contactsd_domain::clock::now_ms(),
            )
        })
        .await
    }

    /// Stores the claimed key's answer, or frees the key (`None`).
    pub async fn finish_idempotency_key(
        &self,
        key: String,
        answer: Option<StoredAnswer>,
    ) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| idempotency::finish(tx, tenant, &key, answer))
            .await
    }

    pub async fn create_contact(&self, new: NewContact) -> Result<Scoped<Contact>> {
        self.write(move |tx, tenant| contacts::insert(tx, tenant, new))
            .await
    }

    pub async fn contact(&self, id: String) -> Result<Scoped<Contact>> {
        self.read(move |tx, tenant| contacts::get(tx, tenant, &id))
            .await
    }

    pub async fn update_contact(
        &self,
        id: String,
        fields: ContactFields,
    ) -> Result<Scoped<Contact>> {
        self.write(move |tx, tenant| contacts::update(tx, tenant, &id, fields))
            .await
    }

    pub async fn delete_contact(&self, id: String) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| contacts::delete(tx, tenant, &id))
            .await
    }

    /// Deletes the organization's contacts among `ids`; how many went.
    pub async fn delete_contacts(&self, ids: Vec<String>) -> Result<Scoped<usize>> {
        self.write(move |tx, tenant| contacts::delete_many(tx, tenant, &ids))
            .await
    }

    /// Upserts `expected` items in order, in one transaction, as `items`
    /// yields them (validated elsewhere, possibly while this writes). An
    /// item stream that ends early or runs long commits nothing.
    pub async fn upsert_contacts<I>(
        &self,
        items: I,
        expected: usize,
    ) -> Result<Scoped<Vec<ItemOutcome>>>
    where
        I: IntoIterator<Item = std::result::Result<BulkItem, FieldError>> + Send + 'static,
    {
        self.write(move |tx, tenant| {
            let mut outcomes = Vec::with_capacity(expected);
            let mut rows = NewRows::start(tx, tenant)?;
            for item in items {
                outcomes.push(match item {
                    Ok(item) => {
                        let (contact, how) = contacts::upsert(tx, tenant, &mut rows, &item)?;
                        ItemOutcome::Applied(contact, how)
                    }
                    Err(error) => ItemOutcome::Failed(error),
                });
            }
            if outcomes.len() != expected {
                return Err(Error::Task(format!(
                    "bulk items: expected {expected}, got {}",
                    outcomes.len()
                )));
            }
            rows.finish(tx)?;
            Ok(outcomes)
        })
        .await
    }

    /// One page of the organization's contacts, and the cursor after it
    /// when rows follow. The listing's cursor is checked against the
    /// organization the key belongs to.
    pub async fn list_contacts(&self, listing: Listing) -> Result<Scoped<ContactPage>> {
        let secret = self.cursor_secret().to_vec();
        let pool = self.db.pool.clone();
        self.read(move |tx, tenant| {
            let request = listing
                .request(&secret, tenant.org_id())
                .map_err(Error::BadCursor)?;
            let page = listing::list(tx, tenant, &request, Some(&pool))?;
            let next_cursor = match page.rows.last() {
                Some(last) if page.has_more => {
                    Some(listing.next_cursor(&secret, tenant.org_id(), &last.row_key()))
                }
                _ => None,
            };
            Ok(ContactPage {
                rows: page.rows,
                total: page.total,
                next_cursor,
                listing,
                scan: page.scan,
            })
        })
        .await
    }

    /// Feeds every contact `listing` matches (no paging), in its order, to
    /// `sink`, from one read transaction: one consistent snapshot, in
    /// constant memory when the sink applies back-pressure.
    pub async fn export_contacts<S: RowSink>(
        &self,
        listing: Listing,
        mut sink: S,
    ) -> Result<Scoped<()>> {
        let secret = self.cursor_secret().to_vec();
        self.read(move |tx, tenant| {
            let request = listing
                .request(&secret, tenant.org_id())
                .map_err(Error::BadCursor)?;
            listing::for_each(tx, tenant, &request, |contact| {
                sink.row(&contact, tenant.org_id())
            })?;
            sink.finish();
            Ok(())
        })
        .await
    }

    pub async fn create_audience(
        &self,
        name: Name,
        description: Option<String>,
    ) -> Result<Scoped<Audience>> {
        self.write(move |tx, tenant| audiences::insert(tx, tenant, name, description))
            .await
    }

    pub async fn audience(&self, id: String) -> Result<Scoped<Audience>> {
        self.read(move |tx, tenant| audiences::get(tx, tenant, &id))
            .await
    }

    pub async fn update_audience(
        &self,
        id: String,
        fields: AudienceFields,
    ) -> Result<Scoped<Audience>> {
        self.write(move |tx, tenant| audiences::update(tx, tenant, &id, fields))
            .await
    }

    pub async fn delete_audience(&self, id: String) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| audiences::delete(tx, tenant, &id))
            .await
    }

    /// A page of the audiences `filter` keeps, and their total.
    pub async fn list_audiences(
        &self,
        filter: audiences::AudienceFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Scoped<(Vec<Audience>, i64)>> {
        self.read(move |tx, tenant| audiences::list(tx, tenant, &filter, limit, offset))
            .await
    }

    /// A page of the changes feed, from one snapshot; `ChangesExpired`
    /// when `since` cannot be continued from.
    pub async fn changes(
        &self,
        request: contactsd_domain::changes::ChangesRequest,
    ) -> Result<Scoped<crate::changes::ChangePage>> {
        self.read(move |conn, tenant| {
            crate::changes::page(conn, tenant, request.since, request.limit, request.types)
        })
        .await
    }

    /// Creates a webhook subscription; its secret is returned this once.
    pub async fn create_webhook(
        &self,
        url: String,
        fields: contactsd_domain::webhook::WebhookFields,
    ) -> Result<Scoped<(crate::webhooks::Webhook, String)>> {
        self.write(move |tx, tenant| crate::webhooks::insert(tx, tenant, url, fields))
            .await
    }

    pub async fn webhook(&self, id: String) -> Result<Scoped<crate::webhooks::Webhook>> {
        self.read(move |conn, tenant| crate::webhooks::get(conn, tenant, &id))
            .await
    }

    pub async fn update_webhook(
        &self,
        id: String,
        fields: contactsd_domain::webhook::WebhookFields,
    ) -> Result<Scoped<crate::webhooks::Webhook>> {
        self.write(move |tx, tenant| crate::webhooks::update(tx, tenant, &id, fields))
            .await
    }

    pub async fn delete_webhook(&self, id: String) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| crate::webhooks::delete(tx, tenant, &id))
            .await
    }

    /// A page of the organization's subscriptions, newest first, and their total.
    pub async fn list_webhooks(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<Scoped<(Vec<crate::webhooks::Webhook>, i64)>> {
        self.read(move |conn, tenant| crate::webhooks::list(conn, tenant, limit, offset))
            .await
    }

    /// Lists `numbers` on the do-not-call list.
    pub async fn add_do_not_call(
        &self,
        numbers: Vec<contactsd_domain::PhoneNumber>,
        reason: Option<String>,
        source: Option<String>,
    ) -> Result<Scoped<crate::dnc::Added>> {
        self.write(move |tx, tenant| {
            crate::dnc::add(tx, tenant, &numbers, reason.as_deref(), source.as_deref())
        })
        .await
    }

    pub async fn do_not_call_entry(
        &self,
        number: contactsd_domain::PhoneNumber,
    ) -> Result<Scoped<crate::dnc::Entry>> {
        self.read(move |conn, tenant| crate::dnc::get(conn, tenant, &number))
            .await
    }

    pub async fn remove_do_not_call(
        &self,
        number: contactsd_domain::PhoneNumber,
    ) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| crate::dnc::remove(tx, tenant, &number))
            .await
    }

    /// A page of the do-not-call list, newest first, and its total.
    pub async fn list_do_not_call(
        &self,
        digits: Option<String>,
        limit: i64,
        offset: i64,
    ) -> Result<Scoped<(Vec<crate::dnc::Entry>, i64)>> {
        self.read(move |conn, tenant| {
            crate::dnc::list(conn, tenant, digits.as_deref(), limit, offset)
        })
        .await
    }

    /// The contact's callability at `at` (milliseconds).
    pub async fn callability(
        &self,
        id: String,
        at: i64,
    ) -> Result<Scoped<crate::callable::Callability>> {
        self.read(move |conn, tenant| crate::callable::of_contact(conn, tenant, &id, at))
            .await
    }

    pub async fn calling_hours(&self) -> Result<Scoped<contactsd_domain::hours::CallingHours>> {
        self.read(crate::dnc::calling_hours).await
    }

    pub async fn set_calling_hours(
        &self,
        hours: contactsd_domain::hours::CallingHours,
    ) -> Result<Scoped<contactsd_domain::hours::CallingHours>> {
        self.write(move |tx, tenant| crate::dnc::set_calling_hours(tx, tenant, hours))
            .await
    }

    pub async fn add_members(
        &self,
        audience_id: String,
        ids: Vec<String>,
    ) -> Result<Scoped<MembershipChange>> {
        self.write(move |tx, tenant| audiences::add_members(tx, tenant, &audience_id, &ids))
            .await
    }

    pub async fn remove_members(
        &self,
        audience_id: String,
        ids: Vec<String>,
    ) -> Result<Scoped<MembershipChange>> {
        self.write(move |tx, tenant| audiences::remove_members(tx, tenant, &audience_id, &ids))
            .await
    }

    pub async fn create_call(&self, new: NewCall) -> Result<Scoped<Call>> {
        self.write(move |tx, tenant| calls::insert(tx, tenant, new))
            .await
    }

    pub async fn call(&self, id: String) -> Result<Scoped<Call>> {
        self.read(move |tx, tenant| calls::get(tx, tenant, &id))
            .await
    }

    /// A page of calls, newest first, optionally of one contact, and the
    /// total.
    pub async fn list_calls(
        &self,
        contact_id: Option<String>,
        limit: i64,
        offset: i64,
    ) -> Result<Scoped<(Vec<Call>, i64)>> {
        self.read(move |tx, tenant| calls::list(tx, tenant, contact_id.as_deref(), limit, offset))
            .await
    }

    /// Queues an import (its audience must be the organization's).
    pub async fn create_import(&self, request: ImportRequest) -> Result<Scoped<Import>> {
        self.write(move |tx, tenant| imports::enqueue(tx, tenant, &request))
            .await
    }

    /// An import and its first failed rows.
    pub async fn import(&self, id: String) -> Result<Scoped<(Import, Vec<RowError>)>> {
        self.read(move |tx, tenant| imports::get(tx, tenant, &id))
            .await
    }

    /// A page of imports, newest first, and the total.
    pub async fn list_imports(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<Scoped<(Vec<Import>, i64)>> {
        self.read(move |tx, tenant| imports::list(tx, tenant, limit, offset))
            .await
    }

    /// The organization's declared indexes.
    pub async fn indexes(&self) -> Result<Scoped<Vec<DeclaredIndex>>> {
        self.read(indexes::list).await
    }

    /// Declares an index and fills it; `false` when it existed already.
    pub async fn declare_index(&self, field: IndexField) -> Result<Scoped<(DeclaredIndex, bool)>> {
        let declaring = field.clone();
        let declared = self
            .write(move |tx, tenant| indexes::declare(tx, tenant, &declaring))
            .await?;
        let (index, new) = match declared.value {
            indexes::Declaration::Ready(index) => (index, false),
            indexes::Declaration::Fill(index, new) => {
                // Batch by batch, each its own short write: other writers
                // (every organization's) go on between them.
                let mut after = None;
                let mut rewritten = 0;
                loop {
                    let filling = index.clone();
                    let from = after.clone();
                    let filled = self
                        .write(move |tx, tenant| {
                            indexes::fill_batch(tx, tenant, &filling, from.as_ref())
                        })
                        .await?;
                    match filled.value {
                        Some((last, entries)) => {
                            after = Some(last);
                            rewritten += entries;
                        }
                        None => break,
                    }
                }
                // Many search-index entries rewritten: merge the index
                // again, step by step, a bounded number of steps. The index
                // is filled already: a step that fails only ends the merge.
                let steps = self
                    .write(move |tx, _| indexes::compaction_steps(tx, rewritten))
                    .await
                    .map_or(0, |steps| steps.value);
                for _ in 0..steps {
                    match self.write(|tx, _| indexes::compact_search_index(tx)).await {
                        Ok(step) if step.value => {}
                        _ => break,
                    }
                }
                (index, new)
            }
        };
        Ok(Scoped {
            org_id: declared.org_id,
            value: (index, new),
        })
    }

    /// Drops a declared index.
    pub async fn drop_index(&self, field: IndexField) -> Result<Scoped<()>> {
        self.write(move |tx, tenant| indexes::drop_index(tx, tenant, &field))
            .await
    }
}
