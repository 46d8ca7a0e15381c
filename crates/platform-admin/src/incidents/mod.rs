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
