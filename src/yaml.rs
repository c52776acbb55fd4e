//! Every YAML call of the program, so swapping the YAML library is a one-file change.
//!
//! serde-saphyr is used because it reports line/column with snippets and rejects duplicate
//! map keys (the serde_yaml family silently keeps the last one). Besides plain
//! deserialisation, this module builds a positioned node tree (from serde-saphyr's event
//! parser) so validators can report *every* problem of a file with its line and column.
//!
//! Nothing here ever puts a scalar value into an error message: values may be secrets.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

/// A YAML error with its 1-based position, when known. The message never contains the
/// offending scalar value (it may be a secret).
#[derive(Debug, Clone)]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Budget shared by the tree builder and the deserialiser: bounded work on hostile input.
pub mod limits {
    /// Largest document accepted, in bytes.
    pub const MAX_BYTES: usize = 4 * 1024 * 1024;
    /// Most nodes a document may expand to (aliases included): a billion-laughs file stops here.
    pub const MAX_NODES: usize = 200_000;
    /// Deepest nesting of collections accepted (an inventory needs fewer than 10).
    pub const MAX_DEPTH: usize = 64;
    /// Most aliases (`*name`) in one document.
    pub const MAX_ALIASES: usize = 10_000;
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_aliases: limits::MAX_ALIASES,
            max_depth: limits::MAX_DEPTH,
            max_nodes: limits::MAX_NODES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits::MAX_NODES,
        },
        merge_keys: serde_saphyr::options::MergeKeyPolicy::Error,
    }
}

/// Deserialises a document (bounded by [`limits`]). The error message is built here and never
/// quotes the document: serde-saphyr's own messages may contain the offending scalar.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    if text.len() > limits::MAX_BYTES {
        return Err(YamlError {
            line: None,
            column: None,
            message: format!("document is larger than {} bytes", limits::MAX_BYTES),
        });
    }
    serde_saphyr::from_str_with_options::<T>(text, options()).map_err(|e| {
        let (line, column) = match e.location() {
            Some(loc) => (Some(loc.line() as usize), Some(loc.column() as usize)),
            None => (None, None),
        };
        YamlError {
            line,
            column,
            message: "value does not match the expected format".into(),
        }
    })
}

/// A position in the source: 1-based line and column (in characters), and the character index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub index: usize,
}

/// How a scalar was written; quoted and block scalars are always strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// A node of the positioned tree.
#[derive(Debug, Clone)]
pub enum Value {
    Scalar {
        text: String,
        style: Style,
        /// Explicit tag suffix (`str`, `int`, …), if any.
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    /// Entries in source order; keys are nodes so their positions are kept.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with its source span.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub start: Pos,
    pub end: Pos,
}

/// The YAML 1.2 core-schema reading of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str(&'a str),
}

impl Node {
    /// Core-schema resolution of a scalar node (`None` for collections).
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        let Value::Scalar { text, style, tag } = &self.value else {
            return None;
        };
        match tag.as_deref() {
            Some("str") => return Some(Scalar::Str(text)),
            Some("null") => return Some(Scalar::Null),
            _ => {}
        }
        if *style != Style::Plain {
            return Some(Scalar::Str(text));
        }
        let t = text.as_str();
        Some(match t {
            "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
            "true" | "True" | "TRUE" => Scalar::Bool(true),
            "false" | "False" | "FALSE" => Scalar::Bool(false),
            _ => {
                if let Some(i) = parse_int(t) {
                    Scalar::Int(i)
                } else if is_float(t) {
                    Scalar::Float
                } else {
                    Scalar::Str(t)
                }
            }
        })
    }

    /// The scalar text if the node is any scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks up a mapping entry by (string) key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sequence items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// A short name for the node's kind, for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } => match self.scalar() {
                Some(Scalar::Null) => "null",
                Some(Scalar::Bool(_)) => "a boolean",
                Some(Scalar::Int(_)) => "an integer",
                Some(Scalar::Float) => "a number",
                _ => "a string",
            },
        }
    }

    fn size(&self) -> usize {
        match &self.value {
            Value::Scalar { .. } => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }

    fn depth(&self) -> usize {
        match &self.value {
            Value::Scalar { .. } => 0,
            Value::Seq(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.depth().max(v.depth()))
                    .max()
                    .unwrap_or(0)
            }
        }
    }
}

