//! `GET /v1/audit`: the audit log, newest first, optionally of one target.
//! A caller holding `audit.read` only on some tenants sees only the records
//! about those tenants.

use axum::extract::{RawQuery, State};
use axum::Json;
use opsdeck_api::audit::{AuditPage, AuditQuery};
use opsdeck_api::ErrorEnvelope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Declare as _, On};
use crate::auth::Principal;
use crate::error::Error;
use crate::http::{encode_cursor, QueryParams};
use crate::rbac::Visible;
use crate::roles::Permission;
use crate::AppState;

use super::store;

/// The audit routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list).require(Permission::AuditRead, On::EachTenant))
}

/// Lists audit records, newest first, optionally of one target.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", operation_id = "list_audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of records, newest first.", body = AuditPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["target", "limit", "cursor"])?;
    let limit = params.limit()?;
    let cursor = params.cursor()?;
    let targets = match principal.grants.visible(Permission::AuditRead) {
        Visible::All => None,
        Visible::Only(ids) => Some(
            crate::tenants::store::slugs_of(state.db.pool(), &ids)
                .await?
                .iter()
                .map(|slug| crate::tenants::routes::audit_target(slug))
                .collect::<Vec<_>>(),
        ),
    };
    let mut items = store::list(
        state.db.pool(),
        targets.as_deref(),
        params.get("target"),
        cursor.as_deref(),
        limit + 1,
    )
    .await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|record| encode_cursor(&record.id))
    } else {
        None
    };
    Ok(Json(AuditPage { items, next_cursor }))
}
