//! Command line of the Platform Admin server: serve the API, mint bootstrap
//! tokens, print the route permission table, seed demo data. Everything it does is a call into the library.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use platform_admin::roles::Role;
use platform_admin::{auth, seed, AppState, Db, ServeOptions};
use tracing_subscriber::EnvFilter;

const DEFAULT_DATABASE: &str = "sqlite://platform-admin.db";

#[derive(Debug, Parser)]
#[command(
    name = "platform-admin",
    version,
    about = "Reference server of the Opsdeck Platform Admin API v1"
)]
struct Cli {
    /// How log lines (on stderr) look.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API until SIGTERM or SIGINT.
    Serve {
        /// `sqlite://FILE` (created and migrated when missing) or `postgres://…`.
        #[arg(long, env = "PLATFORM_ADMIN_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
        /// Address to listen on; port 0 picks a free port (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Configuration file (TOML): backup targets and their credentials.
        #[arg(long, env = "PLATFORM_ADMIN_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// Seconds a job's worker holds it without renewing: a job whose
        /// server died is taken over after this long.
        #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
        job_lease: u64,
        #[command(flatten)]
        limits: Limits,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print what every route needs: method, route, permission and scope
    /// (`platform`, `tenant` of the path, or `each_tenant` listed), one
    /// route a line, tab-separated. The route declarations are the table.
    Routes,
    /// Insert a deterministic demo set: tenants (the first few hundred
    /// with their audit history), and for a large platform users, groups
    /// and role bindings. Running it again adds nothing.
    SeedDemo {
        #[arg(long, env = "PLATFORM_ADMIN_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
        /// How many tenants in all.
        #[arg(long, visible_alias = "count", default_value_t = 60, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
        tenants: u32,
        /// How many users in all; they come in teams (groups) of 50.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
        users: u32,
        /// How many role bindings in all, a few on the platform, the rest
        /// each on one tenant, one in ten to a team; needs users and tenants.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000_000))]
        bindings: u32,
    },
}

/// What a client may take and hold; see `ServeOptions`.
#[derive(Debug, Args)]
struct Limits {
    /// Seconds a client has, once connected or after a response, to send a
    /// request's headers before the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// Seconds a client has to send a request's body once its headers are in.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_read_timeout: u64,
    /// Connections served at once; more wait to be accepted. Lowered to
    /// what the open-file limit (`ulimit -n`) allows.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Seconds a graceful shutdown waits for open requests before it drops
    /// the connections still open.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_timeout: u64,
}

impl Limits {
    fn options(&self) -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            body_read_timeout: Duration::from_secs(self.body_read_timeout),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
        }
    }
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the audit log's hash chain from its first record to its head;
    /// exit non-zero naming the first record that was changed, deleted or
    /// moved.
    Verify {
        #[arg(long, env = "PLATFORM_ADMIN_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a bootstrap token and print it once on stdout; only its hash
    /// is stored. It belongs to a service account of the same name, bound
    /// on the platform to `platform-admin` (`--role admin`) or `viewer`.
    Create {
        #[arg(long, env = "PLATFORM_ADMIN_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
        /// Shown as the actor of every change made with the token.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "viewer"])]
        role: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve {
            database,
            listen,
            config,
            job_lease,
            limits,
        } => {
            let config = match config {
                Some(path) => platform_admin::config::Config::load(&path)?,
                None => platform_admin::config::Config::default(),
            };
            let lease = chrono::Duration::seconds(i64::try_from(job_lease)?);
            serve(&database, listen, config, lease, limits.options()).await
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    database,
                    name,
                    role,
                },
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let db = open(&database).await?;
            let token = auth::bootstrap_token(&db, &name, role).await?;
            db.close().await;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{token}")?;
            stdout.flush()?;
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { database },
        } => {
            let db = open(&database).await?;
            let verified = platform_admin::audit::chain::verify(db.pool()).await;
            db.close().await;
            let verified = verified?;
            if let Some(broken) = verified.broken {
                // A finding, not a failure of the program: said plainly,
                // without the error chain or backtrace of a crash.
                eprintln!("the audit chain is broken: {broken}");
                std::process::exit(1);
            }
            println!(
                "the audit chain is intact: {} records verified",
                verified.records
            );
            Ok(())
        }
        Command::Routes => {
            let access =
                platform_admin::access::Access::from_document(&platform_admin::openapi::document());
            let mut stdout = std::io::stdout().lock();
            for (route, method, rule) in access.rules() {
                let (permission, scope) = match rule {
                    platform_admin::access::Rule::Public => ("-", "public"),
                    platform_admin::access::Rule::Authenticated => ("-", "authenticated"),
                    platform_admin::access::Rule::Require(r) => {
                        (r.permission.as_str(), r.on.as_str())
                    }
                };
                writeln!(stdout, "{method}\t{route}\t{permission}\t{scope}")?;
            }
            stdout.flush()?;
            Ok(())
        }
        Command::SeedDemo {
            database,
            tenants,
            users,
            bindings,
        } => {
            let scale = seed::bulk::Scale {
                tenants: usize::try_from(tenants)?,
                users: usize::try_from(users)?,
                bindings: usize::try_from(bindings)?,
            };
            if scale.bindings > 0 && (scale.users == 0 || scale.tenants == 0) {
                anyhow::bail!("--bindings needs --users and --tenants to bind");
            }
            let db = open(&database).await?;
            let with_history = scale.tenants.min(seed::MAX_COUNT);
            let mut inserted = seed::seed_demo(&db, with_history).await?;
            if scale.tenants > with_history || scale.users > 0 {
                let mut last = String::new();
                let bulk = seed::bulk::seed(&db, scale, |kind, done, total| {
                    // A line per tenth, so a long load shows it is moving.
                    let step = format!("{kind} {}", done * 10 / total.max(1));
                    if step != last {
                        eprintln!("{kind}: {done} of {total}");
                        last = step;
                    }
                })
                .await?;
                inserted += usize::try_from(bulk.tenants)?;
                println!(
                    "{} users, {} groups, {} group members, {} bindings inserted",
                    bulk.users, bulk.groups, bulk.members, bulk.bindings
                );
            }
            db.close().await;
            println!(
                "{inserted} demo tenants inserted ({} were already there)",
                scale.tenants.saturating_sub(inserted)
            );
            Ok(())
        }
    }
}

