//! `opsdeck tenants ...`.

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand, ValueEnum};
use opsdeck_api::tenants::{CreateTenant, Plan, QuotasPatch, Tenant, TenantStatus, UpdateTenant};
use opsdeck_core::tenants::{LabelEdit, Tenants};
use opsdeck_core::{
    Console, Error, Profile, SlugConfirmation, TenantAction, TenantFilter, TenantRow, Tier,
};
use serde::Serialize;

use crate::error::{CliError, Result, EXIT_CODES_HELP};
use crate::output::{ago, when, when_and_ago, Column, Output};
use crate::Done;

#[derive(Subcommand)]
pub enum TenantsCommand {
    /// List tenants. When the server is unreachable, the list last seen on
    /// it is shown, marked stale, and the exit status is 3.
    #[command(after_help = EXIT_CODES_HELP)]
    List(ListArgs),
    /// Show one tenant and what can be done to it.
    Get {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Create a tenant. Quotas not given are the plan's defaults (listed
    /// under --plan in --help).
    Create {
        /// Short unique name: lowercase letters, digits and hyphens.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Commercial plan: it sets every quota not given below
        /// [default: team].
        #[arg(long, value_parser = plan_parser())]
        plan: Option<Plan>,
        #[command(flatten)]
        quotas: QuotaArgs,
        /// Accent colour of the tenant's branding, as #rrggbb.
        #[arg(long, value_name = "#RRGGBB")]
        accent_color: Option<String>,
        /// A label, as key=value (repeat for more, at most 32). Keys are
        /// lowercase letters, digits, `-`, `_`, `.` and `/`.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Change a tenant's name, plan, quotas, accent colour or labels. On a
    /// prod profile, lowering a quota or the plan shows each change and asks
    /// for the slug. Labels are changed from the tenant as read, and the
    /// change is refused if the tenant changed in between.
    Update {
        /// Tenant id or slug.
        tenant: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New plan. Each quota still at the old plan's default moves to
        /// the new plan's default; a quota set by hand is kept; a quota
        /// given below is set as given.
        #[arg(long, value_parser = plan_parser())]
        plan: Option<Plan>,
        #[command(flatten)]
        quotas: QuotaArgs,
        /// New accent colour, as #rrggbb.
        #[arg(long, value_name = "#RRGGBB", conflicts_with = "clear_accent_color")]
        accent_color: Option<String>,
        /// Remove the accent colour.
        #[arg(long)]
        clear_accent_color: bool,
        /// Add a label or change its value, as key=value (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Remove the label with this key (repeatable).
        #[arg(long = "remove-label", value_name = "KEY")]
        remove_labels: Vec<String>,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Suspend a tenant: its users are refused until it is resumed.
    Suspend(ActionArgs),
    /// Resume a suspended tenant: its users may sign in again.
    Resume(ResumeArgs),
    /// Delete a tenant for good.
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Order of the rows (updated: most recently changed first).
    #[arg(long, value_enum, default_value_t = SortKey::Slug)]
    sort: SortKey,
    /// Fail (exit status 1) rather than show the cached list when the server
    /// is unreachable.
    #[arg(long)]
    fresh: bool,
}

/// Which tenants a list shows: core's filter, as flags.
#[derive(Args)]
pub struct FilterArgs {
    /// Only tenants with this status.
    #[arg(long, value_parser = status_parser())]
    status: Option<TenantStatus>,
    /// Only tenants on this plan.
    #[arg(long, value_parser = PossibleValuesParser::new(Plan::ALL.map(Plan::as_str)).try_map(|s| s.parse::<Plan>()))]
    plan: Option<Plan>,
    /// Only tenants whose slug or name contains every word of this text
    /// (any case).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Only tenants with this label: key=value (that value, exactly) or key
    /// (any value). Repeat to require several.
    #[arg(long = "label", value_name = "KEY[=VALUE]")]
    labels: Vec<String>,
}

impl FilterArgs {
    fn filter(self) -> TenantFilter {
        TenantFilter {
            status: self.status,
            plan: self.plan,
            search: self.search.unwrap_or_default(),
            labels: self.labels,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SortKey {
    Slug,
    Name,
    Plan,
    Status,
    Updated,
}

impl SortKey {
    fn sort(self, rows: &mut [TenantRow]) {
        let rank = |p: Plan| Plan::ALL.iter().position(|q| *q == p);
        let status = |s: TenantStatus| TenantStatus::ALL.iter().position(|q| *q == s);
        let slug = |r: &TenantRow| r.tenant.slug.clone();
        match self {
            SortKey::Slug => rows.sort_by(|a, b| a.tenant.slug.cmp(&b.tenant.slug)),
            SortKey::Name => rows.sort_by_cached_key(|r| (r.tenant.name.to_lowercase(), slug(r))),
            SortKey::Plan => rows.sort_by_cached_key(|r| (rank(r.tenant.plan), slug(r))),
            SortKey::Status => rows.sort_by_cached_key(|r| (status(r.tenant.status), slug(r))),
            SortKey::Updated => rows.sort_by(|a, b| {
                (b.tenant.updated_at.cmp(&a.tenant.updated_at))
                    .then_with(|| a.tenant.slug.cmp(&b.tenant.slug))
            }),
        }
    }
}

/// Quotas; negative numbers are taken as numbers, for the server's check
/// to refuse by name rather than clap to take them for flags.
#[derive(Args)]
pub struct QuotaArgs {
    /// Most users the tenant may have.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    max_users: Option<i64>,
    /// Storage the tenant may use, in GiB.
    #[arg(long, value_name = "GIB", allow_negative_numbers = true)]
    storage_gib: Option<i64>,
    /// API requests the tenant may make per minute.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
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
    /// Idempotency key: rerunning with the same key never acts twice
    /// [default: a new one each run].
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

#[derive(Args)]
pub struct ConfirmArg {
    /// The tenant's slug, exactly, to confirm on a prod profile without a
    /// prompt (needed with --json or without a terminal). A slug that is not
    /// the target's is always refused, even where no confirmation is needed.
    #[arg(long, value_name = "SLUG")]
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

/// Deleting may also need a second person's approval (the server's
/// two-person rule).
#[derive(Args)]
pub struct DeleteArgs {
    /// Tenant id or slug.
    tenant: String,
    #[command(flatten)]
    confirm: ConfirmArg,
    #[command(flatten)]
    key: KeyArg,
    #[command(flatten)]
    approval: crate::approvals::ApprovalArgs,
}

/// Resuming takes nothing away, so it never asks for a confirmation.
#[derive(Args)]
pub struct ResumeArgs {
    /// Tenant id or slug.
    tenant: String,
    #[command(flatten)]
    key: KeyArg,
}

/// The plans, each with its default quotas for `--help` (from the one
/// table in the API crate).
fn plan_parser() -> impl TypedValueParser<Value = Plan> {
    PossibleValuesParser::new(Plan::ALL.map(|plan| {
        let q = plan.default_quotas();
        PossibleValue::new(plan.as_str()).help(format!(
            "{} users, {} GiB storage, {} requests per minute",
            q.max_users, q.storage_gib, q.requests_per_minute
        ))
    }))
    .try_map(|s| s.parse::<Plan>())
}

fn status_parser() -> impl TypedValueParser<Value = TenantStatus> {
    PossibleValuesParser::new(TenantStatus::ALL.map(TenantStatus::as_str))
        .try_map(|s| s.parse::<TenantStatus>())
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: TenantsCommand,
) -> Result<Done> {
    // One session for the run: the profile and its token are read once.
    let session = console.session(profile).await?;
    let tenants = session.tenants();
    let on = On::of(session.profile());
    if cmd.changes_something() {
        // Before acting, so it shows above a prompt or an error too.
        out.note(&format!("on `{}` ({})", on.profile, on.tier));
    }
    match cmd {
        TenantsCommand::List(args) => return list(&tenants, out, args).await,
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
            accent_color,
            labels,
            key,
        } => {
            let labels = LabelEdit::parse_set(&labels)?;
            let body = CreateTenant {
                slug,
                name,
                plan,
                quotas: quotas.patch(),
                accent_color,
                labels: (!labels.is_empty()).then_some(labels),
            };
            let tenant = tenants
                .create(&body, key.idempotency_key.as_deref())
                .await?;
            changed(out, &on, &tenant);
        }
        TenantsCommand::Update {
            tenant,
            name,
            plan,
            quotas,
            accent_color,
            clear_accent_color,
            labels,
            remove_labels,
            confirm,
            key,
        } => {
            let edit = LabelEdit {
                set: LabelEdit::parse_set(&labels)?,
                remove: remove_labels.into_iter().collect(),
            };
            let body = UpdateTenant {
                name,
                plan,
                quotas: quotas.patch(),
                accent_color: match (accent_color, clear_accent_color) {
                    (Some(color), _) => Some(Some(color)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
                labels: None,
            };
            let key = key.idempotency_key.as_deref();
            let tenant = confirmed(out, confirm.confirm, |confirmation| {
                let (body, edit, tenant, tenants) = (&body, &edit, &tenant, &tenants);
                async move {
                    tenants
                        .update_editing(tenant, body, edit, confirmation.as_deref(), key)
                        .await
                }
            })
            .await?;
            changed(out, &on, &tenant);
        }
        TenantsCommand::Suspend(args) => {
            act(
                &tenants,
                out,
                &on,
                TenantAction::Suspend,
                args.tenant,
                args.confirm.confirm,
                args.key,
            )
            .await?
        }
        TenantsCommand::Resume(args) => {
            act(
                &tenants,
                out,
                &on,
                TenantAction::Resume,
                args.tenant,
                None,
                args.key,
            )
            .await?
        }
        TenantsCommand::Delete(args) => {
            if let Some(why) = &args.approval.request_approval {
                let action = opsdeck_core::Destructive::DeleteTenant {
                    tenant: args.tenant.clone(),
                };
                crate::approvals::request_for(&session, out, &action, why).await?;
                return Ok(Done::Fresh);
            }
            act_approved(
                &tenants,
                out,
                &on,
                TenantAction::Delete,
                args.tenant,
                args.confirm.confirm,
                args.key,
                args.approval.approval.as_deref(),
            )
            .await?
        }
    }
    Ok(Done::Fresh)
}

async fn list(tenants: &Tenants<'_>, out: &Output, args: ListArgs) -> Result<Done> {
    let filtered = args.filter.filter();
    let (reporter, drawing) = crate::progress::bar(out.json);
    let listed = tenants.list_reporting(&filtered, &reporter).await;
    // The bar is cleared before anything is printed.
    drop(reporter);
    let _ = drawing.await;
    let mut view = listed?;
    if let (true, Some(stale)) = (args.fresh, &view.stale) {
        return Err(CliError::StaleRefused {
            reason: stale.reason.clone(),
            age: ago(stale.age_seconds),
        });
    }
    args.sort.sort(&mut view.tenants);
    let done = match view.stale {
        Some(_) => Done::Stale,
        None => Done::Fresh,
    };
    if out.json {
        // The stale marker is the view's `stale` field.
        out.json(&view);
    } else {
        if let Some(stale) = &view.stale {
            out.note(&format!(
                "STALE: {}; showing the list cached {} ({})",
                stale.reason,
                ago(stale.age_seconds),
                when(view.fetched_at)
            ));
        }
        let rows: Vec<_> = view.tenants.iter().map(|r| row(&r.tenant)).collect();
        if rows.is_empty() {
            out.note(&format!(
                "no tenants{} on `{}` ({})",
                if filtered.is_empty() { "" } else { " match" },
                view.profile,
                view.tier
            ));
            return Ok(done);
        }
        out.table(
            &[
                Column::free_text("SLUG", u8::MAX),
                Column::free_text("NAME", u8::MAX),
                Column::text("PLAN", 6),
                Column::text("STATUS", u8::MAX),
                Column::free_text("LABELS", 4),
                Column::number("USERS", 3),
                Column::number("STORAGE GIB", 2),
                Column::number("RPM", 1),
                Column::text("UPDATED", 5),
            ],
            rows,
        );
        let count = match view.tenants.len() {
            1 => "1 tenant".to_string(),
            n => format!("{n} tenants"),
        };
        out.note(&format!("{count} on `{}` ({})", view.profile, view.tier));
    }
    Ok(done)
}

/// Runs `run` with the confirmation given; where core answers that the
/// target must be typed, shows core's preflight, asks for it, and runs again.
pub(crate) async fn confirmed<T, F, Fut>(out: &Output, given: Option<String>, run: F) -> Result<T>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = opsdeck_core::Result<T>>,
{
    // Core decides whether the slug must be typed; ask only when it says so,
    // and never under --json, whose stderr carries nothing but JSON (the
    // error then carries the preflight).
    match run(given).await {
        Err(Error::ConfirmationRequired {
            action,
            target,
            noun,
            summary,
        }) if !out.json => {
            out.note(&summary);
            let typed = prompt(
                &format!("Type the {noun} `{target}` to {action} it: "),
                &target,
                &noun,
                &action,
                &summary,
            )?;
            Ok(run(Some(typed)).await?)
        }
        other => Ok(other?),
    }
}

/// Suspends, resumes or deletes, with the confirmation core asks for.
async fn act(
    tenants: &Tenants<'_>,
    out: &Output,
    on: &On,
    action: TenantAction,
    tenant: String,
    confirm: Option<String>,
    key: KeyArg,
) -> Result<()> {
    act_approved(tenants, out, on, action, tenant, confirm, key, None).await
}

#[allow(clippy::too_many_arguments)]
async fn act_approved(
    tenants: &Tenants<'_>,
    out: &Output,
    on: &On,
    action: TenantAction,
    tenant: String,
    confirm: Option<String>,
    key: KeyArg,
    approval: Option<&str>,
) -> Result<()> {
    let key = key.idempotency_key.as_deref();
    let target = tenant.as_str();
    let result = confirmed(out, confirm, |confirmation| async move {
        tenants
            .act_approved(action, target, confirmation.as_deref(), key, approval)
            .await
    })
    .await?;
    match result {
        Some(tenant) => changed(out, on, &tenant),
        None if out.json => out.json(&serde_json::json!({
            "deleted": tenant,
            "profile": on.profile,
            "tier": on.tier,
        })),
        None => out.note(&format!("deleted tenant `{tenant}`")),
    }
    Ok(())
}

/// Reads the confirmation from the terminal; without one, refuses. Only the
/// line's end is taken off: core compares what was typed exactly.
fn prompt(
    question: &str,
    want: &str,
    noun: &str,
    action: &str,
    summary: &str,
) -> opsdeck_core::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::ConfirmationRequired {
            action: action.to_string(),
            target: want.to_string(),
            noun: noun.to_string(),
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
        labels_text(&t.labels),
        t.quotas.max_users.to_string(),
        t.quotas.storage_gib.to_string(),
        t.quotas.requests_per_minute.to_string(),
        when(t.updated_at),
    ]
}

/// Labels as `key=value` pairs by key, comma separated; empty when none.
fn labels_text(labels: &opsdeck_api::tenants::Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
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

impl TenantsCommand {
    /// Whether the command changes anything on the server.
    fn changes_something(&self) -> bool {
        !matches!(self, TenantsCommand::List(_) | TenantsCommand::Get { .. })
    }
}

/// The profile a change was made on, named in every change's output: a
/// plain `opsdeck` acts on the CLI's current profile, and the operator sees
/// which one and its tier.
#[derive(Serialize)]
struct On {
    profile: String,
    tier: Tier,
}

impl On {
    fn of(profile: &Profile) -> Self {
        Self {
            profile: profile.name.clone(),
            tier: profile.tier,
        }
    }
}

/// A changed tenant; with `--json`, the tenant's fields and the profile's
/// `profile` and `tier` in one object.
fn changed(out: &Output, on: &On, t: &Tenant) {
    if out.json {
        #[derive(Serialize)]
        struct Changed<'a> {
            #[serde(flatten)]
            tenant: &'a Tenant,
            #[serde(flatten)]
            on: &'a On,
        }
        out.json(&Changed { tenant: t, on });
    } else {
        show(out, t);
    }
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
        (
            "accent colour",
            t.accent_color.clone().unwrap_or_else(|| "none".to_string()),
        ),
        (
            "labels",
            if t.labels.is_empty() {
                "none".to_string()
            } else {
                t.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("max users", t.quotas.max_users.to_string()),
        ("storage GiB", t.quotas.storage_gib.to_string()),
        ("requests/min", t.quotas.requests_per_minute.to_string()),
        ("created", when_and_ago(t.created_at)),
        ("updated", when_and_ago(t.updated_at)),
    ];
    out.fields(&fields);
}
