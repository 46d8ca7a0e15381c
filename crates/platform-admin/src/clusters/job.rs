//! A switchover or failover job: the preflight (the request's own when the
//! job is taken up at once, else run again; it refuses unless forced with
//! a reason, naming the failed checks), the action
//! asked of the cluster's manager, the wait for the new primary as the
//! manager reports it, a write on it, and the achieved RTO (trigger to
//! first successful write) in the result, with phases and log lines.

use std::time::Duration;

use opsdeck_api::clusters::{
    ClusterTopology, FailoverAction, FailoverRequest, FailoverResult, MemberRole, Preflight,
};
use serde_json::Value;

use super::{not_a_replica, observe, patroni, preflight, sentinel};
use crate::config::Manager;
use crate::db::{self, Db};
use crate::error::Error;
use crate::jobs::{self, Claim, Job, Progress};

/// How old the look at the cluster its request was checked against may be
/// for a job to act on it rather than look again: a job taken up at once
/// acts on what its requester saw refused or allowed (a failover should not
/// wait for a second round of questions), one that waited in the queue or
/// is run again after a restart looks afresh.
const FRESH: Duration = Duration::from_secs(1);

/// The steps a job reports, out of this many.
const STEPS: u64 = 3;

/// Reports a job's phase and log lines; a report the store cannot take now
/// (a busy database) is left out rather than stopping a failover under
/// way, and only a job taken over stops here.
struct Reporter<'a> {
    db: &'a Db,
    claim: &'a Claim,
}

impl Reporter<'_> {
    async fn phase(&self, done: u64, phase: &str) -> Result<(), Error> {
        let progress = Progress {
            done,
            total: Some(STEPS),
            phase: Some(phase.to_string()),
        };
        tolerated(jobs::report_progress(self.db, self.claim, &progress, db::now()).await)
    }

    async fn log(&self, lines: Vec<String>) -> Result<(), Error> {
        tolerated(jobs::append_log(self.db, self.claim, &lines, db::now()).await)
    }
}

