//! The playbook as data: what a YAML file says once it has been read and
//! checked. Serde gives it the same shape as the YAML (and as JSON, which is
//! how the server stores a run's plan); positions are kept beside the data,
//! never serialized, so diagnostics found after parsing still point into the file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use opsdeck_api::rbac::Permission;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The format version this crate reads.
pub const FORMAT_VERSION: u32 = 1;

/// A place in a playbook file, 1-based. `Position::default()` (0:0) means
/// "not read from a file" (a playbook built in code or from JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One playbook, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Opsdeck playbook")]
pub struct Playbook {
    /// The format version: 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Lowercase letters, digits and single '-'.
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(max = 64))]
    pub id: String,
    /// What the playbook is for, in a few words.
    pub title: String,
    /// When to use it and what it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub severity: Severity,
    /// Alert names that suggest this playbook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_by: Vec<String>,
    /// Typed inputs, used in steps as `${inputs.<name>}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, Input>,
    /// The steps, run in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
    /// The file it was read from (for diagnostics); empty when not read from a file.
    #[serde(skip)]
    pub source: String,
}

/// How bad the situation a playbook answers is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
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
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared input: its type, an optional default and what it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(rename = "type")]
    pub kind: InputType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip)]
    pub position: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    String,
    Integer,
    Number,
    Boolean,
    Duration,
    Tenant,
    Cluster,
    BackupTarget,
}

impl InputType {
    pub const ALL: [InputType; 8] = [
        InputType::String,
        InputType::Integer,
        InputType::Number,
        InputType::Boolean,
        InputType::Duration,
        InputType::Tenant,
        InputType::Cluster,
        InputType::BackupTarget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Integer => "integer",
            InputType::Number => "number",
            InputType::Boolean => "boolean",
            InputType::Duration => "duration",
            InputType::Tenant => "tenant",
            InputType::Cluster => "cluster",
            InputType::BackupTarget => "backup_target",
        }
    }

    /// Whether a value of this type can stand on the right of a condition.
    pub fn is_numeric(self) -> bool {
        matches!(self, InputType::Integer | InputType::Number)
    }
}

impl fmt::Display for InputType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        InputType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// A YAML scalar as a default or a resolved input value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Boolean(b) => write!(f, "{b}"),
            Scalar::Integer(i) => write!(f, "{i}"),
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::String(s) => f.write_str(s),
        }
    }
}

/// One step: an `id`, an optional `title`, exactly one kind (`manual`,
/// `action`, `check`, `wait_until`, `approval`, `note`) and what to do
/// `on_failure` (abort when not said).
// `C` is how its conditions are written: a [`ConditionSpec`] in a playbook
// (may name an input), a [`Condition`] once planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(bound(
    serialize = "C: Serialize + Clone",
    deserialize = "C: Deserialize<'de>"
))]
pub struct Step<C = ConditionSpec> {
    /// Lowercase letters, digits and single '-'; unique in the playbook.
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(max = 64))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(flatten)]
    pub kind: StepKind<C>,
    #[serde(default, skip_serializing_if = "OnFailure::is_abort")]
    pub on_failure: OnFailure,
    #[serde(skip)]
    pub position: Position,
}

/// What a step does. The YAML key names the kind (`manual:`, `action:`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    from = "wire::StepKind<C>",
    into = "wire::StepKind<C>",
    bound(
        serialize = "C: Serialize + Clone",
        deserialize = "C: Deserialize<'de>"
    )
)]
pub enum StepKind<C = ConditionSpec> {
    /// Someone does something by hand and ticks a checklist.
    Manual {
        instructions: String,
        checklist: Vec<String>,
    },
    /// A platform action through the Platform Admin API.
    Action {
        name: ActionName,
        args: BTreeMap<String, ArgValue>,
    },
    /// A PromQL query whose value must meet a condition once.
    Check { query: String, condition: C },
    /// A check polled every `interval` until it holds or `timeout` passes.
    WaitUntil {
        query: String,
        condition: C,
        interval: Duration,
        timeout: Duration,
    },
    /// Someone holding `role`, other than who started the run, approves.
    Approval { role: String, reason: String },
    /// Free text into the timeline.
    Note { text: String },
}

impl<C> StepKind<C> {
    /// The YAML key of this kind.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Manual { .. } => "manual",
            StepKind::Action { .. } => "action",
            StepKind::Check { .. } => "check",
            StepKind::WaitUntil { .. } => "wait_until",
            StepKind::Approval { .. } => "approval",
            StepKind::Note { .. } => "note",
        }
    }
}

