//! IPC commands: each takes validated arguments, calls core, and maps the
//! error to `{ code, message, details }` for the window. `app_commands!` below
//! is their one declaration: the invoke handler, the TypeScript bindings
//! (`ui/src/generated/bindings.ts`), the build manifest and the capability
//! check all follow from it.

pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod backups;
pub mod clusters;
pub mod dashboards;
pub mod incidents;
pub mod jobs;
pub mod notify;
pub mod playbooks;
pub mod profiles;
pub mod rbac;
pub mod tenants;

#[cfg(test)]
mod names;
#[cfg(test)]
pub use names::command_names;

use std::collections::HashMap;

use opsdeck_core::progress::{Progress, Reporter};
use opsdeck_core::{Code, Console, ConsoleCode, ErrorReport, Session, Sessions};

/// The console, or why it could not be opened (shown by every command, so
/// the window explains instead of going blank), and the profiles the window
/// has opened: an action does not read profiles.toml or the keyring again.
pub struct AppState {
    console: Result<Console, ErrorReport>,
    sessions: Sessions,
    /// The first dashboard's panels, fetched while the window starts.
    pub prefetch: opsdeck_core::dashboards::Prefetch,
    /// The task telling each window (by label) of changes to profiles.toml.
    watches: std::sync::Mutex<HashMap<String, tauri::async_runtime::JoinHandle<()>>>,
    /// The alert watcher of the main window's profile, and its clicks.
    pub notifications: notify::Notifications,
}

impl AppState {
    pub fn open() -> Self {
        // Core's network defaults are the interactive ones: a hanging server
        // shows the stale list within core's read budget, here as in the CLI.
        let opened = tauri::async_runtime::block_on(Console::open_default());
        if let Err(e) = &opened {
            tracing::error!(error = %e, "cannot open the console");
        }
        Self {
            console: opened.map_err(|e| ErrorReport::from(&e)),
            sessions: Sessions::new(),
            prefetch: Default::default(),
            watches: Default::default(),
            notifications: Default::default(),
        }
    }

    /// Opens the current profile's session (its token from the keyring,
    /// its HTTP clients) while the window is still starting, so the first
    /// command finds it open, and fetches the first dashboard's panels for
    /// the page's first render to draw. A failure is the first command's
    /// to report.
    pub async fn warm(&self) {
        use opsdeck_core::dashboards::{self, Catalog, RenderOptions};
        let Ok(console) = self.console() else {
            return;
        };
        let session = match self.sessions.get(console, None).await {
            Ok(session) => session,
            Err(e) => {
                tracing::debug!(error = %e, "no session opened ahead of the window");
                return;
            }
        };
        let Ok(metrics) = session.metrics() else {
            return;
        };
        let Ok(range) = opsdeck_core::alerts::parse_duration(dashboards::DEFAULT_RANGE) else {
            return;
        };
        let catalog = Catalog::load(&dashboards::user_dir(&console.paths().config_dir));
        if let Some(first) = catalog
            .as_ref()
            .ok()
            .and_then(|c| c.get(dashboards::FIRST).ok())
        {
            self.prefetch
                .fetch(&metrics, first, &RenderOptions::last(range))
                .await;
        }
    }

    pub fn console(&self) -> Result<&Console, ErrorReport> {
        self.console.as_ref().map_err(Clone::clone)
    }

    /// Runs `f` on the open session of `profile` (or the current profile).
    pub async fn with_session<T, F, Fut>(&self, profile: Option<&str>, f: F) -> CmdResult<T>
    where
        F: FnOnce(Session) -> Fut,
        Fut: std::future::Future<Output = opsdeck_core::Result<T>>,
    {
        Ok(self.sessions.with(self.console()?, profile, f).await?)
    }

    /// Keeps `task` as the one watching profiles for `window`, ending the
    /// one it had (a reloaded page asks again; the old page is gone).
    pub fn watching(&self, window: &str, task: tauri::async_runtime::JoinHandle<()>) {
        // A panic while holding it left a map of tasks, not a broken invariant.
        let mut watches = self
            .watches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(old) = watches.insert(window.to_string(), task) {
            old.abort();
        }
    }

    /// Drops the session of `profile`, after its entry or token changed.
    pub async fn forget(&self, profile: &str) {
        self.sessions.forget(profile).await;
    }
}

pub type CmdResult<T> = Result<T, ErrorReport>;

/// A reporter for long work whose events go to the window over `channel`,
/// as they come, until the work drops the reporter.
pub fn progress_to(channel: tauri::ipc::Channel<Progress>) -> Reporter {
    let (reporter, mut events) = Reporter::channel();
    tauri::async_runtime::spawn(async move {
        while let Some(progress) = events.recv().await {
            if channel.send(progress).is_err() {
                // The window went away; the work goes on without a watcher.
                break;
            }
        }
    });
    reporter
}

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

/// Declares the commands: `app_commands! { module::command, ... }` (no
/// comments inside: build.rs reads the list as text).
macro_rules! app_commands {
    { $($module:ident::$command:ident),+ $(,)? } => {
        /// The names the window invokes, in declaration order.
        #[cfg(test)]
        pub const NAMES: &[&str] = &[$(stringify!($command)),+];

        /// The commands with their types, for the invoke handler and the bindings.
        pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
            with_constants(
                tauri_specta::Builder::<tauri::Wry>::new()
                    // One type per Rust type, as the UI names them.
                    .disable_serde_phases()
                    .commands(tauri_specta::collect_commands![$($module::$command),+]),
            )
        }
    };
}

