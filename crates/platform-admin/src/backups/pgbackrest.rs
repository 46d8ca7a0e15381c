//! A backup job: `pgbackrest backup` run with `tokio::process` (through
//! `runuser` as the target's OS user when platform-admin runs as root),
//! its log lines into the job's log, its per-file percentages into the
//! job's progress, and `pgbackrest info --output=json` for the result.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use opsdeck_api::backups::{BackupResult, BackupType};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use sqlx::Connection as _;

use crate::config::{Config, TargetConfig};
use crate::db::{self, Db};
use crate::error::Error;
use crate::jobs::{self, Claim, Progress};

/// How often what the job printed reaches its log and progress.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The longest `pgbackrest info` may take.
const INFO_TIMEOUT: Duration = Duration::from_secs(60);

/// Progress is reported in hundredths of a percent.
const TOTAL: u64 = 10_000;

/// How long pgBackRest has to stop after `SIGTERM` (it then removes its
/// lock and partial files) before its process group is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Why a backup did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The job failed, for this reason (pgBackRest's own words where it
    /// gave them).
    #[error("{0}")]
    Failed(String),
    /// It was asked to stop, and pgBackRest was stopped.
    #[error("{0}")]
    Stopped(String),
    /// The store refused (the job was taken over, the database is gone).
    #[error(transparent)]
    Store(#[from] Error),
}

/// util-linux's `setpriv`, when installed (looked up once).
fn setpriv() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("setpriv"))
                .find(|candidate| candidate.is_file())
        })
        .as_deref()
}

/// A command running `line` (a program and its first arguments) that stops
/// with this server. A server killed outright (SIGKILL, a lost host) cannot
/// stop what it started, and another server takes its job over: the tool
/// is started with a parent-death signal, so it stops with the server
/// instead of finishing behind the job's back (`runuser` passes the signal
/// on). Without `setpriv`, only the closed pipe of its output stops it.
pub(super) fn dying_with_server(line: &[&OsStr]) -> Command {
    let mut full: Vec<&OsStr> = Vec::new();
    if let Some(setpriv) = setpriv() {
        full.extend([
            setpriv.as_os_str(),
            OsStr::new("--pdeathsig"),
            OsStr::new("TERM"),
        ]);
    }
    full.extend_from_slice(line);
    let mut cmd = Command::new(full[0]);
    cmd.args(&full[1..]);
    cmd
}

