//! `opsdeck jobs ...`: the jobs of the profile's server (backups now,
//! restores and failovers later): list, show, watch to the end, cancel.
//! `wait` is the one way any command's `--wait` follows its job.

use clap::{Args, Subcommand};
use opsdeck_core::api::jobs::{Job, JobState};
use opsdeck_core::jobs::{is_finished, state_word};
use opsdeck_core::{Console, Session};

use crate::error::{CliError, Result};
use crate::output::{when, Column, Output};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first, a page at a time.
    List(ListArgs),
    /// One job: its state, progress, result or error, and its log.
    Show {
        /// The job's id.
        id: String,
    },
    /// Follow a job to its end, printing its log as it comes (and a
    /// progress bar on a terminal); exits 1 when it fails or is cancelled.
    Watch {
        /// The job's id.
        id: String,
    },
    /// Cancel a job: a queued one at once; a running one is asked to stop
    /// (its processes are stopped and it ends cancelled).
    Cancel {
        /// The job's id.
        id: String,
        /// Wait until the job has stopped.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// Jobs per page, 1–200.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Where to continue: the cursor a previous page ended with.
    #[arg(long)]
    cursor: Option<String>,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: JobsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let jobs = session.jobs();
    match cmd {
        JobsCommand::List(args) => {
            let page = jobs.list(Some(args.limit), args.cursor).await?;
            let rows = page
                .items
                .iter()
                .map(|job| {
                    vec![
                        job.id.clone(),
                        job.kind.clone(),
                        job.target.clone().unwrap_or_default(),
                        state_word(job.state).to_string(),
                        progress_text(job),
                        when(job.created_at),
                        job.actor.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.list(
                &page,
                &format!("no jobs on `{}`", session.profile().name),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("KIND", u8::MAX),
                    Column::free_text("TARGET", 3),
                    Column::text("STATE", u8::MAX),
                    Column::free_text("PROGRESS", 2),
                    Column::text("CREATED", 1),
                    Column::free_text("ACTOR", 1),
                ],
                rows,
            );
            if let (false, Some(cursor)) = (out.json, page.next_cursor) {
                out.note(&format!("more: --cursor {cursor}"));
            }
        }
        JobsCommand::Show { id } => {
            let job = jobs.get(&id).await?;
            if out.json {
                out.json(&job);
            } else {
                show(out, &job);
                for line in &job.log {
                    println!("{}  {}", when(line.at), line.line);
                }
            }
        }
        JobsCommand::Watch { id } => {
            follow(&session, &id, out, true).await?;
        }
        JobsCommand::Cancel { id, wait: true } => {
            jobs.cancel(&id).await?;
            // Waited for to its end: cancelled is what was asked for.
            match follow(&session, &id, out, false).await {
                Err(CliError::JobEnded {
                    state: "cancelled", ..
                }) => {}
                other => {
                    other?;
                }
            }
        }
        JobsCommand::Cancel { id, wait: false } => {
            let job = jobs.cancel(&id).await?;
            if out.json {
                out.json(&job);
            } else if job.state == JobState::Cancelled {
                out.note(&format!("job {} cancelled", job.id));
            } else {
                out.note(&format!(
                    "job {} asked to stop; follow it with `opsdeck jobs watch {}`",
                    job.id, job.id
                ));
            }
        }
    }
    Ok(())
}

/// Waits for the job to end: a progress bar on a terminal (nothing with
/// `--json`), then the job as it ended on stdout (JSON with `--json`). An
/// error (exit 1) when it failed or was cancelled, so a script's `--wait`
/// fails with the job. The one wait every `--wait` calls.
pub async fn wait(session: &Session, job: &str, out: &Output) -> Result<Job> {
    follow(session, job, out, false).await
}

async fn follow(session: &Session, id: &str, out: &Output, print_log: bool) -> Result<Job> {
    let (reporter, drawing) = crate::progress::bar(out.json);
    let show_lines = print_log && !out.json;
    let mut on_line = |line: &opsdeck_core::api::jobs::JobLogLine| {
        if show_lines {
            println!("{}", line.line);
        }
    };
    let ended = session.jobs().watch(id, &reporter, &mut on_line).await;
    // The bar is cleared before anything is printed.
    drop(reporter);
    let _ = drawing.await;
    let job = ended?;
    if out.json {
        out.json(&job);
    } else {
        show(out, &job);
    }
    match job.state {
        JobState::Succeeded => Ok(job),
        state if is_finished(state) => Err(CliError::JobEnded {
            id: job.id.clone(),
            state: state_word(state),
            reason: job.error.clone(),
        }),
        // `watch` returns only a job that ended.
        _ => Ok(job),
    }
}

fn progress_text(job: &Job) -> String {
    match (&job.progress.phase, job.progress.percent) {
        (Some(phase), Some(percent)) => format!("{phase} {percent:.0}%"),
        (Some(phase), None) => phase.clone(),
        (None, Some(percent)) => format!("{percent:.0}%"),
        (None, None) => String::new(),
    }
}

/// A job as `key value` lines.
pub fn show(out: &Output, job: &Job) {
    let mut fields = vec![
        ("id", job.id.clone()),
        ("kind", job.kind.clone()),
        ("state", state_word(job.state).to_string()),
    ];
    if let Some(target) = &job.target {
        fields.push(("target", target.clone()));
    }
    let progress = progress_text(job);
    if !progress.is_empty() && !is_finished(job.state) {
        fields.push(("progress", progress));
    }
    if let Some(actor) = &job.actor {
        fields.push(("actor", actor.clone()));
    }
    fields.push(("created", when(job.created_at)));
    if let Some(at) = job.started_at {
        fields.push(("started", when(at)));
    }
    if let Some(at) = job.finished_at {
        fields.push(("finished", when(at)));
    }
    if let Some(at) = job.cancel_requested_at {
        fields.push(("cancel asked", when(at)));
    }
    if let Some(error) = &job.error {
        fields.push(("error", error.clone()));
    }
    if let Some(result) = &job.result {
        fields.push(("result", result.to_string()));
    }
    out.fields(&fields);
}
