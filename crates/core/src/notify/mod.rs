//! Desktop notifications of alerts: a watcher follows the alert groups of a
//! profile's Alertmanagers and tells the user once per new firing group at
//! or above a chosen severity, once when it resolves, with storms, quiet
//! hours and the time the watcher was not running each told as one summary.
//!
//! [`decide`] owns the rules (pure), [`state`] what was already shown (a
//! file per profile and server, so a restart never repeats it), [`desktop`]
//! the delivery through the desktop's notification server, and [`watch`]
//! the loop that ties them to Alertmanager. Not here: clicks on a
//! notification (the window listens for them) and the tray.

pub mod decide;
pub mod desktop;
pub mod state;
pub mod watch;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use decide::{firing_groups, Decider, FiringGroup, Rules, Step};
pub use desktop::{DesktopNotifier, Notifier};
pub use state::{Notified, StateFile};
pub use watch::{WatchEvent, WatchOptions, Watcher};

/// How loud an alert is, read from its `severity` label.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, specta::Type,
)]
// Named for the window beside the incidents' severity; JSON and TOML do
// not carry a type's name.
#[serde(rename = "AlertSeverity", rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// The severity an alert's label names; common synonyms are read, and a
    /// missing or unknown label is `info`.
    pub fn of_label(label: Option<&str>) -> Self {
        match label.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
            Some("critical" | "crit" | "page" | "emergency" | "fatal" | "p1") => Severity::Critical,
            Some("error" | "err" | "high" | "major" | "p2") => Severity::Error,
            Some("warning" | "warn" | "medium" | "minor" | "p3") => Severity::Warning,
            _ => Severity::Info,
        }
    }

    /// Reads a severity the user chose: info, warning, error or critical.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" => Ok(Severity::Critical),
            _ => Err(Error::invalid(
                "severity",
                format!("`{text}` is not one of info, warning, error, critical"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A daily stretch of local time without notifications, such as
/// `22:00-07:00` (it may cross midnight). What happens meanwhile is told as
/// one summary when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct QuietHours {
    /// Local time, `HH:MM:SS` in JSON (`HH:MM` is read too).
    #[specta(type = String)]
    pub start: NaiveTime,
    /// Local time; the first minute that is not quiet.
    #[specta(type = String)]
    pub end: NaiveTime,
}

impl QuietHours {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "quiet_hours",
                format!("`{text}` is not a time range like 22:00-07:00"),
            )
        };
        let (start, end) = text.split_once('-').ok_or_else(invalid)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| invalid());
        let hours = Self {
            start: time(start)?,
            end: time(end)?,
        };
        if hours.start == hours.end {
            return Err(Error::invalid(
                "quiet_hours",
                "start and end are the same time",
            ));
        }
        Ok(hours)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// How the desktop app notifies: kept in the local store, the same for
/// every profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct NotifySettings {
    /// Whether the app raises notifications at all.
    pub enabled: bool,
    /// Only alerts at or above it.
    pub severity: Severity,
    pub quiet_hours: Option<QuietHours>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            severity: Severity::Warning,
            quiet_hours: None,
        }
    }
}

/// The key of [`NotifySettings`] in the store.
const SETTINGS_KEY: &str = "notifications";

impl crate::Console {
    /// The notification settings; the defaults when none were kept or they
    /// cannot be read (a setting is worth less than the app starting).
    pub async fn notify_settings(&self) -> NotifySettings {
        match self.store.setting(SETTINGS_KEY).await {
            Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the notification settings are unreadable; using the defaults");
                NotifySettings::default()
            }),
            Ok(None) => NotifySettings::default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the notification settings; using the defaults");
                NotifySettings::default()
            }
        }
    }

    /// Keeps `settings` as the notification settings.
    pub async fn set_notify_settings(&self, settings: &NotifySettings) -> Result<()> {
        let json = serde_json::to_string(settings).map_err(|e| Error::Store {
            path: self.paths().store_file(),
            message: e.to_string(),
        })?;
        self.store.set_setting(SETTINGS_KEY, &json).await
    }
}

