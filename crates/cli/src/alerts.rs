//! `opsdeck alerts ...`: alerts and silences of the profile's Alertmanagers.

use std::time::Duration;

use chrono::Utc;
use clap::{Args, Subcommand};
use opsdeck_core::alerts::{parse_duration, Alerts, Merged};
use opsdeck_core::notify::{
    DesktopNotifier, Notice, QuietHours, Rules, Severity, WatchEvent, WatchOptions, Watcher,
};
use opsdeck_core::{Alert, AlertFilter, Console, Matcher, NewSilence, SilenceState};
use serde::Serialize;

use crate::error::Result;
use crate::output::{when, Column, Output};
use crate::tenants::confirmed;

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// List the alerts of every Alertmanager of the profile, merged: firing,
    /// silenced and inhibited.
    List(ListArgs),
    /// Mute the alerts that match for a while; prints the silence's id. On a
    /// prod profile, asks for the alert name (or the matchers) typed.
    Silence(SilenceArgs),
    /// List silences (active and pending; --all for expired ones too).
    Silences {
        /// Expired silences too.
        #[arg(long)]
        all: bool,
    },
    /// Expire a silence: the alerts it muted page again. On a prod profile,
    /// asks for the silence id typed.
    Expire {
        /// The silence's id, as `opsdeck alerts silences` lists it.
        id: String,
        #[command(flatten)]
        confirm: ConfirmArg,
    },
    /// Acknowledge a firing alert: the other operators see who is on it
    /// and since when. It mutes nothing (a silence does that); prints the
    /// record's id.
    Ack {
        /// The alert's fingerprint, as `alerts list --json` shows it.
        fingerprint: String,
        /// What you are doing about it.
        #[arg(long, default_value = "")]
        comment: String,
        /// How long it stands unless withdrawn: 30m, 4h, 1d.
        #[arg(long = "for", value_name = "DURATION", default_value = "4h", value_parser = duration)]
        hold: Duration,
    },
    /// Withdraw an acknowledgement (its id, as `alerts list` shows it).
    Unack {
        /// The acknowledgement's id.
        id: String,
    },
    /// Follow the alert groups and print each change until interrupted: a
    /// new firing group, a resolved one, or one summary for many at once.
    /// With --notify, raise each as a desktop notification too. What was
    /// told is remembered: a restart repeats nothing, and sums up once what
    /// changed while it was not running.
    Watch(WatchArgs),
}

#[derive(Args)]
pub struct WatchArgs {
    /// Raise desktop notifications too.
    #[arg(long)]
    notify: bool,
    /// Only alerts at or above it: info, warning, error, critical.
    #[arg(long, default_value = "warning", value_parser = severity)]
    severity: Severity,
    /// How often to ask the Alertmanagers: 5s, 30s, 1m.
    #[arg(long, default_value = "15s", value_parser = duration)]
    interval: Duration,
    /// How often an escalated incident of the profile's server that is
    /// still not acknowledged is told again (critical).
    #[arg(long, default_value = "2m", value_parser = duration)]
    repeat_escalations: Duration,
    /// No notifications in this stretch of local time, like 22:00-07:00;
    /// what happens meanwhile is told as one summary when it ends.
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = quiet_hours)]
    quiet_hours: Option<QuietHours>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only alerts whose labels match: `label=value`, `label!=value`,
    /// `label=~regex`, `label!~regex`. Repeat it: every one must match.
    #[arg(long, value_name = "MATCHER", value_parser = matcher)]
    filter: Vec<Matcher>,
    /// Leave out silenced alerts.
    #[arg(long)]
    no_silenced: bool,
    /// Leave out inhibited alerts.
    #[arg(long)]
    no_inhibited: bool,
}

