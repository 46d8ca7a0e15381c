//! `/v1/clusters…`: the clusters the configuration declares, their
//! topology, the preflight of a switchover or failover, and starting one
//! as a job. Starting runs the preflight first and refuses, naming the
//! failed checks, unless forced with a reason; the job runs it again.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Json;
use opsdeck_api::approvals::ApprovalAction;
use opsdeck_api::clusters::{
    ClusterList, ClusterTopology, FailoverAction, FailoverRequest, Preflight, PreflightQuery,
};
use opsdeck_api::jobs::Job as WireJob;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::config::ClusterConfig;
use crate::error::Error;
use crate::http::{JsonBody, QueryParams};
use crate::jobs::{self, NewJob};
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clusters).require(Permission::ClustersRead, On::Platform))
        .routes(routes!(get_cluster).require(Permission::ClustersRead, On::Platform))
        .routes(routes!(get_preflight).require(Permission::ClustersRead, On::Platform))
        .routes(
            routes!(switchover)
                .require(Permission::ClustersFailover, On::Platform)
                .two_person(ApprovalAction::ClusterSwitchover),
        )
        .routes(
            routes!(failover)
                .require(Permission::ClustersFailover, On::Platform)
                .two_person(ApprovalAction::ClusterFailover),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClusterPath {
    /// The cluster's id.
    cluster: String,
}

fn cluster_of(
    state: &AppState,
    path: Result<Path<ClusterPath>, PathRejection>,
) -> Result<&ClusterConfig, Error> {
    let Path(ClusterPath { cluster: id }) =
        path.map_err(|err| Error::invalid("cluster", format!("bad cluster in the path: {err}")))?;
    state.config.cluster(&id).ok_or(Error::ClusterNotFound(id))
}

/// Lists the clusters the configuration file declares (without their
/// credentials).
#[utoipa::path(get, path = "/v1/clusters", tag = "clusters", operation_id = "list_clusters",
    responses((status = 200, description = "Every cluster, in the file's order.", body = ClusterList)))]
pub async fn list_clusters(State(state): State<AppState>) -> Json<ClusterList> {
    Json(ClusterList {
        items: state.config.clusters.iter().map(|c| c.public()).collect(),
    })
}

/// Reads the cluster's topology from its manager now: members with role,
/// state, lag, timeline and health, and which sources answered (a cluster
/// none of whose sources answer is shown so, with the reasons).
#[utoipa::path(get, path = "/v1/clusters/{cluster}", tag = "clusters", operation_id = "get_cluster",
    params(ClusterPath),
    responses(
        (status = 200, body = ClusterTopology),
        (status = 404, description = "No such cluster.", body = ErrorEnvelope),
        (status = 422, description = "The cluster in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn get_cluster(
    State(state): State<AppState>,
    path: Result<Path<ClusterPath>, PathRejection>,
) -> Result<Json<ClusterTopology>, Error> {
    let cluster = cluster_of(&state, path)?;
    Ok(Json(super::observe(cluster).await.topology))
}

/// What a switchover or failover would meet now: each check passed or
/// not, and each replica eligible or not, with its reasons.
#[utoipa::path(get, path = "/v1/clusters/{cluster}/preflight", tag = "clusters", operation_id = "get_cluster_preflight",
    params(ClusterPath, PreflightQuery),
    responses(
        (status = 200, body = Preflight),
        (status = 404, description = "No such cluster.", body = ErrorEnvelope),
        (status = 422, description = "A bad query parameter, or a candidate that is not a replica.", body = ErrorEnvelope)))]
pub async fn get_preflight(
    State(state): State<AppState>,
    path: Result<Path<ClusterPath>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Preflight>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["action", "candidate"])?;
    let action = match params.get("action") {
        None | Some("switchover") => FailoverAction::Switchover,
        Some("failover") => FailoverAction::Failover,
        Some(other) => {
            return Err(Error::invalid(
                "action",
                format!("must be `switchover` or `failover`, not `{other}`"),
            ))
        }
    };
    let candidate = params.get("candidate").map(str::to_string);
    if candidate.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(Error::invalid("candidate", "must name a member"));
    }
    let cluster = cluster_of(&state, path)?;
    let (checked, _) = check(&state, cluster, action, candidate.as_deref()).await?;
    Ok(Json(checked))
}

