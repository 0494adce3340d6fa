//! The span tree of one YAML document: every node with the byte range it came from, built in
//! the same pass as the document's JSON model (so the two can never disagree).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::events::{Event, EventKind, ScalarStyle};

pub type NodeId = usize;

/// How the file's consumer resolves plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// YAML 1.2 core schema (GitHub Actions, most tools): `yes`/`on` are strings.
    Yaml12,
    /// YAML 1.1 booleans as Helm (go-yaml v2) reads them: `yes`/`no`/`on`/`off`/`y`/`n`.
    Yaml11,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar {
        style: ScalarStyle,
    },
    Mapping {
        flow: bool,
        entries: Vec<Entry>,
    },
    Sequence {
        flow: bool,
        items: Vec<NodeId>,
    },
    /// `*name`: the value is a copy of the anchored node; its text is not editable in place.
    Alias,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// Byte range of the key token (quotes included).
    pub key_span: (usize, usize),
    pub value: NodeId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Start of the node's first token (a block sequence starts at its first `-`, a block
    /// mapping at its first key, an empty scalar right after its `:`).
    pub start: usize,
    /// End of the node's last token: trailing blank lines of block scalars and the
    /// whitespace/comments after a block collection are not part of it.
    pub end: usize,
    /// The node carries an anchor or a non-core tag: edits inside it are refused.
    pub special: Option<&'static str>,
    /// A mapping that had the same key twice (the last one wins in the model).
    pub duplicate_keys: bool,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

pub(super) struct Builder<'a> {
    events: &'a [Event],
    pos: usize,
    src: &'a str,
    dialect: Dialect,
    nodes: Vec<Node>,
    anchors: HashMap<String, Value>,
    depth: usize,
}

const MAX_DEPTH: usize = 256;

impl<'a> Builder<'a> {
    pub(super) fn new(events: &'a [Event], pos: usize, src: &'a str, dialect: Dialect) -> Self {
        Builder {
            events,
            pos,
            src,
            dialect,
            nodes: Vec::new(),
            anchors: HashMap::new(),
            depth: 0,
        }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Builds the node starting at the current event; returns the tree and the model.
    pub(super) fn build_document(&mut self) -> Result<(Tree, Value), String> {
        self.nodes.clear();
        self.anchors.clear();
        let (root, value) = self.node()?;
        Ok((
            Tree {
                nodes: std::mem::take(&mut self.nodes),
                root,
            },
            value,
        ))
    }

    fn next(&mut self) -> Result<&'a Event, String> {
        let ev = self
            .events
            .get(self.pos)
            .ok_or("unexpected end of events")?;
        self.pos += 1;
        Ok(ev)
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn node(&mut self) -> Result<(NodeId, Value), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let ev = self.next()?;
        let out = match &ev.kind {
            EventKind::Scalar {
                value,
                style,
                tag,
                anchor,
            } => {
                let (resolved, special) = self.resolve_scalar(value, *style, tag.as_deref());
                let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    trim_block_scalar_end(self.src, ev.start, ev.end)
                } else {
                    ev.end
                };
                let special = special.or(anchor.as_ref().map(|_| "an anchor (&)"));
                if let Some(a) = anchor {
                    self.anchors.insert(a.clone(), resolved.clone());
                }
                let id = self.push(Node {
                    kind: NodeKind::Scalar { style: *style },
                    start: ev.start,
                    end,
                    special,
                    duplicate_keys: false,
                });
                (id, resolved)
            }
            EventKind::Alias { name } => {
                let value = self
                    .anchors
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("unknown anchor *{name}"))?;
                let id = self.push(Node {
                    kind: NodeKind::Alias,
                    start: ev.start,
                    end: ev.end,
                    special: Some("an alias (*)"),
                    duplicate_keys: false,
                });
                (id, value)
            }
            EventKind::SequenceStart { flow, tag, anchor } => {
                let id = self.push(Node {
                    kind: NodeKind::Sequence {
                        flow: *flow,
                        items: Vec::new(),
                    },
                    start: ev.start,
                    end: ev.end,
                    special: special_for(tag.as_deref(), "tag:yaml.org,2002:seq", anchor.is_some()),
                    duplicate_keys: false,
                });
                let mut items = Vec::new();
                let mut values = Vec::new();
                let mut end = ev.end;
                loop {
                    if let Some(e) = self.events.get(self.pos)
                        && e.kind == EventKind::SequenceEnd
                    {
                        self.pos += 1;
                        if *flow {
                            end = e.end;
                        }
                        break;
                    }
                    let (child, v) = self.node()?;
                    end = end.max(self.nodes[child].end);
                    items.push(child);
                    values.push(v);
                }
                let node = &mut self.nodes[id];
                node.kind = NodeKind::Sequence { flow: *flow, items };
                node.end = end;
                let value = Value::Array(values);
                if let Some(a) = anchor {
                    self.anchors.insert(a.clone(), value.clone());
                }
                (id, value)
            }
            EventKind::MappingStart { flow, tag, anchor } => {
                let id = self.push(Node {
                    kind: NodeKind::Mapping {
                        flow: *flow,
                        entries: Vec::new(),
                    },
                    start: ev.start,
                    end: ev.end,
                    special: special_for(tag.as_deref(), "tag:yaml.org,2002:map", anchor.is_some()),
                    duplicate_keys: false,
                });
                let mut entries = Vec::new();
                let mut map = Map::new();
                let mut end = ev.end;
                let mut duplicate = false;
                loop {
                    if let Some(e) = self.events.get(self.pos)
                        && e.kind == EventKind::MappingEnd
                    {
                        self.pos += 1;
                        if *flow {
                            end = e.end;
                        }
                        break;
                    }
                    let key_ev = self.next()?;
                    let key = match &key_ev.kind {
                        EventKind::Scalar { value, .. } => value.clone(),
                        _ => return Err("a mapping key that is not a scalar".to_string()),
                    };
                    let key_span = (key_ev.start, key_ev.end);
                    let (child, v) = self.node()?;
                    end = end.max(self.nodes[child].end).max(key_ev.end);
                    duplicate |= map.insert(key.clone(), v).is_some();
                    entries.push(Entry {
                        key,
                        key_span,
                        value: child,
                    });
                }
                let node = &mut self.nodes[id];
                node.kind = NodeKind::Mapping {
                    flow: *flow,
                    entries,
                };
                node.end = end;
                node.duplicate_keys = duplicate;
                let value = Value::Object(map);
                if let Some(a) = anchor {
                    self.anchors.insert(a.clone(), value.clone());
                }
                (id, value)
            }
            other => return Err(format!("unexpected event {other:?}")),
        };
        self.depth -= 1;
        Ok(out)
    }

    fn resolve_scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        tag: Option<&str>,
    ) -> (Value, Option<&'static str>) {
        match tag {
            None | Some("!") if style == ScalarStyle::Plain && tag.is_none() => {
                (resolve_plain(value, self.dialect), None)
            }
            None | Some("!") => (Value::String(value.to_string()), None),
            Some("tag:yaml.org,2002:str") => (Value::String(value.to_string()), None),
            Some(
                "tag:yaml.org,2002:int"
                | "tag:yaml.org,2002:float"
                | "tag:yaml.org,2002:bool"
                | "tag:yaml.org,2002:null",
            ) => (resolve_plain(value, self.dialect), Some("an explicit tag")),
            Some(_) => (Value::String(value.to_string()), Some("a custom tag")),
        }
    }
}

