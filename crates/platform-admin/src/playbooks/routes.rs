//! `/v1/playbook-runs…`: starting a run (its playbook parsed, its
//! permissions checked against the starter's, its plan stored), reading
//! runs, and what people do to one: tick a manual step, approve, retry a
//! failed step, resume from a step. Each of these is in the run's
//! timeline with who did it, and in the audit log, in one transaction
//! with its effect and the job that goes on with the run.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdeck_api::playbooks::{
    ChecklistItem, PlaybookRun, ResumeRun, RunPage, RunState, RunStep, RunSummary, StartRun,
    StepState, TickStep, Waiting,
};
use opsdeck_api::validation::Validate;
use opsdeck_api::{ErrorEnvelope, FieldError};
use opsdeck_playbook::{Diagnostics, OnFailure, Plan, Playbook, StepKind};
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, Run, StepRow, StepUpdate};
use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use crate::http::{encode_cursor, JsonBody, QueryParams};
use crate::jobs;
use crate::mutation::Mutation;
use crate::roles::Permission;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list).require(Permission::PlaybooksRead, On::Platform))
        .routes(routes!(start).require(Permission::PlaybooksRun, On::Platform))
        .routes(routes!(get).require(Permission::PlaybooksRead, On::Platform))
        .routes(routes!(tick).require(Permission::PlaybooksRun, On::Platform))
        // The approver's role is checked by the handler: whoever holds it
        // (and may see runs) approves, whatever else the role grants.
        .routes(routes!(approve).require(Permission::PlaybooksRead, On::Platform))
        .routes(routes!(retry).require(Permission::PlaybooksRun, On::Platform))
        .routes(routes!(resume).require(Permission::PlaybooksRun, On::Platform))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The run's id.
    run: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StepPath {
    /// The run's id.
    run: String,
    /// The step's id, as the playbook names it.
    step: String,
}

fn run_id(path: Result<Path<RunPath>, PathRejection>) -> Result<String, Error> {
    let Path(RunPath { run }) =
        path.map_err(|err| Error::invalid("run", format!("bad run in the path: {err}")))?;
    Ok(run)
}

fn check(body: &impl Validate) -> Result<(), Error> {
    let errors = body.field_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(errors))
    }
}

/// What audit records name a run by.
pub fn audit_target(run: &str) -> String {
    format!("playbook-run:{run}")
}

/// The playbook a run is started with, and its plan for `inputs`: a
/// built-in playbook by id, or YAML text. Every problem is reported with
/// its position, as `source` (the playbook) or `inputs` (the plan) errors.
pub fn load(source: &str, inputs: &BTreeMap<String, String>) -> Result<(Playbook, Plan), Error> {
    let trimmed = source.trim();
    let builtin = opsdeck_playbook::builtin()
        .into_iter()
        .find(|(file, _)| file.trim_end_matches(".yaml") == trimmed);
    let (name, text) = match builtin {
        Some((file, text)) => (
            format!("{}{file}", opsdeck_playbook::BUILTIN_PREFIX),
            text.to_string(),
        ),
        None => ("playbook.yaml".to_string(), source.to_string()),
    };
    let playbook = opsdeck_playbook::parse(&name, &text)
        .map_err(|diagnostics| refused("source", "the playbook has errors", &diagnostics))?;
    let plan = playbook
        .plan(inputs)
        .map_err(|diagnostics| refused("inputs", "the playbook cannot be planned", &diagnostics))?;
    Ok((playbook, plan))
}

fn refused(field: &str, what: &str, diagnostics: &Diagnostics) -> Error {
    let details: Vec<FieldError> = diagnostics
        .iter()
        .map(|d| FieldError::new(field, d.to_string()))
        .collect();
    let first = diagnostics
        .iter()
        .next()
        .map(ToString::to_string)
        .unwrap_or_default();
    Error::Validation {
        message: format!("{what}: {first}"),
        details,
    }
}

/// The permissions the plan's actions need.
fn needed(plan: &Plan) -> Vec<Permission> {
    let mut needed: Vec<Permission> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Action { name, .. } => Some(name.permission()),
            _ => None,
        })
        .collect();
    needed.sort();
    needed.dedup();
    needed
}

