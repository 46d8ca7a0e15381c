//! `/v1/jobs…`: what workers are doing and did, a stream of one job's
//! events, and cancelling one. Jobs are backups for now, so reading them
//! needs `backups.read` on the platform and cancelling `backups.run`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use axum::Json;
use futures_util::Stream;
use opsdeck_api::jobs::{
    events, Job as WireJob, JobLogLine, JobPage, JobProgress, JobState as WireState,
};
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::db::{self, Db};
use crate::error::Error;
use crate::http::{encode_cursor, QueryParams};
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

use super::store::{self, Job, JobState, LogLine};
use super::wake::Changes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(get).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(events).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(cancel).require(Permission::BackupsRun, On::Platform))
}

/// At most this many log lines are read per look at the store, so a
/// stream holds little whatever the log's length and however slowly its
/// client reads: the next lines are read only once these were sent.
const LOG_BATCH: u32 = 200;

/// How long a stream waits for a change before it looks anyway (what a
/// lost notification misses).
const STREAM_POLL: Duration = Duration::from_secs(5);

/// A comment line this often keeps proxies from closing a quiet stream and
/// finds clients that went away.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// The job's id.
    job: String,
}

/// Query of `GET /v1/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobs {
    /// 1–200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// The wire form of a stored job.
/// Queues `new` and records `action` on `target` in the audit log (with
/// `details` and the job's id) in one transaction; answers 202 with the
/// queued job and wakes an idle worker. Every route that starts a job
/// ends here.
pub async fn start(
    state: &AppState,
    mutation: Mutation,
    new: super::NewJob,
    action: &str,
    target: String,
    details: serde_json::Value,
) -> Result<Response, Error> {
    let mut tx = state.db.begin().await?;
    let job = super::enqueue_in(&mut tx, state.db.kind(), new, db::now()).await?;
    let wire = wire(job.clone(), Vec::new());
    let mut details = details;
    if let Some(fields) = details.as_object_mut() {
        fields.insert("job".into(), serde_json::Value::String(job.id.clone()));
    }
    let change = Change::new(action, target).after(&details)?;
    let response = mutation
        .commit(tx, change, StatusCode::ACCEPTED, Some(&wire))
        .await?;
    super::woken(&state.db);
    Ok(response)
}

pub fn wire(job: Job, log: Vec<LogLine>) -> WireJob {
    let percent = job.progress.total.filter(|t| *t > 0).map(|total| {
        let done = job.progress.done.min(total);
        (done as f64 * 100.0 / total as f64 * 100.0).round() / 100.0
    });
    WireJob {
        id: job.id,
        kind: job.kind,
        target: job.target,
        state: match job.state {
            JobState::Queued => WireState::Queued,
            JobState::Running => WireState::Running,
            JobState::Succeeded => WireState::Succeeded,
            JobState::Failed => WireState::Failed,
            JobState::Cancelled => WireState::Cancelled,
        },
        progress: JobProgress {
            phase: job.progress.phase,
            percent,
        },
        actor: job.actor,
        request: job.payload,
        attempts: job.attempts,
        error: job.error,
        result: job.result,
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
        updated_at: job.updated_at,
        cancel_requested_at: job.cancel_requested_at,
        log: log
            .into_iter()
            .map(|l| JobLogLine {
                seq: l.seq,
                at: l.at,
                line: l.line,
            })
            .collect(),
    }
}

/// Lists jobs, newest first, a page at a time (without their logs).
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", operation_id = "list_jobs",
    params(ListJobs),
    responses(
        (status = 200, description = "One page of jobs, newest first.", body = JobPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<JobPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor"])?;
    let limit = params.limit()?;
    let before = params.cursor()?;
    let mut jobs = store::list(&state.db, before.as_deref(), limit + 1).await?;
    let next_cursor = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|job| encode_cursor(&job.id))
    } else {
        None
    };
    Ok(Json(JobPage {
        items: jobs.into_iter().map(|job| wire(job, Vec::new())).collect(),
        next_cursor,
    }))
}