/// The step kinds' YAML keys.
pub const STEP_KINDS: [&str; 6] = [
    "manual",
    "action",
    "check",
    "wait_until",
    "approval",
    "note",
];

/// An action argument: text, or a list of texts (silence matchers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ArgValue {
    Text(String),
    List(Vec<String>),
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Text(t) => f.write_str(t),
            ArgValue::List(items) => write!(f, "[{}]", items.join(", ")),
        }
    }
}

/// What happens when a step fails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    #[default]
    Abort,
    Continue,
    /// Go to a later step (by id).
    Goto(String),
}

impl OnFailure {
    pub fn is_abort(&self) -> bool {
        matches!(self, OnFailure::Abort)
    }
}

/// A comparison operator of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Comparison {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Comparison {
    /// Longest first, so `<=` is not read as `<`.
    pub const ALL: [Comparison; 6] = [
        Comparison::Le,
        Comparison::Ge,
        Comparison::Eq,
        Comparison::Ne,
        Comparison::Lt,
        Comparison::Gt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved condition: the query's value compared with a number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Condition {
    pub op: Comparison,
    pub value: f64,
}

impl Condition {
    /// Whether `sample` meets the condition. NaN never does (a query with no
    /// data must not pass a check by accident), except for `!=`.
    pub fn holds(&self, sample: f64) -> bool {
        match self.op {
            Comparison::Lt => sample < self.value,
            Comparison::Le => sample <= self.value,
            Comparison::Gt => sample > self.value,
            Comparison::Ge => sample >= self.value,
            Comparison::Eq => sample == self.value,
            Comparison::Ne => sample != self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.value)
    }
}

/// A condition as written in a playbook: `< 0.01` or `< ${inputs.max_error_rate}`.
/// Serialized as that text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConditionSpec {
    pub op: Comparison,
    pub value: Threshold,
}

/// The right-hand side of a written condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    Number(f64),
    /// `${inputs.<name>}`: a numeric input.
    Input(String),
}

impl fmt::Display for ConditionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Threshold::Number(n) => write!(f, "{} {}", self.op, n),
            Threshold::Input(name) => write!(f, "{} ${{inputs.{}}}", self.op, name),
        }
    }
}

impl JsonSchema for ConditionSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConditionSpec".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "One of < <= > >= == != and then a number or ${inputs.<name>}, e.g. \"< 0.01\"",
            "pattern": r"^\s*(<=|>=|==|!=|<|>)\s*(-?[0-9][0-9.eE+-]*|\$\{inputs\.[a-z][a-z0-9_]*\})\s*$"
        })
    }
}

impl From<ConditionSpec> for String {
    fn from(c: ConditionSpec) -> String {
        c.to_string()
    }
}

/// Why a condition's text is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadCondition(pub String);

impl TryFrom<String> for ConditionSpec {
    type Error = BadCondition;
    fn try_from(text: String) -> Result<Self, BadCondition> {
        text.parse()
    }
}

impl FromStr for ConditionSpec {
    type Err = BadCondition;
    fn from_str(text: &str) -> Result<Self, BadCondition> {
        let text = text.trim();
        let Some(op) = Comparison::ALL
            .into_iter()
            .find(|op| text.starts_with(op.as_str()))
        else {
            return Err(BadCondition(format!(
                "condition `{text}` must start with one of < <= > >= == != and then a number"
            )));
        };
        let rest = text[op.as_str().len()..].trim();
        if let Some(name) = rest
            .strip_prefix("${inputs.")
            .and_then(|r| r.strip_suffix('}'))
        {
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Ok(ConditionSpec {
                    op,
                    value: Threshold::Input(name.to_owned()),
                });
            }
        }
        match rest.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(ConditionSpec {
                op,
                value: Threshold::Number(n),
            }),
            _ => Err(BadCondition(format!(
                "condition `{text}`: `{rest}` is not a number or ${{inputs.<name>}}"
            ))),
        }
    }
}

impl FromStr for Condition {
    type Err = BadCondition;
    fn from_str(text: &str) -> Result<Self, BadCondition> {
        match text.parse::<ConditionSpec>()? {
            ConditionSpec {
                op,
                value: Threshold::Number(value),
            } => Ok(Condition { op, value }),
            ConditionSpec {
                value: Threshold::Input(name),
                ..
            } => Err(BadCondition(format!(
                "condition `{text}` still names the input `{name}`"
            ))),
        }
    }
}

