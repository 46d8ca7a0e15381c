//! The queries of playbook runs: the run, its steps, its events and its
//! approvals. Every write the engine makes is fenced by the run's driving
//! job (`fence`), so a job that was superseded changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsdeck_api::playbooks::{LiveValue, RunApproval, RunEvent, RunState, StepState};
use opsdeck_api::rbac::Subject;
use opsdeck_playbook::Plan;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::db::{self, Db};
use crate::error::Error;

/// A run as stored.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub playbook_id: String,
    pub title: String,
    pub inputs: BTreeMap<String, String>,
    pub plan: Plan,
    pub state: RunState,
    pub cursor: usize,
    pub job_id: Option<String>,
    pub starter: String,
    pub starter_subject: Subject,
    pub incident_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A step of a run as stored.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub idx: usize,
    pub step_id: String,
    pub state: StepState,
    pub attempt: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub job_id: Option<String>,
    pub live: Option<LiveValue>,
    pub ticked: Vec<u32>,
}

/// A run to insert.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub inputs: &'a BTreeMap<String, String>,
    pub plan: &'a Plan,
    pub starter: &'a str,
    pub starter_subject: &'a Subject,
    pub incident_id: Option<&'a str>,
    pub job_id: &'a str,
}

const RUN_COLUMNS: &str = "id, playbook_id, title, inputs, plan, state, cursor, job_id, starter, \
                           starter_kind, starter_id, incident_id, error, created_at, updated_at, finished_at";

const STEP_COLUMNS: &str =
    "idx, step_id, state, attempt, started_at, finished_at, result, error, job_id, live, ticked";

/// Inserts the run, queued, with its steps pending.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewRun<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let at = db::timestamp(now);
    sqlx::query(
        "INSERT INTO playbook_runs (id, playbook_id, title, source, inputs, plan, state, cursor, \
         job_id, starter, starter_kind, starter_id, incident_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new.id)
    .bind(&new.plan.playbook)
    .bind(&new.plan.title)
    .bind(new.source)
    .bind(serde_json::to_string(new.inputs)?)
    .bind(serde_json::to_string(new.plan)?)
    .bind(new.job_id)
    .bind(new.starter)
    .bind(new.starter_subject.kind.as_str())
    .bind(&new.starter_subject.id)
    .bind(new.incident_id)
    .bind(&at)
    .bind(&at)
    .execute(&mut *conn)
    .await?;
    for (idx, step) in new.plan.steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO playbook_run_steps (run_id, idx, step_id, state, attempt, ticked) \
             VALUES ($1, $2, $3, 'pending', 0, '[]')",
        )
        .bind(new.id)
        .bind(idx as i64)
        .bind(&step.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Run>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(run_from_row).transpose()
}

pub async fn get_db(db: &Db, id: &str) -> Result<Option<Run>, Error> {
    let mut conn = db.pool().acquire().await?;
    get(&mut conn, id).await
}

/// Runs newest first, older than `before` when given, of one incident
/// when given.
pub async fn list(
    db: &Db,
    before: Option<&str>,
    incident: Option<&str>,
    limit: u32,
) -> Result<Vec<Run>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE ($1 IS NULL OR id < $1) \
         AND ($2 IS NULL OR incident_id = $2) ORDER BY id DESC LIMIT $3"
    ))
    .bind(before)
    .bind(incident)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(run_from_row).collect()
}

pub async fn steps(conn: &mut AnyConnection, run: &str) -> Result<Vec<StepRow>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {STEP_COLUMNS} FROM playbook_run_steps WHERE run_id = $1 ORDER BY idx"
    ))
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| step_from_row(run, r)).collect()
}

pub async fn step(
    conn: &mut AnyConnection,
    run: &str,
    idx: usize,
) -> Result<Option<StepRow>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {STEP_COLUMNS} FROM playbook_run_steps WHERE run_id = $1 AND idx = $2"
    ))
    .bind(run)
    .bind(idx as i64)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| step_from_row(run, r)).transpose()
}

