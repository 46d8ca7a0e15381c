//! Incidents of a profile's server: open, list, read, acknowledge,
//! mitigate, resolve, note, link an alert (looked up in the profile's
//! Alertmanagers first), and the Markdown export for the post-incident
//! review. What the server says is cleaned of terminal control before
//! anyone sees it.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::{
    AddNote, CreateIncident, Incident, IncidentDetail, IncidentPage, IncidentStatus, LinkAlert,
    Severity, TargetKind, TargetState,
};
use serde::Serialize;

use crate::alerts::AlertFilter;
use crate::client::MAX_PAGE_BYTES;
use crate::error::{Error, Result};
use crate::playbooks::recovery::Recovery;
use crate::review::{Chart, Charts};
use crate::sanitize;
use crate::session::Session;
use opsdeck_api::playbooks::PlaybookRun;

impl Session {
    /// The incidents of this session's server.
    pub fn incidents(&self) -> Incidents<'_> {
        Incidents { session: self }
    }
}

/// The incidents of a session's server.
pub struct Incidents<'s> {
    session: &'s Session,
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The incident's text cleaned of terminal control.
pub fn clean_incident(mut incident: Incident) -> Incident {
    for text in [
        &mut incident.id,
        &mut incident.title,
        &mut incident.commander,
        &mut incident.opened_by,
    ] {
        *text = sanitize::remote(text);
    }
    incident
}

/// Every text of the detail cleaned of terminal control.
pub fn clean(mut detail: IncidentDetail) -> IncidentDetail {
    detail.incident = clean_incident(detail.incident);
    for event in &mut detail.timeline {
        event.actor = sanitize::remote(&event.actor);
        event.kind = sanitize::remote(&event.kind);
        event.text = sanitize::remote(&event.text);
    }
    for alert in &mut detail.alerts {
        alert.fingerprint = sanitize::remote(&alert.fingerprint);
        alert.alertname = sanitize::remote(&alert.alertname);
        alert.linked_by = sanitize::remote(&alert.linked_by);
        alert.labels = alert
            .labels
            .iter()
            .map(|(k, v)| (sanitize::remote(k), sanitize::remote(v)))
            .collect();
    }
    for run in &mut detail.runs {
        run.id = sanitize::remote(&run.id);
        run.playbook = sanitize::remote(&run.playbook);
        run.title = sanitize::remote(&run.title);
    }
    for escalation in &mut detail.escalations {
        escalation.to = sanitize::remote(&escalation.to);
    }
    detail
}

