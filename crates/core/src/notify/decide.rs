//! What to tell the user, decided from what Alertmanager shows now and what
//! was shown before: pure, no clock and no I/O, so every rule (new group,
//! resolved group, deduplication by fingerprint, storms, quiet hours, the
//! summary on start) is tested without a bus or a server.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

use super::state::{Notified, Shown};
use super::{GroupNotice, Notice, QuietHours, Severity, SummaryNotice, SummaryReason};
use crate::alerts::{AlertGroup, AlertStatus};

/// How many group titles a summary names before "and N more".
const EXAMPLES: usize = 5;

/// An alert group as the watcher follows it: only its firing alerts at or
/// above the chosen severity, merged over receivers by its grouping labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiringGroup {
    /// The grouping labels, written `{a="b",c="d"}`.
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub title: String,
    /// The highest severity among its alerts.
    pub severity: Severity,
    pub fingerprints: BTreeSet<String>,
    /// How many of its alerts are critical.
    pub critical: usize,
    /// The `summary` annotation of its oldest alert that has one.
    pub summary: Option<String>,
    /// Its oldest alert, for the window to open.
    pub first: String,
}

impl FiringGroup {
    fn notice(&self) -> GroupNotice {
        GroupNotice {
            key: self.key.clone(),
            title: self.title.clone(),
            severity: self.severity,
            alerts: self.fingerprints.len(),
            summary: self.summary.clone(),
            fingerprint: self.first.clone(),
        }
    }

    fn shown(&self, at: DateTime<Utc>) -> Shown {
        Shown {
            title: self.title.clone(),
            severity: self.severity,
            fingerprints: self.fingerprints.clone(),
            critical: self.critical,
            first: self.first.clone(),
            shown_at: at,
        }
    }
}

/// The key of a group: its grouping labels in Alertmanager's own notation.
pub fn group_key(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn title(labels: &BTreeMap<String, String>, first_alertname: Option<&str>) -> String {
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let name = labels
        .get("alertname")
        .map(String::as_str)
        .or(first_alertname)
        .unwrap_or("Alerts");
    if rest.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", rest.join(", "))
    }
}

/// The groups with firing alerts at or above `min`, each once however many
/// receivers Alertmanager routes it to; silenced, inhibited and unprocessed
/// alerts page nobody and count for nothing.
pub fn firing_groups(groups: &[AlertGroup], min: Severity) -> Vec<FiringGroup> {
    let mut merged: BTreeMap<String, (BTreeMap<String, String>, Vec<&crate::Alert>)> =
        BTreeMap::new();
    for group in groups {
        let alerts = group.alerts.iter().filter(|a| {
            a.status == AlertStatus::Firing && Severity::of_label(a.label("severity")) >= min
        });
        let entry = merged
            .entry(group_key(&group.labels))
            .or_insert_with(|| (group.labels.clone(), Vec::new()));
        entry.1.extend(alerts);
    }
    merged
        .into_iter()
        .filter_map(|(key, (labels, mut alerts))| {
            alerts
                .sort_by(|a, b| (a.starts_at, &a.fingerprint).cmp(&(b.starts_at, &b.fingerprint)));
            alerts.dedup_by(|a, b| a.fingerprint == b.fingerprint);
            let first = alerts.first()?;
            let severities = alerts
                .iter()
                .map(|a| Severity::of_label(a.label("severity")));
            Some(FiringGroup {
                title: title(&labels, first.label("alertname")),
                severity: severities.clone().max().unwrap_or(Severity::Info),
                critical: severities.filter(|s| *s == Severity::Critical).count(),
                fingerprints: alerts.iter().map(|a| a.fingerprint.clone()).collect(),
                summary: alerts
                    .iter()
                    .find_map(|a| a.annotation("summary"))
                    .map(str::to_string),
                first: first.fingerprint.clone(),
                key,
                labels,
            })
        })
        .collect()
}

/// How loud the watcher may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// At most this many notifications of single groups within `window`;
    /// more at once make one summary.
    pub burst: usize,
    pub window: TimeDelta,
    /// The longest a storm that keeps growing is held before its summary.
    pub max_hold: TimeDelta,
    pub quiet: Option<QuietHours>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            burst: 5,
            window: TimeDelta::seconds(60),
            max_hold: TimeDelta::seconds(30),
            quiet: None,
        }
    }
}