#[derive(Args)]
pub struct SilenceArgs {
    /// Which alerts to mute: `label=value` (or `!=`, `=~`, `!~`). Repeat it:
    /// the silence mutes alerts that match every one.
    #[arg(long, value_name = "MATCHER", required = true, value_parser = matcher)]
    matcher: Vec<Matcher>,
    /// How long: 30m, 2h, 1h30m, 1d (at most 365d). With --until-resolved,
    /// the most it may last (default 7d).
    #[arg(long, value_parser = duration, required_unless_present = "until_resolved")]
    duration: Option<Duration>,
    /// End the silence when none of the alerts it matches fires any more
    /// (`alerts watch` or the window ends it; --duration bounds it).
    #[arg(long)]
    until_resolved: bool,
    /// Why, for the other operators.
    #[arg(long)]
    comment: String,
    #[command(flatten)]
    confirm: ConfirmArg,
}

/// How long a silence that ends with its alerts may last at most.
const UNTIL_RESOLVED_BOUND: Duration = Duration::from_secs(7 * 86_400);

#[derive(Args)]
pub struct ConfirmArg {
    /// What a prod profile asks to be typed (the alert name, the matchers or
    /// the silence id), to confirm without a prompt (needed with --json or
    /// without a terminal). Anything else is refused.
    #[arg(long, value_name = "TEXT")]
    confirm: Option<String>,
}

fn matcher(text: &str) -> std::result::Result<Matcher, String> {
    Matcher::parse(text).map_err(|e| match e {
        opsdeck_core::Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    })
}

fn severity(text: &str) -> std::result::Result<Severity, String> {
    Severity::parse(text).map_err(|e| match e {
        opsdeck_core::Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    })
}

fn quiet_hours(text: &str) -> std::result::Result<QuietHours, String> {
    QuietHours::parse(text).map_err(|e| match e {
        opsdeck_core::Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    })
}

