//! Alert commands: the alerts and silences of the window's profile, read from
//! its Alertmanagers through core, which merges, filters and explains them.

use opsdeck_core::alerts::{Alert, AlertFilter, Matcher, Merged, Silence};
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
    let matchers = matchers
        .iter()
        .filter(|m| !m.trim().is_empty())
        .map(|m| Matcher::parse(m))
        .collect::<opsdeck_core::Result<Vec<_>>>()?;
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
