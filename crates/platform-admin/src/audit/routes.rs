//! `GET /v1/audit`: the audit log, newest first, optionally of one target.

use axum::extract::{RawQuery, State};
use axum::Json;
use opsdeck_api::audit::AuditPage;

use crate::error::Error;
use crate::http::{encode_cursor, QueryParams};
use crate::AppState;

use super::store;

pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["target", "limit", "cursor"])?;
    let limit = params.limit()?;
    let cursor = params.cursor()?;
    let mut items = store::list(
        state.db.pool(),
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
