//! A restore job: a safety backup of the target first (to come back to),
//! then its server stopped, `pgbackrest restore --delta` to the newest
//! restorable point or to a time (`--type=time`, promoted there), the
//! server started again, and the achieved RTO measured: from the restore's
//! request to the first write the restored server accepts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::backups::{BackupResult, BackupType, RestoreResult};
use serde_json::Value;
use sqlx::{Connection as _, PgConnection};

use crate::config::TargetConfig;
use crate::db::{self, Db};
use crate::jobs::{self, Claim, Progress};

use super::pgbackrest::{self, tolerated, RunError};
use super::verify::{as_target_user, checked, pg_bin};

/// The longest the restored server may take to finish recovery and
/// accept a write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(900);

/// Steps of a restore, for its progress.
const STEPS: u64 = 5;

/// Restores `target` to `to` (the newest point when `None`) for the job
/// `claim` holds, requested at `requested_at`; the result is a
/// `RestoreResult` as JSON.
pub async fn restore(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    to: Option<DateTime<Utc>>,
    requested_at: DateTime<Utc>,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    let Some(data) = target.pg_data.clone() else {
        return Err(RunError::Failed(format!(
            "`{}` names no pg_data in the configuration file: it cannot be restored from here",
            target.id
        )));
    };
    let Some(url) = target.database.clone() else {
        return Err(RunError::Failed(format!(
            "`{}` names no database: its first write after the restore cannot be timed",
            target.id
        )));
    };
    let step = |n: u64, phase: &str| Progress {
        done: n,
        total: Some(STEPS),
        phase: Some(phase.to_string()),
    };
    let report = |n: u64, phase: &'static str| async move {
        tolerated(jobs::report_progress(db, claim, &step(n, phase), db::now()).await)
    };

    report(0, "taking a safety backup").await?;
    let safety = pgbackrest::backup(db, claim, target, BackupType::Incr, stop_asked.clone())
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
        let list = super::listing::list(db, target, db::now()).await?;
        super::listing::check_point(&list, to)
            .map_err(|why| RunError::Failed(format!("{why}; nothing was stopped or restored")))?;
    }

    report(1, "stopping the target").await?;
    let bin = pg_bin(target)?;
    let mut status = as_target_user(target, &bin.join("pg_ctl"));
    status.arg("-D").arg(&data).arg("status");
    if checked(status, "pg_ctl status").await.is_ok() {
        let mut stop = as_target_user(target, &bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "-t", "120", "stop"]);
        checked(stop, "stopping the target (pg_ctl stop)").await?;
    }

    report(2, "restoring").await?;
    let mut args = vec![
        "restore".to_string(),
        "--delta".to_string(),
        format!("--pg1-path={}", data.display()),
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
    let restored = pgbackrest::run_logged(db, claim, target, &args, &mut stop_asked).await;
    if let Err(RunError::Failed(why)) = &restored {
        return Err(RunError::Failed(format!(
            "{why}; the target is stopped: restore it again, or to the safety backup {}",
            safety.label
        )));
    }
    restored?;

    report(3, "starting the target").await?;
    let mut start = as_target_user(target, &bin.join("pg_ctl"));
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(data.join("opsdeck-restore.log"))
        .args(["-w", "-t", "300", "start"]);
    checked(start, "starting the target (pg_ctl start)").await?;

    report(4, "waiting for the first write").await?;
    let first_write_at = first_write(&url).await?;
    let rto = (first_write_at - requested_at).num_milliseconds() as f64 / 1000.0;
    log(
        db,
        claim,
        format!("the restored target accepted a write; RTO {rto:.1} s"),
    )
    .await?;
    let result = RestoreResult {
        to,
        safety_backup: safety.label,
        first_write_at,
        rto_seconds: rto,
    };
    serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
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
