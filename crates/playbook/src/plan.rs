//! A playbook made concrete for one run: inputs typed and defaulted, every
//! `${inputs.<name>}` replaced, each step said in words. The server stores
//! the plan when a run starts; an approver sees the plan of the steps left.

use std::collections::BTreeMap;

use opsdeck_api::rbac::Permission;
use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostics;
use crate::model::{
    format_duration, ActionName, ArgValue, Condition, ConditionSpec, OnFailure, Playbook, Position,
    Scalar, Severity, Step, StepKind, Threshold,
};
use crate::parse::{check_arg_value, parse_input, substitute};

/// What a run of a playbook would do, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub playbook: String,
    pub version: u32,
    pub title: String,
    pub severity: Severity,
    /// Every declared input with its value (given or default).
    pub inputs: BTreeMap<String, Scalar>,
    pub steps: Vec<PlannedStep>,
}

/// One step of a plan: resolved, and said in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub id: String,
    pub title: Option<String>,
    pub kind: StepKind<Condition>,
    pub on_failure: OnFailure,
    /// What the step would do, in words.
    pub summary: String,
}

impl Plan {
    /// The step with this id and its index.
    pub fn step(&self, id: &str) -> Option<(usize, &PlannedStep)> {
        self.steps.iter().enumerate().find(|(_, s)| s.id == id)
    }
}

impl Playbook {
    /// Makes the plan of a run with these inputs (as text, the way a user
    /// gives them): every input typed or defaulted, every reference replaced,
    /// every resolved argument checked. Reports every problem at once.
    pub fn plan(&self, given: &BTreeMap<String, String>) -> Result<Plan, Diagnostics> {
        let mut diags = Diagnostics::new();
        let file = self.source.as_str();
        for name in given.keys() {
            if !self.inputs.contains_key(name) {
                let known: Vec<&str> = self.inputs.keys().map(String::as_str).collect();
                let message = if known.is_empty() {
                    format!(
                        "`{name}` was given, but playbook `{}` takes no inputs",
                        self.id
                    )
                } else {
                    format!(
                        "`{name}` is not an input of playbook `{}`; its inputs are {}",
                        self.id,
                        known.join(", ")
                    )
                };
                diags.push(file, Position::default(), message);
            }
        }
        let mut values = BTreeMap::new();
        for (name, input) in &self.inputs {
            match (given.get(name), &input.default) {
                (Some(text), _) => match parse_input(input.kind, text) {
                    Ok(v) => {
                        values.insert(name.clone(), v);
                    }
                    Err(e) => diags.push(file, input.position, format!("input `{name}`: {e}")),
                },
                (None, Some(default)) => {
                    values.insert(name.clone(), default.clone());
                }
                (None, None) => diags.push(
                    file,
                    input.position,
                    format!(
                        "input `{name}` ({}) has no default; give it a value",
                        input.kind
                    ),
                ),
            }
        }
        if !diags.is_empty() {
            return diags.into_result(Plan::empty(self));
        }
        let mut steps = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            match resolve(step, &values) {
                Ok(kind) => {
                    let summary = summarize(&kind, &step.on_failure);
                    steps.push(PlannedStep {
                        id: step.id.clone(),
                        title: step.title.clone(),
                        kind,
                        on_failure: step.on_failure.clone(),
                        summary,
                    });
                }
                Err(problems) => {
                    for p in problems {
                        diags.push(file, step.position, format!("step `{}`: {p}", step.id));
                    }
                }
            }
        }
        diags.into_result(Plan {
            playbook: self.id.clone(),
            version: self.version,
            title: self.title.clone(),
            severity: self.severity,
            inputs: values,
            steps,
        })
    }

    /// Reports every action step whose permission `has` says the user lacks,
    /// at the step's position.
    pub fn check_permissions(&self, has: impl Fn(Permission) -> bool) -> Diagnostics {
        let mut out = Diagnostics::new();
        for step in &self.steps {
            if let StepKind::Action { name, .. } = &step.kind {
                let needed = name.permission();
                if !has(needed) {
                    out.push(
                        &self.source,
                        step.position,
                        format!(
                            "step `{}`: {} needs the permission {needed}, which your role does not grant",
                            step.id, name
                        ),
                    );
                }
            }
        }
        out
    }

    /// The step with this id and its index.
    pub fn step(&self, id: &str) -> Option<(usize, &Step)> {
        self.steps.iter().enumerate().find(|(_, s)| s.id == id)
    }
}

impl Plan {
    fn empty(p: &Playbook) -> Plan {
        Plan {
            playbook: p.id.clone(),
            version: p.version,
            title: p.title.clone(),
            severity: p.severity,
            inputs: BTreeMap::new(),
            steps: Vec::new(),
        }
    }
}