/// One alert group in a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct GroupNotice {
    /// Its grouping labels, `{alertname="X",job="api"}`.
    pub key: String,
    pub title: String,
    pub severity: Severity,
    /// How many of its alerts fire (at or above the chosen severity).
    #[specta(type = u32)]
    pub alerts: usize,
    /// The `summary` annotation of its oldest alert that has one.
    pub summary: Option<String>,
    /// Its oldest alert: what the window opens when the notification is
    /// clicked.
    pub fingerprint: String,
}

/// Why many changes are told as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SummaryReason {
    /// Many at once.
    Storm,
    /// What changed while the watcher was not running.
    WhileAway,
    /// What changed during quiet hours.
    QuietHours,
}

/// Many changes, told as one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SummaryNotice {
    pub reason: SummaryReason,
    /// The highest severity among the new alerts.
    pub severity: Severity,
    #[specta(type = u32)]
    pub fired_groups: usize,
    #[specta(type = u32)]
    pub fired_alerts: usize,
    #[specta(type = u32)]
    pub fired_critical: usize,
    #[specta(type = u32)]
    pub resolved_groups: usize,
    #[specta(type = u32)]
    pub resolved_alerts: usize,
    /// A few of the groups, the loudest first.
    pub examples: Vec<String>,
}

/// An incident its server escalated because no one acknowledged it: told
/// as critical, again and again until it is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct EscalationNotice {
    pub incident: String,
    pub title: String,
    pub severity: opsdeck_api::incidents::Severity,
    /// Who the server handed it to last.
    pub to: String,
    /// 1 for the first escalation, 2 for the next…
    pub level: u32,
}

