//! The one error type of core. Each variant says what went wrong in the
//! user's terms and carries its context; [`ErrorReport`] is how it crosses to
//! the window and to `--json` output.

use std::path::PathBuf;

use opsdeck_api::{ErrorCode, ErrorEnvelope, FieldError};
use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot find a home directory for the config; set OPSDECK_CONFIG_DIR")]
    NoHomeDir,

    #[error("{path}: {message}")]
    ProfilesFile { path: PathBuf, message: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no profile named {name}")]
    ProfileNotFound { name: String },

    #[error("a profile named {name} already exists")]
    ProfileExists { name: String },

    #[error("no profile selected")]
    NoCurrentProfile,

    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },

    /// A draft that breaks the contract's rules, with every field error
    /// found; nothing was sent.
    #[error("{}", fields_message(details))]
    InvalidFields { details: Vec<FieldError> },

    #[error("no token for profile {profile} in the keyring")]
    NoToken { profile: String },

    #[error("the OS keyring is not available ({message})")]
    Keyring { message: String },

    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },

    #[error("{url} did not answer in time")]
    Timeout { url: String },

    #[error("{}", api_message(*status, envelope))]
    Api {
        status: u16,
        envelope: ErrorEnvelope,
    },

    #[error("the server refused the token of profile {profile}: {}", envelope.message)]
    TokenRejected {
        profile: String,
        envelope: ErrorEnvelope,
    },

    #[error("{url} sent a response Opsdeck cannot read: {message}")]
    MalformedResponse { url: String, message: String },

    #[error("local store {path}: {message}")]
    Store { path: PathBuf, message: String },

    #[error("{action} of {target} on production needs the {noun} typed to confirm")]
    ConfirmationRequired {
        action: String,
        target: String,
        /// What the target is to the user: `slug`, `alert name`, `silence id`.
        noun: String,
        /// The preflight's summary, for the caller to show before asking.
        summary: String,
    },

    #[error("typed \"{typed}\" but the target is {target}: nothing was done")]
    ConfirmationMismatch { typed: String, target: String },

    #[error("cannot set up the HTTP client: {message}")]
    HttpClient { message: String },

    #[error("{url} answered {status} redirecting to {}; Opsdeck does not follow redirects (the token would go along): point the profile at the final address", location.as_deref().unwrap_or("nowhere"))]
    Redirected {
        url: String,
        status: u16,
        /// Where the server pointed (its `Location`), cleaned for display.
        location: Option<String>,
    },

    #[error("{url} sent a response larger than {} (HTTP {status}); Opsdeck stopped reading it", bytes(*limit))]
    ResponseTooLarge {
        url: String,
        status: u16,
        limit: u64,
    },

    #[error("{url} sent the page cursor \"{cursor}\" a second time; stopped listing, the pages would go round forever")]
    CursorRepeated { url: String, cursor: String },

    #[error("{url} kept sending pages ({pages} pages, {items} items so far), more than Opsdeck reads in one list; stopped")]
    ListTooLong {
        url: String,
        pages: usize,
        items: usize,
    },

    #[error("profile {profile} names no Alertmanager")]
    NoAlertmanager { profile: String },

    #[error("no Alertmanager of profile {profile} answered: {}", failures.join("; "))]
    AlertmanagersUnreachable {
        profile: String,
        /// Each one's failure, naming its address.
        failures: Vec<String>,
    },

    #[error("Alertmanager refused ({status}) at {url}: {message}")]
    AlertmanagerRefused {
        url: String,
        status: u16,
        message: String,
    },

    /// The desktop's notification server did not take a notification.
    #[error("cannot show a desktop notification: {message}")]
    Notification { message: String },

    #[error("no silence {id} on the Alertmanagers of profile {profile}")]
    SilenceNotFound { id: String, profile: String },

    #[error("profile {profile} names no Prometheus")]
    NoPrometheus { profile: String },

    /// The profile is marked read-only: core sends it no change, whatever
    /// its token would allow.
    #[error("profile {profile} is read-only: nothing was changed")]
    ReadOnlyProfile { profile: String },

    /// Prometheus could not parse the PromQL; where, as it said.
    #[error("the query is not valid PromQL (line {line}, column {column}): {message}")]
    QuerySyntax {
        line: u32,
        column: u32,
        message: String,
    },

    #[error("Prometheus refused the query ({}) at {url}: {message}", error_type.as_deref().map_or_else(|| status.to_string(), |t| format!("{t}, {status}")))]
    PrometheusRefused {
        url: String,
        status: u16,
        /// Prometheus's `errorType`: `bad_data`, `execution`, `timeout`, ...
        error_type: Option<String>,
        message: String,
    },

    #[error("{url} answered more than {limit} series; Opsdeck stopped reading: narrow the query with label matchers, or aggregate it (sum by, topk)")]
    TooManySeries { url: String, limit: usize },

    /// A chart could not be turned into a picture.
    #[error("cannot draw the picture: {message}")]
    Render { message: String },

    /// A playbook that does not lint or plan: every problem, each at its
    /// file, line and column.
    #[error("{diagnostics}")]
    Playbook {
        diagnostics: opsdeck_playbook::Diagnostics,
    },

    /// No playbook of the library has this id.
    #[error("no playbook `{id}` in the library (built-in or in {dir}), and no such file")]
    PlaybookNotFound { id: String, dir: PathBuf },
}

