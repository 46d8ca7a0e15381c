//! Audit commands: a page of the profile's audit log for the view's filters,
//! and every matching record exported to the user's downloads as CSV or
//! JSON Lines.

use chrono::{DateTime, Utc};
use opsdeck_api::audit::AuditPage;
use opsdeck_core::progress::Reporter;
use opsdeck_core::{AuditFilter, ExportFormat};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager as _, State};

use super::{AppState, CmdResult};

/// The view's filters: each value matches exactly; absent or blank matches all.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct AuditFilters {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub tenant: Option<String>,
    /// Written at or after.
    pub since: Option<DateTime<Utc>>,
    /// Written before.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilters {
    fn filter(self) -> AuditFilter {
        let given = |v: Option<String>| v.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        AuditFilter {
            actor: given(self.actor),
            action: given(self.action),
            target: given(self.target),
            tenant: given(self.tenant),
            since: self.since,
            until: self.until,
        }
    }
}

/// The file formats of an export.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    Csv,
    Jsonl,
}

/// What an export wrote, and where.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AuditExported {
    #[specta(type = u32)]
    pub records: u64,
    pub path: String,
}

/// One page of records, newest first; `cursor` is the page before's `next_cursor`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn audit_page(
    state: State<'_, AppState>,
    profile: Option<String>,
    filters: AuditFilters,
    limit: Option<u32>,
    cursor: Option<String>,
) -> CmdResult<AuditPage> {
    let filter = filters.filter();
    state
        .with_session(profile.as_deref(), |s| async move {
            s.audit().page(&filter, limit, cursor).await
        })
        .await
}

/// Every record matching `filters`, written to a new file in the user's
/// downloads (their home without one), named by profile and time.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn audit_export(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Option<String>,
    filters: AuditFilters,
    format: AuditFormat,
) -> CmdResult<AuditExported> {
    let filter = filters.filter();
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| super::invalid("downloads", &format!("no downloads folder: {e}")))?;
    let (format, ext) = match format {
        AuditFormat::Csv => (ExportFormat::Csv, "csv"),
        AuditFormat::Jsonl => (ExportFormat::Jsonl, "jsonl"),
    };
    state
        .with_session(profile.as_deref(), |s| async move {
            let safe: String = s
                .profile()
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(60)
                .collect();
            let name = format!("audit-{safe}-{}.{ext}", Utc::now().format("%Y%m%d-%H%M%S"));
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|source| opsdeck_core::Error::Io {
                    path: dir.clone(),
                    source,
                })?;
            let exported = s
                .audit()
                .export(&filter, format, &dir.join(name), &Reporter::none())
                .await?;
            Ok(AuditExported {
                records: exported.records,
                path: exported.path.display().to_string(),
            })
        })
        .await
}
