//! Clusters of a profile's server: the replicated data stores the platform
//! declares, their topology, the preflight of a switchover or failover,
//! and starting one as a server job. Following the job belongs to the jobs
//! capability. Text from the server (member names, states, problems) is
//! cleaned here, so the CLI and the window show it as it is.

use opsdeck_api::clusters::{
    ClusterList, ClusterMember, ClusterSummary, ClusterTopology, FailoverAction, FailoverRequest,
    MemberRole, Preflight,
};
use opsdeck_api::jobs::Job;
use reqwest::Method;
use serde::Serialize;

use crate::client::{MAX_ITEM_BYTES, MAX_PAGE_BYTES};
use crate::error::{Error, Result};
use crate::profiles::Tier;
use crate::safety::{self, TypedPreflight};
use crate::sanitize::remote;
use crate::session::Session;
use crate::tenants::new_idempotency_key;

impl Session {
    /// The clusters of this profile's server.
    pub fn clusters(&self) -> Clusters<'_> {
        Clusters { session: self }
    }
}

/// The clusters of a session's profile.
pub struct Clusters<'s> {
    session: &'s Session,
}

/// A switchover or failover the server queued, and the preflight it
/// passed (or was forced past).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct Started {
    pub preflight: Preflight,
    pub job: Job,
}

/// What a cluster is to the user, in a confirmation.
const CLUSTER_NOUN: &str = "cluster id";

fn checked_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::invalid("cluster", "name a cluster"));
    }
    Ok(id)
}

impl Clusters<'_> {
    /// Every cluster the server's configuration declares.
    pub async fn list(&self) -> Result<Vec<ClusterSummary>> {
        let list: ClusterList = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "clusters"],
                None::<&()>,
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|c| ClusterSummary {
                id: remote(&c.id),
                name: remote(&c.name),
                description: c.description.as_deref().map(remote),
                kind: c.kind,
            })
            .collect())
    }

    /// The cluster's topology now, as its manager reports it.
    pub async fn show(&self, id: &str) -> Result<ClusterTopology> {
        let id = checked_id(id)?;
        let topology: ClusterTopology = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "clusters", id],
                None::<&()>,
                None::<&()>,
                None,
                MAX_ITEM_BYTES,
            )
            .await?;
        Ok(clean_topology(topology))
    }

    /// What `action` would meet now: each check, and each candidate
    /// eligible or why not.
    pub async fn preflight(
        &self,
        id: &str,
        action: FailoverAction,
        candidate: Option<&str>,
    ) -> Result<Preflight> {
        let id = checked_id(id)?;
        let mut query = vec![("action", action.as_str().to_string())];
        if let Some(candidate) = candidate {
            query.push(("candidate", candidate.to_string()));
        }
        let preflight: Preflight = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "clusters", id, "preflight"],
                Some(&query),
                None::<&()>,
                None,
                MAX_ITEM_BYTES,
            )
            .await?;
        Ok(clean_preflight(preflight))
    }

    /// What starting the action of `preflight` with `request` will do, and
    /// what must be typed to go on: shown before [`Self::start_checked_approved`].
    pub fn confirmation(
        &self,
        preflight: &Preflight,
        request: &FailoverRequest,
    ) -> Result<TypedPreflight> {
        let profile = self.session.profile();
        safety::typed_preflight(
            profile,
            preflight.action.as_str(),
            checked_id(&preflight.cluster)?,
            CLUSTER_NOUN,
            summary(profile.name.as_str(), profile.tier, preflight, request),
        )
    }

    /// Starts `action` on the cluster as a server job. The server runs the
    /// preflight and refuses a failed one unless the request forces it with
    /// a reason; the preflight the job was queued on comes back with it. On
    /// production the cluster's id must be typed as `confirmation`: without
    /// it the preflight is read first, to be shown with the refusal (the
    /// caller asks and calls again). Otherwise nothing stands between the
    /// call and the job, as an emergency failover wants. `key` makes a retry
    /// safe: the same key never starts a second job.
    pub async fn start(
        &self,
        id: &str,
        action: FailoverAction,
        request: &FailoverRequest,
        confirmation: Option<&str>,
        key: Option<&str>,
        approval: Option<&str>,
    ) -> Result<Started> {
        let id = checked_id(id)?;
        let errors = request.validate();
        if !errors.is_empty() {
            return Err(Error::InvalidFields { details: errors });
        }
        let profile = self.session.profile();
        if confirmation.is_none() && profile.tier == Tier::Prod {
            let preflight = self
                .preflight(id, action, request.candidate.as_deref())
                .await?;
            return self
                .start_checked_approved(preflight, request, confirmation, key, approval)
                .await;
        }
        // The summary is shown only when a confirmation is missing, which
        // the branch above has ruled out.
        safety::check_typed(
            profile,
            action.as_str(),
            id,
            CLUSTER_NOUN,
            String::new(),
            confirmation,
        )?;
        let job = self.post(id, action, request, key, approval).await?;
        let preflight = match job
            .request
            .get("preflight")
            .cloned()
            .and_then(|p| serde_json::from_value::<Preflight>(p).ok())
        {
            Some(preflight) => clean_preflight(preflight),
            // A server that does not keep it with the job: as it is now.
            None => {
                self.preflight(id, action, request.candidate.as_deref())
                    .await?
            }
        };
        Ok(Started { preflight, job })
    }

    /// Starts the action of `preflight`, read (and shown) by the caller
    /// before, with `request`; `approval` is a granted approval (the
    /// server's two-person rule; see `Session::approvals`), which must
    /// have been asked for this action, cluster and request.
    pub async fn start_checked_approved(
        &self,
        preflight: Preflight,
        request: &FailoverRequest,
        confirmation: Option<&str>,
        key: Option<&str>,
        approval: Option<&str>,
    ) -> Result<Started> {
        let errors = request.validate();
        if !errors.is_empty() {
            return Err(Error::InvalidFields { details: errors });
        }
        let (id, action) = (preflight.cluster.clone(), preflight.action);
        let id = checked_id(&id)?;
        let profile = self.session.profile();
        safety::check_typed(
            profile,
            action.as_str(),
            id,
            CLUSTER_NOUN,
            summary(profile.name.as_str(), profile.tier, &preflight, request),
            confirmation,
        )?;
        let job = self.post(id, action, request, key, approval).await?;
        Ok(Started { preflight, job })
    }

    async fn post(
        &self,
        id: &str,
        action: FailoverAction,
        request: &FailoverRequest,
        key: Option<&str>,
        approval: Option<&str>,
    ) -> Result<Job> {
        let key = key
            .filter(|k| !k.trim().is_empty())
            .map(str::to_owned)
            .unwrap_or_else(new_idempotency_key);
        self.session
            .admin()
            .with_approval(approval)
            .call(
                Method::POST,
                &["v1", "clusters", id, action.as_str()],
                None::<&()>,
                Some(request),
                Some(&key),
                MAX_ITEM_BYTES,
            )
            .await
    }
}

