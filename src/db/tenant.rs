//! The tenant-scoped handle: the only way API code reaches SQL.
//!
//! A [`TenantDb`] is made only by [`Db::authenticate`](super::Db::authenticate)
//! from a key it has just verified, and carries that key's [`Tenant`]. Its
//! methods are the whole of what the API can do to storage; each runs on
//! the blocking pool in one transaction (reads a consistent snapshot,
//! writes `BEGIN IMMEDIATE`) and passes the tenant to every query.

use rusqlite::{Transaction, TransactionBehavior};

use super::audiences::{self, Audience, MembershipChange};
use super::calls::{self, Call};
use super::contacts::{self, Contact, NewRows, Upserted};
use super::listing::{self, ListPage, ListRequest};
use super::{write, Db, Error, Result, Tenant};
use crate::domain::{AudienceFields, BulkItem, ContactFields, Name, NewCall, NewContact};
use crate::error::FieldError;

/// Storage as one organization sees it.
#[derive(Clone)]
pub struct TenantDb {
    db: Db,
    tenant: Tenant,
}

/// What became of one bulk item.
#[derive(Debug)]
pub enum ItemOutcome {
    Applied(Contact, Upserted),
    Failed(FieldError),
}

impl TenantDb {
    pub(super) fn new(db: Db, tenant: Tenant) -> Self {
        TenantDb { db, tenant }
    }

    /// The organization's public id.
    pub fn org_id(&self) -> &str {
        self.tenant.org_id()
    }

    /// The key listing cursors are signed with.
    pub fn cursor_secret(&self) -> &[u8] {
        self.db.cursor_secret()
    }

    /// Runs `f` for the tenant in one read transaction.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>, &Tenant) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let tenant = self.tenant.clone();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let value = f(&tx, &tenant)?;
                tx.finish()?;
                Ok(value)
            })
            .await
    }

    /// Runs `f` for the tenant in one `BEGIN IMMEDIATE` transaction,
    /// committed only if it succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>, &Tenant) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let tenant = self.tenant.clone();
        self.db
            .run(move |conn| write(conn, |tx| f(tx, &tenant)))
            .await
    }

    pub async fn create_contact(&self, new: NewContact) -> Result<Contact> {
        self.write(move |tx, tenant| contacts::insert(tx, tenant, new))
            .await
    }

    pub async fn contact(&self, id: String) -> Result<Contact> {
        self.read(move |tx, tenant| contacts::get(tx, tenant, &id))
            .await
    }

    pub async fn update_contact(&self, id: String, fields: ContactFields) -> Result<Contact> {
        self.write(move |tx, tenant| contacts::update(tx, tenant, &id, fields))
            .await
    }

    pub async fn delete_contact(&self, id: String) -> Result<()> {
        self.write(move |tx, tenant| contacts::delete(tx, tenant, &id))
            .await
    }

    /// Deletes the organization's contacts among `ids`; how many went.
    pub async fn delete_contacts(&self, ids: Vec<String>) -> Result<usize> {
        self.write(move |tx, tenant| contacts::delete_many(tx, tenant, &ids))
            .await
    }

    /// Upserts `expected` items in order, in one transaction, as `items`
    /// yields them (validated elsewhere, possibly while this writes). An
    /// item stream that ends early or runs long commits nothing.
    pub async fn upsert_contacts<I>(&self, items: I, expected: usize) -> Result<Vec<ItemOutcome>>
    where
        I: IntoIterator<Item = std::result::Result<BulkItem, FieldError>> + Send + 'static,
    {
        self.write(move |tx, tenant| {
            let mut outcomes = Vec::with_capacity(expected);
            let mut rows = NewRows::start(tx, tenant)?;
            for item in items {
                outcomes.push(match item {
                    Ok(item) => {
                        let (contact, how) = contacts::upsert(tx, tenant, &mut rows, item)?;
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
            Ok(outcomes)
        })
        .await
    }

    /// One page of the organization's contacts.
    pub async fn list_contacts(&self, request: ListRequest) -> Result<ListPage> {
        self.read(move |tx, tenant| listing::list(tx, tenant, &request))
            .await
    }

    pub async fn create_audience(
        &self,
        name: Name,
        description: Option<String>,
    ) -> Result<Audience> {
        self.write(move |tx, tenant| audiences::insert(tx, tenant, name, description))
            .await
    }

    pub async fn audience(&self, id: String) -> Result<Audience> {
        self.read(move |tx, tenant| audiences::get(tx, tenant, &id))
            .await
    }

    pub async fn update_audience(&self, id: String, fields: AudienceFields) -> Result<Audience> {
        self.write(move |tx, tenant| audiences::update(tx, tenant, &id, fields))
            .await
    }

    pub async fn delete_audience(&self, id: String) -> Result<()> {
        self.write(move |tx, tenant| audiences::delete(tx, tenant, &id))
            .await
    }

    /// A page of audiences whose names contain every term, and the total.
    pub async fn list_audiences(
        &self,
        terms: Vec<String>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Audience>, i64)> {
        self.read(move |tx, tenant| audiences::list(tx, tenant, &terms, limit, offset))
            .await
    }

    pub async fn add_members(
        &self,
        audience_id: String,
        ids: Vec<String>,
    ) -> Result<MembershipChange> {
        self.write(move |tx, tenant| audiences::add_members(tx, tenant, &audience_id, &ids))
            .await
    }

    pub async fn remove_members(
        &self,
        audience_id: String,
        ids: Vec<String>,
    ) -> Result<MembershipChange> {
        self.write(move |tx, tenant| audiences::remove_members(tx, tenant, &audience_id, &ids))
            .await
    }

    pub async fn create_call(&self, new: NewCall) -> Result<Call> {
        self.write(move |tx, tenant| calls::insert(tx, tenant, new))
            .await
    }

    pub async fn call(&self, id: String) -> Result<Call> {
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
    ) -> Result<(Vec<Call>, i64)> {
        self.read(move |tx, tenant| calls::list(tx, tenant, contact_id.as_deref(), limit, offset))
            .await
    }
}
