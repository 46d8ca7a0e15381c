//! The timeline of an incident: one ordered list of what happened during
//! it. `append` is the one way in, usable inside any module's transaction
//! (the run engine appends its steps with it): it bumps the incident's
//! `last_seq` first, which takes the incident row's write lock on
//! PostgreSQL (SQLite's `BEGIN IMMEDIATE` holds the database's already), so
//! concurrent appends get consecutive numbers and never the same one.

use opsdeck_api::incidents::TimelineEvent;
use sqlx::{AnyConnection, Row as _};

use crate::db;
use crate::error::Error;

/// Kinds the incidents module itself writes; other modules add their own.
pub mod kind {
    pub const OPENED: &str = "opened";
    pub const ACKNOWLEDGED: &str = "acknowledged";
    pub const MITIGATED: &str = "mitigated";
    pub const RESOLVED: &str = "resolved";
    pub const NOTE: &str = "note";
    pub const ALERT_LINKED: &str = "alert_linked";
    pub const ESCALATED: &str = "escalated";
    pub const MAINTENANCE_STARTED: &str = "maintenance_started";
    pub const MAINTENANCE_SCHEDULED: &str = "maintenance_scheduled";
    pub const MAINTENANCE_ENDED: &str = "maintenance_ended";
}

/// Appends one event to the incident's timeline inside the caller's
/// transaction and returns its `seq`; `IncidentNotFound` when there is no
/// such incident.
pub async fn append(
    conn: &mut AnyConnection,
    incident_id: &str,
    actor: &str,
    kind: &str,
    text: &str,
    detail: Option<&serde_json::Value>,
) -> Result<i64, Error> {
    let row = sqlx::query(
        "UPDATE incidents SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(incident_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::IncidentNotFound(incident_id.to_string()))?;
    let seq: i64 = row.try_get("last_seq")?;
    let detail = detail.map(serde_json::to_string).transpose()?;
    sqlx::query(
        "INSERT INTO incident_events (incident_id, seq, at, actor, kind, text, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(incident_id)
    .bind(seq)
    .bind(db::timestamp(db::now()))
    .bind(actor)
    .bind(kind)
    .bind(text)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// The incident's timeline, oldest first.
pub async fn list(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<Vec<TimelineEvent>, Error> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, kind, text, detail FROM incident_events \
         WHERE incident_id = $1 ORDER BY seq",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let detail: Option<String> = row.try_get("detail")?;
            let detail = detail
                .map(|d| {
                    serde_json::from_str(&d)
                        .map_err(|e| Error::Corrupt(format!("incident_events.detail: {e}")))
                })
                .transpose()?;
            Ok(TimelineEvent {
                seq: row.try_get("seq")?,
                at: db::parse_timestamp(&row.try_get::<String, _>("at")?)?,
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                text: row.try_get("text")?,
                detail,
            })
        })
        .collect()
}