/// What the action will do, for the confirmation: the preflight in words.
pub fn summary(
    profile: &str,
    tier: Tier,
    preflight: &Preflight,
    request: &FailoverRequest,
) -> String {
    let mut text = format!(
        "{} cluster {} on profile {profile} ({tier}): {}.",
        match preflight.action {
            FailoverAction::Switchover => "Switch over",
            FailoverAction::Failover => "Fail over",
        },
        preflight.cluster,
        match &request.candidate {
            Some(c) => format!("promote {c}"),
            None => "the cluster's manager picks the replica to promote".to_string(),
        }
    );
    for line in preflight_lines(preflight) {
        text.push_str("\n  ");
        text.push_str(&line);
    }
    if !preflight.passed {
        text.push_str(if request.force {
            "\n  Forced past the failed checks."
        } else {
            "\n  The server refuses it unless forced with a reason."
        });
    }
    text
}

/// The preflight as lines for people: each check, then each candidate.
pub fn preflight_lines(preflight: &Preflight) -> Vec<String> {
    let mut lines: Vec<String> = preflight
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.passed { "ok    " } else { "FAILED" },
                c.name,
                c.detail
            )
        })
        .collect();
    for c in &preflight.candidates {
        lines.push(if c.eligible {
            format!("candidate {}: eligible", c.member)
        } else {
            format!(
                "candidate {}: not eligible: {}",
                c.member,
                c.reasons.join("; ")
            )
        });
    }
    lines
}

