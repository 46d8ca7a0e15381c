//! The library and a dry-run as a window shows them: plain fields, each
//! value in words, so the window draws them without knowing the format.

use opsdeck_playbook::{OnFailure, StepKind};
use serde::Serialize;

use super::library::{Library, Origin};
use super::{DryRun, PermissionCheck};

/// One playbook of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LibraryEntry {
    pub id: String,
    pub title: String,
    /// "P1".."P4".
    pub severity: String,
    /// "built-in" or "user".
    pub source: String,
    pub file: String,
    /// The alert names that suggest it.
    pub suggested_by: Vec<String>,
    /// Its declared inputs, by name.
    pub inputs: Vec<InputField>,
}

/// A declared input of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct InputField {
    pub name: String,
    /// "string", "integer", ...
    pub kind: String,
    /// The value it has when not given: the default, or the given value in
    /// a dry-run; empty when there is none.
    pub value: String,
    pub description: Option<String>,
}

/// The library: its playbooks and what to know about it, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LibraryView {
    /// The user's folder.
    pub dir: String,
    pub entries: Vec<LibraryEntry>,
    pub notes: Vec<String>,
}

impl From<&Library> for LibraryView {
    fn from(library: &Library) -> Self {
        let entries = library
            .entries
            .iter()
            .map(|e| LibraryEntry {
                id: e.id.clone(),
                title: e.title.clone(),
                severity: e.severity.as_str().to_owned(),
                source: match e.origin {
                    Origin::Builtin => "built-in",
                    Origin::User => "user",
                }
                .to_owned(),
                file: e.file.clone(),
                suggested_by: e.suggested_by.clone(),
                inputs: e
                    .playbook
                    .inputs
                    .iter()
                    .map(|(name, input)| InputField {
                        name: name.clone(),
                        kind: input.kind.to_string(),
                        value: input
                            .default
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        description: input.description.clone(),
                    })
                    .collect(),
            })
            .collect();
        LibraryView {
            dir: library.dir.display().to_string(),
            entries,
            notes: library.notes.iter().map(ToString::to_string).collect(),
        }
    }
}

/// One step of a dry-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PlannedStepView {
    pub id: String,
    pub title: Option<String>,
    /// The step kind's YAML key: "manual", "action", ...
    pub kind: String,
    /// What it would do, in words.
    pub summary: String,
    /// "abort", "continue" or "go to <step>".
    pub on_failure: String,
}

/// What a run would do; nothing was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DryRunView {
    pub playbook: String,
    pub title: String,
    pub severity: String,
    /// Every declared input with the value the run would use.
    pub inputs: Vec<InputField>,
    pub steps: Vec<PlannedStepView>,
    /// Each action step the user may not run, in words.
    pub refused: Vec<String>,
    /// Why the actions were not checked, when they were not.
    pub unchecked: Option<String>,
}

pub fn on_failure_words(on_failure: &OnFailure) -> String {
    match on_failure {
        OnFailure::Abort => "abort".to_owned(),
        OnFailure::Continue => "continue".to_owned(),
        OnFailure::Goto(step) => format!("go to {step}"),
    }
}

impl DryRunView {
    /// `dry` in words; `library` gives the inputs' kinds and descriptions.
    pub fn new(dry: &DryRun, library: Option<&LibraryEntry>) -> Self {
        let declared = |name: &str| library.and_then(|e| e.inputs.iter().find(|i| i.name == name));
        let (refused, unchecked) = match &dry.permissions {
            PermissionCheck::No { reason } => (Vec::new(), Some(reason.clone())),
            PermissionCheck::Yes { refused, .. } => {
                (refused.iter().map(|d| d.message.clone()).collect(), None)
            }
        };
        DryRunView {
            playbook: dry.plan.playbook.clone(),
            title: dry.plan.title.clone(),
            severity: dry.plan.severity.as_str().to_owned(),
            inputs: dry
                .plan
                .inputs
                .iter()
                .map(|(name, value)| InputField {
                    name: name.clone(),
                    kind: declared(name).map(|i| i.kind.clone()).unwrap_or_default(),
                    value: value.to_string(),
                    description: declared(name).and_then(|i| i.description.clone()),
                })
                .collect(),
            steps: dry
                .plan
                .steps
                .iter()
                .map(|s| PlannedStepView {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    kind: StepKind::name(&s.kind).to_owned(),
                    summary: s.summary.clone(),
                    on_failure: on_failure_words(&s.on_failure),
                })
                .collect(),
            refused,
            unchecked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn a_dry_run_in_words_keeps_every_step_in_order_with_its_inputs() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let paths = Paths::under(dir.path());
        let library = super::super::library::load(&paths).await.expect("library");
        let view = LibraryView::from(&library);
        let first = view.entries.first().expect("a built-in playbook").clone();
        assert_eq!(first.source, "built-in");
        let dry = super::super::dry_run(
            &paths,
            &first.id,
            &BTreeMap::new(),
            &super::super::Permissions::Unknown {
                reason: "not asked".into(),
            },
        )
        .await
        .expect("dry-run");
        let words = DryRunView::new(&dry, Some(&first));
        assert_eq!(words.steps.len(), dry.plan.steps.len());
        assert_eq!(
            words
                .steps
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            dry.plan
                .steps
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(words.inputs.len(), dry.plan.inputs.len());
        assert_eq!(words.unchecked.as_deref(), Some("not asked"));
    }
}
