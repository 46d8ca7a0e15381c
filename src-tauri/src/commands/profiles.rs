//! Profile commands.

use opsdeck_core::console::LoginCheck;
use opsdeck_core::secrets::Token;
use opsdeck_core::{ProfileEntry, ProfileList, Tier};
use tauri::State;

use super::{invalid, AppState, CmdResult};

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profiles_list(state: State<'_, AppState>) -> CmdResult<ProfileList> {
    Ok(state.console()?.profile_list().await?)
}

/// Adds a profile with its token (into the keyring) and makes it current.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_add(
    state: State<'_, AppState>,
    name: String,
    tier: Tier,
    admin_url: String,
    token: String,
) -> CmdResult<ProfileEntry> {
    let token = Token::new(&token).map_err(|_| invalid("token", "enter the API token"))?;
    let entry = state
        .console()?
        .profile_add(&name, tier, &admin_url, Some(token), true)
        .await?;
    state.forget(&name).await;
    Ok(entry)
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_use(state: State<'_, AppState>, name: String) -> CmdResult<()> {
    Ok(state.console()?.profile_use(&name).await?)
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_remove(state: State<'_, AppState>, name: String) -> CmdResult<()> {
    let removed = state.console()?.profile_remove(&name).await;
    // Even when removing failed half-way, the next action reads it afresh.
    state.forget(&name).await;
    Ok(removed?)
}

/// Replaces a profile's token: the server checks it first (a token it
/// refuses is not kept); an unreachable server keeps it unverified.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn profile_set_token(
    state: State<'_, AppState>,
    name: String,
    token: String,
) -> CmdResult<LoginCheck> {
    let token = Token::new(&token).map_err(|_| invalid("token", "enter the API token"))?;
    let check = state.console()?.login(&name, token).await;
    state.forget(&name).await;
    Ok(check?)
}
