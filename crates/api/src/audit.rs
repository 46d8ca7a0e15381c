//! Audit records: one per mutation, written in the same transaction as its effect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct AuditRecord {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Name of the token (later: the user) that made the change.
    pub actor: String,
    /// What was done, as `resource.verb`: `tenant.create`, `tenant.suspend`.
    pub action: String,
    /// What it was done to: `tenant:<slug>`.
    pub target: String,
    /// Request id of the mutation, to find it in the server's logs.
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records about this target, e.g. `tenant:acme`.
    pub target: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}
