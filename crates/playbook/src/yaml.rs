//! Reads YAML text into a small tree whose every node knows its line and
//! column, on top of saphyr-parser's event stream. Building the tree here,
//! not through serde, is what lets lint report every problem at once, and
//! lets us bound what a file may cost: its size, its nesting and how far its
//! aliases expand are all counted while the events arrive, so a hostile file
//! is refused before it can take time or memory.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use crate::model::Position;

/// Biggest playbook file read, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Deepest nesting of mappings and sequences; a playbook needs about six.
pub const MAX_DEPTH: usize = 32;
/// Most nodes a document may have once its aliases are expanded, weighed as
/// one per node plus one per 64 bytes of scalar text.
pub const MAX_WEIGHT: usize = 200_000;

/// A YAML node and where it starts.
#[derive(Debug, Clone)]
pub struct Node {
    pub at: Position,
    pub value: Value,
    /// What the node and everything under it weigh (see [`MAX_WEIGHT`]).
    weight: usize,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar's text; `plain` when unquoted, so it may be a number or a boolean.
    Scalar {
        text: Rc<str>,
        plain: bool,
    },
    Seq(Rc<Vec<Node>>),
    Map(Rc<Vec<(Node, Node)>>),
}

/// A scalar's meaning under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn typed(&self) -> Option<Typed<'_>> {
        let Value::Scalar { text, plain } = &self.value else {
            return None;
        };
        if !plain {
            return Some(Typed::Str(text));
        }
        Some(match &**text {
            "" | "~" | "null" | "Null" | "NULL" => Typed::Null,
            "true" | "True" | "TRUE" => Typed::Bool(true),
            "false" | "False" | "FALSE" => Typed::Bool(false),
            t => {
                if let Ok(i) = t.parse::<i64>() {
                    Typed::Int(i)
                } else if looks_numeric(t) {
                    match t.parse::<f64>() {
                        Ok(f) => Typed::Float(f),
                        Err(_) => Typed::Str(t),
                    }
                } else {
                    Typed::Str(t)
                }
            }
        })
    }

    /// What kind of node this is, in words, for messages.
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } => match self.typed() {
                Some(Typed::Null) => "empty",
                Some(Typed::Bool(_)) => "a boolean",
                Some(Typed::Int(_)) => "an integer",
                Some(Typed::Float(_)) => "a number",
                _ => "text",
            },
        }
    }
}

/// Rust's float parser also takes `inf`, `nan` and `infinity`; YAML spells
/// those `.inf` and `.nan`, and a playbook has no use for them as numbers.
fn looks_numeric(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    t.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

/// Why a text could not be read as YAML at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub at: Position,
    pub message: String,
}

fn position(marker: &saphyr_parser::Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

fn scan_error(e: &ScanError) -> ReadError {
    let at = position(e.marker());
    // The scanner has its own cap on flow nesting; say it as ours.
    if e.info().contains("recursion limit") {
        return too_deep(at);
    }
    ReadError {
        at,
        message: format!("not valid YAML: {}", e.info()),
    }
}

enum Open {
    Seq(Position, Vec<Node>, usize, usize),
    Map(Position, Vec<(Node, Node)>, Option<Node>, usize, usize),
}

/// Reads one YAML document. Refuses more than one document, more than
/// [`MAX_FILE_BYTES`], nesting deeper than [`MAX_DEPTH`] and aliases that
/// would expand past [`MAX_WEIGHT`].
pub fn read(text: &str) -> Result<Option<Node>, ReadError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(ReadError {
            at: Position::default(),
            message: format!(
                "the file is {} bytes; a playbook may be at most {} KiB",
                text.len(),
                MAX_FILE_BYTES / 1024
            ),
        });
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut total_weight = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        let at = position(&span.start);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(ReadError {
                        at,
                        message: "a playbook file holds one YAML document; remove the second `---`"
                            .into(),
                    });
                }
                None
            }
            Event::Alias(id) => {
                let Some(node) = anchors.get(&id) else {
                    return Err(ReadError {
                        at,
                        message: "an alias to an anchor that is not defined before it".into(),
                    });
                };
                Some((node.clone(), 0))
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let weight = 1 + value.len() / 64;
                let node = Node {
                    at,
                    value: Value::Scalar {
                        text: Rc::from(value.as_ref()),
                        plain: matches!(style, ScalarStyle::Plain),
                    },
                    weight,
                };
                Some((node, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(at));
                }
                stack.push(Open::Seq(at, Vec::new(), anchor, 1));
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(at));
                }
                stack.push(Open::Map(at, Vec::new(), None, anchor, 1));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(at, items, anchor, weight)) => Some((
                    Node {
                        at,
                        value: Value::Seq(Rc::new(items)),
                        weight,
                    },
                    anchor,
                )),
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(at, entries, _, anchor, weight)) => Some((
                    Node {
                        at,
                        value: Value::Map(Rc::new(entries)),
                        weight,
                    },
                    anchor,
                )),
                _ => None,
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        // Aliases are counted at their full expanded weight every time they
        // appear: that is what a reader of the tree walks.
        total_weight = total_weight.saturating_add(node.weight);
        if total_weight > MAX_WEIGHT {
            return Err(ReadError {
                at: node.at,
                message: format!(
                    "the document expands past {MAX_WEIGHT} nodes (through anchors and aliases, or sheer size); a playbook is far smaller"
                ),
            });
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq(_, items, _, weight)) => {
                *weight = weight.saturating_add(node.weight);
                items.push(node);
            }
            Some(Open::Map(_, entries, key, _, weight)) => {
                *weight = weight.saturating_add(node.weight);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }
    Ok(root)
}

fn too_deep(at: Position) -> ReadError {
    ReadError {
        at,
        message: format!("nesting deeper than {MAX_DEPTH} levels; a playbook needs far fewer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_one_based_lines_and_columns() {
        let node = read("a: 1\nb:\n  - x\n  - 'y'\n")
            .expect("valid")
            .expect("a document");
        let Value::Map(entries) = &node.value else {
            panic!("a mapping")
        };
        let (key, value) = &entries[1];
        assert_eq!(key.at, Position { line: 2, column: 1 });
        let Value::Seq(items) = &value.value else {
            panic!("a list")
        };
        assert_eq!(items[1].at, Position { line: 4, column: 5 });
        assert_eq!(items[1].typed(), Some(Typed::Str("y")));
        assert_eq!(entries[0].1.typed(), Some(Typed::Int(1)));
    }

    #[test]
    fn words_that_rust_reads_as_floats_stay_text() {
        let node = read("[inf, nan, 1.5, 1e3, infinity]")
            .expect("valid")
            .expect("a document");
        let Value::Seq(items) = &node.value else {
            panic!("a list")
        };
        let typed: Vec<_> = items.iter().map(|n| n.typed()).collect();
        assert_eq!(typed[0], Some(Typed::Str("inf")));
        assert_eq!(typed[1], Some(Typed::Str("nan")));
        assert_eq!(typed[2], Some(Typed::Float(1.5)));
        assert_eq!(typed[3], Some(Typed::Float(1000.0)));
        assert_eq!(typed[4], Some(Typed::Str("infinity")));
    }

    #[test]
    fn a_second_document_is_refused() {
        let err = read("a: 1\n---\nb: 2\n").expect_err("two documents");
        assert_eq!(err.at.line, 2);
    }
}