fn command(target: &TargetConfig, args: &[String]) -> Command {
    let mut line: Vec<&OsStr> = Vec::new();
    if rustix::process::geteuid().is_root() {
        let run_as = OsStr::new(target.run_as());
        line.extend([
            OsStr::new("runuser"),
            OsStr::new("-u"),
            run_as,
            OsStr::new("--"),
        ]);
    }
    line.push(target.program().as_os_str());
    let mut cmd = dying_with_server(&line);
    cmd.arg(format!("--config={}", target.pgbackrest_config().display()))
        .arg(format!("--stanza={}", target.stanza()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so that stopping it reaches pgBackRest under
        // `runuser` and the processes pgBackRest starts.
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

/// The process group of a running pgBackRest: killed when dropped (a job
/// taken over, a server stopping), unless it was seen to end.
struct Group(Option<rustix::process::Pid>);

impl Group {
    fn of(child: &tokio::process::Child) -> Group {
        Group(
            child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .and_then(rustix::process::Pid::from_raw),
        )
    }

    fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = self.0 {
            // Already gone is fine: that is what was wanted.
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }

    fn ended(&mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(rustix::process::Signal::KILL);
    }
}

/// Stops pgBackRest: `SIGTERM` to its group, then `SIGKILL` after the grace.
async fn stop(child: &mut tokio::process::Child, group: &mut Group) -> String {
    group.signal(rustix::process::Signal::TERM);
    let ended = match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(_) => "pgbackrest stopped".to_string(),
        Err(_) => {
            group.signal(rustix::process::Signal::KILL);
            let _ = child.wait().await;
            format!("pgbackrest did not stop within {STOP_GRACE:?} and was killed")
        }
    };
    group.ended();
    ended
}

/// Runs a backup of `target` for the job `claim` holds; the result is a
/// `BackupResult` as JSON.
pub async fn backup(
    db: &Db,
    claim: &Claim,
    config: &Config,
    target: &TargetConfig,
    backup_type: BackupType,
    stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    // Where the restore point is marked and the row counts read: the
    // primary, wherever it is now.
    let primary = super::primary_url(config, target).await;
    let primary = primary.as_deref();
    match backup_once(db, claim, target, primary, backup_type, stop_asked.clone()).await {
        // A primary just promoted has not written its end-of-recovery
        // checkpoint yet (PostgreSQL spreads it over minutes), and
        // pgBackRest refuses until pg_control says the new timeline.
        Err(RunError::Failed(why)) if why.contains("does not match pg_control timeline") => {
            let Some(url) = primary else {
                return Err(RunError::Failed(format!(
                    "{why}: the primary was promoted a moment ago and has not checkpointed; run CHECKPOINT on it and back up again (with the target's database or cluster named, this is done for you)"
                )));
            };
            checkpoint(url).await.map_err(|err| {
                RunError::Failed(format!(
                    "{why}; CHECKPOINT on the new primary failed: {err}"
                ))
            })?;
            tolerated(
                jobs::append_log(
                    db,
                    claim,
                    &[
                        "the primary was just promoted: CHECKPOINT run on it, backing up again"
                            .to_string(),
                    ],
                    db::now(),
                )
                .await,
            )?;
            backup_once(db, claim, target, primary, backup_type, stop_asked).await
        }
        other => other,
    }
}

/// Runs `CHECKPOINT` on the server at `url`.
async fn checkpoint(url: &str) -> Result<(), String> {
    let run = async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("CHECKPOINT").execute(&mut conn).await?;
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(120), run).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer within 120 s".into()),
    }
}