async fn open(database: &str) -> anyhow::Result<Db> {
    Db::connect(database)
        .await
        .with_context(|| format!("opening {}", platform_admin::db::redact(database)))
}

async fn serve(
    database: &str,
    listen: SocketAddr,
    config: platform_admin::config::Config,
    lease: chrono::Duration,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let db = open(database).await?;
    let state = AppState::with_config(db.clone(), config);
    let listener =
        platform_admin::server::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = db.kind().as_str(), "serving");
    let shutdown = shutdown_signal();
    {
        // Scripts and tests wait for this line to learn the port.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    let worker = platform_admin::worker::spawn(state.clone(), lease);
    let escalations = platform_admin::incidents::escalation::spawn(state.clone());
    let verifications = platform_admin::backups::schedule::spawn(state.clone());
    let served = platform_admin::server::serve(listener, state, options, shutdown).await;
    worker.abort();
    escalations.abort();
    if let Some(verifications) = verifications {
        verifications.abort();
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or SIGINT. The handlers are installed here, before
/// the address is printed, not when the future is first polled: the accept
/// loop may serve a first request before it polls the future, and a SIGTERM
/// sent then would otherwise kill the process instead of stopping it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            match signals {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Err(err), _) | (_, Err(err)) => {
                    tracing::warn!(error = %err, "cannot listen for SIGTERM or SIGINT");
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}
