//! What a `playbook_run` job does: runs the run's steps from where it is
//! until it ends or waits on a person, writing every transition before
//! acting on it. A step that starts a job enqueues it in the transaction
//! that records the job's id on the step, so a run taken up again after a
//! crash follows that job instead of sending it twice; a silence is looked
//! for by its marker before one is made. Every write is fenced by the job
//! that drives the run (`store::fence`): a superseded job changes nothing.

use std::time::Duration;

use opsdeck_api::approvals::ApprovalAction;
use opsdeck_api::backups::BackupType;
use opsdeck_api::clusters::FailoverRequest;
use opsdeck_api::playbooks::{LiveValue, RunState, StepState};
use opsdeck_api::tenants::TenantStatus;
use opsdeck_playbook::{ActionName, ArgValue, Condition, OnFailure, PlannedStep, StepKind};
use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::monitoring;
use super::store::{self, Run, StepRow, StepUpdate};
use crate::db;
use crate::error::Error;
use crate::jobs::{self, Claim, Job, JobState, NewJob, Progress};
use crate::tenants::store::TenantRef;
use crate::AppState;

/// Who the timeline names for what the engine does by itself.
pub const ENGINE: &str = "playbook-engine";

/// How a step went.
enum Outcome {
    Done(Value),
    Failed(String),
    /// A person must act (manual step, approval): the job ends here.
    Wait(String),
    /// The step wrote its own outcome (with its effect, in one transaction).
    Recorded,
    /// Another job drives the run now.
    Superseded,
    /// The step's job runs on: the run's job ends, and the step's job's
    /// end hands the run on.
    AwaitJob(String),
    /// A `wait_until` check is not true yet: the run's job ends, and a job
    /// of the run queued to run no earlier than this looks again. No
    /// worker is held while the run waits.
    LookAgainAt(chrono::DateTime<chrono::Utc>),
}

/// Marks a run's job queued by `Outcome::LookAgainAt`: it goes on in the
/// middle of the step, and the timeline is not told again that the run
/// is running.
const LOOK_AGAIN: &str = "look_again";

