//! Audit records: one per mutation, written in the same transaction as its
//! effect, each carrying the hash of the one before it (a chain that
//! `platform-admin audit verify` checks).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct AuditRecord {
    pub id: String,
    /// Place in the chain: 1, 2, 3… without gaps.
    #[specta(type = f64)]
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who made the change: the token's user (their email) or service
    /// account (its name).
    pub actor: String,
    /// What was done, as `resource.verb`: `tenant.create`, `tenant.suspend`.
    pub action: String,
    /// What it was done to: `tenant:<slug>`, `user:<email>`, `role:<name>`,
    /// `binding:<id>`…
    pub target: String,
    /// Id of the tenant the change was about or made in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The changed fields as they were (absent for a creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<crate::jobs::JsonValue>)]
    pub before: Option<serde_json::Value>,
    /// The changed fields as they became (absent for a deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<crate::jobs::JsonValue>)]
    pub after: Option<serde_json::Value>,
    /// Request id of the mutation, to find it in the server's logs.
    pub request_id: String,
    /// The `Idempotency-Key` the mutation was sent with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the record before this one; 64 zeros for the first.
    pub prev_hash: String,
    /// SHA-256 (hex) of this record's canonical encoding, `prev_hash` included.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of `GET /v1/audit`; every value is matched exactly, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records of this actor (an email or service account name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Only records of this action, e.g. `tenant.suspend`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only records about this target, e.g. `tenant:acme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Only records of this tenant (its slug or id; a deleted tenant by id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Only records written at or after this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only records written before this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
