//! A `redis_rdb` target's backup: `BGSAVE`, then `LASTSAVE` watched until
//! it changes (the snapshot is on disk), the RDB file copied from the
//! server's `dir` into the target's `backup_dir` and checked with
//! `redis-check-rdb` before it is kept.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::clusters::sentinel::{call, connect};
use crate::config::TargetConfig;
use crate::db::{self, Db};
use crate::jobs::Claim;

use super::files;
use super::pgbackrest::RunError;

/// The longest Redis may take to write its snapshot.
const SAVE_LIMIT: Duration = Duration::from_secs(3600);

/// Between two looks at `LASTSAVE`.
const POLL: Duration = Duration::from_millis(200);

/// The longest `redis-check-rdb` may take.
const CHECK_LIMIT: Duration = Duration::from_secs(600);

/// Runs the snapshot for the job `claim` holds; the result is a
/// `BackupResult` as JSON.
pub async fn backup(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    files::progress(db, claim, 0, 3, "asking Redis for a snapshot").await?;
    let dir = files::backup_dir(target)?;
    let address = target.address.as_deref().unwrap_or_default();
    let (host, port) = crate::clusters::split_host_port(address).ok_or_else(|| {
        RunError::Failed(format!(
            "`{}`: address `{address}` is not host:port",
            target.id
        ))
    })?;
    let unreachable = |err: String| RunError::Failed(format!("Redis at {address}: {err}"));
    let mut conn = connect(&host, port, target.password.as_deref())
        .await
        .map_err(|err| RunError::Failed(format!("cannot reach Redis at {address}: {err}")))?;
    let before: i64 = call(&mut conn, &redis::cmd("LASTSAVE"))
        .await
        .map_err(|err| unreachable(format!("LASTSAVE failed: {err}")))?;
    // LASTSAVE counts whole seconds: a snapshot started in the second of
    // the last one could end in it too, and its change would not be seen.
    while chrono::Utc::now().timestamp() <= before {
        tokio::time::sleep(POLL).await;
    }
    let started = db::now();
    match call::<String>(&mut conn, &redis::cmd("BGSAVE")).await {
        Ok(said) => files::log(db, claim, format!("BGSAVE at {address}: {said}")).await?,
        Err(err) if err.contains("already in progress") => {
            files::log(
                db,
                claim,
                format!(
                    "BGSAVE at {address}: a snapshot was already being written; it is the one kept"
                ),
            )
            .await?
        }
        Err(err) => return Err(unreachable(format!("BGSAVE was refused: {err}"))),
    }
    let deadline = Instant::now() + SAVE_LIMIT;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            true = async { stop_asked.wait_for(|asked| *asked).await.is_ok() } => {
                return Err(RunError::Stopped(
                    "cancelled while Redis wrote its snapshot (Redis finishes it on its own; nothing was kept)".into(),
                ));
            }
        }
        let last: i64 = call(&mut conn, &redis::cmd("LASTSAVE"))
            .await
            .map_err(|err| {
                unreachable(format!(
                    "LASTSAVE failed while the snapshot was written: {err}"
                ))
            })?;
        if last > before {
            break;
        }
        let info: String = call(&mut conn, redis::cmd("INFO").arg("persistence"))
            .await
            .map_err(|err| unreachable(format!("INFO persistence failed: {err}")))?;
        if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:err")
        {
            return Err(RunError::Failed(format!(
                "Redis at {address} could not write its snapshot (rdb_last_bgsave_status:err); its log says why"
            )));
        }
        if Instant::now() >= deadline {
            return Err(RunError::Failed(format!(
                "Redis at {address} did not finish its snapshot within {SAVE_LIMIT:?}"
            )));
        }
    }
    files::progress(db, claim, 1, 3, "copying the snapshot").await?;
    files::prepare(db, claim, dir).await?;
    let label = files::label(started);
    let partial = dir.join(format!("{}.partial", files::file_name(target.kind, &label)));
    let source = target.rdb_file();
    // Redis renames a finished snapshot into place: the copy reads one
    // whole file even should another snapshot end meanwhile.
    if let Err(err) = tokio::fs::copy(&source, &partial).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(RunError::Failed(format!(
            "cannot copy the snapshot {} to {}: {err}",
            source.display(),
            partial.display()
        )));
    }
    files::log(
        db,
        claim,
        format!("copied {} to {}", source.display(), partial.display()),
    )
    .await?;
    files::progress(db, claim, 2, 3, "checking the snapshot").await?;
    let result = files::finish(
        db,
        claim,
        target,
        &label,
        &partial,
        started,
        &mut stop_asked,
    )
    .await;
    files::progress(db, claim, 3, 3, "done").await?;
    result
}

/// `redis-check-rdb` of the file: its verdict.
pub async fn check(
    target: &TargetConfig,
    path: &Path,
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<String, RunError> {
    let mut cmd = files::tool(target.redis_check_rdb());
    cmd.arg(path);
    let output = files::run_tool(cmd, "redis-check-rdb", CHECK_LIMIT, stop_asked).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !text.contains("RDB looks OK") {
        return Err(RunError::Failed(format!(
            "redis-check-rdb found {} damaged ({}): {}",
            path.display(),
            output.status,
            files::said(&output)
        )));
    }
    Ok("redis-check-rdb: RDB looks OK".to_string())
}
