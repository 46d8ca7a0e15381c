//! Backups of a profile's server: the targets its configuration declares,
//! the backups in a target's repository with its restorable window and RPO,
//! and starting a backup (a job: follow it with `Session::jobs`). What the
//! server says is cleaned of terminal control before anyone sees it.

use opsdeck_api::backups::{BackupList, BackupTarget, BackupType, CreateBackup};
use opsdeck_api::jobs::Job;

use crate::error::Result;
use crate::jobs;
use crate::sanitize;
use crate::session::Session;

impl Session {
    /// The backups of this session's server.
    pub fn backups(&self) -> Backups<'_> {
        Backups { session: self }
    }
}

/// The backups of a session's server.
pub struct Backups<'s> {
    session: &'s Session,
}

impl Backups<'_> {
    /// Every backup target, in the server's order.
    pub async fn targets(&self) -> Result<Vec<BackupTarget>> {
        let list = self.session.admin().backup_targets().await?;
        Ok(list
            .items
            .into_iter()
            .map(|mut t| {
                t.id = sanitize::remote(&t.id);
                t.stanza = sanitize::remote(&t.stanza);
                t.description = t.description.map(|d| sanitize::remote(&d));
                t
            })
            .collect())
    }

    /// The target's backups (oldest first), restorable window and RPO.
    pub async fn list(&self, target: &str) -> Result<BackupList> {
        let mut list = self.session.admin().backups(target).await?;
        list.target = sanitize::remote(&list.target);
        for backup in &mut list.items {
            backup.label = sanitize::remote(&backup.label);
            backup.wal_start = backup.wal_start.as_deref().map(sanitize::remote);
            backup.wal_stop = backup.wal_stop.as_deref().map(sanitize::remote);
            backup.prior = backup.prior.as_deref().map(sanitize::remote);
        }
        list.wal_min = list.wal_min.as_deref().map(sanitize::remote);
        list.wal_max = list.wal_max.as_deref().map(sanitize::remote);
        list.rpo.note = list.rpo.note.as_deref().map(sanitize::remote);
        Ok(list)
    }

    /// Starts a backup of the target: the queued job.
    pub async fn create(&self, target: &str, backup_type: BackupType) -> Result<Job> {
        let key = uuid::Uuid::new_v4().to_string();
        let job = self
            .session
            .admin()
            .create_backup(target, &CreateBackup { backup_type }, &key)
            .await?;
        Ok(jobs::clean(job))
    }
}
