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

    let launched = std::time::Instant::now();
    let state = AppState::open();
    tracing::debug!(ms = launched.elapsed().as_millis(), "console opened");
    let commands = commands::builder();
    let result = tauri::Builder::default()
        .manage(state)
        .on_page_load(move |window, payload| {
            tracing::debug!(
                ms = launched.elapsed().as_millis(),
                event = ?payload.event(),
                "page load"
            );
            // The window shows the app's own pages only, never remote content.
            let url = window.url().ok();
            if let Some(url) = url.filter(|u| !commands::is_app_url(u)) {
                tracing::error!(%url, "refusing to show a page that is not the app's");
            }
        })
        .setup(move |app| {
            tracing::debug!(ms = launched.elapsed().as_millis(), "setup");
            light_webview(app);
            // The tray is a convenience: without one the app still runs.
            if let Err(e) = tray(app) {
                tracing::warn!(error = %e, "no tray icon");
            }
            tracing::debug!(ms = launched.elapsed().as_millis(), "tray made");
            tauri::async_runtime::spawn(commands::notify::restart(app.handle().clone()));
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                use tauri::Manager as _;
                handle.state::<AppState>().warm().await;
                tracing::debug!(ms = launched.elapsed().as_millis(), "session warmed");
            });
            Ok(())
        })
        .plugin(navigation_guard())
        .invoke_handler(commands.invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("error: the window could not start: {e}");
        std::process::exit(1);
    }
}

/// The tray icon: its label counts the firing critical alerts of the
/// watched profile; its menu brings the window forward or quits.
fn tray(app: &tauri::App) -> tauri::Result<()> {
    use tauri::menu::{Menu, MenuItem};
    use tauri::tray::TrayIconBuilder;
    let show = MenuItem::with_id(app, "show", "Show Opsdeck", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Opsdeck", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
    let mut builder = TrayIconBuilder::with_id(commands::notify::TRAY)
        .menu(&menu)
        .tooltip("Opsdeck")
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => commands::notify::show_main(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// A console of live charts and tables keeps no page history and reloads
/// nothing from the network: WebKit's document-viewer cache model drops
/// its page and memory caches (the default keeps every decoded chart of
/// every refresh until memory pressure). Where the machine has no GPU
/// (no DRM render node), compositing would run on a software GL stack in
/// the web process, about half its memory (measured by `bench/overview`),
/// so the window draws without it. `OPSDECK_WEBVIEW_GPU=1` or `=0` decides
/// instead.
fn light_webview(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager as _;
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt as _, WebContextExt as _,
            WebViewExt as _,
        };
        let Some(window) = app.get_webview_window("main") else {
            return;
        };
        let gpu = match std::env::var("OPSDECK_WEBVIEW_GPU").as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => has_render_node(),
        };
        let set = window.with_webview(move |webview| {
            let webview = webview.inner();
            if let Some(context) = webview.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
            if !gpu {
                if let Some(settings) = webview.settings() {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
            }
        });
        if let Err(e) = set {
            tracing::warn!(error = %e, "the webview keeps WebKit's default caches and compositing");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

/// Whether the machine has a GPU to render with: a DRM render node.
#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Blocks navigation of any webview away from the app's own origin.
fn navigation_guard<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| commands::is_app_url(url))
        .build()
}

#[cfg(test)]
mod tests {
    use super::commands;

    /// Writes the window's bindings (commands, their argument and result
    /// types, the constants); tests/run fails when the committed file differs.
    #[test]
    fn bindings_are_generated_from_the_declared_commands() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ui/src/generated/bindings.ts"
        );
        commands::builder()
            .export(
                specta_typescript::Typescript::default()
                    .header("// Generated from the desktop commands by `cargo test -p opsdeck-desktop`; do not edit."),
                path,
            )
            .expect("the bindings export");
        let text = std::fs::read_to_string(path).expect("bindings written");
        for name in commands::NAMES {
            assert!(
                text.contains(&format!("\"{name}\"")),
                "{name} is missing from the bindings"
            );
        }
    }

    /// The window's capability grants exactly the declared commands: none
    /// forgotten (it would fail at run time), none extra.
    #[test]
    fn capability_grants_exactly_the_declared_commands() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities/main.json");
        let text = std::fs::read_to_string(path).expect("capabilities/main.json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let mut granted: Vec<String> = json["permissions"]
            .as_array()
            .expect("a permissions list")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        granted.sort();
        let mut declared: Vec<String> = commands::NAMES
            .iter()
            .map(|n| format!("allow-{}", n.replace('_', "-")))
            .collect();
        declared.sort();
        assert_eq!(
            granted, declared,
            "capabilities/main.json must grant exactly the commands of app_commands!"
        );
    }

    /// build.rs reads the same declaration as text: both lists agree.
    #[test]
    fn build_script_sees_the_declared_commands() {
        let source = include_str!("commands/mod.rs");
        assert_eq!(commands::command_names(source), commands::NAMES);
    }
}
