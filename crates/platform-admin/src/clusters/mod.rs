//! Clusters: the replicated data stores the configuration declares, their
//! topology as their manager reports it (`sentinel`, `patroni`), the
//! preflight that says whether a switchover or failover may go on and why
//! each candidate may or may not be promoted, the routes, and what a
//! switchover or failover job does (`job`). What the console promises is
//! what the manager did: it reports, it does not add guarantees.

pub mod job;
pub mod patroni;
pub mod routes;
pub mod sentinel;

use std::collections::BTreeMap;
use std::time::Instant;

use opsdeck_api::clusters::{
    CandidateReport, ClusterTopology, FailoverAction, MemberHealth, MemberRole, Preflight,
    PreflightCheck,
};

use crate::config::{ClusterConfig, Manager};

/// The job kind of a switchover.
pub const SWITCHOVER: &str = "cluster.switchover";
/// The job kind of a failover.
pub const FAILOVER: &str = "cluster.failover";

/// The job kind of `action`.
pub fn job_kind(action: FailoverAction) -> &'static str {
    match action {
        FailoverAction::Switchover => SWITCHOVER,
        FailoverAction::Failover => FAILOVER,
    }
}

/// What a cluster job's `target` column says: one mutating job per cluster.
pub fn job_target(id: &str) -> String {
    format!("cluster:{id}")
}

/// `host:port` split, the port a number; `None` when it is not that.
pub fn split_host_port(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// What was seen of a cluster: its topology and what the manager alone
/// can tell about a switchover (quorum, a failover already under way, why
/// a member may never be promoted).
#[derive(Debug, Clone)]
pub struct Observation {
    pub topology: ClusterTopology,
    /// The manager's own checks.
    pub checks: Vec<PreflightCheck>,
    /// Per member, reasons it may not be promoted whatever its state
    /// (`replica-priority 0`, `nofailover`).
    pub vetoes: BTreeMap<String, Vec<String>>,
}

impl Observation {
    /// What is known when none of the manager's `total` sources (`noun`:
    /// Sentinels, Patroni APIs) answered: each source's error, in the
    /// topology's problems and as the failed check `check`.
    pub fn unanswered(
        mut topology: ClusterTopology,
        mut checks: Vec<PreflightCheck>,
        vetoes: BTreeMap<String, Vec<String>>,
        total: usize,
        noun: &str,
        check: &str,
    ) -> Self {
        let said: Vec<String> = topology
            .sources
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.address,
                    s.error.as_deref().unwrap_or("no answer")
                )
            })
            .collect();
        let detail = format!("none of the {total} {noun} answered ({})", said.join("; "));
        topology.problems.push(detail.clone());
        checks.push(PreflightCheck {
            name: check.into(),
            passed: false,
            detail,
        });
        Self {
            topology,
            checks,
            vetoes,
        }
    }
}

/// How a switchover or failover went, as the manager and the new primary
/// showed it.
#[derive(Debug, Clone)]
pub struct Acted {
    pub new_primary: String,
    /// When the manager was asked.
    pub triggered: Instant,
    pub triggered_at: chrono::DateTime<chrono::Utc>,
    /// When the new primary first took a write.
    pub first_write: Instant,
    pub first_write_at: chrono::DateTime<chrono::Utc>,
}

/// Reads the cluster's topology from its manager, within its timeouts.
pub async fn observe(cluster: &ClusterConfig) -> Observation {
    match &cluster.manager {
        Manager::RedisSentinel(config) => sentinel::observe(cluster, config).await,
        Manager::Patroni(config) => patroni::observe(cluster, config).await,
    }
}