/// What the user is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    Fired(GroupNotice),
    Resolved(GroupNotice),
    Summary(SummaryNotice),
    Escalated(EscalationNotice),
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Notice {
    /// The notification's first line.
    pub fn title(&self) -> String {
        match self {
            Notice::Fired(g) => format!("{} firing ({})", g.title, g.severity),
            Notice::Resolved(g) => format!("{} resolved", g.title),
            Notice::Summary(s) => {
                let mut parts = Vec::new();
                if s.fired_alerts > 0 {
                    let mut fired = count(s.fired_alerts, "new alert", "new alerts");
                    if s.fired_critical > 0 {
                        fired.push_str(&format!(", {} critical", s.fired_critical));
                    }
                    parts.push(fired);
                }
                if s.resolved_alerts > 0 {
                    parts.push(count(s.resolved_alerts, "resolved", "resolved"));
                }
                let counts = parts.join("; ");
                match s.reason {
                    SummaryReason::Storm => counts,
                    SummaryReason::WhileAway => {
                        format!("While Opsdeck was not watching: {counts}")
                    }
                    SummaryReason::QuietHours => format!("During quiet hours: {counts}"),
                }
            }
            Notice::Escalated(e) => {
                format!("{} incident not acknowledged: {}", e.severity, e.title)
            }
        }
    }

    /// The notification's text below the title.
    pub fn body(&self) -> String {
        match self {
            Notice::Fired(g) | Notice::Resolved(g) => {
                let mut body = g.summary.clone().unwrap_or_default();
                if g.alerts > 1 {
                    if !body.is_empty() {
                        body.push('\n');
                    }
                    body.push_str(&count(g.alerts, "alert", "alerts"));
                }
                body
            }
            Notice::Escalated(e) => format!(
                "Escalated to {} (escalation {}); incident {}",
                e.to, e.level, e.incident
            ),
            Notice::Summary(s) => {
                let total = s.fired_groups + s.resolved_groups;
                let mut body = s.examples.join("\n");
                if total > s.examples.len() {
                    body.push_str(&format!("\nand {} more", total - s.examples.len()));
                }
                body
            }
        }
    }

    /// How urgent the notification is: critical alerts are, a resolve is not.
    pub fn severity(&self) -> Severity {
        match self {
            Notice::Fired(g) => g.severity,
            Notice::Resolved(_) => Severity::Info,
            Notice::Summary(s) if s.fired_alerts > 0 => s.severity,
            Notice::Summary(_) => Severity::Info,
            Notice::Escalated(_) => Severity::Critical,
        }
    }

    /// The alert the window opens on a click, when the notice is about one
    /// group.
    pub fn fingerprint(&self) -> Option<&str> {
        match self {
            Notice::Fired(g) | Notice::Resolved(g) => Some(&g.fingerprint),
            Notice::Summary(_) | Notice::Escalated(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_read_labels_and_synonyms_and_order_by_loudness() {
        assert_eq!(Severity::of_label(Some("Critical")), Severity::Critical);
        assert_eq!(Severity::of_label(Some("page")), Severity::Critical);
        assert_eq!(Severity::of_label(Some("warn")), Severity::Warning);
        assert_eq!(Severity::of_label(Some("whatever")), Severity::Info);
        assert_eq!(Severity::of_label(None), Severity::Info);
        assert!(Severity::Critical > Severity::Error && Severity::Warning > Severity::Info);
        assert_eq!(Severity::parse("warning").ok(), Some(Severity::Warning));
        assert!(Severity::parse("loud").is_err());
    }

    #[test]
    fn quiet_hours_may_cross_midnight() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
        let night = QuietHours::parse("22:00-07:00").expect("parse");
        assert!(night.contains(t(23, 0)) && night.contains(t(3, 0)) && night.contains(t(22, 0)));
        assert!(!night.contains(t(7, 0)) && !night.contains(t(12, 0)));
        let lunch = QuietHours::parse("12:00 - 13:30").expect("parse");
        assert!(lunch.contains(t(12, 59)) && !lunch.contains(t(13, 30)));
        assert_eq!(lunch.to_string(), "12:00-13:30");
        for bad in ["", "22:00", "25:00-07:00", "10:00-10:00", "ten-eleven"] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn notification_settings_are_kept_and_unreadable_ones_are_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = crate::Console::open(
            crate::Paths::under(dir.path()),
            std::sync::Arc::new(crate::secrets::MemorySecrets::default()),
        )
        .await
        .expect("console");
        assert_eq!(console.notify_settings().await, NotifySettings::default());
        let chosen = NotifySettings {
            enabled: false,
            severity: Severity::Critical,
            quiet_hours: Some(QuietHours::parse("22:00-07:00").expect("quiet")),
        };
        console.set_notify_settings(&chosen).await.expect("save");
        assert_eq!(console.notify_settings().await, chosen);
        let from_window: NotifySettings = serde_json::from_str(
            r#"{"enabled":true,"severity":"error","quiet_hours":{"start":"22:30","end":"06:00:00"}}"#,
        )
        .expect("the window's JSON");
        assert_eq!(
            from_window.quiet_hours.map(|q| q.to_string()).as_deref(),
            Some("22:30-06:00")
        );
        console
            .store
            .set_setting(SETTINGS_KEY, "{broken")
            .await
            .expect("break it");
        assert_eq!(console.notify_settings().await, NotifySettings::default());
    }

    #[test]
    fn notices_read_as_people_expect() {
        let group = GroupNotice {
            key: "{alertname=\"Disk\"}".into(),
            title: "Disk".into(),
            severity: Severity::Warning,
            alerts: 3,
            summary: Some("disk 85% full".into()),
            fingerprint: "f".into(),
        };
        let fired = Notice::Fired(group.clone());
        assert_eq!(fired.title(), "Disk firing (warning)");
        assert_eq!(fired.body(), "disk 85% full\n3 alerts");
        assert_eq!(fired.fingerprint(), Some("f"));
        assert_eq!(Notice::Resolved(group).severity(), Severity::Info);
        let summary = Notice::Summary(SummaryNotice {
            reason: SummaryReason::Storm,
            severity: Severity::Critical,
            fired_groups: 7,
            fired_alerts: 37,
            fired_critical: 3,
            resolved_groups: 1,
            resolved_alerts: 1,
            examples: vec!["A".into(), "B".into()],
        });
        assert_eq!(summary.title(), "37 new alerts, 3 critical; 1 resolved");
        assert_eq!(summary.body(), "A\nB\nand 6 more");
        assert_eq!(summary.severity(), Severity::Critical);
        let json = serde_json::to_value(&summary).expect("json");
        assert_eq!(json["kind"], "summary");
        assert_eq!(json["fired_critical"], 3);
    }
}
