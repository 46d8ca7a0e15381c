//! Scheduled verification (the monthly recovery test): a target with
//! `verify_every` gets a verify job queued by the server once its last
//! verify job (whoever started it) is older than that. The job is queued
//! and audited (actor `scheduler`) in one transaction, as the API's start
//! does; a target with a job queued or running waits for the next look.
//! Several servers may sweep one database: each target's decision is taken
//! under a lock (PostgreSQL's advisory transaction lock; SQLite's
//! `BEGIN IMMEDIATE` already serialises writers), so only one of them
//! queues it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::TargetConfig;
use crate::db::{self, Db, DbKind};
use crate::error::Error;
use crate::jobs::{self, NewJob};
use crate::{audit, AppState};

/// Who the audit log says queued a scheduled job.
pub const SCHEDULER_ACTOR: &str = "scheduler";

/// How often the sweep looks unless a target's period is shorter.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// When the target's last verify job was queued.
async fn last_verify(
    conn: &mut sqlx::AnyConnection,
    target: &str,
) -> Result<Option<DateTime<Utc>>, Error> {
    let at: Option<String> = sqlx::query_scalar(
        "SELECT created_at FROM jobs WHERE kind = $1 AND target = $2 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(super::VERIFY_KIND)
    .bind(super::job_target(target))
    .fetch_optional(&mut *conn)
    .await?;
    at.as_deref().map(db::parse_timestamp).transpose()
}

/// When the target's next scheduled verification is due: `None` without
/// `verify_every`; its last verify job plus the period, else `now`.
pub async fn next_verification(
    db: &Db,
    target: &TargetConfig,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(every) = target.verify_every else {
        return Ok(None);
    };
    let mut conn = db.pool().acquire().await?;
    let last = last_verify(&mut conn, &target.id).await?;
    Ok(Some(due(last, every.0, now)))
}

fn due(last: Option<DateTime<Utc>>, every: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    match last {
        Some(last) => last + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX),
        None => now,
    }
}

/// Queues the verifications due at `now`; returns the jobs queued.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<Vec<String>, Error> {
    let mut queued = Vec::new();
    for target in &state.config.backup_targets {
        let Some(every) = target.verify_every else {
            continue;
        };
        let mut tx = state.db.begin().await?;
        if state.db.kind() == DbKind::Postgres {
            // Held to the commit: another server sweeping now waits here,
            // then sees the job this one queued.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked")
                .bind(format!("opsdeck-scheduled-verify:{}", target.id))
                .execute(&mut *tx)
                .await?;
        }
        let last = last_verify(&mut tx, &target.id).await?;
        if due(last, every.0, now) > now {
            continue;
        }
        let job_target = super::job_target(&target.id);
        let new = NewJob {
            kind: super::VERIFY_KIND.to_string(),
            tenant: None,
            payload: json!({ "target": target.id, "set": null }),
            target: Some(job_target.clone()),
            actor: Some(SCHEDULER_ACTOR.to_string()),
        };
        let job = match jobs::enqueue_in(&mut tx, state.db.kind(), new, now).await {
            Ok(job) => job,
            // Its running job keeps it; the next look queues the verification.
            Err(Error::TargetBusy { job, .. }) => {
                tracing::info!(target = %target.id, %job, "a scheduled verification waits for the target's job");
                continue;
            }
            Err(err) => return Err(err),
        };
        let after =
            json!({ "set": null, "job": job.id, "scheduled_every_seconds": every.0.as_secs() })
                .to_string();
        audit::store::insert(
            &mut tx,
            &audit::store::NewRecord {
                id: uuid::Uuid::now_v7(),
                at: now,
                actor: SCHEDULER_ACTOR,
                action: "backup.verify",
                target: &job_target,
                tenant_id: None,
                before: None,
                after: Some(&after),
                request_id: "",
                idempotency_key: None,
            },
        )
        .await?;
        crate::incidents::tell_open_incidents(
            &mut tx,
            SCHEDULER_ACTOR,
            "backup.verify",
            &job_target,
            "",
        )
        .await?;
        tx.commit().await?;
        jobs::woken(&state.db);
        tracing::info!(target = %target.id, job = %job.id, "scheduled verification queued");
        queued.push(job.id);
    }
    Ok(queued)
}

/// How often `spawn` sweeps: every 30 s, or a third of the shortest
/// period when that is shorter (never under a second).
pub fn sweep_every(state: &AppState) -> Option<Duration> {
    let shortest = state
        .config
        .backup_targets
        .iter()
        .filter_map(|t| t.verify_every)
        .map(|s| s.0)
        .min()?;
    Some((shortest / 3).clamp(Duration::from_secs(1), SWEEP_EVERY))
}

/// Runs `sweep` until aborted; nothing when no target sets `verify_every`.
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let every = sweep_every(&state)?;
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = sweep(&state, db::now()).await {
                tracing::error!(error = %err, "the scheduled verification sweep failed; it tries again");
            }
        }
    }))
}
