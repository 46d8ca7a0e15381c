//! The playbooks every Opsdeck has, for the platform's scenarios. They are
//! YAML files beside this crate, compiled in; a test lints each clean and
//! plans it with its defaults.

use crate::diagnostics::Diagnostics;
use crate::model::Playbook;
use crate::parse::parse;

const BUILTIN: [(&str, &str); 6] = [
    (
        "redis-primary-failure.yaml",
        include_str!("../builtin/redis-primary-failure.yaml"),
    ),
    (
        "postgres-failover.yaml",
        include_str!("../builtin/postgres-failover.yaml"),
    ),
    (
        "restore-from-backup.yaml",
        include_str!("../builtin/restore-from-backup.yaml"),
    ),
    (
        "high-error-rate.yaml",
        include_str!("../builtin/high-error-rate.yaml"),
    ),
    (
        "disk-filling-up.yaml",
        include_str!("../builtin/disk-filling-up.yaml"),
    ),
    (
        "dr-exercise.yaml",
        include_str!("../builtin/dr-exercise.yaml"),
    ),
];

/// How diagnostics and listings name a built-in file.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The built-in playbooks: (file name, YAML).
pub fn builtin() -> Vec<(&'static str, &'static str)> {
    BUILTIN.to_vec()
}

/// The built-in playbooks, read. A built-in that does not read is a bug
/// caught by the tests; it is reported rather than hidden.
pub fn builtin_playbooks() -> Vec<Result<Playbook, Diagnostics>> {
    BUILTIN
        .iter()
        .map(|(file, text)| parse(&format!("{BUILTIN_PREFIX}{file}"), text))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn every_builtin_lints_clean_and_plans_with_its_defaults() {
        let mut ids = Vec::new();
        for (file, text) in builtin() {
            let playbook = parse(file, text).unwrap_or_else(|d| panic!("{d}"));
            assert_eq!(
                format!("{}.yaml", playbook.id),
                file,
                "the file is named after the id"
            );
            let plan = playbook
                .plan(&BTreeMap::new())
                .unwrap_or_else(|d| panic!("{file} does not plan with its defaults:\n{d}"));
            assert_eq!(plan.steps.len(), playbook.steps.len());
            assert!(
                plan.steps.iter().all(|s| !s.summary.contains("${")),
                "{file}"
            );
            ids.push(playbook.id);
        }
        assert_eq!(
            ids,
            [
                "redis-primary-failure",
                "postgres-failover",
                "restore-from-backup",
                "high-error-rate",
                "disk-filling-up",
                "dr-exercise"
            ]
        );
    }

    #[test]
    fn the_dr_exercise_fails_over_restores_to_a_point_in_time_and_checks() {
        use crate::model::{ActionName, StepKind};
        let dr = builtin_playbooks()
            .into_iter()
            .filter_map(Result::ok)
            .find(|p| p.id == "dr-exercise")
            .expect("the DR exercise is built in");
        let actions: Vec<ActionName> = dr
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Action { name, .. } => Some(*name),
                _ => None,
            })
            .collect();
        assert!(actions.contains(&ActionName::ClusterFailover));
        assert!(actions.contains(&ActionName::BackupRestore));
        assert!(dr
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Check { .. } | StepKind::WaitUntil { .. })));
        assert!(dr.inputs.contains_key("rto_target") && dr.inputs.contains_key("rpo_target"));
        let plan = dr.plan(&BTreeMap::new()).expect("plans");
        let backup = plan.step("restore-point").expect("a backup step").1;
        assert!(
            backup
                .summary
                .starts_with("Takes an incremental backup of target db"),
            "{}",
            backup.summary
        );
    }
}
