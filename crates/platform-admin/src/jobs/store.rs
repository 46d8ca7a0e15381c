//! The queries of `jobs`. All but the claim run as one text on both
//! databases; the claim is written per dialect (see `claim_next`).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::db::{self, Db, DbKind};
use crate::error::Error;

/// Where a job is in its life. Only `queued` and `running` change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Option<JobState> {
        Some(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a running job got, as its worker last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    /// Unknown until the worker knows how much there is.
    pub total: Option<u64>,
    /// What it is doing now, in words (`"dumping"`, `"uploading"`).
    pub phase: Option<String>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What runs it (`"backup"`, `"restore"`…).
    pub kind: String,
    /// The id of the tenant it is about, if any.
    pub tenant: Option<String>,
    /// What the kind needs to run.
    pub payload: Value,
    /// What it acts on (`backup-target:main`): at most one queued or
    /// running job per target.
    pub target: Option<String>,
    /// Who asked for it, as audit records name them.
    pub actor: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// UUID v7, so ids sort in the order jobs were enqueued.
    pub id: String,
    pub kind: String,
    pub tenant: Option<String>,
    pub payload: Value,
    pub state: JobState,
    /// How many times it was claimed; more than one after a takeover.
    pub attempts: u32,
    /// The worker of its latest attempt.
    pub owner: Option<String>,
    /// While running: until when its owner is known to be alive.
    pub lease_until: Option<DateTime<Utc>>,
    pub progress: Progress,
    /// Why it failed.
    pub error: Option<String>,
    pub target: Option<String>,
    pub actor: Option<String>,
    /// What a succeeded job produced.
    pub result: Option<Value>,
    pub created_at: DateTime<Utc>,
    /// When it was first claimed.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// When someone asked a running job to stop; its worker then stops it
    /// and records it cancelled.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Not claimed before this time (a playbook run's next look at a
    /// `wait_until` check).
    pub not_before: Option<DateTime<Utc>>,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub line: String,
}

/// A worker's hold on a running job: what `renew`, `report_progress`,
/// `complete` and `fail` check. The attempt fences the claim, so a worker
/// that was taken over is refused even when it runs again under the same
/// name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub job_id: String,
    pub owner: String,
    pub attempt: u32,
    pub lease_until: DateTime<Utc>,
}

/// What `claim_next` hands a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub job: Job,
    pub claim: Claim,
}

const COLUMNS: &str = "id, kind, tenant, payload, state, attempts, owner, lease_until, \
                       progress_done, progress_total, progress_phase, error, target, actor, result, \
                       created_at, started_at, finished_at, updated_at, cancel_requested_at, not_before";

/// Queues a job and wakes idle workers: on PostgreSQL with `NOTIFY jobs`
/// in the enqueuing transaction (delivered to every listener at commit,
/// never before), on SQLite with the in-process signal after the commit.
pub async fn enqueue(db: &Db, new: NewJob, now: DateTime<Utc>) -> Result<Job, Error> {
    let mut tx = db.begin().await?;
    let job = enqueue_in(&mut tx, db.kind(), new, now).await?;
    tx.commit().await?;
    woken(db);
    Ok(job)
}

/// Queues a job inside the caller's transaction (the one of its audit
/// record and idempotent response); the caller calls `woken` after the
/// commit. A target with a queued or running job is `TargetBusy`.
pub async fn enqueue_in(
    conn: &mut AnyConnection,
    kind: DbKind,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<Job, Error> {
    enqueue_in_at(conn, kind, new, now, None).await
}

/// [`enqueue_in`] of a job no worker claims before `not_before`: until
/// then it holds no worker, and jobs queued after it run first.
pub async fn enqueue_in_at(
    conn: &mut AnyConnection,
    kind: DbKind,
    new: NewJob,
    now: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
) -> Result<Job, Error> {
    if let Some(target) = &new.target {
        let busy: Option<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE target = $1 AND state IN ('queued', 'running') LIMIT 1",
        )
        .bind(target)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(job) = busy {
            return Err(Error::TargetBusy {
                target: target.clone(),
                job,
            });
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let at = db::timestamp(now);
    let inserted = sqlx::query(&format!(
        "INSERT INTO jobs (id, kind, tenant, payload, state, attempts, progress_done, target, actor, created_at, updated_at, not_before) \
         VALUES ($1, $2, $3, $4, 'queued', 0, 0, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&new.kind)
    .bind(new.tenant.as_deref())
    .bind(new.payload.to_string())
    .bind(new.target.as_deref())
    .bind(new.actor.as_deref())
    .bind(&at)
    .bind(&at)
    .bind(not_before.map(db::timestamp))
    .fetch_one(&mut *conn)
    .await;
    let row = match inserted {
        Ok(row) => row,
        // Another enqueue raced past the check: the index refused this one.
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            return Err(Error::TargetBusy {
                target: new.target.unwrap_or_default(),
                job: "another job".to_string(),
            })
        }
        Err(err) => return Err(err.into()),
    };
    let job = job_from_row(&row)?;
    if kind == DbKind::Postgres {
        sqlx::query("NOTIFY jobs").execute(&mut *conn).await?;
    }
    Ok(job)
}

/// The job queued or running on `target`, if any.
pub async fn active_on(db: &Db, target: &str) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM jobs WHERE target = $1 AND state IN ('queued', 'running') LIMIT 1",
    )
    .bind(target)
    .fetch_optional(db.pool())
    .await?)
}

