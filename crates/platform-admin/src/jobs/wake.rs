//! Waking idle workers when a job is enqueued, so that they do not poll:
//! PostgreSQL's `LISTEN jobs` (any server on the database may enqueue),
//! and on SQLite, which one server process owns, a signal in the process.
//! A slow poll stays underneath both, for what a wake-up can miss.
//!
//! The same way, whoever follows a job (an event stream, the worker of a
//! job asked to stop) is woken when any job changed: `Changes`, fed by
//! this process's writes at once and, on PostgreSQL, by `NOTIFY
//! job_changes` from every server on the database through one listener per
//! process.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::db::{redact, Db, DbKind};
use crate::error::Error;

/// The channel `enqueue` notifies on PostgreSQL.
const CHANNEL: &str = "jobs";

/// The channel every change of a job is notified on (PostgreSQL).
const CHANGES_CHANNEL: &str = "job_changes";

/// How long the process's change listener waits for a notification before
/// it looks whether anyone still needs it.
const CHANGES_IDLE: Duration = Duration::from_secs(30);

/// How long connecting the listener may take before the worker polls.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a worker waits before connecting again after a failure, so a
/// database that is down is not hammered.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// What a `Db` carries for its workers: on SQLite the in-process signal
/// (a `watch` whose version every enqueue bumps), on PostgreSQL the URL
/// the listeners connect to.
#[derive(Clone)]
pub(crate) struct Signal(Arc<SignalKind>, Arc<ChangeFeed>);

enum SignalKind {
    Sqlite(watch::Sender<u64>),
    Postgres { url: String },
}

/// The version of "some job changed", and on PostgreSQL whether the
/// process's listener runs.
struct ChangeFeed {
    version: watch::Sender<u64>,
    listening: Mutex<bool>,
}

impl Signal {
    pub(crate) fn new(kind: DbKind, url: &str) -> Signal {
        Signal(
            Arc::new(match kind {
                DbKind::Sqlite => SignalKind::Sqlite(watch::Sender::new(0)),
                DbKind::Postgres => SignalKind::Postgres {
                    url: url.to_string(),
                },
            }),
            Arc::new(ChangeFeed {
                version: watch::Sender::new(0),
                listening: Mutex::new(false),
            }),
        )
    }

    /// Wakes this process's followers of jobs, after the commit of a change.
    pub(crate) fn changed(&self) {
        self.1.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Follows changes of jobs from now on; on PostgreSQL the first follower
    /// starts the process's listener (it stops some time after the last
    /// follower went).
    pub(crate) fn changes(&self) -> Changes {
        let seen = self.1.version.subscribe();
        if let SignalKind::Postgres { url } = &*self.0 {
            let mut listening = self
                .1
                .listening
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !*listening {
                *listening = true;
                tokio::spawn(relay_changes(url.clone(), Arc::downgrade(&self.1)));
            }
        }
        Changes {
            seen,
            _feed: self.1.clone(),
        }
    }

    /// Wakes this process's waiting workers (SQLite), after the enqueuing
    /// commit; on PostgreSQL the transaction's `NOTIFY` already did.
    pub(crate) fn wake(&self) {
        if let SignalKind::Sqlite(version) = &*self.0 {
            version.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

/// One follower's view of job changes.
pub struct Changes {
    seen: watch::Receiver<u64>,
    _feed: Arc<ChangeFeed>,
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Changes")
    }
}

impl Changes {
    /// Marks every change so far as seen: call it before reading, so that
    /// a change committed after the read wakes the next `wait`.
    pub fn mark_seen(&mut self) {
        self.seen.borrow_and_update();
    }

    /// Returns when some job changed since `mark_seen` (at once if one
    /// already did), or after `poll` at the latest: what a lost
    /// notification misses is found then.
    pub async fn wait(&mut self, poll: Duration) -> Wake {
        match tokio::time::timeout(poll, self.seen.changed()).await {
            Ok(Ok(())) => Wake::Notified,
            // The sender lives as long as `_feed`: unreachable, but a
            // follower then waits out its poll rather than spinning.
            Ok(Err(_)) => {
                tokio::time::sleep(poll).await;
                Wake::Polled
            }
            Err(_) => Wake::Polled,
        }
    }
}

/// The process's PostgreSQL listener for job changes: relays each
/// notification to the followers, and wakes them after a reconnect (what
/// was sent meanwhile is lost). Ends once the `Db` is gone, or when nobody
/// followed for a while.
async fn relay_changes(url: String, feed: Weak<ChangeFeed>) {
    let mut listener: Option<PgListener> = None;
    loop {
        let Some(strong) = feed.upgrade() else { return };
        {
            // Checked under the lock a new follower takes after subscribing:
            // it either counts here or finds the listener stopped.
            let mut listening = strong
                .listening
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if strong.version.receiver_count() == 0 {
                *listening = false;
                return;
            }
        }
        drop(strong);
        let Some(active) = listener.as_mut() else {
            match listen_on(&url, CHANGES_CHANNEL).await {
                Ok(made) => {
                    listener = Some(made);
                    if let Some(feed) = feed.upgrade() {
                        feed.version.send_modify(|v| *v = v.wrapping_add(1));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for job changes; followers poll meanwhile");
                    tokio::time::sleep(RECONNECT_AFTER).await;
                }
            }
            continue;
        };
        match tokio::time::timeout(CHANGES_IDLE, active.try_recv()).await {
            Ok(Ok(Some(_))) => {
                while active.next_buffered().is_some() {}
                if let Some(feed) = feed.upgrade() {
                    feed.version.send_modify(|v| *v = v.wrapping_add(1));
                }
            }
            Ok(Ok(None)) => {
                if let Some(feed) = feed.upgrade() {
                    feed.version.send_modify(|v| *v = v.wrapping_add(1));
                }
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "lost the connection listening for job changes");
                listener = None;
            }
            Err(_) => {}
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            SignalKind::Sqlite(_) => f.write_str("Signal::Sqlite"),
            SignalKind::Postgres { url } => write!(f, "Signal::Postgres({})", redact(url)),
        }
    }
}

/// Why `wait_for_work` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A job was enqueued since the waiter last looked.
    Notified,
    /// The poll interval passed, or the listener reconnected (what was
    /// sent meanwhile is lost): look for work anyway.
    Polled,
}

/// One worker's way of sleeping until there may be work. Made before the
/// worker's first claim: an enqueue from then on wakes its next wait, even
/// one that happens between a claim that found nothing and the wait.
pub struct Waiter {
    how: How,
}

enum How {
    Sqlite {
        seen: watch::Receiver<u64>,
        // Keeps the sender alive, so `changed` never fails.
        _signal: Signal,
    },
    Postgres {
        url: String,
        listener: Option<PgListener>,
    },
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.how {
            How::Sqlite { .. } => f.write_str("Waiter::Sqlite"),
            How::Postgres { url, listener } => f
                .debug_struct("Waiter::Postgres")
                .field("url", &redact(url))
                .field("listening", &listener.is_some())
                .finish(),
        }
    }
}

impl Waiter {
    /// On PostgreSQL, connects a listener of its own (one connection per
    /// waiting worker, outside the pool) and runs `LISTEN jobs` before
    /// returning, so no notification sent after this is missed.
    pub async fn new(db: &Db) -> Result<Waiter, Error> {
        let signal = db.job_signal().clone();
        let how = match &*signal.0 {
            SignalKind::Sqlite(version) => How::Sqlite {
                seen: version.subscribe(),
                _signal: signal.clone(),
            },
            SignalKind::Postgres { url } => How::Postgres {
                url: url.clone(),
                listener: Some(listen(url).await?),
            },
        };
        Ok(Waiter { how })
    }