/// The topology as text: one line per member, the primary first, replicas
/// drawn below it with their lag.
pub fn topology_lines(topology: &ClusterTopology) -> Vec<String> {
    let mut lines = vec![format!(
        "{} ({}, {})",
        topology.id,
        topology.name,
        topology.kind.as_str()
    )];
    let member_text = |m: &ClusterMember| {
        let mut parts = vec![format!("{:?}", m.health).to_lowercase(), m.state.clone()];
        if let Some(tl) = m.timeline {
            parts.push(format!("timeline {tl}"));
        }
        if m.role == MemberRole::Replica {
            parts.push(match (m.lag_bytes, m.lag_seconds) {
                (Some(b), Some(s)) => format!("lag {b} B, {s:.1} s"),
                (Some(b), None) => format!("lag {b} B"),
                (None, Some(s)) => format!("lag ? B, {s:.1} s"),
                (None, None) => "lag unknown".to_string(),
            });
        }
        if let Some(mode) = m.replication {
            parts.push(format!("{mode:?}").to_lowercase());
        }
        for (k, v) in &m.tags {
            parts.push(format!("{k}={v}"));
        }
        parts.join(", ")
    };
    let primaries: Vec<&ClusterMember> = topology
        .members
        .iter()
        .filter(|m| m.role == MemberRole::Primary)
        .collect();
    let others: Vec<&ClusterMember> = topology
        .members
        .iter()
        .filter(|m| m.role != MemberRole::Primary)
        .collect();
    if primaries.is_empty() {
        lines.push("  (no primary)".to_string());
    }
    for p in &primaries {
        lines.push(format!("  primary {}  [{}]", p.name, member_text(p)));
    }
    for (i, m) in others.iter().enumerate() {
        let branch = if i + 1 == others.len() {
            "└─"
        } else {
            "├─"
        };
        let role = match m.role {
            MemberRole::Replica => "replica",
            _ => "unknown",
        };
        lines.push(format!(
            "    {branch} {role} {}  [{}]",
            m.name,
            member_text(m)
        ));
    }
    for s in topology.sources.iter().filter(|s| !s.reachable) {
        lines.push(format!(
            "  source {} did not answer: {}",
            s.address,
            s.error.as_deref().unwrap_or("no reason given")
        ));
    }
    for p in &topology.problems {
        lines.push(format!("  problem: {p}"));
    }
    lines
}

fn clean_topology(mut t: ClusterTopology) -> ClusterTopology {
    t.id = remote(&t.id);
    t.name = remote(&t.name);
    t.primary = t.primary.as_deref().map(remote);
    for m in &mut t.members {
        m.name = remote(&m.name);
        m.host = remote(&m.host);
        m.state = remote(&m.state);
        m.tags = m.tags.iter().map(|(k, v)| (remote(k), remote(v))).collect();
    }
    for s in &mut t.sources {
        s.address = remote(&s.address);
        s.error = s.error.as_deref().map(remote);
    }
    t.problems = t.problems.iter().map(|p| remote(p)).collect();
    t
}

fn clean_preflight(mut p: Preflight) -> Preflight {
    p.cluster = remote(&p.cluster);
    p.candidate = p.candidate.as_deref().map(remote);
    for c in &mut p.checks {
        c.name = remote(&c.name);
        c.detail = remote(&c.detail);
    }
    for c in &mut p.candidates {
        c.member = remote(&c.member);
        c.reasons = c.reasons.iter().map(|r| remote(r)).collect();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::clusters::{CandidateReport, ClusterKind, MemberHealth, PreflightCheck};

    #[test]
    fn the_topology_is_drawn_primary_first_with_lag() {
        let member = |name: &str, role, lag| ClusterMember {
            name: name.into(),
            role,
            host: "10.0.0.1".into(),
            port: 6379,
            state: "online".into(),
            lag_bytes: lag,
            lag_seconds: None,
            timeline: Some(3),
            replication: None,
            health: MemberHealth::Healthy,
            tags: Default::default(),
        };
        let topology = ClusterTopology {
            id: "cache".into(),
            kind: ClusterKind::RedisSentinel,
            name: "main".into(),
            primary: Some("a".into()),
            members: vec![
                member("b", MemberRole::Replica, Some(42)),
                member("a", MemberRole::Primary, None),
            ],
            sources: Vec::new(),
            problems: vec!["\u{1b}]0;owned\u{7}odd".into()],
            observed_at: chrono::Utc::now(),
        };
        let lines = topology_lines(&clean_topology(topology));
        assert!(lines[1].starts_with("  primary a"), "{lines:#?}");
        assert!(
            lines[2].contains("└─ replica b") && lines[2].contains("lag 42 B"),
            "{lines:#?}"
        );
        assert!(lines[2].contains("timeline 3"), "{lines:#?}");
        assert_eq!(lines[3], "  problem: odd");
    }

    #[test]
    fn the_summary_lists_each_candidate_and_says_what_the_server_does() {
        let preflight = Preflight {
            cluster: "cache".into(),
            action: FailoverAction::Switchover,
            candidate: None,
            passed: false,
            checks: vec![PreflightCheck {
                name: "candidate".into(),
                passed: false,
                detail: "no replica is eligible".into(),
            }],
            candidates: vec![CandidateReport {
                member: "b".into(),
                eligible: false,
                reasons: vec!["it is down".into()],
            }],
        };
        let text = summary(
            "prod-eu",
            Tier::Prod,
            &preflight,
            &FailoverRequest::default(),
        );
        assert!(
            text.contains("FAILED candidate: no replica is eligible"),
            "{text}"
        );
        assert!(
            text.contains("candidate b: not eligible: it is down"),
            "{text}"
        );
        assert!(text.contains("unless forced with a reason"), "{text}");
    }
}
