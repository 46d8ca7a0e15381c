//! Reference server of the Opsdeck Platform Admin API v1 (contract in
//! `opsdeck-api`): tenants and their audit log over SQLite or PostgreSQL,
//! behind bearer tokens, with idempotent mutations and Prometheus metrics.
//! `main.rs` is only the command line around `app` and `serve`.

pub mod audit;
pub mod auth;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod mutation;
pub mod roles;
pub mod seed;
pub mod server;
pub mod tenants;

use std::future::Future;
use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use crate::db::{Db, DbKind};
pub use crate::error::Error;
pub use crate::metrics::Metrics;
pub use crate::server::ServeOptions;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    // Layers run outside in: authentication (401/403), then the body limit
    // (413), then idempotency, so a refused request never claims a key.
    let api = Router::new()
        .route(
            "/v1/tenants",
            get(tenants::routes::list).post(tenants::routes::create),
        )
        .route(
            "/v1/tenants/{tenant}",
            get(tenants::routes::get)
                .patch(tenants::routes::update)
                .delete(tenants::routes::delete),
        )
        .route(
            "/v1/tenants/{tenant}/suspend",
            post(tenants::routes::suspend),
        )
        .route("/v1/tenants/{tenant}/resume", post(tenants::routes::resume))
        .route("/v1/audit", get(audit::routes::list))
        .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
        .route_layer(from_fn(http::buffer_body))
        .route_layer(from_fn_with_state(state.clone(), auth::layer));

    Router::new()
        .route("/v1/health", get(health::handler))
        .route("/metrics", get(metrics::handler))
        .merge(api)
        .fallback(http::not_found)
        .layer(from_fn_with_state(state.clone(), http::observe))
        .with_state(state)
}

/// Serves `app(state)` on `listener` with the default `ServeOptions`
/// until `shutdown` completes; see `server::serve`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    server::serve(listener, state, ServeOptions::default(), shutdown).await
}