fn duration(text: &str) -> std::result::Result<Duration, String> {
    parse_duration(text).map_err(|e| match e {
        opsdeck_core::Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    })
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: AlertsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let alerts = session.alerts()?;
    let place = format!("`{}` ({})", session.profile().name, session.profile().tier);
    match cmd {
        AlertsCommand::List(args) => {
            let filter = AlertFilter {
                active: true,
                silenced: !args.no_silenced,
                inhibited: !args.no_inhibited,
                matchers: args.filter,
            };
            let listed = alerts.list(&filter).await?;
            warn_unreachable(out, &listed);
            if out.json {
                out.json(&listed);
                return Ok(());
            }
            if listed.items.is_empty() {
                out.note(&format!("no alerts on {place}"));
                return Ok(());
            }
            let rows = listed.items.iter().map(alert_row).collect();
            out.table(
                &[
                    Column::free_text("ALERTNAME", u8::MAX),
                    Column::text("SEVERITY", 4),
                    Column::text("STATE", u8::MAX),
                    Column::text("SINCE", 3),
                    Column::free_text("ACKNOWLEDGED", 3),
                    Column::free_text("SUMMARY", 2),
                ],
                rows,
            );
            let count = match listed.items.len() {
                1 => "1 alert".to_string(),
                n => format!("{n} alerts"),
            };
            out.note(&format!("{count} on {place}"));
        }
        AlertsCommand::Ack {
            fingerprint,
            comment,
            hold,
        } => {
            let id = alerts.acknowledge(&fingerprint, &comment, hold).await?;
            if out.json {
                out.json(&serde_json::json!({ "id": id, "alert": fingerprint }));
            } else {
                println!("{id}");
                out.note(&format!(
                    "acknowledged {fingerprint} on {place} for {}",
                    opsdeck_core::alerts::human(hold)
                ));
            }
        }
        AlertsCommand::Unack { id } => {
            alerts.withdraw(&id).await?;
            if out.json {
                out.json(&serde_json::json!({ "withdrawn": id }));
            } else {
                out.note(&format!("acknowledgement {id} withdrawn on {place}"));
            }
        }
        AlertsCommand::Silence(args) => {
            out.note(&format!("on {place}"));
            let silence = NewSilence {
                matchers: args.matcher,
                duration: args.duration.unwrap_or(UNTIL_RESOLVED_BOUND),
                comment: args.comment,
                created_by: opsdeck_core::alerts::created_by(),
            };
            let until_resolved = args.until_resolved;
            // The count is a guide, not a gate: an Alertmanager that cannot
            // be read now still takes the silence.
            if let Ok(preflight) = alerts
                .silence_preflight(&silence.matchers, silence.duration)
                .await
            {
                out.note(&format!(
                    "matches {} now",
                    match preflight.firing {
                        1 => "1 firing alert".to_string(),
                        n => format!("{n} firing alerts"),
                    }
                ));
            }
            let id = confirmed(out, args.confirm.confirm, |confirmation| {
                let (alerts, silence) = (&alerts, &silence);
                async move {
                    if until_resolved {
                        alerts
                            .silence_until_resolved(silence, confirmation.as_deref())
                            .await
                    } else {
                        alerts.silence(silence, confirmation.as_deref()).await
                    }
                }
            })
            .await?;
            if out.json {
                #[derive(Serialize)]
                struct Created<'a> {
                    id: &'a str,
                    matchers: Vec<String>,
                    duration_seconds: u64,
                    profile: &'a str,
                    tier: opsdeck_core::Tier,
                }
                out.json(&Created {
                    id: &id,
                    matchers: silence.matchers.iter().map(Matcher::to_string).collect(),
                    duration_seconds: silence.duration.as_secs(),
                    profile: &session.profile().name,
                    tier: session.profile().tier,
                });
            } else {
                println!("{id}");
                out.note(&format!(
                    "silenced {} for {}",
                    Alerts::silence_target(&silence.matchers),
                    opsdeck_core::alerts::human(silence.duration)
                ));
            }
        }
        AlertsCommand::Silences { all } => {
            let mut listed = alerts.silences().await?;
            if !all {
                listed.items.retain(|s| s.state != SilenceState::Expired);
            }
            warn_unreachable(out, &listed);
            if out.json {
                out.json(&listed);
                return Ok(());
            }
            if listed.items.is_empty() {
                out.note(&format!("no silences on {place}"));
                return Ok(());
            }
            let rows = listed
                .items
                .iter()
                .map(|s| {
                    vec![
                        s.id.clone(),
                        s.state.as_str().to_string(),
                        s.matchers
                            .iter()
                            .map(Matcher::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                        when(s.ends_at),
                        s.created_by.clone(),
                        s.comment.clone(),
                    ]
                })
                .collect();
            out.table(
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("STATE", 4),
                    Column::free_text("MATCHERS", u8::MAX),
                    Column::text("ENDS", 3),
                    Column::free_text("CREATED BY", 1),
                    Column::free_text("COMMENT", 2),
                ],
                rows,
            );
        }
        AlertsCommand::Watch(args) => watch(console, out, &session, args).await?,
        AlertsCommand::Expire { id, confirm } => {
            out.note(&format!("on {place}"));
            let target = id.trim().to_string();
            confirmed(out, confirm.confirm, |confirmation| {
                let (alerts, target) = (&alerts, &target);
                async move { alerts.expire(target, confirmation.as_deref()).await }
            })
            .await?;
            if out.json {
                out.json(&serde_json::json!({
                    "expired": target,
                    "profile": session.profile().name,
                    "tier": session.profile().tier,
                }));
            } else {
                out.note(&format!("expired silence {target}"));
            }
        }
    }
    Ok(())
}