/// One `pgbackrest backup`; the restore point marked on `primary`.
async fn backup_once(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    primary: Option<&str>,
    backup_type: BackupType,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    let phase = |phase: &str, done: u64| Progress {
        done,
        total: Some(TOTAL),
        phase: Some(phase.to_string()),
    };
    tolerated(jobs::report_progress(db, claim, &phase("backing up", 0), db::now()).await)?;
    let args = vec![
        "backup".to_string(),
        format!("--type={}", backup_type.as_str()),
        "--start-fast".to_string(),
        // pgBackRest's own expiry after the backup (every repository by its
        // own settings) is off: the target's retention runs next, on each
        // repository, and keeps its last verified backup.
        "--no-expire-auto".to_string(),
        // Per-file lines carry the percentage done.
        "--log-level-console=detail".to_string(),
        "--log-level-stderr=error".to_string(),
    ];
    let mut child = command(target, &args).spawn().map_err(|err| {
        RunError::Failed(format!("cannot run {}: {err}", target.program().display()))
    })?;
    let mut group = Group::of(&child);
    let (tx, mut rx) = mpsc::channel::<String>(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err, tx.clone()));
    }
    drop(tx);

    let mut pending: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut label: Option<String> = None;
    let mut percent: Option<u64> = None;
    let mut reported: Option<u64> = None;
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => {
                    if let Some(p) = file_percent(&line) {
                        percent = Some(p);
                        continue;
                    }
                    if line.contains("ERROR:") {
                        errors.push(line.clone());
                    }
                    if let Some(found) = line.split("new backup label = ").nth(1) {
                        label = Some(found.trim().to_string());
                    }
                    pending.push(line);
                }
                None => break,
            },
            true = async { stop_asked.wait_for(|asked| *asked).await.is_ok() } => {
                let how = stop(&mut child, &mut group).await;
                pending.push(format!("cancelled: {how}"));
                tolerated(jobs::append_log(db, claim, &pending, db::now()).await)?;
                return Err(RunError::Stopped(format!("cancelled while backing up; {how}")));
            }
            _ = flush.tick() => {
                if tolerated(jobs::append_log(db, claim, &pending, db::now()).await)? {
                    pending.clear();
                }
                if percent != reported {
                    if let Some(p) = percent {
                        let progress = phase("backing up", p);
                        if tolerated(jobs::report_progress(db, claim, &progress, db::now()).await)? {
                            reported = percent;
                        }
                    }
                }
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|err| RunError::Failed(format!("cannot wait for pgbackrest: {err}")))?;
    group.ended();
    tolerated(jobs::append_log(db, claim, &pending, db::now()).await)?;
    if !status.success() {
        let mut reason = failure(status, &errors);
        if let Some(full) = super::repo_disk::full(target).await {
            reason.push_str("; ");
            reason.push_str(&full);
        }
        return Err(RunError::Failed(reason));
    }
    let reading = phase("reading the result", TOTAL);
    tolerated(jobs::report_progress(db, claim, &reading, db::now()).await)?;
    let info = info(target).await?;
    let mut result = result_of(&info, label.as_deref()).ok_or_else(|| {
        RunError::Failed(format!(
            "pgbackrest backup succeeded but `pgbackrest info` does not list {}",
            label.as_deref().unwrap_or("any backup")
        ))
    })?;
    // The restore point (and the row counts a restore test compares) and
    // retention are independent: done at once, a backup ends sooner.
    let point = format!("opsdeck-{}", result.label);
    let marking = async {
        match primary {
            Some(url) => Some(super::source::mark(url, &point).await),
            None => None,
        }
    };
    let retaining = async {
        let expiring = phase("applying retention", TOTAL);
        tolerated(jobs::report_progress(db, claim, &expiring, db::now()).await)?;
        super::retention::apply(db, claim, target, &info, &mut stop_asked).await
    };
    let (marked, retained) = tokio::join!(marking, retaining);
    match marked {
        Some(Ok(counts)) => {
            result.restore_point = Some(point);
            result.row_counts = Some(counts);
        }
        Some(Err(why)) => {
            let line = format!("row counts not recorded (a restore test cannot compare): {why}");
            tolerated(jobs::append_log(db, claim, &[line], db::now()).await)?;
        }
        None => {}
    }
    match retained {
        Ok(expired) => result.expired = expired,
        // The backup is there and sound: the job says retention was not
        // applied rather than failing a backup that succeeded.
        Err(RunError::Failed(why) | RunError::Stopped(why)) => {
            let line = format!("retention not applied in full: {why}");
            tolerated(jobs::append_log(db, claim, &[line], db::now()).await)?;
        }
        Err(err @ RunError::Store(_)) => return Err(err),
    }
    serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
}

/// Runs one pgBackRest command for the job `claim` holds: its lines into
/// the job's log, stopped (`SIGTERM` to its group) when `stop_asked`
/// turns true. The lines that said `ERROR:` when it failed; else the
/// first `MAX_KEPT` lines it printed, for the caller to read.
pub async fn run_logged(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    args: &[String],
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<String>, RunError> {
    let what = args.first().cloned().unwrap_or_default();
    let mut child = command(target, args).spawn().map_err(|err| {
        RunError::Failed(format!("cannot run {}: {err}", target.program().display()))
    })?;
    let mut group = Group::of(&child);
    let (tx, mut rx) = mpsc::channel::<String>(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err, tx.clone()));
    }
    drop(tx);
    let mut pending: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => {
                    if line.contains("ERROR:") {
                        errors.push(line.clone());
                    }
                    if kept.len() < MAX_KEPT {
                        kept.push(line.clone());
                    }
                    pending.push(line);
                }
                None => break,
            },
            true = async { stop_asked.wait_for(|asked| *asked).await.is_ok() } => {
                let how = stop(&mut child, &mut group).await;
                pending.push(format!("cancelled: {how}"));
                tolerated(jobs::append_log(db, claim, &pending, db::now()).await)?;
                return Err(RunError::Stopped(format!("cancelled during pgbackrest {what}; {how}")));
            }
            _ = flush.tick() => {
                if tolerated(jobs::append_log(db, claim, &pending, db::now()).await)? {
                    pending.clear();
                }
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|err| RunError::Failed(format!("cannot wait for pgbackrest: {err}")))?;
    group.ended();
    tolerated(jobs::append_log(db, claim, &pending, db::now()).await)?;
    if !status.success() {
        let said: Vec<&str> = errors
            .iter()
            .map(|line| match line.find("ERROR:") {
                Some(at) => line[at..].trim(),
                None => line.trim(),
            })
            .collect();
        return Err(RunError::Failed(if said.is_empty() {
            format!("pgbackrest {what} failed ({status})")
        } else {
            format!("pgbackrest {what} failed ({status}): {}", said.join("; "))
        }));
    }
    Ok(kept)
}

