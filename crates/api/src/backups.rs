//! Backup targets and the backups run on them. Targets are declared in
//! platform-admin's configuration file by the platform team; what the API
//! shows of one never includes its credentials.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What engine backs a target up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupTargetKind {
    /// A PostgreSQL cluster backed up by pgBackRest (full, diff and incr
    /// backups, WAL archiving, point-in-time restore).
    Postgresql,
    /// One database's logical dump (`pg_dump -Fc`, one tenant's data
    /// export), kept as files on the server; restores only to the moment
    /// it was taken.
    PgDump,
    /// A Redis server's RDB snapshot (`BGSAVE`, copied, checked with
    /// `redis-check-rdb`), kept as files on the server; restores only to
    /// the moment it was taken.
    RedisRdb,
}

impl BackupTargetKind {
    /// The name the configuration file and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupTargetKind::Postgresql => "postgresql",
            BackupTargetKind::PgDump => "pg_dump",
            BackupTargetKind::RedisRdb => "redis_rdb",
        }
    }

    /// Whether its backups restore to any point in a window (continuous
    /// WAL archiving), not only to when each was taken.
    pub fn point_in_time(self) -> bool {
        matches!(self, BackupTargetKind::Postgresql)
    }
}

/// A target backups are taken of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct BackupTarget {
    /// The name the configuration gives it; used in paths.
    pub id: String,
    pub kind: BackupTargetKind,
    /// pgBackRest's stanza of the target (`postgresql` targets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stanza: Option<String>,
    /// What the platform team wrote about it, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How often a verification is queued on its own (`verify_every`),
    /// in seconds; absent: only when someone starts one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub verify_every_seconds: Option<u64>,
    /// When the next scheduled verification is due: the last verify job's
    /// start plus `verify_every_seconds` (now or past: at the scheduler's
    /// next look, or once the target's running job ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_verification_at: Option<chrono::DateTime<chrono::Utc>>,
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
    /// A restore point created in the source right after the backup, at
    /// which `row_counts` were read: what a restore test restores to and
    /// compares against. Absent when the target names no database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_point: Option<String>,
    /// Rows per table (`schema.table`) of the target's database at
    /// `restore_point`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<std::collections::BTreeMap<String, f64>>)]
    pub row_counts: Option<std::collections::BTreeMap<String, u64>>,
    /// The backups retention removed after this one (labels, oldest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<String>,
    /// SHA-256 of the backup's file, hex (`pg_dump` and `redis_rdb`
    /// targets, whose backup is one file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Body of `POST /v1/backup-targets/{target}/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct VerifyBackup {
    /// The backup to restore-test (its label); the newest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}

/// One table of a restore test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct TableCount {
    /// `schema.table`.
    pub table: String,
    /// Rows in the source as of the backup, when they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub source: Option<u64>,
    /// Rows in the restored copy (absent: the table is missing there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub restored: Option<u64>,
}

/// What a succeeded verify job produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct VerifyResult {
    /// The backup restore-tested.
    pub label: String,
    /// Per table, the source's and the restored copy's rows.
    pub tables: Vec<TableCount>,
    /// Whether source counts were recorded to compare against.
    pub compared: bool,
    /// From the restore's start to the restored copy accepting queries
    /// (0 for a file check).
    #[specta(type = f64)]
    pub restore_seconds: u64,
    /// What was checked instead of a restore test, for a target whose
    /// backups are files (`pg_dump`, `redis_rdb`): the tool's reading and
    /// the checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
}

/// Whether pgBackRest found a backup sound when it took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Ok,
    /// pgBackRest recorded errors (page checksums) while copying it.
    Error,
}

/// One backup in a target's repository, from `pgbackrest info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Backup {
    /// pgBackRest's label (`20261124-221500F`, `…_20261124-223000I`).
    pub label: String,
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    pub status: BackupStatus,
    /// Size of the database as backed up, in bytes.
    #[specta(type = f64)]
    pub size: u64,
    /// Size of the backup in the repository, in bytes.
    #[specta(type = f64)]
    pub repository_size: u64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub stopped_at: chrono::DateTime<chrono::Utc>,
    /// The WAL segments the backup needs, first and last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_stop: Option<String>,
    /// The backup it depends on (a diff's or incr's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<String>,
    /// Whether its latest verification (repository check and restore test)
    /// passed; absent when it was never verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the target's retention keeps it at the next expiry (a diff or
    /// incr is kept with the full backup it depends on); absent: retention
    /// removes it after the next backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_by: Option<RetentionKeep>,
    /// SHA-256 of the backup's file, hex, as recorded when it was taken
    /// (`pg_dump` and `redis_rdb` targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Why retention keeps a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RetentionKeep {
    /// Within the full backups' retention (the newest `full` backups, or
    /// those taken in the last `full` days); the newest full backup always is.
    Retention,
    /// The newest full backup of its week, within the weekly retention.
    Weekly,
    /// The newest backup whose verification passed (or the full backup it
    /// depends on): never removed by retention.
    LastVerified,
}

/// From when to when the target can be restored to any point: from the
/// first whole second after its oldest backup ended (pgBackRest starts a
/// point-in-time restore only from a backup that stopped before the
/// target's second) to its newest restorable point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RestoreWindow {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
}

/// What the newest restorable point was measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RpoSource {
    /// The newest WAL segment archived (`pg_stat_archiver`): continuous
    /// archiving.
    WalArchive,
    /// The end of the newest backup: no archived WAL could be read.
    LastBackup,
    /// Nothing to restore.
    None,
}

/// The target's recovery point: how much would be lost if it were
/// restored now, against its objective.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Rpo {
    /// The objective from the configuration, in seconds (default 300).
    #[specta(type = f64)]
    pub objective_seconds: u64,
    /// The newest point the target can be restored to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_restorable_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Now minus that, in seconds; absent with nothing to restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(type = Option<f64>)]
    pub seconds: Option<i64>,
    /// Over the objective (or nothing to restore at all).
    pub over: bool,
    pub source: RpoSource,
    /// Why the WAL archive could not be read, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `GET /v1/backup-targets/{target}/backups`: the target's backups, oldest
/// first, its restorable window and its RPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct BackupList {
    pub target: String,
    pub items: Vec<Backup>,
    /// Whether the target restores to any point in a window: false for
    /// `pg_dump` and `redis_rdb` targets, whose backups restore only to
    /// when each was taken (`restorable` is then always absent).
    pub point_in_time: bool,
    /// The window; absent without point-in-time restore or backups to
    /// start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restorable: Option<RestoreWindow>,
    /// The oldest and newest WAL segments in the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_max: Option<String>,
    pub rpo: Rpo,
    /// Why the repository could not be read (`pgbackrest info` failed):
    /// the list is then empty and the RPO over, not an error of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_error: Option<String>,
}

/// Body of `POST /v1/backup-targets/{target}/restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct RestoreBackup {
    /// Restore to this point in time (inside the target's restorable
    /// window); to the newest restorable point when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// The target's id, typed: a restore replaces the target's data.
    pub confirm: String,
}

/// What a succeeded restore job produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct RestoreResult {
    /// The point restored to; absent: the newest restorable point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// The backup taken first, to come back to (its label).
    pub safety_backup: String,
    /// When the restored target first accepted a write.
    pub first_write_at: chrono::DateTime<chrono::Utc>,
    /// Achieved RTO: from the restore's request to that first write.
    pub rto_seconds: f64,
}
