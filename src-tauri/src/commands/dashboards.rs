//! Dashboard commands: the dashboards known, and one drawn panel by panel
//! through core (the window shows core's SVG as an image), and a panel
//! written as an SVG file into the user's downloads.

use opsdeck_core::alerts::parse_duration;
use opsdeck_core::dashboards::{
    self, Board, Catalog, DashboardList, ImageFormat, RenderOptions, Theme,
};
use tauri::{AppHandle, Manager, State};

use super::{AppState, CmdResult};

fn catalog(state: &AppState) -> CmdResult<Catalog> {
    let console = state.console()?;
    Ok(Catalog::load(&dashboards::user_dir(
        &console.paths().config_dir,
    ))?)
}

/// The built-in and the user's dashboards, and the files that could not
/// be read.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn dashboards_list(state: State<'_, AppState>) -> CmdResult<DashboardList> {
    Ok(DashboardList::from(&catalog(&state)?))
}

/// The panels of `dashboard` (or only `panel`) over the last `range`
/// (`15m`, `1h`, …), each drawn `width_px` wide in `theme`, from the
/// profile's Prometheus.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn dashboards_render(
    state: State<'_, AppState>,
    profile: Option<String>,
    dashboard: String,
    panel: Option<String>,
    range: String,
    width_px: u32,
    theme: Theme,
) -> CmdResult<Board> {
    let catalog = catalog(&state)?;
    let dashboard = catalog.get(&dashboard)?.clone();
    let options = RenderOptions {
        range: parse_duration(&range)?,
        theme,
        width_px,
        panel,
        raw: false,
    };
    state
        .with_session(profile.as_deref(), |s| {
            let prefetch = state.prefetch.clone();
            async move {
                dashboards::render_remembered_from(
                    &s.metrics()?,
                    &dashboard,
                    &options,
                    Some(&prefetch),
                )
                .await
            }
        })
        .await
}

/// Draws `panel` of `dashboard` again and writes it into the user's
/// downloads as an SVG or a PNG; returns the file's path.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
// The arguments are the render command's, plus the app for its downloads.
#[allow(clippy::too_many_arguments)]
pub async fn dashboards_export_panel(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Option<String>,
    dashboard: String,
    panel: String,
    range: String,
    width_px: u32,
    theme: Theme,
    format: ImageFormat,
) -> CmdResult<String> {
    let board = dashboards_render(
        state,
        profile,
        dashboard,
        Some(panel.clone()),
        range,
        width_px,
        theme,
    )
    .await?;
    let drawn = board
        .panels
        .iter()
        .find(|p| p.id == panel)
        .ok_or_else(|| super::invalid("panel", "the dashboard drew no such panel"))?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| super::invalid("downloads", &format!("no downloads folder: {e}")))?;
    let path = dashboards::export_panel(&dir, &board, drawn, format)?;
    Ok(path.display().to_string())
}
