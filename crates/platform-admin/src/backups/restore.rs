//! A restore job: a safety backup of the target first (to come back to),
//! then its server stopped, `pgbackrest restore --delta` to the newest
//! restorable point or to a time (`--type=time`, promoted there), the
//! server started again, and the achieved RTO measured: from the restore's
//! request to the first write the restored server accepts.
//!
//! The server is a data directory `pg_ctl` starts, or the leader of a
//! Patroni cluster: then Patroni is paused first (its maintenance mode,
//! where it leaves PostgreSQL alone and never fails over), the leader's
//! own configuration files (Patroni writes them, the backup may hold
//! another member's) are put back after the restore, and once the leader
//! takes a write Patroni is resumed and rebuilds each replica from it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::backups::{BackupResult, BackupType, RestoreResult};
use serde_json::Value;
use sqlx::{Connection as _, PgConnection};

use crate::clusters::patroni::{self, Member};
use crate::config::{Config, Manager, PatroniConfig, TargetConfig};
use crate::db::{self, Db};
use crate::jobs::{self, Claim, Progress};

use super::pgbackrest::{self, tolerated, RunError};
use super::verify::{as_target_user, checked, pg_bin};

/// The longest the restored server may take to finish recovery and
/// accept a write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(900);

/// The longest every Patroni member may take to see the pause.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest the replicas may take to be rebuilt and stream again.
const REPLICAS_TIMEOUT: Duration = Duration::from_secs(900);

/// Files of a Patroni member's data directory that are its own, not the
/// data's: Patroni writes them for this member.
const PATRONI_FILES: [&str; 5] = [
    "postgresql.conf",
    "postgresql.base.conf",
    "pg_hba.conf",
    "pg_ident.conf",
    "patroni.dynamic.json",
];

/// The server a restore replaces the data of.
pub enum Server<'a> {
    /// A data directory `pg_ctl` starts, and the database its first write
    /// is timed on.
    Standalone { data: PathBuf, database: String },
    /// The leader of a Patroni cluster.
    Patroni {
        id: &'a str,
        patroni: &'a PatroniConfig,
    },
}

impl<'a> Server<'a> {
    /// The server of `target` as `config` declares it; why it cannot be
    /// restored otherwise.
    pub fn of(target: &'a TargetConfig, config: &'a Config) -> Result<Server<'a>, String> {
        if let Some(why) = target.unrestorable() {
            return Err(why);
        }
        if let Some(id) = &target.cluster {
            return match config.cluster(id).map(|c| &c.manager) {
                Some(Manager::Patroni(patroni)) => Ok(Server::Patroni { id, patroni }),
                _ => Err(format!(
                    "`{}` names cluster `{id}`, which is not a Patroni cluster of the configuration",
                    target.id
                )),
            };
        }
        match (&target.pg_data, &target.database) {
            (Some(data), Some(database)) => Ok(Server::Standalone {
                data: data.clone(),
                database: database.clone(),
            }),
            _ => Err(target.unrestorable().unwrap_or_default()),
        }
    }
}

/// The stopped server, ready to be restored into.
struct Stopped<'a> {
    data: PathBuf,
    /// Where the first write is tried.
    database: String,
    /// The Patroni cluster, its leader, and the leader's own files.
    patroni: Option<Paused<'a>>,
}

