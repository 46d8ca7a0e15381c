//! Backup targets and the backups run on them. Targets are declared in
//! platform-admin's configuration file by the platform team; what the API
//! shows of one never includes its credentials.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What engine backs a target up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupTargetKind {
    /// A PostgreSQL cluster backed up by pgBackRest.
    Postgresql,
}

/// A target backups are taken of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct BackupTarget {
    /// The name the configuration gives it; used in paths.
    pub id: String,
    pub kind: BackupTargetKind,
    /// pgBackRest's stanza of the target.
    pub stanza: String,
    /// What the platform team wrote about it, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Every configured target, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct BackupTargetList {
    pub items: Vec<BackupTarget>,
}

/// pgBackRest's backup types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupType {
    /// Everything.
    Full,
    /// What changed since the last full backup.
    Diff,
    /// What changed since the last backup of any type.
    Incr,
}

impl BackupType {
    /// The value of pgBackRest's `--type`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Full => "full",
            BackupType::Diff => "diff",
            BackupType::Incr => "incr",
        }
    }
}

/// Body of `POST /v1/backup-targets/{target}/backups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateBackup {
    #[serde(rename = "type")]
    pub backup_type: BackupType,
}

/// What a succeeded backup job produced, from `pgbackrest info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct BackupResult {
    /// pgBackRest's label (`20261124-221500F`).
    pub label: String,
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    /// Size of the database as backed up, in bytes.
    #[specta(type = f64)]
    pub size: u64,
    /// Size of the backup in the repository, in bytes.
    #[specta(type = f64)]
    pub repository_size: u64,
    /// Start and stop, Unix seconds.
    #[specta(type = f64)]
    pub started_at: i64,
    #[specta(type = f64)]
    pub stopped_at: i64,
    /// The WAL segments the backup needs, first and last.
    pub wal_start: Option<String>,
    pub wal_stop: Option<String>,
}