impl Incidents<'_> {
    async fn post_detail(
        &self,
        segments: &[&str],
        body: Option<&impl Serialize>,
    ) -> Result<IncidentDetail> {
        self.session.profile().writable()?;
        let key = key();
        let detail: IncidentDetail = self
            .session
            .admin()
            .call(
                reqwest::Method::POST,
                segments,
                None::<&()>,
                body,
                Some(&key),
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(detail))
    }

    /// Opens an incident; its commander is the caller unless named.
    pub async fn open(
        &self,
        title: &str,
        severity: Severity,
        commander: Option<&str>,
    ) -> Result<IncidentDetail> {
        let body = CreateIncident {
            title: title.to_string(),
            severity,
            commander: commander.map(str::to_string),
        };
        self.post_detail(&["v1", "incidents"], Some(&body)).await
    }

    /// One page, newest first.
    pub async fn list(
        &self,
        status: Option<IncidentStatus>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<IncidentPage> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<IncidentStatus>,
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<String>,
        }
        let mut page: IncidentPage = self
            .session
            .admin()
            .call(
                reqwest::Method::GET,
                &["v1", "incidents"],
                Some(&Query {
                    status,
                    limit,
                    cursor,
                }),
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        page.items = page.items.into_iter().map(clean_incident).collect();
        Ok(page)
    }

    /// One incident with its timeline, targets, alerts and escalations.
    pub async fn get(&self, id: &str) -> Result<IncidentDetail> {
        let detail: IncidentDetail = self
            .session
            .admin()
            .call(
                reqwest::Method::GET,
                &["v1", "incidents", id],
                None::<&()>,
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(detail))
    }

    pub async fn acknowledge(&self, id: &str) -> Result<IncidentDetail> {
        self.post_detail(&["v1", "incidents", id, "acknowledge"], None::<&()>)
            .await
    }

    pub async fn mitigate(&self, id: &str) -> Result<IncidentDetail> {
        self.post_detail(&["v1", "incidents", id, "mitigate"], None::<&()>)
            .await
    }

    pub async fn resolve(&self, id: &str) -> Result<IncidentDetail> {
        self.post_detail(&["v1", "incidents", id, "resolve"], None::<&()>)
            .await
    }

    /// Adds a note to the timeline.
    pub async fn note(&self, id: &str, text: &str) -> Result<IncidentDetail> {
        let body = AddNote {
            text: text.to_string(),
        };
        self.post_detail(&["v1", "incidents", id, "notes"], Some(&body))
            .await
    }

    /// Links the alert of this fingerprint, as the profile's Alertmanagers
    /// show it now (its name, labels and start go with it).
    pub async fn link_alert(&self, id: &str, fingerprint: &str) -> Result<IncidentDetail> {
        let wanted = fingerprint.trim().to_lowercase();
        let alerts = self.session.alerts()?.list(&AlertFilter::default()).await?;
        let alert = alerts
            .items
            .into_iter()
            .find(|a| a.fingerprint.to_lowercase() == wanted)
            .ok_or_else(|| {
                Error::invalid(
                    "fingerprint",
                    format!(
                        "no alert `{fingerprint}` in the Alertmanagers of profile `{}`",
                        self.session.profile().name
                    ),
                )
            })?;
        let body = LinkAlert {
            fingerprint: alert.fingerprint.clone(),
            alertname: alert.label("alertname").unwrap_or("(unnamed)").to_string(),
            labels: alert.labels.clone(),
            starts_at: alert.starts_at,
        };
        self.post_detail(&["v1", "incidents", id, "alerts"], Some(&body))
            .await
    }

    /// The post-incident review as Markdown.
    pub async fn export_markdown(&self, id: &str) -> Result<String> {
        Ok(self.review(id, "review").await?.markdown)
    }

    /// Writes the post-incident review into `dir` as
    /// `incident-<id>-<time>.md`, its charts beside it
    /// (`incident-<id>-<time>-<n>.png`); the Markdown file's path.
    pub async fn export_markdown_into(
        &self,
        id: &str,
        dir: &std::path::Path,
    ) -> Result<std::path::PathBuf> {
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(60)
            .collect();
        let stem = format!(
            "incident-{safe}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        );
        let review = self.review(id, &stem).await?;
        let io = |path: &std::path::Path, source| crate::error::Error::Io {
            path: path.to_path_buf(),
            source,
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io(dir, e))?;
        for chart in &review.charts {
            let path = dir.join(&chart.file);
            tokio::fs::write(&path, &chart.png)
                .await
                .map_err(|e| io(&path, e))?;
        }
        let path = dir.join(format!("{stem}.md"));
        tokio::fs::write(&path, &review.markdown)
            .await
            .map_err(|e| io(&path, e))?;
        Ok(path)
    }

    /// The post-incident review: its Markdown, which links the charts of
    /// the linked alerts as `<stem>-<n>.png`, and those charts, for the
    /// caller to write next to it.
    pub async fn review(&self, id: &str, stem: &str) -> Result<Review> {
        let detail = self.get(id).await?;
        let charts = crate::review::charts(self.session, &detail, stem).await?;
        let mut md = markdown_with(&detail, Some(&charts));
        let runs = self.session.playbook_runs();
        let mut measured = Vec::new();
        for summary in runs.of_incident(id).await? {
            let run = runs.get(&summary.id).await?;
            if let Some(recovery) = crate::playbooks::recovery::recovery(&run) {
                measured.push((run, recovery));
            }
        }
        md.push_str(&recovery_markdown(&measured));
        Ok(Review {
            detail,
            markdown: md,
            charts: charts.drawn,
        })
    }
}

