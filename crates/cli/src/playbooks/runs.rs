//! `opsdeck playbook run|status|runs|tick|approve|retry|resume`: playbook
//! runs on the profile's server. The server runs the steps; these start a
//! run, show it, and do what people do to one.

use std::collections::BTreeMap;

use clap::Args;
use opsdeck_core::api::playbooks::{PlaybookRun, RunState, StepState};
use opsdeck_core::playbooks::runs::source_of;
use opsdeck_core::Console;

use crate::error::{CliError, Result};
use crate::output::{when, Column, Output};

#[derive(Args)]
pub struct RunArgs {
    /// A playbook file, or the id of one in the library (the user's
    /// folder, then the built-ins).
    #[arg(value_name = "FILE|ID")]
    pub playbook: String,
    /// An input, `name=value` (repeat for each).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// The incident the run belongs to.
    #[arg(long = "incident", value_name = "ID")]
    pub incident: Option<String>,
    /// Follow the run until it waits on someone or ends (exit 1 when it fails).
    #[arg(long)]
    pub wait: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    /// The run's id.
    pub run: String,
    /// Follow the run until it ends, through its waits.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Args)]
pub struct TickArgs {
    /// The run's id.
    pub run: String,
    /// The manual step; the one the run waits on when left out.
    #[arg(long)]
    pub step: Option<String>,
    /// A checklist item to tick, by its number from 0 (repeat for each).
    #[arg(long = "item", value_name = "N")]
    pub items: Vec<u32>,
    /// Mark the step done (every item ticked), so the run goes on.
    #[arg(long)]
    pub done: bool,
}

#[derive(Args)]
pub struct ResumeArgs {
    /// The run's id.
    pub run: String,
    /// The step to go on from; the one the run is at when left out.
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
}

fn inputs(given: &[String]) -> Result<BTreeMap<String, String>> {
    given
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.to_string()))
            }
            _ => Err(CliError::BadInput(pair.clone())),
        })
        .collect()
}

pub async fn start(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    args: RunArgs,
) -> Result<()> {
    let session = console.session(profile).await?;
    let source = source_of(console.paths(), &args.playbook).await?;
    let inputs = inputs(&args.inputs)?;
    // What the token may not do is said at its step before anything is sent.
    opsdeck_core::playbooks::check_before_run(&session, console.paths(), &args.playbook, &inputs)
        .await?;
    let run = session
        .playbook_runs()
        .start(source, inputs, args.incident)
        .await?;
    if args.wait {
        return follow(&session, &run.summary.id, out, false).await;
    }
    show(out, &run);
    Ok(())
}

pub async fn status(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    args: StatusArgs,
) -> Result<()> {
    let session = console.session(profile).await?;
    if args.watch {
        return follow(&session, &args.run, out, true).await;
    }
    let run = session.playbook_runs().get(&args.run).await?;
    show(out, &run);
    Ok(())
}

async fn follow(
    session: &opsdeck_core::Session,
    run: &str,
    out: &Output,
    until_ended: bool,
) -> Result<()> {
    let (reporter, drawing) = crate::progress::bar(out.json);
    let watched = session
        .playbook_runs()
        .watch(run, &reporter, until_ended)
        .await;
    drop(reporter);
    let _ = drawing.await;
    let run = watched?;
    show(out, &run);
    if run.summary.state == RunState::Failed {
        return Err(CliError::RunFailed {
            id: run.summary.id.clone(),
            reason: run.summary.error.clone(),
        });
    }
    Ok(())
}

pub async fn list(console: &Console, out: &Output, profile: Option<&str>) -> Result<()> {
    let session = console.session(profile).await?;
    let page = session.playbook_runs().list(None, None).await?;
    let rows = page
        .items
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.playbook.clone(),
                r.state.as_str().to_string(),
                r.current_step.clone().unwrap_or_default(),
                r.started_by.clone(),
                when(r.created_at),
            ]
        })
        .collect();
    out.list(
        &page,
        "no playbook runs",
        &[
            Column::text("ID", u8::MAX),
            Column::text("PLAYBOOK", 3),
            Column::text("STATE", u8::MAX),
            Column::text("STEP", 2),
            Column::free_text("STARTED BY", 1),
            Column::text("STARTED", 1),
        ],
        rows,
    );
    Ok(())
}

pub async fn tick(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    args: TickArgs,
) -> Result<()> {
    let session = console.session(profile).await?;
    let runs = session.playbook_runs();
    let step = match args.step {
        Some(step) => step,
        None => runs
            .get(&args.run)
            .await?
            .waiting
            .map(|w| w.step)
            .ok_or_else(|| {
                CliError::Core(opsdeck_core::Error::InvalidInput {
                    field: "step".into(),
                    message: format!("run {} waits on no step; name one with --step", args.run),
                })
            })?,
    };
    let run = runs.tick(&args.run, &step, args.items, args.done).await?;
    show(out, &run);
    Ok(())
}

