//! Cluster commands: the clusters, a topology, the preflight of a
//! switchover or failover with what must be typed to start it, and starting
//! it as a server job (the window follows it with `job_watch`).

use opsdeck_api::clusters::{
    ClusterSummary, ClusterTopology, FailoverAction, FailoverRequest, Preflight,
};
use opsdeck_core::clusters::Started;
use opsdeck_core::safety::TypedPreflight;
use tauri::State;

use super::{AppState, CmdResult};

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn clusters_list(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<ClusterSummary>> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.clusters().list().await },
        )
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn cluster_show(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<ClusterTopology> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.clusters().show(&id).await
        })
        .await
}

/// Each check and each candidate, eligible or why not.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn cluster_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    action: FailoverAction,
    candidate: Option<String>,
) -> CmdResult<Preflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.clusters()
                .preflight(&id, action, candidate.as_deref())
                .await
        })
        .await
}

/// What starting `preflight`'s action with `request` will do, and what
/// must be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn cluster_confirmation(
    state: State<'_, AppState>,
    profile: Option<String>,
    preflight: Preflight,
    request: FailoverRequest,
) -> CmdResult<TypedPreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.clusters().confirmation(&preflight, &request)
        })
        .await
}

/// Starts the action of the preflight the window showed; the same
/// `idempotency_key` never starts a second job. `approval` is a granted
/// request when the server's two-person rule asks for one.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn cluster_start(
    state: State<'_, AppState>,
    profile: Option<String>,
    preflight: Preflight,
    request: FailoverRequest,
    confirmation: Option<String>,
    idempotency_key: String,
    approval: Option<String>,
) -> CmdResult<Started> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.clusters()
                .start_checked_approved(
                    preflight,
                    &request,
                    confirmation.as_deref(),
                    Some(&idempotency_key),
                    approval.as_deref(),
                )
                .await
        })
        .await
}
