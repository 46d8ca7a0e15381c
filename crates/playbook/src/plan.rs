//! A playbook made concrete for one run: inputs typed and defaulted, every
//! `${inputs.<name>}` replaced, each step said in words. The server stores
//! the plan when a run starts; an approver sees the plan of the steps left.

use std::collections::BTreeMap;

use opsdeck_api::rbac::Permission;
use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostics;
use crate::model::{Condition, OnFailure, Playbook, Scalar, Severity, Step, StepKind};

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
