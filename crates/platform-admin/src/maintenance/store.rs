//! SQL of the maintenance_windows table.

use chrono::{DateTime, Utc};
use opsdeck_api::maintenance::{MaintenanceStatus, MaintenanceWindow};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::db;
use crate::error::Error;

const COLUMNS: &str =
    "id, starts_at, ends_at, matchers, owner, reason, silence_id, created_by, created_at, ended_by";

pub async fn insert(conn: &mut AnyConnection, window: &MaintenanceWindow) -> Result<(), Error> {
    sqlx::query(&format!(
        "INSERT INTO maintenance_windows ({COLUMNS}, told) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&window.id)
    .bind(db::timestamp(window.starts_at))
    .bind(db::timestamp(window.ends_at))
    .bind(serde_json::to_string(&window.matchers)?)
    .bind(&window.owner)
    .bind(&window.reason)
    .bind(window.silence_id.as_deref())
    .bind(&window.created_by)
    .bind(db::timestamp(window.created_at))
    .bind(window.ended_by.as_deref())
    .bind(window.status.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

fn status_named(text: &str) -> Result<MaintenanceStatus, Error> {
    match text {
        "scheduled" => Ok(MaintenanceStatus::Scheduled),
        "active" => Ok(MaintenanceStatus::Active),
        "ended" => Ok(MaintenanceStatus::Ended),
        other => Err(Error::Corrupt(format!(
            "maintenance_windows.told = `{other}`"
        ))),
    }
}

/// The windows whose end the timelines were not told yet, with what they
/// were told last.
pub async fn untold(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
) -> Result<Vec<(MaintenanceWindow, MaintenanceStatus)>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, told FROM maintenance_windows WHERE told <> 'ended' ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let told: String = row.try_get("told")?;
            Ok((from_row(row, now)?, status_named(&told)?))
        })
        .collect()
}

/// Records that the timelines were told `to`; false when someone else
/// told them first.
pub async fn mark_told(
    conn: &mut AnyConnection,
    id: &str,
    from: MaintenanceStatus,
    to: MaintenanceStatus,
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE maintenance_windows SET told = $1 WHERE id = $2 AND told = $3")
        .bind(to.as_str())
        .bind(id)
        .bind(from.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<MaintenanceWindow>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM maintenance_windows WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| from_row(r, now)).transpose()
}

/// Newest first; only ids before `before` when given.
pub async fn list(
    conn: &mut AnyConnection,
    before: Option<&str>,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<MaintenanceWindow>, Error> {
    let rows = match before {
        Some(before) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM maintenance_windows WHERE id < $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM maintenance_windows ORDER BY id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(|r| from_row(r, now)).collect()
}

/// Ends a window that has not ended by `now`; `None` when it had.
pub async fn end(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<MaintenanceWindow>, Error> {
    let at = db::timestamp(now);
    let row = sqlx::query(&format!(
        "UPDATE maintenance_windows SET ends_at = $1, ended_by = $2, told = 'ended' \
         WHERE id = $3 AND ends_at > $1 RETURNING {COLUMNS}"
    ))
    .bind(&at)
    .bind(by)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| from_row(r, now)).transpose()
}

/// Scheduled before its start, active until its end, ended after.
pub fn status_at(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> MaintenanceStatus {
    if now >= ends_at {
        MaintenanceStatus::Ended
    } else if now >= starts_at {
        MaintenanceStatus::Active
    } else {
        MaintenanceStatus::Scheduled
    }
}

fn from_row(row: &AnyRow, now: DateTime<Utc>) -> Result<MaintenanceWindow, Error> {
    let starts_at = db::parse_timestamp(&row.try_get::<String, _>("starts_at")?)?;
    let ends_at = db::parse_timestamp(&row.try_get::<String, _>("ends_at")?)?;
    let matchers: String = row.try_get("matchers")?;
    Ok(MaintenanceWindow {
        id: row.try_get("id")?,
        starts_at,
        ends_at,
        matchers: serde_json::from_str(&matchers)
            .map_err(|e| Error::Corrupt(format!("maintenance_windows.matchers: {e}")))?,
        owner: row.try_get("owner")?,
        reason: row.try_get("reason")?,
        status: status_at(starts_at, ends_at, now),
        silence_id: row.try_get("silence_id")?,
        created_by: row.try_get("created_by")?,
        created_at: db::parse_timestamp(&row.try_get::<String, _>("created_at")?)?,
        ended_by: row.try_get("ended_by")?,
    })
}
