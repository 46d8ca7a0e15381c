//! The crate's one error type, and how every error response (ours or the
//! framework's) becomes an `ErrorEnvelope` carrying the request id.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use opsdeck_api::tenants::TenantStatus;
use opsdeck_api::{ErrorCode, ErrorEnvelope, FieldError, MAX_BODY_BYTES};

use crate::jobs::JobState;
use crate::roles::{Permission, Scope};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request needs `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A known token that may no longer be used; the reason is the message.
    #[error("{0}; a valid bearer token is required")]
    TokenRefused(&'static str),
    #[error("the token's bindings do not grant `{permission}` on {scope}")]
    Forbidden {
        permission: Permission,
        scope: Scope,
    },
    #[error("this route does not accept this method")]
    MethodNotAllowed { allow: Vec<Method> },
    #[error("{method} {route} is served but declares no permission")]
    Undeclared { method: String, route: String },
    #[error("no tenant `{0}`")]
    TenantNotFound(String),
    #[error("the slug `{0}` is taken by another tenant")]
    SlugTaken(String),
    #[error("tenant `{slug}` is already {status}")]
    InvalidState { slug: String, status: TenantStatus },
    #[error("this Idempotency-Key was used before with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    IdempotencyKeyInFlight,
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("no route for `{0}`")]
    RouteNotFound(String),
    #[error("the database is unreachable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A failure asked for by the request, on a server configured to take
    /// such requests (`fault_injection`): for drills and the sandbox.
    #[error("failure injected on request ({0}); the server is configured for drills")]
    FaultInjected(StatusCode),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL `{0}`: expected sqlite://… or postgres://…")]
    UnsupportedDatabase(String),
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot make the database file {} private: {source}", path.display())]
    DatabaseFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The idempotency key of a running request was taken over by a retry
    /// (this request stalled past its lease); its effect is rolled back.
    #[error(
        "another attempt of this request took over its Idempotency-Key; retry to get its response"
    )]
    ClaimLost,
    /// A worker reported on a job it no longer owns: its lease ran out and
    /// another worker took the job over, so what it did is to be rolled back.
    #[error(
        "job `{job}` was taken over by another worker; attempt {attempt} by `{owner}` may no longer report on it"
    )]
    JobTakenOver {
        job: String,
        owner: String,
        attempt: u32,
    },
    #[error("no job `{0}`")]
    JobNotFound(String),
    #[error("job `{id}` already ended ({state}); only a queued or running job can be cancelled")]
    JobNotCancellable { id: String, state: JobState },
    /// A worker tried to record success for a job someone asked to stop.
    #[error("job `{0}` was asked to stop; it is not reported succeeded")]
    JobCancelRequested(String),
    #[error("`{target}` already has a job queued or running (`{job}`); wait for it to finish")]
    TargetBusy { target: String, job: String },
    #[error("configuration file {}: {message}", path.display())]
    Config {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("no backup target `{0}`")]
    BackupTargetNotFound(String),
    #[error("no cluster `{0}`")]
    ClusterNotFound(String),
    /// A switchover or failover whose preflight failed, not forced.
    #[error("the {action} of cluster `{cluster}` was refused by its preflight: {failed}; force it with a reason to go on")]
    PreflightRefused {
        cluster: String,
        action: &'static str,
        failed: String,
    },
    #[error("cannot listen for new jobs on {url}: {source}")]
    JobListen {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database holds a value this server cannot read: {0}")]
    Corrupt(String),
    #[error("no {kind} `{name}`")]
    RbacNotFound { kind: &'static str, name: String },
    #[error("a {kind} named `{name}` already exists")]
    NameTaken { kind: &'static str, name: String },
    #[error("cannot grant `{permission}` on {scope}: the caller does not hold it there")]
    Escalation {
        permission: Permission,
        scope: Scope,
    },
    #[error("the resource changed since it was read: If-Match does not name its current ETag; read it again")]
    PreconditionFailed,
    #[error("the last platform-wide platform-admin binding cannot be removed")]
    LastPlatformAdmin,
    #[error("`{0}` is a built-in role and cannot be changed")]
    BuiltinRoleReadOnly(String),
    #[error("role `{0}` is still bound; remove its bindings first")]
    RoleInUse(String),
    #[error("no incident `{0}`")]
    IncidentNotFound(String),
    #[error("incident `{id}` is {status} already; it cannot be {} now", to.as_str())]
    IncidentTransition {
        id: String,
        status: opsdeck_api::incidents::IncidentStatus,
        to: opsdeck_api::incidents::IncidentStatus,
    },
    #[error("alert `{fingerprint}` is linked to incident `{incident}` already")]
    AlertAlreadyLinked {
        incident: String,
        fingerprint: String,
    },
    #[error("no maintenance window `{0}`")]
    MaintenanceNotFound(String),
    #[error("maintenance window `{0}` has ended already")]
    MaintenanceEnded(String),
    /// The route needs a URL the configuration file does not give.
    #[error("the server's configuration names no `{0}` in its [monitoring] section")]
    MonitoringNotConfigured(&'static str),
    #[error("Alertmanager at {url} failed: {message}")]
    Alertmanager { url: String, message: String },
    #[error("no playbook run `{0}`")]
    RunNotFound(String),
    #[error("run `{run}` has no step `{step}`")]
    StepNotFound { run: String, step: String },
    /// A run or step not in the state the request needs (the message says
    /// which it is in and what would be needed).
    #[error("{0}")]
    RunState(String),
    /// The caller may not start, approve or go on with the run: what is
    /// missing, with the playbook's positions where there are any.
    #[error("{message}")]
    RunForbidden {
        message: String,
        details: Vec<FieldError>,
    },
    /// The two-person rule stopped the request: no approval was sent, or
    /// the one sent (`why` says how) cannot be used for it.
    #[error("{}", approval_required_message(*action, target, role, *expires_after, why.as_deref()))]
    ApprovalRequired {
        action: opsdeck_api::approvals::ApprovalAction,
        target: String,
        role: String,
        expires_after: std::time::Duration,
        why: Option<String>,
    },
    #[error("no approval `{0}`")]
    ApprovalNotFound(String),
    /// An approval not in the state the request needs.
    #[error("{0}")]
    ApprovalState(String),
    /// The caller may not decide the approval (its requester, or without
    /// the rule's role).
    #[error("{0}")]
    ApprovalForbidden(String),
    #[error("cannot serialize the response: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("the request handler failed: {0}")]
    Handler(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::fields(vec![FieldError::new(field, message)])
    }

    /// Invalid fields, every one found; the message names them all, in
    /// plain words (a window shows it as it is).
    pub fn fields(details: Vec<FieldError>) -> Self {
        let said: Vec<String> = details
            .iter()
            .map(|d| match d.field.as_str() {
                "" => d.message.clone(),
                field => format!("{field} {}", d.message),
            })
            .collect();
        let message = match said.len() {
            0 => "invalid request".to_string(),
            _ => format!("invalid request: {}", said.join("; ")),
        };
        Self::Validation { message, details }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Validation { .. } | Error::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::Unauthorized | Error::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } | Error::Escalation { .. } | Error::RunForbidden { .. } => {
                StatusCode::FORBIDDEN
            }
            Error::RunNotFound(_) | Error::StepNotFound { .. } => StatusCode::NOT_FOUND,
            Error::RunState(_) => StatusCode::CONFLICT,
            Error::ApprovalRequired { .. } => StatusCode::PRECONDITION_REQUIRED,
            Error::ApprovalNotFound(_) => StatusCode::NOT_FOUND,
            Error::ApprovalState(_) => StatusCode::CONFLICT,
            Error::ApprovalForbidden(_) => StatusCode::FORBIDDEN,
            Error::RbacNotFound { .. } => StatusCode::NOT_FOUND,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::NameTaken { .. }
            | Error::LastPlatformAdmin
            | Error::BuiltinRoleReadOnly(_)
            | Error::RoleInUse(_) => StatusCode::CONFLICT,
            Error::TenantNotFound(_) | Error::RouteNotFound(_) | Error::JobNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Error::SlugTaken(_)
            | Error::InvalidState { .. }
            | Error::IdempotencyKeyInFlight
            | Error::ClaimLost
            | Error::JobNotCancellable { .. }
            | Error::TargetBusy { .. } => StatusCode::CONFLICT,
            Error::BackupTargetNotFound(_) | Error::ClusterNotFound(_) => StatusCode::NOT_FOUND,
            Error::PreflightRefused { .. } => StatusCode::CONFLICT,
            Error::IncidentNotFound(_) | Error::MaintenanceNotFound(_) => StatusCode::NOT_FOUND,
            Error::IncidentTransition { .. }
            | Error::AlertAlreadyLinked { .. }
            | Error::MaintenanceEnded(_)
            | Error::MonitoringNotConfigured(_) => StatusCode::CONFLICT,
            Error::Alertmanager { .. } => StatusCode::BAD_GATEWAY,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::FaultInjected(status) => *status,
            Error::Undeclared { .. }
            | Error::Database(_)
            | Error::Migrate(_)
            | Error::UnsupportedDatabase(_)
            | Error::Connect { .. }
            | Error::DatabaseFile { .. }
            | Error::Corrupt(_)
            | Error::JobTakenOver { .. }
            | Error::JobCancelRequested(_)
            | Error::JobListen { .. }
            | Error::Config { .. }
            | Error::Serialize(_)
            | Error::Handler(_)
            | Error::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::MalformedJson(_) => ErrorCode::MalformedJson,
            Error::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Error::Validation { .. } => ErrorCode::ValidationFailed,
            Error::Unauthorized | Error::TokenRefused(_) => ErrorCode::Unauthorized,
            Error::Forbidden { .. } | Error::Escalation { .. } | Error::RunForbidden { .. } => {
                ErrorCode::Forbidden
            }
            Error::RunNotFound(_) | Error::StepNotFound { .. } => ErrorCode::NotFound,
            Error::RunState(_) => ErrorCode::InvalidState,
            Error::ApprovalRequired { .. } => ErrorCode::ApprovalRequired,
            Error::ApprovalNotFound(_) => ErrorCode::NotFound,
            Error::ApprovalState(_) => ErrorCode::InvalidState,
            Error::ApprovalForbidden(_) => ErrorCode::Forbidden,
            Error::RbacNotFound { .. } => ErrorCode::NotFound,
            Error::NameTaken { .. } => ErrorCode::NameTaken,
            Error::PreconditionFailed => ErrorCode::PreconditionFailed,
            Error::LastPlatformAdmin | Error::BuiltinRoleReadOnly(_) | Error::RoleInUse(_) => {
                ErrorCode::InvalidState
            }
            Error::TenantNotFound(_) | Error::RouteNotFound(_) | Error::JobNotFound(_) => {
                ErrorCode::NotFound
            }
            Error::SlugTaken(_) => ErrorCode::SlugTaken,
            Error::InvalidState { .. }
            | Error::JobNotCancellable { .. }
            | Error::TargetBusy { .. } => ErrorCode::InvalidState,
            Error::BackupTargetNotFound(_) | Error::ClusterNotFound(_) => ErrorCode::NotFound,
            Error::PreflightRefused { .. } => ErrorCode::InvalidState,
            Error::IncidentNotFound(_) | Error::MaintenanceNotFound(_) => ErrorCode::NotFound,
            Error::IncidentTransition { .. }
            | Error::AlertAlreadyLinked { .. }
            | Error::MaintenanceEnded(_)
            | Error::MonitoringNotConfigured(_) => ErrorCode::InvalidState,
            Error::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Error::IdempotencyKeyInFlight | Error::ClaimLost => ErrorCode::IdempotencyKeyInFlight,
            Error::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Error::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            _ => ErrorCode::Internal,
        }
    }

    /// The envelope without its request id, which `finalize` fills in.
    pub fn envelope(&self) -> ErrorEnvelope {
        let details = match self {
            Error::Validation { details, .. } | Error::RunForbidden { details, .. } => {
                details.clone()
            }
            Error::ApprovalRequired {
                action,
                target,
                role,
                expires_after,
                ..
            } => {
                use opsdeck_api::approvals as a;
                vec![
                    FieldError::new(a::DETAIL_ACTION, action.as_str()),
                    FieldError::new(a::DETAIL_TARGET, target.clone()),
                    FieldError::new(a::DETAIL_ROLE, role.clone()),
                    FieldError::new(a::DETAIL_EXPIRES_AFTER, expires_after.as_secs().to_string()),
                ]
            }
            _ => Vec::new(),
        };
        let message = if self.status().is_server_error() {
            // Internals (SQL, paths) stay in the log, found by the request id.
            match self {
                Error::Unavailable(_) => "the database is unreachable".to_string(),
                // Says which upstream failed and how; holds no internals.
                Error::Alertmanager { .. } => self.to_string(),
                _ => "internal error; the request id finds it in the server's log".to_string(),
            }
        } else {
            self.to_string()
        };
        ErrorEnvelope {
            code: self.code(),
            message,
            details,
            request_id: None,
        }
    }
}

fn approval_required_message(
    action: opsdeck_api::approvals::ApprovalAction,
    target: &str,
    role: &str,
    expires_after: std::time::Duration,
    why: Option<&str>,
) -> String {
    let minutes = expires_after.as_secs().div_ceil(60);
    let ask = format!(
        "the {} needs a second person's approval outside a maintenance window: ask for one \
         (action {action}, target {target}); someone else holding the role {role} must grant it, \
         and it can be used once within {minutes} minutes of the request",
        action.describe(target)
    );
    match why {
        Some(why) => format!("{why}; {ask}"),
        None => ask,
    }
}

/// An envelope waiting for its request id; `finalize` turns it into the body.
#[derive(Debug, Clone)]
struct PendingEnvelope(ErrorEnvelope);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = status.into_response();
        match &self {
            Error::Unauthorized | Error::TokenRefused(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
            }
            _ => {}
        }
        response
            .extensions_mut()
            .insert(PendingEnvelope(self.envelope()));
        response
    }
}

/// Gives every error response its envelope body with `request_id` set:
/// our own errors carry a pending envelope; the framework's (404 of an
/// unknown route, 405, rejections) get one made from their status.
/// Responses that already have a JSON body (replays) are left as they are.
pub fn finalize(mut response: Response, request_id: &str) -> Response {
    let status = response.status();
    let envelope = match response.extensions_mut().remove::<PendingEnvelope>() {
        Some(PendingEnvelope(envelope)) => envelope,
        None if status.is_client_error() || status.is_server_error() => {
            if is_json(&response) {
                return response;
            }
            envelope_for_status(status)
        }
        None => return response,
    };
    let envelope = ErrorEnvelope {
        request_id: Some(request_id.to_string()),
        ..envelope
    };
    let body = match serde_json::to_vec(&envelope) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "cannot serialize an error envelope");
            Vec::new()
        }
    };
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *response.body_mut() = Body::from(body);
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn envelope_for_status(status: StatusCode) -> ErrorEnvelope {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (ErrorCode::MalformedJson, "the request is malformed"),
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthorized, "a valid bearer token is required"),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "not allowed"),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this route does not accept this method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "the request needs `Content-Type: application/json`",
        ),
        s if s.is_client_error() => (ErrorCode::ValidationFailed, "the request is invalid"),
        _ => (
            ErrorCode::Internal,
            "internal error; the request id finds it in the server's log",
        ),
    };
    ErrorEnvelope {
        code,
        message: message.to_string(),
        details: Vec::new(),
        request_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: Response) -> ErrorEnvelope {
        let bytes = futures_body(response);
        serde_json::from_slice(&bytes).expect("envelope")
    }

    fn futures_body(response: Response) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
                .to_vec()
        })
    }

    #[test]
    fn our_errors_get_their_code_and_the_request_id() {
        let response = finalize(Error::SlugTaken("acme".into()).into_response(), "rid-1");
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let envelope = body_of(response);
        assert_eq!(envelope.code, ErrorCode::SlugTaken);
        assert_eq!(envelope.request_id.as_deref(), Some("rid-1"));
    }

    #[test]
    fn framework_405_becomes_method_not_allowed() {
        let response = finalize(StatusCode::METHOD_NOT_ALLOWED.into_response(), "rid-2");
        assert_eq!(body_of(response).code, ErrorCode::MethodNotAllowed);
    }

    #[test]
    fn internal_details_stay_out_of_the_envelope() {
        let err = Error::Corrupt("tenants.plan = 'gold' at /var/lib/x".into());
        assert!(!err.envelope().message.contains("gold"));
    }

    #[test]
    fn unauthorized_asks_for_a_bearer_token() {
        let response = Error::Unauthorized.into_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
    }
}