/// Changes seen but not told yet: a batch that may still grow, or what
/// happened during quiet hours.
#[derive(Debug)]
struct Pending {
    reason: SummaryReason,
    opened: DateTime<Utc>,
    fired: BTreeMap<String, FiringGroup>,
    resolved: BTreeMap<String, Shown>,
}

impl Pending {
    fn new(reason: SummaryReason, opened: DateTime<Utc>) -> Self {
        Self {
            reason,
            opened,
            fired: BTreeMap::new(),
            resolved: BTreeMap::new(),
        }
    }

    fn len(&self) -> usize {
        self.fired.len() + self.resolved.len()
    }
}

/// What one look at Alertmanager decided.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// To tell the user now, in order.
    pub notices: Vec<Notice>,
    /// What was shown changed: the state is to be saved.
    pub changed: bool,
    /// Changes are held until Alertmanager stops adding to them: look again
    /// soon rather than after the full interval.
    pub settling: bool,
}

/// Decides, look after look, what the user is told.
#[derive(Debug)]
pub struct Decider {
    rules: Rules,
    notified: Notified,
    pending: Option<Pending>,
    /// When each recent single-group notification was shown.
    recent: VecDeque<DateTime<Utc>>,
    first: bool,
}

impl Decider {
    /// Starts from what was shown before (empty on a first run): the first
    /// look summarises what changed since.
    pub fn new(rules: Rules, notified: Notified) -> Self {
        Self {
            rules,
            notified,
            pending: None,
            recent: VecDeque::new(),
            first: true,
        }
    }

    /// What was told and still fires: what the state file keeps.
    pub fn notified(&self) -> &Notified {
        &self.notified
    }

    /// One look: `current` is what fires now (from [`firing_groups`]),
    /// `now` the time and `local` the local time of day (for quiet hours).
    pub fn step(
        &mut self,
        now: DateTime<Utc>,
        local: NaiveTime,
        current: Vec<FiringGroup>,
    ) -> Step {
        let mut step = Step::default();
        let current: BTreeMap<String, FiringGroup> =
            current.into_iter().map(|g| (g.key.clone(), g)).collect();
        let firing: HashSet<&str> = current
            .values()
            .flat_map(|g| g.fingerprints.iter().map(String::as_str))
            .collect();

        // A resolve that was held but fires again never stopped, as far as
        // the user was told.
        if let Some(pending) = &mut self.pending {
            let back: Vec<String> = pending
                .resolved
                .keys()
                .filter(|k| current.contains_key(*k))
                .cloned()
                .collect();
            for key in back {
                if let Some(shown) = pending.resolved.remove(&key) {
                    self.notified.groups.insert(key, shown);
                    step.changed = true;
                }
            }
            // Fired and gone before it was told: nothing to tell.
            pending.fired.retain(|k, _| current.contains_key(k));
        }

        let shown_fingerprints: HashSet<String> = self
            .notified
            .groups
            .values()
            .flat_map(|s| s.fingerprints.iter().cloned())
            .collect();

        let mut resolved = Vec::new();
        let gone: Vec<String> = self
            .notified
            .groups
            .keys()
            .filter(|k| !current.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            let Some(shown) = self.notified.groups.remove(&key) else {
                continue;
            };
            step.changed = true;
            // Its alerts fire on under other grouping labels (Alertmanager's
            // routes changed): moved, not resolved.
            if shown
                .fingerprints
                .iter()
                .any(|f| firing.contains(f.as_str()))
            {
                continue;
            }
            resolved.push((key, shown));
        }

        let mut fired = Vec::new();
        for (key, group) in current {
            if let Some(shown) = self.notified.groups.get_mut(&key) {
                // New alerts in a group already told about are not news.
                if shown.fingerprints != group.fingerprints {
                    shown.fingerprints = group.fingerprints.clone();
                    shown.critical = group.critical;
                    shown.severity = group.severity;
                    step.changed = true;
                }
                continue;
            }
            if let Some(pending) = &mut self.pending {
                if let Some(held) = pending.fired.get_mut(&key) {
                    *held = group;
                    continue;
                }
            }
            if group
                .fingerprints
                .iter()
                .all(|f| shown_fingerprints.contains(f))
            {
                // Every alert of it was told under another group.
                self.notified.groups.insert(key, group.shown(now));
                step.changed = true;
                continue;
            }
            fired.push(group);
        }

        let news = !fired.is_empty() || !resolved.is_empty();
        let quiet = self.rules.quiet.is_some_and(|q| q.contains(local));
        let first = std::mem::take(&mut self.first);
        if first || quiet || news || self.pending.is_some() {
            let reason = if quiet {
                SummaryReason::QuietHours
            } else if first {
                SummaryReason::WhileAway
            } else {
                SummaryReason::Storm
            };
            let pending = self
                .pending
                .get_or_insert_with(|| Pending::new(reason, now));
            if quiet {
                pending.reason = SummaryReason::QuietHours;
            }
            for group in fired {
                pending.fired.insert(group.key.clone(), group);
            }
            for (key, shown) in resolved {
                pending.resolved.insert(key, shown);
            }
        }

        let Some(pending) = &self.pending else {
            return step;
        };
        if quiet {
            return step;
        }
        let held_too_long = now - pending.opened >= self.rules.max_hold;
        let flush = first || pending.reason == SummaryReason::QuietHours || !news || held_too_long;
        if !flush {
            step.settling = true;
            return step;
        }
        if let Some(pending) = self.pending.take() {
            self.tell(now, pending, &mut step);
        }
        step
    }

