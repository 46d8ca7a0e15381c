//! `/v1/maintenance…`. A window's silence is made in Alertmanager before
//! the window is stored (and expired again when storing fails), and
//! expired before an ended window is stored: the database never names a
//! silence that does not exist, nor keeps an ended window's alerts muted.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::maintenance::{
    CreateMaintenance, ListMaintenance, MaintenancePage, MaintenanceStatus, MaintenanceWindow,
};
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alertmanager::Alertmanager;
use super::{audit_target, store};
use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::db;
use crate::error::Error;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::incidents::timeline::{self, kind};
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

/// The maintenance routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::AlertsRead, On::Platform))
        .routes(routes!(create).require(Permission::AlertsSilence, On::Platform))
        .routes(routes!(end).require(Permission::AlertsSilence, On::Platform))
}

/// The window a route acts on.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WindowPath {
    /// The window's id.
    window: String,
}

/// Lists maintenance windows, newest first.
#[utoipa::path(get, path = "/v1/maintenance", tag = "maintenance", operation_id = "list_maintenance",
    params(ListMaintenance),
    responses(
        (status = 200, description = "One page of windows, newest first.", body = MaintenancePage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<MaintenancePage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor"])?;
    let limit = params.limit()?;
    let before = params.cursor()?;
    let mut conn = state.db.pool().acquire().await?;
    let mut items = store::list(&mut conn, before.as_deref(), limit + 1, db::now()).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|w| encode_cursor(&w.id))
    } else {
        None
    };
    Ok(Json(MaintenancePage { items, next_cursor }))
}

/// Makes a window and its silence in Alertmanager.
#[utoipa::path(post, path = "/v1/maintenance", tag = "maintenance", operation_id = "create_maintenance",
    request_body = CreateMaintenance,
    responses(
        (status = 201, description = "Made, with its silence.", body = MaintenanceWindow),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "The server's configuration names no Alertmanager.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid.", body = ErrorEnvelope),
        (status = 502, description = "Alertmanager did not make the silence.", body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateMaintenance>,
) -> Result<Response, Error> {
    let body = body.normalized();
    let now = db::now();
    let errors = body.errors_at(now);
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    let alertmanager = Alertmanager::configured(&state.config)?;
    let actor = mutation.principal.name.clone();
    let id = uuid::Uuid::now_v7().to_string();
    let owner = body.owner.clone().unwrap_or_else(|| actor.clone());
    let starts_at = body.starts_at.unwrap_or(now);
    let comment = format!(
        "Opsdeck maintenance window {id}: {} (owner {owner})",
        body.reason
    );
    let silence_id = alertmanager
        .create_silence(&body.matchers, starts_at, body.ends_at, &owner, &comment)
        .await?;
    let window = MaintenanceWindow {
        id: id.clone(),
        starts_at,
        ends_at: body.ends_at,
        matchers: body.matchers.clone(),
        owner,
        reason: body.reason.clone(),
        status: store::status_at(starts_at, body.ends_at, now),
        silence_id: Some(silence_id.clone()),
        created_by: actor.clone(),
        created_at: now,
        ended_by: None,
    };
    let stored = async {
        let mut tx = state.db.begin().await?;
        store::insert(&mut tx, &window).await?;
        let (kind, verb) = if window.status == MaintenanceStatus::Active {
            (kind::MAINTENANCE_STARTED, "started")
        } else {
            (kind::MAINTENANCE_SCHEDULED, "scheduled")
        };
        let text = format!(
            "Maintenance window {} {verb} until {} ({}): {}; its alerts are silenced (silence {silence_id})",
            window.id,
            db::timestamp(window.ends_at),
            scope(&window),
            window.reason
        );
        tell_incidents(&mut tx, &actor, kind, &text, &window).await?;
        let change = Change::new("maintenance.create", audit_target(&window.id)).after(&window)?;
        Ok::<_, Error>((tx, change))
    }
    .await;
    match stored {
        Ok((tx, change)) => {
            let response = mutation
                .commit(tx, change, StatusCode::CREATED, Some(&window))
                .await;
            if response.is_err() {
                forget(&alertmanager, &silence_id).await;
            }
            response
        }
        Err(err) => {
            forget(&alertmanager, &silence_id).await;
            Err(err)
        }
    }
}

/// A silence of a window that was not stored is expired again.
async fn forget(alertmanager: &Alertmanager, silence_id: &str) {
    if let Err(err) = alertmanager.expire_silence(silence_id).await {
        tracing::error!(error = %err, silence = silence_id,
            "the silence of a window that was not stored could not be expired; expire it by hand");
    }
}

pub(crate) fn scope(window: &MaintenanceWindow) -> String {
    window
        .matchers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Says it on the timeline of every incident not resolved yet.
pub(crate) async fn tell_incidents(
    conn: &mut AnyConnection,
    actor: &str,
    kind: &str,
    text: &str,
    window: &MaintenanceWindow,
) -> Result<(), Error> {
    let detail = json!({
        "window": window.id,
        "silence_id": window.silence_id,
        "matchers": window.matchers,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
    });
    for incident in crate::incidents::store::unresolved(&mut *conn).await? {
        timeline::append(&mut *conn, &incident, actor, kind, text, Some(&detail)).await?;
    }
    Ok(())
}

/// Ends a window now: its silence is expired, its alerts notify again.
#[utoipa::path(post, path = "/v1/maintenance/{window}/end", tag = "maintenance", operation_id = "end_maintenance",
    params(WindowPath),
    responses(
        (status = 200, description = "Ended.", body = MaintenanceWindow),
        (status = 404, description = "No such window.", body = ErrorEnvelope),
        (status = 409, description = "It ended already, or the server names no Alertmanager.", body = ErrorEnvelope),
        (status = 502, description = "Alertmanager did not expire the silence; the window goes on.", body = ErrorEnvelope)))]
pub async fn end(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(WindowPath { window }): Path<WindowPath>,
) -> Result<Response, Error> {
    let now = db::now();
    let current = {
        let mut conn = state.db.pool().acquire().await?;
        store::get(&mut conn, &window, now)
            .await?
            .ok_or_else(|| Error::MaintenanceNotFound(window.clone()))?
    };
    if current.status == MaintenanceStatus::Ended {
        return Err(Error::MaintenanceEnded(window));
    }
    if let Some(silence) = &current.silence_id {
        Alertmanager::configured(&state.config)?
            .expire_silence(silence)
            .await?;
    }
    let actor = mutation.principal.name.clone();
    let mut tx = state.db.begin().await?;
    let ended = store::end(&mut tx, &window, &actor, now)
        .await?
        .ok_or_else(|| Error::MaintenanceEnded(window.clone()))?;
    let text = format!(
        "Maintenance window {} ended early by {actor} ({}); its alerts notify again",
        ended.id,
        scope(&ended)
    );
    tell_incidents(&mut tx, &actor, kind::MAINTENANCE_ENDED, &text, &ended).await?;
    let change = Change::new("maintenance.end", audit_target(&ended.id))
        .before(&json!({ "ends_at": current.ends_at, "status": current.status }))?
        .after(&json!({ "ends_at": ended.ends_at, "status": ended.status, "ended_by": actor }))?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&ended))
        .await
}
