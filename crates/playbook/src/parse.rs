//! Lint: turns a YAML tree into a [`Playbook`], reporting every problem at
//! once, each at its line and column, instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::diagnostics::Diagnostics;
use crate::model::{
    parse_duration, resolve_time, ActionName, ArgKind, ArgSpec, ArgValue, ConditionSpec, Input,
    InputType, OnFailure, Playbook, Position, Scalar, Severity, Step, StepKind, Threshold,
    FORMAT_VERSION, STEP_KINDS,
};
use crate::yaml::{self, Node, Typed, Value};

/// Longest id, input name or step id.
const MAX_NAME: usize = 64;
/// Longest a wait may last; a run that waits longer is not a playbook step.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Reads a playbook file. `name` is how diagnostics name the file.
pub fn parse(name: &str, text: &str) -> Result<Playbook, Diagnostics> {
    let mut cx = Cx {
        file: name,
        diags: Diagnostics::new(),
        declared: Some(BTreeMap::new()),
    };
    let root = match yaml::read(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            cx.err(
                Position { line: 1, column: 1 },
                "the file is empty; a playbook starts with `version: 1`",
            );
            return Err(cx.diags);
        }
        Err(e) => {
            cx.err(e.at, e.message);
            return Err(cx.diags);
        }
    };
    let playbook = cx.playbook(&root);
    match playbook {
        Some(p) => cx.diags.into_result(p),
        None => {
            let mut diags = cx.diags;
            diags.sort();
            Err(diags)
        }
    }
}

/// Whether `id` is a valid playbook or step id: lowercase letters, digits
/// and single dashes between them.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NAME
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Whether `name` is a valid input name: a lowercase letter, then lowercase
/// letters, digits and `_`.
pub fn valid_input_name(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One `${...}` found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference<'a> {
    /// `${inputs.<name>}`
    Input {
        name: &'a str,
        start: usize,
        end: usize,
    },
    /// Something after `${` that is not an input reference.
    Bad { text: &'a str },
}

/// Every `${...}` in `text`, in order.
pub(crate) fn references(text: &str) -> Vec<Reference<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("${") {
        let start = from + found;
        let body_start = start + 2;
        let Some(close) = text[body_start..].find('}') else {
            out.push(Reference::Bad {
                text: &text[start..],
            });
            break;
        };
        let body = &text[body_start..body_start + close];
        let end = body_start + close + 1;
        match body.strip_prefix("inputs.") {
            Some(name) if !name.is_empty() => out.push(Reference::Input { name, start, end }),
            _ => out.push(Reference::Bad {
                text: &text[start..end],
            }),
        }
        from = end;
    }
    out
}