/// Refuses a caller who may not run every action of the plan.
fn may_run(principal: &Principal, plan: &Plan) -> Result<(), Error> {
    let missing: Vec<FieldError> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Action { name, .. } if !principal.grants.on_platform(name.permission()) => {
                Some(FieldError::new(
                    "",
                    format!(
                        "step `{}`: {name} needs the permission {}, which your role does not grant",
                        s.id,
                        name.permission()
                    ),
                ))
            }
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::RunForbidden {
        message: format!("you may not run this playbook: {}", missing[0].message),
        details: missing,
    })
}

fn on_failure(on: &OnFailure) -> String {
    match on {
        OnFailure::Abort => "abort".into(),
        OnFailure::Continue => "continue".into(),
        OnFailure::Goto(step) => format!("goto {step}"),
    }
}

pub fn summary(run: &Run) -> RunSummary {
    RunSummary {
        id: run.id.clone(),
        playbook: run.playbook_id.clone(),
        title: run.title.clone(),
        state: run.state,
        current_step: run.plan.steps.get(run.cursor).map(|s| s.id.clone()),
        started_by: run.starter.clone(),
        incident_id: run.incident_id.clone(),
        error: run.error.clone(),
        created_at: run.created_at,
        updated_at: run.updated_at,
        finished_at: run.finished_at,
    }
}

/// The run as the API shows it, read inside `conn`.
pub async fn read(conn: &mut AnyConnection, id: &str) -> Result<PlaybookRun, Error> {
    let run = store::get(conn, id)
        .await?
        .ok_or_else(|| Error::RunNotFound(id.to_string()))?;
    let rows = store::steps(conn, id).await?;
    let events = store::events(conn, id).await?;
    let approvals = store::approvals(conn, id).await?;
    Ok(wire(&run, &rows, events, approvals))
}

