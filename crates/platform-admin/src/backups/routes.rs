//! `/v1/backup-targets…`: the targets the configuration declares, the
//! backups of one with its restorable window and RPO, and starting a
//! backup of one as a job.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use opsdeck_api::approvals::ApprovalAction;
use opsdeck_api::backups::{
    BackupList, BackupTargetList, BackupType, CreateBackup, RestoreBackup, VerifyBackup,
};
use opsdeck_api::jobs::Job as WireJob;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
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
        .routes(routes!(verify_backup).require(Permission::BackupsRun, On::Platform))
        .routes(
            routes!(restore_backup)
                .require(Permission::BackupsRestore, On::Platform)
                .two_person(ApprovalAction::BackupRestore),
        )
}

/// Restores the target as a job: a safety backup first, then the target's
/// server stopped, restored to the newest point or to `to` (which must lie
/// in its restorable window), and started again; the job's result has the
/// achieved RTO (request to first accepted write). `confirm` must be the
/// target's id: a restore replaces its data.
#[utoipa::path(post, path = "/v1/backup-targets/{target}/restore", tag = "backups", operation_id = "restore_backup",
    params(TargetPath),
    request_body = RestoreBackup,
    responses(
        (status = 202, description = "Queued.", body = WireJob),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such target.", body = ErrorEnvelope),
        (status = 409, description = "The target already has a job queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`confirm` is not the target's id, `to` is outside the restorable window, or the target cannot be restored from here.", body = ErrorEnvelope)))]
pub async fn restore_backup(
    State(state): State<AppState>,
    mut mutation: Mutation,
    path: Result<Path<TargetPath>, PathRejection>,
    JsonBody(body): JsonBody<RestoreBackup>,
) -> Result<Response, Error> {
    let Path(TargetPath { target: id }) =
        path.map_err(|err| Error::invalid("target", format!("bad target in the path: {err}")))?;
    let target = state
        .config
        .backup_target(&id)
        .ok_or_else(|| Error::BackupTargetNotFound(id.clone()))?;
    if body.confirm != target.id {
        return Err(Error::invalid(
            "confirm",
            format!(
                "must be the target's id, `{}`, typed exactly: a restore replaces its data",
                target.id
            ),
        ));
    }
    if let Some(why) = target.unrestorable() {
        return Err(Error::invalid("target", why));
    }
    if let Some(to) = body.to {
        let list = super::listing::list(&state.db, &state.config, target, db::now()).await?;
        super::listing::check_point(&list, to).map_err(|why| Error::invalid("to", why))?;
    }
    mutation.covers(&target.id, &body)?;
    queue(
        &state,
        mutation,
        &target.id,
        super::RESTORE_KIND,
        "backup.restore",
        "to",
        json!(body.to),
    )
    .await
}

/// Starts a verification of the target as a job: `pgbackrest verify`, then
/// a restore test of the backup `set` (the newest when absent) into a
/// scratch directory on a free loopback port, its per-table row counts
/// compared with the source's at the backup. A `pg_dump` or `redis_rdb`
/// backup is read again by `pg_restore --list` or `redis-check-rdb` and
/// its SHA-256 compared with the one recorded. Its outcome becomes the
/// backup's `verified` flag. Targets with `verify_every` also get one
/// queued by the server (actor `scheduler`).
#[utoipa::path(post, path = "/v1/backup-targets/{target}/verify", tag = "backups", operation_id = "verify_backup",
    params(TargetPath),
    request_body = VerifyBackup,
    responses(
        (status = 202, description = "Queued.", body = WireJob),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such target.", body = ErrorEnvelope),
        (status = 409, description = "The target already has a job queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is unknown or invalid.", body = ErrorEnvelope)))]
pub async fn verify_backup(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<TargetPath>, PathRejection>,
    JsonBody(body): JsonBody<VerifyBackup>,
) -> Result<Response, Error> {
    let Path(TargetPath { target: id }) =
        path.map_err(|err| Error::invalid("target", format!("bad target in the path: {err}")))?;
    let target = state
        .config
        .backup_target(&id)
        .ok_or_else(|| Error::BackupTargetNotFound(id.clone()))?;
    if let Some(set) = &body.set {
        if set.is_empty()
            || set.len() > 100
            || !set
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(
                "set",
                "must be a backup's label, as `backups list` shows it",
            ));
        }
    }
    queue(
        &state,
        mutation,
        &target.id,
        super::VERIFY_KIND,
        "backup.verify",
        "set",
        json!(body.set),
    )
    .await
}

/// Queues a job of `kind` on the target `target` whose request is one
/// field (`field`: `value`, beside the target), audited as `action` with it.
async fn queue(
    state: &AppState,
    mutation: Mutation,
    target: &str,
    kind: &str,
    action: &str,
    field: &str,
    value: serde_json::Value,
) -> Result<Response, Error> {
    let new = NewJob {
        kind: kind.to_string(),
        tenant: None,
        payload: json!({ "target": target, field: value }),
        target: Some(super::job_target(target)),
        actor: Some(mutation.principal.name.clone()),
    };
    jobs::routes::start(
        state,
        mutation,
        new,
        action,
        super::job_target(target),
        json!({ field: value }),
    )
    .await
}

/// Lists the backups in the target's repository (oldest first, from
/// `pgbackrest info`; the manifests in `backup_dir` for `pg_dump` and
/// `redis_rdb` targets), what retention keeps, its restorable window, and
/// its RPO against its objective: with continuous WAL archiving the newest
/// restorable point is the newest archived WAL segment. `pg_dump` and
/// `redis_rdb` targets have no window (`point_in_time` is false). A
/// repository that cannot be read is said in `repository_error` (the list
/// empty, the RPO over).
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
    Ok(Json(
        super::listing::list(&state.db, &state.config, target, db::now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TargetPath {
    /// The target's id.
    target: String,
}

/// Lists the backup targets the configuration file declares (without
/// their credentials), with when each one's next scheduled verification
/// is due.
#[utoipa::path(get, path = "/v1/backup-targets", tag = "backups", operation_id = "list_backup_targets",
    responses((status = 200, description = "Every target, in the file's order.", body = BackupTargetList)))]
pub async fn list_targets(State(state): State<AppState>) -> Result<Json<BackupTargetList>, Error> {
    let now = db::now();
    let mut items = Vec::with_capacity(state.config.backup_targets.len());
    for target in &state.config.backup_targets {
        let mut item = target.public();
        item.next_verification_at =
            super::schedule::next_verification(&state.db, target, now).await?;
        items.push(item);
    }
    Ok(Json(BackupTargetList { items }))
}

/// Starts a backup of the target as a job; the answer is the queued job,
/// to follow at `GET /v1/jobs/{job}`. After it, the target's retention
/// removes what it does not keep (never the last verified backup). A
/// `pg_dump` or `redis_rdb` target takes only `full`.
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
    if !target.kind.point_in_time() && body.backup_type != BackupType::Full {
        return Err(Error::invalid(
            "type",
            format!(
                "`{}` is a {} target: its backups are always whole, so only `full` is taken",
                target.id,
                target.kind.as_str()
            ),
        ));
    }
    queue(
        &state,
        mutation,
        &target.id,
        super::KIND,
        "backup.create",
        "type",
        json!(body.backup_type),
    )
    .await
}