/// A post-incident review, ready to write.
#[derive(Debug, Clone)]
pub struct Review {
    pub detail: IncidentDetail,
    pub markdown: String,
    pub charts: Vec<Chart>,
}

/// The RTO and RPO the incident's runs achieved (a disaster-recovery
/// exercise's failover and restore) against their targets; empty when no
/// run measured any.
pub fn recovery_markdown(runs: &[(PlaybookRun, Recovery)]) -> String {
    let mut md = String::new();
    if runs.is_empty() {
        return md;
    }
    let _ = writeln!(md, "\n## Recovery time and point against the targets\n");
    let _ = writeln!(
        md,
        "| Run | Measure | Achieved | Target | | Measured as |\n|---|---|---|---|---|---|"
    );
    for (run, recovery) in runs {
        let measures = [("RTO", &recovery.rto), ("RPO", &recovery.rpo)];
        for (name, measure) in measures {
            let Some(m) = measure else { continue };
            let _ = writeln!(
                md,
                "| {} ({}) | {name} | {:.1} s | {} | {} | {} |",
                cell(&run.summary.title),
                cell(&run.summary.id),
                m.seconds,
                human_span(i64::try_from(m.target_seconds).unwrap_or(i64::MAX)),
                if m.met { "met" } else { "missed" },
                cell(&format!("{}, step {}", m.basis, m.step))
            );
        }
    }
    md
}

/// `5m`, `1h 30m`, `2d 4h`.
pub fn human_span(seconds: i64) -> String {
    let mut left = seconds.max(0);
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(" ")
    }
}

/// Target states in words.
pub fn target_word(state: TargetState) -> &'static str {
    state.as_str()
}

