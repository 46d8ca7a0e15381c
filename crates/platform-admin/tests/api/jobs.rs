//! The durable-job store: claims under racing workers, wake-ups, leases,
//! cancellation. These drive its functions on the database of a real
//! server; `job_routes` drives its routes.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use platform_admin::jobs::{self, Claimed, JobState, NewJob, Progress, Waiter, Wake};
use platform_admin::{db, Db, DbKind, Error};
use serde_json::json;

/// Longer than any test waits: a wake-up that came from the poll fails.
const LONG_POLL: Duration = Duration::from_secs(30);

/// What "woken at once" must beat, with room for a loaded machine.
const WAKE_WITHIN: Duration = Duration::from_secs(5);

fn backup(n: usize) -> NewJob {
    NewJob {
        kind: "backup".to_string(),
        tenant: Some(format!("tenant-{n}")),
        payload: json!({ "n": n, "compress": true }),
        target: None,
        actor: None,
    }
}

async fn enqueue(db: &Db, n: usize) -> jobs::Job {
    jobs::enqueue(db, backup(n), db::now())
        .await
        .expect("enqueue")
}

async fn claim(db: &Db, worker: &str, at: chrono::DateTime<Utc>) -> Option<Claimed> {
    jobs::claim_next(db, worker, jobs::LEASE, at)
        .await
        .expect("claim")
}

async fn complete(db: &Db, claimed: &jobs::Claim) -> Result<(), Error> {
    let mut tx = db.begin().await.expect("begin");
    jobs::complete(&mut tx, claimed, db::now()).await?;
    tx.commit().await.expect("commit");
    Ok(())
}

async fn job(db: &Db, id: &str) -> jobs::Job {
    jobs::get(db, id)
        .await
        .expect("get")
        .expect("the job exists")
}

#[track_caller]
fn assert_taken_over(result: Result<(), Error>, what: &str) {
    assert!(
        matches!(result, Err(Error::JobTakenOver { .. })),
        "{what} by a worker that was taken over: {result:?}"
    );
}

/// What enqueues while a worker waits: on PostgreSQL another pool (as
/// another server on the database would); on SQLite, which one process
/// owns, another connection of the server's pool.
async fn other_connection(srv: &crate::support::Server) -> Db {
    match srv.db.kind() {
        DbKind::Postgres => Db::connect(&srv.db_url()).await.expect("second pool"),
        DbKind::Sqlite => srv.db.clone(),
    }
}

