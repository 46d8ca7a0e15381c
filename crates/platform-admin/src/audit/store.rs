//! SQL of the audit_records table and of the head of its hash chain.
//!
//! Appends are serialised by the one-row `audit_chain` table: an append
//! first bumps the head's `seq` (`UPDATE`, which takes the row's write lock
//! on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already holds the database's),
//! so a second writer waits until the first commits and then extends its
//! record, never the same one.

use chrono::{DateTime, Utc};
use opsdeck_api::audit::AuditRecord;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row as _};
use uuid::Uuid;

use super::chain::{self, Fields, GENESIS};
use crate::db;
use crate::error::Error;

/// A record to write. Ids are UUID v7, so id order is time order.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub tenant_id: Option<&'a str>,
    /// JSON of the changed fields before and after.
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub request_id: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// Appends `record` to the chain inside the caller's transaction.
pub async fn insert(conn: &mut AnyConnection, record: &NewRecord<'_>) -> Result<(), Error> {
    sqlx::query("UPDATE audit_chain SET seq = seq + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev_hash: Option<String> = head.try_get("hash")?;
    let prev_hash = prev_hash
        .ok_or_else(|| Error::Corrupt("the audit chain's head has no hash".to_string()))?;
    let id = record.id.to_string();
    let at = db::timestamp(record.at);
    let fields = Fields {
        seq,
        id: &id,
        at: &at,
        actor: record.actor,
        action: record.action,
        target: record.target,
        tenant_id: record.tenant_id,
        before: record.before,
        after: record.after,
        request_id: record.request_id,
        idempotency_key: record.idempotency_key,
        prev_hash: &prev_hash,
    };
    let hash = chain::hash(&fields);
    sqlx::query(
        "INSERT INTO audit_records (id, seq, at, actor, action, target, tenant_id, \
         before_state, after_state, request_id, idempotency_key, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(seq)
    .bind(&at)
    .bind(record.actor)
    .bind(record.action)
    .bind(record.target)
    .bind(record.tenant_id)
    .bind(record.before)
    .bind(record.after)
    .bind(record.request_id)
    .bind(record.idempotency_key)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Computes the hashes of records that came from before the chain (the
/// migration numbered them and left the head's hash NULL). Runs once, when
/// the server first opens a migrated database; returns how many it chained.
pub async fn backfill_chain(db: &db::Db) -> Result<u64, Error> {
    let mut tx = db.begin().await?;
    // Bumping by zero takes the head's lock, as an append does.
    sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    let pending: Option<String> = head.try_get("hash")?;
    if pending.is_some() {
        return Ok(0);
    }
    let upto: i64 = head.try_get("seq")?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_records WHERE seq <= $1 ORDER BY seq"
    ))
    .bind(upto)
    .fetch_all(&mut *tx)
    .await?;
    let mut prev = GENESIS.to_string();
    let mut chained = 0;
    for row in &rows {
        let stored = Stored::of(row)?;
        // Only records written before the chain are hashed here: one that
        // has a hash keeps it, so clearing the head cannot get a changed
        // record hashed afresh.
        if let Some(hash) = &stored.hash {
            prev = hash.clone();
            continue;
        }
        let hash = chain::hash(&stored.fields(&prev));
        sqlx::query("UPDATE audit_records SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(&stored.id)
            .execute(&mut *tx)
            .await?;
        prev = hash;
        chained += 1;
    }
    sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(chained)
}

/// Every column of a record, in the order `Stored::of` reads them.
pub(super) const COLUMNS: &str = "id, seq, at, actor, action, target, tenant_id, \
    before_state, after_state, request_id, idempotency_key, prev_hash, hash";

/// A record as stored: text exactly as written, which is what is hashed.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub id: String,
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub tenant_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl Stored {
    pub fn of(row: &AnyRow) -> Result<Stored, Error> {
        Ok(Stored {
            id: row.try_get("id")?,
            seq: row.try_get("seq")?,
            at: row.try_get("at")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            tenant_id: row.try_get("tenant_id")?,
            before: row.try_get("before_state")?,
            after: row.try_get("after_state")?,
            request_id: row.try_get("request_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }

    /// The hashed fields, chained to `prev_hash`.
    pub fn fields<'a>(&'a self, prev_hash: &'a str) -> Fields<'a> {
        Fields {
            seq: self.seq,
            id: &self.id,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            tenant_id: self.tenant_id.as_deref(),
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            request_id: &self.request_id,
            idempotency_key: self.idempotency_key.as_deref(),
            prev_hash,
        }
    }

    fn into_record(self) -> Result<AuditRecord, Error> {
        let json = |text: Option<String>, what: &str| {
            text.map(|text| {
                serde_json::from_str(&text).map_err(|err| {
                    Error::Corrupt(format!("{what} of audit record {}: {err}", self.seq))
                })
            })
            .transpose()
        };
        Ok(AuditRecord {
            before: json(self.before.clone(), "before")?,
            after: json(self.after.clone(), "after")?,
            at: db::parse_timestamp(&self.at)?,
            id: self.id,
            seq: self.seq,
            actor: self.actor,
            action: self.action,
            target: self.target,
            tenant: self.tenant_id,
            request_id: self.request_id,
            idempotency_key: self.idempotency_key,
            prev_hash: self.prev_hash.unwrap_or_default(),
            hash: self.hash.unwrap_or_default(),
        })
    }
}

/// Id of a record written at `at` in the past (seeded history); live
/// records use `Uuid::now_v7()`, which also orders records of one millisecond.
pub fn historic_id(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or_default();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

/// What `GET /v1/audit` asks for; every value is bound, never spliced.
#[derive(Debug, Default)]
pub struct Filter {
    /// The only tenants the caller may see; `None` for all (and records of
    /// no tenant).
    pub within: Option<Vec<String>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub tenant_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `seq` of the last record of the previous page.
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Newest (highest `seq`) first.
pub async fn list(pool: &AnyPool, filter: &Filter) -> Result<Vec<AuditRecord>, Error> {
    enum Value<'a> {
        Text(&'a str),
        Int(i64),
    }
    let mut conditions = Vec::new();
    let mut binds: Vec<Value<'_>> = Vec::new();
    if let Some(within) = &filter.within {
        if within.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = within
            .iter()
            .map(|id| {
                binds.push(Value::Text(id));
                format!("${}", binds.len())
            })
            .collect();
        conditions.push(format!("tenant_id IN ({})", placeholders.join(", ")));
    }
    let since = filter.since.map(db::timestamp);
    let until = filter.until.map(db::timestamp);
    for (column, op, value) in [
        ("actor", "=", filter.actor.as_deref()),
        ("action", "=", filter.action.as_deref()),
        ("target", "=", filter.target.as_deref()),
        ("tenant_id", "=", filter.tenant_id.as_deref()),
        ("at", ">=", since.as_deref()),
        ("at", "<", until.as_deref()),
    ] {
        if let Some(value) = value {
            binds.push(Value::Text(value));
            conditions.push(format!("{column} {op} ${}", binds.len()));
        }
    }
    if let Some(seq) = filter.before_seq {
        binds.push(Value::Int(seq));
        conditions.push(format!("seq < ${}", binds.len()));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_records");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    binds.push(Value::Int(i64::from(filter.limit)));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", binds.len()));
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = match value {
            Value::Text(text) => query.bind(*text),
            Value::Int(n) => query.bind(*n),
        };
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter()
        .map(|row| Stored::of(row).and_then(Stored::into_record))
        .collect()
}