fn tolerated(stored: Result<(), Error>) -> Result<(), Error> {
    match stored {
        Err(err @ Error::JobTakenOver { .. }) => Err(err),
        Err(err) => {
            tracing::warn!(error = %err, "cannot record a running failover's log or progress");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Runs the job: `Ok(Ok(result))` when it succeeded, `Ok(Err(reason))`
/// when it failed, `Err` when the store refused (taken over).
pub async fn run(
    state: &crate::AppState,
    job: &Job,
    claim: &Claim,
) -> Result<Result<Value, String>, Error> {
    let report = Reporter {
        db: &state.db,
        claim,
    };
    let action = match job.kind.as_str() {
        super::SWITCHOVER => FailoverAction::Switchover,
        _ => FailoverAction::Failover,
    };
    let cluster_id = job.payload.get("cluster").and_then(Value::as_str);
    let request = job
        .payload
        .get("request")
        .cloned()
        .and_then(|r| serde_json::from_value::<FailoverRequest>(r).ok());
    let (Some(cluster_id), Some(request)) = (cluster_id, request) else {
        return Ok(Err("the job's request names no cluster".into()));
    };
    let Some(cluster) = state.config.cluster(cluster_id) else {
        return Ok(Err(format!(
            "cluster `{cluster_id}` is no longer in the configuration file"
        )));
    };

    // Between the claim and the trigger only what must come first is
    // written (the phase that proves the job is still this worker's): the
    // preflight's lines go to the log while the manager acts.
    let (topology, checked, looked) = match queued_look(job, action, &request) {
        Some((topology, checked, age)) => (
            topology,
            checked,
            format!(
                "acting on the preflight the request was checked against ({} ms old)",
                age.as_millis()
            ),
        ),
        None => {
            let seen = observe(cluster).await;
            // This job holds the cluster: no other can be queued beside it.
            let checked = preflight(cluster, &seen, action, request.candidate.as_deref(), None);
            (
                seen.topology,
                checked,
                "the preflight run again".to_string(),
            )
        }
    };
    let mut lines: Vec<String> = std::iter::once(looked)
        .chain(checked.checks.iter().map(|c| {
            format!(
                "check {}: {} ({})",
                c.name,
                if c.passed { "passed" } else { "FAILED" },
                c.detail
            )
        }))
        .collect();
    lines.extend(checked.candidates.iter().map(|c| {
        if c.eligible {
            format!("candidate {}: eligible", c.member)
        } else {
            format!(
                "candidate {}: not eligible: {}",
                c.member,
                c.reasons.join("; ")
            )
        }
    }));
    if let Some(why) = request
        .candidate
        .as_deref()
        .and_then(|c| not_a_replica(&topology, c))
    {
        report.log(lines).await?;
        return Ok(Err(why));
    }
    let failed: Vec<_> = checked.failed().cloned().collect();
    if !failed.is_empty() {
        let listed = failed
            .iter()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect::<Vec<_>>()
            .join("; ");
        if !request.force {
            report.log(lines).await?;
            return Ok(Err(format!(
                "the preflight refused the {}: {listed}; force it with a reason to go on",
                action.as_str()
            )));
        }
        lines.push(format!(
            "forced past the failed checks ({listed}); reason: {}",
            request.reason.as_deref().unwrap_or_default()
        ));
    }

    let old_primary = topology.primary.clone();
    // Acting needs proof that the job is still this worker's. A claim
    // younger than half its lease is (a takeover waits for the lease to run
    // out), so its phase goes in while the manager acts; an older one (the
    // look at the cluster took long) writes it first, which fails if the
    // job was taken over.
    let under_way = format!("{} under way", action.as_str());
    let proven = claim.lease_until - db::now() > jobs::LEASE / 2;
    if !proven {
        report.phase(1, &under_way).await?;
    }
    let started = |lines: Vec<String>| async {
        if proven {
            report.phase(1, &under_way).await?;
        }
        report.log(lines).await
    };
    let acted = match &cluster.manager {
        Manager::RedisSentinel(config) => {
            if let Some(candidate) = &request.candidate {
                lines.push(format!(
                    "Sentinel chooses the replica to promote; {candidate} was asked for"
                ));
            }
            let mut said = Vec::new();
            let replicas: Vec<String> = topology
                .members
                .iter()
                .filter(|m| m.role == MemberRole::Replica)
                .map(|m| m.name.clone())
                .collect();
            let (logged, outcome) = tokio::join!(
                started(lines),
                sentinel::fail_over(
                    cluster,
                    config,
                    old_primary.as_deref(),
                    &replicas,
                    &job.id,
                    |line| said.push(line),
                )
            );
            logged?;
            report.log(said).await?;
            match outcome {
                Ok(acted) => acted,
                Err(reason) => return Ok(Err(reason)),
            }
        }
        Manager::Patroni(config) => {
            // Patroni fails over only to a named member: without one, the
            // first eligible replica (or, forced, the first replica).
            let candidate = request.candidate.clone().or_else(|| {
                let eligible = checked.candidates.iter().find(|c| c.eligible);
                eligible
                    .or(checked.candidates.first())
                    .filter(|_| action == FailoverAction::Failover)
                    .map(|c| c.member.clone())
            });
            if request.candidate.is_none() {
                if let Some(chosen) = &candidate {
                    lines.push(format!("{chosen} was chosen to be promoted"));
                }
            }
            let mut said = Vec::new();
            let (logged, outcome) = tokio::join!(
                started(lines),
                patroni::act(
                    cluster,
                    config,
                    action,
                    old_primary.as_deref(),
                    candidate.as_deref(),
                    &job.id,
                    |line| said.push(line),
                )
            );
            logged?;
            report.log(said).await?;
            match outcome {
                Ok(acted) => acted,
                Err(reason) => return Ok(Err(reason)),
            }
        }
    };
    report.phase(STEPS, "done").await?;
    let rto = (acted.first_write - acted.triggered).as_secs_f64();
    if let Some(candidate) = &request.candidate {
        if *candidate != acted.new_primary {
            report
                .log(vec![format!(
                    "the manager promoted {}, not the candidate {candidate}",
                    acted.new_primary
                )])
                .await?;
        }
    }
    report
        .log(vec![format!(
            "{} done: {} is the primary; RTO {rto:.3} s (trigger to first write)",
            action.as_str(),
            acted.new_primary
        )])
        .await?;
    let result = FailoverResult {
        action,
        old_primary,
        new_primary: acted.new_primary,
        candidate: request.candidate.clone(),
        forced: request.force && !failed.is_empty(),
        failed_checks: failed,
        reason: request.reason.clone(),
        triggered_at: acted.triggered_at,
        first_write_at: acted.first_write_at,
        rto_seconds: (rto * 1000.0).round() / 1000.0,
    };
    Ok(Ok(serde_json::to_value(result)?))
}

/// The topology and preflight the start request was checked against (the
/// route keeps them with the job), with their age, when this is the job's
/// first attempt and they are younger than [`FRESH`].
fn queued_look(
    job: &Job,
    action: FailoverAction,
    request: &FailoverRequest,
) -> Option<(ClusterTopology, Preflight, Duration)> {
    if job.attempts != 1 {
        return None;
    }
    let topology: ClusterTopology =
        serde_json::from_value(job.payload.get("topology")?.clone()).ok()?;
    let checked: Preflight = serde_json::from_value(job.payload.get("preflight")?.clone()).ok()?;
    if checked.action != action || checked.candidate != request.candidate {
        return None;
    }
    let age = (db::now() - topology.observed_at).to_std().ok()?;
    (age < FRESH).then_some((topology, checked, age))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use opsdeck_api::clusters::ClusterKind;
    use serde_json::json;

    use super::*;
    use crate::jobs::JobState;

    fn queued(observed_at: DateTime<Utc>, attempts: u32, candidate: Option<&str>) -> Job {
        let topology = ClusterTopology {
            id: "cache".into(),
            kind: ClusterKind::RedisSentinel,
            name: "cache".into(),
            primary: Some("127.0.0.1:1".into()),
            members: Vec::new(),
            sources: Vec::new(),
            problems: Vec::new(),
            observed_at,
        };
        let checked = Preflight {
            cluster: "cache".into(),
            action: FailoverAction::Failover,
            candidate: candidate.map(str::to_string),
            passed: true,
            checks: Vec::new(),
            candidates: Vec::new(),
        };
        let now = db::now();
        Job {
            id: "j".into(),
            kind: super::super::FAILOVER.into(),
            tenant: None,
            payload: json!({ "cluster": "cache", "request": {}, "preflight": checked, "topology": topology }),
            state: JobState::Running,
            attempts,
            owner: None,
            lease_until: None,
            progress: Progress::default(),
            error: None,
            target: None,
            actor: None,
            result: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            cancel_requested_at: None,
            not_before: None,
        }
    }

    #[test]
    fn a_job_taken_up_at_once_acts_on_the_look_its_request_was_checked_against() {
        let request = FailoverRequest::default();
        let fresh = queued(db::now(), 1, None);
        let (topology, checked, age) =
            queued_look(&fresh, FailoverAction::Failover, &request).expect("the request's look");
        assert_eq!(topology.primary.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(checked.action, FailoverAction::Failover);
        assert!(age < FRESH, "{age:?}");
    }

    #[test]
    fn a_job_that_waited_was_taken_over_or_differs_looks_again() {
        let request = FailoverRequest::default();
        let old = queued(db::now() - chrono::Duration::seconds(2), 1, None);
        assert!(queued_look(&old, FailoverAction::Failover, &request).is_none());
        let again = queued(db::now(), 2, None);
        assert!(queued_look(&again, FailoverAction::Failover, &request).is_none());
        let other_action = queued(db::now(), 1, None);
        assert!(queued_look(&other_action, FailoverAction::Switchover, &request).is_none());
        let other_candidate = queued(db::now(), 1, Some("127.0.0.1:2"));
        assert!(queued_look(&other_candidate, FailoverAction::Failover, &request).is_none());
        let mut unkept = queued(db::now(), 1, None);
        unkept.payload = json!({ "cluster": "cache", "request": {} });
        assert!(queued_look(&unkept, FailoverAction::Failover, &request).is_none());
    }
}
