//! `/v1/tenants…`: each route is declared once, by its handler's
//! `#[utoipa::path]` (its OpenAPI operation) and its line in `router()` (the
//! permission it needs). Each mutation validates first, then makes its
//! change and its audit record in one transaction (`mutation`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::Json;
use opsdeck_api::approvals::ApprovalAction;
use opsdeck_api::tenants::{
    CreateTenant, LabelSelector, ListTenants, Plan, Tenant, TenantPage, TenantStatus, UpdateTenant,
};
use opsdeck_api::validation::{Validate, LABELS_MAX};
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use crate::etag;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::mutation::Mutation;
use crate::rbac::Visible;
use crate::roles::Permission;
use crate::AppState;

use super::store::{self, ListFilter, TenantRef};

/// The tenant routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::TenantsRead, On::EachTenant))
        .routes(routes!(create).require(Permission::TenantsWrite, On::Platform))
        .routes(routes!(get).require(Permission::TenantsRead, On::Tenant))
        .routes(routes!(update).require(Permission::TenantsWrite, On::Tenant))
        .routes(
            routes!(delete)
                .require(Permission::TenantsDelete, On::Tenant)
                .two_person(ApprovalAction::TenantDelete),
        )
        .routes(routes!(suspend).require(Permission::TenantsWrite, On::Tenant))
        .routes(routes!(resume).require(Permission::TenantsWrite, On::Tenant))
}

/// The tenant a route acts on.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// Tenant id or slug.
    tenant: String,
}

/// Longest `q` accepted by the list.
const QUERY_MAX: usize = 200;

/// What audit records name a tenant by.
pub fn audit_target(slug: &str) -> String {
    format!("tenant:{slug}")
}

fn check(body: &impl Validate) -> Result<(), Error> {
    let errors = body.field_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(errors))
    }
}

fn tenant_ref(path: Result<Path<TenantPath>, PathRejection>) -> Result<TenantRef, Error> {
    let Path(TenantPath { tenant }) =
        path.map_err(|err| Error::invalid("tenant", format!("bad tenant in the path: {err}")))?;
    Ok(TenantRef::parse(&tenant))
}

/// Lists tenants by slug, a page at a time: the tenants the caller holds
/// `tenants.read` on.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", operation_id = "list_tenants",
    params(ListTenants),
    responses(
        (status = 200, description = "One page of tenants, by slug.", body = TenantPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Json<TenantPage>, Error> {
    let params = QueryParams::parse_repeating(
        query.as_deref(),
        &["limit", "cursor", "q", "status", "plan", "label"],
        &["label"],
    )?;
    let limit = params.limit()?;
    let after = params.cursor()?;
    let status = params
        .get("status")
        .map(|s| s.parse::<TenantStatus>())
        .transpose()
        .map_err(|message| Error::invalid("status", message))?;
    let plan = params
        .get("plan")
        .map(|s| s.parse::<Plan>())
        .transpose()
        .map_err(|message| Error::invalid("plan", message))?;
    let text = params.get("q").map(str::to_string);
    if text.as_ref().is_some_and(|q| q.chars().count() > QUERY_MAX) {
        return Err(Error::invalid(
            "q",
            format!("must be at most {QUERY_MAX} characters long"),
        ));
    }
    let labels = label_filters(&params)?;
    let filter = ListFilter {
        after,
        text,
        status,
        plan,
        labels,
        only: match principal.grants.visible(Permission::TenantsRead) {
            Visible::All => None,
            Visible::Only(ids) => Some(ids),
        },
        limit: limit + 1,
    };
    let mut items = store::list(&state.db, &filter).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|tenant| encode_cursor(&tenant.slug))
    } else {
        None
    };
    Ok(Json(TenantPage { items, next_cursor }))
}

/// The `label` filters of a list, each read by the contract's rule; every
/// bad one is named, and more than `LABELS_MAX` are refused (a tenant has
/// no more labels than that to match them).
fn label_filters(params: &QueryParams) -> Result<Vec<LabelSelector>, Error> {
    let given: Vec<&str> = params.get_all("label").collect();
    if given.len() > LABELS_MAX {
        return Err(Error::invalid(
            "label",
            format!(
                "at most {LABELS_MAX} label filters are allowed, got {}",
                given.len()
            ),
        ));
    }
    let mut selectors = Vec::with_capacity(given.len());
    let mut errors = Vec::new();
    for text in given {
        match LabelSelector::parse(text) {
            Ok(selector) => selectors.push(selector),
            Err(message) => errors.push(opsdeck_api::FieldError::new("label", message)),
        }
    }
    if errors.is_empty() {
        Ok(selectors)
    } else {
        Err(Error::fields(errors))
    }
}