pub async fn approve(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    run: String,
) -> Result<()> {
    let session = console.session(profile).await?;
    let runs = session.playbook_runs();
    if !out.json {
        // What the approval lets happen, before it is given.
        let now = runs.get(&run).await?;
        if let Some(waiting) = &now.waiting {
            out.note(&format!("approving step {}; then:", waiting.step));
            for line in &waiting.following {
                out.note(&format!("  {line}"));
            }
        }
    }
    let approved = runs.approve(&run).await?;
    show(out, &approved);
    Ok(())
}

pub async fn retry(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    run: String,
) -> Result<()> {
    let session = console.session(profile).await?;
    let run = session.playbook_runs().retry(&run).await?;
    show(out, &run);
    Ok(())
}

pub async fn resume(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    args: ResumeArgs,
) -> Result<()> {
    let session = console.session(profile).await?;
    let run = session.playbook_runs().resume(&args.run, args.from).await?;
    show(out, &run);
    Ok(())
}

fn step_word(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Waiting => "WAITING",
        StepState::Succeeded => "done",
        StepState::Failed => "FAILED",
        StepState::Skipped => "skipped",
    }
}

/// The run: JSON, or its fields, its steps as a table and what it waits on.
fn show(out: &Output, run: &PlaybookRun) {
    let recovery = opsdeck_core::playbooks::recovery::recovery(run);
    if out.json {
        // The run as the server has it, and what its failover and restore
        // achieved against the targets when it has them.
        match (serde_json::to_value(run), &recovery) {
            (Ok(serde_json::Value::Object(mut fields)), Some(recovery)) => {
                if let Ok(measured) = serde_json::to_value(recovery) {
                    fields.insert("recovery".into(), measured);
                }
                out.json(&fields);
            }
            _ => out.json(run),
        }
        return;
    }
    let s = &run.summary;
    out.fields(&[
        ("run", s.id.clone()),
        ("playbook", format!("{} ({})", s.title, s.playbook)),
        ("state", s.state.as_str().to_string()),
        ("started by", s.started_by.clone()),
        ("started", when(s.created_at)),
    ]);
    if let Some(error) = &s.error {
        out.fields(&[("error", error.clone())]);
    }
    let rows = run
        .steps
        .iter()
        .map(|step| {
            let detail = match (&step.error, &step.live, &step.job) {
                (Some(error), _, _) => error.clone(),
                (None, Some(live), _) => format!("value {}", live.value),
                (None, None, Some(job)) => format!("job {job}"),
                _ => step.summary.clone(),
            };
            vec![
                step.id.clone(),
                step.kind.clone(),
                step_word(step.state).to_string(),
                step.attempt.to_string(),
                detail,
            ]
        })
        .collect();
    out.table(
        &[
            Column::text("STEP", u8::MAX),
            Column::text("KIND", 3),
            Column::text("STATE", u8::MAX),
            Column::number("TRY", 1),
            Column::free_text("DETAIL", 2),
        ],
        rows,
    );
    if let Some(recovery) = &recovery {
        use opsdeck_core::playbooks::recovery::describe;
        let mut fields = Vec::new();
        if let Some(rto) = &recovery.rto {
            fields.push(("RTO", describe(rto)));
        }
        if let Some(rpo) = &recovery.rpo {
            fields.push(("RPO", describe(rpo)));
        }
        out.fields(&fields);
    }
    if let Some(waiting) = &run.waiting {
        let step = run.steps.iter().find(|st| st.id == waiting.step);
        match &waiting.role {
            Some(role) => match (&waiting.may_approve, &waiting.why_not) {
                (Some(false), why) => out.note(&format!(
                    "waiting at {} for someone holding the role {role} to approve; not you: {}",
                    waiting.step,
                    why.as_deref().unwrap_or("the server would refuse you")
                )),
                _ => out.note(&format!(
                    "waiting at {} for someone holding the role {role} to approve (opsdeck playbook approve {})",
                    waiting.step, s.id
                )),
            },
            None => {
                out.note(&format!("waiting at {} to be done by hand:", waiting.step));
                for (i, item) in step.map(|st| st.checklist.as_slice()).unwrap_or(&[]).iter().enumerate() {
                    out.note(&format!("  [{}] {i}. {}", if item.ticked { "x" } else { " " }, item.text));
                }
                out.note(&format!(
                    "tick with: opsdeck playbook tick {} --item N ... --done",
                    s.id
                ));
            }
        }
    }
}
