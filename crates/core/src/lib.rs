//! Everything Opsdeck does, with no UI: profiles and their secrets, the Platform
//! Admin API client, the local store that keeps the last known state, and the
//! safety rules for destructive actions. The CLI and the desktop shell are thin
//! layers over [`Console`].

pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod backups;
pub mod client;
pub mod clusters;
pub mod console;
pub mod dashboards;
pub mod error;
pub mod incidents;
pub mod jobs;
pub mod maintenance;
pub mod metrics;
pub mod notify;
pub mod paths;
pub mod playbooks;
pub mod profiles;
pub mod progress;
pub mod rbac;
pub mod review;
pub mod safety;
pub mod sanitize;
pub mod secrets;
pub mod session;
pub mod store;
pub mod tenants;
pub mod windows;

/// The hostile HTTP server of the end-to-end harness, shared with core's
/// own tests of the client.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../tests/support/hostile.rs"]
mod hostile;

pub use alerts::{
    Alert, AlertFilter, AlertGroup, AlertState, AlertStatus, Alerts, Matcher, Merged, NewSilence,
    Silence, SilenceState,
};
pub use approvals::{Approvals, Destructive};
pub use audit::{Audit, AuditFilter, ExportFormat, Exported};
pub use console::{Console, LoginCheck, ProfileAdded};
pub use error::{Code, ConsoleCode, Error, ErrorReport, Remedy, Result};
pub use metrics::{Metrics, QueryResult, RangeSpec, Series};
pub use paths::Paths;
pub use profiles::{Profile, ProfileEntry, ProfileList, ProfileSettings, ProfilesWatch, Tier};
pub use safety::{Preflight, TenantAction, TenantOperation};
pub use session::{Session, Sessions};
pub use tenants::{
    AllowedAction, PageCursor, SlugConfirmation, Stale, TenantFilter, TenantRow, TenantsPage,
    TenantsView,
};
pub use windows::WindowProfiles;

pub use opsdeck_api as api;
