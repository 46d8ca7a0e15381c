//! Measures what the accept loop (`src/server.rs`) promises: a health check
//! on a fresh connection answers about as fast while clients hold half
//! requests open, or flood the listener with them, as on an idle server.
//! Every figure is a ratio to the idle server's median in the same run.
//! `bench/server-connections` builds this, starts the servers and passes
//! their addresses; only loopback addresses are accepted.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::runtime::{Builder, Handle};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// A complete health check; the server closes the connection after it.
const HEALTH_REQUEST: &[u8] =
    b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// Headers without the blank line that ends them.
const HALF_REQUEST: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// Health checks start this far apart, so that each scenario's checks
/// span a few seconds of its load rather than a burst at its start.
const PACE: Duration = Duration::from_millis(10);

/// A health check slower than this counts as missed: a load balancer
/// would have marked the server down long before.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connecting and sending half a request, for a holder or the flood.
const ATTACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the held connections may take to be open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the load's tasks may take to stop once told.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Enough of an answer to see its status line; a health answer is short.
const MAX_ANSWER: u64 = 64 * 1024;

#[derive(Debug, Parser)]
#[command(about = "Health-check latency of platform-admin under held and flooding connections")]
struct Args {
    /// The server under test, as it prints it (`http://127.0.0.1:PORT`).
    #[arg(long)]
    server: String,
    /// Connections that each hold half a request open.
    #[arg(long, default_value_t = 1000)]
    held: usize,
    /// Sequential health checks per scenario.
    #[arg(long, default_value_t = 300)]
    probes: usize,
    /// Tasks that connect, send half a request and drop, over and over.
    #[arg(long, default_value_t = 64)]
    flood_tasks: usize,
    /// A second server, started under a low open-file limit.
    #[arg(long, requires = "low_files")]
    low_files_server: Option<String>,
    /// That server's open-file limit (`ulimit -n`), for the table.
    #[arg(long)]
    low_files: Option<u64>,
    /// Connections held open against that server.
    #[arg(long, default_value_t = 400)]
    low_files_held: usize,
}

/// Why a health check did not count as answered.
#[derive(Debug, thiserror::Error)]
enum Miss {
    #[error("no answer within {} s", PROBE_TIMEOUT.as_secs())]
    TimedOut,
    #[error("the connection failed: {0}")]
    Io(#[source] io::Error),
    #[error("answered {0:?} instead of 200")]
    Status(String),
}

/// The health checks of one scenario.
#[derive(Debug, Default)]
struct Sample {
    latencies: Vec<Duration>,
    missed: usize,
    first_miss: Option<String>,
}

impl Sample {
    fn record(&mut self, probe: Result<Duration, Miss>) {
        match probe {
            Ok(took) => self.latencies.push(took),
            Err(miss) => {
                self.missed += 1;
                self.first_miss.get_or_insert_with(|| miss.to_string());
            }
        }
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted
    }

    /// The value below which `p` percent of the answers fall (nearest rank).
    fn percentile(&self, p: usize) -> Option<Duration> {
        let sorted = self.sorted();
        let rank = (sorted.len() * p).div_ceil(100).max(1);
        sorted.get(rank - 1).copied()
    }

    fn median(&self) -> Option<Duration> {
        self.percentile(50)
    }

