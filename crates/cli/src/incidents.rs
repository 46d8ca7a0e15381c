//! `opsdeck incident ...`: open, list, show, acknowledge, mitigate and
//! resolve incidents of the profile's server, add notes, link alerts, and
//! export the post-incident review as Markdown.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use opsdeck_core::api::incidents::{IncidentDetail, IncidentStatus, Severity};
use opsdeck_core::incidents::{human_span, target_word};
use opsdeck_core::{Console, Error};
use serde::Serialize;

use crate::error::Result;
use crate::output::{when, Column, Output};

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident; you are its commander unless --commander names a user.
    Open(OpenArgs),
    /// List incidents, newest first.
    List(ListArgs),
    /// One incident: status, targets (due, met, running or breached),
    /// escalations, linked alerts and its timeline in order.
    Show {
        /// The incident's id.
        id: String,
    },
    /// Acknowledge: someone is on it (stops the escalations).
    Ack {
        /// The incident's id.
        id: String,
    },
    /// Mitigate: the impact is over.
    Mitigate {
        /// The incident's id.
        id: String,
    },
    /// Resolve: it is over.
    Resolve {
        /// The incident's id.
        id: String,
    },
    /// Add a note to the incident's timeline.
    Note {
        /// The incident's id.
        id: String,
        /// What to note.
        text: String,
    },
    /// Link an alert of the profile's Alertmanagers, by fingerprint (as
    /// `opsdeck alerts list --json` shows it).
    LinkAlert {
        /// The incident's id.
        id: String,
        /// The alert's fingerprint.
        fingerprint: String,
    },
    /// Write the post-incident review as Markdown: summary, times to
    /// detect, acknowledge, mitigate and resolve, targets, timeline,
    /// actions and their results, linked alerts.
    Export {
        /// The incident's id.
        id: String,
        /// The Markdown file to write.
        #[arg(long, value_name = "FILE.md")]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct OpenArgs {
    /// What is wrong, in a line.
    #[arg(long)]
    title: String,
    /// P1 (worst) to P4.
    #[arg(long, value_parser = parse_severity)]
    severity: Severity,
    /// Who leads it (a user's email).
    #[arg(long, value_name = "USER")]
    commander: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only incidents in this status: open, acknowledged, mitigated, resolved.
    #[arg(long, value_parser = parse_status)]
    status: Option<IncidentStatus>,
    /// Incidents per page, 1–200.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Where to continue: the cursor a previous page ended with.
    #[arg(long)]
    cursor: Option<String>,
}

fn parse_severity(text: &str) -> std::result::Result<Severity, String> {
    text.parse()
}

fn parse_status(text: &str) -> std::result::Result<IncidentStatus, String> {
    text.parse()
}

/// What `export` prints with `--json`.
#[derive(Serialize)]
struct Exported {
    incident: String,
    file: PathBuf,
    bytes: usize,
    /// The PNG charts written next to it.
    charts: Vec<PathBuf>,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: IncidentCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let incidents = session.incidents();
    match cmd {
        IncidentCommand::Open(args) => {
            let detail = incidents
                .open(&args.title, args.severity, args.commander.as_deref())
                .await?;
            done(out, &detail, "opened");
        }
        IncidentCommand::List(args) => {
            let page = incidents
                .list(args.status, Some(args.limit), args.cursor)
                .await?;
            let rows = page
                .items
                .iter()
                .map(|i| {
                    vec![
                        i.id.clone(),
                        i.severity.to_string(),
                        i.status.to_string(),
                        i.title.clone(),
                        i.commander.clone(),
                        when(i.started_at),
                    ]
                })
                .collect();
            out.list(
                &page,
                &format!("no incidents on `{}`", session.profile().name),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("SEV", u8::MAX),
                    Column::text("STATUS", u8::MAX),
                    Column::free_text("TITLE", 4),
                    Column::free_text("COMMANDER", 2),
                    Column::text("STARTED", 1),
                ],
                rows,
            );
            if let (false, Some(cursor)) = (out.json, page.next_cursor) {
                out.note(&format!("more: --cursor {cursor}"));
            }
        }
        IncidentCommand::Show { id } => {
            let detail = incidents.get(&id).await?;
            if out.json {
                out.json(&detail);
            } else {
                show(out, &detail);
            }
        }
        IncidentCommand::Ack { id } => {
            done(out, &incidents.acknowledge(&id).await?, "acknowledged")
        }
        IncidentCommand::Mitigate { id } => done(out, &incidents.mitigate(&id).await?, "mitigated"),
        IncidentCommand::Resolve { id } => done(out, &incidents.resolve(&id).await?, "resolved"),
        IncidentCommand::Note { id, text } => {
            done(out, &incidents.note(&id, &text).await?, "noted")
        }
        IncidentCommand::LinkAlert { id, fingerprint } => done(
            out,
            &incidents.link_alert(&id, &fingerprint).await?,
            "alert linked",
        ),
        IncidentCommand::Export { id, out: file } => {
            // The charts go next to the Markdown, named after it.
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("review")
                .to_string();
            let review = incidents.review(&id, &stem).await?;
            let detail = review.detail;
            let text = review.markdown;
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut charts = Vec::new();
            for chart in &review.charts {
                let path = dir.join(&chart.file);
                std::fs::write(&path, &chart.png).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                charts.push(path);
            }
            std::fs::write(&file, &text).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            if out.json {
                out.json(&Exported {
                    incident: detail.incident.id,
                    file,
                    bytes: text.len(),
                    charts,
                });
            } else {
                out.note(&format!(
                    "incident {} written to {}",
                    detail.incident.id,
                    file.display()
                ));
            }
        }
    }
    Ok(())
}

