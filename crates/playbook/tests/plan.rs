//! The plan of a run: inputs typed and defaulted, references replaced, every
//! step said in words; and the permission check at each action's place.

use std::collections::BTreeMap;

use opsdeck_api::rbac::{BuiltinRole, Permission};
use opsdeck_playbook::{parse, ArgValue, Comparison, Playbook, Scalar, StepKind};

const PLAYBOOK: &str = r#"version: 1
id: restore
title: Restore
severity: P2
inputs:
  target: { type: backup_target, default: main }
  to_time: { type: string }
  max_lag: { type: integer, default: 300 }
steps:
  - id: say
    note: "Restoring ${inputs.target} to ${inputs.to_time}"
  - id: lag
    check: { query: 'pg_replication_lag_seconds{target="${inputs.target}"}', condition: "<= ${inputs.max_lag}" }
    on_failure: continue
  - id: restore
    action:
      name: backup.restore
      args: { target: "${inputs.target}", to_time: "${inputs.to_time}" }
  - id: silence
    action:
      name: silence.create
      args: { matchers: ['alertname="PostgresDown"', 'target="${inputs.target}"'], duration: 1h, comment: restore }
"#;

fn playbook() -> Playbook {
    parse("restore.yaml", PLAYBOOK).unwrap_or_else(|d| panic!("{d}"))
}

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_plan_types_and_defaults_inputs_and_substitutes_them_everywhere() {
    let plan = playbook()
        .plan(&inputs(&[
            ("to_time", "2026-11-25T02:00:00Z"),
            ("max_lag", "60"),
        ]))
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.inputs["target"], Scalar::String("main".into()));
    assert_eq!(plan.inputs["max_lag"], Scalar::Integer(60));
    assert!(
        matches!(&plan.steps[0].kind, StepKind::Note { text } if text == "Restoring main to 2026-11-25T02:00:00Z")
    );
    let StepKind::Check { query, condition } = &plan.steps[1].kind else {
        panic!("a check")
    };
    assert_eq!(query, r#"pg_replication_lag_seconds{target="main"}"#);
    assert_eq!((condition.op, condition.value), (Comparison::Le, 60.0));
    assert!(condition.holds(59.0) && !condition.holds(61.0));
    let StepKind::Action { args, .. } = &plan.steps[3].kind else {
        panic!("an action")
    };
    assert_eq!(
        args["matchers"],
        ArgValue::List(vec![
            "alertname=\"PostgresDown\"".into(),
            "target=\"main\"".into()
        ])
    );
    assert_eq!(
        plan.steps[2].summary,
        "Restores target main to the point in time 2026-11-25T02:00:00Z (after a safety backup) (backup.restore, needs backups.restore)"
    );
    assert!(
        plan.steps[1]
            .summary
            .ends_with("; if it fails, the run continues"),
        "{}",
        plan.steps[1].summary
    );
    // The server stores the plan as JSON when a run starts.
    let json = serde_json::to_string(&plan).expect("serializes");
    let back: opsdeck_playbook::Plan = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, plan);
}

#[test]
fn missing_unknown_and_mistyped_inputs_are_all_reported() {
    let d = playbook()
        .plan(&inputs(&[("max_lag", "soon"), ("colour", "red")]))
        .expect_err("bad inputs");
    let text = d.to_string();
    assert!(
        text.contains("restore.yaml:7:3: input `to_time` (string) has no default"),
        "{text}"
    );
    assert!(
        text.contains("restore.yaml:8:3: input `max_lag`: `soon` is not an integer"),
        "{text}"
    );
    assert!(
        text.contains("`colour` is not an input of playbook `restore`"),
        "{text}"
    );
}

#[test]
fn a_substituted_argument_is_checked_like_a_written_one() {
    let d = playbook()
        .plan(&inputs(&[("to_time", "yesterday")]))
        .expect_err("not a time");
    assert!(
        d.to_string().contains(
            "restore.yaml:15:5: step `restore`: backup.restore: `to_time`: `yesterday` is not a time"
        ),
        "{d}"
    );
}

#[test]
fn an_action_the_role_cannot_run_is_reported_at_its_step() {
    let p = playbook();
    let viewer = p.check_permissions(|perm| BuiltinRole::Viewer.grants(perm));
    let lines: Vec<usize> = viewer.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![15, 19], "{viewer}");
    assert!(
        viewer
            .to_string()
            .contains("backup.restore needs the permission backups.restore"),
        "{viewer}"
    );
    assert!(p.check_permissions(|_| true).is_empty());
    let no_silence = p.check_permissions(|perm| perm != Permission::AlertsSilence);
    assert_eq!(no_silence.len(), 1);
}
