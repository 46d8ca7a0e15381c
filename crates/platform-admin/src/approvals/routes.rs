//! `/v1/approvals…`: asking for a second person's approval of a
//! destructive action, the list approvers read, and granting or denying.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::approvals::{
    Approval, ApprovalAction, ApprovalPage, ApprovalState, DecideApproval, ListApprovals,
    RequestApproval,
};
use opsdeck_api::validation::Validate as _;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit_target, canonical_body, store};
use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::mutation::Mutation;
use crate::roles::{Permission, Scope};
use crate::tenants::store::TenantRef;
use crate::AppState;

/// The approval routes and what each needs. Asking also needs the
/// permission of the action asked for; granting and denying the rule's
/// role (both checked by the handler).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::ApprovalsRead, On::Platform))
        .routes(routes!(request).require(Permission::ApprovalsRead, On::Platform))
        .routes(routes!(get).require(Permission::ApprovalsRead, On::Platform))
        .routes(routes!(grant).require(Permission::ApprovalsRead, On::Platform))
        .routes(routes!(deny).require(Permission::ApprovalsRead, On::Platform))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApprovalPath {
    /// The approval's id.
    approval: String,
}

fn approval_id(path: Result<Path<ApprovalPath>, PathRejection>) -> Result<String, Error> {
    let Path(ApprovalPath { approval }) =
        path.map_err(|err| Error::invalid("approval", format!("bad approval in the path: {err}")))?;
    Ok(approval)
}

/// Lists approvals, newest first; `state=pending` is what approvers are
/// asked to decide.
#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", operation_id = "list_approvals",
    params(ListApprovals),
    responses(
        (status = 200, description = "One page of approvals, newest first.", body = ApprovalPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ApprovalPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["state", "limit", "cursor"])?;
    let limit = params.limit()?;
    let before = params.cursor()?;
    let wanted = params
        .get("state")
        .map(|s| s.parse::<ApprovalState>())
        .transpose()
        .map_err(|why| Error::invalid("state", why))?;
    let mut conn = state.db.pool().acquire().await?;
    let mut items = store::list(&mut conn, wanted, before.as_deref(), limit + 1, db::now()).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|a| encode_cursor(&a.id))
    } else {
        None
    };
    Ok(Json(ApprovalPage { items, next_cursor }))
}

/// One approval.
#[utoipa::path(get, path = "/v1/approvals/{approval}", tag = "approvals", operation_id = "get_approval",
    params(ApprovalPath),
    responses(
        (status = 200, body = Approval),
        (status = 404, description = "No such approval.", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<ApprovalPath>, PathRejection>,
) -> Result<Json<Approval>, Error> {
    let id = approval_id(path)?;
    let mut conn = state.db.pool().acquire().await?;
    let found = store::get(&mut conn, &id)
        .await?
        .ok_or(Error::ApprovalNotFound(id))?;
    Ok(Json(found.approval))
}

/// Asks for a second person's approval of one destructive action on one
/// target with one body. The caller must be allowed the action itself.
/// It can be granted, and then used once by the caller, until it expires
/// (the server's `[two_person_rule] expires_after` after the request).
#[utoipa::path(post, path = "/v1/approvals", tag = "approvals", operation_id = "request_approval",
    request_body = RequestApproval,
    responses(
        (status = 201, description = "Asked; pending.", body = Approval),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The caller may not do the action asked for.", body = ErrorEnvelope),
        (status = 404, description = "No such target.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid, or `body` is not one the action's route takes.", body = ErrorEnvelope)))]
pub async fn request(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<RequestApproval>,
) -> Result<Response, Error> {
    let body = body.normalized();
    let errors = body.field_errors();
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    let canonical = canonical_body(body.action, body.body.as_ref())
        .map_err(|why| Error::invalid("body", why))?;
    let mut tx = state.db.begin().await?;
    let target = allowed_target(
        &state,
        &mut tx,
        &mutation.principal,
        body.action,
        &body.target,
    )
    .await?;
    let now = db::now();
    let rule = &state.config.two_person_rule;
    let expires_after = chrono::Duration::from_std(rule.expires_after())
        .map_err(|e| Error::Handler(format!("expires_after: {e}")))?;
    let id = uuid::Uuid::now_v7().to_string();
    let body_text = serde_json::to_string(&canonical)?;
    store::insert(
        &mut tx,
        &store::New {
            id: &id,
            action: body.action,
            target: &target,
            body: &body_text,
            reason: &body.reason,
            role: rule.role(),
            requested_by: &mutation.principal.name,
            requester: &mutation.principal.owner,
            requested_at: now,
            expires_at: now + expires_after,
        },
    )
    .await?;
    let approval = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Error::ApprovalNotFound(id.clone()))?
        .approval;
    let change = Change::new("approval.request", audit_target(&id)).after(&json!({
        "action": approval.action.as_str(),
        "target": approval.target,
        "body": approval.body,
        "reason": approval.reason,
        "role": approval.role,
        "expires_at": approval.expires_at,
    }))?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&approval))
        .await
}

