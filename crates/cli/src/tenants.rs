//! `opsdeck tenants ...`.

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};
use opsdeck_api::tenants::{CreateTenant, Plan, QuotasPatch, Tenant, TenantStatus, UpdateTenant};
use opsdeck_core::{
    Console, Error, Result, SlugConfirmation, TenantAction, TenantFilter, TenantRow,
};

use opsdeck_core::tenants::Tenants;

use crate::output::{age, Output};

#[derive(Subcommand)]
pub enum TenantsCommand {
    /// List tenants (the cached list, marked stale, when the server is unreachable).
    List {
        /// Only tenants with this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<TenantStatus>,
        /// Only tenants on this plan.
        #[arg(long, value_parser = parse_plan)]
        plan: Option<Plan>,
        /// Only tenants whose slug or name contains every word of this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// Show one tenant and what can be done to it.
    Get {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Create a tenant.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// free, team (default), business or enterprise.
        #[arg(long, value_parser = parse_plan)]
        plan: Option<Plan>,
        #[command(flatten)]
        quotas: QuotaArgs,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Change a tenant's name, plan or quotas. On a prod profile, lowering a
    /// quota or the plan shows each change and asks for the slug.
    Update {
        tenant: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = parse_plan)]
        plan: Option<Plan>,
        #[command(flatten)]
        quotas: QuotaArgs,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Suspend a tenant: its users are refused until it is resumed.
    Suspend(ActionArgs),
    /// Resume a suspended tenant.
    Resume(ActionArgs),
    /// Delete a tenant for good.
    Delete(ActionArgs),
}

#[derive(Args)]
pub struct QuotaArgs {
    #[arg(long)]
    max_users: Option<i64>,
    #[arg(long)]
    storage_gib: Option<i64>,
    #[arg(long)]
    requests_per_minute: Option<i64>,
}

impl QuotaArgs {
    fn patch(&self) -> Option<QuotasPatch> {
        let patch = QuotasPatch {
            max_users: self.max_users,
            storage_gib: self.storage_gib,
            requests_per_minute: self.requests_per_minute,
        };
        (!patch.is_empty()).then_some(patch)
    }
}

#[derive(Args)]
pub struct KeyArg {
    /// Idempotency key: rerunning with the same key never acts twice.
    #[arg(long)]
    idempotency_key: Option<String>,
}

#[derive(Args)]
pub struct ConfirmArg {
    /// The tenant's slug, exactly, to confirm on a prod profile without a
    /// prompt. A slug that is not the target's is always refused.
    #[arg(long)]
    confirm: Option<String>,
}

#[derive(Args)]
pub struct ActionArgs {
    /// Tenant id or slug.
    tenant: String,
    #[command(flatten)]
    confirm: ConfirmArg,
    #[command(flatten)]
    key: KeyArg,
}

fn parse_plan(s: &str) -> std::result::Result<Plan, String> {
    s.parse()
}

fn parse_status(s: &str) -> std::result::Result<TenantStatus, String> {
    s.parse()
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: TenantsCommand,
) -> Result<()> {
    // One session for the run: the profile and its token are read once.
    let session = console.session(profile).await?;
    let tenants = session.tenants();
    match cmd {
        TenantsCommand::List {
            status,
            plan,
            search,
        } => {
            let filter = TenantFilter {
                status,
                plan,
                search: search.unwrap_or_default(),
            };
            let view = tenants.list(&filter).await?;
            if let Some(stale) = &view.stale {
                out.note(&format!(
                    "STALE: showing the list cached {} ({}): {}",
                    age(stale.age_seconds),
                    view.fetched_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    stale.reason
                ));
            }
            if out.json {
                out.json(&view);
            } else {
                let rows = view.tenants.iter().map(|r| row(&r.tenant)).collect();
                out.table(
                    &[
                        "SLUG",
                        "NAME",
                        "PLAN",
                        "STATUS",
                        "USERS",
                        "STORAGE GIB",
                        "RPM",
                        "UPDATED",
                    ],
                    rows,
                );
                out.note(&format!(
                    "{} tenants on `{}` ({})",
                    view.tenants.len(),
                    view.profile,
                    view.tier
                ));
            }
        }
        TenantsCommand::Get { tenant } => {
            let row = tenants.row(tenants.get(&tenant).await?);
            if out.json {
                out.json(&row);
            } else {
                show(out, &row.tenant);
                out.fields(&[("actions", actions(&row))]);
            }
        }
        TenantsCommand::Create {
            slug,
            name,
            plan,
            quotas,
            key,
        } => {
            let body = CreateTenant {
                slug,
                name,
                plan,
                quotas: quotas.patch(),
            };
            let tenant = tenants
                .create(&body, key.idempotency_key.as_deref())
                .await?;
            show(out, &tenant);
        }
        TenantsCommand::Update {
            tenant,
            name,
            plan,
            quotas,
            confirm,
            key,
        } => {
            let body = UpdateTenant {
                name,
                plan,
                quotas: quotas.patch(),
            };
            let key = key.idempotency_key.as_deref();
            let tenant = confirmed(out, confirm.confirm, |confirmation| {
                let (body, tenant, tenants) = (&body, &tenant, &tenants);
                async move {
                    tenants
                        .update(tenant, body, confirmation.as_deref(), key)
                        .await
                }
            })
            .await?;
            show(out, &tenant);
        }
        TenantsCommand::Suspend(args) => act(&tenants, out, TenantAction::Suspend, args).await?,
        TenantsCommand::Resume(args) => act(&tenants, out, TenantAction::Resume, args).await?,
        TenantsCommand::Delete(args) => act(&tenants, out, TenantAction::Delete, args).await?,
    }
    Ok(())
}

/// Runs `run` with the confirmation given; where core answers that the slug
/// must be typed, shows core's preflight, asks for it, and runs again.
async fn confirmed<T, F, Fut>(out: &Output, given: Option<String>, run: F) -> Result<T>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    // Core decides whether the slug must be typed; ask only when it says so.
    match run(given).await {
        Err(Error::ConfirmationRequired {
            action,
            target,
            summary,
        }) => {
            out.note(&summary);
            let typed = prompt(
                &format!("Type the slug `{target}` to {action} it: "),
                &target,
                &action,
                &summary,
            )?;
            run(Some(typed)).await
        }
        other => other,
    }
}

