//! `opsdeck playbook lint|list|dry-run`: playbooks before any run. Lint
//! reports every problem of every file as `FILE:LINE:COLUMN: message`; list
//! shows the library (built-in and the user's folder); dry-run shows each
//! step with its arguments resolved and what it would do, and does nothing.
//! `run|status|runs|tick|approve|retry|resume` are runs on the server (`runs`).

pub mod runs;

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Subcommand;
use opsdeck_core::playbooks::{
    self, format::Diagnostic, format::Diagnostics, format::StepKind, DryRun, Linted,
    PermissionCheck, Permissions,
};
use opsdeck_core::rbac::SubjectRef;
use opsdeck_core::{Console, Error};

use crate::error::{CliError, Result};
use crate::output::{Column, Output};

#[derive(Subcommand)]
pub enum PlaybookCommand {
    /// Check playbook files: every problem of each, as FILE:LINE:COLUMN:
    /// message; fails when any file has one.
    Lint {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// The playbooks known: built-in, and the YAML files of the config
    /// directory's `playbooks/` (a file with a built-in's id replaces it).
    List,
    /// Show what a run would do: every step with its arguments resolved
    /// and in words, and whether the actions are allowed. Does nothing.
    DryRun {
        /// A playbook file, or the id of one in the library.
        #[arg(value_name = "FILE|ID")]
        playbook: String,
        /// An input's value; repeat for each input.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// Check the actions against what this subject holds
        /// (user:<email>, group:<name>, service:<name>); needs rbac.read.
        #[arg(long = "as", value_name = "SUBJECT")]
        subject: Option<String>,
    },
    /// Start a run of a playbook file or a built-in playbook on the server.
    Run(runs::RunArgs),
    /// A run: its steps, what it waits on, its error.
    Status(runs::StatusArgs),
    /// The runs on the server, newest first.
    Runs,
    /// Tick checklist items of the manual step a run waits on; --done marks it done.
    Tick(runs::TickArgs),
    /// Approve the approval step a run waits on (not as who started it).
    Approve {
        /// The run's id.
        run: String,
    },
    /// Run the failed step of a failed run again.
    Retry {
        /// The run's id.
        run: String,
    },
    /// Go on with a failed or waiting run from a step.
    Resume(runs::ResumeArgs),
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: PlaybookCommand,
) -> Result<()> {
    match cmd {
        PlaybookCommand::Lint { files } => lint(out, files).await,
        PlaybookCommand::List => list(console, out).await,
        PlaybookCommand::DryRun {
            playbook,
            inputs,
            subject,
        } => {
            dry_run(
                console,
                out,
                profile,
                &playbook,
                &inputs,
                subject.as_deref(),
            )
            .await
        }
        PlaybookCommand::Run(args) => runs::start(console, out, profile, args).await,
        PlaybookCommand::Status(args) => runs::status(console, out, profile, args).await,
        PlaybookCommand::Runs => runs::list(console, out, profile).await,
        PlaybookCommand::Tick(args) => runs::tick(console, out, profile, args).await,
        PlaybookCommand::Approve { run } => runs::approve(console, out, profile, run).await,
        PlaybookCommand::Retry { run } => runs::retry(console, out, profile, run).await,
        PlaybookCommand::Resume(args) => runs::resume(console, out, profile, args).await,
    }
}

async fn lint(out: &Output, files: Vec<PathBuf>) -> Result<()> {
    let mut reports: Vec<Linted> = Vec::with_capacity(files.len());
    for path in files {
        let report = match playbooks::lint(&path).await {
            Ok(report) => report,
            // One unreadable file does not stop the others from being linted.
            Err(e) => {
                let file = path.display().to_string();
                let mut diagnostics = Diagnostics::new();
                diagnostics.push(
                    &file,
                    Default::default(),
                    format!("cannot read it: {}", io_reason(&e)),
                );
                Linted {
                    file,
                    id: None,
                    diagnostics,
                }
            }
        };
        reports.push(report);
    }
    let bad: Vec<&Linted> = reports.iter().filter(|r| !r.is_clean()).collect();
    let problems: usize = bad.iter().map(|r| r.diagnostics.len()).sum();
    if out.json {
        out.json(&serde_json::json!({
            "files": reports.iter().map(|r| serde_json::json!({
                "file": r.file,
                "id": r.id,
                "ok": r.is_clean(),
                "diagnostics": r.diagnostics,
            })).collect::<Vec<_>>(),
        }));
    } else {
        for r in &reports {
            if r.is_clean() {
                out.note(&format!(
                    "{}: ok ({})",
                    r.file,
                    r.id.as_deref().unwrap_or("")
                ));
            }
            for d in r.diagnostics.iter() {
                println!("{}", diagnostic_line(d));
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(CliError::PlaybooksInvalid {
            files: bad.len(),
            problems,
        })
    }
}

fn io_reason(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// A diagnostic as compilers print them, cleaned for the terminal.
fn diagnostic_line(d: &Diagnostic) -> String {
    opsdeck_core::sanitize::remote(&d.to_string())
}

async fn list(console: &Console, out: &Output) -> Result<()> {
    let library = playbooks::library::load(console.paths()).await?;
    for note in &library.notes {
        for (i, line) in note.to_string().lines().enumerate() {
            out.note(&if i == 0 {
                format!("warning: {line}")
            } else {
                format!("  {line}")
            });
        }
    }
    let rows = library
        .entries
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.title.clone(),
                e.severity.to_string(),
                e.origin.as_str().to_owned(),
                e.suggested_by.join(", "),
            ]
        })
        .collect();
    out.list(
        &serde_json::json!({
            "playbooks": library.entries.iter().map(|e| serde_json::json!({
                "id": e.id,
                "title": e.title,
                "severity": e.severity,
                "source": e.origin.as_str(),
                "file": e.file,
                "suggested_by": e.suggested_by,
            })).collect::<Vec<_>>(),
            "notes": library.notes,
        }),
        "no playbooks",
        &[
            Column::free_text("ID", u8::MAX),
            Column::free_text("TITLE", 3),
            Column::free_text("SEVERITY", 4),
            Column::free_text("SOURCE", 2),
            Column::free_text("SUGGESTED BY", 1),
        ],
        rows,
    );
    Ok(())
}

fn parse_inputs(inputs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in inputs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(Error::InvalidInput {
                field: "input".into(),
                message: format!("`{pair}` is not NAME=VALUE"),
            }
            .into());
        };
        if out
            .insert(name.trim().to_owned(), value.to_owned())
            .is_some()
        {
            return Err(Error::InvalidInput {
                field: "input".into(),
                message: format!("`{}` is given twice", name.trim()),
            }
            .into());
        }
    }
    Ok(out)
}