    fn tell(&mut self, now: DateTime<Utc>, pending: Pending, step: &mut Step) {
        while self
            .recent
            .front()
            .is_some_and(|t| now - *t >= self.rules.window)
        {
            self.recent.pop_front();
        }
        let room = self.rules.burst.saturating_sub(self.recent.len());
        // More than one change on start or after quiet hours is told as one
        // summary of that time; otherwise a batch too big for the room left
        // is a storm.
        let single = match pending.reason {
            SummaryReason::Storm => pending.len() <= room,
            SummaryReason::WhileAway | SummaryReason::QuietHours => pending.len() <= 1,
        };
        if pending.len() == 0 {
            return;
        }
        step.changed = true;
        if single {
            for (key, group) in pending.fired {
                step.notices.push(Notice::Fired(group.notice()));
                self.notified.groups.insert(key, group.shown(now));
                self.recent.push_back(now);
            }
            for (key, shown) in pending.resolved {
                step.notices.push(Notice::Resolved(shown.notice(&key)));
                self.recent.push_back(now);
            }
            return;
        }
        let mut summary = SummaryNotice {
            reason: pending.reason,
            severity: Severity::Info,
            fired_groups: pending.fired.len(),
            fired_alerts: 0,
            fired_critical: 0,
            resolved_groups: pending.resolved.len(),
            resolved_alerts: 0,
            examples: Vec::new(),
        };
        let mut fired: Vec<&FiringGroup> = pending.fired.values().collect();
        // The loudest first, so the examples name what matters.
        fired.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.key.cmp(&b.key)));
        for group in &fired {
            summary.fired_alerts += group.fingerprints.len();
            summary.fired_critical += group.critical;
            summary.severity = summary.severity.max(group.severity);
        }
        summary.examples = fired
            .iter()
            .map(|g| g.title.clone())
            .chain(pending.resolved.values().map(|s| s.title.clone()))
            .take(EXAMPLES)
            .collect();
        summary.resolved_alerts = pending
            .resolved
            .values()
            .map(|s| s.fingerprints.len())
            .sum();
        for (key, group) in pending.fired {
            self.notified.groups.insert(key, group.shown(now));
        }
        self.recent.push_back(now);
        step.notices.push(Notice::Summary(summary));
    }
}