/// Suspends, resumes or deletes, with the confirmation core asks for.
async fn act(
    tenants: &Tenants<'_>,
    out: &Output,
    action: TenantAction,
    args: ActionArgs,
) -> Result<()> {
    let key = args.key.idempotency_key.as_deref();
    let tenant = args.tenant.as_str();
    let result = confirmed(out, args.confirm.confirm, |confirmation| async move {
        tenants
            .act(action, tenant, confirmation.as_deref(), key)
            .await
    })
    .await?;
    match result {
        Some(tenant) => show(out, &tenant),
        None if out.json => out.json(&serde_json::json!({ "deleted": args.tenant })),
        None => out.note(&format!("deleted tenant `{}`", args.tenant)),
    }
    Ok(())
}

/// Reads the confirmation from the terminal; without one, refuses. Only the
/// line's end is taken off: core compares what was typed exactly.
fn prompt(question: &str, want: &str, action: &str, summary: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::ConfirmationRequired {
            action: action.to_string(),
            target: want.to_string(),
            summary: summary.to_string(),
        });
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|source| Error::Io {
            path: "<stdin>".into(),
            source,
        })?;
    let typed = line.strip_suffix('\n').unwrap_or(&line);
    Ok(typed.strip_suffix('\r').unwrap_or(typed).to_string())
}

fn row(t: &Tenant) -> Vec<String> {
    vec![
        t.slug.clone(),
        t.name.clone(),
        t.plan.to_string(),
        t.status.to_string(),
        t.quotas.max_users.to_string(),
        t.quotas.storage_gib.to_string(),
        t.quotas.requests_per_minute.to_string(),
        t.updated_at.format("%Y-%m-%d %H:%M").to_string(),
    ]
}

/// What core allows on the row, e.g. `edit, suspend (destructive, asks
/// for the slug), delete (destructive, asks for the slug)`.
fn actions(row: &TenantRow) -> String {
    row.actions
        .iter()
        .map(|a| {
            let verb = match a.operation.as_str() {
                "update" => "edit",
                other => other,
            };
            let mut notes = Vec::new();
            if a.destructive {
                notes.push("destructive");
            }
            match a.confirm {
                SlugConfirmation::Never => {}
                SlugConfirmation::Always => notes.push("asks for the slug"),
                SlugConfirmation::WhenLowering => notes.push("asks for the slug when lowering"),
            }
            if notes.is_empty() {
                verb.to_string()
            } else {
                format!("{verb} ({})", notes.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(out: &Output, t: &Tenant) {
    if out.json {
        out.json(t);
        return;
    }
    let fields = [
        ("id", t.id.clone()),
        ("slug", t.slug.clone()),
        ("name", t.name.clone()),
        ("plan", t.plan.to_string()),
        ("status", t.status.to_string()),
        ("max users", t.quotas.max_users.to_string()),
        ("storage GiB", t.quotas.storage_gib.to_string()),
        ("requests/min", t.quotas.requests_per_minute.to_string()),
        ("created", t.created_at.to_rfc3339()),
        ("updated", t.updated_at.to_rfc3339()),
    ];
    out.fields(&fields);
}
