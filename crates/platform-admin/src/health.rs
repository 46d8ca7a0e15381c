//! The public routes: `GET /v1/health` (whether the server can reach its
//! database) and `GET /metrics` (whose handler is in `metrics`).

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use opsdeck_api::health::Health;
use opsdeck_api::ErrorEnvelope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Declare as _;
use crate::error::Error;
use crate::metrics;
use crate::AppState;

/// Health and metrics, both without a token, so that probes and scrapers
/// need no secret.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handler).public())
        .routes(routes!(metrics::handler).public())
}

/// A database slower than this to answer counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether the server can reach its database; needs no token.
#[utoipa::path(get, path = "/v1/health", tag = "health", operation_id = "health",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = ErrorEnvelope)))]
pub async fn handler(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    match tokio::time::timeout(PING_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ok".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            database: state.db.kind().as_str().to_string(),
        })),
        Ok(Err(err)) => Err(Error::Unavailable(err)),
        Err(_) => Err(Error::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}