fn parse_int(t: &str) -> Option<i128> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = body.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn is_float(t: &str) -> bool {
    matches!(
        t,
        ".inf" | ".Inf" | ".INF" | "-.inf" | "+.inf" | ".nan" | ".NaN" | ".NAN"
    ) || (t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && t.parse::<f64>().is_ok())
}

/// One problem found while building the tree; parsing may go on after some (duplicate keys).
#[derive(Debug, Clone)]
pub struct TreeIssue {
    pub pos: Pos,
    pub message: String,
    /// Where the same thing was seen first (duplicate keys).
    pub first: Option<Pos>,
    /// Width of the offending text in characters (at least 1).
    pub len: usize,
}

impl TreeIssue {
    /// The diagnostic code of this problem (see [`crate::diag::code`]).
    pub fn code(&self) -> &'static str {
        if self.first.is_some() {
            crate::diag::code::DUPLICATE_KEY
        } else {
            crate::diag::code::SYNTAX
        }
    }
}

/// Result of [`parse_tree`]: the root (absent for an empty document or a fatal error) and
/// every problem found.
#[derive(Debug, Default)]
pub struct Tree {
    pub root: Option<Node>,
    pub issues: Vec<TreeIssue>,
}

fn pos_of(span: &Span, end: bool) -> Pos {
    let m = if end { span.end } else { span.start };
    Pos {
        line: m.line(),
        col: m.col() + 1,
        index: m.index(),
    }
}

enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        seen: HashMap<String, Pos>,
    },
}

