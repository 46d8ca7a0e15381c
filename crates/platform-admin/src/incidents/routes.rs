//! `/v1/incidents…`: each route is declared once, by its handler's
//! `#[utoipa::path]` and its line in `router()`. Every change appends to the
//! incident's timeline and writes its audit record in one transaction.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::incidents::{
    AddNote, CreateIncident, Escalation, Incident, IncidentDetail, IncidentPage, IncidentRun,
    IncidentStatus, LinkAlert, LinkedAlert, ListIncidents,
};
use opsdeck_api::validation::Validate;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::timeline::{self, kind};
use super::{audit_target, store, targets};
use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::db;
use crate::error::Error;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

/// The incident routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::IncidentsRead, On::Platform))
        .routes(routes!(create).require(Permission::IncidentsWrite, On::Platform))
        .routes(routes!(get).require(Permission::IncidentsRead, On::Platform))
        .routes(routes!(acknowledge).require(Permission::IncidentsWrite, On::Platform))
        .routes(routes!(mitigate).require(Permission::IncidentsWrite, On::Platform))
        .routes(routes!(resolve).require(Permission::IncidentsWrite, On::Platform))
        .routes(routes!(add_note).require(Permission::IncidentsWrite, On::Platform))
        .routes(routes!(link_alert).require(Permission::IncidentsWrite, On::Platform))
}

/// The incident a route acts on.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IncidentPath {
    /// The incident's id.
    incident: String,
}

fn check(body: &impl Validate) -> Result<(), Error> {
    let errors = body.field_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(errors))
    }
}

/// The incident with its timeline, targets, alerts and escalations, as of
/// the server's clock now.
pub async fn detail(
    conn: &mut AnyConnection,
    state: &AppState,
    incident: Incident,
) -> Result<IncidentDetail, Error> {
    let timeline = timeline::list(&mut *conn, &incident.id).await?;
    let alerts = store::alerts(&mut *conn, &incident.id).await?;
    let escalations = timeline
        .iter()
        .filter(|e| e.kind == kind::ESCALATED)
        .filter_map(|e| {
            let detail = e.detail.as_ref()?;
            Some(Escalation {
                at: e.at,
                to: detail["to"].as_str()?.to_string(),
                level: detail["level"]
                    .as_u64()
                    .and_then(|l| u32::try_from(l).ok())?,
            })
        })
        .collect();
    let now = db::now();
    let targets = targets::compute(
        &incident,
        &state.config.incidents.targets(incident.severity),
        now,
    );
    let runs: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, playbook_id, title, state FROM playbook_runs WHERE incident_id = $1 ORDER BY id",
    )
    .bind(&incident.id)
    .fetch_all(&mut *conn)
    .await?;
    let runs = runs
        .into_iter()
        .map(|(id, playbook, title, run_state)| {
            let state = serde_json::from_value(serde_json::Value::String(run_state.clone()))
                .map_err(|_| Error::Corrupt(format!("run {id}: state `{run_state}`")))?;
            Ok(IncidentRun {
                id,
                playbook,
                title,
                state,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(IncidentDetail {
        incident,
        timeline,
        targets,
        alerts,
        escalations,
        runs,
        now,
    })
}

/// Lists incidents, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents", operation_id = "list_incidents",
    params(ListIncidents),
    responses(
        (status = 200, description = "One page of incidents, newest first.", body = IncidentPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<IncidentPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor", "status"])?;
    let limit = params.limit()?;
    let before = params.cursor()?;
    let status = params
        .get("status")
        .map(|s| s.parse::<IncidentStatus>())
        .transpose()
        .map_err(|message| Error::invalid("status", message))?;
    let filter = store::ListFilter {
        before,
        status,
        limit: limit + 1,
    };
    let mut conn = state.db.pool().acquire().await?;
    let mut items = store::list(&mut conn, &filter).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|incident| encode_cursor(&incident.id))
    } else {
        None
    };
    Ok(Json(IncidentPage { items, next_cursor }))
}

/// Opens an incident, its commander the caller unless it names a user.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", operation_id = "open_incident",
    request_body = CreateIncident,
    responses(
        (status = 201, description = "Opened.", body = IncidentDetail),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid, or the commander is no user.", body = ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateIncident>,
) -> Result<Response, Error> {
    let body = body.normalized();
    check(&body)?;
    let mut tx = state.db.begin().await?;
    let actor = mutation.principal.name.clone();
    let commander = match &body.commander {
        Some(named) => crate::rbac::store::get_user(&mut tx, named)
            .await?
            .map(|user| user.email)
            .ok_or_else(|| Error::invalid("commander", format!("no user `{named}`")))?,
        None => actor.clone(),
    };
    let incident = Incident {
        id: uuid::Uuid::now_v7().to_string(),
        title: body.title.clone(),
        severity: body.severity,
        commander: commander.clone(),
        status: IncidentStatus::Open,
        opened_by: actor.clone(),
        started_at: db::now(),
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: None,
    };
    store::insert(&mut tx, &incident).await?;
    timeline::append(
        &mut tx,
        &incident.id,
        &actor,
        kind::OPENED,
        &format!(
            "{} incident opened: {} (commander {commander})",
            incident.severity, incident.title
        ),
        Some(&json!({ "severity": incident.severity, "commander": commander })),
    )
    .await?;
    let detail = detail(&mut tx, &state, incident).await?;
    let change =
        Change::new("incident.open", audit_target(&detail.incident.id)).after(&detail.incident)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&detail))
        .await
}

