//! Desktop notifications while the app runs: core's watcher follows the
//! alerts of the main window's profile (restarted when the window switches
//! profile or the settings change), a click on a notification brings the
//! window forward on that alert, and the tray shows how many critical
//! alerts fire. The rules of what is told are core's.

use std::sync::Arc;

use opsdeck_core::notify::{
    DesktopNotifier, NotifySettings, Rules, WatchEvent, WatchOptions, Watcher,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use super::{invalid, AppState, CmdResult};

/// The window whose profile is watched.
const MAIN: &str = "main";
/// The tray icon's id.
pub const TRAY: &str = "main";

/// An alert the user asked to see by clicking its notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct OpenAlert {
    pub profile: String,
    pub fingerprint: String,
}

/// The running watcher, and where clicks go.
#[derive(Default)]
pub struct Notifications {
    /// Held across a whole restart, so two restarts never leave two watchers.
    running: tokio::sync::Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    clicks: std::sync::Mutex<Clicks>,
    tray: std::sync::Mutex<TrayCounts>,
}

/// What the tray counts: firing critical alerts (`None` when nothing is
/// watched) and what waits on an approval: playbook runs, and requests of
/// the two-person rule.
#[derive(Default, Clone, Copy)]
struct TrayCounts {
    critical: Option<usize>,
    approvals: usize,
}

#[derive(Default)]
struct Clicks {
    channel: Option<Channel<OpenAlert>>,
    /// A click before the window listened (it was still loading).
    pending: Option<OpenAlert>,
}

impl Notifications {
    fn counts(&self) -> std::sync::MutexGuard<'_, TrayCounts> {
        // A panic while holding it left two numbers, not a broken invariant.
        self.tray
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clicks(&self) -> std::sync::MutexGuard<'_, Clicks> {
        // A panic while holding it left a channel, not a broken invariant.
        self.clicks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Stops the watcher and starts one for the main window's profile with the
/// kept settings, unless notifications are off or the profile names no
/// Alertmanager. Failures are logged: notifications never stop the app.
pub async fn restart(app: AppHandle) {
    let state = app.state::<AppState>();
    let mut running = state.notifications.running.lock().await;
    if let Some(old) = running.take() {
        old.abort();
    }
    show_critical(&app, None);
    let Ok(console) = state.console() else {
        return;
    };
    let settings = console.notify_settings().await;
    if !settings.enabled {
        return;
    }
    let current = match console.window_profiles(MAIN).await {
        Ok(profiles) => profiles.current,
        Err(e) => {
            tracing::warn!(error = %e, "no alert notifications: cannot read the profiles");
            return;
        }
    };
    let Some(profile) = current else {
        return;
    };
    let session = match state
        .with_session(Some(&profile), |s| async move { Ok(s) })
        .await
    {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(profile, error = %e.message, "no alert notifications for the profile");
            return;
        }
    };
    if session.profile().alertmanager_urls.is_empty() {
        return;
    }
    let options = WatchOptions {
        severity: settings.severity,
        rules: Rules {
            quiet: settings.quiet_hours,
            ..Rules::default()
        },
        ..WatchOptions::default()
    };
    let clicked = app.clone();
    let notifier = DesktopNotifier::new().on_click(Arc::new(move |profile, fingerprint| {
        open_alert(
            &clicked,
            OpenAlert {
                profile: profile.to_string(),
                fingerprint: fingerprint.to_string(),
            },
        )
    }));
    let watcher = match Watcher::new(session, &console.paths().data_dir, options) {
        Ok(watcher) => watcher.with_notifier(Arc::new(notifier)),
        Err(e) => {
            tracing::warn!(profile, error = %e, "no alert notifications for the profile");
            return;
        }
    };
    let tray = app.clone();
    *running = Some(tauri::async_runtime::spawn(async move {
        let watched = watcher
            .run(
                move |event| match event {
                    WatchEvent::Critical { firing } => show_critical(&tray, Some(firing)),
                    WatchEvent::StateReset { message }
                    | WatchEvent::NotifyFailed { message }
                    | WatchEvent::StateNotSaved { message }
                    | WatchEvent::Unreachable { message } => {
                        tracing::warn!("alert notifications: {message}")
                    }
                    other => tracing::debug!(event = ?other, "alert notifications"),
                },
                std::future::pending(),
            )
            .await;
        if let Err(e) = watched {
            tracing::warn!(error = %e, "alert notifications stopped");
        }
    }));
}

