//! Backups: the configured targets, the route that starts a backup job,
//! and what a backup job does (`pgbackrest`).

pub mod listing;
pub mod pgbackrest;
pub mod routes;

/// The job kind of a backup.
pub const KIND: &str = "backup";

/// What a backup job's `target` column says: one mutating job per target.
pub fn job_target(id: &str) -> String {
    format!("backup-target:{id}")
}
