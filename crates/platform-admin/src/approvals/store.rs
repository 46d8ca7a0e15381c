//! SQL of the approval_requests table.

use chrono::{DateTime, Utc};
use opsdeck_api::approvals::{Approval, ApprovalAction, ApprovalState};
use opsdeck_api::rbac::Subject;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::db;
use crate::error::Error;

const COLUMNS: &str = "id, action, target, body, reason, role, requested_by, requester_kind, \
     requester_id, requested_at, expires_at, state, decided_by, decided_at, note, used_at";

/// A row as stored, with what the API does not show.
#[derive(Debug, Clone)]
pub struct Stored {
    /// With `state` as shown at the time it was read.
    pub approval: Approval,
    pub stored_state: ApprovalState,
    pub requester: Subject,
    /// The canonical JSON text of the body it covers.
    pub body_text: String,
}

/// A new request for approval.
#[derive(Debug)]
pub struct New<'a> {
    pub id: &'a str,
    pub action: ApprovalAction,
    pub target: &'a str,
    pub body: &'a str,
    pub reason: &'a str,
    pub role: &'a str,
    pub requested_by: &'a str,
    pub requester: &'a Subject,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AnyConnection, new: &New<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO approval_requests (id, action, target, body, reason, role, requested_by, \
         requester_kind, requester_id, requested_at, expires_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending')",
    )
    .bind(new.id)
    .bind(new.action.as_str())
    .bind(new.target)
    .bind(new.body)
    .bind(new.reason)
    .bind(new.role)
    .bind(new.requested_by)
    .bind(new.requester.kind.as_str())
    .bind(new.requester.id.as_str())
    .bind(db::timestamp(new.requested_at))
    .bind(db::timestamp(new.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| from_row(r, db::now())).transpose()
}

/// Newest first; only ids before `before`, and only those shown in `state`
/// at `now`, when given.
pub async fn list(
    conn: &mut AnyConnection,
    state: Option<ApprovalState>,
    before: Option<&str>,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Approval>, Error> {
    let at = db::timestamp(now);
    // Expiry is computed, so the state filter is said in terms of what is
    // stored and the clock.
    let (filter, binds_now) = match state {
        None => ("1 = 1", false),
        Some(ApprovalState::Pending) => ("state = 'pending' AND expires_at > $1", true),
        Some(ApprovalState::Granted) => ("state = 'granted' AND expires_at > $1", true),
        Some(ApprovalState::Expired) => (
            "(state = 'expired' OR (state IN ('pending', 'granted') AND expires_at <= $1))",
            true,
        ),
        Some(ApprovalState::Denied) => ("state = 'denied'", false),
        Some(ApprovalState::Used) => ("state = 'used'", false),
    };
    let mut next = if binds_now { 2 } else { 1 };
    let mut sql = format!("SELECT {COLUMNS} FROM approval_requests WHERE {filter}");
    if before.is_some() {
        sql.push_str(&format!(" AND id < ${next}"));
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${next}"));
    let mut query = sqlx::query(&sql);
    if binds_now {
        query = query.bind(&at);
    }
    if let Some(before) = before {
        query = query.bind(before);
    }
    let rows = query.bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter()
        .map(|r| from_row(r, now).map(|s| s.approval))
        .collect()
}

/// Decides a pending, unexpired approval: `granted` or `denied`. False
/// when it was no longer pending or had expired by `now`.
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    to: ApprovalState,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let at = db::timestamp(now);
    let done = sqlx::query(
        "UPDATE approval_requests SET state = $1, decided_by = $2, decided_at = $3, note = $4 \
         WHERE id = $5 AND state = 'pending' AND expires_at > $3",
    )
    .bind(to.as_str())
    .bind(by)
    .bind(&at)
    .bind(note)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The approval a request of a two-person route names.
#[derive(Debug)]
pub struct Use<'a> {
    pub id: &'a str,
    pub action: ApprovalAction,
    pub target: &'a str,
    pub body: &'a str,
    pub requester: &'a Subject,
    pub now: DateTime<Utc>,
}

/// Marks the approval used if it is granted, unexpired and for exactly
/// this request; false when not. One statement, so two requests racing
/// for one approval cannot both use it.
pub async fn use_granted(conn: &mut AnyConnection, u: Use<'_>) -> Result<bool, Error> {
    let at = db::timestamp(u.now);
    let done = sqlx::query(
        "UPDATE approval_requests SET state = 'used', used_at = $1 \
         WHERE id = $2 AND state = 'granted' AND expires_at > $1 AND action = $3 \
         AND target = $4 AND body = $5 AND requester_kind = $6 AND requester_id = $7",
    )
    .bind(&at)
    .bind(u.id)
    .bind(u.action.as_str())
    .bind(u.target)
    .bind(u.body)
    .bind(u.requester.kind.as_str())
    .bind(u.requester.id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|t| db::parse_timestamp(&t))
        .transpose()
}

fn from_row(row: &AnyRow, now: DateTime<Utc>) -> Result<Stored, Error> {
    let corrupt = |column: &str, value: &str| {
        Error::Corrupt(format!("approval_requests.{column} = `{value}`"))
    };
    let action: String = row.try_get("action")?;
    let action: ApprovalAction = action.parse().map_err(|_| corrupt("action", &action))?;
    let state: String = row.try_get("state")?;
    let stored_state: ApprovalState = state.parse().map_err(|_| corrupt("state", &state))?;
    let kind: String = row.try_get("requester_kind")?;
    let requester = Subject {
        kind: kind.parse().map_err(|_| corrupt("requester_kind", &kind))?,
        id: row.try_get("requester_id")?,
    };
    let body_text: String = row.try_get("body")?;
    let body = serde_json::from_str(&body_text)
        .map_err(|e| Error::Corrupt(format!("approval_requests.body: {e}")))?;
    let expires_at = db::parse_timestamp(&row.try_get::<String, _>("expires_at")?)?;
    Ok(Stored {
        approval: Approval {
            id: row.try_get("id")?,
            action,
            target: row.try_get("target")?,
            body,
            reason: row.try_get("reason")?,
            requested_by: row.try_get("requested_by")?,
            requested_at: db::parse_timestamp(&row.try_get::<String, _>("requested_at")?)?,
            expires_at,
            state: super::state_at(stored_state, expires_at, now),
            role: row.try_get("role")?,
            decided_by: row.try_get("decided_by")?,
            decided_at: optional_time(row, "decided_at")?,
            note: row.try_get("note")?,
            used_at: optional_time(row, "used_at")?,
        },
        stored_state,
        requester,
        body_text,
    })
}
