//! Properties over many generated inputs, in the normal test run: nothing
//! a file holds panics the parser or the planner, and a valid playbook
//! written out as JSON (which is YAML too) reads back as the same playbook.

use std::collections::BTreeMap;
use std::time::Duration;

use opsdeck_playbook::{
    parse, ActionName, ArgKind, ArgValue, Comparison, ConditionSpec, Input, InputType, OnFailure,
    Playbook, Position, Scalar, Severity, Step, StepKind, Threshold,
};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../builtin/postgres-failover.yaml");

/// Parses and, when that succeeds, plans with no inputs and with junk ones:
/// the point is only that neither panics.
fn exercise(text: &str) {
    if let Ok(p) = parse("prop.yaml", text) {
        let _ = p.plan(&BTreeMap::new());
        let junk: BTreeMap<String, String> = p
            .inputs
            .keys()
            .map(|k| (k.clone(), "${inputs.x}".to_owned()))
            .collect();
        let _ = p.plan(&junk);
        let _ = p.check_permissions(|_| false);
    }
}

/// Pieces that YAML and the format give meaning to, so generated text
/// reaches past the tokenizer into the checks.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just("- ".to_owned()),
        Just(": ".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(", ".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("---\n".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("|\n".to_owned()),
        Just("${inputs.cluster}".to_owned()),
        Just("${".to_owned()),
        Just("< 0.5".to_owned()),
        Just("== ${inputs.n}".to_owned()),
        Just("10s".to_owned()),
        Just("99999999999999999999d".to_owned()),
        prop::sample::select(vec![
            "version",
            "id",
            "title",
            "severity",
            "steps",
            "inputs",
            "type",
            "default",
            "note",
            "manual",
            "action",
            "check",
            "wait_until",
            "approval",
            "name",
            "args",
            "query",
            "condition",
            "interval",
            "timeout",
            "on_failure",
            "goto",
            "role",
            "reason",
            "instructions",
            "checklist",
            "cluster",
            "target",
            "to_time",
            "matchers",
            "cluster.failover",
            "backup.restore",
            "silence.create",
            "P1",
            "1",
            "-1",
            "0.01",
            "integer",
            "number",
            "duration",
            "abort",
            "continue",
            "now-5m",
            "true",
            "~",
        ])
        .prop_map(str::to_owned),
        "[a-z_.${}<>=!-]{1,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn yaml_shaped() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..120).prop_map(|t| t.concat())
}

/// The example with lines dropped, doubled or swapped for generated ones.
fn mutated_example() -> impl Strategy<Value = String> {
    let lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
    let n = lines.len();
    prop::collection::vec((0..n, 0..3u8, yaml_shaped()), 1..6).prop_map(move |edits| {
        let mut out = lines.clone();
        for (at, op, text) in edits {
            let at = at.min(out.len().saturating_sub(1));
            match op {
                0 if !out.is_empty() => {
                    out.remove(at);
                }
                1 if !out.is_empty() => {
                    let line = out[at].clone();
                    out.insert(at, line);
                }
                _ => out.insert(at, text),
            }
        }
        out.join("\n")
    })
}

fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4}){0,2}"
}

fn text() -> impl Strategy<Value = String> {
    // Printable text that YAML can hold; JSON quotes it.
    "[A-Za-z0-9 ,.:'#&*!?()éü-]{1,30}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (any::<i32>()).prop_map(|i| (InputType::Integer, Some(Scalar::Integer(i64::from(i))))),
        // Few digits: serde_json reads long decimals back a last bit off.
        (-1_000_000i32..1_000_000, 0u8..4).prop_map(|(n, scale)| {
            let f = f64::from(n) / 10f64.powi(i32::from(scale));
            (InputType::Number, Some(Scalar::Number(f)))
        }),
        any::<bool>().prop_map(|b| (InputType::Boolean, Some(Scalar::Boolean(b)))),
        text().prop_map(|s| (InputType::String, Some(Scalar::String(s)))),
        "[a-z][a-z0-9-]{0,8}".prop_map(|s| (InputType::Cluster, Some(Scalar::String(s)))),
        Just((InputType::Tenant, None)),
        Just((InputType::Duration, Some(Scalar::String("5m".into())))),
    ]
    .prop_flat_map(|(kind, default)| {
        (Just(kind), Just(default), prop::option::of(text())).prop_map(
            |(kind, default, description)| Input {
                kind,
                default,
                description,
                position: Position::default(),
            },
        )
    })
}