/// The tray's count of firing critical alerts; `None` when nothing is
/// watched.
fn show_critical(app: &AppHandle, firing: Option<usize>) {
    let counts = {
        let state = app.state::<AppState>();
        let mut counts = state.notifications.counts();
        counts.critical = firing;
        *counts
    };
    show_counts(app, counts);
}

/// The tray's title and tooltip: the critical alerts' count, and what
/// waits on an approval when anything does.
fn show_counts(app: &AppHandle, counts: TrayCounts) {
    let Some(tray) = app.tray_by_id(TRAY) else {
        return;
    };
    let (critical, mut tooltip) = match counts.critical {
        Some(0) => (None, "Opsdeck: no critical alerts".to_string()),
        Some(1) => (
            Some("1".to_string()),
            "Opsdeck: 1 critical alert firing".to_string(),
        ),
        Some(n) => (
            Some(n.to_string()),
            format!("Opsdeck: {n} critical alerts firing"),
        ),
        None => (None, "Opsdeck".to_string()),
    };
    let approvals = match counts.approvals {
        0 => None,
        n => {
            let things = if n == 1 { "thing" } else { "things" };
            tooltip.push_str(&format!(", {n} {things} waiting on an approval"));
            Some(format!("{n} to approve"))
        }
    };
    let title = match (critical, approvals) {
        (Some(c), Some(a)) => Some(format!("{c} · {a}")),
        (c, a) => c.or(a),
    };
    if let Err(e) = tray.set_title(title.as_deref()) {
        tracing::debug!(error = %e, "cannot set the tray's count");
    }
    if let Err(e) = tray.set_tooltip(Some(&tooltip)) {
        tracing::debug!(error = %e, "cannot set the tray's tooltip");
    }
}

/// Shows on the tray how many things wait on an approval: playbook runs
/// and two-person requests (the window counts them: it reads both).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tray_approvals(
    app: AppHandle,
    state: State<'_, AppState>,
    count: u32,
) -> CmdResult<()> {
    let counts = {
        let mut counts = state.notifications.counts();
        counts.approvals = count as usize;
        *counts
    };
    show_counts(&app, counts);
    Ok(())
}

/// Brings the main window forward.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        for result in [window.unminimize(), window.show(), window.set_focus()] {
            if let Err(e) = result {
                tracing::debug!(error = %e, "cannot bring the window forward");
            }
        }
    }
}

/// Brings the window forward on `alert`.
fn open_alert(app: &AppHandle, alert: OpenAlert) {
    show_main(app);
    let state = app.state::<AppState>();
    let mut clicks = state.notifications.clicks();
    let sent = clicks
        .channel
        .as_ref()
        .is_some_and(|channel| channel.send(alert.clone()).is_ok());
    if !sent {
        clicks.channel = None;
        clicks.pending = Some(alert);
    }
}

/// The notification settings (the defaults until the user changes them).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn notify_settings(state: State<'_, AppState>) -> CmdResult<NotifySettings> {
    Ok(state.console()?.notify_settings().await)
}

/// Keeps new notification settings and restarts the watcher with them.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn notify_settings_set(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: NotifySettings,
) -> CmdResult<NotifySettings> {
    if settings.quiet_hours.is_some_and(|q| q.start == q.end) {
        return Err(invalid("quiet_hours", "start and end are the same time"));
    }
    state.console()?.set_notify_settings(&settings).await?;
    restart(app).await;
    Ok(settings)
}

/// Tells the window, on `on_click`, which alert a clicked notification is
/// about (including one clicked before the window listened), until the
/// window calls this again (a reload).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn notify_clicks(
    state: State<'_, AppState>,
    on_click: Channel<OpenAlert>,
) -> CmdResult<()> {
    let mut clicks = state.notifications.clicks();
    if let Some(alert) = clicks.pending.take() {
        if on_click.send(alert.clone()).is_err() {
            clicks.pending = Some(alert);
        }
    }
    clicks.channel = Some(on_click);
    Ok(())
}