async fn watch(
    console: &Console,
    out: &Output,
    session: &opsdeck_core::Session,
    args: WatchArgs,
) -> Result<()> {
    let options = WatchOptions {
        severity: args.severity,
        interval: args.interval,
        escalation_repeat: args.repeat_escalations,
        rules: Rules {
            quiet: args.quiet_hours,
            ..Rules::default()
        },
    };
    let mut watcher = Watcher::new(session.clone(), &console.paths().data_dir, options)?;
    if args.notify {
        watcher = watcher.with_notifier(std::sync::Arc::new(DesktopNotifier::new()));
    }
    let place = format!("`{}` ({})", session.profile().name, session.profile().tier);
    watcher
        .run(
            |event| {
                if out.json {
                    out.json_line(&event);
                } else {
                    print_event(out, &place, &event);
                }
            },
            interrupted(),
        )
        .await?;
    Ok(())
}

/// Ctrl-C, or a polite stop from a service manager.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    // Without a handler there is no way to be told; the process is then
    // stopped the hard way, and what was told is saved after each change.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn print_event(out: &Output, place: &str, event: &WatchEvent) {
    match event {
        WatchEvent::Started {
            severity,
            remembered,
            ..
        } => {
            let remembered = match remembered {
                0 => String::new(),
                1 => ", 1 group already told".to_string(),
                n => format!(", {n} groups already told"),
            };
            out.note(&format!(
                "watching {place} for {severity} and above{remembered}; Ctrl-C to stop"
            ));
        }
        WatchEvent::StateReset { message } => out.note(&format!("warning: {message}")),
        WatchEvent::Notice { at, notice, .. } => {
            let kind = match notice {
                Notice::Fired(_) => "FIRING",
                Notice::Resolved(_) => "RESOLVED",
                Notice::Summary(_) => "SUMMARY",
                Notice::Escalated(_) => "ESCALATED",
            };
            let body = notice.body().replace('\n', "; ");
            let line = if body.is_empty() {
                format!("{}  {kind:<8}  {}", at.format("%H:%M:%S"), notice.title())
            } else {
                format!(
                    "{}  {kind:<8}  {} — {body}",
                    at.format("%H:%M:%S"),
                    notice.title()
                )
            };
            println!("{}", opsdeck_core::sanitize::remote(&line));
        }
        WatchEvent::Unreachable { message } => {
            out.note(&format!("warning: {message}; still trying"))
        }
        WatchEvent::Reachable => out.note("the Alertmanagers answer again"),
        // The window's tray shows it; a line per change would be noise here.
        WatchEvent::Critical { .. } => {}
        WatchEvent::SilenceEnded { id } => {
            out.note(&format!("silence {id} ended: its alerts resolved"))
        }
        WatchEvent::NotifyFailed { message } => out.note(&format!("warning: {message}")),
        WatchEvent::StateNotSaved { message } => {
            out.note(&format!("warning: {message}; a restart may tell it again"))
        }
    }
}

/// Names each Alertmanager that did not answer (the others did); with
/// `--json` that is the output's `unreachable`.
fn warn_unreachable<T>(out: &Output, merged: &Merged<T>) {
    for u in &merged.unreachable {
        out.note(&format!("warning: {} did not answer: {}", u.url, u.message));
    }
}

fn alert_row(a: &Alert) -> Vec<String> {
    vec![
        a.label("alertname").unwrap_or("").to_string(),
        a.label("severity").unwrap_or("").to_string(),
        a.status.as_str().to_string(),
        fired_for((Utc::now() - a.starts_at).num_seconds()),
        a.acknowledged
            .as_ref()
            .map(|ack| {
                format!(
                    "{}, {} ago",
                    ack.by,
                    fired_for((Utc::now() - ack.at).num_seconds())
                )
            })
            .unwrap_or_default(),
        a.annotation("summary").unwrap_or("").to_string(),
    ]
}

/// How long an alert has fired: `45s`, `12m`, `3h05m`, `2d04h`.
fn fired_for(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_long_an_alert_fired_is_short() {
        assert_eq!(fired_for(-5), "0s");
        assert_eq!(fired_for(45), "45s");
        assert_eq!(fired_for(12 * 60 + 5), "12m");
        assert_eq!(fired_for(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(fired_for(2 * 86_400 + 4 * 3600), "2d04h");
    }
}