/// Replaces every `${inputs.<name>}` with the value `lookup` gives.
pub(crate) fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in references(text) {
        if let Reference::Input { name, start, end } = r {
            if let Some(value) = lookup(name) {
                out.push_str(&text[last..start]);
                out.push_str(&value);
                last = end;
            }
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Checks one literal (already substituted) action argument against what
/// the action takes.
pub(crate) fn check_arg_value(spec: &ArgSpec, value: &ArgValue) -> Result<(), String> {
    let name = spec.name;
    match (spec.kind, value) {
        (ArgKind::Matchers, ArgValue::List(items)) => {
            if items.is_empty() {
                return Err(format!("`{name}` needs at least one matcher"));
            }
            items.iter().try_for_each(|m| check_matcher(m))
        }
        (ArgKind::Matchers, ArgValue::Text(m)) => check_matcher(m),
        (_, ArgValue::List(_)) => Err(format!("`{name}` takes one value, not a list")),
        (kind, ArgValue::Text(text)) => {
            if text.trim().is_empty() {
                return Err(format!("`{name}` is empty"));
            }
            match kind {
                ArgKind::OneOf(words) if !words.contains(&text.as_str()) => Err(format!(
                    "`{name}` is `{text}`; it must be one of {}",
                    words.join(", ")
                )),
                ArgKind::Time => resolve_time(text, chrono::Utc::now())
                    .map(|_| ())
                    .map_err(|e| format!("`{name}`: {e}")),
                ArgKind::Duration => parse_duration(text)
                    .map(|_| ())
                    .map_err(|e| format!("`{name}`: {e}")),
                ArgKind::Tenant | ArgKind::Cluster | ArgKind::BackupTarget
                    if !text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
                {
                    Err(format!(
                        "`{name}` is `{text}`, which is not a name (letters, digits, '-', '_', '.')"
                    ))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Alertmanager matchers as the console takes them: `name=value`,
/// `name!=value`, `name=~regex`, `name!~regex`; the value may be quoted.
fn check_matcher(text: &str) -> Result<(), String> {
    let Some(at) = text.find(['=', '!']) else {
        return Err(format!(
            "matcher `{text}` is not label=value (or !=, =~, !~)"
        ));
    };
    let label = text[..at].trim();
    let rest = &text[at..];
    if !(rest.starts_with('=') || rest.starts_with("!=") || rest.starts_with("!~")) {
        return Err(format!(
            "matcher `{text}` is not label=value (or !=, =~, !~)"
        ));
    }
    let valid = !label.is_empty()
        && label
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(format!("matcher `{text}`: `{label}` is not a label name"))
    }
}

/// Reads a value given for an input (on the command line, in a run request)
/// as its declared type.
pub fn parse_input(kind: InputType, text: &str) -> Result<Scalar, String> {
    let bad = |what: &str| format!("`{text}` is not {what}");
    match kind {
        InputType::Integer => text
            .trim()
            .parse()
            .map(Scalar::Integer)
            .map_err(|_| bad("an integer")),
        InputType::Number => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Scalar::Number(n)),
            _ => Err(bad("a number")),
        },
        InputType::Boolean => match text.trim() {
            "true" => Ok(Scalar::Boolean(true)),
            "false" => Ok(Scalar::Boolean(false)),
            _ => Err(bad("a boolean (true or false)")),
        },
        InputType::Duration => parse_duration(text).map(|_| Scalar::String(text.trim().to_owned())),
        InputType::String => Ok(Scalar::String(text.to_owned())),
        InputType::Tenant | InputType::Cluster | InputType::BackupTarget => {
            let what = match kind {
                InputType::Tenant => "a tenant slug",
                InputType::Cluster => "a cluster name",
                _ => "a backup target name",
            };
            if !text.is_empty()
                && text.len() <= 128
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                Ok(Scalar::String(text.to_owned()))
            } else {
                Err(format!("{} (letters, digits, '-', '_', '.')", bad(what)))
            }
        }
    }
}

/// The input type an argument kind expects when fed a whole input, if it
/// cares.
fn expected_input(kind: ArgKind) -> Option<&'static [InputType]> {
    match kind {
        ArgKind::Tenant => Some(&[InputType::Tenant, InputType::String]),
        ArgKind::Cluster => Some(&[InputType::Cluster, InputType::String]),
        ArgKind::BackupTarget => Some(&[InputType::BackupTarget, InputType::String]),
        ArgKind::Duration => Some(&[InputType::Duration, InputType::String]),
        ArgKind::Time => Some(&[InputType::String]),
        _ => None,
    }
}

struct Cx<'f> {
    file: &'f str,
    diags: Diagnostics,
    /// Every input name declared, with its type when that could be read;
    /// `None` when `inputs` itself could not be read (references are then
    /// not checked, rather than reported wrongly).
    declared: Option<BTreeMap<String, Option<InputType>>>,
}

/// A mapping's entries by key, after unknown and duplicate keys were reported.
struct Fields<'n> {
    at: Position,
    entries: BTreeMap<&'n str, (&'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.get(key).map(|(_, v)| *v)
    }
}