/// "64 KiB" for people.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

fn fields_message(details: &[FieldError]) -> String {
    let said: Vec<String> = details
        .iter()
        .map(|d| match d.field.as_str() {
            "" => d.message.clone(),
            field => format!("{field} {}", d.message),
        })
        .collect();
    format!("invalid: {}", said.join("; "))
}

fn api_message(status: u16, envelope: &ErrorEnvelope) -> String {
    let mut message = format!("server refused ({status}): {}", envelope.message);
    for d in &envelope.details {
        if d.field.is_empty() {
            message.push_str(&format!("\n  {}", d.message));
        } else {
            message.push_str(&format!("\n  {}: {}", d.field, d.message));
        }
    }
    message
}

impl Error {
    /// Stable code for programs: the server's code for API errors, else a
    /// code of core's own.
    pub fn code(&self) -> Code {
        let own = match self {
            Error::NoHomeDir => ConsoleCode::NoHomeDir,
            Error::ProfilesFile { .. } => ConsoleCode::ProfilesFileInvalid,
            Error::Io { .. } => ConsoleCode::Io,
            Error::ProfileNotFound { .. } => ConsoleCode::ProfileNotFound,
            Error::ProfileExists { .. } => ConsoleCode::ProfileExists,
            Error::NoCurrentProfile => ConsoleCode::NoCurrentProfile,
            Error::InvalidInput { .. } | Error::InvalidFields { .. } => ConsoleCode::InvalidInput,
            Error::NoToken { .. } => ConsoleCode::NoToken,
            Error::Keyring { .. } => ConsoleCode::KeyringUnavailable,
            Error::Unreachable { .. } => ConsoleCode::Unreachable,
            Error::Timeout { .. } => ConsoleCode::Timeout,
            Error::Api { envelope, .. } | Error::TokenRejected { envelope, .. } => {
                return Code::Server(envelope.code)
            }
            Error::MalformedResponse { .. } => ConsoleCode::MalformedResponse,
            Error::Store { .. } => ConsoleCode::Store,
            Error::ConfirmationRequired { .. } => ConsoleCode::ConfirmationRequired,
            Error::ConfirmationMismatch { .. } => ConsoleCode::ConfirmationMismatch,
            Error::HttpClient { .. } => ConsoleCode::HttpClient,
            Error::Redirected { .. } => ConsoleCode::Redirected,
            Error::ResponseTooLarge { .. } => ConsoleCode::ResponseTooLarge,
            Error::CursorRepeated { .. } => ConsoleCode::CursorRepeated,
            Error::ListTooLong { .. } => ConsoleCode::ListTooLong,
            Error::NoAlertmanager { .. } => ConsoleCode::NoAlertmanager,
            Error::AlertmanagersUnreachable { .. } => ConsoleCode::Unreachable,
            // The notification server is a service on the session bus that
            // did not answer.
            Error::Notification { .. } => ConsoleCode::Unreachable,
            Error::AlertmanagerRefused { .. } => ConsoleCode::AlertmanagerRefused,
            Error::SilenceNotFound { .. } => ConsoleCode::SilenceNotFound,
            Error::NoPrometheus { .. } => ConsoleCode::NoPrometheus,
            Error::ReadOnlyProfile { .. } => ConsoleCode::ReadOnlyProfile,
            Error::QuerySyntax { .. } => ConsoleCode::QueryInvalid,
            Error::PrometheusRefused { .. } => ConsoleCode::PrometheusRefused,
            Error::TooManySeries { .. } => ConsoleCode::TooManySeries,
            Error::Render { .. } => ConsoleCode::RenderFailed,
            // A playbook is input the user wrote or named.
            Error::Playbook { .. } | Error::PlaybookNotFound { .. } => ConsoleCode::InvalidInput,
        };
        Code::Console(own)
    }

