//! Backups kept as files on the server (`pg_dump` and `redis_rdb`
//! targets): each backup is one file in the target's `backup_dir` with a
//! `<label>.json` manifest beside it (size, SHA-256, when it was taken),
//! written only once the file was checked. What the list shows, a backup
//! or verify job's common steps, and running the kinds' tools with a
//! deadline and a way to stop them. Such a backup restores only to the
//! moment it was taken: no window, no point in time.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use opsdeck_api::backups::{
    Backup, BackupList, BackupStatus, BackupTargetKind, BackupType, Rpo, RpoSource, VerifyResult,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

use crate::config::TargetConfig;
use crate::db::{self, Db};
use crate::error::Error;
use crate::jobs::{self, Claim, Progress};

use super::listing::Verified;
use super::pgbackrest::{tolerated, RunError};
use super::retention::{self, Entry};

/// What is kept beside each backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub label: String,
    /// The backup's file name in `backup_dir`.
    pub file: String,
    pub size: u64,
    /// Hex.
    pub sha256: String,
    /// Unix seconds.
    pub started_at: i64,
    pub stopped_at: i64,
}

/// A backup's label: when it started, to the millisecond (one job per
/// target runs at a time, so labels do not collide).
pub fn label(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d-%H%M%S-%3f").to_string()
}

/// The file of a backup labelled `label` of a target of `kind`.
pub fn file_name(kind: BackupTargetKind, label: &str) -> String {
    match kind {
        BackupTargetKind::RedisRdb => format!("{label}.rdb"),
        _ => format!("{label}.dump"),
    }
}

pub fn backup_dir(target: &TargetConfig) -> Result<&Path, RunError> {
    target.backup_dir.as_deref().ok_or_else(|| {
        RunError::Failed(format!(
            "backup target `{}` names no backup_dir in the configuration file",
            target.id
        ))
    })
}

/// Makes the backup directory (private to platform-admin's user: dumps
/// hold tenants' data).
pub async fn make_dir(dir: &Path) -> Result<(), RunError> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    builder.create(dir).await.map_err(|err| {
        RunError::Failed(format!(
            "cannot make the backup directory {}: {err}",
            dir.display()
        ))
    })
}

/// Removes what a job stopped mid-way left (`*.partial`): one job per
/// target runs at a time, so none of them is being written.
pub async fn sweep_partials(dir: &Path) -> Result<Vec<String>, RunError> {
    let failed = |err: std::io::Error| {
        RunError::Failed(format!(
            "cannot read the backup directory {}: {err}",
            dir.display()
        ))
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(failed)?;
    let mut removed = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(failed)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".partial") {
            tokio::fs::remove_file(entry.path()).await.map_err(|err| {
                RunError::Failed(format!("cannot remove {}: {err}", entry.path().display()))
            })?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// Makes the backup directory when missing, and clears what an earlier
/// job left half written (said in the job's log).
pub async fn prepare(db: &Db, claim: &Claim, dir: &Path) -> Result<(), RunError> {
    make_dir(dir).await?;
    let removed = sweep_partials(dir).await?;
    if !removed.is_empty() {
        log(
            db,
            claim,
            format!(
                "removed what an earlier, stopped job left half written: {}",
                removed.join(", ")
            ),
        )
        .await?;
    }
    Ok(())
}

/// Size and SHA-256 (hex) of `path`.
pub async fn digest(path: &Path) -> Result<(u64, String), RunError> {
    let failed = |err: std::io::Error| {
        RunError::Failed(format!(
            "cannot read {} to checksum it: {err}",
            path.display()
        ))
    };
    let mut file = tokio::fs::File::open(path).await.map_err(failed)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(failed)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((size, hex))
}

/// The manifests in `dir`, oldest first; a directory not made yet has none.
pub async fn manifests(dir: &Path) -> Result<Vec<Manifest>, String> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(format!("cannot read {}: {err}", dir.display())),
    };
    let mut found = Vec::new();
    loop {
        let entry = match entries.next_entry().await {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(err) => return Err(format!("cannot read {}: {err}", dir.display())),
        };
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = tokio::fs::read(&path)
            .await
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|err| format!("{} is not a backup manifest: {err}", path.display()))?;
        found.push(manifest);
    }
    found.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(found)
}

