//! `opsdeck maintenance ...`: maintenance windows of the profile's server.
//! The server silences the window's alerts in Alertmanager for its span
//! and expires the silence when the window is ended early.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use opsdeck_core::alerts::{parse_duration, Matcher};
use opsdeck_core::api::maintenance::MaintenanceWindow;
use opsdeck_core::maintenance::{scope, NewWindow};
use opsdeck_core::Console;

use crate::error::Result;
use crate::output::{when, Column, Output};

#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Make a window: its alerts are silenced from --start (now) to --end
    /// (or for --duration).
    Create(CreateArgs),
    /// List windows, newest first.
    List(ListArgs),
    /// End a window now: its silence is expired and its alerts notify again.
    End {
        /// The window's id.
        id: String,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// When it starts (RFC 3339, e.g. 2026-05-01T22:00:00Z); now when absent.
    #[arg(long, value_name = "TIME")]
    start: Option<DateTime<Utc>>,
    /// When it ends (RFC 3339).
    #[arg(
        long,
        value_name = "TIME",
        conflicts_with = "duration",
        required_unless_present = "duration"
    )]
    end: Option<DateTime<Utc>>,
    /// How long it lasts from its start: 30m, 2h, 1h30m.
    #[arg(long, value_name = "DURATION")]
    duration: Option<String>,
    /// The alerts it covers, as label matchers (name=value, name!=value,
    /// name=~regex, name!~regex); repeat for several, all must match.
    #[arg(long = "matcher", value_name = "MATCHER", required = true)]
    matchers: Vec<String>,
    /// Why; shown in the silence's comment and the incidents' timelines.
    #[arg(long)]
    reason: String,
    /// Who is responsible (a user's email); you when absent.
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Windows per page, 1–200.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Where to continue: the cursor a previous page ended with.
    #[arg(long)]
    cursor: Option<String>,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: MaintenanceCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let maintenance = session.maintenance();
    match cmd {
        MaintenanceCommand::Create(args) => {
            let matchers = args
                .matchers
                .iter()
                .map(|m| Matcher::parse(m))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let ends_at = match (args.end, &args.duration) {
                (Some(end), _) => end,
                (None, Some(duration)) => {
                    let span = chrono::Duration::from_std(parse_duration(duration)?)
                        .unwrap_or(chrono::Duration::MAX);
                    args.start.unwrap_or_else(Utc::now) + span
                }
                // clap requires one of them.
                (None, None) => Utc::now(),
            };
            let window = maintenance
                .create(&NewWindow {
                    starts_at: args.start,
                    ends_at,
                    matchers,
                    reason: args.reason,
                    owner: args.owner,
                })
                .await?;
            done(out, &window, "made");
        }
        MaintenanceCommand::List(args) => {
            let page = maintenance.list(Some(args.limit), args.cursor).await?;
            let rows = page
                .items
                .iter()
                .map(|w| {
                    vec![
                        w.id.clone(),
                        w.status.as_str().to_string(),
                        when(w.starts_at),
                        when(w.ends_at),
                        scope(w),
                        w.owner.clone(),
                        w.reason.clone(),
                    ]
                })
                .collect();
            out.list(
                &page,
                &format!("no maintenance windows on `{}`", session.profile().name),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("STATUS", u8::MAX),
                    Column::text("START", 2),
                    Column::text("END", 3),
                    Column::free_text("MATCHERS", 4),
                    Column::free_text("OWNER", 1),
                    Column::free_text("REASON", 1),
                ],
                rows,
            );
            if let (false, Some(cursor)) = (out.json, page.next_cursor) {
                out.note(&format!("more: --cursor {cursor}"));
            }
        }
        MaintenanceCommand::End { id } => {
            let window = maintenance.end(&id).await?;
            done(out, &window, "ended");
        }
    }
    Ok(())
}

fn done(out: &Output, window: &MaintenanceWindow, what: &str) {
    if out.json {
        out.json(window);
    } else {
        println!("{}", window.id);
        out.note(&format!(
            "maintenance window {} {what}: {} until {} ({}); silence {}",
            window.id,
            window.status.as_str(),
            when(window.ends_at),
            scope(window),
            window.silence_id.as_deref().unwrap_or("none")
        ));
    }
}