/// For the tests of this module and of the watcher.
#[cfg(test)]
pub(crate) fn group(name: &str, severity: Severity, fingerprints: &[&str]) -> FiringGroup {
    let labels: BTreeMap<String, String> = [("alertname".to_string(), name.to_string())].into();
    FiringGroup {
        key: group_key(&labels),
        title: name.to_string(),
        labels,
        severity,
        critical: if severity == Severity::Critical {
            fingerprints.len()
        } else {
            0
        },
        fingerprints: fingerprints.iter().map(|f| f.to_string()).collect(),
        summary: Some(format!("{name} is bad")),
        first: fingerprints
            .first()
            .map(|f| f.to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn noon() -> NaiveTime {
        NaiveTime::from_hms_opt(12, 0, 0).expect("noon")
    }

    /// A decider past its first look (nothing was firing then).
    fn watching(rules: Rules) -> Decider {
        let mut d = Decider::new(rules, Notified::default());
        let step = d.step(at(0), noon(), vec![]);
        assert!(step.notices.is_empty());
        d
    }

    fn kinds(step: &Step) -> Vec<String> {
        step.notices
            .iter()
            .map(|n| match n {
                Notice::Fired(g) => format!("fired {}", g.title),
                Notice::Resolved(g) => format!("resolved {}", g.title),
                Notice::Summary(s) => format!(
                    "summary {:?} {}+{}",
                    s.reason, s.fired_alerts, s.resolved_alerts
                ),
                Notice::Escalated(e) => format!("escalated {}", e.incident),
            })
            .collect()
    }

    /// Looks twice: once to see the change, once to see it settled.
    fn settle(d: &mut Decider, t: i64, current: Vec<FiringGroup>) -> Step {
        let first = d.step(at(t), noon(), current.clone());
        assert!(first.notices.is_empty(), "told before settling: {first:?}");
        assert!(first.settling);
        d.step(at(t + 1), noon(), current)
    }

    #[test]
    fn a_new_group_is_told_once_and_its_resolve_once() {
        let mut d = watching(Rules::default());
        let high = group("HighErrorRate", Severity::Critical, &["f1", "f2"]);
        let step = settle(&mut d, 10, vec![high.clone()]);
        assert_eq!(kinds(&step), ["fired HighErrorRate"]);
        assert!(step.changed);
        let Notice::Fired(told) = &step.notices[0] else {
            panic!("not fired")
        };
        assert_eq!((told.alerts, told.severity), (2, Severity::Critical));
        for t in 12..20 {
            let again = d.step(at(t), noon(), vec![high.clone()]);
            assert_eq!(again, Step::default(), "told twice at {t}");
        }
        let gone = settle(&mut d, 30, vec![]);
        assert_eq!(kinds(&gone), ["resolved HighErrorRate"]);
        assert!(d.notified().groups.is_empty());
        assert_eq!(d.step(at(40), noon(), vec![]), Step::default());
    }

    #[test]
    fn new_alerts_joining_a_told_group_are_not_news() {
        let mut d = watching(Rules::default());
        settle(&mut d, 10, vec![group("Disk", Severity::Warning, &["a"])]);
        let grown = d.step(
            at(20),
            noon(),
            vec![group("Disk", Severity::Warning, &["a", "b"])],
        );
        assert!(grown.notices.is_empty());
        assert!(grown.changed, "the new fingerprint is kept");
        let shown = d.notified().groups.values().next().expect("shown");
        assert_eq!(shown.fingerprints.len(), 2);
    }

    #[test]
    fn a_group_whose_alerts_were_all_told_under_another_key_is_not_told_again() {
        let mut d = watching(Rules::default());
        settle(
            &mut d,
            10,
            vec![group("Disk", Severity::Warning, &["a", "b"])],
        );
        // Alertmanager's routes changed: the same alerts, grouped by more labels.
        let mut moved = group("Disk", Severity::Warning, &["a", "b"]);
        moved.labels.insert("job".into(), "api".into());
        moved.key = group_key(&moved.labels);
        let step = d.step(at(20), noon(), vec![moved.clone()]);
        assert!(step.notices.is_empty(), "{step:?}");
        assert!(!step.settling);
        assert!(d.notified().groups.contains_key(&moved.key));
        assert_eq!(d.notified().groups.len(), 1);
    }

    #[test]
    fn a_storm_is_told_as_one_summary_with_the_critical_count() {
        let mut d = watching(Rules::default());
        let mut storm: Vec<FiringGroup> = (0..37)
            .map(|i| {
                let severity = if i < 3 {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                group(&format!("Storm{i:02}"), severity, &[&format!("s{i}")])
            })
            .collect();
        // Alertmanager may still be taking the storm in at the first look.
        let partial = d.step(at(10), noon(), storm[..20].to_vec());
        assert!(partial.notices.is_empty() && partial.settling);
        storm.sort_by(|a, b| a.key.cmp(&b.key));
        let more = d.step(at(11), noon(), storm.clone());
        assert!(more.notices.is_empty() && more.settling);
        let told = d.step(at(12), noon(), storm.clone());
        assert_eq!(told.notices.len(), 1, "{told:?}");
        let Notice::Summary(s) = &told.notices[0] else {
            panic!("not a summary: {told:?}")
        };
        assert_eq!(
            (s.fired_alerts, s.fired_critical, s.fired_groups),
            (37, 3, 37)
        );
        assert_eq!(s.reason, SummaryReason::Storm);
        assert_eq!(s.severity, Severity::Critical);
        assert_eq!(s.examples.len(), EXAMPLES);
        assert!(
            s.examples[0].starts_with("Storm0"),
            "loudest first: {:?}",
            s.examples
        );
        assert_eq!(
            Notice::Summary(s.clone()).title(),
            "37 new alerts, 3 critical"
        );
        assert_eq!(d.step(at(20), noon(), storm.clone()), Step::default());

        let gone = settle(&mut d, 30, vec![]);
        assert_eq!(kinds(&gone), ["summary Storm 0+37"]);
    }

    #[test]
    fn a_storm_that_keeps_growing_is_told_after_the_longest_hold() {
        let mut d = watching(Rules::default());
        let mut current = Vec::new();
        let mut told = Vec::new();
        for t in 0..40 {
            current.push(group(
                &format!("G{t:02}"),
                Severity::Warning,
                &[&format!("g{t}")],
            ));
            told.extend(d.step(at(10 + t), noon(), current.clone()).notices);
        }
        assert_eq!(told.len(), 1, "{told:?}");
    }

    #[test]
    fn many_single_groups_in_a_minute_turn_into_a_summary() {
        let mut d = watching(Rules::default());
        let mut current = Vec::new();
        let mut notices = Vec::new();
        for i in 0..8 {
            current.push(group(
                &format!("G{i}"),
                Severity::Warning,
                &[&format!("g{i}")],
            ));
            notices.extend(settle(&mut d, 10 + i * 3, current.clone()).notices);
        }
        let singles = notices
            .iter()
            .filter(|n| matches!(n, Notice::Fired(_)))
            .count();
        let summaries = notices
            .iter()
            .filter(|n| matches!(n, Notice::Summary(_)))
            .count();
        assert_eq!((singles, summaries), (5, 3), "{notices:?}");
    }

    #[test]
    fn what_changed_while_away_is_summarised_once_on_start() {
        let mut before = watching(Rules::default());
        settle(
            &mut before,
            10,
            vec![group("Old", Severity::Critical, &["o"])],
        );
        let saved = before.notified().clone();

        let now = vec![
            group("New1", Severity::Warning, &["n1"]),
            group("New2", Severity::Critical, &["n2"]),
        ];
        let mut after = Decider::new(Rules::default(), saved);
        let step = after.step(at(100), noon(), now.clone());
        assert_eq!(kinds(&step), ["summary WhileAway 2+1"]);
        let Notice::Summary(s) = &step.notices[0] else {
            panic!("not a summary")
        };
        assert!(Notice::Summary(s.clone()).title().contains("not watching"));
        assert_eq!(after.step(at(110), noon(), now), Step::default());
    }

    #[test]
    fn a_restart_with_nothing_new_tells_nothing_and_one_change_is_told_as_itself() {
        let mut before = watching(Rules::default());
        let disk = group("Disk", Severity::Warning, &["d"]);
        settle(&mut before, 10, vec![disk.clone()]);
        let saved = before.notified().clone();

        let mut same = Decider::new(Rules::default(), saved.clone());
        assert_eq!(
            same.step(at(50), noon(), vec![disk.clone()]),
            Step::default()
        );

        let mut one = Decider::new(Rules::default(), saved);
        let step = one.step(at(50), noon(), vec![]);
        assert_eq!(kinds(&step), ["resolved Disk"]);
    }

    #[test]
    fn quiet_hours_hold_everything_and_tell_one_summary_when_they_end() {
        let quiet = QuietHours::parse("22:00-07:00").expect("quiet hours");
        let mut d = watching(Rules {
            quiet: Some(quiet),
            ..Rules::default()
        });
        let night = NaiveTime::from_hms_opt(23, 30, 0).expect("t");
        let early = NaiveTime::from_hms_opt(6, 59, 0).expect("t");
        let morning = NaiveTime::from_hms_opt(7, 0, 0).expect("t");
        let a = group("A", Severity::Critical, &["a"]);
        let b = group("B", Severity::Warning, &["b"]);
        let c = group("C", Severity::Warning, &["c"]);
        assert!(d.step(at(10), night, vec![a.clone()]).notices.is_empty());
        assert!(d
            .step(at(20), early, vec![a.clone(), b.clone(), c.clone()])
            .notices
            .is_empty());
        // C came and went in the night: nothing to say about it.
        let step = d.step(at(30), morning, vec![a.clone(), b.clone()]);
        assert_eq!(kinds(&step), ["summary QuietHours 2+0"]);
        assert!(Notice::Summary(match &step.notices[0] {
            Notice::Summary(s) => s.clone(),
            _ => panic!("summary"),
        })
        .title()
        .starts_with("During quiet hours"));
    }

    #[test]
    fn only_firing_alerts_at_or_above_the_severity_make_groups() {
        use crate::alerts::{Alert, AlertState};
        let alert =
            |fp: &str, name: &str, severity: &str, state: AlertState, silenced: bool| Alert {
                fingerprint: fp.into(),
                labels: [("alertname", name), ("severity", severity)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                annotations: [("summary".to_string(), format!("{fp} summary"))].into(),
                state,
                status: AlertStatus::of(
                    state,
                    &if silenced {
                        vec!["s".to_string()]
                    } else {
                        vec![]
                    },
                ),
                silenced_by: vec![],
                inhibited_by: vec![],
                receivers: vec![],
                starts_at: at(0),
                ends_at: at(100),
                updated_at: at(0),
                generator_url: None,
                acknowledged: None,
            };
        let labels = |name: &str| -> BTreeMap<String, String> {
            [("alertname".to_string(), name.to_string())].into()
        };
        let groups = vec![
            AlertGroup {
                labels: labels("Api"),
                receiver: "team".into(),
                alerts: vec![
                    alert("a1", "Api", "critical", AlertState::Active, false),
                    alert("a2", "Api", "info", AlertState::Active, false),
                ],
            },
            // The same group routed to a second receiver.
            AlertGroup {
                labels: labels("Api"),
                receiver: "pager".into(),
                alerts: vec![alert("a1", "Api", "critical", AlertState::Active, false)],
            },
            AlertGroup {
                labels: labels("Muted"),
                receiver: "team".into(),
                alerts: vec![alert(
                    "m1",
                    "Muted",
                    "critical",
                    AlertState::Suppressed,
                    true,
                )],
            },
            AlertGroup {
                labels: labels("Low"),
                receiver: "team".into(),
                alerts: vec![alert("l1", "Low", "info", AlertState::Active, false)],
            },
        ];
        let firing = firing_groups(&groups, Severity::Warning);
        assert_eq!(firing.len(), 1, "{firing:?}");
        let api = &firing[0];
        assert_eq!(api.title, "Api");
        assert_eq!(api.key, "{alertname=\"Api\"}");
        assert_eq!(api.fingerprints.len(), 1);
        assert_eq!((api.severity, api.critical), (Severity::Critical, 1));
        assert_eq!(api.summary.as_deref(), Some("a1 summary"));
        assert_eq!(firing_groups(&groups, Severity::Info).len(), 2);
    }
}
