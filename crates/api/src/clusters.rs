//! Replicated data stores and their failovers: Redis under Sentinel and
//! PostgreSQL under Patroni. Clusters are declared in platform-admin's
//! configuration file by the platform team; what the API shows of one never
//! includes its credentials. A switchover or failover runs as a job whose
//! result is a `FailoverResult`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::FieldError;

/// What runs a cluster's failovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ClusterKind {
    /// Redis, a primary and replicas watched by Redis Sentinel.
    RedisSentinel,
    /// PostgreSQL, a leader and replicas managed by Patroni.
    Patroni,
}

impl ClusterKind {
    /// The kind as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::RedisSentinel => "redis_sentinel",
            ClusterKind::Patroni => "patroni",
        }
    }
}

/// A cluster as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ClusterSummary {
    /// The name the configuration gives it; used in paths.
    pub id: String,
    pub kind: ClusterKind,
    /// What it is called where it runs: Sentinel's master name, Patroni's scope.
    pub name: String,
    /// What the platform team wrote about it, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Every configured cluster, in the configuration file's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ClusterList {
    pub items: Vec<ClusterSummary>,
}

/// A member's part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Takes the writes (Redis master, Patroni leader).
    Primary,
    Replica,
    /// Neither could be established (the member did not answer).
    Unknown,
}

/// How a member is doing, as the console judges it from what it was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MemberHealth {
    Healthy,
    /// Up, but lagging, its replication link down, or flagged by its manager.
    Degraded,
    /// Not answering, or reported down.
    Down,
}

/// Whether a replica confirms writes before the primary acknowledges them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationMode {
    Sync,
    Async,
}

/// One server of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ClusterMember {
    /// How the cluster's manager names it (`host:port` under Sentinel,
    /// the member name under Patroni); the `candidate` of a switchover.
    pub name: String,
    pub role: MemberRole,
    pub host: String,
    pub port: u16,
    /// The manager's word for its state (`running`, `streaming`, `s_down`…).
    pub state: String,
    /// How far a replica is behind the primary, in bytes of replication
    /// stream, as its manager measures it; absent for the primary and
    /// where it cannot be known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub lag_bytes: Option<u64>,
    /// How far behind in time, where it can be derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// PostgreSQL's timeline; absent for Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub timeline: Option<u64>,
    /// Sync or async, where the manager says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationMode>,
    pub health: MemberHealth,
    /// The manager's tags (`nofailover`, `replica-priority`…), as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One of the places the topology is read from: a Sentinel or a Patroni
/// REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ClusterSource {
    pub address: String,
    pub reachable: bool,
    /// Why not, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a cluster looks like now (`GET /v1/clusters/{cluster}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ClusterTopology {
    pub id: String,
    pub kind: ClusterKind,
    pub name: String,
    /// The name of the member taking writes, when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Primary first, then replicas by name.
    pub members: Vec<ClusterMember>,
    /// What was asked and whether it answered.
    pub sources: Vec<ClusterSource>,
    /// What is wrong, in words (no source answered, no primary, …).
    #[serde(default)]
    pub problems: Vec<String>,
    pub observed_at: DateTime<Utc>,
}

/// A planned switchover (the primary is healthy and steps down) or an
/// emergency failover (the primary is gone or must be left behind).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum FailoverAction {
    #[default]
    Switchover,
    Failover,
}

impl FailoverAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverAction::Switchover => "switchover",
            FailoverAction::Failover => "failover",
        }
    }
}

/// Query of `GET /v1/clusters/{cluster}/preflight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreflightQuery {
    /// `switchover` (default) or `failover`.
    #[param(value_type = Option<FailoverAction>)]
    pub action: Option<FailoverAction>,
    /// The member to promote; without it, any eligible replica.
    pub candidate: Option<String>,
}

/// One check a switchover or failover must pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct PreflightCheck {
    /// `sources`, `quorum`, `primary`, `candidate`, `no_other_job`, …
    pub name: String,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// Whether a replica could be promoted, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct CandidateReport {
    pub member: String,
    pub eligible: bool,
    /// Every reason it is not (empty when eligible).
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// What a switchover or failover would meet now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
// Its name in the window's bindings, beside core's tenant `Preflight`; a
// container's name is not on the wire and not in the OpenAPI document.
#[serde(rename = "ClusterPreflight")]
pub struct Preflight {
    pub cluster: String,
    pub action: FailoverAction,
    /// The candidate asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Every check passed: the action may go on without being forced.
    pub passed: bool,
    pub checks: Vec<PreflightCheck>,
    /// Each replica, eligible or not.
    pub candidates: Vec<CandidateReport>,
}

impl Preflight {
    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &PreflightCheck> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// Body of `POST /v1/clusters/{cluster}/switchover` and `/failover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type, Default)]
#[serde(deny_unknown_fields)]
pub struct FailoverRequest {
    /// The member to promote; without it, the cluster's manager chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Go on even though preflight checks failed; needs a `reason`.
    #[serde(default)]
    pub force: bool,
    /// Why; required when forcing, kept in the job and the audit record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Longest `reason` accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

impl FailoverRequest {
    /// Every field error.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(candidate) = &self.candidate {
            if candidate.trim().is_empty() || candidate.len() > 255 {
                errors.push(FieldError::new(
                    "candidate",
                    "must name a member (1 to 255 characters)",
                ));
            }
        }
        let reason = self.reason.as_deref().map(str::trim).unwrap_or_default();
        if self.force && reason.is_empty() {
            errors.push(FieldError::new(
                "reason",
                "is required when forcing past failed preflight checks",
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            errors.push(FieldError::new(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        errors
    }
}

/// What a succeeded switchover or failover job produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct FailoverResult {
    pub action: FailoverAction,
    /// The primary before (its member name), when one was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_primary: Option<String>,
    /// The primary after, as the cluster's manager reports it.
    pub new_primary: String,
    /// The candidate asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Whether failed checks were forced past, and which.
    pub forced: bool,
    #[serde(default)]
    pub failed_checks: Vec<PreflightCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the switchover or failover was asked of the manager.
    pub triggered_at: DateTime<Utc>,
    /// When the new primary first accepted a write.
    pub first_write_at: DateTime<Utc>,
    /// The achieved RTO: trigger to first successful write, in seconds.
    pub rto_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forcing_needs_a_reason() {
        let forced = FailoverRequest {
            force: true,
            ..FailoverRequest::default()
        };
        let fields: Vec<String> = forced.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["reason"]);
        let explained = FailoverRequest {
            force: true,
            reason: Some("the primary's disk died".into()),
            ..FailoverRequest::default()
        };
        assert!(explained.validate().is_empty());
        let blank = FailoverRequest {
            candidate: Some(" ".into()),
            ..FailoverRequest::default()
        };
        assert_eq!(blank.validate().len(), 1);
    }
}