/// The platform actions a step may take; each maps onto an API request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum ActionName {
    #[serde(rename = "backup.create")]
    BackupCreate,
    #[serde(rename = "backup.verify")]
    BackupVerify,
    #[serde(rename = "backup.restore")]
    BackupRestore,
    #[serde(rename = "cluster.switchover")]
    ClusterSwitchover,
    #[serde(rename = "cluster.failover")]
    ClusterFailover,
    #[serde(rename = "tenant.suspend")]
    TenantSuspend,
    #[serde(rename = "tenant.resume")]
    TenantResume,
    #[serde(rename = "silence.create")]
    SilenceCreate,
}

/// What an action argument holds, for lint and for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// Free text (a name, a comment).
    Text,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A point in time: RFC 3339, `now`, or `now-<duration>` counted from
    /// when the step starts (see [`resolve_time`]).
    Time,
    /// A duration such as `2h`.
    Duration,
    /// A list of Alertmanager matchers (`name="value"`, `name=~"regex"`).
    Matchers,
    /// A tenant slug.
    Tenant,
    /// A cluster name.
    Cluster,
    /// A backup target name.
    BackupTarget,
}

/// One argument an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSpec {
    pub name: &'static str,
    pub required: bool,
    pub kind: ArgKind,
}

const fn arg(name: &'static str, required: bool, kind: ArgKind) -> ArgSpec {
    ArgSpec {
        name,
        required,
        kind,
    }
}

/// Backup types, as the API names them.
pub const BACKUP_TYPES: &[&str] = &["full", "incr", "diff"];

const BACKUP_CREATE_ARGS: &[ArgSpec] = &[
    arg("target", true, ArgKind::BackupTarget),
    arg("type", true, ArgKind::OneOf(BACKUP_TYPES)),
];
const BACKUP_VERIFY_ARGS: &[ArgSpec] = &[
    arg("target", true, ArgKind::BackupTarget),
    arg("backup", false, ArgKind::Text),
];
// The API restores to a point in time, not from a chosen backup.
const BACKUP_RESTORE_ARGS: &[ArgSpec] = &[
    arg("target", true, ArgKind::BackupTarget),
    arg("to_time", false, ArgKind::Time),
];
const CLUSTER_ARGS: &[ArgSpec] = &[
    arg("cluster", true, ArgKind::Cluster),
    arg("candidate", false, ArgKind::Text),
];
const TENANT_ARGS: &[ArgSpec] = &[arg("tenant", true, ArgKind::Tenant)];
const SILENCE_ARGS: &[ArgSpec] = &[
    arg("matchers", true, ArgKind::Matchers),
    arg("duration", true, ArgKind::Duration),
    arg("comment", true, ArgKind::Text),
];

impl ActionName {
    pub const ALL: [ActionName; 8] = [
        ActionName::BackupCreate,
        ActionName::BackupVerify,
        ActionName::BackupRestore,
        ActionName::ClusterSwitchover,
        ActionName::ClusterFailover,
        ActionName::TenantSuspend,
        ActionName::TenantResume,
        ActionName::SilenceCreate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionName::BackupCreate => "backup.create",
            ActionName::BackupVerify => "backup.verify",
            ActionName::BackupRestore => "backup.restore",
            ActionName::ClusterSwitchover => "cluster.switchover",
            ActionName::ClusterFailover => "cluster.failover",
            ActionName::TenantSuspend => "tenant.suspend",
            ActionName::TenantResume => "tenant.resume",
            ActionName::SilenceCreate => "silence.create",
        }
    }

    /// The permission the API asks for this action.
    pub fn permission(self) -> Permission {
        match self {
            ActionName::BackupCreate | ActionName::BackupVerify => Permission::BackupsRun,
            ActionName::BackupRestore => Permission::BackupsRestore,
            ActionName::ClusterSwitchover | ActionName::ClusterFailover => {
                Permission::ClustersFailover
            }
            ActionName::TenantSuspend | ActionName::TenantResume => Permission::TenantsWrite,
            ActionName::SilenceCreate => Permission::AlertsSilence,
        }
    }

    /// Whether the action loses data or service if it is wrong (restore,
    /// failover): the two-person rule applies to these on a prod platform.
    pub fn destructive(self) -> bool {
        matches!(
            self,
            ActionName::BackupRestore | ActionName::ClusterFailover | ActionName::TenantSuspend
        )
    }

    /// The arguments the action takes.
    pub fn args(self) -> &'static [ArgSpec] {
        match self {
            ActionName::BackupCreate => BACKUP_CREATE_ARGS,
            ActionName::BackupVerify => BACKUP_VERIFY_ARGS,
            ActionName::BackupRestore => BACKUP_RESTORE_ARGS,
            ActionName::ClusterSwitchover | ActionName::ClusterFailover => CLUSTER_ARGS,
            ActionName::TenantSuspend | ActionName::TenantResume => TENANT_ARGS,
            ActionName::SilenceCreate => SILENCE_ARGS,
        }
    }
}

