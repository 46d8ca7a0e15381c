//! Backups: the configured targets, the routes that start backup, verify
//! and restore jobs, and what those jobs do: pgBackRest for `postgresql`
//! targets (`pgbackrest`, `verify`, `restore`, `retention`), files on the
//! server for `pg_dump` (`dump`) and `redis_rdb` (`rdb`) targets (`files`),
//! and the scheduled verifications (`schedule`).

pub mod dump;
pub mod files;
pub mod listing;
pub mod pgbackrest;
pub mod rdb;
pub mod repo_disk;
pub mod restore;
pub mod retention;
pub mod routes;
pub mod schedule;
pub mod source;
pub mod verify;

/// The job kind of a backup.
pub const KIND: &str = "backup";

/// The job kind of a verification: `pgbackrest verify`, then a restore
/// test of one backup.
pub const VERIFY_KIND: &str = "verify";

/// The job kind of a restore: a safety backup, then the target restored
/// to the newest point or to a time, and its first write timed.
pub const RESTORE_KIND: &str = "restore";

/// What a backup job's `target` column says: one mutating job per target.
pub fn job_target(id: &str) -> String {
    format!("backup-target:{id}")
}

/// The libpq URL of the target's primary: its Patroni cluster's running
/// leader when it names a cluster (a fixed URL points at a replica after a
/// failover), else, or when Patroni names none, its `database`.
pub async fn primary_url(
    config: &crate::config::Config,
    target: &crate::config::TargetConfig,
) -> Option<String> {
    let cluster = target.cluster.as_deref().and_then(|id| config.cluster(id));
    if let Some(crate::config::Manager::Patroni(patroni)) = cluster.map(|c| &c.manager) {
        if let Ok((members, _)) = crate::clusters::patroni::members(patroni).await {
            if let Some(leader) = members.iter().find(|m| m.leader && m.state == "running") {
                return Some(crate::clusters::patroni::database_of(patroni, leader));
            }
        }
    }
    target.database.clone()
}
