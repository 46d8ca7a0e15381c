//! The two-person rule from the console's side: ask a second person's
//! approval of a destructive action (restore, switchover, failover,
//! tenant deletion), list what approvers are asked, grant or deny, and
//! use a granted approval with the action it covers (`restore_approved`,
//! `start_checked_approved`, `act_approved` on the capabilities).
//!
//! An approval covers one action, one target and one request body; core
//! builds the body of a [`Destructive`] exactly as the action's own call
//! sends it, so a request and its later use always agree.

use chrono::{DateTime, Utc};
use opsdeck_api::approvals::{
    Approval, ApprovalAction, ApprovalPage, ApprovalState, DecideApproval, RequestApproval,
};
use opsdeck_api::backups::RestoreBackup;
use opsdeck_api::clusters::{FailoverAction, FailoverRequest};
use reqwest::Method;
use serde::Serialize;

use crate::client::MAX_PAGE_BYTES;
use crate::error::{Error, Result};
use crate::sanitize;
use crate::session::Session;

impl Session {
    /// Requests for a second person's approval on this session's server.
    pub fn approvals(&self) -> Approvals<'_> {
        Approvals { session: self }
    }
}

/// The approvals of a session's server.
pub struct Approvals<'s> {
    session: &'s Session,
}

/// A destructive action as the console would send it: what an approval is
/// asked for.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destructive {
    /// `backups restore`: to `to`, or the newest point.
    Restore {
        target: String,
        to: Option<DateTime<Utc>>,
    },
    /// A cluster's switchover or failover with its request.
    Cluster {
        cluster: String,
        action: FailoverAction,
        request: FailoverRequest,
    },
    /// Deleting a tenant, named by its slug.
    DeleteTenant { tenant: String },
}

impl Destructive {
    pub fn action(&self) -> ApprovalAction {
        match self {
            Destructive::Restore { .. } => ApprovalAction::BackupRestore,
            Destructive::Cluster {
                action: FailoverAction::Switchover,
                ..
            } => ApprovalAction::ClusterSwitchover,
            Destructive::Cluster {
                action: FailoverAction::Failover,
                ..
            } => ApprovalAction::ClusterFailover,
            Destructive::DeleteTenant { .. } => ApprovalAction::TenantDelete,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Destructive::Restore { target, .. } => target,
            Destructive::Cluster { cluster, .. } => cluster,
            Destructive::DeleteTenant { tenant } => tenant,
        }
    }

    /// The body the action's call sends, which the approval must cover.
    pub fn body(&self) -> Result<Option<serde_json::Value>> {
        let value = match self {
            Destructive::Restore { target, to } => serde_json::to_value(restore_body(target, *to)),
            Destructive::Cluster { request, .. } => serde_json::to_value(request),
            Destructive::DeleteTenant { .. } => return Ok(None),
        };
        value
            .map(Some)
            .map_err(|e| Error::invalid("body", e.to_string()))
    }
}

/// The body of a restore of `target` to `to`, as `Backups::restore` sends it.
pub(crate) fn restore_body(target: &str, to: Option<DateTime<Utc>>) -> RestoreBackup {
    RestoreBackup {
        to,
        confirm: target.to_string(),
    }
}

/// The approval's text cleaned of terminal control.
pub fn clean(mut approval: Approval) -> Approval {
    for text in [
        &mut approval.id,
        &mut approval.target,
        &mut approval.reason,
        &mut approval.requested_by,
        &mut approval.role,
    ] {
        *text = sanitize::remote(text);
    }
    for text in [&mut approval.decided_by, &mut approval.note]
        .into_iter()
        .flatten()
    {
        *text = sanitize::remote(text);
    }
    approval
}

