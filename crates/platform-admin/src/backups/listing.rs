//! What `GET /v1/backup-targets/{target}/backups` shows: the backups in the
//! target's repository (`pgbackrest info`), its restorable window and its
//! RPO. With continuous WAL archiving the newest restorable point is the
//! newest archived WAL segment, read from `pg_stat_archiver` of the
//! target's primary (its Patroni cluster's leader, or its database);
//! without it, the end of the newest backup.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use opsdeck_api::backups::{
    Backup, BackupList, BackupStatus, BackupTargetKind, RestoreWindow, Rpo, RpoSource,
};
use sqlx::Connection as _;

use crate::config::{Config, TargetConfig};
use crate::db::Db;
use crate::error::Error;

use super::pgbackrest::{self, StanzaInfo};

/// The longest reading `pg_stat_archiver` may take.
const ARCHIVER_TIMEOUT: Duration = Duration::from_secs(5);

/// The target's backups, window and RPO as of `now`. A repository that
/// cannot be read is said in `repository_error`, not as a failed call: the
/// RPO is then over, which is what an operator must see.
pub async fn list(
    db: &Db,
    config: &Config,
    target: &TargetConfig,
    now: DateTime<Utc>,
) -> Result<BackupList, Error> {
    if target.kind != BackupTargetKind::Postgresql {
        return super::files::list(db, target, now).await;
    }
    let (info, repository_error) = match pgbackrest::info(target).await {
        Ok(info) => {
            let status = info
                .iter()
                .filter_map(|stanza| stanza.status.as_ref())
                .find(|status| status.code != 0)
                .map(|s| format!("pgbackrest info: {}", s.message));
            (info, status)
        }
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    let archived = match super::primary_url(config, target).await {
        Some(url) => last_archived(&url).await,
        None => Err("the target names no database to read its WAL archiving from".to_string()),
    };
    let verified = super::verify::latest(db, &target.id).await?;
    Ok(build(
        target,
        &info,
        archived,
        repository_error,
        &verified,
        now,
    ))
}

/// The latest verification of each backup: label → (passed, when).
pub type Verified = BTreeMap<String, (bool, DateTime<Utc>)>;

/// The list from what was read; apart from the reading, so it is tested.
pub fn build(
    target: &TargetConfig,
    info: &[StanzaInfo],
    archived: Result<Option<DateTime<Utc>>, String>,
    repository_error: Option<String>,
    verified: &Verified,
    now: DateTime<Utc>,
) -> BackupList {
    let backups: Vec<&super::pgbackrest::BackupInfo> = info
        .iter()
        .flat_map(|stanza| stanza.backup.iter())
        .collect();
    let entries: Vec<super::retention::Entry> = backups.iter().map(|b| (*b).into()).collect();
    let retention = super::retention::plans(&entries, &target.retention, verified, now);
    let items: Vec<Backup> = backups
        .iter()
        .map(|b| Backup {
            label: b.label.clone(),
            backup_type: b.backup_type,
            status: if b.error == Some(true) {
                BackupStatus::Error
            } else {
                BackupStatus::Ok
            },
            size: b.info.size,
            repository_size: b.info.repository.size,
            started_at: unix(b.timestamp.start),
            stopped_at: unix(b.timestamp.stop),
            wal_start: b.archive.as_ref().and_then(|a| a.start.clone()),
            wal_stop: b.archive.as_ref().and_then(|a| a.stop.clone()),
            prior: b.prior.clone(),
            verified: verified.get(&b.label).map(|v| v.0),
            verified_at: verified.get(&b.label).map(|v| v.1),
            kept_by: super::retention::kept_by(&retention, &(*b).into()),
            sha256: None,
        })
        .collect();
    let sound = || items.iter().filter(|b| b.status == BackupStatus::Ok);
    let oldest = sound().map(|b| b.stopped_at).min();
    let newest_backup = sound().map(|b| b.stopped_at).max();
    let (archived_at, note) = match archived {
        Ok(at) => (at, None),
        Err(why) => (None, Some(why)),
    };
    // Archived WAL restores only on top of a backup taken before it.
    let (newest, source) = match (newest_backup, archived_at) {
        (None, _) => (None, RpoSource::None),
        (Some(backup), Some(wal)) if wal > backup => (Some(wal), RpoSource::WalArchive),
        (Some(backup), _) => (Some(backup), RpoSource::LastBackup),
    };
    let objective = target.rpo_objective_seconds();
    let seconds = newest.map(|at| (now - at).num_seconds().max(0));
    let over = seconds.is_none_or(|s| u64::try_from(s).unwrap_or(0) > objective);
    let archive = info.iter().flat_map(|stanza| stanza.archive.iter());
    let wal_min = archive.clone().filter_map(|a| a.min.clone()).min();
    let wal_max = archive.filter_map(|a| a.max.clone()).max();
    BackupList {
        target: target.id.clone(),
        point_in_time: true,
        restorable: oldest
            .zip(newest)
            .map(|(stopped, to)| RestoreWindow {
                from: first_point_after(stopped),
                to,
            })
            .filter(|window| window.from <= window.to),
        items,
        wal_min,
        wal_max,
        rpo: Rpo {
            objective_seconds: objective,
            newest_restorable_at: newest,
            seconds,
            over,
            source,
            note,
        },
        repository_error,
    }
}

/// The first point pgBackRest restores to with `--type=time` over a backup
/// that stopped at `stopped`: it keeps whole seconds of the target and
/// takes a backup only when it stopped strictly before them, so a point in
/// the backup's last second has no backup to start from.
fn first_point_after(stopped: DateTime<Utc>) -> DateTime<Utc> {
    unix(stopped.timestamp() + 1)
}

/// Whether `to` can be restored to on `list`: `Err` says why not, naming
/// the window.
pub fn check_point(list: &BackupList, to: DateTime<Utc>) -> Result<(), String> {
    let secs = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Some(window) = &list.restorable else {
        if list.items.iter().any(|b| b.status == BackupStatus::Ok) {
            return Err(format!(
                "`{}` has no point in time to restore to yet: WAL is archived only up to the second its oldest backup ended; restore to the newest point instead",
                list.target
            ));
        }
        return Err(format!(
            "`{}` has nothing to restore to: it has no backup",
            list.target
        ));
    };
    if to < window.from || to > window.to {
        return Err(format!(
            "{} is outside the restorable window of `{}`, from {} to {}",
            secs(to),
            list.target,
            secs(window.from),
            secs(window.to),
        ));
    }
    Ok(())
}

fn unix(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// `pg_stat_archiver.last_archived_time` of the target's database; an
/// archiver whose last attempt failed is said, since its WAL is not safe.
async fn last_archived(url: &str) -> Result<Option<DateTime<Utc>>, String> {
    let read = async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let row: (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT last_archived_time, last_failed_time FROM pg_stat_archiver")
                .fetch_one(&mut conn)
                .await?;
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(row)
    };
    match tokio::time::timeout(ARCHIVER_TIMEOUT, read).await {
        Err(_) => Err(format!(
            "the target's database did not answer within {ARCHIVER_TIMEOUT:?}"
        )),
        // sqlx's messages name the host, never the password.
        Ok(Err(err)) => Err(format!("cannot read the target's WAL archiving: {err}")),
        Ok(Ok((archived, failed))) => {
            if let (Some(failed), Some(archived)) = (failed, archived) {
                if failed > archived {
                    tracing::warn!(%failed, %archived, "the target's WAL archiving is failing");
                }
            }
            Ok(archived)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn target(objective: Option<u64>) -> TargetConfig {
        let extra = objective
            .map(|s| format!("rpo_objective_seconds = {s}\n"))
            .unwrap_or_default();
        let text = format!(
            "[[backup_targets]]\nid = \"t\"\nkind = \"postgresql\"\nstanza = \"s\"\n\
             pgbackrest_config = \"/c\"\n{extra}"
        );
        Config::parse(&text).expect("config").backup_targets[0].clone()
    }

    fn info() -> Vec<StanzaInfo> {
        serde_json::from_str(
            r#"[{"name":"s","status":{"code":0,"message":"ok"},
                "archive":[{"id":"16-1","min":"000000010000000000000001","max":"000000010000000000000009"}],
                "backup":[
                {"label":"A","type":"full","error":false,"info":{"size":10,"repository":{"size":5}},
                 "timestamp":{"start":1000,"stop":1100},"archive":{"start":"1","stop":"2"}},
                {"label":"B","type":"incr","prior":"A","info":{"size":11,"repository":{"size":1}},
                 "timestamp":{"start":2000,"stop":2100}}]}]"#,
        )
        .expect("parses")
    }

    #[test]
    fn the_rpo_is_the_age_of_the_newest_archived_wal_when_it_is_newer_than_the_last_backup() {
        let now = unix(2500);
        let list = build(
            &target(None),
            &info(),
            Ok(Some(unix(2400))),
            None,
            &Verified::new(),
            now,
        );
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.items[1].prior.as_deref(), Some("A"));
        assert_eq!(list.rpo.source, RpoSource::WalArchive);
        assert_eq!(list.rpo.seconds, Some(100));
        assert!(!list.rpo.over, "100 s is within the default 300 s");
        assert_eq!(
            list.restorable,
            Some(RestoreWindow {
                from: unix(1101),
                to: unix(2400)
            })
        );
        assert_eq!(list.wal_max.as_deref(), Some("000000010000000000000009"));
    }

    #[test]
    fn without_archived_wal_the_last_backup_counts_and_an_old_one_is_over_the_objective() {
        let now = unix(2100 + 61);
        let list = build(
            &target(Some(60)),
            &info(),
            Err("no database".into()),
            None,
            &Verified::new(),
            now,
        );
        assert_eq!(list.rpo.source, RpoSource::LastBackup);
        assert_eq!(list.rpo.seconds, Some(61));
        assert!(list.rpo.over);
        assert_eq!(list.rpo.note.as_deref(), Some("no database"));
    }

    #[test]
    fn nothing_to_restore_is_over_whatever_the_objective() {
        let list = build(
            &target(None),
            &[],
            Ok(Some(unix(5))),
            Some("boom".into()),
            &Verified::new(),
            unix(10),
        );
        assert_eq!(
            (list.rpo.source, list.rpo.seconds, list.rpo.over),
            (RpoSource::None, None, true)
        );
        assert_eq!(list.restorable, None);
        assert_eq!(list.repository_error.as_deref(), Some("boom"));
    }

    #[test]
    fn a_point_in_the_oldest_backups_last_second_is_outside_the_window() {
        let list = build(
            &target(None),
            &info(),
            Ok(Some(unix(2400))),
            None,
            &Verified::new(),
            unix(2500),
        );
        let in_last_second = unix(1100) + chrono::Duration::milliseconds(641);
        let err = check_point(&list, in_last_second).expect_err("pgBackRest has no backup for it");
        assert!(err.contains("from 1970-01-01T00:18:21Z"), "{err}");
        assert_eq!(check_point(&list, unix(1101)), Ok(()));
        assert_eq!(check_point(&list, unix(2400)), Ok(()));
        assert!(check_point(&list, unix(2401)).is_err());
        assert!(check_point(
            &build(
                &target(None),
                &[],
                Ok(None),
                None,
                &Verified::new(),
                unix(1)
            ),
            unix(1)
        )
        .expect_err("no backup")
        .contains("no backup"));
        let mut one = info();
        one[0].backup.truncate(1);
        let only_the_backup = build(
            &target(None),
            &one,
            Ok(Some(unix(1100))),
            None,
            &Verified::new(),
            unix(2101),
        );
        assert_eq!(only_the_backup.restorable, None, "no whole second after it");
        assert!(check_point(&only_the_backup, unix(1100))
            .expect_err("no point yet")
            .contains("restore to the newest point instead"));
    }
}