    fn worst(&self) -> Option<Duration> {
        self.latencies.iter().max().copied()
    }
}

/// One row of the table.
struct Row {
    scenario: String,
    sample: Sample,
}

/// Milliseconds, or a dash when nothing answered.
struct Ms(Option<Duration>);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{:.2} ms", d.as_secs_f64() * 1000.0),
            None => f.write_str("-"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = loopback(&args.server)?;
    let low_files = match (&args.low_files_server, args.low_files) {
        (Some(addr), Some(limit)) => Some((loopback(addr)?, limit)),
        _ => None,
    };
    // The load gets one thread and the health checks another, so that on a
    // small machine the server keeps a core and a check never waits behind
    // the load's own tasks.
    let load = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .enable_all()
        .build()
        .context("start the load's runtime")?;
    let probes = Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the health checks' runtime")?;
    let rows = probes.block_on(run(&args, server, low_files, load.handle()))?;
    load.shutdown_timeout(STOP_TIMEOUT);

    print_table(&rows);
    let missed: usize = rows.iter().map(|row| row.sample.missed).sum();
    if missed > 0 {
        for row in &rows {
            if let Some(miss) = &row.sample.first_miss {
                eprintln!("{}: first missed health check: {miss}", row.scenario);
            }
        }
        bail!("{missed} health checks went unanswered");
    }
    Ok(())
}

/// `http://127.0.0.1:PORT` (or the bare address), refused unless loopback.
fn loopback(url: &str) -> anyhow::Result<SocketAddr> {
    let bare = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let addr: SocketAddr = bare
        .parse()
        .with_context(|| format!("{url:?} is not an address like http://127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address: this bench only loads loopback servers");
    }
    Ok(addr)
}

async fn run(
    args: &Args,
    server: SocketAddr,
    low_files: Option<(SocketAddr, u64)>,
    load: &Handle,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();

    eprintln!("warming up on {server} ...");
    measure(server, 20).await;
    rows.push(Row {
        scenario: "idle (baseline)".into(),
        sample: measure(server, args.probes).await,
    });

    eprintln!("holding {} half requests ...", args.held);
    let holders = Holders::open(load, server, args.held).await?;
    let sample = measure(server, args.probes).await;
    let held = holders.stop().await?;
    rows.push(Row {
        scenario: format!(
            "{} half requests held ({} closed by the server)",
            args.held, held.closed
        ),
        sample,
    });

    eprintln!("flooding with {} tasks ...", args.flood_tasks);
    let flood = Flood::start(load, server, args.flood_tasks);
    // Let the flood reach its pace before the checks begin.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sample = measure(server, args.probes).await;
    let flooded = flood.stop().await?;
    rows.push(Row {
        scenario: format!(
            "reconnect flood, {} tasks: {:.0} conn/s{}",
            args.flood_tasks,
            flooded.per_second(),
            if flooded.failed > 0 {
                format!(" ({} failed)", flooded.failed)
            } else {
                String::new()
            }
        ),
        sample,
    });

    if let Some((addr, limit)) = low_files {
        eprintln!(
            "holding {} half requests on the server under ulimit -n {limit} ...",
            args.low_files_held
        );
        measure(addr, 5).await;
        let holders = Holders::open(load, addr, args.low_files_held).await?;
        let sample = measure(addr, args.probes).await;
        let held = holders.stop().await?;
        rows.push(Row {
            scenario: format!(
                "ulimit -n {limit}, {} held ({:.0} evicted/s, each reconnected)",
                args.low_files_held,
                held.closed_per_second()
            ),
            sample,
        });
    }

    // The same idle server once more: how far the run's noise goes, and
    // that nothing of the load stayed behind.
    tokio::time::sleep(Duration::from_millis(500)).await;
    rows.push(Row {
        scenario: "idle again".into(),
        sample: measure(server, args.probes).await,
    });
    Ok(rows)
}

/// `count` health checks one after the other, each on a fresh connection,
/// started at most every `PACE`.
async fn measure(addr: SocketAddr, count: usize) -> Sample {
    let mut sample = Sample::default();
    let mut pace = tokio::time::interval(PACE);
    // A slow check delays the next ones instead of setting off a burst.
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..count {
        pace.tick().await;
        sample.record(probe(addr).await);
    }
    sample
}

/// One health check: connect, ask, read the answer to the end.
async fn probe(addr: SocketAddr) -> Result<Duration, Miss> {
    let started = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(HEALTH_REQUEST).await?;
        let mut answer = Vec::with_capacity(512);
        (&mut stream)
            .take(MAX_ANSWER)
            .read_to_end(&mut answer)
            .await?;
        Ok::<_, io::Error>(answer)
    })
    .await
    .map_err(|_| Miss::TimedOut)?
    .map_err(Miss::Io)?;
    let took = started.elapsed();
    if !answer.starts_with(b"HTTP/1.1 200 ") {
        let line = answer.split(|&b| b == b'\r').next().unwrap_or_default();
        return Err(Miss::Status(String::from_utf8_lossy(line).into_owned()));
    }
    Ok(took)
}

/// Connects and sends half a request.
async fn half_request(addr: SocketAddr) -> io::Result<TcpStream> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        // Lands in the kernel's buffers even before the server accepts.
        stream.write_all(HALF_REQUEST).await?;
        Ok(stream)
    };
    tokio::time::timeout(ATTACK_TIMEOUT, attempt)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting took too long"))?
}

/// Completes when the server closes `stream` (or it fails).
async fn closed_by_server(mut stream: TcpStream) {
    let mut buffer = [0u8; 1024];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            break;
        }
    }
}

/// Tasks that each keep one half request open: when the server closes it,
/// the task opens another, as an attacker would.
struct Holders {
    stop: watch::Sender<bool>,
    tasks: JoinSet<u64>,
    started: Instant,
}

/// What the holders saw.
struct Held {
    /// Times the server closed a held connection.
    closed: u64,
    took: Duration,
}

impl Held {
    fn closed_per_second(&self) -> f64 {
        self.closed as f64 / self.took.as_secs_f64().max(f64::EPSILON)
    }
}