    /// Returns when a job was enqueued since the last return (at once if
    /// one already was), or after `poll` at the latest: the caller then
    /// claims, and waits again when there is nothing. A lost PostgreSQL
    /// connection is reconnected here; until it is, the poll carries on.
    pub async fn wait_for_work(&mut self, poll: Duration) -> Wake {
        let deadline = Instant::now() + poll;
        match &mut self.how {
            How::Sqlite { seen, .. } => {
                match tokio::time::timeout_at(deadline, seen.changed()).await {
                    Ok(Ok(())) => {
                        seen.borrow_and_update();
                        Wake::Notified
                    }
                    Ok(Err(_)) => {
                        // Unreachable while `_signal` holds the sender;
                        // waiting out the poll keeps a worker from spinning.
                        tokio::time::sleep_until(deadline).await;
                        Wake::Polled
                    }
                    Err(_) => Wake::Polled,
                }
            }
            How::Postgres { url, listener } => wait_postgres(url, listener, deadline).await,
        }
    }
}

async fn wait_postgres(url: &str, slot: &mut Option<PgListener>, deadline: Instant) -> Wake {
    loop {
        let Some(listener) = slot else {
            match tokio::time::timeout_at(deadline, listen(url)).await {
                Ok(Ok(listener)) => {
                    *slot = Some(listener);
                    tracing::info!("listening for new jobs again");
                    return Wake::Polled;
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "cannot listen for new jobs; polling meanwhile");
                    let retry = (Instant::now() + RECONNECT_AFTER).min(deadline);
                    tokio::time::sleep_until(retry).await;
                    if retry >= deadline {
                        return Wake::Polled;
                    }
                    continue;
                }
                Err(_) => return Wake::Polled,
            }
        };
        // `try_recv` may be cancelled by the deadline without losing its
        // place in the stream (sqlx 0.8.1 and later).
        match tokio::time::timeout_at(deadline, listener.try_recv()).await {
            Ok(Ok(Some(_))) => {
                // One look serves every job enqueued so far.
                while listener.next_buffered().is_some() {}
                return Wake::Notified;
            }
            // The connection dropped and was made again: notifications
            // sent in between are gone, so look now.
            Ok(Ok(None)) => return Wake::Polled,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "lost the connection listening for new jobs");
                *slot = None;
            }
            Err(_) => return Wake::Polled,
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, Error> {
    listen_on(url, CHANNEL).await
}

async fn listen_on(url: &str, channel: &str) -> Result<PgListener, Error> {
    let listen_error = |source| Error::JobListen {
        url: redact(url),
        source,
    };
    let connect = async {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(listening) => listening.map_err(listen_error),
        Err(_) => Err(listen_error(sqlx::Error::PoolTimedOut)),
    }
}