impl fmt::Display for ActionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionName {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ActionName::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(())
    }
}

/// Reads a point in time as an action argument writes it: an RFC 3339 time,
/// `now`, or `now-<duration>` (`now-10m`) counted back from `now`, which the
/// engine sets to when the step starts.
pub fn resolve_time(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(ago) = text.strip_prefix("now-") {
        let ago = parse_duration(ago)?;
        let ago =
            chrono::Duration::from_std(ago).map_err(|_| format!("`{text}` is too far back"))?;
        return now
            .checked_sub_signed(ago)
            .ok_or_else(|| format!("`{text}` is too far back"));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            format!("`{text}` is not a time: write RFC 3339 (2026-01-31T12:00:00Z), now, or now-<duration>")
        })
}

/// Durations as the format writes them: an integer and a unit
/// (`ms`, `s`, `m`, `h`, `d`), e.g. `10s`, `5m`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration; write e.g. 30s, 5m or 1h".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration; write e.g. 30s, 5m or 1h"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.chars().take_while(char::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let per: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    "`{text}` has a number without a unit (ms, s, m, h, d)"
                ))
            }
            other => {
                return Err(format!(
                    "`{text}`: `{other}` is not a unit; use ms, s, m, h or d"
                ))
            }
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is too long a duration"))?;
        total = n
            .checked_mul(per)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration the way [`parse_duration`] reads it, largest units first.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, per) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= per {
            out.push_str(&format!("{}{}", ms / per, unit));
            ms %= per;
        }
    }
    out
}

/// The serde shape of step kinds: the same as the Rust enum except `note`,
/// whose YAML value is the text itself.
mod wire {
    use super::*;

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum StepKind<C> {
        /// Someone does something by hand and ticks a checklist.
        Manual {
            instructions: String,
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            checklist: Vec<String>,
        },
        /// A platform action; `args` depend on `name`.
        #[schemars(schema_with = "action_schema")]
        Action {
            name: ActionName,
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            args: BTreeMap<String, ArgValue>,
        },
        /// A PromQL query whose value must meet `condition` once.
        Check { query: String, condition: C },
        /// A PromQL query polled every `interval` until it meets `condition`, at most `timeout`.
        WaitUntil {
            query: String,
            condition: C,
            /// A duration such as 10s, 5m, 1h30m.
            #[serde(with = "duration_text")]
            #[schemars(with = "String", regex(pattern = r"^([0-9]+(ms|s|m|h|d))+$"))]
            interval: Duration,
            /// A duration such as 10s, 5m, 1h30m.
            #[serde(with = "duration_text")]
            #[schemars(with = "String", regex(pattern = r"^([0-9]+(ms|s|m|h|d))+$"))]
            timeout: Duration,
        },
        /// Someone holding `role`, other than who started the run, approves.
        Approval { role: String, reason: String },
        /// Free text into the timeline.
        Note(String),
    }

    impl<C> From<StepKind<C>> for super::StepKind<C> {
        fn from(w: StepKind<C>) -> Self {
            match w {
                StepKind::Manual {
                    instructions,
                    checklist,
                } => Self::Manual {
                    instructions,
                    checklist,
                },
                StepKind::Action { name, args } => Self::Action { name, args },
                StepKind::Check { query, condition } => Self::Check { query, condition },
                StepKind::WaitUntil {
                    query,
                    condition,
                    interval,
                    timeout,
                } => Self::WaitUntil {
                    query,
                    condition,
                    interval,
                    timeout,
                },
                StepKind::Approval { role, reason } => Self::Approval { role, reason },
                StepKind::Note(text) => Self::Note { text },
            }
        }
    }

    impl<C> From<super::StepKind<C>> for StepKind<C> {
        fn from(k: super::StepKind<C>) -> Self {
            use super::StepKind as K;
            match k {
                K::Manual {
                    instructions,
                    checklist,
                } => Self::Manual {
                    instructions,
                    checklist,
                },
                K::Action { name, args } => Self::Action { name, args },
                K::Check { query, condition } => Self::Check { query, condition },
                K::WaitUntil {
                    query,
                    condition,
                    interval,
                    timeout,
                } => Self::WaitUntil {
                    query,
                    condition,
                    interval,
                    timeout,
                },
                K::Approval { role, reason } => Self::Approval { role, reason },
                K::Note { text } => Self::Note(text),
            }
        }
    }