/// A Patroni cluster paused for the restore of its stopped leader.
struct Paused<'a> {
    config: &'a PatroniConfig,
    leader: Member,
    /// The leader's own files and what they held before the restore.
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// Restores `target`, whose server `config` declares, to `to` (the newest point
/// when `None`) for the job `claim` holds, requested at `requested_at`;
/// the result is a `RestoreResult` as JSON.
pub async fn restore(
    db: &Db,
    claim: &Claim,
    config: &Config,
    target: &TargetConfig,
    to: Option<DateTime<Utc>>,
    requested_at: DateTime<Utc>,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    let server = Server::of(target, config).map_err(RunError::Failed)?;
    let steps = match server {
        Server::Standalone { .. } => 5,
        Server::Patroni { .. } => 7,
    };
    let report = |n: u64, phase: &'static str| async move {
        let progress = Progress {
            done: n,
            total: Some(steps),
            phase: Some(phase.to_string()),
        };
        tolerated(jobs::report_progress(db, claim, &progress, db::now()).await)
    };

    report(0, "taking a safety backup").await?;
    let safety = pgbackrest::backup(
        db,
        claim,
        config,
        target,
        BackupType::Incr,
        stop_asked.clone(),
    )
    .await
    .map_err(|err| match err {
        RunError::Failed(why) => RunError::Failed(format!(
            "the safety backup failed, nothing was restored: {why}"
        )),
        other => other,
    })?;
    let safety: BackupResult =
        serde_json::from_value(safety).map_err(|err| RunError::Store(err.into()))?;
    log(db, claim, format!("safety backup {} taken", safety.label)).await?;
    if let Some(to) = to {
        // Checked after the safety backup, whose WAL switch makes the
        // window as new as it gets, and before anything is stopped.
        let list = super::listing::list(db, config, target, db::now()).await?;
        super::listing::check_point(&list, to)
            .map_err(|why| RunError::Failed(format!("{why}; nothing was stopped or restored")))?;
    }

    report(1, "stopping the target").await?;
    let stopped = match server {
        Server::Standalone { data, database } => {
            stop(target, &data).await?;
            Stopped {
                data,
                database,
                patroni: None,
            }
        }
        Server::Patroni { id, patroni } => stop_leader(db, claim, target, id, patroni).await?,
    };
    // From here a failure leaves the target stopped (and Patroni paused).
    let left = |why: String| {
        let paused = if stopped.patroni.is_some() {
            " (Patroni is left paused so it does not act on it: `patronictl resume` once it runs)"
        } else {
            ""
        };
        RunError::Failed(format!(
            "{why}; the target is stopped{paused}: restore it again, or to the safety backup {}",
            safety.label
        ))
    };

    report(2, "restoring").await?;
    let mut args = vec![
        "restore".to_string(),
        "--delta".to_string(),
        format!("--pg1-path={}", stopped.data.display()),
        "--log-level-console=info".to_string(),
        "--log-level-stderr=error".to_string(),
    ];
    if let Some(to) = to {
        args.extend([
            "--type=time".to_string(),
            format!("--target={}", to.format("%Y-%m-%d %H:%M:%S%.6f+00")),
            "--target-action=promote".to_string(),
        ]);
    }
    match pgbackrest::run_logged(db, claim, target, &args, &mut stop_asked).await {
        Err(RunError::Failed(why)) => return Err(left(why)),
        other => other?,
    };
    if let Some(paused) = &stopped.patroni {
        for (path, text) in &paused.files {
            put_back(path, text).map_err(left)?;
        }
        log(
            db,
            claim,
            "the leader's own configuration files (Patroni's) put back".into(),
        )
        .await?;
    }

    report(3, "starting the target").await?;
    let bin = pg_bin(target)?;
    let mut start = as_target_user(target, &bin.join("pg_ctl"));
    start
        .arg("-D")
        .arg(&stopped.data)
        .arg("-l")
        .arg(stopped.data.join("opsdeck-restore.log"))
        .args(["-w", "-t", "300", "start"]);
    checked(start, "starting the target (pg_ctl start)")
        .await
        .map_err(|err| match err {
            RunError::Failed(why) => left(why),
            other => other,
        })?;

    report(4, "waiting for the first write").await?;
    let first_write_at = first_write(&stopped.database).await?;
    let rto = (first_write_at - requested_at).num_milliseconds() as f64 / 1000.0;
    log(
        db,
        claim,
        format!("the restored target accepted a write; RTO {rto:.1} s"),
    )
    .await?;

    if let Some(Paused {
        config: patroni,
        leader,
        ..
    }) = &stopped.patroni
    {
        report(5, "resuming Patroni").await?;
        patroni::set_paused(patroni, false).await.map_err(|why| {
            RunError::Failed(format!(
                "the restored leader {} takes writes (RTO {rto:.1} s), but Patroni could not be resumed: {why}",
                leader.name
            ))
        })?;
        log(db, claim, "Patroni resumed".into()).await?;
        report(6, "rebuilding the replicas").await?;
        rebuild_replicas(db, claim, patroni, leader)
            .await
            .map_err(|err| match err {
                RunError::Failed(why) => RunError::Failed(format!(
                    "the restored leader {} takes writes (RTO {rto:.1} s), but {why}",
                    leader.name
                )),
                other => other,
            })?;
    }

    let result = RestoreResult {
        to,
        safety_backup: safety.label,
        first_write_at,
        rto_seconds: rto,
    };
    serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
}