/// Reads one incident with its timeline, targets, linked alerts and
/// escalations.
#[utoipa::path(get, path = "/v1/incidents/{incident}", tag = "incidents", operation_id = "get_incident",
    params(IncidentPath),
    responses(
        (status = 200, body = IncidentDetail),
        (status = 404, description = "No such incident.", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    Path(IncidentPath { incident }): Path<IncidentPath>,
) -> Result<Json<IncidentDetail>, Error> {
    let mut conn = state.db.pool().acquire().await?;
    let found = store::get(&mut conn, &incident)
        .await?
        .ok_or(Error::IncidentNotFound(incident))?;
    Ok(Json(detail(&mut conn, &state, found.incident).await?))
}

/// Someone is on it: stops the escalations.
#[utoipa::path(post, path = "/v1/incidents/{incident}/acknowledge", tag = "incidents", operation_id = "acknowledge_incident",
    params(IncidentPath),
    responses(
        (status = 200, description = "Acknowledged.", body = IncidentDetail),
        (status = 404, description = "No such incident.", body = ErrorEnvelope),
        (status = 409, description = "It was acknowledged, mitigated or resolved already.", body = ErrorEnvelope)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(IncidentPath { incident }): Path<IncidentPath>,
) -> Result<Response, Error> {
    transition(
        &state,
        mutation,
        &incident,
        &[IncidentStatus::Open],
        IncidentStatus::Acknowledged,
    )
    .await
}

/// The impact is over, the cause may not be.
#[utoipa::path(post, path = "/v1/incidents/{incident}/mitigate", tag = "incidents", operation_id = "mitigate_incident",
    params(IncidentPath),
    responses(
        (status = 200, description = "Mitigated.", body = IncidentDetail),
        (status = 404, description = "No such incident.", body = ErrorEnvelope),
        (status = 409, description = "It was mitigated or resolved already.", body = ErrorEnvelope)))]
pub async fn mitigate(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(IncidentPath { incident }): Path<IncidentPath>,
) -> Result<Response, Error> {
    transition(
        &state,
        mutation,
        &incident,
        &[IncidentStatus::Open, IncidentStatus::Acknowledged],
        IncidentStatus::Mitigated,
    )
    .await
}

/// Over: the incident's timeline stays for the review.
#[utoipa::path(post, path = "/v1/incidents/{incident}/resolve", tag = "incidents", operation_id = "resolve_incident",
    params(IncidentPath),
    responses(
        (status = 200, description = "Resolved.", body = IncidentDetail),
        (status = 404, description = "No such incident.", body = ErrorEnvelope),
        (status = 409, description = "It was resolved already.", body = ErrorEnvelope)))]
pub async fn resolve(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(IncidentPath { incident }): Path<IncidentPath>,
) -> Result<Response, Error> {
    transition(
        &state,
        mutation,
        &incident,
        &[
            IncidentStatus::Open,
            IncidentStatus::Acknowledged,
            IncidentStatus::Mitigated,
        ],
        IncidentStatus::Resolved,
    )
    .await
}