/// The most lines `run_logged` hands back.
const MAX_KEPT: usize = 5_000;

/// A report that did not reach the store while the job still runs (a busy
/// or briefly unreachable database) is tried again at the next flush
/// rather than abandoning a backup that is going well; only a job taken
/// over stops here. `Ok(true)` when it was stored.
pub(crate) fn tolerated(stored: Result<(), Error>) -> Result<bool, RunError> {
    match stored {
        Ok(()) => Ok(true),
        Err(err @ Error::JobTakenOver { .. }) => Err(RunError::Store(err)),
        Err(err) => {
            tracing::warn!(error = %err, "cannot record a running backup's log or progress yet");
            Ok(false)
        }
    }
}

async fn forward(stream: impl AsyncRead + Unpin, tx: mpsc::Sender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim_end().to_string();
        if !line.is_empty() && tx.send(line).await.is_err() {
            return;
        }
    }
}

/// The percentage of `P01 DETAIL: backup file /p (8KB, 12.34%) checksum …`,
/// in hundredths.
fn file_percent(line: &str) -> Option<u64> {
    if !line.contains("DETAIL: backup file ") && !line.contains("DETAIL: match file ") {
        return None;
    }
    let end = line.find("%)")?;
    let start = line[..end].rfind(", ")? + 2;
    let value: f64 = line[start..end].trim().parse().ok()?;
    Some((value * 100.0).round().clamp(0.0, TOTAL as f64) as u64)
}

fn failure(status: ExitStatus, errors: &[String]) -> String {
    let said: Vec<&str> = errors
        .iter()
        .map(|line| match line.find("ERROR:") {
            Some(at) => line[at..].trim(),
            None => line.trim(),
        })
        .collect();
    if said.is_empty() {
        format!("pgbackrest backup failed ({status})")
    } else {
        format!("pgbackrest backup failed ({status}): {}", said.join("; "))
    }
}