fn span_between(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> String {
    match to {
        Some(to) => human_span((to - from).num_seconds()),
        None => "not yet".to_string(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Markdown cells hold no pipes or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The durations of the review: from the first linked alert (detect) and
/// from the incident's start to each status it reached.
pub struct Durations {
    pub detect: Option<i64>,
    pub acknowledge: Option<i64>,
    pub mitigate: Option<i64>,
    pub resolve: Option<i64>,
}

pub fn durations(detail: &IncidentDetail) -> Durations {
    let incident = &detail.incident;
    let reached = |kind: TargetKind| {
        detail
            .targets
            .iter()
            .find(|t| t.kind == kind)
            .and_then(|t| t.reached_at)
            .map(|at| (at - incident.started_at).num_seconds())
    };
    let first_alert = detail.alerts.iter().map(|a| a.starts_at).min();
    Durations {
        detect: first_alert.map(|at| (incident.started_at - at).num_seconds()),
        acknowledge: reached(TargetKind::Acknowledge),
        mitigate: reached(TargetKind::Mitigate),
        resolve: reached(TargetKind::Resolve),
    }
}

/// The post-incident review: summary, durations, targets, timeline, the
/// actions taken and their results, linked alerts. Charts of the alerts'
/// metrics are not rendered yet; a heading says so.
pub fn markdown(detail: &IncidentDetail) -> String {
    markdown_with(detail, None)
}

/// The review with the charts drawn for it ([`crate::review::charts`]).
pub fn markdown_with(detail: &IncidentDetail, charts: Option<&Charts>) -> String {
    let incident = &detail.incident;
    let mut md = String::new();
    let _ = writeln!(md, "# {} incident: {}\n", incident.severity, incident.title);
    let _ = writeln!(md, "## Summary\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let rows = [
        ("Id", incident.id.clone()),
        ("Severity", incident.severity.to_string()),
        ("Status", incident.status.to_string()),
        ("Commander", incident.commander.clone()),
        ("Opened by", incident.opened_by.clone()),
        ("Started", time(incident.started_at)),
        (
            "Acknowledged",
            incident
                .acknowledged_at
                .map(time)
                .unwrap_or_else(|| "—".into()),
        ),
        (
            "Mitigated",
            incident
                .mitigated_at
                .map(time)
                .unwrap_or_else(|| "—".into()),
        ),
        (
            "Resolved",
            incident.resolved_at.map(time).unwrap_or_else(|| "—".into()),
        ),
        ("Escalations", detail.escalations.len().to_string()),
    ];
    for (name, value) in rows {
        let _ = writeln!(md, "| {name} | {} |", cell(&value));
    }
    let d = durations(detail);
    let shown = |s: Option<i64>| s.map(human_span).unwrap_or_else(|| "not yet".into());
    let _ = writeln!(
        md,
        "\n## Time to detect, acknowledge, mitigate and resolve\n"
    );
    let _ = writeln!(md, "| Measure | Time |\n|---|---|");
    let _ = writeln!(
        md,
        "| Time to detect | {} |",
        d.detect
            .map(human_span)
            .unwrap_or_else(|| "unknown (no linked alert)".into())
    );
    let _ = writeln!(md, "| Time to acknowledge | {} |", shown(d.acknowledge));
    let _ = writeln!(md, "| Time to mitigate | {} |", shown(d.mitigate));
    let _ = writeln!(md, "| Time to resolve | {} |", shown(d.resolve));
    let _ = writeln!(md, "\n## Targets\n");
    let _ = writeln!(
        md,
        "| Target | Within | Due | Reached | State |\n|---|---|---|---|---|"
    );
    for t in &detail.targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            t.kind.as_str(),
            human_span(i64::try_from(t.seconds).unwrap_or(i64::MAX)),
            time(t.due_at),
            t.reached_at
                .map(|at| format!(
                    "{} (after {})",
                    time(at),
                    span_between(incident.started_at, Some(at))
                ))
                .unwrap_or_else(|| "—".into()),
            target_word(t.state)
        );
    }
    let _ = writeln!(md, "\n## Timeline\n");
    let _ = writeln!(md, "| # | Time | Who | What | |\n|---|---|---|---|---|");
    for e in &detail.timeline {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            e.seq,
            time(e.at),
            cell(&e.actor),
            cell(&e.kind),
            cell(&e.text)
        );
    }
    let _ = writeln!(md, "\n## Actions and their results\n");
    let actions: Vec<_> = detail
        .timeline
        .iter()
        .filter(|e| !matches!(e.kind.as_str(), "opened" | "note"))
        .collect();
    if actions.is_empty() {
        let _ = writeln!(md, "No actions were recorded.");
    }
    for e in actions {
        let result = e
            .detail
            .as_ref()
            .and_then(|d| d.get("result").or_else(|| d.get("state")))
            .map(|r| match r {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        let _ = match result {
            Some(result) => writeln!(
                md,
                "- {} — {}: {} — result: {}",
                time(e.at),
                cell(&e.actor),
                cell(&e.text),
                cell(&result)
            ),
            None => writeln!(
                md,
                "- {} — {}: {}",
                time(e.at),
                cell(&e.actor),
                cell(&e.text)
            ),
        };
    }
    let _ = writeln!(md, "\n## Linked alerts\n");
    if detail.alerts.is_empty() {
        let _ = writeln!(md, "No alerts were linked.");
    } else {
        let _ = writeln!(
            md,
            "| Alert | Fingerprint | Firing since | Labels |\n|---|---|---|---|"
        );
        for a in &detail.alerts {
            let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&a.alertname),
                cell(&a.fingerprint),
                time(a.starts_at),
                cell(&labels.join(", "))
            );
        }
    }
    md.push_str(&charts_markdown(charts));
    md
}

/// The charts section: each drawn chart linked, each missing one said.
fn charts_markdown(charts: Option<&Charts>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "\n## Charts of the linked alerts' metrics\n");
    let Some(charts) = charts else {
        let _ = writeln!(
            md,
            "None were rendered: this export does not draw the alerts' metrics yet."
        );
        return md;
    };
    if charts.drawn.is_empty() && charts.missing.is_empty() {
        let _ = writeln!(md, "No alerts were linked, so there is nothing to chart.");
    }
    for chart in &charts.drawn {
        let _ = writeln!(
            md,
            "### {}\n\n`{}` over the incident window.\n\n![{}]({})\n",
            cell(&chart.alertname),
            chart.query.replace('`', "'"),
            cell(&chart.alertname),
            chart.file
        );
    }
    for missing in &charts.missing {
        let _ = writeln!(
            md,
            "### {}\n\n`{}` could not be drawn: {}\n",
            cell(&missing.alertname),
            missing.query.replace('`', "'"),
            cell(&missing.reason)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use opsdeck_api::incidents::{Escalation, IncidentTarget, LinkedAlert, TimelineEvent};

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minute)
    }

    fn detail() -> IncidentDetail {
        let event = |seq: i64, minute, kind: &str, text: &str, detail| TimelineEvent {
            seq,
            at: at(minute),
            actor: "ann@example.test".into(),
            kind: kind.into(),
            text: text.into(),
            detail,
        };
        IncidentDetail {
            incident: Incident {
                id: "inc-1".into(),
                title: "Checkout | errors".into(),
                severity: Severity::P1,
                commander: "ann@example.test".into(),
                status: IncidentStatus::Resolved,
                opened_by: "ann@example.test".into(),
                started_at: at(0),
                acknowledged_at: Some(at(3)),
                mitigated_at: Some(at(20)),
                resolved_at: Some(at(95)),
            },
            timeline: vec![
                event(1, 0, "opened", "P1 incident opened", None),
                event(2, 3, "acknowledged", "Acknowledged by ann", None),
                event(
                    3,
                    10,
                    "step_finished",
                    "Failover of main-db",
                    Some(serde_json::json!({"result": "succeeded"})),
                ),
                event(4, 12, "note", "rolled back", None),
            ],
            targets: vec![
                IncidentTarget {
                    kind: TargetKind::Acknowledge,
                    seconds: 300,
                    due_at: at(5),
                    reached_at: Some(at(3)),
                    state: TargetState::Met,
                },
                IncidentTarget {
                    kind: TargetKind::Mitigate,
                    seconds: 1800,
                    due_at: at(30),
                    reached_at: Some(at(20)),
                    state: TargetState::Met,
                },
                IncidentTarget {
                    kind: TargetKind::Resolve,
                    seconds: 3600,
                    due_at: at(60),
                    reached_at: Some(at(95)),
                    state: TargetState::Breached,
                },
            ],
            alerts: vec![LinkedAlert {
                fingerprint: "abc".into(),
                alertname: "HighErrorRate".into(),
                labels: BTreeMap::from([("service".to_string(), "checkout".to_string())]),
                starts_at: at(-4),
                linked_at: at(1),
                linked_by: "ann@example.test".into(),
            }],
            escalations: Vec::<Escalation>::new(),
            runs: Vec::new(),
            now: at(100),
        }
    }

    #[test]
    fn the_review_has_its_durations_timeline_actions_and_says_no_charts_were_rendered() {
        let md = markdown(&detail());
        assert!(md.starts_with("# P1 incident: Checkout | errors"), "{md}");
        for expected in [
            "| Time to detect | 4m |",
            "| Time to acknowledge | 3m |",
            "| Time to mitigate | 20m |",
            "| Time to resolve | 1h 35m |",
            "| resolve | 1h |",
            "breached |",
            "Failover of main-db — result: succeeded",
            "| HighErrorRate | abc |",
            "## Charts of the linked alerts' metrics",
            "None were rendered",
        ] {
            assert!(md.contains(expected), "missing `{expected}` in:\n{md}");
        }
        let timeline = md.find("| 1 |").expect("first event");
        assert!(timeline < md.find("| 4 |").expect("last event"));
        assert!(
            !md.contains("— ann@example.test: rolled back"),
            "notes are not actions"
        );
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(human_span(0), "0s");
        assert_eq!(human_span(90), "1m 30s");
        assert_eq!(human_span(5700), "1h 35m");
        assert_eq!(human_span(2 * 86_400 + 3_600 * 4 + 60), "2d 4h");
    }
}