/// After a change: the incident as it is now (JSON), or a line saying so.
fn done(out: &Output, detail: &IncidentDetail, what: &str) {
    if out.json {
        out.json(detail);
    } else {
        let i = &detail.incident;
        println!("{}", i.id);
        out.note(&format!(
            "incident {} {what}: {} {} ({})",
            i.id, i.severity, i.title, i.status
        ));
    }
}

fn show(out: &Output, detail: &IncidentDetail) {
    let i = &detail.incident;
    let opt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(when).unwrap_or_else(|| "—".into());
    out.fields(&[
        ("id", i.id.clone()),
        ("title", i.title.clone()),
        ("severity", i.severity.to_string()),
        ("status", i.status.to_string()),
        ("commander", i.commander.clone()),
        ("opened by", i.opened_by.clone()),
        ("started", when(i.started_at)),
        ("acknowledged", opt(i.acknowledged_at)),
        ("mitigated", opt(i.mitigated_at)),
        ("resolved", opt(i.resolved_at)),
    ]);
    println!();
    out.table(
        &[
            Column::text("TARGET", u8::MAX),
            Column::text("WITHIN", u8::MAX),
            Column::text("DUE", u8::MAX),
            Column::text("STATE", u8::MAX),
            Column::text("LEFT", 1),
        ],
        detail
            .targets
            .iter()
            .map(|t| {
                let left = match t.reached_at {
                    Some(_) => String::new(),
                    None => {
                        let secs = (t.due_at - detail.now).num_seconds();
                        if secs >= 0 {
                            format!("{} left", human_span(secs))
                        } else {
                            format!("{} over", human_span(-secs))
                        }
                    }
                };
                vec![
                    t.kind.as_str().to_string(),
                    human_span(i64::try_from(t.seconds).unwrap_or(i64::MAX)),
                    when(t.due_at),
                    target_word(t.state).to_string(),
                    left,
                ]
            })
            .collect(),
    );
    if !detail.escalations.is_empty() {
        println!();
        for e in &detail.escalations {
            println!(
                "escalated to {} at {} (escalation {})",
                e.to,
                when(e.at),
                e.level
            );
        }
    }
    if !detail.runs.is_empty() {
        println!();
        out.table(
            &[
                Column::text("RUN", 2),
                Column::text("PLAYBOOK", u8::MAX),
                Column::text("STATE", u8::MAX),
                Column::free_text("TITLE", 1),
            ],
            detail
                .runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.playbook.clone(),
                        r.state.as_str().to_string(),
                        r.title.clone(),
                    ]
                })
                .collect(),
        );
    }
    if !detail.alerts.is_empty() {
        println!();
        out.table(
            &[
                Column::text("ALERT", u8::MAX),
                Column::text("FINGERPRINT", 2),
                Column::text("FIRING SINCE", 1),
            ],
            detail
                .alerts
                .iter()
                .map(|a| {
                    vec![
                        a.alertname.clone(),
                        a.fingerprint.clone(),
                        when(a.starts_at),
                    ]
                })
                .collect(),
        );
    }
    println!();
    out.table(
        &[
            Column::number("#", u8::MAX),
            Column::text("AT", u8::MAX),
            Column::free_text("WHO", 2),
            Column::text("KIND", 3),
            Column::free_text("WHAT", u8::MAX),
        ],
        detail
            .timeline
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    e.actor.clone(),
                    e.kind.clone(),
                    e.text.clone(),
                ]
            })
            .collect(),
    );
}
