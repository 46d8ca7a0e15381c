//! Incidents as the API shows them: their severity, commander and status,
//! the timeline of everything that happened during them (changes, notes,
//! linked alerts, escalations, playbook runs), and the per-severity targets
//! for acknowledging, mitigating and resolving them, computed on the server.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::jobs::JsonValue;
use crate::validation::{check_name, normalize_name, Validate};
use crate::FieldError;

/// Longest note, in characters.
pub const NOTE_MAX: usize = 4000;

/// How bad it is: P1 is the worst.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    specta::Type,
)]
pub enum Severity {
    P1,
    P2,
    P3,
    P4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::P1, Severity::P2, Severity::P3, Severity::P4];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
            Severity::P4 => "P4",
        }
    }

    /// Whether an unacknowledged incident of it is escalated (P1 and P2).
    pub fn escalates(self) -> bool {
        matches!(self, Severity::P1 | Severity::P2)
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown severity `{s}` (expected P1, P2, P3 or P4)"))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an incident is; it only moves forward, and `resolved` is the end.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Mitigated,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Open,
        IncidentStatus::Acknowledged,
        IncidentStatus::Mitigated,
        IncidentStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Mitigated => "mitigated",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for IncidentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status `{s}` (expected open, acknowledged, mitigated or resolved)")
            })
    }
}

impl std::fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of `POST /v1/incidents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    /// What is wrong, in a line.
    pub title: String,
    pub severity: Severity,
    /// Who leads it (a user's email); the caller when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commander: Option<String>,
}

impl CreateIncident {
    /// The title as stored (trimmed, NFC).
    pub fn normalized(mut self) -> Self {
        self.title = normalize_name(&self.title);
        self.commander = self
            .commander
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        self
    }
}

impl Validate for CreateIncident {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_name("title", &self.title, &mut errors);
        if let Some(commander) = &self.commander {
            check_name("commander", commander, &mut errors);
        }
        errors
    }
}

/// An incident as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Incident {
    /// UUID v7: ids sort in the order incidents were opened.
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Who leads it.
    pub commander: String,
    pub status: IncidentStatus,
    /// Who opened it.
    pub opened_by: String,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct TimelineEvent {
    /// 1, 2, 3… in the order they happened, per incident.
    #[specta(type = f64)]
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who did it (a user's email, a service account, or `platform-admin`
    /// for what the server does by itself).
    pub actor: String,
    /// What happened: `opened`, `acknowledged`, `mitigated`, `resolved`,
    /// `note`, `alert_linked`, `escalated`, `maintenance_started`,
    /// `maintenance_ended`, and the playbook runs' own kinds.
    pub kind: String,
    /// What happened, in words.
    pub text: String,
    /// What else the kind records (an escalation's `to`, a linked alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    #[specta(type = Option<JsonValue>)]
    pub detail: Option<serde_json::Value>,
}

/// The three targets an incident is held to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Acknowledge,
    Mitigate,
    Resolve,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [
        TargetKind::Acknowledge,
        TargetKind::Mitigate,
        TargetKind::Resolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Acknowledge => "acknowledge",
            TargetKind::Mitigate => "mitigate",
            TargetKind::Resolve => "resolve",
        }
    }
}

/// Where an incident stands against one target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    /// Reached before it was due.
    Met,
    /// Not reached, not yet due.
    Running,
    /// Reached late, or not reached and past due.
    Breached,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Met => "met",
            TargetState::Running => "running",
            TargetState::Breached => "breached",
        }
    }
}

/// One target of an incident, computed on the server from its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct IncidentTarget {
    pub kind: TargetKind,
    /// The target for the incident's severity, in seconds from its start.
    #[specta(type = f64)]
    pub seconds: u64,
    pub due_at: DateTime<Utc>,
    /// When it was reached (a later status reaches the earlier targets too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached_at: Option<DateTime<Utc>>,
    pub state: TargetState,
}

/// An unacknowledged incident handed to the next person of the
/// escalation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Escalation {
    pub at: DateTime<Utc>,
    /// Who it went to.
    pub to: String,
    /// 1 for the first escalation, 2 for the next…
    pub level: u32,
}

/// An Alertmanager alert linked to an incident, as the client read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct LinkedAlert {
    pub fingerprint: String,
    pub alertname: String,
    pub labels: BTreeMap<String, String>,
    /// When the alert started firing, as Alertmanager said.
    pub starts_at: DateTime<Utc>,
    pub linked_at: DateTime<Utc>,
    pub linked_by: String,
}

/// `GET /v1/incidents/{incident}`: the incident with everything about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct IncidentDetail {
    pub incident: Incident,
    /// Oldest first.
    pub timeline: Vec<TimelineEvent>,
    /// Acknowledge, mitigate, resolve, in that order.
    pub targets: Vec<IncidentTarget>,
    pub alerts: Vec<LinkedAlert>,
    /// Oldest first.
    pub escalations: Vec<Escalation>,
    /// The playbook runs started for it, oldest first.
    #[serde(default)]
    pub runs: Vec<IncidentRun>,
    /// The server's clock when it computed the targets.
    pub now: DateTime<Utc>,
}

/// A playbook run started for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct IncidentRun {
    /// The run's id.
    pub id: String,
    /// The playbook's id.
    pub playbook: String,
    pub title: String,
    pub state: crate::playbooks::RunState,
}

/// One page of incidents, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct IncidentPage {
    pub items: Vec<Incident>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/incidents`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListIncidents {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only incidents with this status.
    pub status: Option<IncidentStatus>,
}

