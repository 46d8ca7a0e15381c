//! SQL of the incidents and incident_alerts tables. A transition is one
//! `UPDATE … WHERE status IN (…) RETURNING`, so two racing requests cannot
//! both move an incident.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::{Incident, IncidentStatus, LinkedAlert, Severity};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::db;
use crate::error::Error;

const COLUMNS: &str = "id, title, severity, commander, status, opened_by, started_at, \
    acknowledged_at, mitigated_at, resolved_at, escalation_level";

pub async fn insert(conn: &mut AnyConnection, incident: &Incident) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO incidents (id, title, severity, commander, status, opened_by, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&incident.id)
    .bind(&incident.title)
    .bind(incident.severity.as_str())
    .bind(&incident.commander)
    .bind(incident.status.as_str())
    .bind(&incident.opened_by)
    .bind(db::timestamp(incident.started_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// An incident as stored, with how often it was escalated.
#[derive(Debug, Clone)]
pub struct Stored {
    pub incident: Incident,
    pub escalation_level: u32,
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Which incidents a page lists: newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only ids before this one (the cursor).
    pub before: Option<String>,
    pub status: Option<IncidentStatus>,
    pub limit: u32,
}

pub async fn list(conn: &mut AnyConnection, filter: &ListFilter) -> Result<Vec<Incident>, Error> {
    let mut conditions = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(before) = &filter.before {
        binds.push(before.clone());
        conditions.push(format!("id < ${}", binds.len()));
    }
    if let Some(status) = filter.status {
        binds.push(status.as_str().to_string());
        conditions.push(format!("status = ${}", binds.len()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents{clause} ORDER BY id DESC LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for bind in &binds {
        query = query.bind(bind.as_str());
    }
    let rows = query.bind(i64::from(filter.limit)).fetch_all(conn).await?;
    rows.iter()
        .map(|row| from_row(row).map(|s| s.incident))
        .collect()
}

/// The ids of the incidents not resolved yet.
pub async fn unresolved(conn: &mut AnyConnection) -> Result<Vec<String>, Error> {
    let rows = sqlx::query("SELECT id FROM incidents WHERE status <> 'resolved' ORDER BY id")
        .fetch_all(conn)
        .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

/// Open (unacknowledged) incidents of these severities.
pub async fn unacknowledged(
    conn: &mut AnyConnection,
    severities: &[Severity],
) -> Result<Vec<Stored>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM incidents WHERE status = 'open' ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    let all: Vec<Stored> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok(all
        .into_iter()
        .filter(|s| severities.contains(&s.incident.severity))
        .collect())
}

/// Raises an open incident's escalation level from `from` to `from + 1`;
/// false when it was acknowledged or escalated by someone else meanwhile.
pub async fn escalate(conn: &mut AnyConnection, id: &str, from: u32) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE incidents SET escalation_level = escalation_level + 1 \
         WHERE id = $1 AND escalation_level = $2 AND status = 'open'",
    )
    .bind(id)
    .bind(i64::from(from))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the incident to `to` if its status is one of `from`, setting the
/// time column of `to` to `at` (a skipped status keeps no time; the
/// targets count a later one as reaching it). `None` when it was not in
/// one of `from`.
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: &[IncidentStatus],
    to: IncidentStatus,
    at: DateTime<Utc>,
) -> Result<Option<Incident>, Error> {
    let column = match to {
        IncidentStatus::Acknowledged => "acknowledged_at",
        IncidentStatus::Mitigated => "mitigated_at",
        IncidentStatus::Resolved => "resolved_at",
        IncidentStatus::Open => return Ok(None),
    };
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "UPDATE incidents SET status = $1, {column} = $2 \
         WHERE id = $3 AND status IN ({}) RETURNING {COLUMNS}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(db::timestamp(at))
        .bind(id);
    for status in from {
        query = query.bind(status.as_str());
    }
    let row = query.fetch_optional(conn).await?;
    row.as_ref()
        .map(|r| from_row(r).map(|s| s.incident))
        .transpose()
}

/// Links an alert; false when it was linked already.
pub async fn link_alert(
    conn: &mut AnyConnection,
    incident_id: &str,
    alert: &LinkedAlert,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO incident_alerts \
         (incident_id, fingerprint, alertname, labels, starts_at, linked_at, linked_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, fingerprint) DO NOTHING",
    )
    .bind(incident_id)
    .bind(&alert.fingerprint)
    .bind(&alert.alertname)
    .bind(serde_json::to_string(&alert.labels)?)
    .bind(db::timestamp(alert.starts_at))
    .bind(db::timestamp(alert.linked_at))
    .bind(&alert.linked_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The incident's linked alerts, in the order they started.
pub async fn alerts(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<Vec<LinkedAlert>, Error> {
    let rows = sqlx::query(
        "SELECT fingerprint, alertname, labels, starts_at, linked_at, linked_by \
         FROM incident_alerts WHERE incident_id = $1 ORDER BY starts_at, fingerprint",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let labels: String = row.try_get("labels")?;
            let labels: BTreeMap<String, String> = serde_json::from_str(&labels)
                .map_err(|e| Error::Corrupt(format!("incident_alerts.labels: {e}")))?;
            Ok(LinkedAlert {
                fingerprint: row.try_get("fingerprint")?,
                alertname: row.try_get("alertname")?,
                labels,
                starts_at: db::parse_timestamp(&row.try_get::<String, _>("starts_at")?)?,
                linked_at: db::parse_timestamp(&row.try_get::<String, _>("linked_at")?)?,
                linked_by: row.try_get("linked_by")?,
            })
        })
        .collect()
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, Error> {
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(db::parse_timestamp).transpose()
}

fn from_row(row: &AnyRow) -> Result<Stored, Error> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    let level: i64 = row.try_get("escalation_level")?;
    Ok(Stored {
        incident: Incident {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            severity: severity
                .parse()
                .map_err(|e| Error::Corrupt(format!("incidents.severity: {e}")))?,
            commander: row.try_get("commander")?,
            status: status
                .parse()
                .map_err(|e| Error::Corrupt(format!("incidents.status: {e}")))?,
            opened_by: row.try_get("opened_by")?,
            started_at: db::parse_timestamp(&row.try_get::<String, _>("started_at")?)?,
            acknowledged_at: optional_time(row, "acknowledged_at")?,
            mitigated_at: optional_time(row, "mitigated_at")?,
            resolved_at: optional_time(row, "resolved_at")?,
        },
        escalation_level: u32::try_from(level).unwrap_or(u32::MAX),
    })
}