async fn dry_run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    playbook: &str,
    inputs: &[String],
    subject: Option<&str>,
) -> Result<()> {
    let inputs = parse_inputs(inputs)?;
    let subject = subject.map(|s| SubjectRef::parse("as", s)).transpose()?;
    let permissions = match (console.session(profile).await, &subject) {
        (Ok(session), subject) => playbooks::permissions_of(&session, subject.as_ref()).await?,
        // Naming a subject needs the server; without one, a dry-run works
        // without a profile and says what it could not check.
        (Err(e), Some(_)) => return Err(e.into()),
        (Err(e), None) => Permissions::Unknown {
            reason: format!("no profile to ask ({e})"),
        },
    };
    let dry = playbooks::dry_run(console.paths(), playbook, &inputs, &permissions).await?;
    if out.json {
        out.json(&dry);
    } else {
        print_dry_run(&dry);
    }
    match &dry.permissions {
        PermissionCheck::Yes { refused, .. } if !refused.is_empty() => {
            Err(CliError::PlaybookNotAllowed {
                steps: refused.len(),
            })
        }
        _ => Ok(()),
    }
}

fn print_dry_run(dry: &DryRun) {
    let plan = &dry.plan;
    let origin = match dry.origin {
        Some(o) => format!("{}, {}", o.as_str(), dry.file),
        None => dry.file.clone(),
    };
    let clean = |s: &str| opsdeck_core::sanitize::remote(s);
    println!(
        "{} ({origin}): {}, {}",
        clean(&plan.playbook),
        clean(&plan.title),
        plan.severity
    );
    if !plan.inputs.is_empty() {
        let inputs: Vec<String> = plan
            .inputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("inputs: {}", clean(&inputs.join(", ")));
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let kind = match &step.kind {
            StepKind::Action { name, .. } => format!("action {name}"),
            other => other.name().to_owned(),
        };
        let title = step
            .title
            .as_deref()
            .map(|t| format!(": {t}"))
            .unwrap_or_default();
        println!("{:>3}. {} [{kind}]{}", i + 1, step.id, clean(&title));
        if let StepKind::Action { args, .. } = &step.kind {
            for (name, value) in args {
                println!("       {name} = {}", clean(&value.to_string()));
            }
        }
        if let StepKind::Manual { checklist, .. } = &step.kind {
            for item in checklist {
                println!("       [ ] {}", clean(item));
            }
        }
        println!("       {}", clean(&step.summary));
    }
    match &dry.permissions {
        PermissionCheck::No { reason } => {
            println!("permissions: not checked: {}", clean(reason));
        }
        PermissionCheck::Yes { whose, refused } if refused.is_empty() => {
            println!("permissions: {} may run every action", clean(whose));
        }
        PermissionCheck::Yes { refused, .. } => {
            for d in refused.iter() {
                println!("{}", diagnostic_line(d));
            }
        }
    }
    println!("dry run: nothing was done");
}