/// The target as approvals name it, once the caller is found allowed the
/// action on it: the backup target's or cluster's id, the tenant's slug.
async fn allowed_target(
    state: &AppState,
    conn: &mut AnyConnection,
    principal: &Principal,
    action: ApprovalAction,
    target: &str,
) -> Result<String, Error> {
    let platform = |permission: Permission| {
        if principal.grants.on_platform(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                permission,
                scope: Scope::Platform,
            })
        }
    };
    match action {
        ApprovalAction::BackupRestore => {
            platform(Permission::BackupsRestore)?;
            let found = state
                .config
                .backup_target(target)
                .ok_or_else(|| Error::BackupTargetNotFound(target.to_string()))?;
            Ok(found.id.clone())
        }
        ApprovalAction::ClusterSwitchover | ApprovalAction::ClusterFailover => {
            platform(Permission::ClustersFailover)?;
            let found = state
                .config
                .cluster(target)
                .ok_or_else(|| Error::ClusterNotFound(target.to_string()))?;
            Ok(found.id.clone())
        }
        ApprovalAction::TenantDelete => {
            let permission = Permission::TenantsDelete;
            let tenant = TenantRef::parse(target);
            let found = crate::tenants::store::get_in(conn, &tenant)
                .await?
                .ok_or_else(|| Error::TenantNotFound(target.to_string()))?;
            if principal.grants.on_platform(permission)
                || principal.grants.on_tenant(&found.id, permission)
            {
                Ok(found.slug)
            } else if principal.grants.sees_tenant(&found.id) {
                Err(Error::Forbidden {
                    permission,
                    scope: Scope::Tenant(target.to_string()),
                })
            } else {
                Err(Error::TenantNotFound(target.to_string()))
            }
        }
    }
}

/// Grants a pending approval. The granter must hold the rule's role in a
/// binding on the platform and must not be who asked.
#[utoipa::path(post, path = "/v1/approvals/{approval}/grant", tag = "approvals", operation_id = "grant_approval",
    params(ApprovalPath),
    request_body = DecideApproval,
    responses(
        (status = 200, description = "Granted; the requester may use it once until it expires.", body = Approval),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The caller asked for it, or does not hold the rule's role.", body = ErrorEnvelope),
        (status = 404, description = "No such approval.", body = ErrorEnvelope),
        (status = 409, description = "It is not pending: decided already, or expired.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "The note is invalid.", body = ErrorEnvelope)))]
pub async fn grant(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<ApprovalPath>, PathRejection>,
    JsonBody(body): JsonBody<DecideApproval>,
) -> Result<Response, Error> {
    decide(state, mutation, path, body, ApprovalState::Granted).await
}

/// Denies a pending approval; like granting, only someone else holding
/// the rule's role may.
#[utoipa::path(post, path = "/v1/approvals/{approval}/deny", tag = "approvals", operation_id = "deny_approval",
    params(ApprovalPath),
    request_body = DecideApproval,
    responses(
        (status = 200, description = "Denied.", body = Approval),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The caller asked for it, or does not hold the rule's role.", body = ErrorEnvelope),
        (status = 404, description = "No such approval.", body = ErrorEnvelope),
        (status = 409, description = "It is not pending: decided already, or expired.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "The note is invalid.", body = ErrorEnvelope)))]
pub async fn deny(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<ApprovalPath>, PathRejection>,
    JsonBody(body): JsonBody<DecideApproval>,
) -> Result<Response, Error> {
    decide(state, mutation, path, body, ApprovalState::Denied).await
}

async fn decide(
    state: AppState,
    mutation: Mutation,
    path: Result<Path<ApprovalPath>, PathRejection>,
    body: DecideApproval,
    to: ApprovalState,
) -> Result<Response, Error> {
    let id = approval_id(path)?;
    let body = body.normalized();
    let errors = body.field_errors();
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    let verb = if to == ApprovalState::Granted {
        "grant"
    } else {
        "deny"
    };
    let actor = mutation.principal.name.clone();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let found = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Error::ApprovalNotFound(id.clone()))?;
    let role = found.approval.role.clone();
    if found.requester == mutation.principal.owner || found.approval.requested_by == actor {
        return Err(Error::ApprovalForbidden(format!(
            "{actor} asked for approval `{id}` and cannot {verb} it: a second person holding the role {role} must"
        )));
    }
    if !crate::playbooks::store::holds_role(&mut tx, &mutation.principal.owner, &role).await? {
        return Err(Error::ApprovalForbidden(format!(
            "deciding approval `{id}` needs the role {role}, which {actor} does not hold in a binding on the platform"
        )));
    }
    if !store::decide(&mut tx, &id, to, &actor, body.note.as_deref(), now).await? {
        let shown = super::state_at(found.stored_state, found.approval.expires_at, now);
        return Err(Error::ApprovalState(format!(
            "approval `{id}` is {shown}; only a pending one can be {}",
            if to == ApprovalState::Granted {
                "granted"
            } else {
                "denied"
            }
        )));
    }
    let approval = store::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Error::ApprovalNotFound(id.clone()))?
        .approval;
    let change = Change::new(&format!("approval.{verb}"), audit_target(&id)).after(&json!({
        "action": approval.action.as_str(),
        "target": approval.target,
        "role": role,
        "note": approval.note,
        "requested_by": approval.requested_by,
    }))?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&approval))
        .await
}