/// Why `candidate` cannot be the candidate at all (it is not a replica of
/// the cluster), when the topology was read; `None` when it may be.
pub fn not_a_replica(topology: &ClusterTopology, candidate: &str) -> Option<String> {
    if topology.members.is_empty() {
        return None;
    }
    let listed = || {
        topology
            .members
            .iter()
            .map(|m| {
                let role = match m.role {
                    MemberRole::Primary => "primary",
                    MemberRole::Replica => "replica",
                    MemberRole::Unknown => "role unknown",
                };
                format!("{} ({role})", m.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match topology.members.iter().find(|m| m.name == candidate) {
        Some(member) if member.role == MemberRole::Replica => None,
        Some(_) => Some(format!(
            "`{candidate}` is the primary of cluster `{}`, not a replica; its members: {}",
            topology.id,
            listed()
        )),
        None => Some(format!(
            "`{candidate}` is not a member of cluster `{}`; its members: {}",
            topology.id,
            listed()
        )),
    }
}

/// The preflight of `action` on what was observed: every check, and every
/// replica eligible or not with its reasons. `busy` is another job queued
/// or running on the cluster.
pub fn preflight(
    cluster: &ClusterConfig,
    observation: &Observation,
    action: FailoverAction,
    candidate: Option<&str>,
    busy: Option<&str>,
) -> Preflight {
    let topology = &observation.topology;
    let mut checks = observation.checks.clone();
    checks.push(match busy {
        Some(job) => PreflightCheck {
            name: "no_other_job".into(),
            passed: false,
            detail: format!("job `{job}` is queued or running on this cluster"),
        },
        None => PreflightCheck {
            name: "no_other_job".into(),
            passed: true,
            detail: "no other job is queued or running on this cluster".into(),
        },
    });
    let primary = topology
        .primary
        .as_deref()
        .and_then(|name| topology.members.iter().find(|m| m.name == name));
    checks.push(match (action, primary) {
        (_, Some(p)) if p.health != MemberHealth::Down => PreflightCheck {
            name: "primary".into(),
            passed: true,
            detail: format!("primary {} is up ({}); it will step down", p.name, p.state),
        },
        (FailoverAction::Switchover, Some(p)) => PreflightCheck {
            name: "primary".into(),
            passed: false,
            detail: format!(
                "primary {} is down ({}): a switchover needs it to step down; run a failover",
                p.name, p.state
            ),
        },
        (FailoverAction::Switchover, None) => PreflightCheck {
            name: "primary".into(),
            passed: false,
            detail: "no primary is known: a switchover needs one to step down".into(),
        },
        (FailoverAction::Failover, Some(p)) => PreflightCheck {
            name: "primary".into(),
            passed: true,
            detail: format!(
                "primary {} is down ({}); it is left behind",
                p.name, p.state
            ),
        },
        (FailoverAction::Failover, None) => PreflightCheck {
            name: "primary".into(),
            passed: true,
            detail: "no primary is known; a replica is promoted".into(),
        },
    });

    let candidates: Vec<CandidateReport> = topology
        .members
        .iter()
        .filter(|m| m.role == MemberRole::Replica)
        .map(|m| {
            let mut reasons = Vec::new();
            if m.health == MemberHealth::Down {
                reasons.push(format!("it is down ({})", m.state));
            }
            match m.lag_bytes {
                Some(lag) if lag > cluster.max_lag_bytes() => reasons.push(format!(
                    "its lag of {lag} bytes is over the {} allowed",
                    cluster.max_lag_bytes()
                )),
                Some(_) => {}
                None if m.health != MemberHealth::Down => {
                    reasons.push("its lag in bytes cannot be measured".into())
                }
                None => {}
            }
            if let Some(seconds) = m.lag_seconds {
                if seconds > cluster.max_lag_seconds() {
                    reasons.push(format!(
                        "it is {seconds:.1} s behind, over the {:.1} s allowed",
                        cluster.max_lag_seconds()
                    ));
                }
            }
            if let Some(vetoes) = observation.vetoes.get(&m.name) {
                reasons.extend(vetoes.iter().cloned());
            }
            CandidateReport {
                member: m.name.clone(),
                eligible: reasons.is_empty(),
                reasons,
            }
        })
        .collect();

    checks.push(match candidate {
        Some(name) => match candidates.iter().find(|c| c.member == name) {
            Some(c) if c.eligible => PreflightCheck {
                name: "candidate".into(),
                passed: true,
                detail: format!("{name} is eligible"),
            },
            Some(c) => PreflightCheck {
                name: "candidate".into(),
                passed: false,
                detail: format!("{name} is not eligible: {}", c.reasons.join("; ")),
            },
            None => PreflightCheck {
                name: "candidate".into(),
                passed: false,
                detail: match not_a_replica(topology, name) {
                    Some(why) => why,
                    None => format!("{name} cannot be seen: the cluster's topology is unknown"),
                },
            },
        },
        None => {
            let eligible: Vec<&str> = candidates
                .iter()
                .filter(|c| c.eligible)
                .map(|c| c.member.as_str())
                .collect();
            if eligible.is_empty() {
                PreflightCheck {
                    name: "candidate".into(),
                    passed: false,
                    detail: if candidates.is_empty() {
                        "no replica is known to promote".into()
                    } else {
                        "no replica is eligible (see each candidate's reasons)".into()
                    },
                }
            } else {
                PreflightCheck {
                    name: "candidate".into(),
                    passed: true,
                    detail: format!("eligible: {}", eligible.join(", ")),
                }
            }
        }
    });

    Preflight {
        cluster: cluster.id.clone(),
        action,
        candidate: candidate.map(str::to_string),
        passed: checks.iter().all(|c| c.passed),
        checks,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::clusters::{ClusterKind, ClusterMember};

    fn member(
        name: &str,
        role: MemberRole,
        health: MemberHealth,
        lag: Option<u64>,
    ) -> ClusterMember {
        let (host, port) = split_host_port(name).expect("host:port");
        ClusterMember {
            name: name.into(),
            role,
            host,
            port,
            state: "online".into(),
            lag_bytes: lag,
            lag_seconds: None,
            timeline: None,
            replication: None,
            health,
            tags: BTreeMap::new(),
        }
    }

    fn cluster() -> ClusterConfig {
        crate::config::Config::parse(
            "[[clusters]]\nid = \"cache\"\nkind = \"redis-sentinel\"\nsentinels = [\"127.0.0.1:1\"]\nmaster_name = \"m\"\n",
        )
        .expect("parses")
        .clusters
        .remove(0)
    }

    fn observation(members: Vec<ClusterMember>) -> Observation {
        Observation {
            topology: ClusterTopology {
                id: "cache".into(),
                kind: ClusterKind::RedisSentinel,
                name: "m".into(),
                primary: Some("10.0.0.1:6379".into()),
                members,
                sources: Vec::new(),
                problems: Vec::new(),
                observed_at: crate::db::now(),
            },
            checks: Vec::new(),
            vetoes: BTreeMap::from([(
                "10.0.0.3:6379".to_string(),
                vec!["replica-priority is 0".to_string()],
            )]),
        }
    }

    #[test]
    fn each_candidate_is_explained() {
        let seen = observation(vec![
            member(
                "10.0.0.1:6379",
                MemberRole::Primary,
                MemberHealth::Healthy,
                None,
            ),
            member(
                "10.0.0.2:6379",
                MemberRole::Replica,
                MemberHealth::Healthy,
                Some(10),
            ),
            member(
                "10.0.0.3:6379",
                MemberRole::Replica,
                MemberHealth::Healthy,
                Some(0),
            ),
            member(
                "10.0.0.4:6379",
                MemberRole::Replica,
                MemberHealth::Degraded,
                Some(5 << 20),
            ),
        ]);
        let report = preflight(
            &cluster(),
            &seen,
            FailoverAction::Switchover,
            Some("10.0.0.4:6379"),
            None,
        );
        assert!(!report.passed);
        let eligible: Vec<(&str, bool)> = report
            .candidates
            .iter()
            .map(|c| (c.member.as_str(), c.eligible))
            .collect();
        assert_eq!(
            eligible,
            [
                ("10.0.0.2:6379", true),
                ("10.0.0.3:6379", false),
                ("10.0.0.4:6379", false)
            ]
        );
        let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
        assert_eq!(failed, ["candidate"]);
        assert!(report
            .checks
            .iter()
            .any(|c| c.detail.contains("over the 1048576 allowed")));
        let any = preflight(
            &cluster(),
            &seen,
            FailoverAction::Switchover,
            None,
            Some("job-1"),
        );
        let failed: Vec<&str> = any.failed().map(|c| c.name.as_str()).collect();
        assert_eq!(failed, ["no_other_job"]);
    }

    #[test]
    fn the_primary_is_not_a_candidate() {
        let seen = observation(vec![
            member(
                "10.0.0.1:6379",
                MemberRole::Primary,
                MemberHealth::Healthy,
                None,
            ),
            member(
                "10.0.0.2:6379",
                MemberRole::Replica,
                MemberHealth::Healthy,
                Some(0),
            ),
        ]);
        let why = not_a_replica(&seen.topology, "10.0.0.1:6379").expect("refused");
        assert!(why.contains("is the primary"), "{why}");
        assert!(not_a_replica(&seen.topology, "10.0.0.9:6379").is_some());
        assert!(not_a_replica(&seen.topology, "10.0.0.2:6379").is_none());
    }
}
