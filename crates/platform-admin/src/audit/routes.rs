//! `GET /v1/audit`: the audit log, newest first, filtered by actor, action,
//! target, tenant and time. A caller holding `audit.read` only on some
//! tenants sees only the records of those tenants (matched by tenant id, so
//! a new tenant that reuses a deleted one's slug does not see its records).

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
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
use crate::tenants::store::{self as tenants, TenantRef};
use crate::AppState;

use super::store::{self, Filter};

/// The audit routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list).require(Permission::AuditRead, On::EachTenant))
}

/// Longest filter value accepted.
const VALUE_MAX: usize = 512;

/// Lists audit records, newest first. Every filter matches exactly.
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
    let params = QueryParams::parse(
        query.as_deref(),
        &[
            "actor", "action", "target", "tenant", "since", "until", "limit", "cursor",
        ],
    )?;
    let limit = params.limit()?;
    let before_seq = params
        .cursor()?
        .map(|key| {
            key.parse::<i64>()
                .map_err(|_| Error::invalid("cursor", "not a cursor of this list"))
        })
        .transpose()?;
    let text = |name: &str| -> Result<Option<String>, Error> {
        match params.get(name) {
            Some(value) if value.chars().count() > VALUE_MAX => Err(Error::invalid(
                name,
                format!("must be at most {VALUE_MAX} characters long"),
            )),
            value => Ok(value.map(str::to_string)),
        }
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, Error> {
        params
            .get(name)
            .map(|value| {
                DateTime::parse_from_rfc3339(value)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|err| Error::invalid(name, format!("must be an RFC 3339 time: {err}")))
            })
            .transpose()
    };
    let tenant_id = match text("tenant")? {
        None => None,
        // A tenant that no longer exists is still found by its id; a name
        // that matches nothing matches no record.
        Some(named) => Some(
            tenants::id_of(state.db.pool(), &TenantRef::parse(&named))
                .await?
                .unwrap_or(named),
        ),
    };
    let filter = Filter {
        within: match principal.grants.visible(Permission::AuditRead) {
            Visible::All => None,
            Visible::Only(ids) => Some(ids),
        },
        actor: text("actor")?,
        action: text("action")?,
        target: text("target")?,
        tenant_id,
        since: time("since")?,
        until: time("until")?,
        before_seq,
        limit: limit + 1,
    };
    let mut items = store::list(state.db.pool(), &filter).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|record| encode_cursor(&record.seq.to_string()))
    } else {
        None
    };
    Ok(Json(AuditPage { items, next_cursor }))
}
