//! `opsdeck playbook ...`: playbook runs on the server (`runs`).

pub mod runs;

use clap::Subcommand;
use opsdeck_core::Console;

use crate::error::Result;
use crate::output::Output;

#[derive(Subcommand)]
pub enum PlaybookCommand {
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
        PlaybookCommand::Run(args) => runs::start(console, out, profile, args).await,
        PlaybookCommand::Status(args) => runs::status(console, out, profile, args).await,
        PlaybookCommand::Runs => runs::list(console, out, profile).await,
        PlaybookCommand::Tick(args) => runs::tick(console, out, profile, args).await,
        PlaybookCommand::Approve { run } => runs::approve(console, out, profile, run).await,
        PlaybookCommand::Retry { run } => runs::retry(console, out, profile, run).await,
        PlaybookCommand::Resume(args) => runs::resume(console, out, profile, args).await,
    }
}
