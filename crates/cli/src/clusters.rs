//! `opsdeck clusters ...`: the replicated data stores of the profile's
//! server, their topology, and switchovers and failovers started as server
//! jobs after their preflight is shown.

use clap::{Args, Subcommand};
use opsdeck_core::api::clusters::{FailoverAction, FailoverRequest};
use opsdeck_core::clusters::{preflight_lines, topology_lines};
use opsdeck_core::Console;
use serde::Serialize;

use crate::error::Result;
use crate::output::{Column, Output};
use crate::tenants::confirmed;

#[derive(Subcommand)]
pub enum ClustersCommand {
    /// List the clusters the server's configuration declares.
    List,
    /// Show a cluster's topology: roles, state, lag, timeline, health.
    Show {
        /// The cluster's id, as `opsdeck clusters list` shows it.
        cluster: String,
    },
    /// Planned switchover: the primary steps down and a replica takes
    /// over. Prints the preflight and the job's id. On a prod profile,
    /// asks for the cluster id typed.
    Switchover(StartArgs),
    /// Emergency failover: a replica is promoted, the primary left behind.
    /// Prints the preflight and the job's id. On a prod profile, asks for
    /// the cluster id typed.
    Failover(StartArgs),
}

#[derive(Args)]
pub struct StartArgs {
    /// The cluster's id.
    cluster: String,
    /// The replica to promote (a member name as `show` lists it); without
    /// it, the cluster's manager picks one.
    #[arg(long, value_name = "MEMBER")]
    candidate: Option<String>,
    /// Go on although preflight checks failed; needs --reason.
    #[arg(long, requires = "reason")]
    force: bool,
    /// Why, kept with the job and in the audit log.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// The cluster's id, exactly, to confirm on a prod profile without a
    /// prompt (needed with --json or without a terminal).
    #[arg(long, value_name = "CLUSTER")]
    confirm: Option<String>,
    /// Makes a retry safe: the same key never starts a second job.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Follow the job to its end (a progress bar on a terminal); exits
    /// non-zero when it fails.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    approval: crate::approvals::ApprovalArgs,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: ClustersCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let clusters = session.clusters();
    let place = format!("`{}` ({})", session.profile().name, session.profile().tier);
    match cmd {
        ClustersCommand::List => {
            let items = clusters.list().await?;
            let rows = items
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.kind.as_str().to_string(),
                        c.name.clone(),
                        c.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.list(
                &items,
                &format!("no clusters on {place}"),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("KIND", 3),
                    Column::free_text("NAME", 2),
                    Column::free_text("DESCRIPTION", 1),
                ],
                rows,
            );
        }
        ClustersCommand::Show { cluster } => {
            let topology = clusters.show(&cluster).await?;
            if out.json {
                out.json(&topology);
            } else {
                for line in topology_lines(&topology) {
                    println!("{line}");
                }
            }
        }
        ClustersCommand::Switchover(args) => {
            start(out, &session, &place, FailoverAction::Switchover, args).await?
        }
        ClustersCommand::Failover(args) => {
            start(out, &session, &place, FailoverAction::Failover, args).await?
        }
    }
    Ok(())
}

async fn start(
    out: &Output,
    session: &opsdeck_core::Session,
    place: &str,
    action: FailoverAction,
    args: StartArgs,
) -> Result<()> {
    let clusters = session.clusters();
    let request = FailoverRequest {
        candidate: args.candidate,
        force: args.force,
        reason: args.reason,
    };
    if let Some(why) = &args.approval.request_approval {
        let asked = opsdeck_core::Destructive::Cluster {
            cluster: args.cluster.clone(),
            action,
            request,
        };
        return crate::approvals::request_for(session, out, &asked, why).await;
    }
    let key = args.idempotency_key.as_deref();
    let approval = args.approval.approval.as_deref();
    // Core reads the preflight first only where it must be shown before
    // the cluster's id is typed; otherwise the job starts at once and the
    // preflight shown is the one the server queued it on.
    let started = confirmed(out, args.confirm, |confirmation| {
        let (clusters, cluster, request) = (&clusters, &args.cluster, &request);
        async move {
            clusters
                .start(
                    cluster,
                    action,
                    request,
                    confirmation.as_deref(),
                    key,
                    approval,
                )
                .await
        }
    })
    .await?;
    out.note(&format!(
        "{} preflight of `{}` on {place}:",
        action.as_str(),
        started.preflight.cluster
    ));
    for line in preflight_lines(&started.preflight) {
        out.note(&format!("  {line}"));
    }
    if args.wait {
        out.note(&format!(
            "{} of `{}` queued as job {}",
            action.as_str(),
            started.preflight.cluster,
            started.job.id
        ));
        crate::jobs::wait(session, &started.job.id, out).await?;
    } else if out.json {
        #[derive(Serialize)]
        struct Printed<'a> {
            #[serde(flatten)]
            started: &'a opsdeck_core::clusters::Started,
            profile: &'a str,
            tier: opsdeck_core::Tier,
        }
        out.json(&Printed {
            started: &started,
            profile: &session.profile().name,
            tier: session.profile().tier,
        });
    } else {
        println!("{}", started.job.id);
        out.note(&format!(
            "{} of `{}` queued as job {}",
            action.as_str(),
            started.preflight.cluster,
            started.job.id
        ));
    }
    Ok(())
}
