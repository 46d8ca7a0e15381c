//! Maintenance windows: a span of time in which the alerts its matchers
//! name are silenced in the configured Alertmanager (`[monitoring]
//! alertmanager_url`). The server creates the silence with the window,
//! keeps its id, and expires it when the window is ended early; the audit
//! log and the timelines of the incidents not yet resolved say so. The
//! sweep (`sweep`) tells those timelines too when a window starts or ends
//! by the clock.

pub mod alertmanager;
pub mod routes;
pub mod store;
pub mod sweep;

/// What audit records name a window by.
pub fn audit_target(id: &str) -> String {
    format!("maintenance:{id}")
}
