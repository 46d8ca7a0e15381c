//! Playbook commands: the library and a playbook's dry-run (here, no
//! server needed), and the runs on the profile's server: start, list, read,
//! tick a manual step, approve, retry, resume.

use std::collections::BTreeMap;

use opsdeck_api::playbooks::{PlaybookRun, RunPage};
use opsdeck_core::playbooks::view::{DryRunView, LibraryView};
use opsdeck_core::playbooks::{self, runs::source_of, Permissions};
use tauri::State;

use super::{AppState, CmdResult};

/// The built-in playbooks and the user's folder, read now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbooks_library(state: State<'_, AppState>) -> CmdResult<LibraryView> {
    let library = playbooks::library::load(state.console()?.paths()).await?;
    Ok(LibraryView::from(&library))
}

/// What a run of `playbook` with `inputs` would do; does nothing.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_dry_run(
    state: State<'_, AppState>,
    profile: Option<String>,
    playbook: String,
    inputs: BTreeMap<String, String>,
) -> CmdResult<DryRunView> {
    let console = state.console()?;
    let permissions = match state
        .with_session(profile.as_deref(), |s| async move {
            playbooks::permissions_of(&s, None).await
        })
        .await
    {
        Ok(held) => held,
        Err(e) => Permissions::Unknown {
            reason: format!("no profile to ask ({})", e.message),
        },
    };
    let dry = playbooks::dry_run(console.paths(), &playbook, &inputs, &permissions).await?;
    let library = playbooks::library::load(console.paths()).await?;
    let view = LibraryView::from(&library);
    let entry = view.entries.iter().find(|e| e.id == playbook);
    Ok(DryRunView::new(&dry, entry))
}

/// Starts a run of `playbook` (a library id) on the server.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_start(
    state: State<'_, AppState>,
    profile: Option<String>,
    playbook: String,
    inputs: BTreeMap<String, String>,
    incident_id: Option<String>,
) -> CmdResult<PlaybookRun> {
    let source = source_of(state.console()?.paths(), &playbook).await?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().start(source, inputs, incident_id).await
        })
        .await
}

/// One page of runs, newest first; of `incident` when given.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_runs(
    state: State<'_, AppState>,
    profile: Option<String>,
    incident: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> CmdResult<RunPage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().list_of(incident, limit, cursor).await
        })
        .await
}

/// The run with its steps, approvals and events.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_get(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<PlaybookRun> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().get(&id).await
        })
        .await
}

/// Ticks checklist items (from 0) of the waiting manual `step`; with
/// `done`, marks the step done.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_tick(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    step: String,
    items: Vec<u32>,
    done: bool,
) -> CmdResult<PlaybookRun> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().tick(&id, &step, items, done).await
        })
        .await
}

/// Approves the approval step the run waits on.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_approve(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<PlaybookRun> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().approve(&id).await
        })
        .await
}

/// Runs the failed step of a failed run again.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_retry(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<PlaybookRun> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().retry(&id).await
        })
        .await
}

/// Goes on from step `from` (the step the run is at when absent).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn playbook_run_resume(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    from: Option<String>,
) -> CmdResult<PlaybookRun> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.playbook_runs().resume(&id, from).await
        })
        .await
}