/// Body of `POST /v1/incidents/{incident}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct AddNote {
    pub text: String,
}

impl Validate for AddNote {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let text = self.text.trim();
        if text.is_empty() {
            errors.push(FieldError::new("text", "must not be empty"));
        } else if text.chars().count() > NOTE_MAX {
            errors.push(FieldError::new(
                "text",
                format!("must be at most {NOTE_MAX} characters long"),
            ));
        }
        errors
    }
}

/// Body of `POST /v1/incidents/{incident}/alerts`: the alert as the client
/// read it from Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct LinkAlert {
    /// Alertmanager's fingerprint of the alert (hex).
    pub fingerprint: String,
    pub alertname: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When it started firing (`startsAt`).
    pub starts_at: DateTime<Utc>,
}

/// Largest number of labels a linked alert may carry.
pub const LABELS_MAX: usize = 64;

impl Validate for LinkAlert {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let fp = self.fingerprint.trim();
        if fp.is_empty() || fp.len() > 64 || !fp.chars().all(|c| c.is_ascii_hexdigit()) {
            errors.push(FieldError::new(
                "fingerprint",
                "must be Alertmanager's fingerprint: 1 to 64 hex digits",
            ));
        }
        check_name("alertname", &self.alertname, &mut errors);
        if self.labels.len() > LABELS_MAX {
            errors.push(FieldError::new(
                "labels",
                format!("must have at most {LABELS_MAX} labels"),
            ));
        }
        for (name, value) in &self.labels {
            if name.is_empty() || name.len() > 200 || value.len() > 1000 {
                errors.push(FieldError::new(
                    format!("labels.{name}"),
                    "names must be 1 to 200 bytes and values at most 1000",
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_statuses_round_trip_through_text() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).expect("json"),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!("p2".parse::<Severity>(), Ok(Severity::P2));
        assert!("P5".parse::<Severity>().is_err());
        for s in IncidentStatus::ALL {
            assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(s));
        }
    }

    #[test]
    fn an_empty_title_and_a_bad_fingerprint_are_refused() {
        let body = CreateIncident {
            title: "  ".into(),
            severity: Severity::P1,
            commander: None,
        }
        .normalized();
        assert_eq!(body.field_errors()[0].field, "title");
        let link = LinkAlert {
            fingerprint: "not hex".into(),
            alertname: "HighErrorRate".into(),
            labels: BTreeMap::new(),
            starts_at: Utc::now(),
        };
        assert_eq!(link.field_errors()[0].field, "fingerprint");
    }
}
