//! Backup commands: the targets, a target's backups with its restorable
//! window and RPO, and starting a backup, a verification or a restore as a
//! server job (the window follows it with `job_watch`).

use chrono::{DateTime, Utc};
use opsdeck_api::backups::{BackupList, BackupTarget, BackupType};
use opsdeck_api::jobs::Job;
use opsdeck_core::safety::TypedPreflight;
use tauri::State;

use super::{AppState, CmdResult};

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backup_targets(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<BackupTarget>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups().targets().await
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backups_list(
    state: State<'_, AppState>,
    profile: Option<String>,
    target: String,
) -> CmdResult<BackupList> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups().list(&target).await
        })
        .await
}

/// Starts a backup of `target`: the queued job.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backup_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    target: String,
    backup_type: BackupType,
) -> CmdResult<Job> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups().create(&target, backup_type).await
        })
        .await
}

/// Starts a verification of the backup `set` of `target` (the newest when none).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backup_verify(
    state: State<'_, AppState>,
    profile: Option<String>,
    target: String,
    set: Option<String>,
) -> CmdResult<Job> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups().verify(&target, set).await
        })
        .await
}

/// What a restore of `target` to `to` will do, and what must be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backup_restore_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    target: String,
    to: Option<DateTime<Utc>>,
) -> CmdResult<TypedPreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups().restore_preflight(&target, to)
        })
        .await
}

/// Starts a restore of `target` to `to` (its newest point when none);
/// core checks `confirmation` against the target. `approval` is a granted
/// request when the server's two-person rule asks for one.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn backup_restore(
    state: State<'_, AppState>,
    profile: Option<String>,
    target: String,
    to: Option<DateTime<Utc>>,
    confirmation: Option<String>,
    approval: Option<String>,
) -> CmdResult<Job> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.backups()
                .restore_approved(&target, to, confirmation.as_deref(), approval.as_deref())
                .await
        })
        .await
}
