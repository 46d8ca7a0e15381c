//! `/v1/backup-targets…`: the targets the configuration declares, the
//! backups of one with its restorable window and RPO, and starting a
//! backup of one as a job.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::backups::{BackupList, BackupTargetList, CreateBackup};
use opsdeck_api::jobs::Job as WireJob;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::db;
use crate::error::Error;
use crate::http::JsonBody;
use crate::jobs::{self, NewJob};
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_targets).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(list_backups).require(Permission::BackupsRead, On::Platform))
        .routes(routes!(create_backup).require(Permission::BackupsRun, On::Platform))
}

/// Lists the backups in the target's repository (oldest first, from
/// `pgbackrest info`), its restorable window, and its RPO against its
/// objective: with continuous WAL archiving the newest restorable point is
/// the newest archived WAL segment. A repository that cannot be read is
/// said in `repository_error` (the list empty, the RPO over).
#[utoipa::path(get, path = "/v1/backup-targets/{target}/backups", tag = "backups", operation_id = "list_backups",
    params(TargetPath),
    responses(
        (status = 200, body = BackupList),
        (status = 404, description = "No such target.", body = ErrorEnvelope),
        (status = 422, description = "The target in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn list_backups(
    State(state): State<AppState>,
    path: Result<Path<TargetPath>, PathRejection>,
) -> Result<Json<BackupList>, Error> {
    let Path(TargetPath { target: id }) =
        path.map_err(|err| Error::invalid("target", format!("bad target in the path: {err}")))?;
    let target = state
        .config
        .backup_target(&id)
        .ok_or_else(|| Error::BackupTargetNotFound(id.clone()))?;
    Ok(Json(super::listing::list(target, db::now()).await))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TargetPath {
    /// The target's id.
    target: String,
}

/// Lists the backup targets the configuration file declares (without
/// their credentials).
#[utoipa::path(get, path = "/v1/backup-targets", tag = "backups", operation_id = "list_backup_targets",
    responses((status = 200, description = "Every target, in the file's order.", body = BackupTargetList)))]
pub async fn list_targets(State(state): State<AppState>) -> Json<BackupTargetList> {
    Json(BackupTargetList {
        items: state
            .config
            .backup_targets
            .iter()
            .map(|t| t.public())
            .collect(),
    })
}

/// Starts a backup of the target as a job; the answer is the queued job,
/// to follow at `GET /v1/jobs/{job}`.
#[utoipa::path(post, path = "/v1/backup-targets/{target}/backups", tag = "backups", operation_id = "create_backup",
    params(TargetPath),
    request_body = CreateBackup,
    responses(
        (status = 202, description = "Queued.", body = WireJob),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such target.", body = ErrorEnvelope),
        (status = 409, description = "The target already has a job queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid.", body = ErrorEnvelope)))]
pub async fn create_backup(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<TargetPath>, PathRejection>,
    JsonBody(body): JsonBody<CreateBackup>,
) -> Result<Response, Error> {
    let Path(TargetPath { target: id }) =
        path.map_err(|err| Error::invalid("target", format!("bad target in the path: {err}")))?;
    let target = state
        .config
        .backup_target(&id)
        .ok_or_else(|| Error::BackupTargetNotFound(id.clone()))?;
    let new = NewJob {
        kind: super::KIND.to_string(),
        tenant: None,
        payload: json!({ "target": target.id, "type": body.backup_type }),
        target: Some(super::job_target(&target.id)),
        actor: Some(mutation.principal.name.clone()),
    };
    let mut tx = state.db.begin().await?;
    let job = jobs::enqueue_in(&mut tx, state.db.kind(), new, db::now()).await?;
    let wire = jobs::routes::wire(job.clone(), Vec::new());
    let change = Change::new("backup.create", super::job_target(&target.id)).after(&json!({
        "job": job.id,
        "type": body.backup_type,
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::ACCEPTED, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}