/// Moves the checked file into place and writes its manifest (through a
/// temporary file, so a manifest is never half written).
pub async fn keep(dir: &Path, partial: &Path, manifest: &Manifest) -> Result<(), RunError> {
    let failed = |what: String, err: std::io::Error| RunError::Failed(format!("{what}: {err}"));
    // Tenants' data: readable by platform-admin's user only, whatever the
    // tool or the copied file's mode was.
    tokio::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o600))
        .await
        .map_err(|err| failed(format!("cannot make {} private", partial.display()), err))?;
    let file = dir.join(&manifest.file);
    tokio::fs::rename(partial, &file)
        .await
        .map_err(|err| failed(format!("cannot move the backup to {}", file.display()), err))?;
    let json = serde_json::to_vec_pretty(manifest).map_err(|err| RunError::Store(err.into()))?;
    let written = dir.join(format!("{}.json.partial", manifest.label));
    tokio::fs::write(&written, json)
        .await
        .map_err(|err| failed(format!("cannot write {}", written.display()), err))?;
    let path = dir.join(format!("{}.json", manifest.label));
    tokio::fs::rename(&written, &path)
        .await
        .map_err(|err| failed(format!("cannot write {}", path.display()), err))
}

/// Runs `cmd` to its end within `limit`, stopped (killed) when
/// `stop_asked` turns true; its output, whatever its status.
/// A command for the tool `program`, stopping with this server (see
/// `pgbackrest::dying_with_server`).
pub fn tool(program: impl AsRef<std::ffi::OsStr>) -> Command {
    super::pgbackrest::dying_with_server(&[program.as_ref()])
}

pub async fn run_tool(
    mut cmd: Command,
    what: &str,
    limit: Duration,
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<std::process::Output, RunError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|err| RunError::Failed(format!("cannot run {what}: {err}")))?;
    // Dropping the output's future drops the child, which kills it.
    tokio::select! {
        done = tokio::time::timeout(limit, child.wait_with_output()) => match done {
            Err(_) => Err(RunError::Failed(format!("{what} did not finish within {limit:?} and was stopped"))),
            Ok(Err(err)) => Err(RunError::Failed(format!("cannot wait for {what}: {err}"))),
            Ok(Ok(output)) => Ok(output),
        },
        true = async { stop_asked.wait_for(|asked| *asked).await.is_ok() } => {
            Err(RunError::Stopped(format!("cancelled while {what} ran; it was stopped")))
        }
    }
}

/// What a tool said on failure: its stderr (else stdout), trimmed to the
/// last lines, which say why.
pub fn said(output: &std::process::Output) -> String {
    let text = if output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&output.stderr)
    } else {
        String::from_utf8_lossy(&output.stdout)
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(8);
    lines[start..].join(" / ")
}

pub async fn log(db: &Db, claim: &Claim, line: String) -> Result<(), RunError> {
    tolerated(jobs::append_log(db, claim, &[line], db::now()).await).map(|_| ())
}

pub async fn progress(
    db: &Db,
    claim: &Claim,
    done: u64,
    total: u64,
    phase: &str,
) -> Result<(), RunError> {
    let progress = Progress {
        done,
        total: Some(total),
        phase: Some(phase.to_string()),
    };
    tolerated(jobs::report_progress(db, claim, &progress, db::now()).await).map(|_| ())
}

/// The list of a file target at `now`.
pub async fn list(db: &Db, target: &TargetConfig, now: DateTime<Utc>) -> Result<BackupList, Error> {
    let (found, error) = match target.backup_dir.as_deref() {
        Some(dir) => match manifests(dir).await {
            Ok(found) => (found, None),
            Err(why) => (Vec::new(), Some(why)),
        },
        None => (Vec::new(), Some("no backup_dir is configured".to_string())),
    };
    let verified = super::verify::latest(db, &target.id).await?;
    Ok(build(target, &found, error, &verified, now))
}

