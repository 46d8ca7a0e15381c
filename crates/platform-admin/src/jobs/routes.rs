//! `/v1/jobs…`: what workers are doing and did. Jobs are backups for now,
//! so reading them needs `backups.read` on the platform.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use opsdeck_api::jobs::{Job as WireJob, JobLogLine, JobPage, JobProgress, JobState as WireState};
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::error::Error;
use crate::http::{encode_cursor, QueryParams};
use crate::roles::Permission;
use crate::AppState;

use super::store::{self, Job, JobState, LogLine};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(get).require(Permission::BackupsRead, On::Platform))
}

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
        log: log
            .into_iter()
            .map(|l| JobLogLine {
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
