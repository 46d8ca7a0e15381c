//! A verify job: `pgbackrest verify` (the repository's files against their
//! checksums), then a restore test of one backup into a scratch data
//! directory, started on a free loopback port with archiving off, whose
//! per-table row counts are compared with the source's at the restore
//! point its backup job recorded. The outcome is kept per backup
//! (`backup_verifications`): a backup's verified flag is its latest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use opsdeck_api::backups::{BackupResult, TableCount, VerifyResult};
use serde_json::Value;
use tokio::process::Command;

use crate::config::TargetConfig;
use crate::db::{self, Db};
use crate::error::Error;
use crate::jobs::{self, Claim, Progress};

use super::pgbackrest::{self, tolerated, RunError};
use super::source;

/// The longest the restored copy may take to start and finish recovery.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest one `pg_ctl` may take.
const PG_CTL_TIMEOUT: Duration = Duration::from_secs(120);

/// Steps of a verification, for its progress.
const STEPS: u64 = 5;

/// Runs the verification of `target` (its backup `set`, else the newest)
/// for the job `claim` holds; the result is a `VerifyResult` as JSON.
pub async fn verify(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    set: Option<&str>,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    let step = |n: u64, phase: &str| Progress {
        done: n,
        total: Some(STEPS),
        phase: Some(phase.to_string()),
    };
    let report = |n: u64, phase: &'static str| async move {
        tolerated(jobs::report_progress(db, claim, &step(n, phase), db::now()).await)
    };
    report(0, "verifying the repository").await?;
    let verified = pgbackrest::run_logged(
        db,
        claim,
        target,
        &[
            "verify".to_string(),
            "--log-level-console=info".to_string(),
            "--log-level-stderr=error".to_string(),
        ],
        &mut stop_asked,
    )
    .await;

    report(1, "choosing the backup").await?;
    let info = pgbackrest::info(target).await?;
    let backups: Vec<&pgbackrest::BackupInfo> = info
        .iter()
        .flat_map(|stanza| stanza.backup.iter())
        .collect();
    let label = match set {
        Some(set) => backups
            .iter()
            .find(|b| b.label == set)
            .map(|b| b.label.clone())
            .ok_or_else(|| {
                RunError::Failed(format!("`{}` has no backup labelled `{set}`", target.id))
            })?,
        None => backups
            .last()
            .map(|b| b.label.clone())
            .ok_or_else(|| RunError::Failed(format!("`{}` has no backup to verify", target.id)))?,
    };
    // pgBackRest 2.45's verify ends "completed successfully" even when it
    // found files whose checksums do not match: its report says so.
    let verified = verified.and_then(|lines| match damage(&lines) {
        damaged if damaged.is_empty() => Ok(()),
        damaged => Err(RunError::Failed(format!(
            "pgbackrest verify found the repository damaged: {}",
            damaged.join("; ")
        ))),
    });
    if let Err(err) = verified {
        if let RunError::Failed(reason) = &err {
            record(db, &target.id, &label, &claim.job_id, false, reason).await?;
        }
        return Err(err);
    }

    let recorded = recorded(db, &target.id, &label).await?;
    let restore_point = recorded.as_ref().and_then(|r| r.restore_point.clone());
    let source_counts = recorded.and_then(|r| r.row_counts);

    report(2, "restoring into a scratch directory").await?;
    remove_leftovers(db, claim, target).await?;
    let scratch = Scratch::make(target, &claim.job_id).await?;
    let started = Instant::now();
    let mut args = vec![
        "restore".to_string(),
        format!("--set={label}"),
        format!("--pg1-path={}", scratch.data.display()),
        // The copy must never push WAL into the target's repository.
        "--archive-mode=off".to_string(),
        "--log-level-console=info".to_string(),
        "--log-level-stderr=error".to_string(),
    ];
    match &restore_point {
        Some(point) => args.extend([
            "--type=name".to_string(),
            format!("--target={point}"),
            "--target-action=promote".to_string(),
        ]),
        None => args.extend([
            "--type=immediate".to_string(),
            "--target-action=promote".to_string(),
        ]),
    }
    let outcome = async {
        pgbackrest::run_logged(db, claim, target, &args, &mut stop_asked).await?;
        report(3, "starting the restored copy").await?;
        let port = free_port()?;
        scratch.start(target, port).await?;
        let options = source::restored_options(
            target
                .database
                .as_deref()
                .unwrap_or("postgres://postgres@localhost/postgres"),
            &scratch.sock,
            port,
        )
        .map_err(RunError::Failed)?;
        let deadline = Instant::now() + RECOVERY_TIMEOUT;
        let restored = loop {
            match source::restored_counts(&options).await {
                Ok(Some(counts)) => break counts,
                Ok(None) => {}
                Err(why) if Instant::now() >= deadline => return Err(RunError::Failed(why)),
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Err(RunError::Failed(format!(
                    "the restored copy was still recovering after {RECOVERY_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let restore_seconds = started.elapsed().as_secs();
        report(4, "comparing row counts").await?;
        Ok::<_, RunError>((restored, restore_seconds))
    }
    .await;
    scratch.remove(target).await;
    let (restored, restore_seconds) = match outcome {
        Ok(done) => done,
        Err(err) => {
            if let RunError::Failed(reason) = &err {
                let reason = format!("restore test: {reason}");
                record(db, &target.id, &label, &claim.job_id, false, &reason).await?;
                return Err(RunError::Failed(reason));
            }
            return Err(err);
        }
    };
    let (tables, differ) = compare(source_counts.as_ref(), &restored);
    if !differ.is_empty() {
        let reason = format!(
            "restore test: {} of {} tables differ from the source at the backup: {}",
            differ.len(),
            tables.len(),
            differ.join("; ")
        );
        record(db, &target.id, &label, &claim.job_id, false, &reason).await?;
        return Err(RunError::Failed(reason));
    }
    let result = VerifyResult {
        label: label.clone(),
        tables,
        compared: source_counts.is_some(),
        restore_seconds,
        checked: None,
    };
    record(db, &target.id, &label, &claim.job_id, true, "").await?;
    serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
}

/// What `pgbackrest verify` reported wrong: files with a bad checksum,
/// missing or unreadable, and backups or archives not valid.
fn damage(lines: &[String]) -> Vec<String> {
    const SIGNS: [&str; 6] = [
        "invalid checksum",
        "invalid size",
        "missing",
        "status: invalid",
        "status: error",
        "invalid result",
    ];
    lines
        .iter()
        .filter(|line| SIGNS.iter().any(|sign| line.contains(sign)))
        .map(|line| match line.find("INFO: ") {
            Some(at) => line[at + 6..].trim().to_string(),
            None => line.trim().to_string(),
        })
        .take(10)
        .collect()
}

/// Each table with both counts, and the words for those that differ.
fn compare(
    source: Option<&BTreeMap<String, u64>>,
    restored: &BTreeMap<String, u64>,
) -> (Vec<TableCount>, Vec<String>) {
    let mut tables = Vec::new();
    let mut differ = Vec::new();
    match source {
        Some(source) => {
            for (table, rows) in source {
                let got = restored.get(table).copied();
                if got != Some(*rows) {
                    differ.push(match got {
                        Some(got) => format!("{table} had {rows} rows, restored {got}"),
                        None => format!("{table} ({rows} rows) is missing"),
                    });
                }
                tables.push(TableCount {
                    table: table.clone(),
                    source: Some(*rows),
                    restored: got,
                });
            }
        }
        None => {
            for (table, rows) in restored {
                tables.push(TableCount {
                    table: table.clone(),
                    source: None,
                    restored: Some(*rows),
                });
            }
        }
    }
    (tables, differ)
}

/// What the backup job of `label` recorded (restore point, row counts).
async fn recorded(db: &Db, target: &str, label: &str) -> Result<Option<BackupResult>, RunError> {
    let results: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT result FROM jobs WHERE kind = $1 AND target = $2 AND state = 'succeeded' \
         ORDER BY id DESC",
    )
    .bind(super::KIND)
    .bind(super::job_target(target))
    .fetch_all(db.pool())
    .await
    .map_err(|err| RunError::Store(err.into()))?;
    Ok(results
        .into_iter()
        .flatten()
        .filter_map(|text| serde_json::from_str::<BackupResult>(&text).ok())
        .find(|result| result.label == label))
}

/// Keeps how a verification of a backup went.
pub(super) async fn record(
    db: &Db,
    target: &str,
    label: &str,
    job: &str,
    ok: bool,
    detail: &str,
) -> Result<(), RunError> {
    sqlx::query(
        "INSERT INTO backup_verifications (target, label, job_id, at, ok, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(target)
    .bind(label)
    .bind(job)
    .bind(db::timestamp(db::now()))
    .bind(i64::from(ok))
    .bind((!detail.is_empty()).then_some(detail))
    .execute(db.pool())
    .await
    .map_err(|err: sqlx::Error| RunError::Store(Error::from(err)))?;
    Ok(())
}

/// The latest verification of each backup of `target`: label → (passed, when).
pub async fn latest(
    db: &Db,
    target: &str,
) -> Result<BTreeMap<String, (bool, chrono::DateTime<chrono::Utc>)>, Error> {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT label, ok, at FROM backup_verifications WHERE target = $1 ORDER BY at",
    )
    .bind(target)
    .fetch_all(db.pool())
    .await?;
    let mut latest = BTreeMap::new();
    for (label, ok, at) in rows {
        latest.insert(label, (ok != 0, db::parse_timestamp(&at)?));
    }
    Ok(latest)
}

/// A loopback port free now (the copy binds it a moment later).
fn free_port() -> Result<u16, RunError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|err| RunError::Failed(format!("no free loopback port: {err}")))
}

/// PostgreSQL's programs: the target's `pg_bin`, else the newest installed.
pub(super) fn pg_bin(target: &TargetConfig) -> Result<PathBuf, RunError> {
    if let Some(dir) = &target.pg_bin {
        return Ok(dir.clone());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|err| RunError::Failed(format!("no PostgreSQL under /usr/lib/postgresql: {err}")))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| RunError::Failed("no pg_ctl under /usr/lib/postgresql/*/bin".into()))
}

