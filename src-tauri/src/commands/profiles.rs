//! Profile commands.

use opsdeck_core::secrets::Token;
use opsdeck_core::{LoginCheck, ProfileAdded, Tier, WindowProfiles};
use tauri::ipc::Channel;
use tauri::{Manager, State};

use super::{invalid, AppState, CmdResult};

/// The profiles, with the one this window is on (its own, not the CLI's).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profiles_list(
    state: State<'_, AppState>,
    window: tauri::Window,
) -> CmdResult<WindowProfiles> {
    Ok(state.console()?.window_profiles(window.label()).await?)
}

/// Adds a profile with its token, checked by the server first (a refused
/// one saves nothing), and puts this window on it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_add(
    state: State<'_, AppState>,
    window: tauri::Window,
    name: String,
    tier: Tier,
    admin_url: String,
    token: String,
) -> CmdResult<ProfileAdded> {
    let token = Token::new(&token).map_err(|_| invalid("token", "enter the API token"))?;
    let console = state.console()?;
    let added = console
        .profile_add_checked(&name, tier, &admin_url, token)
        .await?;
    state.forget(&name).await;
    console.window_use(window.label(), &name).await?;
    rewatch(&window);
    Ok(added)
}

/// Puts this window on another profile; the CLI's stays as it is.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_use(
    state: State<'_, AppState>,
    window: tauri::Window,
    name: String,
) -> CmdResult<()> {
    state.console()?.window_use(window.label(), &name).await?;
    rewatch(&window);
    Ok(())
}

/// The alert notifications follow the window's profile (see
/// [`super::notify`]); restarted in the background, so the switch does not
/// wait on the keyring or Alertmanager.
fn rewatch(window: &tauri::Window) {
    tauri::async_runtime::spawn(super::notify::restart(window.app_handle().clone()));
}

/// Tells the window, on `on_change`, whenever profiles.toml changes on disk
/// (the CLI added, removed or edited a profile), until the window goes or
/// calls this again (a reload).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profiles_watch(
    state: State<'_, AppState>,
    window: tauri::Window,
    on_change: Channel<()>,
) -> CmdResult<()> {
    let mut watch = state.console()?.watch_profiles(WATCH_EVERY);
    let task = tauri::async_runtime::spawn(async move {
        loop {
            watch.changed().await;
            if on_change.send(()).is_err() {
                break;
            }
        }
    });
    state.watching(window.label(), task);
    Ok(())
}

/// How often the profiles file is looked at: a `stat`, cheap enough to make
/// a change by the CLI show in the window within a second.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_remove(
    state: State<'_, AppState>,
    window: tauri::Window,
    name: String,
) -> CmdResult<()> {
    let removed = state.console()?.profile_remove(&name).await;
    // Even when removing failed half-way, the next action reads it afresh.
    state.forget(&name).await;
    rewatch(&window);
    Ok(removed?)
}

/// Replaces a profile's token: the server checks it first (a token it
/// refuses is not kept); an unreachable server keeps it unverified.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_set_token(
    state: State<'_, AppState>,
    window: tauri::Window,
    name: String,
    token: String,
) -> CmdResult<LoginCheck> {
    let token = Token::new(&token).map_err(|_| invalid("token", "enter the API token"))?;
    let check = state.console()?.login(&name, token).await;
    state.forget(&name).await;
    rewatch(&window);
    Ok(check?)
}
