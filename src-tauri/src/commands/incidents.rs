//! Incident commands: list, open, read one with its timeline and targets,
//! move it on (acknowledge, mitigate, resolve), add a note, link an alert,
//! export it as Markdown into the downloads; and maintenance windows.

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::{IncidentDetail, IncidentPage, IncidentStatus, Severity};
use opsdeck_api::maintenance::{MaintenancePage, MaintenanceWindow};
use opsdeck_core::maintenance::NewWindow;
use tauri::{AppHandle, Manager, State};

use super::{AppState, CmdResult};

/// One page of incidents, newest first; of `status` when given.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incidents_list(
    state: State<'_, AppState>,
    profile: Option<String>,
    status: Option<IncidentStatus>,
) -> CmdResult<IncidentPage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents().list(status, None, None).await
        })
        .await
}

/// The incident with its timeline, targets, alerts and escalations.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_get(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<IncidentDetail> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents().get(&id).await
        })
        .await
}

/// Opens an incident; the commander is the caller when absent.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_open(
    state: State<'_, AppState>,
    profile: Option<String>,
    title: String,
    severity: Severity,
    commander: Option<String>,
) -> CmdResult<IncidentDetail> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents()
                .open(&title, severity, commander.as_deref())
                .await
        })
        .await
}

/// Moves the incident to `status`: acknowledged, mitigated or resolved.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_set_status(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    status: IncidentStatus,
) -> CmdResult<IncidentDetail> {
    state
        .with_session(profile.as_deref(), |s| async move {
            let incidents = s.incidents();
            match status {
                IncidentStatus::Acknowledged => incidents.acknowledge(&id).await,
                IncidentStatus::Mitigated => incidents.mitigate(&id).await,
                IncidentStatus::Resolved => incidents.resolve(&id).await,
                IncidentStatus::Open => Err(opsdeck_core::Error::InvalidInput {
                    field: "status".into(),
                    message: "an incident is opened once".into(),
                }),
            }
        })
        .await
}

/// Adds a note to the timeline.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_note(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    text: String,
) -> CmdResult<IncidentDetail> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents().note(&id, &text).await
        })
        .await
}

/// Links the firing alert with `fingerprint` to the incident.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_link_alert(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    fingerprint: String,
) -> CmdResult<IncidentDetail> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents().link_alert(&id, &fingerprint).await
        })
        .await
}

/// Writes the incident's Markdown report into the user's downloads;
/// returns the file's path.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn incident_export(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<String> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| super::invalid("downloads", &format!("no downloads folder: {e}")))?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.incidents().export_markdown_into(&id, &dir).await
        })
        .await
        .map(|path| path.display().to_string())
}

/// One page of maintenance windows, newest first.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn maintenance_list(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<MaintenancePage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.maintenance().list(None, None).await
        })
        .await
}

/// Makes a window: `matchers` as `name=value`, an end or a duration.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn maintenance_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    matchers: Vec<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    duration: Option<String>,
    reason: String,
) -> CmdResult<MaintenanceWindow> {
    let window = NewWindow::from_text(&matchers, starts_at, ends_at, duration.as_deref(), reason)?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.maintenance().create(&window).await
        })
        .await
}

/// Ends a window now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn maintenance_end(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<MaintenanceWindow> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.maintenance().end(&id).await
        })
        .await
}