    /// One alternative per action, each with exactly its arguments, so an
    /// editor completes them.
    fn action_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let alternatives: Vec<serde_json::Value> = ActionName::ALL
            .iter()
            .map(|action| {
                let mut properties = serde_json::Map::new();
                let mut required = Vec::new();
                for arg in action.args() {
                    let schema = match arg.kind {
                        ArgKind::Matchers => serde_json::json!({
                            "description": "Alertmanager matchers: name=value, name!=value, name=~regex, name!~regex",
                            "anyOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}, "minItems": 1}
                            ]
                        }),
                        ArgKind::OneOf(words) => serde_json::json!({
                            "anyOf": [
                                {"enum": words},
                                {"type": "string", "pattern": r"\$\{inputs\."}
                            ]
                        }),
                        _ => serde_json::json!({"type": "string"}),
                    };
                    properties.insert(arg.name.to_owned(), schema);
                    if arg.required {
                        required.push(arg.name);
                    }
                }
                serde_json::json!({
                    "type": "object",
                    "description": format!("needs the permission {}", action.permission()),
                    "properties": {
                        "name": {"const": action.as_str()},
                        "args": {
                            "type": "object",
                            "properties": properties,
                            "required": required,
                            "additionalProperties": false
                        }
                    },
                    "required": ["name", "args"],
                    "additionalProperties": false
                })
            })
            .collect();
        schemars::json_schema!({ "oneOf": alternatives })
    }

    mod duration_text {
        use super::*;
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&format_duration(*d))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            let text = String::deserialize(d)?;
            parse_duration(&text).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_hold_as_their_operator_says_and_nan_fails_them() {
        let lt = Condition {
            op: Comparison::Lt,
            value: 0.01,
        };
        assert!(lt.holds(0.005));
        assert!(!lt.holds(0.01));
        assert!(!lt.holds(f64::NAN));
        let ge = "  >= 1".parse::<Condition>().expect("a condition");
        assert_eq!(ge.op, Comparison::Ge);
        assert!(ge.holds(1.0) && !ge.holds(0.5));
        assert!("== 1".parse::<Condition>().expect("eq").holds(1.0));
        assert!("!= 1".parse::<Condition>().expect("ne").holds(2.0));
    }

    #[test]
    fn written_conditions_name_a_number_or_an_input_and_nothing_else() {
        let spec: ConditionSpec = "< ${inputs.max_error_rate}".parse().expect("spec");
        assert_eq!(spec.value, Threshold::Input("max_error_rate".into()));
        assert_eq!(spec.to_string(), "< ${inputs.max_error_rate}");
        assert!("~ 1".parse::<ConditionSpec>().is_err());
        assert!("< abc".parse::<ConditionSpec>().is_err());
        assert!("< inf".parse::<ConditionSpec>().is_err());
        assert!("< ${inputs.x".parse::<ConditionSpec>().is_err());
    }

    #[test]
    fn every_action_names_the_permission_its_api_route_requires() {
        assert_eq!(
            ActionName::BackupRestore.permission(),
            Permission::BackupsRestore
        );
        assert_eq!(
            ActionName::ClusterFailover.permission(),
            Permission::ClustersFailover
        );
        assert_eq!(
            ActionName::SilenceCreate.permission(),
            Permission::AlertsSilence
        );
        for action in ActionName::ALL {
            assert_eq!(action.as_str().parse::<ActionName>(), Ok(action));
            assert!(action.args().iter().any(|a| a.required));
        }
    }

    #[test]
    fn durations_read_and_write_the_same_text() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10y").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn a_step_serializes_in_the_shape_of_the_yaml() {
        let step: Step = Step {
            id: "announce".into(),
            title: None,
            kind: StepKind::Note {
                text: "Failing over".into(),
            },
            on_failure: OnFailure::Goto("rollback".into()),
            position: Position::default(),
        };
        let json = serde_json::to_value(&step).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"id": "announce", "note": "Failing over", "on_failure": {"goto": "rollback"}})
        );
        let back: Step = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, step);
        let wait: Step = serde_json::from_value(serde_json::json!({
            "id": "w", "wait_until": {"query": "up", "condition": "== 1", "interval": "10s", "timeout": "5m"}
        }))
        .expect("a wait step");
        assert!(
            matches!(wait.kind, StepKind::WaitUntil { timeout, .. } if timeout == Duration::from_secs(300))
        );
    }
}
