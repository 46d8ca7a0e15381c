//! Durable jobs as the API shows them: backups (later restores, failovers)
//! run by platform-admin's workers, with their progress, log and result.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Any JSON, as TypeScript sees it: numbers are `number` (specta refuses
/// `serde_json::Value` for its 64-bit integers). Only a type for bindings.
#[derive(Serialize, specta::Type)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum JsonValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<JsonValue>),
    Object(std::collections::BTreeMap<String, JsonValue>),
}

/// Where a job is in its life; only `queued` and `running` change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// How far a running job got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct JobProgress {
    /// What it is doing now (`"backing up"`, `"reading the result"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// 0–100, where the job knows how much there is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct JobLogLine {
    /// 1, 2, 3… in the order the lines were written; an event stream's
    /// `Last-Event-ID` resumes after it.
    #[serde(default)]
    #[specta(type = f64)]
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub line: String,
}

/// A job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Job {
    /// UUID v7: ids sort in the order jobs were created.
    pub id: String,
    /// What it does: `backup`.
    pub kind: String,
    /// What it acts on: `backup-target:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub state: JobState,
    pub progress: JobProgress,
    /// Who asked for it (a user's email or a service account's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What it was asked to do (a backup's `type`).
    #[schema(value_type = Object)]
    #[specta(type = JsonValue)]
    pub request: serde_json::Value,
    /// How many times a worker took it up; more than 1 after a takeover.
    pub attempts: u32,
    /// Why it failed, in the words of what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What a succeeded job produced (a backup: `BackupResult`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<JsonValue>)]
    pub result: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// When someone asked the running job to stop; it then ends `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// The log, oldest line first: in `GET /v1/jobs/{job}` only (empty in lists).
    #[serde(default)]
    pub log: Vec<JobLogLine>,
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct JobPage {
    pub items: Vec<Job>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The events of `GET /v1/jobs/{job}/events` (server-sent events), each
/// with `id:` the `seq` of the last log line sent so far, to resume after
/// with `Last-Event-ID`.
pub mod events {
    /// The job as it is now (its `log` empty): sent first, then whenever
    /// its state or progress changes. Data: a `Job`.
    pub const JOB: &str = "job";
    /// One line of its log. Data: a `JobLogLine`.
    pub const LOG: &str = "log";
    /// The job ended; the stream closes after it. Data: the final `Job`.
    pub const END: &str = "end";
}
