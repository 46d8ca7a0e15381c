//! IPC commands: each takes validated arguments, calls core, and maps the
//! error to `{ code, message, details }` for the window.

pub mod profiles;
pub mod tenants;

use opsdeck_core::{Console, ErrorReport};

/// The console, or why it could not be opened (shown by every command, so
/// the window explains instead of going blank).
pub struct AppState(Result<Console, ErrorReport>);

impl AppState {
    pub fn open() -> Self {
        // Core's network defaults are the interactive ones: a hanging server
        // shows the stale list within core's read budget, here as in the CLI.
        let opened = tauri::async_runtime::block_on(Console::open_default());
        if let Err(e) = &opened {
            tracing::error!(error = %e, "cannot open the console");
        }
        Self(opened.map_err(|e| ErrorReport::from(&e)))
    }

    pub fn console(&self) -> Result<&Console, ErrorReport> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

pub type CmdResult<T> = Result<T, ErrorReport>;

/// Whether `url` is the app's own content (the bundled pages or IPC).
pub fn is_app_url(url: &tauri::Url) -> bool {
    match url.scheme() {
        "tauri" => true,
        "http" | "https" => matches!(
            url.host_str(),
            Some("tauri.localhost") | Some("ipc.localhost")
        ),
        _ => false,
    }
}

/// An argument the window sent that core would not accept.
pub fn invalid(field: &str, message: &str) -> ErrorReport {
    ErrorReport {
        code: "invalid_input".into(),
        message: format!("{field}: {message}"),
        details: vec![opsdeck_api::FieldError::new(field, message)],
    }
}