fn resolve(
    step: &Step,
    values: &BTreeMap<String, Scalar>,
) -> Result<StepKind<Condition>, Vec<String>> {
    let sub = |text: &str| substitute(text, |name| values.get(name).map(ToString::to_string));
    let mut problems = Vec::new();
    let mut condition = |spec: &ConditionSpec| -> Condition {
        let value = match &spec.value {
            Threshold::Number(n) => *n,
            Threshold::Input(name) => match values.get(name) {
                Some(Scalar::Integer(i)) => *i as f64,
                Some(Scalar::Number(n)) => *n,
                _ => {
                    problems.push(format!("the condition's input `{name}` is not a number"));
                    f64::NAN
                }
            },
        };
        Condition { op: spec.op, value }
    };
    let kind = match &step.kind {
        StepKind::Note { text } => StepKind::Note { text: sub(text) },
        StepKind::Manual {
            instructions,
            checklist,
        } => StepKind::Manual {
            instructions: sub(instructions),
            checklist: checklist.iter().map(|c| sub(c)).collect(),
        },
        StepKind::Approval { role, reason } => StepKind::Approval {
            role: role.clone(),
            reason: sub(reason),
        },
        StepKind::Check {
            query,
            condition: spec,
        } => StepKind::Check {
            query: sub(query),
            condition: condition(spec),
        },
        StepKind::WaitUntil {
            query,
            condition: spec,
            interval,
            timeout,
        } => StepKind::WaitUntil {
            query: sub(query),
            condition: condition(spec),
            interval: *interval,
            timeout: *timeout,
        },
        StepKind::Action { name, args } => {
            let resolved: BTreeMap<String, ArgValue> = args
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        ArgValue::Text(t) => ArgValue::Text(sub(t)),
                        ArgValue::List(items) => {
                            ArgValue::List(items.iter().map(|i| sub(i)).collect())
                        }
                    };
                    (k.clone(), v)
                })
                .collect();
            for spec in name.args() {
                if let Some(value) = resolved.get(spec.name) {
                    if let Err(e) = check_arg_value(spec, value) {
                        problems.push(format!("{name}: {e}"));
                    }
                }
            }
            StepKind::Action {
                name: *name,
                args: resolved,
            }
        }
    };
    if problems.is_empty() {
        Ok(kind)
    } else {
        Err(problems)
    }
}

fn text_arg<'a>(args: &'a BTreeMap<String, ArgValue>, name: &str) -> Option<&'a str> {
    match args.get(name) {
        Some(ArgValue::Text(t)) => Some(t),
        _ => None,
    }
}

/// What a resolved step would do, in words.
fn summarize(kind: &StepKind<Condition>, on_failure: &OnFailure) -> String {
    let what = match kind {
        StepKind::Note { text } => format!("Adds a note to the timeline: \"{}\"", first_line(text)),
        StepKind::Manual {
            instructions,
            checklist,
        } => {
            let mut s = format!("Asks someone to do it by hand: {}", first_line(instructions));
            if !checklist.is_empty() {
                s.push_str(&format!(" (checklist: {})", checklist.join("; ")));
            }
            s
        }
        StepKind::Approval { role, reason } => format!(
            "Waits until someone with the role {role}, other than who started the run, approves: {}",
            first_line(reason)
        ),
        StepKind::Check { query, condition } => format!(
            "Queries Prometheus for `{query}` once and passes if the value is {condition}"
        ),
        StepKind::WaitUntil {
            query,
            condition,
            interval,
            timeout,
        } => format!(
            "Queries Prometheus for `{query}` every {} until the value is {condition}, failing after {}",
            format_duration(*interval),
            format_duration(*timeout)
        ),
        StepKind::Action { name, args } => action_summary(*name, args),
    };
    let then = match on_failure {
        OnFailure::Abort => String::new(),
        OnFailure::Continue => "; if it fails, the run continues".to_owned(),
        OnFailure::Goto(id) => format!("; if it fails, the run goes to `{id}`"),
    };
    format!("{what}{then}")
}

fn action_summary(name: ActionName, args: &BTreeMap<String, ArgValue>) -> String {
    let arg = |n: &str| text_arg(args, n).unwrap_or("?");
    let what = match name {
        ActionName::BackupCreate => {
            let kind = match arg("type") {
                "full" => "a full",
                "incr" => "an incremental",
                "diff" => "a differential",
                other => other,
            };
            format!("Takes {kind} backup of target {}", arg("target"))
        }
        ActionName::BackupVerify => match text_arg(args, "backup") {
            Some(b) => format!("Verifies backup {b} of target {}", arg("target")),
            None => format!("Verifies the latest backup of target {}", arg("target")),
        },
        ActionName::BackupRestore => {
            let to = match text_arg(args, "to_time") {
                Some("now") => "to the newest point, when the step starts".to_owned(),
                Some(t) if t.starts_with("now-") => {
                    format!("to {} before the step starts", &t["now-".len()..])
                }
                Some(t) => format!("to the point in time {t}"),
                None => "to its newest restorable point".to_owned(),
            };
            format!(
                "Restores target {} {to} (after a safety backup)",
                arg("target")
            )
        }
        ActionName::ClusterSwitchover | ActionName::ClusterFailover => {
            let verb = if name == ActionName::ClusterFailover {
                "Fails over"
            } else {
                "Switches over"
            };
            match text_arg(args, "candidate") {
                Some(c) => format!("{verb} cluster {} to {c}", arg("cluster")),
                None => format!("{verb} cluster {} to the best replica", arg("cluster")),
            }
        }
        ActionName::TenantSuspend => format!("Suspends tenant {}", arg("tenant")),
        ActionName::TenantResume => format!("Resumes tenant {}", arg("tenant")),
        ActionName::SilenceCreate => {
            let matchers = args
                .get("matchers")
                .map(ToString::to_string)
                .unwrap_or_default();
            format!(
                "Silences alerts matching {matchers} for {}: {}",
                arg("duration"),
                arg("comment")
            )
        }
    };
    format!("{what} ({name}, needs {})", name.permission())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}
