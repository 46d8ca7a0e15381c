//! The escalation sweep `serve` runs: an open (unacknowledged) P1 or P2
//! past its acknowledge target is handed to the next person of the
//! configured escalation list, once per target period (the last person of
//! the list keeps getting it; with no list, its commander is reminded).
//! Each escalation is recorded in the timeline, naming who it went to, and
//! in the audit log. Several servers may sweep the same database: raising
//! the incident's escalation level is conditional on the level read, so
//! only one of them records each escalation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::Severity;
use serde_json::json;

use super::timeline::{self, kind};
use super::{audit_target, store, SERVER_ACTOR};
use crate::error::Error;
use crate::{audit, db, AppState};

/// One escalation the sweep made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalated {
    pub incident: String,
    pub to: String,
    pub level: u32,
}

/// Escalates what is due at `now`; returns what it escalated.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<Vec<Escalated>, Error> {
    let candidates = {
        let mut conn = state.db.pool().acquire().await?;
        store::unacknowledged(&mut conn, &[Severity::P1, Severity::P2]).await?
    };
    let list = &state.config.incidents.escalation;
    let mut done = Vec::new();
    for stored in candidates {
        let incident = &stored.incident;
        let target = state
            .config
            .incidents
            .targets(incident.severity)
            .acknowledge;
        let Ok(elapsed) = (now - incident.started_at).to_std() else {
            continue;
        };
        let periods = elapsed.as_secs() / target.as_secs().max(1);
        if periods <= u64::from(stored.escalation_level) {
            continue;
        }
        let level = stored.escalation_level + 1;
        let to = if list.is_empty() {
            incident.commander.clone()
        } else {
            let index = usize::try_from(stored.escalation_level)
                .unwrap_or(usize::MAX)
                .min(list.len() - 1);
            list[index].clone()
        };
        let mut tx = state.db.begin().await?;
        if !store::escalate(&mut tx, &incident.id, stored.escalation_level).await? {
            continue;
        }
        let text = format!(
            "Not acknowledged within {}: escalated to {to} (escalation {level})",
            human(target)
        );
        let detail = json!({ "to": to, "level": level, "target_seconds": target.as_secs() });
        timeline::append(
            &mut tx,
            &incident.id,
            SERVER_ACTOR,
            kind::ESCALATED,
            &text,
            Some(&detail),
        )
        .await?;
        let after = detail.to_string();
        let target_name = audit_target(&incident.id);
        audit::store::insert(
            &mut tx,
            &audit::store::NewRecord {
                id: uuid::Uuid::now_v7(),
                at: db::now(),
                actor: SERVER_ACTOR,
                action: "incident.escalate",
                target: &target_name,
                tenant_id: None,
                before: None,
                after: Some(&after),
                request_id: "",
                idempotency_key: None,
            },
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(incident = %incident.id, %to, level, "incident escalated");
        done.push(Escalated {
            incident: incident.id.clone(),
            to,
            level,
        });
    }
    Ok(done)
}

/// Runs `sweep`, and the maintenance windows' sweep, every
/// `[incidents] sweep_every` until aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = state.config.incidents.sweep_every();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = sweep(&state, db::now()).await {
                tracing::error!(error = %err, "the escalation sweep failed; it tries again");
            }
            if let Err(err) = crate::maintenance::sweep::sweep(&state, db::now()).await {
                tracing::error!(error = %err, "the maintenance sweep failed; it tries again");
            }
        }
    })
}

/// `5m`, `1h30m`, `90s`.
pub fn human(span: Duration) -> String {
    let mut secs = span.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}