fn special_for(tag: Option<&str>, core: &str, anchored: bool) -> Option<&'static str> {
    match tag {
        Some(t) if t != core => Some("a custom tag"),
        _ if anchored => Some("an anchor (&)"),
        _ => None,
    }
}

/// The end of a block scalar's last content line (libyaml's mark includes trailing breaks).
fn trim_block_scalar_end(src: &str, start: usize, end: usize) -> usize {
    let bytes = src.as_bytes();
    let mut e = end.min(bytes.len());
    while e > start && matches!(bytes[e - 1], b'\n' | b'\r' | b' ' | b'\t') {
        e -= 1;
    }
    e
}

/// Resolves an untagged plain scalar the way `yaml_serde` does (YAML 1.2 core schema), plus
/// YAML 1.1 booleans for consumers that read them.
pub fn resolve_plain(v: &str, dialect: Dialect) -> Value {
    if v.is_empty() || matches!(v, "null" | "Null" | "NULL" | "~") {
        return Value::Null;
    }
    match v {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if dialect == Dialect::Yaml11 {
        match v {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
            _ => {}
        }
    }
    if let Some(n) = parse_int(v) {
        return Value::Number(n);
    }
    if !digits_but_not_number(v)
        && let Some(f) = parse_f64(v)
    {
        return Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null);
    }
    Value::String(v.to_string())
}

fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn parse_int(v: &str) -> Option<Number> {
    let (neg, unsigned) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    if unsigned.starts_with(['+', '-']) {
        return None;
    }
    let radix_parse = |digits: &str, radix: u32| -> Option<Number> {
        if digits.starts_with(['+', '-']) {
            return None;
        }
        if neg {
            i64::from_str_radix(&format!("-{digits}"), radix)
                .ok()
                .map(Number::from)
        } else {
            u64::from_str_radix(digits, radix).ok().map(Number::from)
        }
    };
    if let Some(rest) = unsigned.strip_prefix("0x") {
        return radix_parse(rest, 16);
    }
    if let Some(rest) = unsigned.strip_prefix("0o") {
        return radix_parse(rest, 8);
    }
    if let Some(rest) = unsigned.strip_prefix("0b") {
        return radix_parse(rest, 2);
    }
    if digits_but_not_number(v) {
        return None;
    }
    radix_parse(unsigned, 10)
}

fn parse_f64(v: &str) -> Option<f64> {
    let unsigned = match v.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => v,
    };
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    match v {
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    unsigned.parse::<f64>().ok().filter(|f| f.is_finite())
}

impl Tree {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The byte offset that best names `keys` in the text: the key of the deepest mapping
    /// entry (or the start of the deepest item) along the path that exists.
    pub fn position<S: AsRef<str>>(&self, keys: &[S]) -> usize {
        let mut id = self.root;
        let mut at = self.nodes[id].start;
        for key in keys {
            let key = key.as_ref();
            match &self.nodes[id].kind {
                NodeKind::Mapping { entries, .. } => {
                    match entries.iter().rev().find(|e| e.key == key) {
                        Some(e) => {
                            at = e.key_span.0;
                            id = e.value;
                        }
                        None => break,
                    }
                }
                NodeKind::Sequence { items, .. } => {
                    match key.parse::<usize>().ok().and_then(|i| items.get(i)) {
                        Some(&item) => {
                            at = self.nodes[item].start;
                            id = item;
                        }
                        None => break,
                    }
                }
                _ => break,
            }
        }
        at
    }

    /// The node at a concrete JSON Pointer path (already split into unescaped keys).
    pub fn lookup<S: AsRef<str>>(&self, keys: &[S]) -> Option<NodeId> {
        let mut id = self.root;
        for key in keys {
            let key = key.as_ref();
            id = match &self.nodes[id].kind {
                NodeKind::Mapping { entries, .. } => {
                    entries.iter().rev().find(|e| e.key == key)?.value
                }
                NodeKind::Sequence { items, .. } => *items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(id)
    }
}
