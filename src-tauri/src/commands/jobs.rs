//! Job commands: the server's jobs (backups, verifications, restores,
//! switchovers, failovers), one with its log, watching one to its end with
//! progress and log lines sent to the window as they come, and cancelling.

use opsdeck_api::jobs::{Job, JobLogLine, JobPage};
use opsdeck_core::progress::Progress;
use tauri::ipc::Channel;
use tauri::State;

use super::{progress_to, AppState, CmdResult};

/// One page of jobs, newest first.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn jobs_list(
    state: State<'_, AppState>,
    profile: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> CmdResult<JobPage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.jobs().list(limit, cursor).await
        })
        .await
}

/// One job with its log.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn job_get(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<Job> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.jobs().get(&id).await },
        )
        .await
}

/// Follows the job to its end: its progress on `on_progress`, each new log
/// line once on `on_log`; the answer is the job as it ended.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn job_watch(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    on_progress: Channel<Progress>,
    on_log: Channel<JobLogLine>,
) -> CmdResult<Job> {
    let reporter = progress_to(on_progress);
    state
        .with_session(profile.as_deref(), |s| async move {
            let mut on_line = |line: &JobLogLine| {
                // A window that went away stops reading; the watch goes on.
                let _ = on_log.send(line.clone());
            };
            s.jobs().watch(&id, &reporter, &mut on_line).await
        })
        .await
}

/// Cancels the job: a queued one ends now, a running one is asked to stop.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn job_cancel(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<Job> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.jobs().cancel(&id).await },
        )
        .await
}