fn wire(
    run: &Run,
    rows: &[StepRow],
    events: Vec<opsdeck_api::playbooks::RunEvent>,
    approvals: Vec<opsdeck_api::playbooks::RunApproval>,
) -> PlaybookRun {
    let steps = run
        .plan
        .steps
        .iter()
        .enumerate()
        .map(|(idx, step)| {
            let row = rows.iter().find(|r| r.idx == idx);
            let checklist = match &step.kind {
                StepKind::Manual { checklist, .. } => checklist
                    .iter()
                    .enumerate()
                    .map(|(i, text)| ChecklistItem {
                        text: text.clone(),
                        ticked: row.is_some_and(|r| r.ticked.contains(&(i as u32))),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            RunStep {
                id: step.id.clone(),
                title: step.title.clone(),
                kind: step.kind.name().to_string(),
                summary: step.summary.clone(),
                on_failure: on_failure(&step.on_failure),
                state: row.map_or(StepState::Pending, |r| r.state),
                attempt: row.map_or(0, |r| r.attempt),
                started_at: row.and_then(|r| r.started_at),
                finished_at: row.and_then(|r| r.finished_at),
                result: row.and_then(|r| r.result.clone()),
                error: row.and_then(|r| r.error.clone()),
                job: row.and_then(|r| r.job_id.clone()),
                live: row.and_then(|r| r.live.clone()),
                checklist,
            }
        })
        .collect();
    let waiting = (run.state == RunState::Waiting)
        .then(|| run.plan.steps.get(run.cursor))
        .flatten()
        .map(|step| {
            let (role, reason) = match &step.kind {
                StepKind::Approval { role, reason } => (Some(role.clone()), Some(reason.clone())),
                _ => (None, None),
            };
            Waiting {
                step: step.id.clone(),
                kind: step.kind.name().to_string(),
                role,
                reason,
                following: run.plan.steps[run.cursor + 1..]
                    .iter()
                    .map(|s| format!("{}: {}", s.id, s.summary))
                    .collect(),
                may_approve: None,
                why_not: None,
            }
        });
    PlaybookRun {
        summary: summary(run),
        inputs: run.inputs.clone(),
        steps,
        waiting,
        approvals,
        events,
    }
}

/// Lists runs, newest first, a page at a time (without their steps).
#[utoipa::path(get, path = "/v1/playbook-runs", tag = "playbooks", operation_id = "list_playbook_runs",
    params(opsdeck_api::playbooks::ListRuns),
    responses(
        (status = 200, description = "One page of runs, newest first.", body = RunPage),
        (status = 422, description = "A bad or unknown query parameter.", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<RunPage>, Error> {
    let params = QueryParams::parse(query.as_deref(), &["limit", "cursor", "incident"])?;
    let limit = params.limit()?;
    let before = params.cursor()?;
    let incident = params.get("incident");
    let mut runs = store::list(&state.db, before.as_deref(), incident, limit + 1).await?;
    let next_cursor = if runs.len() > limit as usize {
        runs.truncate(limit as usize);
        runs.last().map(|run| encode_cursor(&run.id))
    } else {
        None
    };
    Ok(Json(RunPage {
        items: runs.iter().map(summary).collect(),
        next_cursor,
    }))
}

/// Starts a run: the playbook (YAML, or a built-in playbook's id) is
/// parsed and planned with the inputs, every action's permission is
/// checked against the caller's, and the plan is stored, so the run uses
/// exactly this version; a job then runs it. The answer is the run, to
/// follow at `GET /v1/playbook-runs/{run}`.
#[utoipa::path(post, path = "/v1/playbook-runs", tag = "playbooks", operation_id = "start_playbook_run",
    request_body = StartRun,
    responses(
        (status = 201, description = "Started.", body = PlaybookRun),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "An action of the playbook needs a permission the caller lacks (each named with its step's position).", body = ErrorEnvelope),
        (status = 404, description = "No incident `incident_id`.", body = ErrorEnvelope),
        (status = 409, description = "The incident `incident_id` is resolved.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "The playbook has errors, or its inputs do not fit it: each with its line and column.", body = ErrorEnvelope)))]
pub async fn start(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<StartRun>,
) -> Result<Response, Error> {
    check(&body)?;
    let (playbook, plan) = load(&body.source, &body.inputs)?;
    let grants = &mutation.principal.grants;
    let missing = playbook.check_permissions(|p| grants.on_platform(p));
    if !missing.is_empty() {
        let details: Vec<FieldError> = missing
            .iter()
            .map(|d| FieldError::new("source", d.to_string()))
            .collect();
        return Err(Error::RunForbidden {
            message: format!("you may not run this playbook: {}", details[0].message),
            details,
        });
    }
    let actor = mutation.principal.name.clone();
    let id = uuid::Uuid::now_v7().to_string();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if let Some(incident) = body.incident_id.as_deref() {
        let found = crate::incidents::store::get(&mut tx, incident)
            .await?
            .ok_or_else(|| Error::IncidentNotFound(incident.to_string()))?;
        if found.incident.status == opsdeck_api::incidents::IncidentStatus::Resolved {
            return Err(Error::RunState(format!(
                "incident `{incident}` is resolved; a run cannot be started for it"
            )));
        }
    }
    let job = jobs::enqueue_in(
        &mut tx,
        state.db.kind(),
        super::driving_job(&id, &actor),
        now,
    )
    .await?;
    store::insert(
        &mut tx,
        &store::NewRun {
            id: &id,
            source: &body.source,
            inputs: &body.inputs,
            plan: &plan,
            starter: &actor,
            starter_subject: &mutation.principal.owner,
            incident_id: body.incident_id.as_deref(),
            job_id: &job.id,
        },
        now,
    )
    .await?;
    store::event(
        &mut tx,
        &id,
        &actor,
        "started",
        None,
        &format!("{actor} started {} ({})", plan.title, plan.playbook),
        now,
    )
    .await?;
    let wire = read(&mut tx, &id).await?;
    let change = Change::new("playbook.run", audit_target(&id)).after(&json!({
        "playbook": plan.playbook,
        "inputs": body.inputs,
        "incident_id": body.incident_id,
        "job": job.id,
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::CREATED, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}

/// Reads a run: each step with its state, attempt, times, result or
/// error, its job (an action), its live value (a check), its checklist (a
/// manual step); what it waits for, with the dry run of the steps that
/// follow; its approvals; its events in order.
#[utoipa::path(get, path = "/v1/playbook-runs/{run}", tag = "playbooks", operation_id = "get_playbook_run",
    params(RunPath),
    responses(
        (status = 200, body = PlaybookRun),
        (status = 404, description = "No such run.", body = ErrorEnvelope),
        (status = 422, description = "The run in the path is not valid UTF-8.", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<RunPath>, PathRejection>,
) -> Result<Json<PlaybookRun>, Error> {
    let id = run_id(path)?;
    let mut conn = state.db.pool().acquire().await?;
    let mut wire = read(&mut conn, &id).await?;
    if let Some(waiting) = wire.waiting.as_mut() {
        if let (Some(role), Some(run)) = (waiting.role.clone(), store::get(&mut conn, &id).await?) {
            let refusal =
                approval_refusal(&mut conn, &principal, &run, &waiting.step, &role).await?;
            waiting.may_approve = Some(refusal.is_none());
            waiting.why_not = refusal;
        }
    }
    Ok(Json(wire))
}

/// Why `principal` may not give the approval of `step` (asking `role`) that
/// `run` waits on, or `None` when it may: the one rule `approve` enforces
/// and `get` shows, so the console offers Approve only where it is accepted.
async fn approval_refusal(
    conn: &mut AnyConnection,
    principal: &Principal,
    run: &Run,
    step: &str,
    role: &str,
) -> Result<Option<String>, Error> {
    let actor = &principal.name;
    if principal.owner == run.starter_subject || *actor == run.starter {
        return Ok(Some(format!(
            "{actor} started this run and cannot approve it: a second person holding the role {role} must"
        )));
    }
    if !store::holds_role(conn, &principal.owner, role).await? {
        return Ok(Some(format!(
            "approving step `{step}` needs the role {role}, which {actor} does not hold in a binding on the platform"
        )));
    }
    Ok(None)
}

/// Hands the run to a new job going on from step `cursor`, in `tx`.
async fn go_on(
    state: &AppState,
    tx: &mut AnyConnection,
    run: &str,
    actor: &str,
    cursor: usize,
) -> Result<String, Error> {
    let now = db::now();
    let job = jobs::enqueue_in(tx, state.db.kind(), super::driving_job(run, actor), now).await?;
    store::hand_to(tx, run, &job.id, cursor, now).await?;
    Ok(job.id)
}

async fn locked(tx: &mut AnyConnection, id: &str) -> Result<Run, Error> {
    // Taking the row first makes concurrent changes of one run queue on
    // PostgreSQL (SQLite's write transactions already do).
    sqlx::query("UPDATE playbook_runs SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    store::get(tx, id)
        .await?
        .ok_or_else(|| Error::RunNotFound(id.to_string()))
}

/// Ticks checklist items of the waiting manual step and, with `done`,
/// marks it done (every item must be ticked by then): the run goes on.
#[utoipa::path(post, path = "/v1/playbook-runs/{run}/steps/{step}/tick", tag = "playbooks", operation_id = "tick_playbook_step",
    params(StepPath),
    request_body = TickStep,
    responses(
        (status = 200, description = "Ticked; the run as it is now.", body = PlaybookRun),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such run or step.", body = ErrorEnvelope),
        (status = 409, description = "The step is not a manual step waiting to be done, or items are left unticked.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "An item that the checklist does not have.", body = ErrorEnvelope)))]
pub async fn tick(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<StepPath>, PathRejection>,
    JsonBody(body): JsonBody<TickStep>,
) -> Result<Response, Error> {
    let Path(StepPath { run: id, step }) =
        path.map_err(|err| Error::invalid("step", format!("bad run or step in the path: {err}")))?;
    check(&body)?;
    let actor = mutation.principal.name.clone();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let run = locked(&mut tx, &id).await?;
    let (idx, planned) = run.plan.step(&step).ok_or_else(|| Error::StepNotFound {
        run: id.clone(),
        step: step.clone(),
    })?;
    let StepKind::Manual { checklist, .. } = &planned.kind else {
        return Err(Error::RunState(format!(
            "step `{step}` is not a manual step"
        )));
    };
    let row = store::step(&mut tx, &id, idx).await?;
    if run.state != RunState::Waiting
        || run.cursor != idx
        || row.as_ref().map(|r| r.state) != Some(StepState::Waiting)
    {
        return Err(Error::RunState(format!(
            "step `{step}` is not waiting to be done: the run is {}{}",
            run.state.as_str(),
            run.plan
                .steps
                .get(run.cursor)
                .map(|s| format!(" at step `{}`", s.id))
                .unwrap_or_default()
        )));
    }
    if let Some(bad) = body.items.iter().find(|i| **i as usize >= checklist.len()) {
        return Err(Error::invalid(
            "items",
            format!(
                "the checklist of `{step}` has {} items (0 to {}); there is no item {bad}",
                checklist.len(),
                checklist.len().saturating_sub(1)
            ),
        ));
    }
    let mut ticked = row.map(|r| r.ticked).unwrap_or_default();
    for item in &body.items {
        if !ticked.contains(item) {
            ticked.push(*item);
            store::event(
                &mut tx,
                &id,
                &actor,
                "ticked",
                Some(&step),
                &format!("ticked: {}", checklist[*item as usize]),
                now,
            )
            .await?;
        }
    }
    ticked.sort_unstable();
    let mut update = StepUpdate {
        ticked: Some(&ticked),
        ..StepUpdate::default()
    };
    let result = json!({ "done_by": actor, "ticked": ticked });
    if body.done {
        let left: Vec<&str> = checklist
            .iter()
            .enumerate()
            .filter(|(i, _)| !ticked.contains(&(*i as u32)))
            .map(|(_, text)| text.as_str())
            .collect();
        if !left.is_empty() {
            return Err(Error::RunState(format!(
                "step `{step}` cannot be done with items unticked: {}",
                left.join("; ")
            )));
        }
        update.state = Some(StepState::Succeeded);
        update.finished = true;
        update.result = Some(&result);
    }
    store::update_step(&mut tx, &id, idx, update, now).await?;
    let mut job = None;
    if body.done {
        store::event(
            &mut tx,
            &id,
            &actor,
            "step_done",
            Some(&step),
            &format!("{actor} marked it done"),
            now,
        )
        .await?;
        job = Some(go_on(&state, &mut tx, &id, &actor, idx + 1).await?);
    }
    let wire = read(&mut tx, &id).await?;
    let change = Change::new("playbook.tick", audit_target(&id)).after(&json!({
        "step": step, "ticked": ticked, "done": body.done, "job": job,
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}

/// Approves the approval step the run waits on. The approver must hold
/// the step's role in a binding on the platform and must not be who
/// started the run. The answer (like `GET`) shows what the approval lets
/// happen: the dry run of the steps that follow.
#[utoipa::path(post, path = "/v1/playbook-runs/{run}/approve", tag = "playbooks", operation_id = "approve_playbook_run",
    params(RunPath),
    responses(
        (status = 200, description = "Approved; the run goes on.", body = PlaybookRun),
        (status = 403, description = "The caller started the run, or does not hold the role the step asks for.", body = ErrorEnvelope),
        (status = 404, description = "No such run.", body = ErrorEnvelope),
        (status = 409, description = "The run is not waiting for an approval.", body = ErrorEnvelope)))]
pub async fn approve(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<RunPath>, PathRejection>,
) -> Result<Response, Error> {
    let id = run_id(path)?;
    let actor = mutation.principal.name.clone();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let run = locked(&mut tx, &id).await?;
    let step = run.plan.steps.get(run.cursor);
    let (step, role) = match step.map(|s| (s, &s.kind)) {
        Some((step, StepKind::Approval { role, .. })) if run.state == RunState::Waiting => {
            (step, role.clone())
        }
        _ => {
            return Err(Error::RunState(format!(
                "run `{id}` is not waiting for an approval (it is {})",
                run.state.as_str()
            )))
        }
    };
    if let Some(message) =
        approval_refusal(&mut tx, &mutation.principal, &run, &step.id, &role).await?
    {
        return Err(Error::RunForbidden {
            message,
            details: Vec::new(),
        });
    }
    store::insert_approval(&mut tx, &id, &step.id, &actor, &role, now).await?;
    let result = json!({ "approved_by": actor, "role": role });
    store::update_step(
        &mut tx,
        &id,
        run.cursor,
        StepUpdate {
            state: Some(StepState::Succeeded),
            finished: true,
            result: Some(&result),
            ..StepUpdate::default()
        },
        now,
    )
    .await?;
    store::event(
        &mut tx,
        &id,
        &actor,
        "approved",
        Some(&step.id),
        &format!("{actor} approved as {role}"),
        now,
    )
    .await?;
    let job = go_on(&state, &mut tx, &id, &actor, run.cursor + 1).await?;
    let mut wire = read(&mut tx, &id).await?;
    // What the approval lets happen, as the approver saw it.
    wire.waiting = Some(Waiting {
        step: step.id.clone(),
        kind: "approval".into(),
        role: Some(role.clone()),
        reason: None,
        following: run.plan.steps[run.cursor + 1..]
            .iter()
            .map(|s| format!("{}: {}", s.id, s.summary))
            .collect(),
        may_approve: None,
        why_not: None,
    });
    let change = Change::new("playbook.approve", audit_target(&id)).after(&json!({
        "step": step.id, "role": role, "job": job,
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}

/// Runs the failed step of a failed run again (a new attempt), then the
/// rest. Needs what running every action of the run needs.
#[utoipa::path(post, path = "/v1/playbook-runs/{run}/retry", tag = "playbooks", operation_id = "retry_playbook_run",
    params(RunPath),
    responses(
        (status = 200, description = "Queued again.", body = PlaybookRun),
        (status = 403, description = "An action of the run needs a permission the caller lacks.", body = ErrorEnvelope),
        (status = 404, description = "No such run.", body = ErrorEnvelope),
        (status = 409, description = "The run has not failed.", body = ErrorEnvelope)))]
pub async fn retry(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<RunPath>, PathRejection>,
) -> Result<Response, Error> {
    let id = run_id(path)?;
    let actor = mutation.principal.name.clone();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let run = locked(&mut tx, &id).await?;
    if run.state != RunState::Failed {
        return Err(Error::RunState(format!(
            "run `{id}` has not failed (it is {}); only a failed run's step can be retried",
            run.state.as_str()
        )));
    }
    may_run(&mutation.principal, &run.plan)?;
    let step = run
        .plan
        .steps
        .get(run.cursor)
        .map(|s| s.id.clone())
        .unwrap_or_default();
    store::update_step(
        &mut tx,
        &id,
        run.cursor,
        StepUpdate {
            state: Some(StepState::Pending),
            ..StepUpdate::default()
        },
        now,
    )
    .await?;
    store::event(
        &mut tx,
        &id,
        &actor,
        "retried",
        Some(&step),
        &format!("{actor} retried step {step}"),
        now,
    )
    .await?;
    let job = go_on(&state, &mut tx, &id, &actor, run.cursor).await?;
    let wire = read(&mut tx, &id).await?;
    let change = Change::new("playbook.retry", audit_target(&id)).after(&json!({
        "step": step, "job": job, "needs": needed(&run.plan),
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}

/// Goes on with a failed or waiting run from a step (the one it is at
/// when `from` is absent): that step and every later one run again. Needs
/// what running every action of the run needs.
#[utoipa::path(post, path = "/v1/playbook-runs/{run}/resume", tag = "playbooks", operation_id = "resume_playbook_run",
    params(RunPath),
    request_body = ResumeRun,
    responses(
        (status = 200, description = "Queued from that step.", body = PlaybookRun),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "An action of the run needs a permission the caller lacks.", body = ErrorEnvelope),
        (status = 404, description = "No such run or step.", body = ErrorEnvelope),
        (status = 409, description = "The run is queued or running.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid.", body = ErrorEnvelope)))]
pub async fn resume(
    State(state): State<AppState>,
    mutation: Mutation,
    path: Result<Path<RunPath>, PathRejection>,
    JsonBody(body): JsonBody<ResumeRun>,
) -> Result<Response, Error> {
    let id = run_id(path)?;
    check(&body)?;
    let actor = mutation.principal.name.clone();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let run = locked(&mut tx, &id).await?;
    if !matches!(run.state, RunState::Failed | RunState::Waiting) {
        return Err(Error::RunState(format!(
            "run `{id}` is {}; only a failed or waiting run can be resumed",
            run.state.as_str()
        )));
    }
    may_run(&mutation.principal, &run.plan)?;
    let from = match &body.from {
        Some(step) => run
            .plan
            .step(step.trim())
            .map(|(idx, _)| idx)
            .ok_or_else(|| Error::StepNotFound {
                run: id.clone(),
                step: step.clone(),
            })?,
        None => run.cursor.min(run.plan.steps.len().saturating_sub(1)),
    };
    let step = run
        .plan
        .steps
        .get(from)
        .map(|s| s.id.clone())
        .unwrap_or_default();
    store::reset_from(&mut tx, &id, from).await?;
    store::event(
        &mut tx,
        &id,
        &actor,
        "resumed",
        Some(&step),
        &format!("{actor} resumed the run from step {step}"),
        now,
    )
    .await?;
    let job = go_on(&state, &mut tx, &id, &actor, from).await?;
    let wire = read(&mut tx, &id).await?;
    let change = Change::new("playbook.resume", audit_target(&id)).after(&json!({
        "from": step, "job": job,
    }))?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&wire))
        .await?;
    jobs::woken(&state.db);
    Ok(response)
}