/// Parses one YAML document into a positioned tree, within [`limits`]. Syntax errors end the
/// parse (one issue); duplicate keys and similar problems are collected and parsing goes on.
pub fn parse_tree(text: &str) -> Tree {
    let mut tree = Tree::default();
    if text.len() > limits::MAX_BYTES {
        tree.issues.push(TreeIssue {
            pos: Pos {
                line: 1,
                col: 1,
                index: 0,
            },
            message: format!("file is larger than {} bytes", limits::MAX_BYTES),
            first: None,
            len: 1,
        });
        return tree;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut aliases = 0usize;
    let mut documents = 0usize;
    let fatal = |tree: &mut Tree, pos: Pos, message: String| {
        tree.issues.push(TreeIssue {
            pos,
            message,
            first: None,
            len: 1,
        });
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                let kind = e.kind().to_string();
                let pos = Pos {
                    line: m.line().max(1),
                    col: m.col() + 1,
                    index: m.index(),
                };
                fatal(
                    &mut tree,
                    pos,
                    format!("YAML syntax error: {}", safe_kind(&kind)),
                );
                tree.root = None;
                return tree;
            }
        };
        let (node, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::Comment(..) | Event::Anchor(..) => continue,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    fatal(
                        &mut tree,
                        pos_of(&span, false),
                        "only one YAML document is allowed in this file".into(),
                    );
                    return tree;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                let node = Node {
                    value: Value::Scalar {
                        text: value.into_owned(),
                        style,
                        tag: tag.map(|t| t.suffix().to_string()),
                    },
                    start: pos_of(&span, false),
                    end: pos_of(&span, true),
                };
                (node, anchor)
            }
            Event::Alias(id) => {
                aliases += 1;
                let pos = pos_of(&span, false);
                if aliases > limits::MAX_ALIASES {
                    fatal(
                        &mut tree,
                        pos,
                        format!("more than {} aliases in one document", limits::MAX_ALIASES),
                    );
                    return tree;
                }
                let Some(target) = anchors.get(&id) else {
                    fatal(
                        &mut tree,
                        pos,
                        "alias refers to an anchor that is not complete yet (recursive alias)"
                            .into(),
                    );
                    return tree;
                };
                let size = target.size();
                if nodes + size > limits::MAX_NODES {
                    fatal(
                        &mut tree,
                        pos,
                        format!(
                            "aliases expand the document beyond {} nodes (alias bomb?)",
                            limits::MAX_NODES
                        ),
                    );
                    return tree;
                }
                nodes += size;
                let mut node = target.clone();
                // The copy is reported where the alias is written.
                node.start = pos;
                node.end = pos_of(&span, true);
                (node, 0)
            }
            Event::UnresolvedAlias(_) => {
                fatal(
                    &mut tree,
                    pos_of(&span, false),
                    "alias refers to an unknown anchor".into(),
                );
                return tree;
            }
            Event::SequenceStart(_, anchor, _) => {
                if stack.len() >= limits::MAX_DEPTH {
                    fatal(
                        &mut tree,
                        pos_of(&span, false),
                        format!("nesting deeper than {} levels", limits::MAX_DEPTH),
                    );
                    return tree;
                }
                stack.push(Frame::Seq {
                    start: pos_of(&span, false),
                    anchor,
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                if stack.len() >= limits::MAX_DEPTH {
                    fatal(
                        &mut tree,
                        pos_of(&span, false),
                        format!("nesting deeper than {} levels", limits::MAX_DEPTH),
                    );
                    return tree;
                }
                stack.push(Frame::Map {
                    start: pos_of(&span, false),
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                    seen: HashMap::new(),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) => (
                    Node {
                        value: Value::Seq(items),
                        start,
                        end: pos_of(&span, true),
                    },
                    anchor,
                ),
                Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) => (
                    Node {
                        value: Value::Map(entries),
                        start,
                        end: pos_of(&span, true),
                    },
                    anchor,
                ),
                None => continue,
            },
            _ => continue,
        };
        nodes += 1;
        if nodes > limits::MAX_NODES {
            fatal(
                &mut tree,
                node.start,
                format!("document has more than {} nodes", limits::MAX_NODES),
            );
            return tree;
        }
        if node.depth() + stack.len() > limits::MAX_DEPTH {
            fatal(
                &mut tree,
                node.start,
                format!("nesting deeper than {} levels", limits::MAX_DEPTH),
            );
            return tree;
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => tree.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                seen,
                ..
            }) => match pending_key.take() {
                None => {
                    if let Value::Scalar { text, style, .. } = &node.value {
                        if text == "<<" && *style == Style::Plain {
                            tree.issues.push(TreeIssue {
                                pos: node.start,
                                message:
                                    "merge keys (`<<`) are not supported; write the fields out"
                                        .into(),
                                first: None,
                                len: 2,
                            });
                        } else if let Some(first) = seen.get(text) {
                            tree.issues.push(TreeIssue {
                                pos: node.start,
                                message: format!(
                                    "duplicate key `{}` in mapping",
                                    printable_key(text)
                                ),
                                first: Some(*first),
                                len: text.chars().count().max(1),
                            });
                        } else {
                            seen.insert(text.clone(), node.start);
                        }
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    tree
}

/// A mapping key quoted in a message: short, printable, and never a credential-looking value
/// (callers mask the rendered text; this keeps the message readable).
fn printable_key(k: &str) -> String {
    if k.len() > 40 || k.bytes().any(|b| b.is_ascii_digit()) && k.len() >= 16 {
        return "<redacted>".into();
    }
    k.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Parser error kinds never contain more than one character of input, but keep them short and
/// printable regardless.
fn safe_kind(kind: &str) -> String {
    let s: String = kind
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if s.trim().is_empty() {
        "invalid YAML".into()
    } else {
        s
    }
}

/// A deserialised value with the position it was written at (policy files need it to point
/// CEL errors at the exact line and column).
pub use serde_saphyr::Spanned;

/// 1-based (line, column) of a spanned value.
pub fn position<T>(s: &Spanned<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_positions_and_duplicates() {
        let t = parse_tree("a: 1\nb:\n  - x\n  - {c: d}\na: 2\n");
        let root = t.root.expect("root");
        assert_eq!(root.get("b").expect("b").items().len(), 2);
        let c = root.get("b").expect("b").items()[1].get("c").expect("c");
        assert_eq!((c.start.line, c.start.col), (4, 9));
        assert_eq!(t.issues.len(), 1);
        assert_eq!((t.issues[0].pos.line, t.issues[0].pos.col), (5, 1));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            y.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        let t = parse_tree(&y);
        assert!(t.root.is_none());
        assert!(t.issues[0].message.contains("alias"));
        assert!(from_str::<serde_json::Value>(&y).is_err());
    }

    #[test]
    fn scalars_resolve() {
        let t = parse_tree("a: 1\nb: '1'\nc: true\nd: ~\ne: x\n")
            .root
            .expect("root");
        assert_eq!(t.get("a").and_then(Node::scalar), Some(Scalar::Int(1)));
        assert_eq!(t.get("b").and_then(Node::scalar), Some(Scalar::Str("1")));
        assert_eq!(t.get("c").and_then(Node::scalar), Some(Scalar::Bool(true)));
        assert_eq!(t.get("d").and_then(Node::scalar), Some(Scalar::Null));
        assert_eq!(t.get("e").and_then(Node::scalar), Some(Scalar::Str("x")));
    }
}