/// The list from what was read; apart from the reading, so it is tested.
pub fn build(
    target: &TargetConfig,
    found: &[Manifest],
    error: Option<String>,
    verified: &Verified,
    now: DateTime<Utc>,
) -> BackupList {
    let entries: Vec<Entry> = found.iter().map(Entry::from).collect();
    let plan = retention::plan(&entries, &target.retention, verified, now);
    let items: Vec<Backup> = found
        .iter()
        .map(|m| Backup {
            label: m.label.clone(),
            // A dump or a snapshot is always whole.
            backup_type: BackupType::Full,
            status: BackupStatus::Ok,
            size: m.size,
            repository_size: m.size,
            started_at: unix(m.started_at),
            stopped_at: unix(m.stopped_at),
            wal_start: None,
            wal_stop: None,
            prior: None,
            verified: verified.get(&m.label).map(|v| v.0),
            verified_at: verified.get(&m.label).map(|v| v.1),
            kept_by: plan.kept_by(&Entry::from(m)),
            sha256: Some(m.sha256.clone()),
        })
        .collect();
    let newest = items.iter().map(|b| b.stopped_at).max();
    let objective = target.rpo_objective_seconds();
    let seconds = newest.map(|at| (now - at).num_seconds().max(0));
    BackupList {
        target: target.id.clone(),
        items,
        point_in_time: false,
        restorable: None,
        wal_min: None,
        wal_max: None,
        rpo: Rpo {
            objective_seconds: objective,
            newest_restorable_at: newest,
            seconds,
            over: seconds.is_none_or(|s| u64::try_from(s).unwrap_or(0) > objective),
            source: if newest.is_some() {
                RpoSource::LastBackup
            } else {
                RpoSource::None
            },
            note: None,
        },
        repository_error: error,
    }
}

