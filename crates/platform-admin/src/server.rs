//! Accepting and serving connections: `app` over HTTP/1.1, with bounds on
//! what a client can hold without finishing a request. Headers must arrive
//! within a deadline, a body within another, at most so many connections
//! are open at once, and a graceful shutdown drops whatever is still open
//! after its own deadline. At the limit, a new connection takes the place
//! of the one that has waited longest for a request's headers (a client
//! holding sockets open cannot keep a health check out); when every
//! connection is busy with a request, new ones wait in the listen queue,
//! which `bind` makes long enough for that. What a request means is `app`'s business, not this module's.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::error::Error;
use crate::{db, idempotency, AppState};

/// How long the server lets a client take, and how much it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// From connecting (or from the end of the previous response) until a
    /// request's headers are complete; then the connection is closed.
    pub header_read_timeout: Duration,
    /// From the headers until the whole body has arrived; then reading the
    /// body fails and the request is answered 400.
    pub body_read_timeout: Duration,
    /// Connections served at once; further ones wait to be accepted. Lowered
    /// to what the process's open-file limit allows.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for open connections to finish
    /// their requests before it drops them.
    pub shutdown_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// How often keys past their retention are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// A connection is given up for a newcomer only after waiting this long for
/// headers, so that a client whose request is on its way (it follows the
/// handshake within a round trip) keeps its place. Longer would let a
/// reconnecting flood stall the accept loop until the listen queue spills.
const EVICTABLE_AFTER: Duration = Duration::from_millis(50);

/// Files the process needs besides its connections: the listener, the
/// database pool, SQLite's WAL and shared-memory files, stdio, logs.
const RESERVED_FILES: u64 = 64;

/// Connections the kernel keeps waiting to be accepted (it caps this at
/// `net.core.somaxconn`). At the connection limit newcomers wait there while
/// the accept loop makes room; the usual 128 overflows once a few hundred
/// clients hold or retry half requests beyond the limit, and a full queue
/// drops a health check's SYN, which its client sends again only after 1 s,
/// then 3 s.
pub const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `addr` with a listen queue of `LISTEN_BACKLOG`.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server takes its port back
    // while the old one's connections linger in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then lets
