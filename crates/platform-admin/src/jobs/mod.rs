//! Durable jobs: the queue that backups, restores, failovers and playbook
//! runs are taken from by several workers, on SQLite or PostgreSQL. It owns
//! the rows of `jobs`, who may report on a running job (its owner, while
//! its lease holds) and how idle workers are woken, and `routes` shows
//! jobs (`GET /v1/jobs…`); what a job of a kind does belongs to its
//! capability (`backups`), and the loop that runs them to `worker`.
//!
//! A worker's loop:
//!
//! ```no_run
//! # async fn run(db: platform_admin::Db) -> Result<(), platform_admin::Error> {
//! use platform_admin::{db, jobs};
//! let mut waiter = jobs::Waiter::new(&db).await?;
//! loop {
//!     match jobs::claim_next(&db, "server-1/worker-0", jobs::LEASE, db::now()).await? {
//!         Some(claimed) => {
//!             // … run it, `renew` the lease every few seconds, then:
//!             let mut tx = db.begin().await?;
//!             jobs::complete(&mut tx, &claimed.claim, db::now()).await?;
//!             tx.commit().await?;
//!             jobs::changed(&db);
//!         }
//!         None => {
//!             waiter.wait_for_work(jobs::POLL).await;
//!         }
//!     }
//! }
//! # }
//! ```

pub mod routes;
mod store;
mod wake;

pub use store::{
    active_on, append_log, cancel, cancel_in, cancel_requested, cancelled, changed, claim_next,
    complete, enqueue, enqueue_in, enqueue_in_at, fail, get, list, log, log_after, next_due, renew,
    report_progress, succeed, woken, Claim, Claimed, Job, JobState, LogLine, NewJob, Progress,
};
pub(crate) use wake::Signal;
pub use wake::{Changes, Waiter, Wake};

/// Follows changes of any job from now on (see `Changes`).
pub fn follow(db: &crate::Db) -> Changes {
    db.job_signal().changes()
}

/// How long a claim holds a job without being renewed: a worker renews
/// well within it (every few seconds) while it runs, so a job whose worker
/// died is taken over after this long.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// How often an idle worker looks for work when nothing woke it: only
/// what a wake-up can miss (a PostgreSQL notification sent while the
/// worker was reconnecting, a job enqueued by another process on SQLite,
/// a lease running out) waits this long.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(15);
