//! Lint through the public `parse`: what a good file gives, every error of a
//! bad one at its line and column, and hostile files refused in bounded time.

use std::time::{Duration, Instant};

use opsdeck_playbook::{parse, ActionName, Diagnostics, OnFailure, StepKind, Threshold};

const EXAMPLE: &str = r#"version: 1
id: postgres-failover
title: PostgreSQL failover
description: When the primary is lost
severity: P1
suggested_by: [PostgresPrimaryDown]
inputs:
  cluster: { type: cluster, default: pg-main, description: The Patroni cluster }
  max_error_rate: { type: number, default: 0.01 }
steps:
  - id: announce
    note: "Failing over ${inputs.cluster}"
  - id: confirm-down
    title: Confirm the primary is down
    manual:
      instructions: Look at the dashboard
      checklist: [Primary unreachable, Replicas healthy]
  - id: error-rate-ok
    check:
      query: 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'
      condition: "< ${inputs.max_error_rate}"
    on_failure: { goto: rollback }
  - id: approve
    approval: { role: incident-commander, reason: Failover loses in-flight writes }
  - id: failover
    action:
      name: cluster.failover
      args: { cluster: "${inputs.cluster}" }
  - id: healthy-again
    wait_until:
      query: up{job="postgres"}
      condition: "== 1"
      interval: 10s
      timeout: 5m
    on_failure: continue
  - id: rollback
    note: Rolled back
"#;

fn messages(d: &Diagnostics) -> Vec<String> {
    d.iter().map(ToString::to_string).collect()
}

fn has(d: &Diagnostics, line: usize, needle: &str) -> bool {
    d.iter()
        .any(|e| e.line == line && e.column > 0 && e.message.contains(needle))
}

#[test]
fn the_agreed_example_reads_into_the_model() {
    let p = parse("example.yaml", EXAMPLE).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(p.id, "postgres-failover");
    assert_eq!(p.steps.len(), 7);
    assert_eq!(p.source, "example.yaml");
    assert_eq!(p.steps[1].position.line, 13);
    assert!(
        matches!(&p.steps[0].kind, StepKind::Note { text } if text == "Failing over ${inputs.cluster}")
    );
    assert!(
        matches!(&p.steps[2].kind, StepKind::Check { condition, .. } if condition.value == Threshold::Input("max_error_rate".into()))
    );
    assert_eq!(p.steps[2].on_failure, OnFailure::Goto("rollback".into()));
    assert_eq!(p.steps[5].on_failure, OnFailure::Continue);
    assert!(matches!(
        &p.steps[4].kind,
        StepKind::Action {
            name: ActionName::ClusterFailover,
            ..
        }
    ));
}

