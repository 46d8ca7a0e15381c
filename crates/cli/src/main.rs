//! `opsdeck`: every Opsdeck capability from the terminal. Each subcommand
//! parses its arguments, calls core, and prints; the rules live in core.

mod alerts;
mod approvals;
mod audit;
mod backups;
mod clusters;
mod dashboards;
mod error;
mod incidents;
mod jobs;
mod maintenance;
mod output;
mod playbooks;
mod profiles;
mod progress;
mod query;
mod rbac;
mod tenants;
mod terminal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsdeck_core::Console;

use crate::error::{exit, CliError, EXIT_CODES_HELP};

#[derive(Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "Operations console for a multi-tenant platform",
    after_help = EXIT_CODES_HELP,
)]
struct Cli {
    /// Profile to use instead of the current one (see `opsdeck profile list`).
    #[arg(
        long,
        short = 'p',
        global = true,
        env = "OPSDECK_PROFILE",
        value_name = "NAME",
        help_heading = "Global options"
    )]
    profile: Option<String>,
    /// Print JSON for scripts: results on stdout, errors as one JSON object
    /// on stderr, and nothing else on either.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage profiles: the environments Opsdeck knows.
    #[command(subcommand)]
    Profile(profiles::ProfileCommand),
    /// Store a profile's API token in the OS keyring (asks for it, unseen).
    Login(profiles::LoginArgs),
    /// Tenants: list, inspect, create, change, suspend, resume, delete.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
    /// Alerts and silences from the profile's Alertmanagers.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Ask the profile's Prometheus: a PromQL query now, or over a range.
    Query(query::QueryArgs),
    /// Dashboards: list them, draw one to an SVG file.
    #[command(subcommand)]
    Dashboards(dashboards::DashboardsCommand),
    /// Users: list, inspect, create, change (email, display name, status).
    #[command(subcommand)]
    Users(rbac::UsersCommand),
    /// Groups of users and their members.
    #[command(subcommand)]
    Groups(rbac::GroupsCommand),
    /// Service accounts: non-persons that hold tokens.
    #[command(subcommand)]
    ServiceAccounts(rbac::ServiceAccountsCommand),
    /// Roles: the built-in ones and custom ones, with what each grants.
    #[command(subcommand)]
    Roles(rbac::RolesCommand),
    /// Bindings: a subject holds a role on the platform or on a tenant.
    #[command(subcommand)]
    Bindings(rbac::BindingsCommand),
    /// API tokens of users and service accounts.
    #[command(subcommand)]
    Tokens(rbac::TokensCommand),
    /// Who can do what: holders of a permission with their grant paths, and
    /// a subject's effective permissions.
    #[command(subcommand)]
    Rbac(rbac::RbacCommand),
    /// The audit log: list it, or export it to CSV or JSON Lines.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Clusters: topology, switchovers and failovers of the data stores.
    #[command(subcommand)]
    Clusters(clusters::ClustersCommand),
    /// Jobs the server runs (backups…): list, show, watch, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Backups: targets, a target's backups and RPO, start one.
    #[command(subcommand)]
    Backups(backups::BackupsCommand),
    /// Playbooks: lint files, list the library, dry-run one; start runs on
    /// the server, follow them, tick, approve, retry, resume.
    #[command(subcommand)]
    Playbook(playbooks::PlaybookCommand),
    /// Incidents: open, list, show, ack, mitigate, resolve, note, link
    /// alerts, export the review.
    #[command(subcommand, visible_alias = "incidents")]
    Incident(incidents::IncidentCommand),
    /// Maintenance windows: their alerts are silenced in Alertmanager.
    #[command(subcommand)]
    Maintenance(maintenance::MaintenanceCommand),
    /// The two-person rule: ask a second person's approval of a restore,
    /// switchover, failover or tenant deletion; list, show, grant, deny.
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCommand),
}

/// How a command that did its work ended.
pub enum Done {
    Fresh,
    /// What was shown is the cached copy: the server was unreachable.
    Stale,
}