/// When the earliest queued job that is not yet due at `now` becomes due:
/// how long an idle worker may sleep before it looks again.
pub async fn next_due(db: &Db, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
    let at: Option<String> = sqlx::query_scalar(
        "SELECT MIN(not_before) FROM jobs WHERE state = 'queued' AND not_before IS NOT NULL \
         AND not_before > $1",
    )
    .bind(db::timestamp(now))
    .fetch_one(db.pool())
    .await?;
    at.as_deref().map(db::parse_timestamp).transpose()
}

/// Wakes this process's idle workers after a commit that enqueued.
pub fn woken(db: &Db) {
    db.job_signal().wake();
}

/// Claims the next job for `worker`, holding it for `lease`: first a
/// running job whose lease ran out before `now` (its worker died; the
/// oldest lease first), else the oldest queued job. `None` when there is
/// nothing to do. Each claim counts an attempt.
///
/// The one query whose text differs by dialect, chosen by `db.kind()` as
/// `Db::begin` is: PostgreSQL locks the chosen row with `FOR UPDATE SKIP
/// LOCKED`, so racing workers pass over each other's rows instead of
/// queueing on them; SQLite has no row locks, and its `BEGIN IMMEDIATE`
/// already lets one writer in at a time, so a claim is one
/// `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …`.
pub async fn claim_next(
    db: &Db,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, Error> {
    let now_text = db::timestamp(now);
    let lease_until = now + lease;
    let lease_text = db::timestamp(lease_until);
    let mut tx = db.begin().await?;
    let row = match db.kind() {
        DbKind::Postgres => {
            let mut id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 \
                 ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(&now_text)
            .fetch_optional(&mut *tx)
            .await?;
            if id.is_none() {
                id = sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE state = 'queued' \
                     AND (not_before IS NULL OR not_before <= $1) \
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                )
                .bind(&now_text)
                .fetch_optional(&mut *tx)
                .await?;
            }
            match id {
                Some(id) => Some(
                    sqlx::query(&format!(
                        "UPDATE jobs SET state = 'running', owner = $2, attempts = attempts + 1, \
                         lease_until = $3, updated_at = $4, started_at = COALESCE(started_at, $4) \
                         WHERE id = $1 RETURNING {COLUMNS}"
                    ))
                    .bind(&id)
                    .bind(worker)
                    .bind(&lease_text)
                    .bind(&now_text)
                    .fetch_one(&mut *tx)
                    .await?,
                ),
                None => None,
            }
        }
        DbKind::Sqlite => {
            let claim = |pick: &str| {
                format!(
                    "UPDATE jobs SET state = 'running', owner = $1, attempts = attempts + 1, \
                     lease_until = $2, updated_at = $3, started_at = COALESCE(started_at, $3) \
                     WHERE id = ({pick}) RETURNING {COLUMNS}"
                )
            };
            let taken_over = sqlx::query(&claim(
                "SELECT id FROM jobs WHERE state = 'running' AND lease_until < $4 \
                 ORDER BY lease_until LIMIT 1",
            ))
            .bind(worker)
            .bind(&lease_text)
            .bind(&now_text)
            .bind(&now_text)
            .fetch_optional(&mut *tx)
            .await?;
            match taken_over {
                Some(row) => Some(row),
                None => {
                    sqlx::query(&claim(
                        "SELECT id FROM jobs WHERE state = 'queued' \
                         AND (not_before IS NULL OR not_before <= $4) ORDER BY id LIMIT 1",
                    ))
                    .bind(worker)
                    .bind(&lease_text)
                    .bind(&now_text)
                    .bind(&now_text)
                    .fetch_optional(&mut *tx)
                    .await?
                }
            }
        }
    };
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let job = job_from_row(&row)?;
    announce(db).await;
    if job.attempts > 1 {
        tracing::warn!(
            job = %job.id,
            kind = %job.kind,
            attempt = job.attempts,
            worker,
            "took over a job whose worker stopped renewing its lease"
        );
    }
    let claim = Claim {
        job_id: job.id.clone(),
        owner: worker.to_string(),
        attempt: job.attempts,
        lease_until,
    };
    Ok(Some(Claimed { job, claim }))
}