#[test]
fn every_error_of_a_bad_file_is_reported_with_its_line_and_column() {
    let bad = r#"version: 1
id: Bad_Id
title: Broken
severity: P9
colour: red
inputs:
  count: { type: integer, default: many }
  rate: { type: percentage }
  tenant: { type: tenant }
steps:
  - id: one
    reboot: now
  - id: one
    note: "hello ${inputs.nobody}"
  - id: jump
    note: back
    on_failure: { goto: one }
  - id: nowhere
    note: x
    on_failure: { goto: missing }
  - id: act
    action:
      name: cluster.explode
  - id: act2
    action:
      name: backup.create
      args: { target: main, type: weekly, colour: blue }
  - id: act3
    action:
      name: tenant.suspend
  - id: chk
    check:
      query: up
      condition: "about 1"
  - id: wait
    wait_until: { query: up, condition: "== 1", interval: 10 parsecs, timeout: 5m }
  - title: no id
    note: x
  - id: Two Words
    note: x
  - id: two-kinds
    note: x
    manual: { instructions: y }
"#;
    let d = parse("bad.yaml", bad).expect_err("a bad playbook");
    let all = messages(&d);
    let expect = [
        (2, "`id` `Bad_Id`"),
        (4, "P1, P2, P3 or P4"),
        (5, "unknown key `colour`"),
        (
            7,
            "the default of input `count` is text, but the input is an integer",
        ),
        (8, "unknown type `percentage`"),
        (12, "`reboot` is neither a step kind"),
        (13, "step id `one` is used twice (first at line 11)"),
        (14, "unknown input `nobody`"),
        (17, "goes back to `one`"),
        (20, "`missing`, which is not a step"),
        (23, "unknown action `cluster.explode`"),
        (27, "it must be one of full, incr, diff"),
        (27, "unknown key `colour`"),
        (30, "tenant.suspend needs the argument `tenant`"),
        (34, "condition `about 1` must start with one of"),
        (36, "`interval`: `10 parsecs`"),
        (37, "step 10 is missing `id`"),
        (39, "step id `Two Words`"),
        (43, "more than one kind"),
    ];
    for (line, needle) in expect {
        assert!(
            has(&d, line, needle),
            "no error at line {line} with `{needle}` in:\n{}",
            all.join("\n")
        );
    }
    assert!(all.iter().all(|m| m.starts_with("bad.yaml:")), "{all:?}");
    // In file order, so a reader meets them top to bottom.
    let lines: Vec<usize> = d.iter().map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn a_missing_field_and_an_input_of_the_wrong_type_in_a_condition_or_argument_are_errors() {
    let bad = r#"version: 1
id: x
severity: P2
inputs:
  name: { type: string, default: a }
  tenant: { type: tenant, default: acme }
steps:
  - id: c
    check: { query: up, condition: "> ${inputs.name}" }
  - id: a
    action: { name: cluster.failover, args: { cluster: "${inputs.tenant}" } }
  - id: w
    wait_until: { query: up, condition: "== 1", interval: 10m, timeout: 5m }
"#;
    let d = parse("wrong.yaml", bad).expect_err("errors");
    let all = messages(&d).join("\n");
    assert!(has(&d, 1, "the playbook is missing `title`"), "{all}");
    assert!(
        has(&d, 9, "input `name`, which is string, not a number"),
        "{all}"
    );
    assert!(
        has(&d, 11, "takes cluster, but input `tenant` is tenant"),
        "{all}"
    );
    assert!(has(&d, 13, "`interval` is longer than `timeout`"), "{all}");
}

#[test]
fn a_syntax_error_is_reported_at_its_place() {
    let d = parse("syntax.yaml", "version: 1\nid: [unclosed\n").expect_err("invalid YAML");
    assert_eq!(d.len(), 1);
    assert!(d.0[0].line >= 2, "{d}");
    assert!(d.0[0].message.contains("not valid YAML"), "{d}");
}

fn refused_quickly(name: &str, text: &str, needle: &str) {
    let started = Instant::now();
    let d = parse(name, text).expect_err("refused");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{name} took {took:?}");
    assert!(d.to_string().contains(needle), "{name}: {d}");
}

#[test]
fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
    let mut text = String::from("version: 1\ndescription: \"");
    text.push_str(&"x".repeat(opsdeck_playbook::MAX_FILE_BYTES));
    text.push_str("\"\n");
    refused_quickly("huge.yaml", &text, "at most 256 KiB");
}

#[test]
fn nesting_past_the_depth_cap_is_refused() {
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    refused_quickly("deep-flow.yaml", &text, "nesting deeper than");
    let mut block = String::new();
    for i in 0..200 {
        block.push_str(&" ".repeat(i));
        block.push_str("a:\n");
    }
    refused_quickly("deep-block.yaml", &block, "nesting deeper than");
}

#[test]
fn aliases_that_explode_in_size_are_refused_in_bounded_time() {
    // Each level is nine aliases of the last: 9^9 nodes if expanded.
    let mut text = String::from("a0: &a0 [lol]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let list = [prev.as_str(); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{list}]\n"));
    }
    text.push_str("version: 1\n");
    refused_quickly("laughs.yaml", &text, "expands past");
}

#[test]
fn a_few_harmless_aliases_are_read() {
    let text = EXAMPLE.replace(
        "  - id: rollback\n    note: Rolled back\n",
        "  - id: rollback\n    note: &said Rolled back\n  - id: again\n    note: *said\n",
    );
    let p = parse("aliases.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
    assert!(matches!(&p.steps[7].kind, StepKind::Note { text } if text == "Rolled back"));
}

#[test]
fn an_empty_file_says_what_a_playbook_starts_with() {
    let d = parse("empty.yaml", "").expect_err("empty");
    assert!(d.to_string().contains("empty.yaml:1:1:"), "{d}");
}