impl Approvals<'_> {
    /// One page, newest first; only those in `state` when given (`pending`:
    /// what approvers are asked).
    pub async fn list(
        &self,
        state: Option<ApprovalState>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<ApprovalPage> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            state: Option<ApprovalState>,
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<String>,
        }
        let mut page: ApprovalPage = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "approvals"],
                Some(&Query {
                    state,
                    limit,
                    cursor,
                }),
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        page.items = page.items.into_iter().map(clean).collect();
        Ok(page)
    }

    pub async fn get(&self, id: &str) -> Result<Approval> {
        let approval: Approval = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "approvals", checked_id(id)?],
                None::<&()>,
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(approval))
    }

    /// Asks for an approval of `action` on `target` with `body` as sent
    /// (for scripts that know the body); [`Self::request_for`] builds it.
    pub async fn request(&self, request: &RequestApproval) -> Result<Approval> {
        self.session.profile().writable()?;
        if request.reason.trim().is_empty() {
            return Err(Error::invalid(
                "reason",
                "say why: it is what the approver reads",
            ));
        }
        let key = uuid::Uuid::new_v4().to_string();
        let approval: Approval = self
            .session
            .admin()
            .call(
                Method::POST,
                &["v1", "approvals"],
                None::<&()>,
                Some(request),
                Some(&key),
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(approval))
    }

    /// Asks for an approval of `action`, with the body its call will send.
    pub async fn request_for(&self, action: &Destructive, reason: &str) -> Result<Approval> {
        self.request(&RequestApproval {
            action: action.action(),
            target: action.target().to_string(),
            body: action.body()?,
            reason: reason.to_string(),
        })
        .await
    }

    /// Grants a pending approval: the server refuses its requester and
    /// anyone without the rule's role.
    pub async fn grant(&self, id: &str, note: Option<&str>) -> Result<Approval> {
        self.decide(id, "grant", note).await
    }

    /// Denies a pending approval; the same people may as may grant.
    pub async fn deny(&self, id: &str, note: Option<&str>) -> Result<Approval> {
        self.decide(id, "deny", note).await
    }

    async fn decide(&self, id: &str, verb: &str, note: Option<&str>) -> Result<Approval> {
        self.session.profile().writable()?;
        let body = DecideApproval {
            note: note.map(str::to_string),
        };
        let key = uuid::Uuid::new_v4().to_string();
        let approval: Approval = self
            .session
            .admin()
            .call(
                Method::POST,
                &["v1", "approvals", checked_id(id)?, verb],
                None::<&()>,
                Some(&body),
                Some(&key),
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(approval))
    }
}

/// An approval id as typed: not empty, one path segment.
fn checked_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() || id.len() > 100 || id.contains(['/', '?', '#']) {
        return Err(Error::invalid(
            "approval",
            format!("`{id}` is not an approval's id"),
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destructive_action_names_its_approval_action_target_and_body() {
        let restore = Destructive::Restore {
            target: "main-db".into(),
            to: None,
        };
        assert_eq!(restore.action(), ApprovalAction::BackupRestore);
        assert_eq!(
            restore.body().expect("a body"),
            Some(serde_json::json!({"confirm": "main-db"}))
        );
        let failover = Destructive::Cluster {
            cluster: "cache".into(),
            action: FailoverAction::Failover,
            request: FailoverRequest::default(),
        };
        assert_eq!(failover.action(), ApprovalAction::ClusterFailover);
        assert_eq!(failover.target(), "cache");
        let delete = Destructive::DeleteTenant {
            tenant: "acme".into(),
        };
        assert_eq!(delete.body().expect("no body"), None);
        assert!(checked_id("../x").is_err());
    }

    #[test]
    fn approval_required_is_remedied_by_asking_the_role_named() {
        use opsdeck_api::{ErrorCode, ErrorEnvelope, FieldError};
        let error = Error::Api {
            status: 428,
            envelope: ErrorEnvelope {
                code: ErrorCode::ApprovalRequired,
                message: "the deletion of tenant `acme` needs a second person's approval".into(),
                details: vec![
                    FieldError::new("action", "tenant.delete"),
                    FieldError::new("target", "acme"),
                    FieldError::new("role", "platform-admin"),
                    FieldError::new("expires_after_seconds", "1800"),
                ],
                request_id: None,
            },
        };
        assert_eq!(
            error.remedy(),
            Some(crate::Remedy::RequestApproval {
                action: "tenant.delete".into(),
                target: "acme".into(),
                role: "platform-admin".into(),
                expires_after_seconds: 1800,
            })
        );
        assert_eq!(error.code().as_str(), "approval_required");
    }
}