fn unix(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Checks `path` with the kind's tool: what it read, in words.
async fn check(
    target: &TargetConfig,
    path: &Path,
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<String, RunError> {
    match target.kind {
        BackupTargetKind::PgDump => super::dump::check(target, path, stop_asked).await,
        BackupTargetKind::RedisRdb => super::rdb::check(target, path, stop_asked).await,
        BackupTargetKind::Postgresql => Err(RunError::Failed(
            "a pgBackRest target has no backup files to check".into(),
        )),
    }
}

/// The common end of a file backup: checks the written `partial` file,
/// keeps it with its manifest, records it verified and answers the
/// job's result.
pub async fn finish(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    label: &str,
    partial: &Path,
    started: DateTime<Utc>,
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    let dir = backup_dir(target)?;
    let (size, sha256) = digest(partial).await?;
    log(db, claim, format!("{size} bytes, sha256 {sha256}")).await?;
    let checked = match check(target, partial, stop_asked).await {
        Ok(checked) => checked,
        Err(err) => {
            // An unreadable backup is not kept: nothing would restore it.
            let _ = tokio::fs::remove_file(partial).await;
            return Err(err);
        }
    };
    log(db, claim, checked.clone()).await?;
    let stopped = db::now();
    let manifest = Manifest {
        label: label.to_string(),
        file: file_name(target.kind, label),
        size,
        sha256: sha256.clone(),
        started_at: started.timestamp(),
        stopped_at: stopped.timestamp(),
    };
    keep(dir, partial, &manifest).await?;
    log(
        db,
        claim,
        format!("kept as {}", dir.join(&manifest.file).display()),
    )
    .await?;
    super::verify::record(db, &target.id, label, &claim.job_id, true, "").await?;
    let expired = match expire(db, claim, target).await {
        Ok(expired) => expired,
        // The backup is kept and sound: the job says retention was not
        // applied rather than failing a backup that succeeded.
        Err(RunError::Failed(why) | RunError::Stopped(why)) => {
            log(db, claim, format!("retention not applied in full: {why}")).await?;
            Vec::new()
        }
        Err(err @ RunError::Store(_)) => return Err(err),
    };
    let result = opsdeck_api::backups::BackupResult {
        label: label.to_string(),
        backup_type: BackupType::Full,
        size,
        repository_size: size,
        started_at: started.timestamp(),
        stopped_at: stopped.timestamp(),
        wal_start: None,
        wal_stop: None,
        restore_point: None,
        row_counts: None,
        expired,
        sha256: Some(sha256),
    };
    serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
}

/// Applies the target's retention to its files: each backup the plan
/// does not keep loses its manifest, then its file. The labels removed.
async fn expire(db: &Db, claim: &Claim, target: &TargetConfig) -> Result<Vec<String>, RunError> {
    let dir = backup_dir(target)?;
    let found = manifests(dir).await.map_err(RunError::Failed)?;
    let verified = super::verify::latest(db, &target.id).await?;
    let entries: Vec<Entry> = found.iter().map(Entry::from).collect();
    let plan = retention::plan(&entries, &target.retention, &verified, db::now());
    let mut expired = Vec::new();
    for manifest in &found {
        if plan.keep.contains_key(&manifest.label) {
            continue;
        }
        // The manifest goes first: a backup is listed only while its file
        // is whole, and a file left behind is only unlisted space.
        let path = dir.join(format!("{}.json", manifest.label));
        tokio::fs::remove_file(&path)
            .await
            .map_err(|err| RunError::Failed(format!("cannot remove {}: {err}", path.display())))?;
        let file = dir.join(&manifest.file);
        if let Err(err) = tokio::fs::remove_file(&file).await {
            log(
                db,
                claim,
                format!(
                    "expired {} but cannot remove {}: {err}",
                    manifest.label,
                    file.display()
                ),
            )
            .await?;
        }
        expired.push(manifest.label.clone());
    }
    let plans = std::collections::BTreeMap::from([(1, plan)]);
    retention::log(db, claim, &target.retention, &plans, &expired).await?;
    Ok(expired)
}

/// A verify job of a file target: the backup `set` (else the newest)
/// checked by its kind's tool and against its recorded checksum.
pub async fn verify(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    set: Option<&str>,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    progress(db, claim, 0, 2, "reading the backups").await?;
    let dir = backup_dir(target)?;
    let found = manifests(dir).await.map_err(RunError::Failed)?;
    let manifest = match set {
        Some(set) => found.iter().find(|m| m.label == set).ok_or_else(|| {
            RunError::Failed(format!("`{}` has no backup labelled `{set}`", target.id))
        })?,
        None => found
            .last()
            .ok_or_else(|| RunError::Failed(format!("`{}` has no backup to verify", target.id)))?,
    };
    let path: PathBuf = dir.join(&manifest.file);
    progress(db, claim, 1, 2, "checking the backup file").await?;
    let outcome = async {
        let checked = check(target, &path, &mut stop_asked).await?;
        log(db, claim, checked.clone()).await?;
        let (size, sha256) = digest(&path).await?;
        if (size, sha256.as_str()) != (manifest.size, manifest.sha256.as_str()) {
            return Err(RunError::Failed(format!(
                "{} changed since it was taken: {size} bytes with sha256 {sha256}, recorded {} bytes with sha256 {}",
                path.display(),
                manifest.size,
                manifest.sha256
            )));
        }
        Ok(format!("{checked}; sha256 {sha256} as recorded"))
    }
    .await;
    match outcome {
        Ok(checked) => {
            super::verify::record(db, &target.id, &manifest.label, &claim.job_id, true, "").await?;
            let result = VerifyResult {
                label: manifest.label.clone(),
                tables: Vec::new(),
                compared: false,
                restore_seconds: 0,
                checked: Some(checked),
            };
            serde_json::to_value(result).map_err(|err| RunError::Store(err.into()))
        }
        Err(RunError::Failed(reason)) => {
            super::verify::record(
                db,
                &target.id,
                &manifest.label,
                &claim.job_id,
                false,
                &reason,
            )
            .await?;
            Err(RunError::Failed(reason))
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_gets_a_parent_death_signal_where_setpriv_is_installed() {
        let cmd = tool("pg_dump");
        let cmd = cmd.as_std();
        let line: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        // util-linux is essential on Debian: setpriv is always there.
        assert!(line[0].ends_with("/setpriv"), "{line:?}");
        assert_eq!(line[1..], ["--pdeathsig", "TERM", "pg_dump"], "{line:?}");
    }
}
