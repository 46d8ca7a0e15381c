//! `opsdeck backups ...`: the backup targets of the profile's server, the
//! backups of one with its restorable window and RPO, and starting a
//! backup (a job; `--wait` follows it to its end).

use clap::{Subcommand, ValueEnum};
use opsdeck_core::api::backups::{
    BackupStatus, BackupTarget, BackupType, RetentionKeep, Rpo, RpoSource,
};
use opsdeck_core::Console;
use serde::Serialize;

use crate::error::Result;
use crate::output::{ago, when, Column, Output};

#[derive(Subcommand)]
pub enum BackupsCommand {
    /// The backup targets the server's configuration declares.
    Targets,
    /// A target's backups, oldest first, with its restorable window and
    /// its RPO against the objective.
    List {
        /// The target's id (see `opsdeck backups targets`).
        target: String,
    },
    /// Start a backup of a target (a job).
    Create {
        /// The target's id.
        target: String,
        /// Full, differential (since the last full) or incremental (since
        /// the last backup); a pg_dump or redis_rdb target takes only full.
        #[arg(long = "type", value_enum, default_value_t = Kind::Full)]
        kind: Kind,
        /// Follow the job to its end (exit 1 when it fails).
        #[arg(long)]
        wait: bool,
    },
    /// Verify a target: pgBackRest checks its repository, then a backup is
    /// restored into a scratch directory and its tables' rows compared
    /// with the source's at the backup; a pg_dump or redis_rdb backup is
    /// read again by pg_restore --list or redis-check-rdb and its checksum
    /// compared (a job).
    Verify {
        /// The target's id.
        target: String,
        /// The backup to restore-test (its label); the newest unless given.
        #[arg(long, value_name = "LABEL")]
        set: Option<String>,
        /// Follow the job to its end (exit 1 when the backup fails verification).
        #[arg(long)]
        wait: bool,
    },
    /// Restore a target: a safety backup first, then its server stopped,
    /// its data restored (to its newest point, or to a time) and started
    /// again (a job; its result has the achieved RTO).
    Restore {
        /// The target's id.
        target: String,
        /// Restore to this time (RFC 3339, inside the restorable window
        /// `backups list` shows); to the newest point unless given.
        #[arg(long, value_name = "TIME")]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// The target's id, exactly, to confirm on a prod profile without a
        /// prompt (needed with --json or without a terminal).
        #[arg(long, value_name = "TARGET")]
        confirm: Option<String>,
        /// Follow the job to its end (exit 1 when the restore fails).
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        approval: crate::approvals::ApprovalArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Full,
    Diff,
    Incr,
}

impl From<Kind> for BackupType {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Full => BackupType::Full,
            Kind::Diff => BackupType::Diff,
            Kind::Incr => BackupType::Incr,
        }
    }
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: BackupsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let backups = session.backups();
    match cmd {
        BackupsCommand::Targets => {
            let targets = backups.targets().await?;
            // Each target's RPO comes with its backups; a target whose list
            // cannot be read still shows, with why.
            let mut shown = Vec::with_capacity(targets.len());
            for target in targets {
                let rpo = backups.list(&target.id).await.map(|list| list.rpo);
                shown.push(TargetRow { target, rpo });
            }
            let rows = shown
                .iter()
                .map(|row| {
                    let t = &row.target;
                    vec![
                        t.id.clone(),
                        t.kind.as_str().to_string(),
                        t.stanza.clone().unwrap_or_else(|| "-".to_string()),
                        match &row.rpo {
                            Ok(rpo) => rpo_cell(rpo),
                            Err(err) => format!("unknown: {err}"),
                        },
                        match t.next_verification_at {
                            Some(at) => when(at),
                            None => "-".to_string(),
                        },
                        t.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let json: Vec<TargetJson> = shown
                .iter()
                .map(|row| TargetJson {
                    target: &row.target,
                    rpo: row.rpo.as_ref().ok(),
                    rpo_error: row.rpo.as_ref().err().map(ToString::to_string),
                })
                .collect();
            out.list(
                &json,
                &format!(
                    "no backup targets on `{}`: the server's configuration declares none",
                    session.profile().name
                ),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("KIND", 2),
                    Column::free_text("STANZA", 2),
                    Column::free_text("RPO", u8::MAX),
                    Column::text("NEXT VERIFY", 3),
                    Column::free_text("DESCRIPTION", 1),
                ],
                rows,
            );
        }
        BackupsCommand::List { target } => {
            let list = backups.list(&target).await?;
            let rows = list
                .items
                .iter()
                .map(|b| {
                    vec![
                        b.label.clone(),
                        b.backup_type.as_str().to_string(),
                        match b.status {
                            BackupStatus::Ok => "ok".to_string(),
                            BackupStatus::Error => "error".to_string(),
                        },
                        match (b.verified, b.verified_at) {
                            (Some(true), Some(at)) => format!("yes {}", when(at)),
                            (Some(false), Some(at)) => format!("FAILED {}", when(at)),
                            _ => "never".to_string(),
                        },
                        bytes(b.size),
                        bytes(b.repository_size),
                        match b.kept_by {
                            Some(RetentionKeep::Retention) => "retention",
                            Some(RetentionKeep::Weekly) => "weekly",
                            Some(RetentionKeep::LastVerified) => "last verified",
                            None => "expires next",
                        }
                        .to_string(),
                        when(b.started_at),
                        when(b.stopped_at),
                        if list.point_in_time {
                            format!(
                                "{}–{}",
                                b.wal_start.as_deref().unwrap_or("?"),
                                b.wal_stop.as_deref().unwrap_or("?")
                            )
                        } else {
                            "-".to_string()
                        },
                    ]
                })
                .collect();
            out.list(
                &list,
                &format!("no backups of `{}`", list.target),
                &[
                    Column::text("LABEL", u8::MAX),
                    Column::text("TYPE", u8::MAX),
                    Column::text("STATUS", u8::MAX),
                    Column::text("VERIFIED", 4),
                    Column::number("SIZE", 3),
                    Column::number("REPO SIZE", 2),
                    Column::text("KEPT BY", 3),
                    Column::text("STARTED", 1),
                    Column::text("STOPPED", 3),
                    Column::text("WAL", 0),
                ],
                rows,
            );
            if !out.json {
                if let Some(error) = &list.repository_error {
                    out.note(&format!("the repository could not be read: {error}"));
                }
                if !list.point_in_time {
                    out.note(
                        "each backup restores only to when it was taken: this kind has no point-in-time restore",
                    );
                }
                if let Some(window) = &list.restorable {
                    out.note(&format!(
                        "restorable from {} to {}",
                        when(window.from),
                        when(window.to)
                    ));
                }
                let rpo = &list.rpo;
                let measured = match rpo.source {
                    RpoSource::WalArchive => "newest archived WAL",
                    RpoSource::LastBackup => "newest backup (no archived WAL read)",
                    RpoSource::None => "nothing to restore",
                };
                let age = rpo.seconds.map(ago).unwrap_or_else(|| "none".to_string());
                out.note(&format!(
                    "RPO: newest restorable point {age} ({measured}); objective {} s{}",
                    rpo.objective_seconds,
                    if rpo.over {
                        " — OVER THE OBJECTIVE"
                    } else {
                        ""
                    }
                ));
                if let Some(note) = &rpo.note {
                    out.note(&format!("  {note}"));
                }
            }
        }
        BackupsCommand::Create { target, kind, wait } => {
            let job = backups.create(&target, kind.into()).await?;
            if wait {
                crate::jobs::wait(&session, &job.id, out).await?;
            } else if out.json {
                out.json(&job);
            } else {
                out.note(&format!(
                    "backup of `{target}` queued as job {}; follow it with `opsdeck jobs watch {}`",
                    job.id, job.id
                ));
            }
        }
        BackupsCommand::Restore {
            target,
            to,
            confirm,
            wait,
            approval,
        } => {
            if let Some(why) = &approval.request_approval {
                let action = opsdeck_core::Destructive::Restore {
                    target: target.clone(),
                    to,
                };
                return crate::approvals::request_for(&session, out, &action, why).await;
            }
            let name = target.as_str();
            let backups = &backups;
            let approval = approval.approval.as_deref();
            let job = crate::tenants::confirmed(out, confirm, |confirmation| async move {
                backups
                    .restore_approved(name, to, confirmation.as_deref(), approval)
                    .await
            })
            .await?;
            if wait {
                crate::jobs::wait(&session, &job.id, out).await?;
            } else if out.json {
                out.json(&job);
            } else {
                out.note(&format!(
                    "restore of `{target}` queued as job {}; follow it with `opsdeck jobs watch {}`",
                    job.id, job.id
                ));
            }
        }
        BackupsCommand::Verify { target, set, wait } => {
            let job = backups.verify(&target, set).await?;
            if wait {
                crate::jobs::wait(&session, &job.id, out).await?;
            } else if out.json {
                out.json(&job);
            } else {
                out.note(&format!(
                    "verification of `{target}` queued as job {}; follow it with `opsdeck jobs watch {}`",
                    job.id, job.id
                ));
            }
        }
    }
    Ok(())
}

/// A target and its RPO, or why its RPO could not be read.
struct TargetRow {
    target: BackupTarget,
    rpo: std::result::Result<Rpo, opsdeck_core::Error>,
}

/// A target as `--json` prints it: its fields, its RPO (or the error).
#[derive(Serialize)]
struct TargetJson<'a> {
    #[serde(flatten)]
    target: &'a BackupTarget,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpo: Option<&'a Rpo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpo_error: Option<String>,
}

/// The RPO against its objective, in one cell: `12 s / 300 s`, `OVER` in
/// front when over.
fn rpo_cell(rpo: &Rpo) -> String {
    let now = rpo
        .seconds
        .map(|s| format!("{s} s"))
        .unwrap_or_else(|| "nothing to restore".to_string());
    let over = if rpo.over { "OVER " } else { "" };
    format!("{over}{now} / {} s", rpo.objective_seconds)
}

/// Bytes in the largest unit that keeps a number of at least 1.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_are_shown_in_the_largest_fitting_unit() {
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
