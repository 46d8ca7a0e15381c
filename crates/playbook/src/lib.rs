//! The playbook format both sides use: the model (serde), the YAML reader
//! with positions, lint, the plan of a run (dry-run) and the built-in
//! playbooks. It knows nothing of how a run executes: platform-admin's
//! engine and core's dry-run build on it.

pub mod diagnostics;
pub mod model;
pub mod plan;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use model::{
    parse_duration, ActionName, ArgKind, ArgSpec, ArgValue, Comparison, Condition, ConditionSpec,
    Input, InputType, OnFailure, Playbook, Position, Scalar, Severity, Step, StepKind, Threshold,
    FORMAT_VERSION,
};
pub use plan::{Plan, PlannedStep};
