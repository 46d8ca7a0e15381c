//! SQL of the audit_records table.

use chrono::{DateTime, Utc};
use opsdeck_api::audit::AuditRecord;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row as _};
use uuid::Uuid;

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
    pub request_id: &'a str,
}

pub async fn insert(conn: &mut AnyConnection, record: &NewRecord<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit_records (id, at, actor, action, target, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(record.id.to_string())
    .bind(db::timestamp(record.at))
    .bind(record.actor)
    .bind(record.action)
    .bind(record.target)
    .bind(record.request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Id of a record written at `at` in the past (seeded history); live
/// records use `Uuid::now_v7()`, which also orders records of one millisecond.
pub fn historic_id(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or_default();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

/// Newest first. `before` is the id of the last record of the previous
/// page; `within`, when given, are the only targets the caller may see.
pub async fn list(
    pool: &AnyPool,
    within: Option<&[String]>,
    target: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditRecord>, Error> {
    let mut sql =
        String::from("SELECT id, at, actor, action, target, request_id FROM audit_records");
    let mut conditions = Vec::new();
    let mut n = 0;
    if let Some(within) = within {
        if within.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (n + 1..=n + within.len())
            .map(|i| format!("${i}"))
            .collect();
        n += within.len();
        conditions.push(format!("target IN ({})", placeholders.join(", ")));
    }
    if target.is_some() {
        n += 1;
        conditions.push(format!("target = ${n}"));
    }
    if before.is_some() {
        n += 1;
        conditions.push(format!("id < ${n}"));
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    let mut query = sqlx::query(&sql);
    for allowed in within.unwrap_or_default() {
        query = query.bind(allowed.as_str());
    }
    if let Some(target) = target {
        query = query.bind(target);
    }
    if let Some(before) = before {
        query = query.bind(before);
    }
    let rows = query.bind(i64::from(limit)).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &AnyRow) -> Result<AuditRecord, Error> {
    let at: String = row.try_get("at")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: db::parse_timestamp(&at)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        request_id: row.try_get("request_id")?,
    })
}