/// requests in flight finish (for at most `options.shutdown_timeout`) and
/// closes the database.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let purge_db = state.db.clone();
    let purge = tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_INTERVAL);
        loop {
            every.tick().await;
            match idempotency::purge_expired(&purge_db, db::now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired idempotency keys deleted"),
                Err(err) => tracing::warn!(error = %err, "cannot delete expired idempotency keys"),
            }
        }
    });
    let db = state.db.clone();
    let served = accept_loop(listener, crate::app(state), options, shutdown).await;
    purge.abort();
    db.close().await;
    served
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let limit = connection_limit(options.max_connections);
    let permits = Arc::new(Semaphore::new(limit));
    let (stop, stopping) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let mut connections = JoinSet::new();
    let idle = Idle::default();
    tokio::pin!(shutdown);

    loop {
        while connections.try_join_next().is_some() {}
        // One accepted socket may wait for a permit; the rest wait in the
        // kernel's listen queue instead of taking a file each.
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    // Out of files or memory: wait instead of spinning.
                    tracing::error!(error = %err, "cannot accept a connection");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                    }
                }
            },
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waited = loop {
                    // At the limit: make room by closing the connection that
                    // has waited longest for headers, once it waited enough.
                    if idle.evict_longest(EVICTABLE_AFTER) {
                        tracing::debug!("at the connection limit: closed the longest idle one");
                    }
                    tokio::select! {
                        () = &mut shutdown => break None,
                        permit = permits.clone().acquire_owned() => break permit.ok(),
                        () = tokio::time::sleep(EVICTABLE_AFTER) => {}
                    }
                };
                match waited {
                    Some(permit) => permit,
                    None => break,
                }
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        let router = router.clone();
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        let body_timeout = options.body_read_timeout;
        let tracked = idle.track(permit);
        connections.spawn(async move {
            let requests = tracked.clone();
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let req = req.map(|body| DeadlineBody::new(body, body_timeout));
                let requests = requests.clone();
                requests.busy();
                let response = router.clone().oneshot(req);
                async move {
                    let response = response.await;
                    requests.waiting();
                    response
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let finished = tokio::select! {
                finished = conn.as_mut() => finished,
                // Only ever changes to `true`, after every connection
                // subscribed; a dropped sender means stopping as well.
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
                () = tracked.evicted() => Ok(()),
            };
            if let Err(err) = finished {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }

    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(options.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            of = open,
            timeout_s = options.shutdown_timeout.as_secs_f64(),
            "connections still open at the shutdown deadline were dropped"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Open connections and since when each has waited for a request's
/// headers (none while it serves a request).
#[derive(Default)]
struct Idle {
    inner: Arc<Mutex<IdleInner>>,
}

#[derive(Default)]
struct IdleInner {
    next: u64,
    waiting: HashMap<u64, (Option<Instant>, Arc<Notify>)>,
}

impl Idle {
    /// A new connection, waiting for its first request. It holds `permit`
    /// until its entry is gone, so that a newcomer let in by its end never
    /// finds it still listed (and waits on it in vain).
    fn track(&self, permit: OwnedSemaphorePermit) -> Tracked {
        let evict = Arc::new(Notify::new());
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let id = inner.next;
        inner.next += 1;
        inner
            .waiting
            .insert(id, (Some(Instant::now()), Arc::clone(&evict)));
        Tracked(Arc::new(TrackedInner {
            id,
            idle: Arc::clone(&self.inner),
            evict,
            _permit: permit,
        }))
    }

    /// Tells the connection that has waited longest for headers, if at
    /// least `min_wait`, to close; false when there is none.
    fn evict_longest(&self, min_wait: Duration) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let longest = inner
            .waiting
            .values_mut()
            .filter(|(since, _)| since.is_some_and(|since| now.duration_since(since) >= min_wait))
            .min_by_key(|(since, _)| *since);
        match longest {
            Some((since, evict)) => {
                // Told once: it is on its way out and not to be picked again.
                *since = None;
                evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One connection's entry in `Idle`; removed when the last clone drops.
#[derive(Clone)]
struct Tracked(Arc<TrackedInner>);

struct TrackedInner {
    id: u64,
    idle: Arc<Mutex<IdleInner>>,
    evict: Arc<Notify>,
    /// Released after `drop` removed the entry.
    _permit: OwnedSemaphorePermit,
}

impl Tracked {
    fn set(&self, since: Option<Instant>) {
        let mut inner = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = inner.waiting.get_mut(&self.0.id) {
            entry.0 = since;
        }
    }

    fn busy(&self) {
        self.set(None);
    }

    fn waiting(&self) {
        self.set(Some(Instant::now()));
    }

    /// Completes when the connection is to make room for a newcomer.
    async fn evicted(&self) {
        self.0.evict.notified().await;
    }
}

impl Drop for TrackedInner {
    fn drop(&mut self) {
        let mut inner = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        inner.waiting.remove(&self.id);
    }
}

/// Errors of one connection that leave the listener fine.
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// `wanted`, or fewer when the open-file limit would run out first: an
/// accept that fails for want of a file leaves the client hanging in the
/// queue, health checks included. The soft limit is raised towards the
/// hard one when that is enough.
fn connection_limit(wanted: usize) -> usize {
    let wanted = wanted.max(1);
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let needed = wanted as u64 + RESERVED_FILES;
        let files = getrlimit(Resource::Nofile);
        let Some(current) = files.current else {
            return wanted;
        };
        if current >= needed {
            return wanted;
        }
        let raised = files.maximum.map_or(needed, |max| max.min(needed));
        let available = if raised > current
            && setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(raised),
                    maximum: files.maximum,
                },
            )
            .is_ok()
        {
            raised
        } else {
            current
        };
        let fits = usize::try_from(available.saturating_sub(RESERVED_FILES))
            .unwrap_or(wanted)
            .clamp(1, wanted);
        if fits < wanted {
            tracing::warn!(
                wanted,
                serving = fits,
                open_files = available,
                "fewer connections than asked for: the open-file limit is too low (raise `ulimit -n`)"
            );
        }
        fits
    }
    #[cfg(not(unix))]
    wanted
}

/// A request body that fails once it has not fully arrived by a deadline
/// set when the headers were read, so that a client trickling a body
/// cannot hold its connection forever.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            timeout,
        }
    }
}

/// Why a body stopped arriving.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("the request body did not arrive within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("cannot read the request body: {0}")]
    Read(#[source] hyper::Error),
}

impl Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(BodyError::Read))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::TimedOut(this.timeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
