//! Backups of a profile's server: the targets its configuration declares,
//! the backups in a target's repository with its restorable window and RPO,
//! and starting a backup (a job: follow it with `Session::jobs`). What the
//! server says is cleaned of terminal control before anyone sees it.

use chrono::{DateTime, Utc};
use opsdeck_api::backups::{BackupList, BackupTarget, BackupType, CreateBackup, VerifyBackup};
use opsdeck_api::jobs::Job;

use crate::error::{Error, Result};
use crate::jobs;
use crate::profiles::{Profile, Tier};
use crate::safety::{self, TypedPreflight};
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

/// What a restore's target is to the user.
const RESTORE_NOUN: &str = "backup target id";

/// What restoring `target` to `to` does, for the confirmation.
fn restore_summary(profile: &Profile, target: &str, to: Option<DateTime<Utc>>) -> String {
    let point = match to {
        Some(to) => format!("to {}", to.format("%Y-%m-%d %H:%M:%S UTC")),
        None => "to its newest restorable point".to_string(),
    };
    format!(
        "Restore backup target {target} on profile {} ({}) {point}. Its server is stopped and its data replaced; a safety backup is taken first.",
        profile.name, profile.tier
    )
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
                t.stanza = t.stanza.map(|s| sanitize::remote(&s));
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
            backup.sha256 = backup.sha256.as_deref().map(sanitize::remote);
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

    /// Starts a verification of the target (the repository, then a
    /// restore test of the backup `set`, the newest when `None`): the
    /// queued job. Its outcome becomes the backup's verified flag.
    pub async fn verify(&self, target: &str, set: Option<String>) -> Result<Job> {
        let key = uuid::Uuid::new_v4().to_string();
        let job = self
            .session
            .admin()
            .verify_backup(target, &VerifyBackup { set }, &key)
            .await?;
        Ok(jobs::clean(job))
    }

    /// What a restore of the target to `to` will do and what must be typed
    /// to go on: shown before [`Self::restore`] is asked.
    pub fn restore_preflight(
        &self,
        target: &str,
        to: Option<DateTime<Utc>>,
    ) -> Result<TypedPreflight> {
        let profile = self.session.profile();
        safety::typed_preflight(
            profile,
            "restore",
            target,
            RESTORE_NOUN,
            restore_summary(profile, target, to),
        )
    }

    /// Restores the target to `to` (its newest restorable point when
    /// `None`) as a job: a safety backup first, then its server stopped,
    /// its data replaced and started again; the job's result has the
    /// achieved RTO. On a production profile the target's id must be
    /// typed (`confirmation`); one that is given must match everywhere.
    pub async fn restore(
        &self,
        target: &str,
        to: Option<DateTime<Utc>>,
        confirmation: Option<&str>,
    ) -> Result<Job> {
        self.restore_approved(target, to, confirmation, None).await
    }

    /// [`Self::restore`] using the granted approval `approval` (the
    /// server's two-person rule; see `Session::approvals`), which must
    /// have been asked for this target and `to`.
    pub async fn restore_approved(
        &self,
        target: &str,
        to: Option<DateTime<Utc>>,
        confirmation: Option<&str>,
        approval: Option<&str>,
    ) -> Result<Job> {
        let profile = self.session.profile();
        match confirmation {
            Some(typed) if typed != target => {
                return Err(Error::ConfirmationMismatch {
                    typed: typed.to_string(),
                    target: target.to_string(),
                })
            }
            None if profile.tier == Tier::Prod => {
                return Err(Error::ConfirmationRequired {
                    action: "restore".to_string(),
                    target: target.to_string(),
                    noun: RESTORE_NOUN.to_string(),
                    summary: restore_summary(profile, target, to),
                });
            }
            _ => {}
        }
        let key = uuid::Uuid::new_v4().to_string();
        let body = crate::approvals::restore_body(target, to);
        let job = self
            .session
            .admin()
            .with_approval(approval)
            .restore_backup(target, &body, &key)
            .await?;
        Ok(jobs::clean(job))
    }
}