on_both_databases! {
    async fn a_job_not_yet_due_is_passed_over_until_its_time_and_a_later_one_runs_first(srv) {
        let db = &srv.db;
        let now = db::now();
        let due = now + chrono::Duration::seconds(10);
        let mut tx = db.begin().await.expect("begin");
        let later = jobs::enqueue_in_at(&mut tx, db.kind(), backup(1), now, Some(due))
            .await
            .expect("enqueue");
        tx.commit().await.expect("commit");
        jobs::woken(db);
        assert_eq!(later.not_before, Some(due));
        assert!(claim(db, "w", now).await.is_none(), "claimed before it was due");
        assert_eq!(jobs::next_due(db, now).await.expect("next due"), Some(due));

        // Queued after it, but due now: it goes first.
        let now_job = enqueue(db, 2).await;
        let first = claim(db, "w", now).await.expect("the job due now");
        assert_eq!(first.job.id, now_job.id);
        assert!(claim(db, "w", now).await.is_none());

        let at_its_time = claim(db, "w", due).await.expect("due at its time");
        assert_eq!(at_its_time.job.id, later.id);
        assert_eq!(jobs::next_due(db, due).await.expect("next due"), None);
    }

    async fn racing_workers_claim_each_job_exactly_once(srv) {
        const JOBS: usize = 300;
        const WORKERS: usize = 8;
        let mut enqueued = HashSet::new();
        for n in 0..JOBS {
            enqueued.insert(enqueue(&srv.db, n).await.id);
        }
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            let db = srv.db.clone();
            workers.push(tokio::spawn(async move {
                let worker = format!("worker-{w}");
                let mut mine = Vec::new();
                while let Some(claimed) = claim(&db, &worker, db::now()).await {
                    assert_eq!(claimed.job.state, JobState::Running);
                    complete(&db, &claimed.claim).await.expect("complete a job of its own");
                    mine.push(claimed.job.id);
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        let all = async {
            for worker in workers {
                claimed.extend(worker.await.expect("worker task"));
            }
        };
        tokio::time::timeout(Duration::from_secs(120), all).await.expect("workers done within 2 minutes");
        let unique: HashSet<String> = claimed.iter().cloned().collect();
        assert_eq!(claimed.len(), JOBS, "claims in all");
        assert_eq!(unique, enqueued, "each job claimed once");
        for id in &enqueued {
            let job = job(&srv.db, id).await;
            assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1), "{id}");
        }
    }

    async fn an_idle_worker_is_woken_by_an_enqueue_long_before_its_poll(srv) {
        let mut waiter = Waiter::new(&srv.db).await.expect("waiter");
        assert!(claim(&srv.db, "idle", db::now()).await.is_none());
        let waiting = tokio::spawn(async move {
            let started = Instant::now();
            let wake = waiter.wait_for_work(LONG_POLL).await;
            (wake, started.elapsed())
        });
        // Let it get to waiting, so the wake-up is the enqueue's.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let other = other_connection(srv).await;
        let enqueued = tokio::spawn(async move { enqueue(&other, 1).await });
        let (wake, waited) = tokio::time::timeout(WAKE_WITHIN, waiting)
            .await
            .expect("woken before the poll interval")
            .expect("waiting task");
        assert_eq!(wake, Wake::Notified);
        assert!(waited < WAKE_WITHIN, "waited {waited:?}");
        let enqueued = enqueued.await.expect("enqueuing task");
        let claimed = claim(&srv.db, "idle", db::now()).await.expect("the enqueued job");
        assert_eq!(claimed.job.id, enqueued.id);
    }

    async fn an_enqueue_between_an_empty_claim_and_the_wait_is_not_missed(srv) {
        let mut waiter = Waiter::new(&srv.db).await.expect("waiter");
        assert!(claim(&srv.db, "idle", db::now()).await.is_none());
        let other = other_connection(srv).await;
        enqueue(&other, 1).await;
        let wake = tokio::time::timeout(WAKE_WITHIN, waiter.wait_for_work(LONG_POLL))
            .await
            .expect("woken by the enqueue before the wait");
        assert_eq!(wake, Wake::Notified);
    }

    async fn an_idle_worker_looks_again_after_the_poll_interval(srv) {
        let mut waiter = Waiter::new(&srv.db).await.expect("waiter");
        let poll = Duration::from_millis(300);
        let started = Instant::now();
        let wake = tokio::time::timeout(WAKE_WITHIN, waiter.wait_for_work(poll))
            .await
            .expect("back after the poll interval");
        assert_eq!(wake, Wake::Polled);
        assert!(started.elapsed() >= poll, "back after {:?}", started.elapsed());
    }

    async fn an_expired_lease_is_taken_over_and_the_first_owner_may_no_longer_finish(srv) {
        let enqueued = enqueue(&srv.db, 1).await;
        // The first worker claimed long enough ago that its lease ran out.
        let long_ago = db::now() - jobs::LEASE * 2;
        let mut first = claim(&srv.db, "first", long_ago).await.expect("first claim");
        let second = claim(&srv.db, "second", db::now()).await.expect("taken over");
        assert_eq!(second.job.id, enqueued.id);
        assert_eq!((second.job.attempts, second.claim.attempt), (2, 2));
        assert_eq!(second.job.owner.as_deref(), Some("second"));

        assert_taken_over(complete(&srv.db, &first.claim).await, "complete");
        let mut conn = srv.db.pool().acquire().await.expect("connection");
        assert_taken_over(jobs::fail(&mut conn, &first.claim, "stalled", db::now()).await, "fail");
        assert_taken_over(jobs::renew(&srv.db, &mut first.claim, jobs::LEASE, db::now()).await, "renew");
        let progress = Progress { done: 1, total: None, phase: None };
        assert_taken_over(jobs::report_progress(&srv.db, &first.claim, &progress, db::now()).await, "progress");

        complete(&srv.db, &second.claim).await.expect("the new owner completes");
        let done = job(&srv.db, &enqueued.id).await;
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.owner.as_deref(), Some("second"));
        assert_eq!(done.progress, Progress::default());
    }

    async fn a_renewed_lease_keeps_the_job_from_being_taken_over(srv) {
        let enqueued = enqueue(&srv.db, 1).await;
        let long_ago = db::now() - jobs::LEASE * 2;
        let mut first = claim(&srv.db, "first", long_ago).await.expect("first claim");
        jobs::renew(&srv.db, &mut first.claim, jobs::LEASE, db::now()).await.expect("renew a lease still held");
        assert!(first.claim.lease_until > db::now());
        assert!(claim(&srv.db, "second", db::now()).await.is_none(), "a renewed job was taken over");
        complete(&srv.db, &first.claim).await.expect("the owner completes");
        let done = job(&srv.db, &enqueued.id).await;
        assert_eq!((done.state, done.attempts), (JobState::Succeeded, 1));
        assert_eq!(done.lease_until, None);
    }

    async fn a_cancelled_queued_job_is_never_claimed_and_a_running_one_never_succeeds(srv) {
        let cancelled = enqueue(&srv.db, 1).await;
        let kept = enqueue(&srv.db, 2).await;
        let after = jobs::cancel(&srv.db, &cancelled.id, db::now()).await.expect("cancel a queued job");
        assert_eq!(after.state, JobState::Cancelled);

        let claimed = claim(&srv.db, "worker", db::now()).await.expect("the job left");
        assert_eq!(claimed.job.id, kept.id);
        assert!(claim(&srv.db, "worker", db::now()).await.is_none());
        // Nor once its lease would have run out, had it been claimed.
        let later = db::now() + jobs::LEASE * 3;
        let again = claim(&srv.db, "worker", later).await.expect("the running job taken over");
        assert_eq!(again.job.id, kept.id);
        assert!(claim(&srv.db, "worker", later).await.is_none());

        // Running: asked to stop, still running until its worker stops it.
        let asked = jobs::cancel(&srv.db, &kept.id, db::now()).await.expect("cancel a running job");
        assert_eq!(asked.state, JobState::Running);
        assert!(asked.cancel_requested_at.is_some());
        assert!(jobs::cancel_requested(&srv.db, &again.claim).await.expect("read"));
        let succeeded = complete(&srv.db, &again.claim).await;
        assert!(matches!(succeeded, Err(Error::JobCancelRequested(_))), "{succeeded:?}");
        let mut tx = srv.db.begin().await.expect("begin");
        jobs::cancelled(&mut tx, &again.claim, "stopped", db::now()).await.expect("cancelled");
        tx.commit().await.expect("commit");
        assert_eq!(job(&srv.db, &kept.id).await.state, JobState::Cancelled);
        let ended = jobs::cancel(&srv.db, &kept.id, db::now()).await;
        assert!(
            matches!(ended, Err(Error::JobNotCancellable { state: JobState::Cancelled, .. })),
            "{ended:?}"
        );
        let unknown = jobs::cancel(&srv.db, "0190c6f2-0000-7000-8000-000000000000", db::now()).await;
        assert!(matches!(unknown, Err(Error::JobNotFound(_))), "{unknown:?}");
        let stored = job(&srv.db, &cancelled.id).await;
        assert_eq!((stored.state, stored.attempts), (JobState::Cancelled, 0));
    }

    async fn a_job_keeps_what_it_was_given_its_progress_and_why_it_failed(srv) {
        let enqueued = enqueue(&srv.db, 7).await;
        assert_eq!(enqueued.state, JobState::Queued);
        assert_eq!(enqueued.kind, "backup");
        assert_eq!(enqueued.tenant.as_deref(), Some("tenant-7"));
        assert_eq!(enqueued.payload, json!({ "n": 7, "compress": true }));
        let claimed = claim(&srv.db, "worker", db::now()).await.expect("claim");
        let progress = Progress { done: 3, total: Some(10), phase: Some("dumping".to_string()) };
        jobs::report_progress(&srv.db, &claimed.claim, &progress, db::now()).await.expect("progress");
        assert_eq!(job(&srv.db, &enqueued.id).await.progress, progress);

        let mut conn = srv.db.pool().acquire().await.expect("connection");
        jobs::fail(&mut conn, &claimed.claim, "pg_dump exited with 1", db::now()).await.expect("fail");
        let failed = job(&srv.db, &enqueued.id).await;
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.error.as_deref(), Some("pg_dump exited with 1"));
        assert_eq!(failed.progress, progress);
        assert!(claim(&srv.db, "worker", db::now() + jobs::LEASE * 3).await.is_none(), "a failed job ran again");
    }
}

/// PostgreSQL only: SQLite's signal has no connection to lose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_listener_connection_is_killed_listens_again() {
    let server = crate::support::Server::start(
        crate::support::Backend::Postgres,
        "a_worker_whose_listener_connection_is_killed_listens_again",
    )
    .await;
    let srv = &server;
    let mut waiter = Waiter::new(&srv.db).await.expect("waiter");
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(srv.db.pool())
    .await
    .expect("terminate the listener's backend");
    assert_eq!(killed, [true], "one listener connection");

    let lost = tokio::time::timeout(WAKE_WITHIN, waiter.wait_for_work(LONG_POLL))
        .await
        .expect("back at once when the connection is lost");
    assert_eq!(lost, Wake::Polled, "notifications may have been missed");
    let other = other_connection(srv).await;
    enqueue(&other, 1).await;
    let wake = tokio::time::timeout(WAKE_WITHIN, waiter.wait_for_work(LONG_POLL))
        .await
        .expect("woken through the new connection");
    assert_eq!(wake, Wake::Notified);
}
