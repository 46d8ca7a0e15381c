//! Errors of the CLI: core's, plus the few only a terminal program has (a
//! refused stale list, no terminal to type a secret at). How they are worded
//! for people and for scripts is `output`'s business.

/// The exit codes `opsdeck` documents in its `--help`.
pub mod exit {
    /// Something failed; nothing (or only part) was done.
    pub const FAILURE: u8 = 1;
    /// The command line itself was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The server was unreachable and the cached list was shown instead.
    pub const STALE: u8 = 3;
}

/// The text of `--help` that lists the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  done
  1  failed (the error is on stderr; with --json, as a JSON object); with
     --wait, also a job that failed or was cancelled
  2  the command line is wrong
  3  served stale: the server was unreachable, the cached list was shown
     (`tenants list --fresh` fails with 1 instead)";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] opsdeck_core::Error),

    /// `--fresh` was given and only the cached list was to be had.
    #[error("{reason}; --fresh refuses the list cached {age}")]
    StaleRefused { reason: String, age: String },

    /// `login` without `--token-stdin`, and no terminal to ask at.
    #[error("no token given for profile `{profile}`: there is no terminal to type it at")]
    NoTerminal { profile: String },

    /// Typing the token at the prompt was given up (Ctrl-C, Ctrl-D or an empty line).
    #[error("no token typed for profile `{profile}`; nothing was stored")]
    NothingTyped { profile: String },

    /// A job waited for ended other than succeeded.
    #[error("job {id} {state}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    JobEnded {
        id: String,
        /// `failed` or `cancelled`.
        state: &'static str,
        reason: Option<String>,
    },

    /// A playbook run waited for ended failed.
    #[error("playbook run {id} failed{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    RunFailed { id: String, reason: Option<String> },

    /// `--input` not written `name=value`.
    #[error("--input `{0}` is not name=value")]
    BadInput(String),

    /// `playbook lint` found problems (each printed at its place).
    #[error("{problems} problem(s) in {files} playbook file(s)")]
    PlaybooksInvalid { files: usize, problems: usize },

    /// A dry-run's actions that the user may not run (each printed at its step).
    #[error("{steps} step(s) need a permission that is not held; a run would be refused")]
    PlaybookNotAllowed { steps: usize },

    /// `profile set` with nothing to set.
    #[error(
        "nothing to set: give --prometheus-url, --alertmanager-url, --read-only or --writable"
    )]
    NothingToSet,
}

impl CliError {
    /// The stable code scripts see in `--json` errors.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Core(e) => e.code().as_str(),
            CliError::StaleRefused { .. } => "stale_refused",
            CliError::NoTerminal { .. } => "no_terminal",
            CliError::NothingTyped { .. } => "nothing_typed",
            CliError::NothingToSet | CliError::BadInput(_) => "invalid_input",
            CliError::RunFailed { .. } => "run_failed",
            CliError::PlaybooksInvalid { .. } => "playbook_invalid",
            CliError::PlaybookNotAllowed { .. } => "permission_denied",
            CliError::JobEnded { state, .. } => {
                if *state == "cancelled" {
                    "job_cancelled"
                } else {
                    "job_failed"
                }
            }
        }
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