/// Runs a program as the target's OS user (through `runuser` when root).
pub(super) fn as_target_user(target: &TargetConfig, program: &Path) -> Command {
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", target.run_as(), "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub(super) async fn checked(mut cmd: Command, what: &str) -> Result<(), RunError> {
    let output = tokio::time::timeout(PG_CTL_TIMEOUT, cmd.output())
        .await
        .map_err(|_| RunError::Failed(format!("{what} did not finish within {PG_CTL_TIMEOUT:?}")))?
        .map_err(|err| RunError::Failed(format!("cannot run {what}: {err}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(RunError::Failed(format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// The scratch directory of one restore test: removed (its server stopped
/// first) by `remove`, or when dropped should the job be stopped before.
struct Scratch {
    dir: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    pg_bin: Option<PathBuf>,
    run_as: String,
    removed: bool,
}

/// What a restore test's scratch directory is called: the job's id after it.
const SCRATCH_PREFIX: &str = "opsdeck-restore-test-";

/// Where `target`'s restore tests make their scratch directories.
fn scratch_base(target: &TargetConfig) -> PathBuf {
    target
        .scratch_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
}

/// Stops and removes the restore tests a server killed outright left in
/// the scratch directory: `pg_ctl` starts the copy apart from the server,
/// so it outlives it. Left alone: a running job's (of another target
/// sharing the directory); this job's own, from an attempt before the
/// server died, goes.
async fn remove_leftovers(db: &Db, claim: &Claim, target: &TargetConfig) -> Result<(), RunError> {
    let Ok(entries) = std::fs::read_dir(scratch_base(target)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(job) = name.strip_prefix(SCRATCH_PREFIX) else {
            continue;
        };
        if job != claim.job_id {
            let running = jobs::get(db, job)
                .await
                .map_err(RunError::Store)?
                .is_some_and(|j| j.state == jobs::JobState::Running);
            if running {
                continue;
            }
        }
        let leftover = Scratch::at(target, entry.path());
        leftover.remove(target).await;
        let line = format!(
            "removed the restore test a stopped server left behind: {}",
            entry.path().display()
        );
        tolerated(jobs::append_log(db, claim, &[line], db::now()).await)?;
    }
    Ok(())
}

impl Scratch {
    /// The scratch directory `dir` of one restore test.
    fn at(target: &TargetConfig, dir: PathBuf) -> Scratch {
        Scratch {
            data: dir.join("data"),
            sock: dir.join("sock"),
            dir,
            pg_bin: pg_bin(target).ok(),
            run_as: target.run_as().to_string(),
            removed: false,
        }
    }

    async fn make(target: &TargetConfig, job: &str) -> Result<Scratch, RunError> {
        let scratch = Self::at(
            target,
            scratch_base(target).join(format!("{SCRATCH_PREFIX}{job}")),
        );
        let (data, sock) = (scratch.data.clone(), scratch.sock.clone());
        let mut mkdir = as_target_user(target, Path::new("mkdir"));
        mkdir.args(["-p", "-m", "700"]).arg(&data).arg(&sock);
        checked(mkdir, "making the scratch directory").await?;
        Ok(scratch)
    }

    async fn start(&self, target: &TargetConfig, port: u16) -> Result<(), RunError> {
        let bin = pg_bin(target)?;
        let mut cmd = as_target_user(target, &bin.join("pg_ctl"));
        cmd.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "300", "-o"])
            .arg(format!(
                "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' \
                 -c archive_mode=off -c hot_standby=on",
                self.sock.display()
            ))
            .arg("start");
        checked(cmd, "starting the restored copy (pg_ctl start)").await
    }

    async fn remove(mut self, target: &TargetConfig) {
        if let Some(bin) = &self.pg_bin {
            if self.data.join("postmaster.pid").exists() {
                let mut cmd = as_target_user(target, &bin.join("pg_ctl"));
                cmd.arg("-D")
                    .arg(&self.data)
                    .args(["-m", "immediate", "-w", "-t", "60", "stop"]);
                if let Err(err) = checked(cmd, "stopping the restored copy").await {
                    tracing::warn!(error = %err, "cannot stop a restore test's copy");
                }
            }
        }
        if let Err(err) = tokio::fs::remove_dir_all(&self.dir).await {
            tracing::warn!(dir = %self.dir.display(), error = %err, "cannot remove a restore test's scratch directory");
        }
        self.removed = true;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // The job was stopped mid-way: the copy goes with it, synchronously
        // (an immediate stop is quick), so nothing is left running.
        if let Some(bin) = &self.pg_bin {
            let program = bin.join("pg_ctl");
            let mut cmd = if rustix::process::geteuid().is_root() {
                let mut cmd = std::process::Command::new("runuser");
                cmd.args(["-u", &self.run_as, "--"]).arg(&program);
                cmd
            } else {
                std::process::Command::new(&program)
            };
            let _ = cmd
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_repository_is_read_from_verifys_report() {
        let lines: Vec<String> = [
            "P00   INFO: verify command begin 2.45: --stanza=main",
            "P01   INFO: invalid checksum '20261125-000855F/pg_data/base/5/2838.gz'",
            "P00   INFO: stanza: main",
            "                                    status: error",
            "P00   INFO: verify command end: completed successfully (175ms)",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            damage(&lines),
            [
                "invalid checksum '20261125-000855F/pg_data/base/5/2838.gz'",
                "status: error"
            ]
        );
        let fine: Vec<String> = ["P00   INFO: stanza: main", "status: ok"]
            .map(String::from)
            .to_vec();
        assert!(damage(&fine).is_empty());
    }

    #[test]
    fn a_table_with_other_rows_or_missing_is_said_and_equal_ones_are_not() {
        let source = BTreeMap::from([
            ("public.a".to_string(), 10),
            ("public.b".to_string(), 5),
            ("public.c".to_string(), 1),
        ]);
        let restored = BTreeMap::from([("public.a".to_string(), 10), ("public.b".to_string(), 4)]);
        let (tables, differ) = compare(Some(&source), &restored);
        assert_eq!(tables.len(), 3);
        assert_eq!(
            differ,
            [
                "public.b had 5 rows, restored 4",
                "public.c (1 rows) is missing"
            ]
        );
        let (_, none) = compare(None, &restored);
        assert!(none.is_empty());
    }
}
