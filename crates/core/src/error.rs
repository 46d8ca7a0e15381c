//! The one error type of core. Each variant says what went wrong in the
//! user's terms and carries its context; [`ErrorReport`] is how it crosses to
//! the window and to `--json` output.

use std::path::PathBuf;

use opsdeck_api::{ErrorCode, ErrorEnvelope, FieldError};
use serde::Serialize;
use ts_rs::TS;

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

    #[error("no profile named `{name}` (see `opsdeck profile list`)")]
    ProfileNotFound { name: String },

    #[error("a profile named `{name}` already exists")]
    ProfileExists { name: String },

    #[error("no profile selected: add one with `opsdeck profile add` or pick one with `opsdeck profile use`")]
    NoCurrentProfile,

    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },

    #[error("no token for profile `{profile}`: run `opsdeck login {profile} --token-stdin`")]
    NoToken { profile: String },

    #[error("the OS keyring is not available ({message}); start a Secret Service (gnome-keyring, KWallet, KeePassXC) and unlock it, then enter the token again")]
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

    #[error("{url} sent a response Opsdeck cannot read: {message}")]
    MalformedResponse { url: String, message: String },

    #[error("local store {path}: {message}")]
    Store { path: PathBuf, message: String },

    #[error("{action} of `{target}` on production needs the slug typed to confirm (or --confirm {target})")]
    ConfirmationRequired {
        action: String,
        target: String,
        /// The preflight's summary, for the caller to show before asking.
        summary: String,
    },

    #[error("typed `{typed}` but the target is `{target}`: nothing was done")]
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

    #[error("{url} sent the page cursor `{cursor}` a second time; stopped listing, the pages would go round forever")]
    CursorRepeated { url: String, cursor: String },

    #[error("{url} kept sending pages ({pages} pages, {items} items so far), more than Opsdeck reads in one list; stopped")]
    ListTooLong {
        url: String,
        pages: usize,
        items: usize,
    },
}

/// "64 KiB" for people.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
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
    pub fn code(&self) -> String {
        let code = match self {
            Error::NoHomeDir => "no_home_dir",
            Error::ProfilesFile { .. } => "profiles_file_invalid",
            Error::Io { .. } => "io",
            Error::ProfileNotFound { .. } => "profile_not_found",
            Error::ProfileExists { .. } => "profile_exists",
            Error::NoCurrentProfile => "no_current_profile",
            Error::InvalidInput { .. } => "invalid_input",
            Error::NoToken { .. } => "no_token",
            Error::Keyring { .. } => "keyring_unavailable",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::Api { envelope, .. } => envelope.code.as_str(),
            Error::MalformedResponse { .. } => "malformed_response",
            Error::Store { .. } => "store",
            Error::ConfirmationRequired { .. } => "confirmation_required",
            Error::ConfirmationMismatch { .. } => "confirmation_mismatch",
            Error::HttpClient { .. } => "http_client",
            Error::Redirected { .. } => "redirected",
            Error::ResponseTooLarge { .. } => "response_too_large",
            Error::CursorRepeated { .. } => "cursor_repeated",
            Error::ListTooLong { .. } => "list_too_long",
        };
        code.to_string()
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
            Error::Api { envelope, .. } => Some(envelope.code),
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

/// An error as the window and `--json` output see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "IpcError")]
pub struct ErrorReport {
    pub code: String,
    pub message: String,
    /// Field errors, named by the field's path (`slug`, `quotas.max_users`).
    pub details: Vec<FieldError>,
}

impl From<&Error> for ErrorReport {
    fn from(error: &Error) -> Self {
        let (message, details) = match error {
            Error::Api { envelope, .. } => (envelope.message.clone(), envelope.details.clone()),
            Error::InvalidInput { field, message } => (
                format!("{field}: {message}"),
                vec![FieldError::new(field.clone(), message.clone())],
            ),
            other => (other.to_string(), Vec::new()),
        };
        Self {
            code: error.code(),
            message,
            details,
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
        assert_eq!(err.code(), "http_client");
        assert!(!err.to_string().contains("cannot reach"), "{err}");
    }
}
