//! The two-person rule: requests for a second person's approval of one
//! destructive action (`store`, `routes`), and the check a route that
//! declares the rule (`access::Declare::two_person`) passes before its
//! mutation commits (`enforce`, called from `Mutation::commit`), which uses
//! the approval up in the same transaction as the action's effect.
//!
//! Playbook runs do not use these requests: a run's own `approval` step,
//! granted by someone else holding the rule's role, approves its
//! destructive steps (`playbooks::engine`).

pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use opsdeck_api::approvals::{ApprovalAction, ApprovalState};
use opsdeck_api::backups::RestoreBackup;
use opsdeck_api::clusters::FailoverRequest;
use serde_json::Value;
use sqlx::AnyConnection;

use crate::audit::store::NewRecord;
use crate::auth::Principal;
use crate::config::TwoPersonConfig;
use crate::db;
use crate::error::Error;

/// Put on a request by the authentication layer when its route declares
/// the two-person rule for this action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared(pub ApprovalAction);

/// What audit records name an approval by.
pub fn audit_target(id: &str) -> String {
    format!("approval:{id}")
}

/// The body the grant of `action` covers, as the server reads it: the
/// action's request type, written again, so that defaults and key order
/// cannot make two equal requests differ. An error, in words, when the
/// body is not one the action's route would accept.
pub fn canonical_body(action: ApprovalAction, body: Option<&Value>) -> Result<Value, String> {
    let body = body.cloned().unwrap_or(Value::Null);
    let read = |error: serde_json::Error| {
        format!("is not a body of the {} route: {error}", action.as_str())
    };
    match action {
        ApprovalAction::BackupRestore => {
            let typed: RestoreBackup = serde_json::from_value(body).map_err(read)?;
            serde_json::to_value(typed).map_err(|e| e.to_string())
        }
        ApprovalAction::ClusterSwitchover | ApprovalAction::ClusterFailover => {
            let body = if body.is_null() {
                Value::Object(Default::default())
            } else {
                body
            };
            let typed: FailoverRequest = serde_json::from_value(body).map_err(read)?;
            serde_json::to_value(typed).map_err(|e| e.to_string())
        }
        ApprovalAction::TenantDelete => match body {
            Value::Null => Ok(Value::Null),
            Value::Object(fields) if fields.is_empty() => Ok(Value::Null),
            _ => Err("must be absent: a tenant deletion sends no body".to_string()),
        },
    }
}

/// The state shown at `now`: a pending or granted approval past its
/// expiry is expired.
pub fn state_at(
    stored: ApprovalState,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApprovalState {
    match stored {
        ApprovalState::Pending | ApprovalState::Granted if now >= expires_at => {
            ApprovalState::Expired
        }
        other => other,
    }
}

/// Whether a maintenance window is active at `now`: inside one, the rule
/// asks for no approval (the change was planned and announced).
pub async fn in_maintenance(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<bool, Error> {
    let at = db::timestamp(now);
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM maintenance_windows WHERE starts_at <= $1 AND ends_at > $1 LIMIT 1",
    )
    .bind(&at)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// What one request of a two-person route asks the rule.
#[derive(Debug)]
pub struct Check<'a> {
    pub action: ApprovalAction,
    pub target: &'a str,
    pub body: &'a Value,
    /// The `Opsdeck-Approval` header, if sent.
    pub approval: Option<&'a str>,
    pub principal: &'a Principal,
    pub request_id: &'a str,
}

/// The two-person rule for one request, inside the transaction of its
/// effect: nothing when the rule is off or a maintenance window is active;
/// else the approval named must be granted, unexpired, unused, of this
/// caller, for this action, target and body. It is marked used (and the
/// use audited) in `conn`'s transaction, so it is used once: a second use
/// finds it used. Returns the approval used.
pub async fn enforce(
    conn: &mut AnyConnection,
    rule: &TwoPersonConfig,
    check: Check<'_>,
) -> Result<Option<String>, Error> {
    if !rule.enabled {
        return Ok(None);
    }
    let now = db::now();
    if in_maintenance(conn, now).await? {
        return Ok(None);
    }
    let refuse = |why: Option<String>| Error::ApprovalRequired {
        action: check.action,
        target: check.target.to_string(),
        role: rule.role().to_string(),
        expires_after: rule.expires_after(),
        why,
    };
    let Some(id) = check.approval.map(str::trim).filter(|id| !id.is_empty()) else {
        return Err(refuse(None));
    };
    let body = canonical_body(check.action, Some(check.body))
        .map_err(|why| refuse(Some(format!("the request body {why}"))))?;
    let body = serde_json::to_string(&body)?;
    let used = store::use_granted(
        conn,
        store::Use {
            id,
            action: check.action,
            target: check.target,
            body: &body,
            requester: &check.principal.owner,
            now,
        },
    )
    .await?;
    if !used {
        let why = match store::get(conn, id).await? {
            None => format!("there is no approval `{id}`"),
            Some(found) => why_unusable(&found, &check, &body, now),
        };
        return Err(refuse(Some(why)));
    }
    let after = serde_json::json!({ "action": check.action.as_str(), "target": check.target });
    let after = serde_json::to_string(&after)?;
    crate::audit::store::insert(
        conn,
        &NewRecord {
            id: uuid::Uuid::now_v7(),
            at: now,
            actor: &check.principal.name,
            action: "approval.use",
            target: &audit_target(id),
            tenant_id: None,
            before: None,
            after: Some(&after),
            request_id: check.request_id,
            idempotency_key: None,
        },
    )
    .await?;
    Ok(Some(id.to_string()))
}

/// Why the approval found cannot be used for the request, in its words.
fn why_unusable(
    found: &store::Stored,
    check: &Check<'_>,
    body: &str,
    now: DateTime<Utc>,
) -> String {
    let id = &found.approval.id;
    let state = state_at(found.stored_state, found.approval.expires_at, now);
    if found.requester != check.principal.owner {
        format!(
            "approval `{id}` was asked for by {}; only they may use it",
            found.approval.requested_by
        )
    } else if found.approval.action != check.action || found.approval.target != check.target {
        format!(
            "approval `{id}` is for the {}, not this one",
            found.approval.action.describe(&found.approval.target)
        )
    } else if state != ApprovalState::Granted {
        match state {
            ApprovalState::Pending => format!("approval `{id}` is not granted yet"),
            ApprovalState::Used => {
                format!("approval `{id}` was used already; an approval is used once")
            }
            ApprovalState::Expired => format!("approval `{id}` has expired"),
            _ => format!("approval `{id}` was {state}"),
        }
    } else if found.body_text != body {
        format!("approval `{id}` covers another request body than this one")
    } else {
        format!("approval `{id}` cannot be used for this request")
    }
}
