//! Where an incident stands against its severity's targets, from the
//! server's clock: each target is due at its start plus the target, met
//! when reached by then, breached when reached later or not reached and
//! past due, running otherwise. Reaching a later status reaches the
//! earlier targets too (an incident resolved at once was also mitigated).

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::{Incident, IncidentTarget, TargetKind, TargetState};

use crate::config::Targets;

/// When the incident reached the target's status, or a later one.
pub fn reached(incident: &Incident, kind: TargetKind) -> Option<DateTime<Utc>> {
    let times = match kind {
        TargetKind::Acknowledge => [
            incident.acknowledged_at,
            incident.mitigated_at,
            incident.resolved_at,
        ],
        TargetKind::Mitigate => [incident.mitigated_at, incident.resolved_at, None],
        TargetKind::Resolve => [incident.resolved_at, None, None],
    };
    times.into_iter().flatten().min()
}

/// The three targets, in order.
pub fn compute(incident: &Incident, targets: &Targets, now: DateTime<Utc>) -> Vec<IncidentTarget> {
    TargetKind::ALL
        .into_iter()
        .map(|kind| {
            let span = targets.of(kind);
            let due_at = incident.started_at
                + chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
            let reached_at = reached(incident, kind);
            let state = match reached_at {
                Some(at) if at <= due_at => TargetState::Met,
                Some(_) => TargetState::Breached,
                None if now > due_at => TargetState::Breached,
                None => TargetState::Running,
            };
            IncidentTarget {
                kind,
                seconds: span.as_secs(),
                due_at,
                reached_at,
                state,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opsdeck_api::incidents::{IncidentStatus, Severity};

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minute)
    }

    fn incident() -> Incident {
        Incident {
            id: "i".into(),
            title: "t".into(),
            severity: Severity::P1,
            commander: "c".into(),
            status: IncidentStatus::Open,
            opened_by: "o".into(),
            started_at: at(0),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
        }
    }

    const TARGETS: Targets = Targets {
        acknowledge: Duration::from_secs(5 * 60),
        mitigate: Duration::from_secs(30 * 60),
        resolve: Duration::from_secs(240 * 60),
    };

    #[test]
    fn an_open_incident_is_running_then_breached_past_its_due_time() {
        let states = |now| {
            compute(&incident(), &TARGETS, now)
                .iter()
                .map(|t| t.state)
                .collect::<Vec<_>>()
        };
        assert_eq!(states(at(4)), [TargetState::Running; 3]);
        assert_eq!(
            states(at(6)),
            [
                TargetState::Breached,
                TargetState::Running,
                TargetState::Running
            ]
        );
        assert_eq!(compute(&incident(), &TARGETS, at(0))[0].due_at, at(5));
    }

    #[test]
    fn a_late_acknowledgement_is_breached_and_resolving_reaches_every_target() {
        let mut late = incident();
        late.acknowledged_at = Some(at(7));
        assert_eq!(
            compute(&late, &TARGETS, at(8))[0].state,
            TargetState::Breached
        );
        let mut quick = incident();
        quick.resolved_at = Some(at(3));
        let targets = compute(&quick, &TARGETS, at(300));
        assert!(
            targets.iter().all(|t| t.state == TargetState::Met),
            "{targets:?}"
        );
        assert!(targets.iter().all(|t| t.reached_at == Some(at(3))));
    }
}
