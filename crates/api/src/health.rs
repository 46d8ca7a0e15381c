//! Liveness answer of `GET /v1/health`, the one route without a token.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Health {
    /// `ok` when the server can reach its database.
    pub status: String,
    /// Server version.
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}