impl Holders {
    /// Starts `count` holders and waits until each has its half request
    /// sent, and until the server has accepted them all (a health check
    /// queued behind them has been answered).
    async fn open(load: &Handle, addr: SocketAddr, count: usize) -> anyhow::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        let opened = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        for _ in 0..count {
            tasks.spawn_on(
                hold(
                    addr,
                    Arc::clone(&open),
                    Arc::clone(&opened),
                    stopped.clone(),
                ),
                load,
            );
        }
        let holders = Self {
            stop,
            tasks,
            started: Instant::now(),
        };
        let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
        while open.load(Ordering::SeqCst) < count {
            if tokio::time::timeout_at(deadline, opened.notified())
                .await
                .is_err()
            {
                let open = open.load(Ordering::SeqCst);
                holders.stop().await?;
                bail!("only {open} of {count} held connections opened within {OPEN_TIMEOUT:?}");
            }
        }
        // Behind every held connection in the listen queue.
        if let Err(miss) = probe(addr).await {
            holders.stop().await?;
            bail!("the server did not answer once {count} connections were held: {miss}");
        }
        Ok(holders)
    }

    async fn stop(mut self) -> anyhow::Result<Held> {
        let _ = self.stop.send(true);
        let took = self.started.elapsed();
        let mut closed = 0;
        let joined = tokio::time::timeout(STOP_TIMEOUT, async {
            while let Some(done) = self.tasks.join_next().await {
                closed += done.context("a holder failed")?;
            }
            Ok::<_, anyhow::Error>(())
        })
        .await;
        match joined {
            Ok(done) => done?,
            Err(_) => bail!("the holders did not stop within {STOP_TIMEOUT:?}"),
        }
        Ok(Held { closed, took })
    }
}

/// Keeps a half request open until told to stop; how often the server
/// closed it.
async fn hold(
    addr: SocketAddr,
    open: Arc<AtomicUsize>,
    opened: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let mut closed = 0;
    let mut counted = false;
    while !*stop.borrow() {
        let stream = tokio::select! {
            stream = half_request(addr) => stream,
            _ = stop.changed() => break,
        };
        let Ok(stream) = stream else {
            // The listen queue is full or the machine out of ports: back
            // off instead of spinning.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                _ = stop.changed() => break,
            }
        };
        if !counted {
            counted = true;
            open.fetch_add(1, Ordering::SeqCst);
            opened.notify_one();
        }
        tokio::select! {
            () = closed_by_server(stream) => closed += 1,
            _ = stop.changed() => break,
        }
    }
    closed
}

/// Tasks that connect, send half a request and drop the connection, as
/// fast as they can.
struct Flood {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    counts: Arc<FloodCounts>,
    started: Instant,
}

#[derive(Default)]
struct FloodCounts {
    connected: AtomicU64,
    failed: AtomicU64,
}

/// What the flood achieved.
struct Flooded {
    connected: u64,
    failed: u64,
    took: Duration,
}

impl Flooded {
    fn per_second(&self) -> f64 {
        self.connected as f64 / self.took.as_secs_f64().max(f64::EPSILON)
    }
}

impl Flood {
    fn start(load: &Handle, addr: SocketAddr, tasks: usize) -> Self {
        let (stop, stopped) = watch::channel(false);
        let counts = Arc::new(FloodCounts::default());
        let mut set = JoinSet::new();
        for _ in 0..tasks {
            set.spawn_on(flood(addr, Arc::clone(&counts), stopped.clone()), load);
        }
        Self {
            stop,
            tasks: set,
            counts,
            started: Instant::now(),
        }
    }

    async fn stop(mut self) -> anyhow::Result<Flooded> {
        let _ = self.stop.send(true);
        let took = self.started.elapsed();
        let joined = tokio::time::timeout(STOP_TIMEOUT, async {
            while let Some(done) = self.tasks.join_next().await {
                done.context("a flooding task failed")?;
            }
            Ok::<_, anyhow::Error>(())
        })
        .await;
        match joined {
            Ok(done) => done?,
            Err(_) => bail!("the flood did not stop within {STOP_TIMEOUT:?}"),
        }
        Ok(Flooded {
            connected: self.counts.connected.load(Ordering::SeqCst),
            failed: self.counts.failed.load(Ordering::SeqCst),
            took,
        })
    }
}

async fn flood(addr: SocketAddr, counts: Arc<FloodCounts>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        tokio::select! {
            sent = half_request(addr) => match sent {
                Ok(stream) => {
                    drop(stream);
                    counts.connected.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
            },
            _ = stop.changed() => break,
        }
    }
}

fn print_table(rows: &[Row]) {
    let base = rows.first().and_then(|row| row.sample.median());
    let width = rows
        .iter()
        .map(|row| row.scenario.chars().count())
        .max()
        .unwrap_or(0)
        .max("scenario".len());
    println!(
        "{:<width$}  {:>9}  {:>9}  {:>9}  {:>7}  {:>6}",
        "scenario", "median", "p99", "worst", "ratio", "missed"
    );
    for row in rows {
        let median = row.sample.median();
        let ratio = match (median, base) {
            (Some(m), Some(b)) if !b.is_zero() => {
                format!("{:.2}×", m.as_secs_f64() / b.as_secs_f64())
            }
            _ => "-".into(),
        };
        println!(
            "{:<width$}  {:>9}  {:>9}  {:>9}  {:>7}  {:>6}",
            row.scenario,
            Ms(median).to_string(),
            Ms(row.sample.percentile(99)).to_string(),
            Ms(row.sample.worst()).to_string(),
            ratio,
            row.sample.missed,
        );
    }
}
