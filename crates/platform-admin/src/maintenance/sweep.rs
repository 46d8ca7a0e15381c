//! Tells the timelines of the incidents not yet resolved when a window
//! starts or ends by the clock (a window ended early told them already).
//! What was told is recorded on the window with a conditional update, so
//! several servers sweeping one database tell each change once.

use chrono::{DateTime, Utc};
use opsdeck_api::maintenance::MaintenanceStatus;

use super::routes::{scope, tell_incidents};
use super::store;
use crate::db;
use crate::error::Error;
use crate::incidents::timeline::kind;
use crate::incidents::SERVER_ACTOR;
use crate::AppState;

/// Tells what changed by `now`; returns the ids of the windows told about.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<Vec<String>, Error> {
    let windows = {
        let mut conn = state.db.pool().acquire().await?;
        store::untold(&mut conn, now).await?
    };
    let mut told = Vec::new();
    for (window, before) in windows {
        if window.status == before {
            continue;
        }
        let (kind, text) = match window.status {
            MaintenanceStatus::Active => (
                kind::MAINTENANCE_STARTED,
                format!(
                    "Maintenance window {} started, until {} ({}): {}; its alerts are silenced",
                    window.id,
                    db::timestamp(window.ends_at),
                    scope(&window),
                    window.reason
                ),
            ),
            MaintenanceStatus::Ended => (
                kind::MAINTENANCE_ENDED,
                format!(
                    "Maintenance window {} ended ({}); its alerts notify again",
                    window.id,
                    scope(&window)
                ),
            ),
            MaintenanceStatus::Scheduled => continue,
        };
        let mut tx = state.db.begin().await?;
        if !store::mark_told(&mut tx, &window.id, before, window.status).await? {
            continue;
        }
        tell_incidents(&mut tx, SERVER_ACTOR, kind, &text, &window).await?;
        tx.commit().await?;
        told.push(window.id);
    }
    Ok(told)
}