/// Extends the lease of a claim still held to `now + lease`;
/// `JobTakenOver` when another worker took the job over (or it is no
/// longer running), and the caller must stop working on it.
pub async fn renew(
    db: &Db,
    claim: &mut Claim,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let lease_until = now + lease;
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = $4, updated_at = $5 \
         WHERE id = $1 AND owner = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(&claim.job_id)
    .bind(&claim.owner)
    .bind(i64::from(claim.attempt))
    .bind(db::timestamp(lease_until))
    .bind(db::timestamp(now))
    .execute(db.pool())
    .await?;
    held(done.rows_affected(), claim)?;
    claim.lease_until = lease_until;
    Ok(())
}

/// Records how far the job got; refused like `renew` once taken over.
pub async fn report_progress(
    db: &Db,
    claim: &Claim,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let done = sqlx::query(
        "UPDATE jobs SET progress_done = $4, progress_total = $5, progress_phase = $6, \
         updated_at = $7 WHERE id = $1 AND owner = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(&claim.job_id)
    .bind(&claim.owner)
    .bind(i64::from(claim.attempt))
    .bind(count(progress.done))
    .bind(progress.total.map(count))
    .bind(progress.phase.as_deref())
    .bind(db::timestamp(now))
    .execute(db.pool())
    .await?;
    held(done.rows_affected(), claim)?;
    announce(db).await;
    Ok(())
}

/// Marks the job succeeded, inside the transaction of its effect when it
/// has one: `JobTakenOver` when the claim is no longer the caller's, and
/// the caller must then roll its effect back (another worker runs it);
/// `JobCancelRequested` when someone asked it to stop (record it
/// `cancelled`). After the commit the caller calls `changed`, so this
/// process's followers see the end at once.
pub async fn complete(
    conn: &mut AnyConnection,
    claim: &Claim,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    finish(conn, claim, JobState::Succeeded, None, None, now).await
}

/// Marks the job succeeded with what it produced; refused like `complete`.
pub async fn succeed(
    conn: &mut AnyConnection,
    claim: &Claim,
    result: &Value,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    finish(conn, claim, JobState::Succeeded, None, Some(result), now).await
}

/// Marks the job failed with why; refused like `complete`.
pub async fn fail(
    conn: &mut AnyConnection,
    claim: &Claim,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    finish(conn, claim, JobState::Failed, Some(error), None, now).await
}

/// Marks the job cancelled (it was asked to stop, and stopped) with what
/// it had got to; refused like `complete`.
pub async fn cancelled(
    conn: &mut AnyConnection,
    claim: &Claim,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    finish(conn, claim, JobState::Cancelled, Some(why), None, now).await
}

async fn finish(
    conn: &mut AnyConnection,
    claim: &Claim,
    state: JobState,
    error: Option<&str>,
    result: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // A job asked to stop is never reported succeeded, even when its work
    // ended well just before its worker saw the request.
    let guard = if state == JobState::Succeeded {
        " AND cancel_requested_at IS NULL"
    } else {
        ""
    };
    let done = sqlx::query(&format!(
        "UPDATE jobs SET state = $4, error = $5, result = $6, lease_until = NULL, \
         updated_at = $7, finished_at = $7 \
         WHERE id = $1 AND owner = $2 AND attempts = $3 AND state = 'running'{guard}"
    ))
    .bind(&claim.job_id)
    .bind(&claim.owner)
    .bind(i64::from(claim.attempt))
    .bind(state.as_str())
    .bind(error)
    .bind(result.map(Value::to_string))
    .bind(db::timestamp(now))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 && state == JobState::Succeeded {
        let asked: Option<Option<String>> = sqlx::query_scalar(
            "SELECT cancel_requested_at FROM jobs \
             WHERE id = $1 AND owner = $2 AND attempts = $3 AND state = 'running'",
        )
        .bind(&claim.job_id)
        .bind(&claim.owner)
        .bind(i64::from(claim.attempt))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(Some(_)) = asked {
            return Err(Error::JobCancelRequested(claim.job_id.clone()));
        }
    }
    held(done.rows_affected(), claim)?;
    // Delivered at the commit of the caller's transaction; this process's
    // streams are woken by the caller after it (`changed`).
    if kind_of(conn) == Some(DbKind::Postgres) {
        sqlx::query(NOTIFY_CHANGED).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Cancels a job: one no worker has claimed yet is cancelled at once; a
/// running one is asked to stop (its worker stops its processes and
/// records it cancelled). A finished job is refused. The answer is the job
/// as it is now.
pub async fn cancel(db: &Db, id: &str, now: DateTime<Utc>) -> Result<Job, Error> {
    let mut tx = db.begin().await?;
    let job = cancel_in(&mut tx, id, now).await?;
    tx.commit().await?;
    changed(db);
    Ok(job)
}

/// `cancel` inside the caller's transaction (the one of its audit
/// record); the caller calls `changed` after the commit.
pub async fn cancel_in(
    conn: &mut AnyConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Job, Error> {
    let at = db::timestamp(now);
    let queued = sqlx::query(&format!(
        "UPDATE jobs SET state = 'cancelled', updated_at = $2, finished_at = $2 \
         WHERE id = $1 AND state = 'queued' RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&at)
    .fetch_optional(&mut *conn)
    .await?;
    let row = match queued {
        Some(row) => Some(row),
        None => {
            sqlx::query(&format!(
                "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, $2), \
                 updated_at = $2 WHERE id = $1 AND state = 'running' RETURNING {COLUMNS}"
            ))
            .bind(id)
            .bind(&at)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    match row {
        Some(row) => {
            if kind_of(conn) == Some(DbKind::Postgres) {
                sqlx::query(NOTIFY_CHANGED).execute(&mut *conn).await?;
            }
            job_from_row(&row)
        }
        None => {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            match row {
                Some(row) => {
                    let job = job_from_row(&row)?;
                    Err(Error::JobNotCancellable {
                        id: job.id,
                        state: job.state,
                    })
                }
                None => Err(Error::JobNotFound(id.to_string())),
            }
        }
    }
}

/// Whether someone asked the running job of this claim to stop.
pub async fn cancel_requested(db: &Db, claim: &Claim) -> Result<bool, Error> {
    let asked: Option<Option<String>> =
        sqlx::query_scalar("SELECT cancel_requested_at FROM jobs WHERE id = $1 AND attempts = $2")
            .bind(&claim.job_id)
            .bind(i64::from(claim.attempt))
            .fetch_optional(db.pool())
            .await?;
    Ok(matches!(asked, Some(Some(_))))
}

/// Tells whoever follows jobs (event streams, workers of a job asked to
/// stop) that a job changed: on PostgreSQL every server on the database
/// through `NOTIFY job_changes`, and this process's at once.
async fn announce(db: &Db) {
    if db.kind() == DbKind::Postgres {
        // A lost notification costs a follower one fallback poll, never a
        // change: it is not worth failing the write it follows.
        if let Err(err) = sqlx::query(NOTIFY_CHANGED).execute(db.pool()).await {
            tracing::debug!(error = %err, "cannot announce a job's change");
        }
    }
    changed(db);
}

/// Wakes this process's followers of jobs after a commit that changed one.
pub fn changed(db: &Db) {
    db.job_signal().changed();
}

const NOTIFY_CHANGED: &str = "NOTIFY job_changes";

/// The dialect of a connection, from its backend's name.
fn kind_of(conn: &AnyConnection) -> Option<DbKind> {
    match conn.backend_name() {
        "PostgreSQL" => Some(DbKind::Postgres),
        "SQLite" => Some(DbKind::Sqlite),
        _ => None,
    }
}

/// Log lines after `after`, oldest first, at most `limit` of them: what an
/// event stream sends next.
pub async fn log_after(db: &Db, id: &str, after: u64, limit: u32) -> Result<Vec<LogLine>, Error> {
    let rows = sqlx::query(
        "SELECT seq, at, line FROM job_log WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(id)
    .bind(count(after))
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(log_line).collect()
}

/// The job with this id.
pub async fn get(db: &Db, id: &str) -> Result<Option<Job>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// Jobs newest first, `limit` of them, older than the job `before` when
/// given (ids are UUID v7: they sort by enqueue time).
pub async fn list(db: &Db, before: Option<&str>, limit: u32) -> Result<Vec<Job>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(job_from_row).collect()
}

/// Appends lines to the log of a job its claim still holds.
pub async fn append_log(
    db: &Db,
    claim: &Claim,
    lines: &[String],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let running: Option<String> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE id = $1 AND owner = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(&claim.job_id)
    .bind(&claim.owner)
    .bind(i64::from(claim.attempt))
    .fetch_optional(&mut *tx)
    .await?;
    held(u64::from(running.is_some()), claim)?;
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM job_log WHERE job_id = $1")
        .bind(&claim.job_id)
        .fetch_one(&mut *tx)
        .await?;
    let at = db::timestamp(now);
    let mut seq = last.unwrap_or(0);
    for line in lines {
        seq += 1;
        sqlx::query("INSERT INTO job_log (job_id, seq, at, line) VALUES ($1, $2, $3, $4)")
            .bind(&claim.job_id)
            .bind(seq)
            .bind(&at)
            .bind(line)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    announce(db).await;
    Ok(())
}

/// A job's log, oldest line first.
pub async fn log(db: &Db, id: &str) -> Result<Vec<LogLine>, Error> {
    let rows = sqlx::query("SELECT seq, at, line FROM job_log WHERE job_id = $1 ORDER BY seq")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(log_line).collect()
}

fn log_line(row: &AnyRow) -> Result<LogLine, Error> {
    let seq: i64 = row.try_get("seq")?;
    let at: String = row.try_get("at")?;
    Ok(LogLine {
        seq: u64::try_from(seq).unwrap_or_default(),
        at: db::parse_timestamp(&at)?,
        line: row.try_get("line")?,
    })
}

fn held(rows_affected: u64, claim: &Claim) -> Result<(), Error> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(Error::JobTakenOver {
            job: claim.job_id.clone(),
            owner: claim.owner.clone(),
            attempt: claim.attempt,
        })
    }
}

/// A count as stored: counts past `i64::MAX` do not happen, and are
/// clamped rather than wrapped if they ever did.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn job_from_row(row: &AnyRow) -> Result<Job, Error> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: String| Error::Corrupt(format!("job {id}: {what}"));
    let state: String = row.try_get("state")?;
    let payload: String = row.try_get("payload")?;
    let attempts: i64 = row.try_get("attempts")?;
    let done: i64 = row.try_get("progress_done")?;
    let total: Option<i64> = row.try_get("progress_total")?;
    let lease_until: Option<String> = row.try_get("lease_until")?;
    let created_at: String = row.try_get("created_at")?;
    let updated_at: String = row.try_get("updated_at")?;
    let started_at: Option<String> = row.try_get("started_at")?;
    let finished_at: Option<String> = row.try_get("finished_at")?;
    let result: Option<String> = row.try_get("result")?;
    let cancel_requested_at: Option<String> = row.try_get("cancel_requested_at")?;
    let not_before: Option<String> = row.try_get("not_before")?;
    Ok(Job {
        kind: row.try_get("kind")?,
        tenant: row.try_get("tenant")?,
        payload: serde_json::from_str(&payload)
            .map_err(|err| corrupt(format!("payload is not JSON: {err}")))?,
        state: JobState::parse(&state).ok_or_else(|| corrupt(format!("state `{state}`")))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("attempts {attempts}")))?,
        owner: row.try_get("owner")?,
        lease_until: lease_until
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        progress: Progress {
            done: u64::try_from(done).map_err(|_| corrupt(format!("progress {done}")))?,
            total: total
                .map(|t| u64::try_from(t).map_err(|_| corrupt(format!("total {t}"))))
                .transpose()?,
            phase: row.try_get("progress_phase")?,
        },
        error: row.try_get("error")?,
        target: row.try_get("target")?,
        actor: row.try_get("actor")?,
        result: result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|err| corrupt(format!("result is not JSON: {err}")))?,
        created_at: db::parse_timestamp(&created_at)?,
        started_at: started_at.as_deref().map(db::parse_timestamp).transpose()?,
        finished_at: finished_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        updated_at: db::parse_timestamp(&updated_at)?,
        cancel_requested_at: cancel_requested_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        not_before: not_before.as_deref().map(db::parse_timestamp).transpose()?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
        ] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("done"), None);
    }
}
