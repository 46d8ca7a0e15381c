//! Opsdeck's desktop window: opens core's console, registers the commands
//! and keeps the window on the app's own content. Everything else is in core.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use commands::AppState;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let state = AppState::open();
    let result = tauri::Builder::default()
        .manage(state)
        .on_page_load(|window, _| {
            // The window shows the app's own pages only, never remote content.
            let url = window.url().ok();
            if let Some(url) = url.filter(|u| !commands::is_app_url(u)) {
                tracing::error!(%url, "refusing to show a page that is not the app's");
            }
        })
        .plugin(navigation_guard())
        .invoke_handler(tauri::generate_handler![
            commands::profiles::profiles_list,
            commands::profiles::profile_add,
            commands::profiles::profile_use,
            commands::profiles::profile_remove,
            commands::tenants::tenants_list,
            commands::tenants::tenant_create,
            commands::tenants::tenant_update,
            commands::tenants::tenant_update_preflight,
            commands::tenants::tenant_preflight,
            commands::tenants::tenant_action,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("error: the window could not start: {e}");
        std::process::exit(1);
    }
}

/// Blocks navigation of any webview away from the app's own origin.
fn navigation_guard<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| commands::is_app_url(url))
        .build()
}