/// Observes and checks; a candidate that is not a replica of what was
/// observed is refused as bad input.
async fn check(
    state: &AppState,
    cluster: &ClusterConfig,
    action: FailoverAction,
    candidate: Option<&str>,
) -> Result<(Preflight, super::Observation), Error> {
    let busy = jobs::active_on(&state.db, &super::job_target(&cluster.id)).await?;
    let seen = super::observe(cluster).await;
    if let Some(why) = candidate.and_then(|c| super::not_a_replica(&seen.topology, c)) {
        return Err(Error::invalid("candidate", why));
    }
    let checked = super::preflight(cluster, &seen, action, candidate, busy.as_deref());
    Ok((checked, seen))
}

/// Starts a planned switchover as a job, after its preflight; the answer
/// is the queued job, to follow at `GET /v1/jobs/{job}`.
#[utoipa::path(post, path = "/v1/clusters/{cluster}/switchover", tag = "clusters", operation_id = "switchover_cluster",
    params(ClusterPath),
    request_body = FailoverRequest,
    responses(
        (status = 202, description = "Queued.", body = WireJob),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such cluster.", body = ErrorEnvelope),
        (status = 409, description = "The preflight failed (its failed checks named) and it was not forced, or the cluster already has a job queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid (forcing without a reason, a candidate that is not a replica).", body = ErrorEnvelope)))]
pub async fn switchover(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<ClusterPath>, PathRejection>,
    JsonBody(body): JsonBody<FailoverRequest>,
) -> Result<Response, Error> {
    start(state, mutation, path, body, FailoverAction::Switchover).await
}

/// Starts an emergency failover as a job, after its preflight; the answer
/// is the queued job, to follow at `GET /v1/jobs/{job}`.
#[utoipa::path(post, path = "/v1/clusters/{cluster}/failover", tag = "clusters", operation_id = "failover_cluster",
    params(ClusterPath),
    request_body = FailoverRequest,
    responses(
        (status = 202, description = "Queued.", body = WireJob),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such cluster.", body = ErrorEnvelope),
        (status = 409, description = "The preflight failed (its failed checks named) and it was not forced, or the cluster already has a job queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid (forcing without a reason, a candidate that is not a replica).", body = ErrorEnvelope)))]
pub async fn failover(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<ClusterPath>, PathRejection>,
    JsonBody(body): JsonBody<FailoverRequest>,
) -> Result<Response, Error> {
    start(state, mutation, path, body, FailoverAction::Failover).await
}

async fn start(
    state: AppState,
    mut mutation: Mutation,
    path: Result<Path<ClusterPath>, PathRejection>,
    mut body: FailoverRequest,
    action: FailoverAction,
) -> Result<Response, Error> {
    let errors = body.validate();
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    // The approval covers the body as it was sent.
    let sent = body.clone();
    body.reason = body.reason.map(|r| r.trim().to_string());
    let cluster = cluster_of(&state, path)?;
    mutation.covers(&cluster.id, &sent)?;
    let target = super::job_target(&cluster.id);
    if let Some(job) = jobs::active_on(&state.db, &target).await? {
        return Err(Error::TargetBusy { target, job });
    }
    let (checked, seen) = check(&state, cluster, action, body.candidate.as_deref()).await?;
    let failed: Vec<String> = checked
        .failed()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if !failed.is_empty() && !body.force {
        return Err(Error::PreflightRefused {
            cluster: cluster.id.clone(),
            action: action.as_str(),
            failed: failed.join("; "),
        });
    }
    let new = NewJob {
        kind: super::job_kind(action).to_string(),
        tenant: None,
        // The job acts on this look at the cluster when it is taken up at
        // once (see `job::queued_look`).
        payload: json!({
            "cluster": cluster.id,
            "request": body,
            "preflight": checked,
            "topology": seen.topology,
        }),
        target: Some(target.clone()),
        actor: Some(mutation.principal.name.clone()),
    };
    jobs::routes::start(
        &state,
        mutation,
        new,
        &format!("cluster.{}", action.as_str()),
        target,
        json!({
            "candidate": body.candidate,
            "force": body.force,
            "reason": body.reason,
            "failed_checks": failed,
        }),
    )
    .await
}