/// `pgbackrest info --output=json` of the target's stanza.
pub async fn info(target: &TargetConfig) -> Result<Vec<StanzaInfo>, RunError> {
    let mut cmd = command(target, &["info".to_string(), "--output=json".to_string()]);
    let output = tokio::time::timeout(INFO_TIMEOUT, cmd.output())
        .await
        .map_err(|_| RunError::Failed("`pgbackrest info` did not answer within 60 s".into()))?
        .map_err(|err| RunError::Failed(format!("cannot run pgbackrest info: {err}")))?;
    if !output.status.success() {
        return Err(RunError::Failed(format!(
            "`pgbackrest info` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|err| {
        RunError::Failed(format!("`pgbackrest info` printed unexpected JSON: {err}"))
    })
}

/// The part of `pgbackrest info --output=json` read here.
#[derive(Debug, Deserialize)]
pub struct StanzaInfo {
    #[serde(default)]
    pub backup: Vec<BackupInfo>,
    /// The archived WAL, per database the stanza has had.
    #[serde(default)]
    pub archive: Vec<ArchiveInfo>,
    #[serde(default)]
    pub status: Option<StanzaStatus>,
}

#[derive(Debug, Deserialize)]
pub struct ArchiveInfo {
    pub min: Option<String>,
    pub max: Option<String>,
}

/// `0` is `ok`; anything else says what is wrong (`missing stanza path`).
#[derive(Debug, Deserialize)]
pub struct StanzaStatus {
    pub code: i64,
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct BackupInfo {
    pub label: String,
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    pub info: SizeInfo,
    pub timestamp: Times,
    #[serde(default)]
    pub archive: Option<ArchiveRange>,
    /// Whether pgBackRest found errors (page checksums) while copying.
    #[serde(default)]
    pub error: Option<bool>,
    /// The backup a diff or incr depends on.
    #[serde(default)]
    pub prior: Option<String>,
    /// Which repository holds it.
    #[serde(default)]
    pub database: Option<BackupDatabase>,
}

#[derive(Debug, Deserialize)]
pub struct BackupDatabase {
    #[serde(rename = "repo-key", default)]
    pub repo_key: Option<u32>,
}

impl BackupInfo {
    /// The key of the repository that holds it (`repo1` when pgBackRest
    /// does not say: older versions had one).
    pub fn repo(&self) -> u32 {
        self.database.as_ref().and_then(|d| d.repo_key).unwrap_or(1)
    }
}

#[derive(Debug, Deserialize)]
pub struct SizeInfo {
    pub size: u64,
    pub repository: RepositorySize,
}

#[derive(Debug, Deserialize)]
pub struct RepositorySize {
    pub size: u64,
}

#[derive(Debug, Deserialize)]
pub struct Times {
    pub start: i64,
    pub stop: i64,
}

#[derive(Debug, Deserialize)]
pub struct ArchiveRange {
    pub start: Option<String>,
    pub stop: Option<String>,
}

/// The backup labelled `label`, else the newest listed.
pub fn result_of(info: &[StanzaInfo], label: Option<&str>) -> Option<BackupResult> {
    let mut backups = info.iter().flat_map(|stanza| stanza.backup.iter());
    let found = match label {
        Some(label) => backups.rfind(|b| b.label == label),
        None => backups.next_back(),
    }?;
    Some(BackupResult {
        label: found.label.clone(),
        backup_type: found.backup_type,
        size: found.info.size,
        repository_size: found.info.repository.size,
        started_at: found.timestamp.start,
        stopped_at: found.timestamp.stop,
        wal_start: found.archive.as_ref().and_then(|a| a.start.clone()),
        wal_stop: found.archive.as_ref().and_then(|a| a.stop.clone()),
        restore_point: None,
        row_counts: None,
        expired: Vec::new(),
        sha256: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_file_lines_give_hundredths_of_a_percent() {
        let line = "P01 DETAIL: backup file /var/lib/pg/base/5/1259 (104KB, 12.34%) checksum 0a1b";
        assert_eq!(file_percent(line), Some(1234));
        assert_eq!(file_percent("P00 INFO: new backup label = 1F"), None);
    }

    #[test]
    fn the_labelled_backup_is_the_result() {
        let json = r#"[{"name":"main","backup":[
            {"label":"A","type":"full","info":{"size":10,"repository":{"size":5,"delta":5}},
             "timestamp":{"start":1,"stop":2},"archive":{"start":"0001","stop":"0002"}},
            {"label":"B","type":"incr","info":{"size":11,"repository":{"size":1,"delta":1}},
             "timestamp":{"start":3,"stop":4},"archive":{"start":"0003","stop":"0003"}}]}]"#;
        let info: Vec<StanzaInfo> = serde_json::from_str(json).expect("parses");
        let a = result_of(&info, Some("A")).expect("A");
        assert_eq!(
            (a.backup_type, a.size, a.wal_stop.as_deref()),
            (BackupType::Full, 10, Some("0002"))
        );
        assert_eq!(
            result_of(&info, None).map(|b| b.label),
            Some("B".to_string())
        );
        assert!(result_of(&info, Some("C")).is_none());
    }
}