    /// What the user can do about it, when there is something to do. The
    /// CLI words it as a command line, the window as a button.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Error::NoToken { profile } | Error::TokenRejected { profile, .. } => {
                Some(Remedy::SignIn {
                    profile: profile.clone(),
                })
            }
            Error::ProfileNotFound { .. } | Error::NoCurrentProfile => Some(Remedy::ChooseProfile),
            Error::Keyring { .. } => Some(Remedy::UnlockKeyring),
            Error::ConfirmationRequired { target, .. } => Some(Remedy::Confirm {
                target: target.clone(),
            }),
            Error::Unreachable { .. }
            | Error::Timeout { .. }
            | Error::AlertmanagersUnreachable { .. } => Some(Remedy::Retry),
            Error::AlertmanagerRefused { status, .. }
                if matches!(*status, 429 | 502 | 503 | 504) =>
            {
                Some(Remedy::Retry)
            }
            Error::PrometheusRefused {
                status, error_type, ..
            } if matches!(*status, 429 | 502 | 503 | 504)
                || error_type.as_deref() == Some("timeout") =>
            {
                Some(Remedy::Retry)
            }
            Error::Api { status, .. } if matches!(*status, 429 | 502 | 503 | 504) => {
                Some(Remedy::Retry)
            }
            Error::Api { envelope, .. } if envelope.code == ErrorCode::ApprovalRequired => {
                use opsdeck_api::approvals as a;
                let detail = |field: &str| {
                    envelope
                        .details
                        .iter()
                        .find(|d| d.field == field)
                        .map(|d| crate::sanitize::remote(&d.message))
                };
                Some(Remedy::RequestApproval {
                    action: detail(a::DETAIL_ACTION)?,
                    target: detail(a::DETAIL_TARGET)?,
                    role: detail(a::DETAIL_ROLE)?,
                    expires_after_seconds: detail(a::DETAIL_EXPIRES_AFTER)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_default(),
                })
            }
            _ => None,
        }
    }

    /// The server could not be reached at all (as opposed to refusing, or
    /// answering something Opsdeck will not take). Only these are served
    /// from the cache; a client that could not even be built is not offline.
    pub fn is_offline(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::Timeout { .. })
    }

    /// The server's code, when the server answered with an envelope.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { envelope, .. } | Error::TokenRejected { envelope, .. } => {
                Some(envelope.code)
            }
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Codes of the errors core raises itself; the server's are
/// [`opsdeck_api::ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleCode {
    NoHomeDir,
    ProfilesFileInvalid,
    Io,
    ProfileNotFound,
    ProfileExists,
    NoCurrentProfile,
    InvalidInput,
    NoToken,
    KeyringUnavailable,
    Unreachable,
    Timeout,
    MalformedResponse,
    Store,
    ConfirmationRequired,
    ConfirmationMismatch,
    HttpClient,
    Redirected,
    ResponseTooLarge,
    CursorRepeated,
    ListTooLong,
    /// The profile names no Alertmanager.
    NoAlertmanager,
    /// An Alertmanager refused the request.
    AlertmanagerRefused,
    SilenceNotFound,
    /// The profile names no Prometheus.
    NoPrometheus,
    /// The profile is read-only and the call would change something.
    ReadOnlyProfile,
    /// The PromQL does not parse.
    QueryInvalid,
    /// Prometheus refused or failed the query.
    PrometheusRefused,
    /// A query matched more series than Opsdeck reads.
    TooManySeries,
    /// A chart could not be drawn as a picture (no font, bad SVG).
    RenderFailed,
    /// Raised by the window itself: its bridge to the backend is gone.
    IpcUnavailable,
}

/// Every code an error can carry: core's own or the server's. One enum for
/// Rust and (generated) TypeScript, so no side matches on a free string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(untagged)]
pub enum Code {
    Console(ConsoleCode),
    Server(ErrorCode),
}