async fn transition(
    state: &AppState,
    mutation: Mutation,
    id: &str,
    from: &[IncidentStatus],
    to: IncidentStatus,
) -> Result<Response, Error> {
    let mut tx = state.db.begin().await?;
    let actor = mutation.principal.name.clone();
    let Some(changed) = store::transition(&mut tx, id, from, to, db::now()).await? else {
        return match store::get(&mut tx, id).await? {
            Some(current) => Err(Error::IncidentTransition {
                id: id.to_string(),
                status: current.incident.status,
                to,
            }),
            None => Err(Error::IncidentNotFound(id.to_string())),
        };
    };
    timeline::append(
        &mut tx,
        id,
        &actor,
        to.as_str(),
        &format!("{} by {actor}", capitalized(to.as_str())),
        None,
    )
    .await?;
    let detail = detail(&mut tx, state, changed).await?;
    let change = Change::new(&format!("incident.{}", verb(to)), audit_target(id))
        .after(&json!({ "status": to }))?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&detail))
        .await
}

fn verb(to: IncidentStatus) -> &'static str {
    match to {
        IncidentStatus::Open => "open",
        IncidentStatus::Acknowledged => "acknowledge",
        IncidentStatus::Mitigated => "mitigate",
        IncidentStatus::Resolved => "resolve",
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Adds a note to the timeline (also after the incident is resolved, for
/// the review).
#[utoipa::path(post, path = "/v1/incidents/{incident}/notes", tag = "incidents", operation_id = "add_incident_note",
    params(IncidentPath),
    request_body = AddNote,
    responses(
        (status = 201, description = "Added.", body = IncidentDetail),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such incident.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "The text is empty or too long.", body = ErrorEnvelope)))]
pub async fn add_note(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(IncidentPath { incident }): Path<IncidentPath>,
    JsonBody(body): JsonBody<AddNote>,
) -> Result<Response, Error> {
    check(&body)?;
    let text = body.text.trim().to_string();
    let mut tx = state.db.begin().await?;
    let found = store::get(&mut tx, &incident)
        .await?
        .ok_or_else(|| Error::IncidentNotFound(incident.clone()))?;
    let seq = timeline::append(
        &mut tx,
        &incident,
        &mutation.principal.name,
        kind::NOTE,
        &text,
        None,
    )
    .await?;
    let detail = detail(&mut tx, &state, found.incident).await?;
    let change = Change::new("incident.note", audit_target(&incident))
        .after(&json!({ "seq": seq, "text": text }))?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&detail))
        .await
}

/// Links an Alertmanager alert, as the client read it.
#[utoipa::path(post, path = "/v1/incidents/{incident}/alerts", tag = "incidents", operation_id = "link_incident_alert",
    params(IncidentPath),
    request_body = LinkAlert,
    responses(
        (status = 201, description = "Linked.", body = IncidentDetail),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such incident.", body = ErrorEnvelope),
        (status = 409, description = "The alert is linked already.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid.", body = ErrorEnvelope)))]
pub async fn link_alert(
    State(state): State<AppState>,
    mutation: Mutation,
    Path(IncidentPath { incident }): Path<IncidentPath>,
    JsonBody(body): JsonBody<LinkAlert>,
) -> Result<Response, Error> {
    check(&body)?;
    let mut tx = state.db.begin().await?;
    let found = store::get(&mut tx, &incident)
        .await?
        .ok_or_else(|| Error::IncidentNotFound(incident.clone()))?;
    let actor = mutation.principal.name.clone();
    let alert = LinkedAlert {
        fingerprint: body.fingerprint.trim().to_lowercase(),
        alertname: body.alertname.trim().to_string(),
        labels: body.labels,
        starts_at: body.starts_at,
        linked_at: db::now(),
        linked_by: actor.clone(),
    };
    if !store::link_alert(&mut tx, &incident, &alert).await? {
        return Err(Error::AlertAlreadyLinked {
            incident,
            fingerprint: alert.fingerprint,
        });
    }
    timeline::append(
        &mut tx,
        &incident,
        &actor,
        kind::ALERT_LINKED,
        &format!(
            "Alert {} linked (firing since {})",
            alert.alertname,
            db::timestamp(alert.starts_at)
        ),
        Some(&serde_json::to_value(&alert)?),
    )
    .await?;
    let detail = detail(&mut tx, &state, found.incident).await?;
    let change = Change::new("incident.link_alert", audit_target(&incident)).after(&alert)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&detail))
        .await
}
