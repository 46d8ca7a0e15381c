//! Incidents: opened, acknowledged, mitigated and resolved through the API,
//! each with a timeline (`timeline`) that every change, note, linked alert,
//! escalation and playbook run appends to; targets per severity computed
//! from the server's clock (`targets`); and the sweep that escalates an
//! unacknowledged P1 or P2 past its target (`escalation`).

pub mod escalation;
pub mod routes;
pub mod store;
pub mod targets;
pub mod timeline;

/// What audit records name an incident by.
pub fn audit_target(id: &str) -> String {
    format!("incident:{id}")
}

/// The actor of what the server does by itself (escalations).
pub const SERVER_ACTOR: &str = "platform-admin";

/// The changes made through the API that act on the platform (what an
/// incident's review asks "who did what, when"), by audit action.
/// Maintenance windows (and their silences) tell the timelines themselves.
pub const ACTIONS_TOLD: [&str; 9] = [
    "backup.create",
    "backup.verify",
    "backup.restore",
    "cluster.switchover",
    "cluster.failover",
    "tenant.suspend",
    "tenant.resume",
    "tenant.delete",
    "job.cancel",
];

/// The timeline kind of an action taken while an incident was open.
pub const ACTION_TAKEN: &str = "action_taken";

/// Tells the timeline of every incident not yet resolved, in the caller's
/// transaction, that `actor` took `action` on `target`. Every open incident,
/// not only those "about" the target: an incident names no targets of its
/// own, and an action during any incident is what its review must see.
pub async fn tell_open_incidents(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    target: &str,
    request_id: &str,
) -> Result<(), crate::error::Error> {
    if !ACTIONS_TOLD.contains(&action) {
        return Ok(());
    }
    let detail = serde_json::json!({
        "action": action,
        "target": target,
        "request_id": request_id,
    });
    let text = format!("action taken during the incident: {actor} {action} {target}");
    for incident in store::unresolved(&mut *conn).await? {
        timeline::append(
            &mut *conn,
            &incident,
            actor,
            ACTION_TAKEN,
            &text,
            Some(&detail),
        )
        .await?;
    }
    Ok(())
}