fn condition() -> impl Strategy<Value = ConditionSpec> {
    (
        prop::sample::select(Comparison::ALL.to_vec()),
        -1000i32..1000,
        0u8..4,
    )
        .prop_map(|(op, n, scale)| ConditionSpec {
            op,
            value: Threshold::Number(f64::from(n) / 10f64.powi(i32::from(scale))),
        })
}

fn duration() -> impl Strategy<Value = Duration> {
    (1u64..3600).prop_map(Duration::from_secs)
}

fn action() -> impl Strategy<Value = StepKind> {
    prop::sample::select(ActionName::ALL.to_vec()).prop_map(|name| {
        let args = name
            .args()
            .iter()
            .filter(|a| a.required)
            .map(|a| {
                let value = match a.kind {
                    ArgKind::OneOf(words) => ArgValue::Text(words[0].to_owned()),
                    ArgKind::Matchers => ArgValue::List(vec!["alertname=DiskFilling".into()]),
                    ArgKind::Duration => ArgValue::Text("2h".into()),
                    ArgKind::Time => ArgValue::Text("now-5m".into()),
                    _ => ArgValue::Text("main".into()),
                };
                (a.name.to_owned(), value)
            })
            .collect();
        StepKind::Action { name, args }
    })
}

fn kind() -> impl Strategy<Value = StepKind> {
    prop_oneof![
        text().prop_map(|text| StepKind::Note { text }),
        (text(), prop::collection::vec(text(), 0..3)).prop_map(|(instructions, checklist)| {
            StepKind::Manual {
                instructions,
                checklist,
            }
        }),
        (id(), text()).prop_map(|(role, reason)| StepKind::Approval { role, reason }),
        (text(), condition()).prop_map(|(query, condition)| StepKind::Check { query, condition }),
        (text(), condition(), duration(), duration()).prop_map(|(query, condition, a, b)| {
            StepKind::WaitUntil {
                query,
                condition,
                interval: a.min(b),
                timeout: a.max(b),
            }
        }),
        action(),
    ]
}

fn playbook() -> impl Strategy<Value = Playbook> {
    (
        id(),
        text(),
        prop::option::of(text()),
        prop::sample::select(Severity::ALL.to_vec()),
        prop::collection::vec("[A-Z][A-Za-z]{2,12}", 0..3),
        prop::collection::btree_map("[a-z][a-z0-9_]{0,8}", input(), 0..4),
        prop::collection::vec(
            (
                prop::option::of(text()),
                kind(),
                0u8..4,
                any::<prop::sample::Index>(),
            ),
            1..8,
        ),
    )
        .prop_map(
            |(id, title, description, severity, suggested_by, inputs, raw_steps)| {
                let count = raw_steps.len();
                let steps = raw_steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (title, kind, fail, target))| {
                        let on_failure = match fail {
                            1 => OnFailure::Continue,
                            // Only later steps may be gone to.
                            2 if i + 1 < count => OnFailure::Goto(format!(
                                "step-{}",
                                i + 1 + target.index(count - i - 1)
                            )),
                            _ => OnFailure::Abort,
                        };
                        Step {
                            id: format!("step-{i}"),
                            title,
                            kind,
                            on_failure,
                            position: Position::default(),
                        }
                    })
                    .collect();
                Playbook {
                    version: 1,
                    id,
                    title,
                    description: description.unwrap_or_default(),
                    severity,
                    suggested_by,
                    inputs,
                    steps,
                    source: String::new(),
                }
            },
        )
}

/// What serde does not carry: where things were read from.
fn without_positions(mut p: Playbook) -> Playbook {
    p.source.clear();
    for input in p.inputs.values_mut() {
        input.position = Position::default();
    }
    for step in &mut p.steps {
        step.position = Position::default();
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // A failure prints its minimal input; no file is written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser_or_planner(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_shaped_text_never_panics_the_parser_or_planner(text in yaml_shaped()) {
        exercise(&text);
    }

    #[test]
    fn a_mutated_builtin_never_panics_the_parser_or_planner(text in mutated_example()) {
        exercise(&text);
    }

    #[test]
    fn a_valid_playbook_round_trips_through_serde_and_the_parser(p in playbook()) {
        let json = serde_json::to_string_pretty(&p).expect("a playbook serializes");
        let back: Playbook = serde_json::from_str(&json).expect("and deserializes");
        prop_assert_eq!(&back, &p);
        // JSON is YAML: the parser must read what serde writes as the same playbook.
        let read = parse("roundtrip.json", &json).map_err(|d| TestCaseError::fail(format!("{d}\n{json}")))?;
        prop_assert_eq!(without_positions(read), p);
    }
}
