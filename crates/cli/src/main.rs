//! `opsdeck`: every Opsdeck capability from the terminal. Each subcommand
//! parses its arguments, calls core, and prints; the rules live in core.

mod output;
mod profiles;
mod tenants;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsdeck_core::Console;

#[derive(Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "Operations console for a multi-tenant platform"
)]
struct Cli {
    /// Profile to use instead of the current one.
    #[arg(long, short = 'p', global = true, env = "OPSDECK_PROFILE")]
    profile: Option<String>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage profiles: the environments Opsdeck knows.
    #[command(subcommand)]
    Profile(profiles::ProfileCommand),
    /// Store a profile's API token in the OS keyring.
    Login(profiles::LoginArgs),
    /// Tenants: list, inspect, create, change, suspend, resume, delete.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), opsdeck_core::Error> {
    let console = Console::open_default().await?;
    let out = output::Output { json: cli.json };
    let profile = cli.profile.as_deref();
    match cli.command {
        Command::Profile(cmd) => profiles::run(&console, &out, cmd).await,
        Command::Login(args) => profiles::login(&console, &out, args).await,
        Command::Tenants(cmd) => tenants::run(&console, &out, profile, cmd).await,
    }
}