pub async fn events(conn: &mut AnyConnection, run: &str) -> Result<Vec<RunEvent>, Error> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, kind, step_id, message FROM playbook_run_events \
         WHERE run_id = $1 ORDER BY seq",
    )
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let at: String = row.try_get("at")?;
            Ok(RunEvent {
                seq: u64::try_from(seq).unwrap_or_default(),
                at: db::parse_timestamp(&at)?,
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                step: row.try_get("step_id")?,
                message: row.try_get("message")?,
            })
        })
        .collect()
}

pub async fn approvals(conn: &mut AnyConnection, run: &str) -> Result<Vec<RunApproval>, Error> {
    let rows = sqlx::query(
        "SELECT step_id, approver, role, at FROM playbook_run_approvals \
         WHERE run_id = $1 ORDER BY at, approver",
    )
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let at: String = row.try_get("at")?;
            Ok(RunApproval {
                step: row.try_get("step_id")?,
                approver: row.try_get("approver")?,
                role: row.try_get("role")?,
                at: db::parse_timestamp(&at)?,
            })
        })
        .collect()
}

pub async fn insert_approval(
    conn: &mut AnyConnection,
    run: &str,
    step: &str,
    approver: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO playbook_run_approvals (run_id, step_id, approver, role, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(run)
    .bind(step)
    .bind(approver)
    .bind(role)
    .bind(db::timestamp(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The run's events that its incident's timeline is told too: its start,
/// each step's end, each wait on a person, and its end.
const TOLD_TO_INCIDENT: [&str; 8] = [
    "started",
    "step_succeeded",
    "step_failed",
    "step_done",
    "note",
    "waiting",
    "succeeded",
    "failed",
];

/// Appends an event to the run's timeline.
pub async fn event(
    conn: &mut AnyConnection,
    run: &str,
    actor: &str,
    kind: &str,
    step: Option<&str>,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    event_with(conn, run, actor, kind, step, message, None, now).await
}

/// [`event`] with what the step produced (an action's job and result),
/// which the incident's timeline keeps as the event's detail. A run of an
/// incident tells its timeline in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn event_with(
    conn: &mut AnyConnection,
    run: &str,
    actor: &str,
    kind: &str,
    step: Option<&str>,
    message: &str,
    result: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if TOLD_TO_INCIDENT.contains(&kind) {
        let told: Option<(Option<String>, String, String)> = sqlx::query_as(
            "SELECT incident_id, playbook_id, title FROM playbook_runs WHERE id = $1",
        )
        .bind(run)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((Some(incident), playbook, title)) = told {
            let mut detail = serde_json::json!({ "run": run, "playbook": playbook });
            if let Some(step) = step {
                detail["step"] = Value::String(step.to_string());
            }
            if let Some(result) = result {
                if let Some(job) = result.get("job") {
                    detail["job"] = job.clone();
                }
                detail["result"] = result.get("result").unwrap_or(result).clone();
            }
            // The run's title, as people see it in the incident's list of runs.
            let text = match step {
                Some(step) => format!("{title}, step {step}: {message}"),
                None => format!("{title}: {message}"),
            };
            crate::incidents::timeline::append(
                conn,
                &incident,
                actor,
                &format!("run_{kind}"),
                &text,
                Some(&detail),
            )
            .await?;
        }
    }
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM playbook_run_events WHERE run_id = $1")
            .bind(run)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO playbook_run_events (run_id, seq, at, actor, kind, step_id, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(run)
    .bind(last.unwrap_or(0) + 1)
    .bind(db::timestamp(now))
    .bind(actor)
    .bind(kind)
    .bind(step)
    .bind(message)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Holds the run for `job` inside the transaction: true when `job` still
/// drives it (and the row is now locked on PostgreSQL), false when another
/// job took over.
pub async fn fence(
    conn: &mut AnyConnection,
    run: &str,
    job: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let done =
        sqlx::query("UPDATE playbook_runs SET updated_at = $3 WHERE id = $1 AND job_id = $2")
            .bind(run)
            .bind(job)
            .bind(db::timestamp(now))
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the run's state, cursor and error.
pub async fn set_run(
    conn: &mut AnyConnection,
    run: &str,
    state: RunState,
    cursor: usize,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let at = db::timestamp(now);
    let finished = state.ended().then_some(at.clone());
    sqlx::query(
        "UPDATE playbook_runs SET state = $2, cursor = $3, error = $4, updated_at = $5, \
         finished_at = $6 WHERE id = $1",
    )
    .bind(run)
    .bind(state.as_str())
    .bind(cursor as i64)
    .bind(error)
    .bind(&at)
    .bind(finished)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Hands the run to a new job: queued, driven by `job` from now on.
pub async fn hand_to(
    conn: &mut AnyConnection,
    run: &str,
    job: &str,
    cursor: usize,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE playbook_runs SET state = 'queued', job_id = $2, cursor = $3, error = NULL, \
         updated_at = $4, finished_at = NULL WHERE id = $1",
    )
    .bind(run)
    .bind(job)
    .bind(cursor as i64)
    .bind(db::timestamp(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Hands the run, running on, to `job` (a job queued to look at a
/// `wait_until` check again): only the job that drives it changes.
pub async fn pass_to(
    conn: &mut AnyConnection,
    run: &str,
    job: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("UPDATE playbook_runs SET job_id = $2, updated_at = $3 WHERE id = $1")
        .bind(run)
        .bind(job)
        .bind(db::timestamp(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A step's new state and what comes with it; fields left `None` are kept.
#[derive(Debug, Default)]
pub struct StepUpdate<'a> {
    pub state: Option<StepState>,
    /// Starts a new attempt: attempt + 1, started now, the last outcome
    /// and job cleared.
    pub start: bool,
    pub finished: bool,
    pub result: Option<&'a Value>,
    pub error: Option<&'a str>,
    pub job_id: Option<&'a str>,
    pub live: Option<&'a LiveValue>,
    pub ticked: Option<&'a [u32]>,
}

pub async fn update_step(
    conn: &mut AnyConnection,
    run: &str,
    idx: usize,
    update: StepUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let at = db::timestamp(now);
    if update.start {
        sqlx::query(
            "UPDATE playbook_run_steps SET attempt = attempt + 1, started_at = $3, \
             finished_at = NULL, result = NULL, error = NULL, job_id = NULL, live = NULL \
             WHERE run_id = $1 AND idx = $2",
        )
        .bind(run)
        .bind(idx as i64)
        .bind(&at)
        .execute(&mut *conn)
        .await?;
    }
    let live = update.live.map(serde_json::to_string).transpose()?;
    let ticked = update.ticked.map(serde_json::to_string).transpose()?;
    sqlx::query(
        "UPDATE playbook_run_steps SET state = COALESCE($3, state), \
         finished_at = CASE WHEN $4 = 1 THEN $5 ELSE finished_at END, \
         result = COALESCE($6, result), error = COALESCE($7, error), \
         job_id = COALESCE($8, job_id), live = COALESCE($9, live), ticked = COALESCE($10, ticked) \
         WHERE run_id = $1 AND idx = $2",
    )
    .bind(run)
    .bind(idx as i64)
    .bind(update.state.map(StepState::as_str))
    .bind(i64::from(update.finished))
    .bind(&at)
    .bind(update.result.map(Value::to_string))
    .bind(update.error)
    .bind(update.job_id)
    .bind(live)
    .bind(ticked)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts steps `from..` back to pending (for a resume).
pub async fn reset_from(conn: &mut AnyConnection, run: &str, from: usize) -> Result<(), Error> {
    sqlx::query(
        "UPDATE playbook_run_steps SET state = 'pending', ticked = '[]' \
         WHERE run_id = $1 AND idx >= $2",
    )
    .bind(run)
    .bind(from as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks steps `from..to` skipped (a go-to passed over them).
pub async fn skip(
    conn: &mut AnyConnection,
    run: &str,
    from: usize,
    to: usize,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE playbook_run_steps SET state = 'skipped' \
         WHERE run_id = $1 AND idx >= $2 AND idx < $3",
    )
    .bind(run)
    .bind(from as i64)
    .bind(to as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn run_from_row(row: &AnyRow) -> Result<Run, Error> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: String| Error::Corrupt(format!("playbook run {id}: {what}"));
    let inputs: String = row.try_get("inputs")?;
    let plan: String = row.try_get("plan")?;
    let state: String = row.try_get("state")?;
    let cursor: i64 = row.try_get("cursor")?;
    let kind: String = row.try_get("starter_kind")?;
    let created_at: String = row.try_get("created_at")?;
    let updated_at: String = row.try_get("updated_at")?;
    let finished_at: Option<String> = row.try_get("finished_at")?;
    Ok(Run {
        playbook_id: row.try_get("playbook_id")?,
        title: row.try_get("title")?,
        inputs: serde_json::from_str(&inputs)
            .map_err(|err| corrupt(format!("inputs are not JSON: {err}")))?,
        plan: serde_json::from_str(&plan)
            .map_err(|err| corrupt(format!("the plan cannot be read: {err}")))?,
        state: RunState::parse(&state).ok_or_else(|| corrupt(format!("state `{state}`")))?,
        cursor: usize::try_from(cursor).map_err(|_| corrupt(format!("cursor {cursor}")))?,
        job_id: row.try_get("job_id")?,
        starter: row.try_get("starter")?,
        starter_subject: Subject {
            kind: kind
                .parse()
                .map_err(|_| corrupt(format!("starter kind `{kind}`")))?,
            id: row.try_get("starter_id")?,
        },
        incident_id: row.try_get("incident_id")?,
        error: row.try_get("error")?,
        created_at: db::parse_timestamp(&created_at)?,
        updated_at: db::parse_timestamp(&updated_at)?,
        finished_at: finished_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        id,
    })
}

fn step_from_row(run: &str, row: &AnyRow) -> Result<StepRow, Error> {
    let idx: i64 = row.try_get("idx")?;
    let corrupt = |what: String| Error::Corrupt(format!("playbook run {run} step {idx}: {what}"));
    let state: String = row.try_get("state")?;
    let attempt: i64 = row.try_get("attempt")?;
    let started_at: Option<String> = row.try_get("started_at")?;
    let finished_at: Option<String> = row.try_get("finished_at")?;
    let result: Option<String> = row.try_get("result")?;
    let live: Option<String> = row.try_get("live")?;
    let ticked: String = row.try_get("ticked")?;
    Ok(StepRow {
        idx: usize::try_from(idx).map_err(|_| corrupt("index".into()))?,
        step_id: row.try_get("step_id")?,
        state: StepState::parse(&state).ok_or_else(|| corrupt(format!("state `{state}`")))?,
        attempt: u32::try_from(attempt).map_err(|_| corrupt(format!("attempt {attempt}")))?,
        started_at: started_at.as_deref().map(db::parse_timestamp).transpose()?,
        finished_at: finished_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        result: result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|err| corrupt(format!("result is not JSON: {err}")))?,
        error: row.try_get("error")?,
        job_id: row.try_get("job_id")?,
        live: live
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|err| corrupt(format!("live value is not JSON: {err}")))?,
        ticked: serde_json::from_str(&ticked)
            .map_err(|err| corrupt(format!("ticked items are not JSON: {err}")))?,
    })
}

/// Whether `subject` holds `role` on the platform: bound to it directly,
/// or (a user) through a group.
pub async fn holds_role(
    conn: &mut AnyConnection,
    subject: &Subject,
    role: &str,
) -> Result<bool, Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT b.role FROM rbac_bindings b \
         WHERE b.role = $3 AND b.tenant_id IS NULL AND ((b.subject_kind = $1 AND b.subject_id = $2) \
            OR ($1 = 'user' AND b.subject_kind = 'group' AND b.subject_id IN \
                (SELECT group_id FROM rbac_group_members WHERE user_id = $2))) LIMIT 1",
    )
    .bind(subject.kind.as_str())
    .bind(subject.id.as_str())
    .bind(role)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}
