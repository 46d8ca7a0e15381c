//! `opsdeck audit ...`: the audit log of the profile's server, a page at a
//! time, or exported whole to a CSV or JSON Lines file.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use opsdeck_core::{AuditFilter, Console, ExportFormat};
use serde::Serialize;

use crate::error::Result;
use crate::output::{when, Column, Output};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest first, a page at a time.
    List(ListArgs),
    /// Write every record matching the filters to a file (written under
    /// another name and renamed when complete).
    Export(ExportArgs),
}

/// Which records: each value matches exactly.
#[derive(Args)]
pub struct FilterArgs {
    /// Only changes made by this user (email) or service account (name).
    #[arg(long)]
    actor: Option<String>,
    /// Only this action, e.g. `tenant.suspend`.
    #[arg(long)]
    action: Option<String>,
    /// Only changes to this target, e.g. `tenant:acme` or `user:ana@example.com`.
    #[arg(long)]
    target: Option<String>,
    /// Only records of this tenant (slug or id; a deleted tenant by its id).
    #[arg(long)]
    tenant: Option<String>,
    /// Only records written at or after this time (RFC 3339, e.g. 2026-11-24T08:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<DateTime<Utc>>,
    /// Only records written before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<DateTime<Utc>>,
}

impl FilterArgs {
    fn filter(self) -> AuditFilter {
        AuditFilter {
            actor: self.actor,
            action: self.action,
            target: self.target,
            tenant: self.tenant,
            since: self.since,
            until: self.until,
        }
    }
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Records per page, 1–200.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Where to continue: the cursor a previous page ended with.
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    filter: FilterArgs,
    #[arg(long, value_enum)]
    format: Format,
    /// The file to write; replaced only once the export is complete.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// What `export --json` prints.
#[derive(Serialize)]
struct ExportReport {
    records: u64,
    path: PathBuf,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: AuditCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let audit = session.audit();
    match cmd {
        AuditCommand::List(args) => {
            let page = audit
                .page(&args.filter.filter(), Some(args.limit), args.cursor)
                .await?;
            if out.json {
                out.json(&page);
                return Ok(());
            }
            if page.items.is_empty() {
                out.note(&format!("no audit records on `{}`", session.profile().name));
                return Ok(());
            }
            let rows = page
                .items
                .iter()
                .map(|r| {
                    vec![
                        r.seq.to_string(),
                        when(r.at),
                        r.actor.clone(),
                        r.action.clone(),
                        r.target.clone(),
                        r.request_id.clone(),
                    ]
                })
                .collect();
            out.table(
                &[
                    Column::number("SEQ", 2),
                    Column::text("AT", u8::MAX),
                    Column::free_text("ACTOR", u8::MAX),
                    Column::text("ACTION", u8::MAX),
                    Column::free_text("TARGET", u8::MAX),
                    Column::text("REQUEST", 1),
                ],
                rows,
            );
            if let Some(cursor) = page.next_cursor {
                out.note(&format!("more: --cursor {cursor}"));
            }
        }
        AuditCommand::Export(args) => {
            let format = match args.format {
                Format::Csv => ExportFormat::Csv,
                Format::Jsonl => ExportFormat::Jsonl,
            };
            let (reporter, drawing) = crate::progress::bar(out.json);
            let exported = audit
                .export(&args.filter.filter(), format, &args.out, &reporter)
                .await;
            // The bar is cleared before anything is printed.
            drop(reporter);
            let _ = drawing.await;
            let exported = exported?;
            if out.json {
                out.json(&ExportReport {
                    records: exported.records,
                    path: exported.path,
                });
            } else {
                out.note(&format!(
                    "{} audit records written to {}",
                    exported.records,
                    exported.path.display()
                ));
            }
        }
    }
    Ok(())
}
