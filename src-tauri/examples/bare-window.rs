//! A bare Tauri window: the same Tauri, WebKitGTK and window size as the
//! app, showing an empty page, with no commands, tray or watcher. It is the
//! baseline `bench/overview` measures the app's start and memory against.

fn main() {
    let mut context = tauri::generate_context!();
    // The app's own window would load the whole UI: this one loads nothing.
    context.config_mut().app.windows.clear();
    let result = tauri::Builder::default()
        .setup(|app| {
            let blank = "about:blank".parse().map_err(|e| format!("{e}"))?;
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::External(blank))
                .title("Bare")
                .inner_size(1280.0, 820.0)
                .build()?;
            Ok(())
        })
        .run(context);
    if let Err(e) = result {
        eprintln!("error: the window could not start: {e}");
        std::process::exit(1);
    }
}