/// Stops the server in `data` (fast), when it runs.
async fn stop(target: &TargetConfig, data: &std::path::Path) -> Result<(), RunError> {
    let bin = pg_bin(target)?;
    let mut status = as_target_user(target, &bin.join("pg_ctl"));
    status.arg("-D").arg(data).arg("status");
    if checked(status, "pg_ctl status").await.is_ok() {
        let mut stop = as_target_user(target, &bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(data)
            .args(["-m", "fast", "-w", "-t", "120", "stop"]);
        checked(stop, "stopping the target (pg_ctl stop)").await?;
    }
    Ok(())
}

/// Finds the Patroni cluster's leader and its data directory, pauses
/// Patroni until every member says so, keeps the leader's own files and
/// stops its PostgreSQL. Resumes Patroni when it fails before stopping.
async fn stop_leader<'a>(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    cluster: &str,
    config: &'a PatroniConfig,
) -> Result<Stopped<'a>, RunError> {
    let refused = |why: String| {
        RunError::Failed(format!(
            "cluster `{cluster}`: {why}; nothing was stopped or restored"
        ))
    };
    let (members, paused) = patroni::members(config).await.map_err(refused)?;
    if paused {
        return Err(refused(
            "Patroni is paused already (maintenance mode): someone else is working on it".into(),
        ));
    }
    let leader = members
        .iter()
        .find(|m| m.leader && m.state == "running")
        .cloned()
        .ok_or_else(|| refused("Patroni reports no running leader to restore".into()))?;
    let database = patroni::database_of(config, &leader);
    let data = data_directory(&database)
        .await
        .map_err(|why| refused(format!("the leader {} {why}", leader.name)))?;
    if !data.join("PG_VERSION").exists() {
        return Err(refused(format!(
            "the leader {}'s data directory {} is not on this server: restore from a platform-admin on the leader's host",
            leader.name,
            data.display()
        )));
    }
    let mut files = Vec::new();
    for name in PATRONI_FILES {
        let path = data.join(name);
        match std::fs::read(&path) {
            Ok(text) => files.push((path, text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(refused(format!("cannot read {}: {err}", path.display()))),
        }
    }

    log(
        db,
        claim,
        format!(
            "pausing Patroni: leader {} (data in {}), {} replica(s)",
            leader.name,
            data.display(),
            members.len() - 1
        ),
    )
    .await?;
    let undo = |why: String| async move {
        let resumed = match patroni::set_paused(config, false).await {
            Ok(()) => "Patroni resumed".to_string(),
            Err(err) => format!("Patroni could not be resumed: {err}"),
        };
        refused(format!("{why} ({resumed})"))
    };
    if let Err(why) = patroni::set_paused(config, true).await {
        return Err(undo(why).await);
    }
    let deadline = tokio::time::Instant::now() + PAUSE_TIMEOUT;
    for member in &members {
        loop {
            match patroni::member_paused(config, &member.api).await {
                Ok(true) => break,
                answer if tokio::time::Instant::now() >= deadline => {
                    let said = match answer {
                        Err(err) => err,
                        Ok(_) => "it still runs unpaused".into(),
                    };
                    return Err(undo(format!(
                        "member {} did not take the pause within {PAUSE_TIMEOUT:?}: {said}",
                        member.name
                    ))
                    .await);
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    log(db, claim, "every member runs paused".into()).await?;
    if let Err(err) = stop(target, &data).await {
        return Err(match err {
            RunError::Failed(why) => undo(why).await,
            other => other,
        });
    }
    log(db, claim, format!("leader {} stopped", leader.name)).await?;
    Ok(Stopped {
        data,
        database,
        patroni: Some(Paused {
            config,
            leader,
            files,
        }),
    })
}

/// Where the server at `url` keeps its data, as it says.
async fn data_directory(url: &str) -> Result<PathBuf, String> {
    let ask = async {
        let mut conn = PgConnection::connect(url).await?;
        let dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
            .fetch_one(&mut conn)
            .await?;
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(dir)
    };
    match tokio::time::timeout(Duration::from_secs(10), ask).await {
        Ok(Ok(dir)) => Ok(PathBuf::from(dir)),
        Ok(Err(err)) => Err(format!("did not say where its data is: {err}")),
        Err(_) => Err("did not answer within 10 s".into()),
    }
}

/// Writes `text` back into `path` (the restore made it, with its owner).
fn put_back(path: &std::path::Path, text: &[u8]) -> Result<(), String> {
    std::fs::write(path, text).map_err(|err| format!("cannot put {} back: {err}", path.display()))
}

/// Has Patroni rebuild every member but `leader` from it and waits until
/// each streams on the leader's timeline.
async fn rebuild_replicas(
    db: &Db,
    claim: &Claim,
    config: &PatroniConfig,
    leader: &Member,
) -> Result<(), RunError> {
    let deadline = tokio::time::Instant::now() + REPLICAS_TIMEOUT;
    let (members, _) = patroni::members(config).await.map_err(RunError::Failed)?;
    for member in members.iter().filter(|m| m.name != leader.name) {
        // Right after the resume a member may refuse until its next loop.
        loop {
            match patroni::reinitialize(config, &member.api).await {
                Ok(()) => break,
                Err(why) if tokio::time::Instant::now() >= deadline => {
                    return Err(RunError::Failed(format!(
                        "replica {} was not rebuilt: {why} (`patronictl reinit` it)",
                        member.name
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        log(
            db,
            claim,
            format!("replica {} is being rebuilt from the leader", member.name),
        )
        .await?;
    }
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok((members, _)) = patroni::members(config).await {
            let timeline = members
                .iter()
                .find(|m| m.name == leader.name && m.leader)
                .and_then(|m| m.timeline);
            let behind: Vec<String> = members
                .iter()
                .filter(|m| m.name != leader.name)
                .filter(|m| {
                    !(m.state == "running" || m.state == "streaming") || m.timeline != timeline
                })
                .map(|m| format!("{} is {}", m.name, m.state))
                .collect();
            if timeline.is_some() && behind.is_empty() {
                log(
                    db,
                    claim,
                    "every replica streams from the restored leader".into(),
                )
                .await?;
                return Ok(());
            }
            last = if timeline.is_none() {
                format!("Patroni names {} the leader no more", leader.name)
            } else {
                behind.join(", ")
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(RunError::Failed(format!(
        "the replicas did not stream again within {REPLICAS_TIMEOUT:?}: {last}"
    )))
}

async fn log(db: &Db, claim: &Claim, line: String) -> Result<(), RunError> {
    tolerated(jobs::append_log(db, claim, &[line], db::now()).await).map(drop)
}

/// Waits until the server is out of recovery and commits a write (a
/// temporary table, so nothing is left behind); when it did.
async fn first_write(url: &str) -> Result<DateTime<Utc>, RunError> {
    let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        let attempt = async {
            let mut conn = PgConnection::connect(url).await?;
            let mut tx = conn.begin().await?;
            sqlx::query("CREATE TEMP TABLE opsdeck_rto_probe (at timestamptz) ON COMMIT DROP")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO opsdeck_rto_probe VALUES (now())")
                .execute(&mut *tx)
                .await?;
            // A write transaction needs an id, which recovery refuses.
            sqlx::query("SELECT pg_current_xact_id()")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            let _ = conn.close().await;
            Ok::<_, sqlx::Error>(())
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(())) => return Ok(db::now()),
            Ok(Err(err)) => last = err.to_string(),
            Err(_) => last = "no answer within 10 s".to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(RunError::Failed(format!(
        "the restored target accepted no write within {WRITE_TIMEOUT:?}: {last}"
    )))
}