/// Reads one job: state, progress, log, result.
#[utoipa::path(get, path = "/v1/jobs/{job}", tag = "jobs", operation_id = "get_job",
    params(JobPath),
    responses(
        (status = 200, body = WireJob),
        (status = 404, description = "No such job.", body = ErrorEnvelope),
        (status = 422, description = "The job in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<JobPath>, PathRejection>,
) -> Result<Json<WireJob>, Error> {
    let Path(JobPath { job: id }) =
        path.map_err(|err| Error::invalid("job", format!("bad job in the path: {err}")))?;
    let job = store::get(&state.db, &id)
        .await?
        .ok_or_else(|| Error::JobNotFound(id.clone()))?;
    let log = store::log(&state.db, &id).await?;
    Ok(Json(wire(job, log)))
}

/// Follows one job: its state and progress, each log line, and its end,
/// as server-sent events (`job`, `log`, `end`). Each event's id is the
/// `seq` of the last log line sent so far: reconnecting with
/// `Last-Event-ID` resumes after it (the job's state is sent again first).
/// The stream ends after `end`.
#[utoipa::path(get, path = "/v1/jobs/{job}/events", tag = "jobs", operation_id = "job_events",
    params(JobPath,
        ("Last-Event-ID" = Option<u64>, Header, description = "The id of the last event received: log lines up to it are not sent again.")),
    responses(
        (status = 200, description = "`text/event-stream`: `job` (data: the job, without its log), `log` (data: a `JobLogLine`), and last `end` (data: the final job).",
            content_type = "text/event-stream", body = String),
        (status = 404, description = "No such job.", body = ErrorEnvelope),
        (status = 422, description = "The job in the path is not valid UTF-8, or `Last-Event-ID` is not a number.", body = ErrorEnvelope)))]
pub async fn events(
    State(state): State<AppState>,
    path: Result<Path<JobPath>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let Path(JobPath { job: id }) =
        path.map_err(|err| Error::invalid("job", format!("bad job in the path: {err}")))?;
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Error::invalid(
                    "Last-Event-ID",
                    "must be the id of an event of this stream (a whole number)",
                )
            })?,
    };
    // Followed before the first read, so no change after it is missed.
    let changes = super::follow(&state.db);
    store::get(&state.db, &id)
        .await?
        .ok_or_else(|| Error::JobNotFound(id.clone()))?;
    let follow = Follow {
        db: state.db.clone(),
        id,
        after,
        shown: None,
        changes,
        queue: VecDeque::new(),
        first: true,
        more: false,
        ended: false,
    };
    Ok(Sse::new(follow.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// One stream's place: what it sent, and what it has ready to send.
struct Follow {
    db: Db,
    id: String,
    /// The `seq` of the last log line sent.
    after: u64,
    /// What the last `job` event showed.
    shown: Option<Shown>,
    changes: Changes,
    queue: VecDeque<Event>,
    first: bool,
    /// The last read filled a batch: read again without waiting.
    more: bool,
    ended: bool,
}

/// What a `job` event is sent again for when it changes.
#[derive(PartialEq)]
struct Shown {
    state: JobState,
    attempts: u32,
    progress: super::Progress,
    cancel_requested: bool,
}

impl Follow {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut follow| async move {
            let event = follow.next().await?;
            Some((Ok(event), follow))
        })
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            if !self.first && !self.more {
                self.changes.wait(STREAM_POLL).await;
            }
            self.first = false;
            self.changes.mark_seen();
            if let Err(err) = self.read().await {
                // The store is unreachable for now: the stream stays open
                // and looks again, as the client would when reconnecting.
                tracing::warn!(job = %self.id, error = %err, "cannot read a followed job yet");
                self.more = false;
            }
        }
    }

    /// Reads what changed since the last look into the queue. The job is
    /// read before its log: a job read as ended has every line it wrote.
    async fn read(&mut self) -> Result<(), Error> {
        let Some(job) = store::get(&self.db, &self.id).await? else {
            self.ended = true;
            return Ok(());
        };
        let lines = store::log_after(&self.db, &self.id, self.after, LOG_BATCH).await?;
        self.more = lines.len() >= LOG_BATCH as usize;
        for line in lines {
            self.after = line.seq;
            let data = JobLogLine {
                seq: line.seq,
                at: line.at,
                line: line.line,
            };
            self.queue.push_back(self.event(events::LOG, &data)?);
        }
        let ended = !matches!(job.state, JobState::Queued | JobState::Running);
        if ended && !self.more {
            let wire = wire(job, Vec::new());
            self.queue.push_back(self.event(events::END, &wire)?);
            self.ended = true;
            return Ok(());
        }
        let shown = Shown {
            state: job.state,
            attempts: job.attempts,
            progress: job.progress.clone(),
            cancel_requested: job.cancel_requested_at.is_some(),
        };
        if self.shown.as_ref() != Some(&shown) && !ended {
            self.shown = Some(shown);
            let wire = wire(job, Vec::new());
            self.queue.push_back(self.event(events::JOB, &wire)?);
        }
        Ok(())
    }

    fn event(&self, name: &str, data: &impl serde::Serialize) -> Result<Event, Error> {
        Ok(Event::default()
            .event(name)
            .id(self.after.to_string())
            .data(serde_json::to_string(data)?))
    }
}

