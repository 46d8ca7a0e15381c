//! Any text: the parser, the planner and the permission check return and
//! never panic; what the parser accepts, serde writes as JSON (which is
//! YAML too) and the parser reads back as the same playbook.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use opsdeck_playbook::{parse, Playbook, Position};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(playbook) = parse("fuzz.yaml", text) else {
        return;
    };
    let _ = playbook.plan(&BTreeMap::new());
    let _ = playbook.check_permissions(|_| false);
    let json = serde_json::to_string(&playbook).expect("a parsed playbook serializes");
    match parse("fuzz.json", &json) {
        Ok(back) => assert_eq!(
            without_positions(back),
            without_positions(playbook),
            "{json}"
        ),
        Err(d) => panic!("a parsed playbook does not read back from its JSON:\n{d}\n{json}"),
    }
});

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
