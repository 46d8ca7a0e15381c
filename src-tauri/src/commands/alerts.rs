//! Alert commands: the alerts and silences of the window's profile, read from
//! its Alertmanagers through core, which merges, filters and explains them;
//! silences made and expired, with core's preflight and production rule.

use opsdeck_core::alerts::{
    created_by, parse_duration, Alert, AlertFilter, Matcher, Merged, NewSilence, Silence,
    SilencePreflight,
};
use tauri::State;

use super::{AppState, CmdResult};

/// The alerts of every Alertmanager of the profile, merged by fingerprint,
/// that match every one of `matchers` (`name=value`, `!=`, `=~`, `!~`, read
/// by core's rules).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_list(
    state: State<'_, AppState>,
    profile: Option<String>,
    matchers: Vec<String>,
) -> CmdResult<Merged<Alert>> {
    let matchers = matchers_of(&matchers)?;
    let filter = AlertFilter {
        matchers,
        ..AlertFilter::default()
    };
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.list(&filter).await
        })
        .await
}

/// The silences of every Alertmanager of the profile, merged by id.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_silences(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Merged<Silence>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.silences().await
        })
        .await
}

fn matchers_of(matchers: &[String]) -> opsdeck_core::Result<Vec<Matcher>> {
    matchers
        .iter()
        .filter(|m| !m.trim().is_empty())
        .map(|m| Matcher::parse(m))
        .collect()
}

/// What silencing `matchers` for `duration` (`2h`, `30m`) will do, how many
/// firing alerts they match now, and what production asks to be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_silence_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    matchers: Vec<String>,
    duration: String,
) -> CmdResult<SilencePreflight> {
    let matchers = matchers_of(&matchers)?;
    let duration = parse_duration(&duration)?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.silence_preflight(&matchers, duration).await
        })
        .await
}

/// Creates a silence; returns its id. Production needs `confirmation`.
/// With `until_resolved`, the app's watcher ends it once none of its
/// alerts is left (`duration` still bounds it).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
// The silence's fields, each as the dialog holds it.
#[allow(clippy::too_many_arguments)]
pub async fn alerts_silence(
    state: State<'_, AppState>,
    profile: Option<String>,
    matchers: Vec<String>,
    duration: String,
    comment: String,
    until_resolved: bool,
    confirmation: Option<String>,
) -> CmdResult<String> {
    let silence = NewSilence {
        matchers: matchers_of(&matchers)?,
        duration: parse_duration(&duration)?,
        comment,
        created_by: created_by(),
    };
    state
        .with_session(profile.as_deref(), |s| async move {
            let alerts = s.alerts()?;
            if until_resolved {
                alerts
                    .silence_until_resolved(&silence, confirmation.as_deref())
                    .await
            } else {
                alerts.silence(&silence, confirmation.as_deref()).await
            }
        })
        .await
}

/// Acknowledges the firing alert of `fingerprint` for `hold` as the person
/// at this computer: the other consoles show who took it. It mutes
/// nothing. Returns the acknowledgement's id.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_acknowledge(
    state: State<'_, AppState>,
    profile: Option<String>,
    fingerprint: String,
    comment: String,
    hold: String,
) -> CmdResult<String> {
    let hold = parse_duration(&hold)?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.acknowledge(&fingerprint, &comment, hold).await
        })
        .await
}

/// Withdraws acknowledgement `id`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_withdraw(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<()> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.withdraw(&id).await
        })
        .await
}

/// What expiring silence `id` will do, and what production asks to be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_expire_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
) -> CmdResult<SilencePreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            Ok(s.alerts()?.expire_preflight(&id))
        })
        .await
}

/// Expires silence `id`. Production needs `confirmation`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn alerts_expire(
    state: State<'_, AppState>,
    profile: Option<String>,
    id: String,
    confirmation: Option<String>,
) -> CmdResult<()> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.alerts()?.expire(&id, confirmation.as_deref()).await
        })
        .await
}
