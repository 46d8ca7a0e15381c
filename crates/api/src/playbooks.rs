//! Playbook runs as the API shows them: a playbook started on the server
//! with its inputs, run step by step by the server's durable jobs, waiting
//! on people for manual steps and approvals, with every step's state and
//! the run's events in order. The playbook format itself is the
//! `opsdeck-playbook` crate's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::Validate;
use crate::FieldError;

/// Largest playbook text a run may be started with, in bytes (the body
/// limit is the hard one; this one says why in words).
pub const MAX_SOURCE_BYTES: usize = 48 * 1024;

/// `POST /v1/playbook-runs`: start a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The playbook: its YAML text, or the id of a built-in playbook.
    pub source: String,
    /// Its inputs, as text (`cluster = pg-main`); the ones left out take
    /// their defaults.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// The incident the run belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
}

impl Validate for StartRun {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.source.trim().is_empty() {
            errors.push(FieldError::new(
                "source",
                "must be a playbook's YAML or a built-in playbook's id",
            ));
        } else if self.source.len() > MAX_SOURCE_BYTES {
            errors.push(FieldError::new(
                "source",
                format!("must be at most {MAX_SOURCE_BYTES} bytes"),
            ));
        }
        for name in self.inputs.keys() {
            if name.is_empty() || name.len() > 100 {
                errors.push(FieldError::new(
                    format!("inputs.{name}"),
                    "must be an input's name",
                ));
            }
        }
        if let Some(incident) = &self.incident_id {
            if incident.trim().is_empty() || incident.len() > 100 {
                errors.push(FieldError::new("incident_id", "must be an incident's id"));
            }
        }
        errors
    }
}

/// Where a run is: `waiting` on a person (a manual step to be done, an
/// approval to be given), or ended `succeeded` or `failed` (a failed run
/// may be retried or resumed from a step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Waiting,
    Succeeded,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Waiting => "waiting",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        [
            RunState::Queued,
            RunState::Running,
            RunState::Waiting,
            RunState::Succeeded,
            RunState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Succeeded or failed: nothing runs it until someone retries it.
    pub fn ended(self) -> bool {
        matches!(self, RunState::Succeeded | RunState::Failed)
    }
}

/// Where one step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Waiting,
    Succeeded,
    Failed,
    /// Passed over by a go-to.
    Skipped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<StepState> {
        [
            StepState::Pending,
            StepState::Running,
            StepState::Waiting,
            StepState::Succeeded,
            StepState::Failed,
            StepState::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The last value a `check` or `wait_until` step read from Prometheus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct LiveValue {
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// One item of a manual step's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ChecklistItem {
    pub text: String,
    pub ticked: bool,
}

/// One approval given to a run's approval step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RunApproval {
    pub step: String,
    pub approver: String,
    /// The role the approver holds that the step asked for.
    pub role: String,
    pub at: DateTime<Utc>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RunStep {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `manual`, `action`, `check`, `wait_until`, `approval` or `note`.
    pub kind: String,
    /// What it does, in words, with its inputs substituted (the dry run's).
    pub summary: String,
    /// What happens when it fails: `abort`, `continue` or `goto <step>`.
    pub on_failure: String,
    pub state: StepState,
    /// How many times it was started (more than 1 after a retry).
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// What it produced (an action's job result, a check's value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<crate::jobs::JsonValue>)]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The job an action step started (follow it at `/v1/jobs/{job}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The last value a check read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveValue>,
    /// A manual step's checklist, with what was ticked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<ChecklistItem>,
}

/// What a waiting run waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Waiting {
    pub step: String,
    /// `manual` (someone allowed to run it marks it done) or `approval`.
    pub kind: String,
    /// The role an approver must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The dry run of the steps that follow it: what an approval lets
    /// happen, in words.
    pub following: Vec<String>,
    /// For an approval, whether the caller may give it (the server's own
    /// rule: the step's role held on the platform, and not who started the
    /// run); absent for other waits and in a change's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_approve: Option<bool>,
    /// Why the caller may not, when it may not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// One event of a run, in order: each transition, with who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RunEvent {
    #[specta(type = f64)]
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Who: a user's email, a service account's name, or `playbook-engine`.
    pub actor: String,
    /// `started`, `step_started`, `step_succeeded`, `step_failed`,
    /// `waiting`, `ticked`, `approved`, `retried`, `resumed`, `note`,
    /// `succeeded`, `failed`…
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

/// A run as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RunSummary {
    /// UUID v7: ids sort in the order runs were started.
    pub id: String,
    pub playbook: String,
    pub title: String,
    pub state: RunState,
    /// The step it is at; none once ended well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    /// Who started it.
    pub started_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run with its steps and events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct PlaybookRun {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub inputs: BTreeMap<String, String>,
    pub steps: Vec<RunStep>,
    /// What it waits for, when `waiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    pub approvals: Vec<RunApproval>,
    pub events: Vec<RunEvent>,
}

/// One page of runs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RunPage {
    pub items: Vec<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/playbook-runs/{run}/steps/{step}/tick`: ticks checklist items
/// of a waiting manual step (by their index, from 0) and, with `done`,
/// marks the step done so the run goes on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct TickStep {
    #[serde(default)]
    pub items: Vec<u32>,
    #[serde(default)]
    pub done: bool,
}

impl Validate for TickStep {
    fn field_errors(&self) -> Vec<FieldError> {
        if self.items.is_empty() && !self.done {
            vec![FieldError::new(
                "items",
                "name at least one item to tick, or mark the step done",
            )]
        } else {
            Vec::new()
        }
    }
}

/// `POST /v1/playbook-runs/{run}/resume`: goes on from a step of a failed
/// run (that step and every later one run again).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct ResumeRun {
    /// The step to go on from; the failed step when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Validate for ResumeRun {
    fn field_errors(&self) -> Vec<FieldError> {
        match &self.from {
            Some(step) if step.trim().is_empty() => {
                vec![FieldError::new("from", "must name a step of the run")]
            }
            _ => Vec::new(),
        }
    }
}

/// Query of `GET /v1/playbook-runs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRuns {
    /// 1–200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only the runs of this incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}
