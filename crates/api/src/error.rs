//! The one error envelope every failing response carries.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Machine-readable reason for a failure. Clients match on it; `message` is
/// for people. Unknown codes from a newer server arrive as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but a field is missing, of the wrong type or out of range.
    ValidationFailed,
    /// The request needs `Content-Type: application/json`.
    UnsupportedMediaType,
    /// No token, or a token the server does not know.
    Unauthorized,
    /// The token is valid but its role does not grant the permission the
    /// route needs; the message names it.
    Forbidden,
    /// The tenant (or other target) does not exist.
    NotFound,
    /// Another tenant already has this slug.
    SlugTaken,
    /// The target is not in a state that allows this action.
    InvalidState,
    /// Another user, group, service account, role or token has this name.
    NameTaken,
    /// `If-Match` does not name the resource's current `ETag`: it changed
    /// since it was read.
    PreconditionFailed,
    /// The same `Idempotency-Key` was sent before with a different body.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInFlight,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// No such route or method.
    MethodNotAllowed,
    /// The action needs a second person's approval (the two-person rule):
    /// `details` name the `action`, `target`, the `role` a granter must
    /// hold and `expires_after_seconds`; ask at `POST /v1/approvals` and
    /// send the granted approval's id in `Opsdeck-Approval`. Also when the
    /// approval sent is not usable for this request (the message says why).
    ApprovalRequired,
    /// Something failed on the server; the request id finds it in the logs.
    Internal,
    /// A code this client does not know yet.
    Unknown,
}

impl ErrorCode {
    const KNOWN: [ErrorCode; 16] = [
        ErrorCode::MalformedJson,
        ErrorCode::ValidationFailed,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::SlugTaken,
        ErrorCode::InvalidState,
        ErrorCode::NameTaken,
        ErrorCode::PreconditionFailed,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::IdempotencyKeyInFlight,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ApprovalRequired,
        ErrorCode::Internal,
    ];

    /// The code as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::SlugTaken => "slug_taken",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::ApprovalRequired => "approval_required",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// Tolerant on the way in: a code from a newer server becomes `Unknown`
/// instead of making the whole envelope unreadable.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Self::KNOWN
            .into_iter()
            .find(|known| known.as_str() == code)
            .unwrap_or(ErrorCode::Unknown))
    }
}

/// One field that failed validation, named by its JSON path (`quotas.max_users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ErrorEnvelope {
    pub code: ErrorCode,
    pub message: String,
    /// Every field error found, not only the first: a body with a bad slug
    /// and a bad quota names both. Empty unless `code` is `validation_failed`
    /// (the fields) or `approval_required` (what to ask approval for).
    #[serde(default)]
    pub details: Vec<FieldError>,
    /// The id of the request, also sent as the `x-request-id` header.
    #[serde(default)]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_tolerated() {
        for code in ErrorCode::KNOWN {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(
                serde_json::from_str::<ErrorCode>(&json).expect("parse"),
                code
            );
        }
        let newer: ErrorCode = serde_json::from_str("\"quota_exceeded\"").expect("parse");
        assert_eq!(newer, ErrorCode::Unknown);
    }
}