/// Cancels a job: a queued one at once (`200`, the job `cancelled`); a
/// running one is asked to stop (`202`, the job still `running` with
/// `cancel_requested_at`): its worker stops its processes and it ends
/// `cancelled`, never `succeeded`. Follow it at `GET /v1/jobs/{job}/events`.
/// Cancelling needs what starting the job's kind needs: `backups.restore`
/// for a restore, `clusters.failover` for a switchover or failover.
#[utoipa::path(post, path = "/v1/jobs/{job}/cancel", tag = "jobs", operation_id = "cancel_job",
    params(JobPath),
    responses(
        (status = 200, description = "It was queued: cancelled.", body = WireJob),
        (status = 202, description = "It is running: asked to stop.", body = WireJob),
        (status = 403, description = "The job's kind needs a permission the caller lacks to cancel.", body = ErrorEnvelope),
        (status = 404, description = "No such job.", body = ErrorEnvelope),
        (status = 409, description = "The job already ended.", body = ErrorEnvelope),
        (status = 422, description = "The job in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn cancel(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<JobPath>, PathRejection>,
) -> Result<Response, Error> {
    let Path(JobPath { job: id }) =
        path.map_err(|err| Error::invalid("job", format!("bad job in the path: {err}")))?;
    if let Some(found) = store::get(&state.db, &id).await? {
        let needs = match found.kind.as_str() {
            crate::backups::RESTORE_KIND => Some(Permission::BackupsRestore),
            crate::clusters::SWITCHOVER | crate::clusters::FAILOVER => {
                Some(Permission::ClustersFailover)
            }
            _ => None,
        };
        if let Some(permission) = needs.filter(|p| !mutation.principal.grants.on_platform(*p)) {
            return Err(Error::Forbidden {
                permission,
                scope: crate::roles::Scope::Platform,
            });
        }
    }
    let mut tx = state.db.begin().await?;
    let job = store::cancel_in(&mut tx, &id, db::now()).await?;
    if job.state == JobState::Cancelled {
        // A playbook run waiting on it goes on (to the step's failure).
        crate::playbooks::engine::on_job_end(&mut tx, state.db.kind(), &job.id).await?;
    }
    let status = if job.state == JobState::Cancelled {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let change =
        Change::new("job.cancel", format!("job:{}", job.id)).after(&serde_json::json!({
            "state": job.state.as_str(),
            "kind": job.kind,
            "target": job.target,
        }))?;
    let wire = wire(job, Vec::new());
    let response = mutation.commit(tx, change, status, Some(&wire)).await?;
    store::changed(&state.db);
    super::woken(&state.db);
    Ok(response)
}
