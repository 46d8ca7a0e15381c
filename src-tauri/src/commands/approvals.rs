//! Approval commands (the server's two-person rule): the requests an
//! approver is asked, one request, asking for one for a destructive action
//! the server refused without it, and granting or denying one.

use opsdeck_api::approvals::{Approval, ApprovalPage, ApprovalState};
use opsdeck_core::Destructive;
use tauri::State;

use super::{AppState, CmdResult};

/// How many requests the window reads at a time.
const PAGE: u32 = 50;

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn approvals_list(
    state: State<'_, AppState>,
    profile: Option<String>,
    only: Option<ApprovalState>,
) -> CmdResult<ApprovalPage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.approvals().list(only, Some(PAGE), None).await
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn approval_get(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<Approval> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.approvals().get(&id).await
        })
        .await
}

/// Asks a second person to approve `action`, for `reason`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn approval_request(
    state: State<'_, AppState>,
    profile: Option<String>,
    action: Destructive,
    reason: String,
) -> CmdResult<Approval> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.approvals().request_for(&action, &reason).await
        })
        .await
}

/// Grants (`grant`) or denies request `id`, with an optional note.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn approval_decide(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    grant: bool,
    note: Option<String>,
) -> CmdResult<Approval> {
    state
        .with_session(profile.as_deref(), |s| async move {
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            if grant {
                s.approvals().grant(&id, note).await
            } else {
                s.approvals().deny(&id, note).await
            }
        })
        .await
}
