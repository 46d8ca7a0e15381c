//! The one error envelope every failing response carries.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Machine-readable reason for a failure. Clients match on it; `message` is
/// for people. Unknown codes from a newer server arrive as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but a field is missing, of the wrong type or out of range.
    ValidationFailed,
    /// The request needs `Content-Type: application/json`.
    UnsupportedMediaType,
    /// No token, or a token the server does not know.
    Unauthorized,
    /// The token is valid but its role may not do this.
    Forbidden,
    /// The tenant (or other target) does not exist.
    NotFound,
    /// Another tenant already has this slug.
    SlugTaken,
    /// The target is not in a state that allows this action.
    InvalidState,
    /// The same `Idempotency-Key` was sent before with a different body.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInFlight,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// No such route or method.
    MethodNotAllowed,
    /// Something failed on the server; the request id finds it in the logs.
    Internal,
    /// A code this client does not know yet.
    #[serde(other)]
    Unknown,
}

/// One field that failed validation, named by its JSON path (`quotas.max_users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Body of every 4xx and 5xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ErrorEnvelope {
    pub code: ErrorCode,
    pub message: String,
    /// Field errors; empty unless `code` is `validation_failed`.
    #[serde(default)]
    pub details: Vec<FieldError>,
    /// The id of the request, also sent as the `x-request-id` header.
    #[serde(default)]
    pub request_id: Option<String>,
}