impl Code {
    /// The code as it is serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Server(code) => code.as_str(),
            Code::Console(code) => match code {
                ConsoleCode::NoHomeDir => "no_home_dir",
                ConsoleCode::ProfilesFileInvalid => "profiles_file_invalid",
                ConsoleCode::Io => "io",
                ConsoleCode::ProfileNotFound => "profile_not_found",
                ConsoleCode::ProfileExists => "profile_exists",
                ConsoleCode::NoCurrentProfile => "no_current_profile",
                ConsoleCode::InvalidInput => "invalid_input",
                ConsoleCode::NoToken => "no_token",
                ConsoleCode::KeyringUnavailable => "keyring_unavailable",
                ConsoleCode::Unreachable => "unreachable",
                ConsoleCode::Timeout => "timeout",
                ConsoleCode::MalformedResponse => "malformed_response",
                ConsoleCode::Store => "store",
                ConsoleCode::ConfirmationRequired => "confirmation_required",
                ConsoleCode::ConfirmationMismatch => "confirmation_mismatch",
                ConsoleCode::HttpClient => "http_client",
                ConsoleCode::Redirected => "redirected",
                ConsoleCode::ResponseTooLarge => "response_too_large",
                ConsoleCode::CursorRepeated => "cursor_repeated",
                ConsoleCode::ListTooLong => "list_too_long",
                ConsoleCode::NoAlertmanager => "no_alertmanager",
                ConsoleCode::AlertmanagerRefused => "alertmanager_refused",
                ConsoleCode::SilenceNotFound => "silence_not_found",
                ConsoleCode::NoPrometheus => "no_prometheus",
                ConsoleCode::ReadOnlyProfile => "read_only_profile",
                ConsoleCode::QueryInvalid => "query_invalid",
                ConsoleCode::PrometheusRefused => "prometheus_refused",
                ConsoleCode::TooManySeries => "too_many_series",
                ConsoleCode::RenderFailed => "render_failed",
                ConsoleCode::IpcUnavailable => "ipc_unavailable",
            },
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the user can do about an error. Core names the remedy; each face
/// words it (the CLI as a command line, the window as a button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remedy {
    /// Store a (new) API token for the profile.
    SignIn { profile: String },
    /// Pick an existing profile or add one.
    ChooseProfile,
    /// Start or unlock the OS keyring (a Secret Service), then try again.
    UnlockKeyring,
    /// Type the target's name to confirm, then try again.
    Confirm { target: String },
    /// Nothing to change: try again when the server answers.
    Retry,
    /// The server's two-person rule: ask a second person holding `role`
    /// to approve `action` on `target` (`Session::approvals`), then do it
    /// again with the approval, within `expires_after_seconds` of asking.
    RequestApproval {
        action: String,
        target: String,
        role: String,
        #[specta(type = f64)]
        expires_after_seconds: u64,
    },
}

/// An error as the window and `--json` output see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename = "IpcError")]
pub struct ErrorReport {
    pub code: Code,
    pub message: String,
    /// Field errors, named by the field's path (`slug`, `quotas.max_users`).
    pub details: Vec<FieldError>,
    /// What the user can do about it, if anything.
    pub remedy: Option<Box<Remedy>>,
}

impl From<&Error> for ErrorReport {
    fn from(error: &Error) -> Self {
        let (message, details) = match error {
            Error::Api { envelope, .. } => (envelope.message.clone(), envelope.details.clone()),
            Error::InvalidInput { field, message } => (
                format!("{field}: {message}"),
                vec![FieldError::new(field.clone(), message.clone())],
            ),
            Error::InvalidFields { details } => (error.to_string(), details.clone()),
            // Each problem at its place, so the window can point at it.
            Error::Playbook { diagnostics } => (
                format!("the playbook has {} problem(s)", diagnostics.len()),
                diagnostics
                    .iter()
                    .map(|d| {
                        FieldError::new(
                            format!("{}:{}:{}", d.file, d.line, d.column),
                            d.message.clone(),
                        )
                    })
                    .collect(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        Self {
            code: error.code(),
            message,
            details,
            remedy: error.remedy().map(Box::new),
        }
    }
}

impl From<Error> for ErrorReport {
    fn from(error: Error) -> Self {
        (&error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_cannot_be_built_is_its_own_error_and_not_offline() {
        let err = Error::HttpClient {
            message: "no TLS backend".into(),
        };
        assert!(!err.is_offline());
        assert_eq!(err.code().as_str(), "http_client");
        assert!(!err.to_string().contains("cannot reach"), "{err}");
    }
}