/// Creates a tenant, with its plan's quotas unless it names its own.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", operation_id = "create_tenant",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "Created.", body = Tenant),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "Another tenant has this slug.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid.", body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<Response, Error> {
    let body = body.normalized();
    check(&body)?;
    let now = db::now();
    let tenant = Tenant {
        id: uuid::Uuid::now_v7().to_string(),
        slug: body.slug.clone(),
        name: body.name.clone(),
        plan: body.plan(),
        status: TenantStatus::Active,
        quotas: body.quotas(),
        accent_color: body.accent_color.clone(),
        labels: body.labels.clone().unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::insert(&mut tx, &tenant).await?;
    let change = Change::new("tenant.create", audit_target(&tenant.slug))
        .tenant(&tenant.id)
        .after(&tenant)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&tenant))
        .await
}

/// Reads one tenant; its `ETag` makes a later `PATCH` conditional.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    params(TenantPath),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String, description = "Send as `If-Match` with a `PATCH`."))),
        (status = 404, description = "No such tenant.", body = ErrorEnvelope),
        (status = 422, description = "The tenant in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<TenantPath>, PathRejection>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    let found = store::get(state.db.pool(), &tenant)
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    let etag = etag::of(&found)?;
    Ok(etag::with(Json(found).into_response(), &etag))
}

/// Changes a tenant's name, plan, quotas, accent colour or labels (replaced
/// whole); with `If-Match`, only if the tenant is still as it was read.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "update_tenant",
    params(TenantPath, ("If-Match" = Option<String>, Header, description = "The `ETag` of the tenant as read.")),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "Changed.", body = Tenant, headers(("ETag" = String, description = "The tenant's new tag."))),
        (status = 412, description = "The tenant changed since it was read (`If-Match`).", body = ErrorEnvelope),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such tenant.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is unknown or invalid, or nothing is to change.", body = ErrorEnvelope)))]
pub async fn update(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<TenantPath>, PathRejection>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateTenant>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    let body = body.normalized();
    check(&body)?;
    let mut tx = state.db.begin().await?;
    let current = store::get_for_update(&mut tx, state.db.kind(), &tenant)
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    etag::check(&headers, &etag::of(&current)?)?;
    let updated = store::update(&mut tx, &tenant, &body, db::now())
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    let tag = etag::of(&updated)?;
    let change = Change::new("tenant.update", audit_target(&updated.slug))
        .tenant(&updated.id)
        .before(&current)?
        .after(&updated)?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&updated))
        .await?;
    Ok(etag::with(response, &tag))
}

/// Deletes a tenant.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "delete_tenant",
    params(TenantPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such tenant.", body = ErrorEnvelope),
        (status = 422, description = "The tenant in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn delete(
    State(state): State<AppState>,
    mut mutation: Mutation,
    path: Result<Path<TenantPath>, PathRejection>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    let mut tx = state.db.begin().await?;
    let deleted = store::delete(&mut tx, &tenant)
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    mutation.covers(&deleted.slug, &serde_json::Value::Null)?;
    let change = Change::new("tenant.delete", audit_target(&deleted.slug))
        .tenant(&deleted.id)
        .before(&deleted)?;
    mutation
        .commit::<()>(tx, change, StatusCode::NO_CONTENT, None)
        .await
}

/// Suspends an active tenant: its users can no longer use the platform.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/suspend", tag = "tenants", operation_id = "suspend_tenant",
    params(TenantPath),
    responses(
        (status = 200, description = "Suspended.", body = Tenant),
        (status = 404, description = "No such tenant.", body = ErrorEnvelope),
        (status = 409, description = "The tenant is already suspended.", body = ErrorEnvelope),
        (status = 422, description = "The tenant in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn suspend(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<TenantPath>, PathRejection>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    transition(
        &state,
        mutation,
        &tenant,
        TenantStatus::Active,
        TenantStatus::Suspended,
        "tenant.suspend",
    )
    .await
}

/// Makes a suspended tenant active again.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/resume", tag = "tenants", operation_id = "resume_tenant",
    params(TenantPath),
    responses(
        (status = 200, description = "Active again.", body = Tenant),
        (status = 404, description = "No such tenant.", body = ErrorEnvelope),
        (status = 409, description = "The tenant is not suspended.", body = ErrorEnvelope),
        (status = 422, description = "The tenant in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn resume(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<TenantPath>, PathRejection>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    transition(
        &state,
        mutation,
        &tenant,
        TenantStatus::Suspended,
        TenantStatus::Active,
        "tenant.resume",
    )
    .await
}

async fn transition(
    state: &AppState,
    mutation: Mutation,
    tenant: &TenantRef,
    from: TenantStatus,
    to: TenantStatus,
    action: &str,
) -> Result<Response, Error> {
    let mut tx = state.db.begin().await?;
    match store::transition(&mut tx, tenant, from, to, db::now()).await? {
        Some(changed) => {
            let change = Change::new(action, audit_target(&changed.slug))
                .tenant(&changed.id)
                .before(&serde_json::json!({ "status": from }))?
                .after(&serde_json::json!({ "status": to }))?;
            mutation
                .commit(tx, change, StatusCode::OK, Some(&changed))
                .await
        }
        None => match store::get_in(&mut tx, tenant).await? {
            Some(current) => Err(Error::InvalidState {
                slug: current.slug,
                status: current.status,
            }),
            None => Err(Error::TenantNotFound(tenant.to_string())),
        },
    }
}
