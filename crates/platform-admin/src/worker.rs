//! The worker loop `serve` runs: claims jobs, keeps their lease while they
//! run, runs their kind, and records how they ended. A job whose worker
//! died is claimed again once its lease runs out; a backup found that way
//! is failed with the reason rather than reported as anything it did not
//! finish.

use std::time::Duration;

use opsdeck_api::backups::{BackupTargetKind, BackupType};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::backups::{self, pgbackrest};
use crate::clusters;
use crate::db;
use crate::error::Error;
use crate::jobs::{self, Claimed, Waiter};
use crate::playbooks;
use crate::AppState;

/// Waited after a store error before trying again, so a database that is
/// down is not hammered.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Starts one worker on the runtime; it runs until the handle is aborted
/// (which stops the job it runs: its child processes are killed, and its
/// lease runs out for another worker to find).
pub fn spawn(state: AppState, lease: chrono::Duration) -> JoinHandle<()> {
    let name = format!("pid-{}/{}", std::process::id(), uuid::Uuid::now_v7());
    tokio::spawn(run(state, name, lease))
}

async fn run(state: AppState, name: String, lease: chrono::Duration) {
    let poll = lease
        .to_std()
        .unwrap_or(jobs::POLL)
        .min(jobs::POLL)
        .max(Duration::from_secs(1));
    let mut waiter = loop {
        match Waiter::new(&state.db).await {
            Ok(waiter) => break waiter,
            Err(err) => {
                tracing::warn!(error = %err, "the job worker cannot start; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    };
    tracing::info!(worker = %name, "job worker started");
    loop {
        match jobs::claim_next(&state.db, &name, lease, db::now()).await {
            Ok(Some(claimed)) => {
                let id = claimed.job.id.clone();
                if let Err(err) = run_one(&state, claimed, lease).await {
                    tracing::error!(job = %id, error = %err, "job ended without its outcome recorded");
                }
            }
            Ok(None) => {
                // A job queued to run later is due before the next poll:
                // sleep only until then.
                let now = db::now();
                let wait = match jobs::next_due(&state.db, now).await {
                    Ok(Some(due)) => (due - now).to_std().unwrap_or_default().min(poll),
                    Ok(None) => poll,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot read when the next job is due");
                        poll
                    }
                };
                waiter.wait_for_work(wait).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim jobs; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

enum Outcome {
    Succeeded(Value),
    Failed(String),
    /// Asked to stop, and stopped.
    Cancelled(String),
}

async fn run_one(state: &AppState, claimed: Claimed, lease: chrono::Duration) -> Result<(), Error> {
    let Claimed { job, mut claim } = claimed;
    tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
    // Each claim is in the job's log, so its history (a takeover after a
    // server died) is seen where the job is, not only in a server's log.
    let claimed_line = if job.attempts > 1 {
        format!(
            "taken over by {} (attempt {}): the worker of attempt {} stopped renewing its lease",
            claim.owner,
            job.attempts,
            job.attempts - 1
        )
    } else {
        format!("taken up by {} (attempt {})", claim.owner, job.attempts)
    };
    match jobs::append_log(&state.db, &claim, &[claimed_line], db::now()).await {
        Ok(()) => {}
        Err(err @ Error::JobTakenOver { .. }) => return Err(err),
        Err(err) => tracing::warn!(job = %job.id, error = %err, "cannot log the job's claim"),
    }
    let outcome = if job.cancel_requested_at.is_some() {
        // Asked to stop while its last worker was gone: nothing runs now.
        Outcome::Cancelled(format!(
            "cancelled; platform-admin had stopped while it ran (attempt {}), so it was not finished",
            job.attempts - 1
        ))
    } else if job.attempts > 1 && job.kind != playbooks::KIND {
        // Its last worker stopped renewing mid-run: what it did is not
        // known, so it is not reported as done. A new backup resumes or
        // replaces pgBackRest's partial one. A playbook run is the
        // exception: every transition it made is stored, so it goes on at
        // the step it was at and follows the job that step had sent.
        Outcome::Failed(format!(
            "platform-admin stopped while this job ran (attempt {} by `{}`); it was not finished: start it again",
            job.attempts - 1,
            job.owner.as_deref().unwrap_or("an earlier worker"),
        ))
    } else {
        // The work runs as a task of its own, so it goes on while the
        // lease is renewed (and a renewal waiting on the database never
        // waits on the work); dropping the guard stops it.
        // A request to stop is seen on any change of a job (the request
        // is one) and at each renewal (for a lost notification); the work
        // then stops its processes and returns.
        let mut changes = jobs::follow(&state.db);
        let (stop, stop_asked) = tokio::sync::watch::channel(false);
        let mut work = AbortOnDrop(tokio::spawn(execute(
            state.clone(),
            job.clone(),
            claim.clone(),
            stop_asked,
        )));
        let renew_every = (lease / 3).to_std().unwrap_or(Duration::from_secs(5));
        let mut renewals = tokio::time::interval(renew_every.max(Duration::from_millis(500)));
        renewals.tick().await;
        loop {
            let look = tokio::select! {
                joined = &mut work.0 => break match joined {
                    Ok(outcome) => outcome?,
                    Err(err) => Outcome::Failed(format!("the job stopped unexpectedly: {err}")),
                },
                _ = changes.wait(renew_every), if !*stop.borrow() => {
                    changes.mark_seen();
                    true
                }
                _ = renewals.tick() => {
                    match jobs::renew(&state.db, &mut claim, lease, db::now()).await {
                        Ok(()) => {}
                        Err(err @ Error::JobTakenOver { .. }) => {
                            // The work stops here (dropping it kills its
                            // processes); the new owner decides the end.
                            tracing::warn!(job = %job.id, error = %err, "lost the job's lease; stopping it");
                            return Err(err);
                        }
                        // A busy or briefly unreachable database: the next
                        // tick tries again, well within the lease.
                        Err(err) => tracing::warn!(job = %job.id, error = %err, "cannot renew the job's lease yet"),
                    }
                    !*stop.borrow()
                }
            };
            if look
                && jobs::cancel_requested(&state.db, &claim)
                    .await
                    .unwrap_or(false)
            {
                tracing::info!(job = %job.id, "asked to stop the job; stopping it");
                stop.send_replace(true);
            }
        }
    };
    // The end is recorded while the lease holds, retried over a busy
    // database; should the lease run out first, the job is taken over and
    // failed with the reason rather than left running.
    let mut outcome = outcome;
    let mut tries = 0;
    loop {
        match record_end(state, &claim, &outcome).await {
            Ok(()) => break,
            Err(Error::JobCancelRequested(_)) => {
                outcome = Outcome::Cancelled(
                    "cancelled; it was asked to stop just as its work ended, so it is not reported succeeded"
                        .to_string(),
                );
            }
            Err(err @ Error::JobTakenOver { .. }) => return Err(err),
            Err(err) if claim.lease_until > db::now() => {
                tries += 1;
                tracing::warn!(job = %job.id, error = %err, tries, "cannot record how the job ended yet");
                tokio::time::sleep(END_RETRY).await;
            }
            Err(err) => return Err(err),
        }
    }
    match outcome {
        Outcome::Succeeded(_) => tracing::info!(job = %job.id, "job succeeded"),
        Outcome::Failed(reason) => tracing::warn!(job = %job.id, %reason, "job failed"),
        Outcome::Cancelled(reason) => tracing::info!(job = %job.id, %reason, "job cancelled"),
    }
    Ok(())
}

/// Between tries to record how a job ended.
const END_RETRY: Duration = Duration::from_millis(300);

async fn record_end(state: &AppState, claim: &jobs::Claim, outcome: &Outcome) -> Result<(), Error> {
    let mut tx = state.db.begin().await?;
    match outcome {
        Outcome::Succeeded(result) => jobs::succeed(&mut tx, claim, result, db::now()).await?,
        Outcome::Failed(reason) => jobs::fail(&mut tx, claim, reason, db::now()).await?,
        Outcome::Cancelled(reason) => jobs::cancelled(&mut tx, claim, reason, db::now()).await?,
    }
    // A playbook run waiting on this job goes on, in the same transaction.
    playbooks::engine::on_job_end(&mut tx, state.db.kind(), &claim.job_id).await?;
    tx.commit().await?;
    jobs::changed(&state.db);
    jobs::woken(&state.db);
    Ok(())
}

/// Stops the task when dropped: a worker that stops (taken over, server
/// shutting down) takes its job's processes with it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn execute(
    state: AppState,
    job: jobs::Job,
    claim: jobs::Claim,
    stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Outcome, Error> {
    if job.kind == playbooks::KIND {
        return Ok(
            match playbooks::engine::run(&state, &job, &claim, stop_asked).await? {
                Ok(result) => Outcome::Succeeded(result),
                Err(reason) => Outcome::Failed(reason),
            },
        );
    }
    if job.kind == clusters::SWITCHOVER || job.kind == clusters::FAILOVER {
        // A failover is not stopped half way: Sentinel or Patroni finishes
        // what it was asked, and the job reports what happened.
        return Ok(match clusters::job::run(&state, &job, &claim).await? {
            Ok(result) => Outcome::Succeeded(result),
            Err(reason) => Outcome::Failed(reason),
        });
    }
    let target_id = job.payload.get("target").and_then(Value::as_str);
    let Some(target_id) = target_id else {
        return Ok(Outcome::Failed("the job's request names no target".into()));
    };
    let Some(target) = state.config.backup_target(target_id) else {
        return Ok(Outcome::Failed(format!(
            "backup target `{target_id}` is no longer in the configuration file"
        )));
    };
    let ran = match job.kind.as_str() {
        backups::KIND => {
            let backup_type = job
                .payload
                .get("type")
                .cloned()
                .and_then(|t| serde_json::from_value::<BackupType>(t).ok());
            let Some(backup_type) = backup_type else {
                return Ok(Outcome::Failed(
                    "the job's request names no backup type".into(),
                ));
            };
            match target.kind {
                BackupTargetKind::Postgresql => {
                    pgbackrest::backup(
                        &state.db,
                        &claim,
                        &state.config,
                        target,
                        backup_type,
                        stop_asked,
                    )
                    .await
                }
                BackupTargetKind::PgDump => {
                    backups::dump::backup(&state.db, &claim, target, stop_asked).await
                }
                BackupTargetKind::RedisRdb => {
                    backups::rdb::backup(&state.db, &claim, target, stop_asked).await
                }
            }
        }
        backups::RESTORE_KIND => {
            let to = match job.payload.get("to") {
                None | Some(Value::Null) => None,
                Some(to) => {
                    match serde_json::from_value::<chrono::DateTime<chrono::Utc>>(to.clone()) {
                        Ok(to) => Some(to),
                        Err(_) => {
                            return Ok(Outcome::Failed(
                                "the job's restore time is not a time".into(),
                            ))
                        }
                    }
                }
            };
            backups::restore::restore(
                &state.db,
                &claim,
                &state.config,
                target,
                to,
                job.created_at,
                stop_asked,
            )
            .await
        }
        backups::VERIFY_KIND => {
            let set = job.payload.get("set").and_then(Value::as_str);
            if target.kind == BackupTargetKind::Postgresql {
                backups::verify::verify(&state.db, &claim, target, set, stop_asked).await
            } else {
                backups::files::verify(&state.db, &claim, target, set, stop_asked).await
            }
        }
        other => {
            return Ok(Outcome::Failed(format!(
                "this server does not run jobs of kind `{other}`"
            )))
        }
    };
    match ran {
        Ok(result) => Ok(Outcome::Succeeded(result)),
        Err(pgbackrest::RunError::Failed(reason)) => Ok(Outcome::Failed(reason)),
        Err(pgbackrest::RunError::Stopped(reason)) => Ok(Outcome::Cancelled(reason)),
        Err(pgbackrest::RunError::Store(err)) => Err(err),
    }
}
