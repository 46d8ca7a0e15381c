//! The playbook format both sides use: the model (serde), the YAML reader
//! with positions, lint, the plan of a run (dry-run) and the built-in
//! playbooks. It knows nothing of how a run executes: platform-admin's
//! engine and core's dry-run build on it.

pub mod builtin;
pub mod diagnostics;
pub mod model;
mod parse;
pub mod plan;
pub mod schema;
mod yaml;

pub use builtin::{builtin, builtin_playbooks, BUILTIN_PREFIX};
pub use diagnostics::{Diagnostic, Diagnostics};
pub use model::{
    format_duration, parse_duration, resolve_time, ActionName, ArgKind, ArgSpec, ArgValue,
    Comparison, Condition, ConditionSpec, Input, InputType, OnFailure, Playbook, Position, Scalar,
    Severity, Step, StepKind, Threshold, FORMAT_VERSION,
};
pub use parse::{parse, parse_input, valid_id, valid_input_name};
pub use plan::{Plan, PlannedStep};
pub use schema::json_schema;
pub use yaml::{MAX_DEPTH, MAX_FILE_BYTES, MAX_WEIGHT};
