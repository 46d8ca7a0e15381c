//! Reference server of the Opsdeck Platform Admin API v1 (contract in
//! `opsdeck-api`): tenants and their audit log over SQLite or PostgreSQL,
//! behind bearer tokens, with idempotent mutations and Prometheus metrics;
//! and the durable-job store (`jobs`) that long work will run from.
//! `main.rs` is only the command line around `app` and `serve`.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod clusters;
pub mod config;
pub mod db;
pub mod error;
pub mod etag;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod incidents;
pub mod jobs;
pub mod maintenance;
pub mod metrics;
pub mod mutation;
pub mod openapi;
pub mod playbooks;
pub mod rbac;
pub mod roles;
pub mod seed;
pub mod server;
pub mod tenants;
pub mod worker;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use utoipa_axum::router::OpenApiRouter;

pub use crate::db::{Db, DbKind};
pub use crate::error::Error;
pub use crate::metrics::Metrics;
pub use crate::server::ServeOptions;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
    /// The configuration file's declarations (backup targets, clusters).
    pub config: Arc<config::Config>,
}

impl AppState {
    /// With nothing configured.
    pub fn new(db: Db) -> Self {
        Self::with_config(db, config::Config::default())
    }

    pub fn with_config(db: Db, config: config::Config) -> Self {
        Self {
            db,
            metrics: Arc::new(Metrics::new()),
            config: Arc::new(config),
        }
    }
}

/// Every route with its OpenAPI operation and declared permission, before
/// layers and state: each capability brings its own router.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(opsdeck_api::openapi::base())
        .merge(health::router())
        .merge(tenants::routes::router())
        .merge(audit::routes::router())
        .merge(rbac::routes::router())
        .merge(backups::routes::router())
        .merge(clusters::routes::router())
        .merge(jobs::routes::router())
        .merge(incidents::routes::router())
        .merge(maintenance::routes::router())
        .merge(playbooks::routes::router())
        .merge(approvals::routes::router())
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    layered(routes(), state)
}

/// `routes` behind the layers every route gets, served as their merged
/// document declares: a route that declares no permission is refused.
pub fn layered(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, document) = routes.split_for_parts();
    let gate = auth::Gate::new(state.db.clone(), access::Access::from_document(&document));
    // Layers run outside in: authentication and the route's permission
    // (401/403), then the body limit (413), then idempotency, so a refused
    // request never claims a key.
    router
        .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
        .route_layer(from_fn(limit_body))
        .route_layer(from_fn_with_state(gate, auth::layer))
        .fallback(http::not_found)
        .layer(from_fn_with_state(state.clone(), inject_fault))
        .layer(from_fn_with_state(state.clone(), http::observe))
        .with_state(state)
}

/// The request header that asks a server configured for drills to fail.
pub const FAULT_HEADER: &str = "x-opsdeck-fault";

/// Fails a request that asks for it (`x-opsdeck-fault: 503`) when the
/// configuration allows it; inside `observe`, so metrics count the failure
/// like any other.
async fn inject_fault(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    if state.config.fault_injection {
        let asked = req
            .headers()
            .get(FAULT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u16>().ok())
            .filter(|code| (500..=599).contains(code))
            .and_then(|code| axum::http::StatusCode::from_u16(code).ok());
        if let Some(status) = asked {
            return Err(Error::FaultInjected(status));
        }
    }
    Ok(next.run(req).await)
}

/// The body limit, on the requests that carry a body; a body sent with a
/// read is never looked at.
async fn limit_body(req: Request, next: Next) -> Result<Response, Error> {
    if access::carries_body(req.method()) {
        http::buffer_body(req, next).await
    } else {
        Ok(next.run(req).await)
    }
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
