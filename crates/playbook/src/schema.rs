//! The JSON Schema of the format, for editors' completion and checks. Its
//! committed copy is `crates/playbook/playbook.schema.json`; a test fails
//! when the two drift (`OPSDECK_BLESS=1 cargo test -p opsdeck-playbook schema`
//! rewrites it).

use crate::model::Playbook;

/// The schema as pretty JSON, exactly as committed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Playbook);
    let mut json =
        serde_json::to_string_pretty(&schema).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schema_matches_the_model() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbook.schema.json");
        let generated = json_schema();
        if std::env::var_os("OPSDECK_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write crates/playbook/playbook.schema.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "crates/playbook/playbook.schema.json is out of date with the model: \
             run `OPSDECK_BLESS=1 cargo test -p opsdeck-playbook schema` and commit the result"
        );
    }
}