app_commands! {
    profiles::profiles_list,
    profiles::profiles_watch,
    profiles::profile_add,
    profiles::profile_use,
    profiles::profile_remove,
    profiles::profile_set_token,
    tenants::tenants_page,
    tenants::tenant_check_create,
    tenants::tenant_check_update,
    tenants::tenant_quotas_after,
    tenants::tenant_create,
    tenants::tenant_update,
    tenants::tenant_update_preflight,
    tenants::tenant_preflight,
    tenants::tenant_action,
    alerts::alerts_list,
    alerts::alerts_silences,
    alerts::alerts_silence_preflight,
    alerts::alerts_silence,
    alerts::alerts_expire_preflight,
    alerts::alerts_expire,
    alerts::alerts_acknowledge,
    alerts::alerts_withdraw,
    dashboards::dashboards_list,
    dashboards::dashboards_render,
    dashboards::dashboards_export_panel,
    notify::notify_settings,
    notify::notify_settings_set,
    notify::notify_clicks,
    notify::tray_approvals,
    jobs::jobs_list,
    jobs::job_get,
    jobs::job_watch,
    jobs::job_cancel,
    backups::backup_targets,
    backups::backups_list,
    backups::backup_create,
    backups::backup_verify,
    backups::backup_restore_preflight,
    backups::backup_restore,
    clusters::clusters_list,
    clusters::cluster_show,
    clusters::cluster_preflight,
    clusters::cluster_confirmation,
    clusters::cluster_start,
    playbooks::playbooks_library,
    playbooks::playbook_dry_run,
    playbooks::playbook_run_start,
    playbooks::playbook_runs,
    playbooks::playbook_run_get,
    playbooks::playbook_run_tick,
    playbooks::playbook_run_approve,
    playbooks::playbook_run_retry,
    playbooks::playbook_run_resume,
    incidents::incidents_list,
    incidents::incident_get,
    incidents::incident_open,
    incidents::incident_set_status,
    incidents::incident_note,
    incidents::incident_link_alert,
    incidents::incident_export,
    incidents::maintenance_list,
    incidents::maintenance_create,
    incidents::maintenance_end,
    approvals::approvals_list,
    approvals::approval_get,
    approvals::approval_request,
    approvals::approval_decide,
    audit::audit_page,
    audit::audit_export,
    rbac::rbac_me,
    rbac::rbac_users,
    rbac::rbac_groups,
    rbac::rbac_roles,
    rbac::rbac_bindings,
    rbac::rbac_matrix,
    rbac::rbac_role_preview,
    rbac::rbac_role_update,
    rbac::rbac_binding_preview_create,
    rbac::rbac_binding_create,
    rbac::rbac_binding_preview_delete,
    rbac::rbac_binding_delete,
    rbac::rbac_users_matching,
    rbac::rbac_user_create,
    rbac::rbac_user_update,
    rbac::rbac_user_delete_confirmation,
    rbac::rbac_user_delete,
    rbac::rbac_group_create,
    rbac::rbac_group_add_member,
    rbac::rbac_group_remove_member_confirmation,
    rbac::rbac_group_remove_member,
    rbac::rbac_group_delete_confirmation,
    rbac::rbac_group_delete,
}

/// What the window must not copy by hand: enum lists, limits and defaults,
/// exported beside the types so a new variant reaches the UI with its type.
fn with_constants(builder: tauri_specta::Builder<tauri::Wry>) -> tauri_specta::Builder<tauri::Wry> {
    use opsdeck_api::tenants::{CreateTenant, Plan, TenantStatus};
    use opsdeck_api::validation;
    builder
        .constant("PLANS", Plan::ALL)
        .constant("TENANT_STATUSES", TenantStatus::ALL)
        .constant("TIERS", opsdeck_core::Tier::ALL)
        .constant("DEFAULT_PLAN", CreateTenant::DEFAULT_PLAN)
        .constant("PLAN_DEFAULTS", Plan::all_defaults())
        .constant("QUOTA_MAX", validation::QUOTA_MAX)
        .constant("SLUG_MIN", validation::SLUG_MIN)
        .constant("SLUG_MAX", validation::SLUG_MAX)
        .constant("NAME_MAX", validation::NAME_MAX)
        .constant("DASHBOARD_RANGES", opsdeck_core::dashboards::RANGES)
        .constant(
            "DASHBOARD_DEFAULT_RANGE",
            opsdeck_core::dashboards::DEFAULT_RANGE,
        )
        .constant("INCIDENT_SEVERITIES", opsdeck_api::incidents::Severity::ALL)
        .constant("PERMISSIONS", opsdeck_api::rbac::Permission::ALL)
        .typ::<ErrorReport>()
}

/// An argument the window sent that core would not accept.
pub fn invalid(field: &str, message: &str) -> ErrorReport {
    ErrorReport {
        code: Code::Console(ConsoleCode::InvalidInput),
        message: format!("{field}: {message}"),
        details: vec![opsdeck_api::FieldError::new(field, message)],
        remedy: None,
    }
}
