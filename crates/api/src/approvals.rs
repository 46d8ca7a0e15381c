//! The two-person rule as the API shows it: a request for a second
//! person's approval of one destructive action on one target with one
//! body, its grant or denial, and its single use.
//!
//! When the server's rule is on and no maintenance window is active, a
//! route that declares the rule answers 428 (`approval_required`) unless
//! the request carries `Opsdeck-Approval: <id>` naming a granted, unexpired
//! and unused approval of the same caller for the same action, target and
//! body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{check_name, normalize_name, Validate};
use crate::FieldError;

/// The request header that names the approval a destructive request uses.
pub const APPROVAL_HEADER: &str = "opsdeck-approval";

/// The field of a route's `x-permission` extension that says it needs an
/// approval: `"two_person": {"action": "backup.restore", "header": "Opsdeck-Approval"}`.
pub const TWO_PERSON_EXTENSION: &str = "two_person";

/// The `details` fields of an `approval_required` error, by name: what to
/// ask approval for and who may give it.
pub const DETAIL_ACTION: &str = "action";
pub const DETAIL_TARGET: &str = "target";
pub const DETAIL_ROLE: &str = "role";
/// Seconds a request stays open and a grant usable.
pub const DETAIL_EXPIRES_AFTER: &str = "expires_after_seconds";

/// A destructive action the two-person rule covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
pub enum ApprovalAction {
    /// `POST /v1/backup-targets/{target}/restore`; the target is the backup
    /// target's id.
    #[serde(rename = "backup.restore")]
    BackupRestore,
    /// `POST /v1/clusters/{cluster}/switchover`; the target is the cluster's id.
    #[serde(rename = "cluster.switchover")]
    ClusterSwitchover,
    /// `POST /v1/clusters/{cluster}/failover`; the target is the cluster's id.
    #[serde(rename = "cluster.failover")]
    ClusterFailover,
    /// `DELETE /v1/tenants/{tenant}`; the target is the tenant's slug.
    #[serde(rename = "tenant.delete")]
    TenantDelete,
}

impl ApprovalAction {
    pub const ALL: [ApprovalAction; 4] = [
        ApprovalAction::BackupRestore,
        ApprovalAction::ClusterSwitchover,
        ApprovalAction::ClusterFailover,
        ApprovalAction::TenantDelete,
    ];

    /// The action as it is on the wire and in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAction::BackupRestore => "backup.restore",
            ApprovalAction::ClusterSwitchover => "cluster.switchover",
            ApprovalAction::ClusterFailover => "cluster.failover",
            ApprovalAction::TenantDelete => "tenant.delete",
        }
    }

    /// The action in words, for messages: "restore of backup target `main`".
    pub fn describe(self, target: &str) -> String {
        match self {
            ApprovalAction::BackupRestore => format!("restore of backup target `{target}`"),
            ApprovalAction::ClusterSwitchover => format!("switchover of cluster `{target}`"),
            ApprovalAction::ClusterFailover => format!("failover of cluster `{target}`"),
            ApprovalAction::TenantDelete => format!("deletion of tenant `{target}`"),
        }
    }
}

impl std::fmt::Display for ApprovalAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ApprovalAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApprovalAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ApprovalAction::ALL.iter().map(|a| a.as_str()).collect();
                format!(
                    "`{s}` is not an action the two-person rule covers ({})",
                    known.join(", ")
                )
            })
    }
}

/// Where a request for approval is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Asked for, not decided, not expired.
    Pending,
    /// Granted by a second person; usable once until it expires.
    Granted,
    Denied,
    /// Not decided, or granted and not used, before `expires_at`.
    Expired,
    /// Granted and used by the action it covers.
    Used,
}

impl ApprovalState {
    pub const ALL: [ApprovalState; 5] = [
        ApprovalState::Pending,
        ApprovalState::Granted,
        ApprovalState::Denied,
        ApprovalState::Expired,
        ApprovalState::Used,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Granted => "granted",
            ApprovalState::Denied => "denied",
            ApprovalState::Expired => "expired",
            ApprovalState::Used => "used",
        }
    }
}

impl std::fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ApprovalState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApprovalState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a state (pending, granted, denied, expired, used)")
            })
    }
}

/// Body of `POST /v1/approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct RequestApproval {
    pub action: ApprovalAction,
    /// The backup target's or cluster's id, or the tenant's slug or id.
    pub target: String,
    /// The body the destructive request will send (`{"confirm": "main"}`
    /// for a restore); absent or `null` for a tenant deletion. The grant
    /// covers this body only.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<crate::jobs::JsonValue>)]
    pub body: Option<serde_json::Value>,
    /// Why: what the approver reads.
    pub reason: String,
}

impl RequestApproval {
    pub fn normalized(mut self) -> Self {
        self.reason = normalize_name(&self.reason);
        self.target = self.target.trim().to_string();
        self
    }
}

impl Validate for RequestApproval {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_name("reason", &self.reason, &mut errors);
        if self.target.is_empty() || self.target.len() > 255 {
            errors.push(FieldError::new("target", "must be 1 to 255 characters"));
        }
        errors
    }
}

/// Body of `POST /v1/approvals/{id}/grant` and `…/deny`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct DecideApproval {
    /// Why, kept with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl DecideApproval {
    pub fn normalized(mut self) -> Self {
        self.note = self
            .note
            .map(|n| normalize_name(&n))
            .filter(|n| !n.is_empty());
        self
    }
}

impl Validate for DecideApproval {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(note) = &self.note {
            check_name("note", note, &mut errors);
        }
        errors
    }
}

/// A request for a second person's approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Approval {
    /// UUID v7; what `Opsdeck-Approval` names.
    pub id: String,
    pub action: ApprovalAction,
    pub target: String,
    /// The body the grant covers, as the server reads it.
    #[schema(value_type = Object)]
    #[specta(type = crate::jobs::JsonValue)]
    pub body: serde_json::Value,
    pub reason: String,
    /// Who asked, and who alone may use it.
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// After it, it can neither be granted nor used.
    pub expires_at: DateTime<Utc>,
    /// Computed with the server's clock.
    pub state: ApprovalState,
    /// The role a granter must hold.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
}

/// One page of approvals, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ApprovalPage {
    pub items: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/approvals`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListApprovals {
    /// Only approvals in this state (`pending`: what approvers are asked).
    pub state: Option<ApprovalState>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_states_round_trip_through_their_wire_names() {
        for action in ApprovalAction::ALL {
            let json = serde_json::to_string(&action).expect("serialize");
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(action.as_str().parse::<ApprovalAction>(), Ok(action));
        }
        for state in ApprovalState::ALL {
            assert_eq!(state.as_str().parse::<ApprovalState>(), Ok(state));
        }
        assert!("tenant.purge".parse::<ApprovalAction>().is_err());
    }

    #[test]
    fn a_request_needs_a_reason_and_a_target() {
        let request = RequestApproval {
            action: ApprovalAction::TenantDelete,
            target: String::new(),
            body: None,
            reason: "  ".into(),
        }
        .normalized();
        let fields: Vec<_> = request
            .field_errors()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert!(fields.contains(&"target".to_string()), "{fields:?}");
        assert!(fields.contains(&"reason".to_string()), "{fields:?}");
    }
}
