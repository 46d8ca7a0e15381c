//! HTTP handlers of `/v1/tenants…`. Each mutation validates first, then
//! makes its change and its audit record in one transaction (`mutation`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::tenants::{CreateTenant, Tenant, TenantPage, TenantStatus, UpdateTenant};
use opsdeck_api::validation::Validate;

use crate::db;
use crate::error::Error;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::mutation::Mutation;
use crate::AppState;

use super::store::{self, ListFilter, TenantRef};

/// Longest `q` accepted by the list.
const QUERY_MAX: usize = 200;

/// What audit records name a tenant by.
fn audit_target(slug: &str) -> String {
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

fn tenant_ref(path: Result<Path<String>, PathRejection>) -> Result<TenantRef, Error> {
    let Path(segment) =
        path.map_err(|err| Error::invalid("tenant", format!("bad tenant in the path: {err}")))?;
    Ok(TenantRef::parse(&segment))
}

pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<TenantPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor", "q", "status"])?;
    let limit = params.limit()?;
    let after = params.cursor()?;
    let status = params
        .get("status")
        .map(|s| s.parse::<TenantStatus>())
        .transpose()
        .map_err(|message| Error::invalid("status", message))?;
    let text = params.get("q").map(str::to_string);
    if text.as_ref().is_some_and(|q| q.chars().count() > QUERY_MAX) {
        return Err(Error::invalid(
            "q",
            format!("must be at most {QUERY_MAX} characters long"),
        ));
    }
    let filter = ListFilter {
        after,
        text,
        status,
        limit: limit + 1,
    };
    let mut items = store::list(state.db.pool(), &filter).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|tenant| encode_cursor(&tenant.slug))
    } else {
        None
    };
    Ok(Json(TenantPage { items, next_cursor }))
}

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
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::insert(&mut tx, &tenant).await?;
    mutation
        .commit(
            tx,
            "tenant.create",
            audit_target(&tenant.slug),
            StatusCode::CREATED,
            Some(&tenant),
        )
        .await
}

pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Tenant>, Error> {
    let tenant = tenant_ref(path)?;
    store::get(state.db.pool(), &tenant)
        .await?
        .map(Json)
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))
}

pub async fn update(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<UpdateTenant>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    let body = body.normalized();
    check(&body)?;
    let mut tx = state.db.begin().await?;
    let updated = store::update(&mut tx, &tenant, &body, db::now())
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    mutation
        .commit(
            tx,
            "tenant.update",
            audit_target(&updated.slug),
            StatusCode::OK,
            Some(&updated),
        )
        .await
}

pub async fn delete(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let tenant = tenant_ref(path)?;
    let mut tx = state.db.begin().await?;
    let slug = store::delete(&mut tx, &tenant)
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.to_string()))?;
    mutation
        .commit::<()>(
            tx,
            "tenant.delete",
            audit_target(&slug),
            StatusCode::NO_CONTENT,
            None,
        )
        .await
}

pub async fn suspend(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<String>, PathRejection>,
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

pub async fn resume(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<String>, PathRejection>,
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
            let target = audit_target(&changed.slug);
            mutation
                .commit(tx, action, target, StatusCode::OK, Some(&changed))
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
