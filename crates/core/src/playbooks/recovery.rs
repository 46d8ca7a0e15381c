//! What a disaster-recovery run achieved, against its targets, read from
//! the results the server already keeps with each action step (the job's
//! own result): the RTO of its failover (trigger to the first write on the
//! new primary, measured by the failover job) and the RPO of its restore
//! (the writes lost: from the restored point to the step's start, when the
//! last write before the restore was made). The targets are the run's
//! `rto_target` and `rpo_target` inputs, 30 minutes and 5 minutes unless
//! given.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::playbooks::{PlaybookRun, RunStep, StepState};
use serde::Serialize;
use serde_json::Value;

/// The RTO target of a run that names none.
pub const DEFAULT_RTO_TARGET: Duration = Duration::from_secs(30 * 60);
/// The RPO target of a run that names none.
pub const DEFAULT_RPO_TARGET: Duration = Duration::from_secs(5 * 60);

/// One measure against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// The step that achieved it.
    pub step: String,
    pub seconds: f64,
    pub target_seconds: u64,
    /// Within the target.
    pub met: bool,
    /// How it was measured, in a few words.
    pub basis: String,
}

/// What a run's failover and restore achieved; either may be missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto: Option<Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo: Option<Measure>,
}

impl Recovery {
    /// Both measured and both within their targets.
    pub fn met(&self) -> bool {
        matches!((&self.rto, &self.rpo), (Some(rto), Some(rpo)) if rto.met && rpo.met)
    }
}

/// The measures of `run`: none when no failover or restore step succeeded.
pub fn recovery(run: &PlaybookRun) -> Option<Recovery> {
    let target = |name: &str, default: Duration| {
        run.inputs
            .get(name)
            .and_then(|text| opsdeck_playbook::parse_duration(text).ok())
            .unwrap_or(default)
            .as_secs()
    };
    let rto_target = target("rto_target", DEFAULT_RTO_TARGET);
    let rpo_target = target("rpo_target", DEFAULT_RPO_TARGET);
    let succeeded = || {
        run.steps
            .iter()
            .filter(|s| s.state == StepState::Succeeded && s.kind == "action")
            .filter_map(|s| job_result(s).map(|r| (s, r)))
    };
    let rto = succeeded()
        .filter(|(_, r)| r.get("new_primary").is_some())
        .filter_map(|(step, r)| {
            let seconds = r.get("rto_seconds")?.as_f64()?;
            Some(Measure {
                step: step.id.clone(),
                seconds,
                target_seconds: rto_target,
                met: seconds <= rto_target as f64,
                basis: "failover trigger to the first write on the new primary".into(),
            })
        })
        .next_back();
    let rpo = succeeded()
        .filter(|(_, r)| r.get("safety_backup").is_some())
        .filter_map(|(step, r)| {
            let started = step.started_at?;
            let (seconds, basis) = match r.get("to").and_then(Value::as_str) {
                Some(to) => {
                    let to: DateTime<Utc> = DateTime::parse_from_rfc3339(to).ok()?.into();
                    let lost = (started - to).num_milliseconds().max(0) as f64 / 1000.0;
                    (
                        lost,
                        "restored point to the last write before the restore".to_string(),
                    )
                }
                // The newest restorable point: what was archived is kept.
                None => (0.0, "restored to the newest archived write".to_string()),
            };
            Some(Measure {
                step: step.id.clone(),
                seconds,
                target_seconds: rpo_target,
                met: seconds <= rpo_target as f64,
                basis,
            })
        })
        .next_back();
    if rto.is_none() && rpo.is_none() {
        return None;
    }
    Some(Recovery { rto, rpo })
}

/// The result of the job an action step sent, as the engine keeps it
/// (`{"job": id, "result": ...}`).
fn job_result(step: &RunStep) -> Option<&Value> {
    step.result
        .as_ref()?
        .get("result")
        .filter(|r| r.is_object())
}

/// `12.3 s against 30m: met`, for people.
pub fn describe(measure: &Measure) -> String {
    format!(
        "{:.1} s against {}: {} ({})",
        measure.seconds,
        crate::incidents::human_span(i64::try_from(measure.target_seconds).unwrap_or(i64::MAX)),
        if measure.met { "met" } else { "missed" },
        measure.basis
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(steps: Value, inputs: Value) -> PlaybookRun {
        serde_json::from_value(json!({
            "id": "r1", "playbook": "dr-exercise", "title": "DR", "state": "succeeded",
            "started_by": "ops", "created_at": "2026-11-25T03:00:00Z",
            "updated_at": "2026-11-25T03:10:00Z",
            "inputs": inputs, "steps": steps, "approvals": [], "events": []
        }))
        .expect("a run")
    }

    fn action(id: &str, started: &str, result: Value) -> Value {
        json!({
            "id": id, "kind": "action", "summary": "", "on_failure": "abort",
            "state": "succeeded", "attempt": 1, "started_at": started,
            "result": { "job": "j", "result": result }
        })
    }

    #[test]
    fn the_failover_gives_the_rto_and_the_restore_the_rpo_against_the_inputs_targets() {
        let run = run(
            json!([
                action(
                    "failover",
                    "2026-11-25T03:01:00Z",
                    json!({"new_primary": "b", "rto_seconds": 12.5})
                ),
                action(
                    "restore",
                    "2026-11-25T03:05:00Z",
                    json!({"safety_backup": "L", "to": "2026-11-25T03:04:00Z",
                           "first_write_at": "2026-11-25T03:06:00Z", "rto_seconds": 60.0})
                ),
            ]),
            json!({"rto_target": "30m", "rpo_target": "30s"}),
        );
        let got = recovery(&run).expect("measured");
        let rto = got.rto.as_ref().expect("rto");
        assert_eq!(
            (rto.seconds, rto.target_seconds, rto.met),
            (12.5, 1800, true)
        );
        let rpo = got.rpo.as_ref().expect("rpo");
        assert_eq!(
            (rpo.seconds, rpo.target_seconds, rpo.met),
            (60.0, 30, false)
        );
        assert!(!got.met());
        assert!(describe(rpo).contains("missed"), "{}", describe(rpo));
    }

    #[test]
    fn a_run_without_failover_or_restore_has_no_recovery_measures() {
        let run = run(
            json!([action(
                "backup",
                "2026-11-25T03:01:00Z",
                json!({"label": "x"})
            )]),
            json!({}),
        );
        assert_eq!(recovery(&run), None);
    }
}