/// Runs the job: `Ok(Ok(result))` when it ended well (the run ended,
/// waits, or was handed on), `Ok(Err(reason))` when the run failed, `Err`
/// when the store refused.
pub async fn run(
    state: &AppState,
    job: &Job,
    claim: &Claim,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Result<Value, String>, Error> {
    let Some(run_id) = job.payload.get("run").and_then(Value::as_str) else {
        return Ok(Err("the job names no playbook run".into()));
    };
    let mut announced = false;
    loop {
        let now = db::now();
        let mut tx = state.db.begin().await?;
        if !store::fence(&mut tx, run_id, &job.id, now).await? {
            return Ok(Ok(json!({ "run": run_id, "superseded": true })));
        }
        let run = store::get(&mut tx, run_id)
            .await?
            .ok_or_else(|| Error::RunNotFound(run_id.to_string()))?;
        if run.state.ended() {
            tx.commit().await?;
            return Ok(Ok(json!({ "run": run_id, "state": run.state.as_str() })));
        }
        if *stop.borrow() {
            store::set_run(
                &mut tx,
                run_id,
                RunState::Failed,
                run.cursor,
                Some("its job was cancelled"),
                now,
            )
            .await?;
            store::event(
                &mut tx,
                run_id,
                ENGINE,
                "failed",
                None,
                "the run's job was cancelled",
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(Err("cancelled".into()));
        }
        // A `wait_until` looking again: the run never stopped running, and
        // the timeline is not told so at every look.
        let looking_again = job.attempts == 1 && job.payload.get(LOOK_AGAIN).is_some();
        if !announced && !looking_again {
            announced = true;
            let message = if job.attempts > 1 {
                "taken up again after platform-admin stopped; going on at the step it was at"
            } else {
                "running"
            };
            store::set_run(&mut tx, run_id, RunState::Running, run.cursor, None, now).await?;
            let kind = if job.attempts > 1 {
                "resumed"
            } else {
                "running"
            };
            let at = run.plan.steps.get(run.cursor).map(|s| s.id.as_str());
            store::event(&mut tx, run_id, ENGINE, kind, at, message, now).await?;
        }
        let Some(step) = run.plan.steps.get(run.cursor) else {
            let len = run.plan.steps.len();
            store::set_run(&mut tx, run_id, RunState::Succeeded, len, None, now).await?;
            store::event(
                &mut tx,
                run_id,
                ENGINE,
                "succeeded",
                None,
                "every step is done",
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(Ok(json!({ "run": run_id, "state": "succeeded" })));
        };
        let row = store::step(&mut tx, run_id, run.cursor)
            .await?
            .ok_or_else(|| {
                Error::Corrupt(format!("playbook run {run_id} lacks step {}", run.cursor))
            })?;
        let row = match row.state {
            StepState::Succeeded | StepState::Skipped => {
                store::set_run(
                    &mut tx,
                    run_id,
                    RunState::Running,
                    run.cursor + 1,
                    None,
                    now,
                )
                .await?;
                tx.commit().await?;
                continue;
            }
            StepState::Pending | StepState::Failed => {
                store::update_step(
                    &mut tx,
                    run_id,
                    run.cursor,
                    StepUpdate {
                        state: Some(StepState::Running),
                        start: true,
                        ..StepUpdate::default()
                    },
                    now,
                )
                .await?;
                store::event(
                    &mut tx,
                    run_id,
                    ENGINE,
                    "step_started",
                    Some(&step.id),
                    &step.summary,
                    now,
                )
                .await?;
                let row = store::step(&mut tx, run_id, run.cursor)
                    .await?
                    .unwrap_or(row);
                tx.commit().await?;
                row
            }
            // Taken up again mid-step, or a waiting step looked at again.
            StepState::Running | StepState::Waiting => {
                tx.commit().await?;
                row
            }
        };
        report(state, claim, &run, step).await?;
        let outcome = execute(state, job, claim, &run, step, &row, &stop).await?;
        match record(state, job, &run, step, outcome).await? {
            Some(end) => return Ok(end),
            None => continue,
        }
    }
}

/// The run's job shows the step it is at.
async fn report(
    state: &AppState,
    claim: &Claim,
    run: &Run,
    step: &PlannedStep,
) -> Result<(), Error> {
    let progress = Progress {
        done: run.cursor as u64,
        total: Some(run.plan.steps.len() as u64),
        phase: Some(format!("step {}", step.id)),
    };
    tolerated(jobs::report_progress(&state.db, claim, &progress, db::now()).await)
}

fn tolerated(stored: Result<(), Error>) -> Result<(), Error> {
    match stored {
        Err(err @ Error::JobTakenOver { .. }) => Err(err),
        Err(err) => {
            tracing::warn!(error = %err, "cannot record a playbook run's progress");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Writes how the step went and where the run goes next; `Some` when the
/// job ends here.
async fn record(
    state: &AppState,
    job: &Job,
    run: &Run,
    step: &PlannedStep,
    outcome: Outcome,
) -> Result<Option<Result<Value, String>>, Error> {
    let now = db::now();
    let superseded = || Some(Ok(json!({ "run": run.id, "superseded": true })));
    match outcome {
        Outcome::Recorded => return Ok(None),
        Outcome::Superseded => return Ok(superseded()),
        Outcome::AwaitJob(child) => {
            return Ok(Some(Ok(json!({ "run": run.id, "following": child }))))
        }
        Outcome::LookAgainAt(at) => return look_again_at(state, job, run, at).await,
        _ => {}
    }
    let mut tx = state.db.begin().await?;
    if !store::fence(&mut tx, &run.id, &job.id, now).await? {
        return Ok(superseded());
    }
    let end = match outcome {
        Outcome::Done(result) => {
            succeed(&mut tx, run, step, &result, now).await?;
            None
        }
        Outcome::Failed(reason) => failed(&mut tx, run, step, &reason, now).await?,
        Outcome::Wait(why) => {
            store::update_step(
                &mut tx,
                &run.id,
                run.cursor,
                StepUpdate {
                    state: Some(StepState::Waiting),
                    ..StepUpdate::default()
                },
                now,
            )
            .await?;
            store::set_run(&mut tx, &run.id, RunState::Waiting, run.cursor, None, now).await?;
            store::event(
                &mut tx,
                &run.id,
                ENGINE,
                "waiting",
                Some(&step.id),
                &why,
                now,
            )
            .await?;
            Some(Ok(json!({ "run": run.id, "waiting": step.id })))
        }
        Outcome::Recorded
        | Outcome::Superseded
        | Outcome::AwaitJob(_)
        | Outcome::LookAgainAt(_) => None,
    };
    tx.commit().await?;
    Ok(end)
}

/// Queues the run's next job to run no earlier than `at`, and hands the
/// run to it, in one transaction; the job that looked ends here, so the
/// worker is free for other jobs meanwhile.
async fn look_again_at(
    state: &AppState,
    job: &Job,
    run: &Run,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Result<Value, String>>, Error> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if !store::fence(&mut tx, &run.id, &job.id, now).await? {
        return Ok(Some(Ok(json!({ "run": run.id, "superseded": true }))));
    }
    let mut next = super::driving_job(&run.id, ENGINE);
    next.payload[LOOK_AGAIN] = json!(true);
    let next = jobs::enqueue_in_at(&mut tx, state.db.kind(), next, now, Some(at)).await?;
    store::pass_to(&mut tx, &run.id, &next.id, now).await?;
    tx.commit().await?;
    jobs::woken(&state.db);
    Ok(Some(Ok(
        json!({ "run": run.id, "next_look": next.id, "not_before": db::timestamp(at) }),
    )))
}

/// The step succeeded with `result`: the run goes to the next step.
async fn succeed(
    tx: &mut AnyConnection,
    run: &Run,
    step: &PlannedStep,
    result: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    store::update_step(
        tx,
        &run.id,
        run.cursor,
        StepUpdate {
            state: Some(StepState::Succeeded),
            finished: true,
            result: Some(result),
            ..StepUpdate::default()
        },
        now,
    )
    .await?;
    let (kind, message) = match &step.kind {
        StepKind::Note { text } => ("note", text.clone()),
        _ => ("step_succeeded", said(result)),
    };
    store::event_with(
        tx,
        &run.id,
        ENGINE,
        kind,
        Some(&step.id),
        &message,
        Some(result),
        now,
    )
    .await?;
    store::set_run(tx, &run.id, RunState::Running, run.cursor + 1, None, now).await
}

/// The step failed: what its `on_failure` says happens next; `Some` when
/// the run ends failed.
async fn failed(
    tx: &mut AnyConnection,
    run: &Run,
    step: &PlannedStep,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Result<Value, String>>, Error> {
    store::update_step(
        tx,
        &run.id,
        run.cursor,
        StepUpdate {
            state: Some(StepState::Failed),
            finished: true,
            error: Some(reason),
            ..StepUpdate::default()
        },
        now,
    )
    .await?;
    store::event(
        tx,
        &run.id,
        ENGINE,
        "step_failed",
        Some(&step.id),
        reason,
        now,
    )
    .await?;
    let next = match &step.on_failure {
        OnFailure::Abort => None,
        OnFailure::Continue => Some((run.cursor + 1, "continuing with the next step".to_string())),
        OnFailure::Goto(target) => run
            .plan
            .step(target)
            .filter(|(idx, _)| *idx > run.cursor)
            .map(|(idx, _)| (idx, format!("going to step {target}"))),
    };
    match next {
        Some((idx, message)) => {
            store::skip(tx, &run.id, run.cursor + 1, idx).await?;
            store::set_run(tx, &run.id, RunState::Running, idx, None, now).await?;
            store::event(
                tx,
                &run.id,
                ENGINE,
                "on_failure",
                Some(&step.id),
                &message,
                now,
            )
            .await?;
            Ok(None)
        }
        None => {
            let error = format!("step {} failed: {reason}", step.id);
            store::set_run(tx, &run.id, RunState::Failed, run.cursor, Some(&error), now).await?;
            store::event(tx, &run.id, ENGINE, "failed", Some(&step.id), &error, now).await?;
            Ok(Some(Err(error)))
        }
    }
}

/// A result in a few words, for the timeline.
fn said(result: &Value) -> String {
    if let Some(value) = result.get("value").and_then(Value::as_f64) {
        return format!("value {value}");
    }
    if let Some(job) = result.get("job").and_then(Value::as_str) {
        return format!("job {job} succeeded");
    }
    if let Some(silence) = result.get("silence").and_then(Value::as_str) {
        return format!("silence {silence}");
    }
    "done".to_string()
}

async fn execute(
    state: &AppState,
    job: &Job,
    claim: &Claim,
    run: &Run,
    step: &PlannedStep,
    row: &StepRow,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<Outcome, Error> {
    Ok(match &step.kind {
        StepKind::Note { text } => Outcome::Done(json!({ "text": text })),
        StepKind::Manual { .. } => {
            Outcome::Wait("waiting for someone allowed to run it to do the manual step".into())
        }
        StepKind::Approval { role, .. } => Outcome::Wait(format!(
            "waiting for someone holding the role {role}, other than {}, to approve",
            run.starter
        )),
        StepKind::Check { query, condition } => {
            let prometheus = state.config.monitoring.prometheus_url.as_ref();
            let value = monitoring::instant(prometheus, query).await;
            if let Ok(value) = value {
                live(state, job, run, value).await?;
            }
            judge(value, condition)
        }
        StepKind::WaitUntil {
            query,
            condition,
            interval,
            timeout,
        } => {
            wait_until(
                state, job, run, row, query, condition, *interval, *timeout, stop,
            )
            .await?
        }
        StepKind::Action { name, args } => {
            action(state, job, claim, run, step, row, *name, args).await?
        }
    })
}

fn judge(value: Result<f64, String>, condition: &Condition) -> Outcome {
    match value {
        Ok(value) if condition.holds(value) => {
            Outcome::Done(json!({ "value": value, "condition": condition.to_string() }))
        }
        Ok(value) => Outcome::Failed(format!("the value {value} does not meet {condition}")),
        Err(reason) => Outcome::Failed(format!("the check cannot be evaluated: {reason}")),
    }
}

/// Stores the value a check read on the step.
async fn live(state: &AppState, job: &Job, run: &Run, value: f64) -> Result<(), Error> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if store::fence(&mut tx, &run.id, &job.id, now).await? {
        let live = LiveValue { value, at: now };
        store::update_step(
            &mut tx,
            &run.id,
            run.cursor,
            StepUpdate {
                live: Some(&live),
                ..StepUpdate::default()
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn wait_until(
    state: &AppState,
    job: &Job,
    run: &Run,
    row: &StepRow,
    query: &str,
    condition: &Condition,
    interval: Duration,
    timeout: Duration,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<Outcome, Error> {
    // The deadline counts from the attempt's start, as stored: a run
    // taken up again does not wait the whole timeout once more.
    let started = row.started_at.unwrap_or_else(db::now);
    let deadline = started + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
    let interval = interval.max(Duration::from_millis(200));
    let prometheus = state.config.monitoring.prometheus_url.as_ref();
    let value = monitoring::instant(prometheus, query).await;
    if let Ok(value) = value {
        live(state, job, run, value).await?;
        if condition.holds(value) {
            return Ok(Outcome::Done(
                json!({ "value": value, "condition": condition.to_string() }),
            ));
        }
    }
    let now = db::now();
    if now >= deadline || *stop.borrow() {
        let last = match value {
            Ok(value) => format!("the last value, {value}, does not meet {condition}"),
            Err(reason) => format!("the check cannot be evaluated: {reason}"),
        };
        return Ok(Outcome::Failed(format!(
            "not true within {}: {last}",
            humantime(timeout)
        )));
    }
    // Not yet: looked at again by a job queued for then, not by this one
    // sleeping on the server's worker.
    let left = deadline - now;
    let next = chrono::Duration::from_std(interval)
        .unwrap_or(left)
        .min(left);
    Ok(Outcome::LookAgainAt(now + next))
}

fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A restore's `to_time`: RFC 3339 or `now-<duration>`, counted from
/// `started`, the step's start, so that a run taken up again after a crash
/// restores to the same point; `now` asks for the newest restorable point
/// (none given), as a time past the archived WAL cannot be reached.
fn restore_point(
    time: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    if time == "now" {
        return Ok(None);
    }
    opsdeck_playbook::resolve_time(time, started).map(Some)
}

fn text<'a>(args: &'a std::collections::BTreeMap<String, ArgValue>, name: &str) -> Option<&'a str> {
    match args.get(name) {
        Some(ArgValue::Text(text)) if !text.trim().is_empty() => Some(text.trim()),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn action(
    state: &AppState,
    job: &Job,
    claim: &Claim,
    run: &Run,
    step: &PlannedStep,
    row: &StepRow,
    name: ActionName,
    args: &std::collections::BTreeMap<String, ArgValue>,
) -> Result<Outcome, Error> {
    match name {
        ActionName::TenantSuspend | ActionName::TenantResume => {
            return tenant(state, job, run, step, name, args).await
        }
        ActionName::SilenceCreate => return silence(state, run, step, args).await,
        _ => {}
    }
    let job_id = match &row.job_id {
        // Sent before platform-admin stopped: followed, never sent again.
        Some(id) => id.clone(),
        None => {
            let new = match child_job(state, run, name, args, row.started_at) {
                Ok(new) => new,
                Err(reason) => return Ok(Outcome::Failed(reason)),
            };
            let now = db::now();
            let mut tx = state.db.begin().await?;
            if !store::fence(&mut tx, &run.id, &job.id, now).await? {
                return Ok(Outcome::Superseded);
            }
            if let Some(reason) = two_person_refusal(state, &mut tx, run, step, name, now).await? {
                drop(tx);
                return Ok(Outcome::Failed(reason));
            }
            let action = name.as_str();
            let audit_target = new.target.clone().unwrap_or_default();
            let details = json!({ "run": run.id, "step": step.id, "request": new.payload });
            let child = match jobs::enqueue_in(&mut tx, state.db.kind(), new, now).await {
                Ok(child) => child,
                Err(err @ Error::TargetBusy { .. }) => {
                    drop(tx);
                    return Ok(Outcome::Failed(err.to_string()));
                }
                Err(err) => return Err(err),
            };
            store::update_step(
                &mut tx,
                &run.id,
                run.cursor,
                StepUpdate {
                    job_id: Some(&child.id),
                    ..StepUpdate::default()
                },
                now,
            )
            .await?;
            store::event(
                &mut tx,
                &run.id,
                ENGINE,
                "action_sent",
                Some(&step.id),
                &format!("{action}: job {}", child.id),
                now,
            )
            .await?;
            audit(
                &mut tx,
                run,
                action,
                &audit_target,
                None,
                &details,
                &child.id,
                now,
            )
            .await?;
            tx.commit().await?;
            jobs::woken(&state.db);
            child.id
        }
    };
    follow(state, claim, run, step, &job_id).await
}

/// The approval the server's two-person rule asks of an action whose
/// route declares the rule (restore, switchover, failover).
pub fn two_person_action(name: ActionName) -> Option<ApprovalAction> {
    match name {
        ActionName::BackupRestore => Some(ApprovalAction::BackupRestore),
        ActionName::ClusterSwitchover => Some(ApprovalAction::ClusterSwitchover),
        ActionName::ClusterFailover => Some(ApprovalAction::ClusterFailover),
        _ => None,
    }
}

/// Why the step may not run under the two-person rule, if it may not: with
/// the rule on and no maintenance window active, a destructive action runs
/// only after an earlier `approval` step of the same run approved by
/// someone other than its starter, as the rule's role (the run's own
/// approval stands for an approval request).
async fn two_person_refusal(
    state: &AppState,
    conn: &mut AnyConnection,
    run: &Run,
    step: &PlannedStep,
    name: ActionName,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, Error> {
    let rule = &state.config.two_person_rule;
    let Some(action) = two_person_action(name) else {
        return Ok(None);
    };
    if !rule.enabled || crate::approvals::in_maintenance(conn, now).await? {
        return Ok(None);
    }
    let role = rule.role();
    let earlier = |step_id: &str| {
        run.plan
            .steps
            .iter()
            .position(|s| s.id == step_id)
            .is_some_and(|idx| idx < run.cursor)
    };
    let approved = store::approvals(conn, &run.id)
        .await?
        .into_iter()
        .any(|a| earlier(&a.step) && a.role == role && a.approver != run.starter);
    if approved {
        return Ok(None);
    }
    Ok(Some(format!(
        "step `{}` ({action}) needs a second person's approval under the server's two-person rule: \
         an earlier approval step of this run with the role {role}, approved by someone other than {}; \
         this run has none (add an approval step with `role: {role}` before it, or run it in a maintenance window)",
        step.id, run.starter
    )))
}

/// The job an action starts, as its route would queue it.
fn child_job(
    state: &AppState,
    run: &Run,
    name: ActionName,
    args: &std::collections::BTreeMap<String, ArgValue>,
    step_started: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<NewJob, String> {
    let actor = Some(format!("{} (playbook run {})", run.starter, run.id));
    let backup_target = || {
        let id = text(args, "target").ok_or("the action names no backup target")?;
        state
            .config
            .backup_target(id)
            .ok_or_else(|| format!("no backup target `{id}` in the server's configuration"))
    };
    let (kind, payload, target) = match name {
        ActionName::BackupCreate => {
            let target = backup_target()?;
            let kind = text(args, "type").unwrap_or("full");
            let backup_type: BackupType = serde_json::from_value(json!(kind))
                .map_err(|_| format!("`{kind}` is not a backup type (full, incr, diff)"))?;
            (
                crate::backups::KIND,
                json!({ "target": target.id, "type": backup_type }),
                crate::backups::job_target(&target.id),
            )
        }
        ActionName::BackupVerify => {
            let target = backup_target()?;
            (
                crate::backups::VERIFY_KIND,
                json!({ "target": target.id, "set": text(args, "backup") }),
                crate::backups::job_target(&target.id),
            )
        }
        ActionName::BackupRestore => {
            let target = backup_target()?;
            if let Some(why) = target.unrestorable() {
                return Err(why);
            }
            let to = match text(args, "to_time") {
                None => None,
                Some(time) => restore_point(time, step_started.unwrap_or_else(db::now))?,
            };
            (
                crate::backups::RESTORE_KIND,
                json!({ "target": target.id, "to": to }),
                crate::backups::job_target(&target.id),
            )
        }
        ActionName::ClusterSwitchover | ActionName::ClusterFailover => {
            let id = text(args, "cluster").ok_or("the action names no cluster")?;
            let cluster = state
                .config
                .cluster(id)
                .ok_or_else(|| format!("no cluster `{id}` in the server's configuration"))?;
            let request = FailoverRequest {
                candidate: text(args, "candidate").map(str::to_string),
                force: false,
                reason: Some(format!("playbook run {}", run.id)),
            };
            let kind = if name == ActionName::ClusterSwitchover {
                crate::clusters::SWITCHOVER
            } else {
                crate::clusters::FAILOVER
            };
            (
                kind,
                json!({ "cluster": cluster.id, "request": request }),
                crate::clusters::job_target(&cluster.id),
            )
        }
        other => return Err(format!("{other} does not run as a job")),
    };
    Ok(NewJob {
        kind: kind.to_string(),
        tenant: None,
        payload,
        target: Some(target),
        actor,
    })
}

/// The step's job as it is: its outcome once it ended; else the run's job
/// ends here and the job's end hands the run on (`on_job_end`), so no
/// worker is held while another runs the step's job.
async fn follow(
    state: &AppState,
    claim: &Claim,
    run: &Run,
    step: &PlannedStep,
    job_id: &str,
) -> Result<Outcome, Error> {
    let Some(child) = jobs::get(&state.db, job_id).await? else {
        return Ok(Outcome::Failed(format!("its job {job_id} is gone")));
    };
    Ok(match child.state {
        JobState::Succeeded => Outcome::Done(json!({ "job": child.id, "result": child.result })),
        JobState::Failed | JobState::Cancelled => Outcome::Failed(format!(
            "its job {} {}: {}",
            child.id,
            child.state,
            child.error.as_deref().unwrap_or("no reason given")
        )),
        JobState::Queued | JobState::Running => {
            let progress = Progress {
                done: run.cursor as u64,
                total: Some(run.plan.steps.len() as u64),
                phase: Some(format!("step {}: following job {}", step.id, child.id)),
            };
            tolerated(jobs::report_progress(&state.db, claim, &progress, db::now()).await)?;
            Outcome::AwaitJob(child.id)
        }
    })
}

/// Hands on every run whose current step waits on `job`, in the
/// transaction that records the job's end: a new job of the run takes it
/// up and records the step's outcome. The caller wakes workers after the
/// commit.
pub async fn on_job_end(
    conn: &mut AnyConnection,
    kind: crate::db::DbKind,
    job: &str,
) -> Result<(), Error> {
    let runs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.run_id, s.idx FROM playbook_run_steps s \
         JOIN playbook_runs r ON r.id = s.run_id \
         WHERE s.job_id = $1 AND s.state = 'running' AND r.cursor = s.idx \
         AND r.state IN ('queued', 'running')",
    )
    .bind(job)
    .fetch_all(&mut *conn)
    .await?;
    for (run, idx) in runs {
        let now = db::now();
        let next = jobs::enqueue_in(conn, kind, super::driving_job(&run, ENGINE), now).await?;
        store::hand_to(
            conn,
            &run,
            &next.id,
            usize::try_from(idx).unwrap_or_default(),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Suspends or resumes the tenant as its route does, with the step's
/// outcome in the same transaction.
async fn tenant(
    state: &AppState,
    job: &Job,
    run: &Run,
    step: &PlannedStep,
    name: ActionName,
    args: &std::collections::BTreeMap<String, ArgValue>,
) -> Result<Outcome, Error> {
    let Some(slug) = text(args, "tenant") else {
        return Ok(Outcome::Failed("the action names no tenant".into()));
    };
    let (from, to) = if name == ActionName::TenantSuspend {
        (TenantStatus::Active, TenantStatus::Suspended)
    } else {
        (TenantStatus::Suspended, TenantStatus::Active)
    };
    let tenant = TenantRef::parse(slug);
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if !store::fence(&mut tx, &run.id, &job.id, now).await? {
        return Ok(Outcome::Superseded);
    }
    match crate::tenants::store::transition(&mut tx, &tenant, from, to, now).await? {
        Some(changed) => {
            let result = json!({ "tenant": changed.slug, "status": to });
            audit(
                &mut tx,
                run,
                name.as_str(),
                &crate::tenants::routes::audit_target(&changed.slug),
                Some(&changed.id),
                &json!({ "status": to, "run": run.id, "step": step.id }),
                "",
                now,
            )
            .await?;
            succeed(&mut tx, run, step, &result, now).await?;
            tx.commit().await?;
            Ok(Outcome::Recorded)
        }
        None => {
            let reason = match crate::tenants::store::get_in(&mut tx, &tenant).await? {
                Some(current) => format!("tenant `{}` is already {}", current.slug, current.status),
                None => format!("no tenant `{slug}`"),
            };
            drop(tx);
            Ok(Outcome::Failed(reason))
        }
    }
}

/// Makes the step's silence, unless one carrying its marker is there
/// already (made before platform-admin stopped).
async fn silence(
    state: &AppState,
    run: &Run,
    step: &PlannedStep,
    args: &std::collections::BTreeMap<String, ArgValue>,
) -> Result<Outcome, Error> {
    let Some(alertmanager) = state.config.monitoring.alertmanager_url.as_ref() else {
        return Ok(Outcome::Failed(
            "no Alertmanager is configured on the server ([monitoring] alertmanager_url)".into(),
        ));
    };
    let marker = format!("opsdeck-run:{}:{}", run.id, step.id);
    match monitoring::find_silence(alertmanager, &marker).await {
        Ok(Some(id)) => return Ok(Outcome::Done(json!({ "silence": id, "found": true }))),
        Ok(None) => {}
        Err(reason) => return Ok(Outcome::Failed(reason)),
    }
    let matchers = match args.get("matchers") {
        Some(ArgValue::List(items)) => items.clone(),
        Some(ArgValue::Text(one)) => vec![one.clone()],
        None => Vec::new(),
    };
    let matchers: Result<Vec<Value>, String> =
        matchers.iter().map(|m| monitoring::matcher(m)).collect();
    let matchers = match matchers {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => return Ok(Outcome::Failed("the silence has no matchers".into())),
        Err(reason) => return Ok(Outcome::Failed(reason)),
    };
    let duration = match text(args, "duration").map(opsdeck_playbook::parse_duration) {
        Some(Ok(d)) => d,
        Some(Err(reason)) => return Ok(Outcome::Failed(reason)),
        None => return Ok(Outcome::Failed("the silence has no duration".into())),
    };
    let comment = format!(
        "{} ({marker})",
        text(args, "comment").unwrap_or("silenced by a playbook run")
    );
    let starts = chrono::Utc::now();
    let ends = starts + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::hours(1));
    Ok(
        match monitoring::create_silence(
            alertmanager,
            &matchers,
            starts,
            ends,
            &run.starter,
            &comment,
        )
        .await
        {
            Ok(id) => Outcome::Done(json!({ "silence": id, "ends_at": ends })),
            Err(reason) => Outcome::Failed(reason),
        },
    )
}

/// The audit record of what a run did on its starter's behalf.
#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &mut AnyConnection,
    run: &Run,
    action: &str,
    target: &str,
    tenant: Option<&str>,
    details: &Value,
    job: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let mut details = details.clone();
    if !job.is_empty() {
        if let Some(fields) = details.as_object_mut() {
            fields.insert("job".into(), json!(job));
        }
    }
    let after = details.to_string();
    let request = format!("playbook-run:{}", run.id);
    crate::audit::store::insert(
        tx,
        &crate::audit::store::NewRecord {
            id: uuid::Uuid::now_v7(),
            at: now,
            actor: &run.starter,
            action,
            target,
            tenant_id: tenant,
            before: None,
            after: Some(&after),
            request_id: &request,
            idempotency_key: None,
        },
    )
    .await
}
