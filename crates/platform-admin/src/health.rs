//! `GET /v1/health`: whether the server can reach its database.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use opsdeck_api::health::Health;

use crate::error::Error;
use crate::AppState;

/// A database slower than this to answer counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

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
