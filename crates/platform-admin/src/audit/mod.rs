//! The audit log: one record per mutation, written by `mutation` in the
//! transaction of the change as the next link of a hash chain, read back
//! by `GET /v1/audit` and checked by `platform-admin audit verify`.

pub mod chain;
pub mod routes;
pub mod store;

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// What a mutation changed, as its audit record tells it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub action: String,
    pub target: String,
    /// Id of the tenant the change is about or made in.
    pub tenant_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(action: &str, target: impl Into<String>) -> Change {
        Change {
            action: action.to_string(),
            target: target.into(),
            ..Change::default()
        }
    }

    pub fn tenant(mut self, id: impl Into<String>) -> Change {
        self.tenant_id = Some(id.into());
        self
    }

    pub fn before(mut self, state: &impl Serialize) -> Result<Change, Error> {
        self.before = Some(serde_json::to_value(state)?);
        Ok(self)
    }

    pub fn after(mut self, state: &impl Serialize) -> Result<Change, Error> {
        self.after = Some(serde_json::to_value(state)?);
        Ok(self)
    }

    /// Before and after of the fields that changed: when both sides are
    /// objects, only the keys whose values differ are kept.
    pub fn changed_fields(&self) -> (Option<Value>, Option<Value>) {
        match (&self.before, &self.after) {
            (Some(Value::Object(before)), Some(Value::Object(after))) => {
                let mut was = serde_json::Map::new();
                let mut is = serde_json::Map::new();
                for key in before.keys().chain(after.keys()) {
                    let (old, new) = (before.get(key), after.get(key));
                    if old != new {
                        if let Some(old) = old {
                            was.insert(key.clone(), old.clone());
                        }
                        if let Some(new) = new {
                            is.insert(key.clone(), new.clone());
                        }
                    }
                }
                (Some(Value::Object(was)), Some(Value::Object(is)))
            }
            (before, after) => (before.clone(), after.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_kept() {
        let change = Change::new("tenant.update", "tenant:acme")
            .before(&json!({"name": "Acme", "plan": "free", "slug": "acme"}))
            .and_then(|c| c.after(&json!({"name": "Acme Inc", "plan": "free", "slug": "acme"})))
            .expect("json");
        let (before, after) = change.changed_fields();
        assert_eq!(before, Some(json!({"name": "Acme"})));
        assert_eq!(after, Some(json!({"name": "Acme Inc"})));
    }
}