fn main() -> ExitCode {
    // `--json` anywhere before a `--` asks for JSON errors, even when the rest
    // of the command line cannot be parsed.
    let json = std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            output::usage_error_json(first.strip_prefix("error: ").unwrap_or(first));
            return ExitCode::from(exit::USAGE);
        }
        Err(e) => e.exit(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.json {
        // Warnings go on stderr too; with --json they are JSON as well.
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = CliError::Core(opsdeck_core::Error::Io {
                path: "<async runtime>".into(),
                source: e,
            });
            output::error(&e, cli.json, output::Words::Other);
            return ExitCode::from(exit::FAILURE);
        }
    };
    let json = cli.json;
    let words = match cli.command {
        Command::Tenants(_) => output::Words::Tenants,
        Command::Alerts(_) => output::Words::Alerts,
        Command::Query(_) => output::Words::Query,
        Command::Dashboards(_) => output::Words::Dashboards,
        Command::Audit(_) => output::Words::Audit,
        Command::Clusters(_) => output::Words::Clusters,
        Command::Profile(_) => output::Words::Profile,
        Command::Login(_) => output::Words::Other,
        Command::Users(_) => output::Words::Users,
        Command::Groups(_) | Command::ServiceAccounts(_) => output::Words::Groups,
        Command::Roles(_) => output::Words::Roles,
        Command::Bindings(_) => output::Words::Bindings,
        Command::Tokens(_) => output::Words::Tokens,
        Command::Rbac(_) => output::Words::Rbac,
        Command::Jobs(_) | Command::Backups(_) | Command::Playbook(_) => output::Words::Other,
        Command::Incident(_) => output::Words::Incident,
        Command::Maintenance(_) => output::Words::Maintenance,
        Command::Approvals(_) => output::Words::Other,
    };
    match runtime.block_on(run(cli)) {
        Ok(Done::Fresh) => ExitCode::SUCCESS,
        Ok(Done::Stale) => ExitCode::from(exit::STALE),
        Err(e) => {
            output::error(&e, json, words);
            ExitCode::from(exit::FAILURE)
        }
    }
}

async fn run(cli: Cli) -> Result<Done, CliError> {
    let console = Console::open_default().await?;
    let out = output::Output::new(cli.json);
    let profile = cli.profile.as_deref();
    match cli.command {
        Command::Profile(cmd) => profiles::run(&console, &out, cmd).await?,
        Command::Login(args) => profiles::login(&console, &out, args).await?,
        Command::Tenants(cmd) => return tenants::run(&console, &out, profile, cmd).await,
        Command::Alerts(cmd) => alerts::run(&console, &out, profile, cmd).await?,
        Command::Query(args) => query::run(&console, &out, profile, args).await?,
        Command::Dashboards(cmd) => dashboards::run(&console, &out, profile, cmd).await?,
        Command::Users(cmd) => rbac::users(&console, &out, profile, cmd).await?,
        Command::Groups(cmd) => rbac::groups(&console, &out, profile, cmd).await?,
        Command::ServiceAccounts(cmd) => {
            rbac::service_accounts(&console, &out, profile, cmd).await?
        }
        Command::Roles(cmd) => rbac::roles(&console, &out, profile, cmd).await?,
        Command::Bindings(cmd) => rbac::bindings(&console, &out, profile, cmd).await?,
        Command::Tokens(cmd) => rbac::tokens(&console, &out, profile, cmd).await?,
        Command::Rbac(cmd) => rbac::rbac(&console, &out, profile, cmd).await?,
        Command::Audit(cmd) => audit::run(&console, &out, profile, cmd).await?,
        Command::Clusters(cmd) => clusters::run(&console, &out, profile, cmd).await?,
        Command::Jobs(cmd) => jobs::run(&console, &out, profile, cmd).await?,
        Command::Backups(cmd) => backups::run(&console, &out, profile, cmd).await?,
        Command::Playbook(cmd) => playbooks::run(&console, &out, profile, cmd).await?,
        Command::Incident(cmd) => incidents::run(&console, &out, profile, cmd).await?,
        Command::Maintenance(cmd) => maintenance::run(&console, &out, profile, cmd).await?,
        Command::Approvals(cmd) => approvals::run(&console, &out, profile, cmd).await?,
    }
    Ok(Done::Fresh)
}