impl Cx<'_> {
    fn err(&mut self, at: Position, message: impl Into<String>) {
        self.diags.push(self.file, at, message);
    }

    /// A mapping's fields. Reports non-text and duplicate keys, keys not in
    /// `allowed` (unless `allowed` is empty: the caller checks) and missing
    /// `required` ones.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.err(
                node.at,
                format!("{what} must be a mapping, not {}", node.describe()),
            );
            return None;
        };
        let mut out = Fields {
            at: node.at,
            entries: BTreeMap::new(),
        };
        for (key, value) in entries.iter() {
            let Value::Scalar { text, .. } = &key.value else {
                self.err(
                    key.at,
                    format!("a key in {what} must be text, not {}", key.describe()),
                );
                continue;
            };
            let k: &str = text;
            if let Some((first, _)) = out.entries.get(k) {
                let line = first.at.line;
                self.err(
                    key.at,
                    format!("`{k}` appears twice in {what} (first at line {line})"),
                );
                continue;
            }
            if !allowed.is_empty() && !allowed.contains(&k) {
                self.err(
                    key.at,
                    format!(
                        "unknown key `{k}` in {what}; expected {}",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            out.entries.insert(k, (key, value));
        }
        for r in required {
            if !out.entries.contains_key(r) {
                self.err(node.at, format!("{what} is missing `{r}`"));
            }
        }
        Some(out)
    }

    /// A scalar's text; numbers and booleans are read as they are written.
    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match (&node.value, node.typed()) {
            (_, Some(Typed::Null)) => {
                self.err(node.at, format!("{what} is empty"));
                None
            }
            (Value::Scalar { text, .. }, _) => Some(text.to_string()),
            _ => {
                self.err(
                    node.at,
                    format!("{what} must be text, not {}", node.describe()),
                );
                None
            }
        }
    }

    fn opt_text(&mut self, fields: &Fields<'_>, key: &str, what: &str) -> Option<String> {
        fields.get(key).and_then(|n| self.text(n, what))
    }

    fn list_of_text(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let Value::Seq(items) = &node.value else {
            self.err(
                node.at,
                format!("{what} must be a list, not {}", node.describe()),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match self.text(item, &format!("an item of {what}")) {
                Some(t) => out.push(t),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn playbook(&mut self, root: &Node) -> Option<Playbook> {
        const KEYS: [&str; 8] = [
            "version",
            "id",
            "title",
            "description",
            "severity",
            "suggested_by",
            "inputs",
            "steps",
        ];
        let f = self.fields(
            root,
            "the playbook",
            &KEYS,
            &["version", "id", "title", "severity", "steps"],
        )?;
        let version = f.get("version").and_then(|n| match n.typed() {
            Some(Typed::Int(v)) if v == i64::from(FORMAT_VERSION) => Some(FORMAT_VERSION),
            _ => {
                self.err(
                    n.at,
                    format!("`version` must be {FORMAT_VERSION}, the format this Opsdeck reads"),
                );
                None
            }
        });
        let id = f.get("id").and_then(|n| {
            let id = self.text(n, "`id`")?;
            if valid_id(&id) {
                Some(id)
            } else {
                self.err(
                    n.at,
                    format!("`id` `{id}` must be lowercase letters, digits and single '-' (at most {MAX_NAME})"),
                );
                None
            }
        });
        let title = self.opt_text(&f, "title", "`title`");
        let description = f
            .get("description")
            .and_then(|n| self.text(n, "`description`"))
            .unwrap_or_default();
        let severity = f.get("severity").and_then(|n| {
            let text = self.text(n, "`severity`")?;
            let found = Severity::ALL.into_iter().find(|s| s.as_str() == text);
            if found.is_none() {
                self.err(
                    n.at,
                    format!("`severity` is `{text}`; it must be P1, P2, P3 or P4"),
                );
            }
            found
        });
        let suggested_by = match f.get("suggested_by") {
            Some(n) => self.list_of_text(n, "`suggested_by`"),
            None => Some(Vec::new()),
        };
        let inputs = match f.get("inputs") {
            Some(n) => self.inputs(n),
            None => Some(BTreeMap::new()),
        };
        let steps = f.get("steps").and_then(|n| self.steps(n));
        Some(Playbook {
            version: version?,
            id: id?,
            title: title?,
            description,
            severity: severity?,
            suggested_by: suggested_by?,
            inputs: inputs?,
            steps: steps?,
            source: self.file.to_owned(),
        })
    }

    fn inputs(&mut self, node: &Node) -> Option<BTreeMap<String, Input>> {
        self.declared = None;
        let f = self.fields(node, "`inputs`", &[], &[])?;
        let mut declared = BTreeMap::new();
        for (name, (_, value)) in &f.entries {
            let kind = match &value.value {
                Value::Map(entries) => {
                    entries
                        .iter()
                        .find_map(|(k, v)| match (&k.value, &v.value) {
                            (Value::Scalar { text: k, .. }, Value::Scalar { text: v, .. })
                                if &**k == "type" =>
                            {
                                v.parse::<InputType>().ok()
                            }
                            _ => None,
                        })
                }
                _ => None,
            };
            declared.insert((*name).to_owned(), kind);
        }
        self.declared = Some(declared);
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (name, (key, value)) in &f.entries {
            if !valid_input_name(name) {
                self.err(
                    key.at,
                    format!("input name `{name}` must start with a lowercase letter and hold only lowercase letters, digits and '_'"),
                );
                ok = false;
                continue;
            }
            match self.input(name, value) {
                Some(mut input) => {
                    input.position = key.at;
                    out.insert((*name).to_owned(), input);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn input(&mut self, name: &str, node: &Node) -> Option<Input> {
        let what = format!("input `{name}`");
        let f = self.fields(node, &what, &["type", "default", "description"], &["type"])?;
        let kind = f.get("type").and_then(|n| {
            let text = self.text(n, &format!("the type of {what}"))?;
            let found = text.parse::<InputType>().ok();
            if found.is_none() {
                let all: Vec<_> = InputType::ALL.iter().map(|t| t.as_str()).collect();
                self.err(
                    n.at,
                    format!(
                        "{what} has the unknown type `{text}`; use one of {}",
                        all.join(", ")
                    ),
                );
            }
            found
        });
        let description = self.opt_text(&f, "description", &format!("the description of {what}"));
        let kind = kind?;
        let default = match f.get("default") {
            None => None,
            Some(n) => Some(self.default(&what, kind, n)?),
        };
        Some(Input {
            kind,
            default,
            description,
            position: Position::default(),
        })
    }

    fn default(&mut self, what: &str, kind: InputType, node: &Node) -> Option<Scalar> {
        let typed = match node.typed() {
            Some(t) => t,
            None => {
                self.err(
                    node.at,
                    format!(
                        "the default of {what} must be a single value, not {}",
                        node.describe()
                    ),
                );
                return None;
            }
        };
        let value = match (kind, typed) {
            (_, Typed::Null) => {
                Err("is empty; remove `default` to make the input required".to_owned())
            }
            (InputType::Integer, Typed::Int(i)) => Ok(Scalar::Integer(i)),
            (InputType::Number, Typed::Int(i)) => Ok(Scalar::Number(i as f64)),
            (InputType::Number, Typed::Float(f)) => Ok(Scalar::Number(f)),
            (InputType::Boolean, Typed::Bool(b)) => Ok(Scalar::Boolean(b)),
            (InputType::Integer | InputType::Number | InputType::Boolean, _) => Err(format!(
                "is {}, but the input is {} {kind}",
                node.describe(),
                if kind == InputType::Integer {
                    "an"
                } else {
                    "a"
                }
            )),
            (_, Typed::Str(s)) => parse_input(kind, s),
            (_, _) => match &node.value {
                Value::Scalar { text, .. } => parse_input(kind, text),
                _ => Err("is not a single value".to_owned()),
            },
        };
        match value {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(node.at, format!("the default of {what} {e}"));
                None
            }
        }
    }

    /// Reports every `${...}` in `text` that is not a declared input.
    fn check_references(&mut self, at: Position, text: &str, what: &str) -> bool {
        let mut ok = true;
        for r in references(text) {
            match r {
                Reference::Bad { text } => {
                    self.err(
                        at,
                        format!("{what}: `{text}` is not a reference; write ${{inputs.<name>}}"),
                    );
                    ok = false;
                }
                Reference::Input { name, .. } => {
                    if let Some(declared) = &self.declared {
                        if !declared.contains_key(name) {
                            let message = unknown_input(what, name, declared);
                            self.err(at, message);
                            ok = false;
                        }
                    }
                }
            }
        }
        ok
    }

    fn steps(&mut self, node: &Node) -> Option<Vec<Step>> {
        let Value::Seq(items) = &node.value else {
            self.err(
                node.at,
                format!("`steps` must be a list, not {}", node.describe()),
            );
            return None;
        };
        if items.is_empty() {
            self.err(
                node.at,
                "`steps` is empty; a playbook has at least one step",
            );
            return None;
        }
        let mut steps = Vec::new();
        let mut ok = true;
        // Every id read, even of a step with other errors, so gotos and
        // duplicates are still checked.
        let mut ids: HashMap<String, (usize, Position)> = HashMap::new();
        let mut gotos: Vec<(usize, String, Position, String)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let step = self.step(index, item, &mut ids, &mut gotos);
            match step {
                Some(s) => steps.push(s),
                None => ok = false,
            }
        }
        for (from, target, at, step_id) in gotos {
            match ids.get(&target) {
                None => {
                    self.err(
                        at,
                        format!("step `{step_id}` goes to `{target}`, which is not a step of this playbook"),
                    );
                    ok = false;
                }
                Some((to, to_at)) if *to <= from => {
                    self.err(
                        at,
                        format!(
                            "step `{step_id}` goes back to `{target}` (line {}); a goto may only go to a later step, so every run ends",
                            to_at.line
                        ),
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        ok.then_some(steps)
    }

    fn step(
        &mut self,
        index: usize,
        node: &Node,
        ids: &mut HashMap<String, (usize, Position)>,
        gotos: &mut Vec<(usize, String, Position, String)>,
    ) -> Option<Step> {
        let n = index + 1;
        let f = self.fields(node, &format!("step {n}"), &[], &["id"])?;
        let mut kinds: Vec<(&str, &Node, &Node)> = Vec::new();
        let mut bad = false;
        for (key, (key_node, value)) in &f.entries {
            if STEP_KINDS.contains(key) {
                kinds.push((key, key_node, value));
            } else if !matches!(*key, "id" | "title" | "on_failure") {
                self.err(
                    key_node.at,
                    format!(
                        "`{key}` is neither a step kind ({}) nor a step field (id, title, on_failure)",
                        STEP_KINDS.join(", ")
                    ),
                );
                bad = true;
            }
        }
        let id = f.get("id").and_then(|id_node| {
            let id = self.text(id_node, &format!("the id of step {n}"))?;
            if !valid_id(&id) {
                self.err(
                    id_node.at,
                    format!("step id `{id}` must be lowercase letters, digits and single '-'"),
                );
                return None;
            }
            if let Some((_, first)) = ids.get(&id) {
                self.err(
                    id_node.at,
                    format!(
                        "step id `{id}` is used twice (first at line {})",
                        first.line
                    ),
                );
                return None;
            }
            ids.insert(id.clone(), (index, id_node.at));
            Some(id)
        });
        // Named by the id as written even when it is invalid or a duplicate:
        // that is what the reader finds in the file.
        let label = id
            .clone()
            .or_else(|| {
                f.get("id").and_then(|n| match &n.value {
                    Value::Scalar { text, .. } if !text.is_empty() => Some(text.to_string()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| format!("{n}"));
        let what = format!("step `{label}`");
        let title = self.opt_text(&f, "title", &format!("the title of {what}"));
        let on_failure = match f.get("on_failure") {
            None => Some(OnFailure::Abort),
            Some(node) => self.on_failure(node, &what).inspect(|o| {
                if let OnFailure::Goto(target) = o {
                    gotos.push((index, target.clone(), node.at, label.clone()));
                }
            }),
        };
        // Sorted so a step with two kinds gets the same message every time.
        kinds.sort_by_key(|(_, key, _)| key.at);
        let kind = match kinds.as_slice() {
            // An unknown key was reported already, and is likely the kind misspelt.
            [] if bad => None,
            [] => {
                self.err(
                    f.at,
                    format!(
                        "{what} has no kind; give it one of {}",
                        STEP_KINDS.join(", ")
                    ),
                );
                None
            }
            [(kind, _, body)] => self.step_kind(kind, body, &what),
            [_, (second, key, _), ..] => {
                self.err(
                    key.at,
                    format!("{what} has more than one kind (`{}` and `{second}`); split it into two steps", kinds[0].0),
                );
                None
            }
        };
        if bad {
            return None;
        }
        Some(Step {
            id: id?,
            title,
            kind: kind?,
            on_failure: on_failure?,
            position: f.at,
        })
    }

    fn on_failure(&mut self, node: &Node, what: &str) -> Option<OnFailure> {
        let usage = "abort, continue or { goto: <step id> }";
        match &node.value {
            Value::Scalar { text, .. } => match &**text {
                "abort" => Some(OnFailure::Abort),
                "continue" => Some(OnFailure::Continue),
                other => {
                    self.err(
                        node.at,
                        format!("`on_failure` of {what} is `{other}`; it must be {usage}"),
                    );
                    None
                }
            },
            Value::Map(_) => {
                let f = self.fields(
                    node,
                    &format!("`on_failure` of {what}"),
                    &["goto"],
                    &["goto"],
                )?;
                let target = self.text(f.get("goto")?, "`goto`")?;
                Some(OnFailure::Goto(target))
            }
            Value::Seq(_) => {
                self.err(node.at, format!("`on_failure` of {what} must be {usage}"));
                None
            }
        }
    }

    fn step_kind(&mut self, kind: &str, body: &Node, what: &str) -> Option<StepKind> {
        match kind {
            "note" => {
                let text = self.text(body, &format!("the note of {what}"))?;
                self.check_references(body.at, &text, &format!("the note of {what}"))
                    .then_some(StepKind::Note { text })
            }
            "manual" => {
                let f = self.fields(
                    body,
                    &format!("`manual` of {what}"),
                    &["instructions", "checklist"],
                    &["instructions"],
                )?;
                let instructions = f.get("instructions").and_then(|n| {
                    let t = self.text(n, "`instructions`")?;
                    self.check_references(n.at, &t, "`instructions`")
                        .then_some(t)
                });
                let checklist = match f.get("checklist") {
                    None => Some(Vec::new()),
                    Some(n) => {
                        let items = self.list_of_text(n, "`checklist`")?;
                        let mut ok = true;
                        for item in &items {
                            ok &= self.check_references(n.at, item, "`checklist`");
                        }
                        ok.then_some(items)
                    }
                };
                Some(StepKind::Manual {
                    instructions: instructions?,
                    checklist: checklist?,
                })
            }
            "approval" => {
                let f = self.fields(
                    body,
                    &format!("`approval` of {what}"),
                    &["role", "reason"],
                    &["role", "reason"],
                )?;
                let role = f.get("role").and_then(|n| {
                    let role = self.text(n, "`role`")?;
                    if valid_id(&role) {
                        Some(role)
                    } else {
                        self.err(
                            n.at,
                            format!("`role` `{role}` is not a role name (lowercase letters, digits and '-')"),
                        );
                        None
                    }
                });
                let reason = f.get("reason").and_then(|n| {
                    let t = self.text(n, "`reason`")?;
                    self.check_references(n.at, &t, "`reason`").then_some(t)
                });
                Some(StepKind::Approval {
                    role: role?,
                    reason: reason?,
                })
            }
            "check" => {
                let f = self.fields(
                    body,
                    &format!("`check` of {what}"),
                    &["query", "condition"],
                    &["query", "condition"],
                )?;
                let query = self.query(&f);
                let condition = self.condition(&f);
                Some(StepKind::Check {
                    query: query?,
                    condition: condition?,
                })
            }
            "wait_until" => {
                let f = self.fields(
                    body,
                    &format!("`wait_until` of {what}"),
                    &["query", "condition", "interval", "timeout"],
                    &["query", "condition", "interval", "timeout"],
                )?;
                let query = self.query(&f);
                let condition = self.condition(&f);
                let interval = f
                    .get("interval")
                    .and_then(|n| self.duration(n, "`interval`"));
                let timeout = f.get("timeout").and_then(|n| self.duration(n, "`timeout`"));
                if let (Some(i), Some(t), Some(n)) = (interval, timeout, f.get("interval")) {
                    if i < Duration::from_secs(1) {
                        self.err(n.at, "`interval` must be at least 1s");
                        return None;
                    }
                    if t < i {
                        self.err(n.at, "`interval` is longer than `timeout`");
                        return None;
                    }
                }
                if let (Some(t), Some(n)) = (timeout, f.get("timeout")) {
                    if t > MAX_WAIT {
                        self.err(n.at, "`timeout` is longer than 24h");
                        return None;
                    }
                }
                Some(StepKind::WaitUntil {
                    query: query?,
                    condition: condition?,
                    interval: interval?,
                    timeout: timeout?,
                })
            }
            "action" => self.action(body, what),
            _ => None,
        }
    }

    fn query(&mut self, f: &Fields<'_>) -> Option<String> {
        let n = f.get("query")?;
        let q = self.text(n, "`query`")?;
        self.check_references(n.at, &q, "`query`").then_some(q)
    }

    fn condition(&mut self, f: &Fields<'_>) -> Option<ConditionSpec> {
        let n = f.get("condition")?;
        let text = self.text(n, "`condition`")?;
        let spec = match text.parse::<ConditionSpec>() {
            Ok(spec) => spec,
            Err(e) => {
                self.err(n.at, e.0);
                return None;
            }
        };
        if let (Threshold::Input(name), Some(declared)) = (&spec.value, &self.declared) {
            match declared.get(name) {
                None => {
                    let message = unknown_input("`condition`", name, declared);
                    self.err(n.at, message);
                    return None;
                }
                Some(Some(kind)) if !kind.is_numeric() => {
                    self.err(
                        n.at,
                        format!("`condition` compares with input `{name}`, which is {kind}, not a number"),
                    );
                    return None;
                }
                Some(_) => {}
            }
        }
        Some(spec)
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = self.text(node, what)?;
        match parse_duration(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(node.at, format!("{what}: {e}"));
                None
            }
        }
    }

    fn action(&mut self, body: &Node, what: &str) -> Option<StepKind> {
        let f = self.fields(
            body,
            &format!("`action` of {what}"),
            &["name", "args"],
            &["name"],
        )?;
        let name_node = f.get("name")?;
        let name_text = self.text(name_node, "the action's `name`")?;
        let Ok(name) = name_text.parse::<ActionName>() else {
            let all: Vec<_> = ActionName::ALL.iter().map(|a| a.as_str()).collect();
            self.err(
                name_node.at,
                format!(
                    "unknown action `{name_text}`; the actions are {}",
                    all.join(", ")
                ),
            );
            return None;
        };
        let specs = name.args();
        let mut args = BTreeMap::new();
        let mut ok = true;
        let args_node = f.get("args");
        let given = match args_node {
            None => None,
            Some(node) => {
                let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                Some(self.fields(node, &format!("the arguments of {name}"), &names, &[])?)
            }
        };
        for spec in specs {
            let node = given.as_ref().and_then(|g| g.get(spec.name));
            let Some(node) = node else {
                if spec.required {
                    self.err(
                        args_node.map_or(f.at, |n| n.at),
                        format!("{name} needs the argument `{}`", spec.name),
                    );
                    ok = false;
                }
                continue;
            };
            let value = match (&node.value, spec.kind) {
                (Value::Seq(_), ArgKind::Matchers) => self
                    .list_of_text(node, &format!("`{}`", spec.name))
                    .map(ArgValue::List),
                _ => self
                    .text(node, &format!("the argument `{}`", spec.name))
                    .map(ArgValue::Text),
            };
            let Some(value) = value else {
                ok = false;
                continue;
            };
            let texts: Vec<&str> = match &value {
                ArgValue::Text(t) => vec![t.as_str()],
                ArgValue::List(items) => items.iter().map(String::as_str).collect(),
            };
            let arg_what = format!("the argument `{}`", spec.name);
            let mut templated = false;
            for t in &texts {
                ok &= self.check_references(node.at, t, &arg_what);
                templated |= t.contains("${");
            }
            if templated {
                // A whole-value reference to an input of the wrong type is
                // caught now; the substituted value is checked by the plan.
                if let (ArgValue::Text(t), Some(expected)) = (&value, expected_input(spec.kind)) {
                    if let [Reference::Input {
                        name: input,
                        start: 0,
                        end,
                    }] = references(t).as_slice()
                    {
                        let kind = self
                            .declared
                            .as_ref()
                            .and_then(|d| d.get(*input))
                            .copied()
                            .flatten();
                        if let (true, Some(kind)) = (*end == t.len(), kind) {
                            if !expected.contains(&kind) {
                                self.err(
                                    node.at,
                                    format!(
                                        "{arg_what} of {name} takes {}, but input `{input}` is {kind}",
                                        expected[0]
                                    ),
                                );
                                ok = false;
                            }
                        }
                    }
                }
            } else if let Err(e) = check_arg_value(spec, &value) {
                self.err(node.at, format!("{name}: {e}"));
                ok = false;
            }
            args.insert(spec.name.to_owned(), value);
        }
        ok.then_some(StepKind::Action { name, args })
    }
}

fn unknown_input<V>(what: &str, name: &str, inputs: &BTreeMap<String, V>) -> String {
    if inputs.is_empty() {
        format!("{what} uses `${{inputs.{name}}}`, but the playbook declares no inputs")
    } else {
        let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
        format!(
            "{what} uses the unknown input `{name}`; the inputs are {}",
            names.join(", ")
        )
    }
}
