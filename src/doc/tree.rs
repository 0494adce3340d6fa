//! The span tree of one YAML document: every node with the byte range it came from, built in
//! the same pass as the document's JSON model (so the two can never disagree).
//!
//! The model copies an anchored value at each alias, so aliases of aliases grow it
//! exponentially (a 2 KB "billion laughs" file expands to billions of nodes). Like go-yaml
//! (what Helm and the Kubernetes libraries use), the builder counts what alias expansion adds
//! and refuses past a budget ([`MAX_ALIAS_NODES`], [`MAX_ALIAS_BYTES`]) before copying: every
//! node knows its expanded size, so the count is O(1) per event. The builder also keeps a
//! copy of each anchored value; anchors nested in anchored collections would multiply those
//! copies by the nesting depth, so their copies are charged to the same budget (a top-level
//! `&defaults` block costs nothing).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::events::{Event, EventKind, EventSource, MAX_DEPTH, ScalarStyle, SyntaxError};

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
    /// Where the entry starts: its `?` indicator for an explicit key (`? key`), else the key.
    pub start: usize,
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
    /// The node carries an anchor or a tag, or is an alias (what it is, for messages).
    pub special: Option<&'static str>,
    /// The anchor (`&name`) on the node: an index into [`Tree::anchors`].
    pub anchor: Option<usize>,
    /// A mapping that had the same key twice (the last one wins in the model).
    pub duplicate_keys: bool,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// Every anchor of the document (in the order their nodes end), with the aliases that
    /// refer to it.
    pub anchors: Vec<Anchor>,
}

/// One `&name`: what it anchors and the aliases that copy it. An edit inside the anchored
/// text changes every alias; removing it leaves them unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub name: String,
    /// The anchored node's (or mapping key's) text, its properties included.
    pub span: (usize, usize),
    /// Offsets of the `*name` tokens that refer to this anchor (not to a later one of the
    /// same name).
    pub uses: Vec<usize>,
}

/// Most model nodes that alias expansion (and the kept copies of nested anchors) may add to
/// one file, summed over its documents.
/// The most in the shared corpus is about 1 400 (a chart's values schema that reuses
/// definitions); 100 000 leaves 70x headroom and bounds the copies to some 10 MB. go-yaml
/// allows up to ~400 000 alias-driven decodes, as a ratio of the document.
pub const MAX_ALIAS_NODES: u64 = 100_000;

/// Most scalar and key text that alias expansion may copy into one file's model: one long
/// anchored string aliased many times costs memory, not nodes. The corpus maximum is about
/// 70 KB.
pub const MAX_ALIAS_BYTES: u64 = 16 << 20;

/// The expanded size of a value: its nodes and the bytes of its scalars and keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Weight {
    pub nodes: u64,
    pub bytes: u64,
}

impl Weight {
    fn add(&mut self, other: Weight) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Why a document could not be built: the events broke off at a syntax error, or they say
/// something patcher refuses (the byte offset it is about, and why).
#[derive(Debug)]
pub(super) enum BuildError {
    Syntax(SyntaxError),
    Load(usize, String),
}

impl From<SyntaxError> for BuildError {
    fn from(e: SyntaxError) -> Self {
        BuildError::Syntax(e)
    }
}

fn refuse<T>(at: usize, why: String) -> Result<T, BuildError> {
    Err(BuildError::Load(at, why))
}

/// Builds documents from the events as the parser gives them.
pub(super) struct Builder<'p, 'a, P: EventSource> {
    events: &'p mut P,
    src: &'a str,
    dialect: Dialect,
    nodes: Vec<Node>,
    /// Each anchor name's latest value, weight and index into `anchor_list`.
    anchors: HashMap<String, (Value, Weight, usize)>,
    anchor_list: Vec<Anchor>,
    depth: usize,
    /// What alias expansion has added so far, in this and earlier documents of the file.
    expanded: Weight,
    /// Anchored collections open around the current event.
    open_anchored: usize,
}

impl<'p, 'a, P: EventSource> Builder<'p, 'a, P> {
    /// `expanded`: what aliases already added in the file's earlier documents.
    pub(super) fn new(events: &'p mut P, src: &'a str, dialect: Dialect, expanded: Weight) -> Self {
        Builder {
            events,
            src,
            dialect,
            nodes: Vec::new(),
            anchors: HashMap::new(),
            anchor_list: Vec::new(),
            depth: 0,
            expanded,
            open_anchored: 0,
        }
    }

    /// What alias expansion has added to the file so far.
    pub(super) fn expanded(&self) -> Weight {
        self.expanded
    }

    /// Builds the node starting at the current event; returns the tree and the model.
    pub(super) fn build_document(&mut self) -> Result<(Tree, Value), BuildError> {
        self.nodes.clear();
        self.anchors.clear();
        self.anchor_list.clear();
        let (root, value, _) = self.node()?;
        Ok((
            Tree {
                nodes: std::mem::take(&mut self.nodes),
                root,
                anchors: std::mem::take(&mut self.anchor_list),
            },
            value,
        ))
    }

    fn next(&mut self) -> Result<Event, BuildError> {
        match self.events.next_event()? {
            Some(ev) => Ok(ev),
            None => refuse(self.src.len(), "unexpected end of events".to_string()),
        }
    }

    /// Consumes the next event if it ends a sequence (`seq`) or a mapping; gives its end.
    fn end_of(&mut self, seq: bool) -> Result<Option<usize>, BuildError> {
        match self.events.peek_event()? {
            Some(e)
                if (seq && matches!(e.kind, EventKind::SequenceEnd))
                    || (!seq && matches!(e.kind, EventKind::MappingEnd)) =>
            {
                let end = e.end;
                self.events.next_event()?;
                Ok(Some(end))
            }
            _ => Ok(None),
        }
    }

    /// Charges a copy of weight `w` to the file's budget: the expansion of alias `*name`, or
    /// the kept copy of anchor `&name` ([`Builder::keep_anchor`]).
    fn charge(&mut self, what: &str, w: Weight, at: usize) -> Result<(), BuildError> {
        let mut total = self.expanded;
        total.add(w);
        if total.nodes > MAX_ALIAS_NODES || total.bytes > MAX_ALIAS_BYTES {
            return refuse(
                at,
                format!(
                    "aliases expand to more than {MAX_ALIAS_NODES} nodes or {} MiB of text \
                     (at {what}): refusing what looks like an alias bomb (\"billion laughs\"); \
                     if the file is genuine, write the repeated parts out instead of aliasing them",
                    MAX_ALIAS_BYTES >> 20
                ),
            );
        }
        self.expanded = total;
        Ok(())
    }

    /// Keeps a copy of an anchored value for its aliases. Free for an anchor outside other
    /// anchored collections (those copies are disjoint: at most the file once); charged inside
    /// one, where each level of nesting would copy the same nodes again.
    fn keep_anchor(
        &mut self,
        name: &str,
        value: &Value,
        w: Weight,
        span: (usize, usize),
    ) -> Result<usize, BuildError> {
        if self.open_anchored > 0 {
            self.charge(&format!("&{name}"), w, span.0)?;
        }
        self.anchor_list.push(Anchor {
            name: name.to_string(),
            span,
            uses: Vec::new(),
        });
        let index = self.anchor_list.len() - 1;
        self.anchors
            .insert(name.to_string(), (value.clone(), w, index));
        Ok(index)
    }

    /// Records the alias token at `at` as a use of anchor `name` (known to exist).
    fn record_use(&mut self, name: &str, at: usize) {
        if let Some((_, _, i)) = self.anchors.get(name) {
            self.anchor_list[*i].uses.push(at);
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The node at the current event: its id, its model value and its expanded weight.
    fn node(&mut self) -> Result<(NodeId, Value, Weight), BuildError> {
        let ev = self.next()?;
        // The event stream already stops past MAX_DEPTH (events.rs); this keeps the recursion
        // bounded whatever the events.
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return refuse(
                ev.start,
                format!("collections nested more than {MAX_DEPTH} levels deep"),
            );
        }
        let Event { kind, start, end } = ev;
        let out = match kind {
            kind @ (EventKind::Scalar { .. } | EventKind::Alias { .. }) => {
                self.leaf(kind, start, end)?
            }
            EventKind::SequenceStart { flow, tag, anchor } => {
                let id = self.push(Node {
                    kind: NodeKind::Sequence {
                        flow,
                        items: Vec::new(),
                    },
                    start,
                    end,
                    special: special_for(tag.as_deref(), "tag:yaml.org,2002:seq", anchor.is_some()),
                    duplicate_keys: false,
                    anchor: None,
                });
                if anchor.is_some() {
                    self.open_anchored += 1;
                }
                let mut items = Vec::new();
                let mut values = Vec::new();
                let mut end = end;
                let mut weight = Weight { nodes: 1, bytes: 0 };
                loop {
                    if let Some(close) = self.end_of(true)? {
                        if flow {
                            end = close;
                        }
                        break;
                    }
                    let (child, v, w) = self.node()?;
                    end = end.max(self.nodes[child].end);
                    items.push(child);
                    values.push(v);
                    weight.add(w);
                }
                let node = &mut self.nodes[id];
                node.kind = NodeKind::Sequence { flow, items };
                node.end = end;
                let value = Value::Array(values);
                if let Some(a) = &anchor {
                    self.open_anchored -= 1;
                    let index = self.keep_anchor(a, &value, weight, (start, end))?;
                    self.nodes[id].anchor = Some(index);
                }
                (id, value, weight)
            }
            EventKind::MappingStart { flow, tag, anchor } => {
                let id = self.push(Node {
                    kind: NodeKind::Mapping {
                        flow,
                        entries: Vec::new(),
                    },
                    start,
                    end,
                    special: special_for(tag.as_deref(), "tag:yaml.org,2002:map", anchor.is_some()),
                    duplicate_keys: false,
                    anchor: None,
                });
                if anchor.is_some() {
                    self.open_anchored += 1;
                }
                let mut entries = Vec::new();
                let mut map = Map::new();
                let mut end = end;
                let mut duplicate = false;
                let mut weight = Weight { nodes: 1, bytes: 0 };
                loop {
                    if let Some(close) = self.end_of(false)? {
                        if flow {
                            end = close;
                        }
                        break;
                    }
                    let key_ev = self.next()?;
                    let key = self.key(key_ev.kind, key_ev.start, key_ev.end)?;
                    // An empty implicit key (`: v`) is placed after its `:` (where an empty
                    // value would be); as a key it is the point before it.
                    let key_span = if key.is_empty()
                        && key_ev.start == key_ev.end
                        && self.src[..key_ev.start].ends_with(':')
                    {
                        (key_ev.start - 1, key_ev.start - 1)
                    } else {
                        (key_ev.start, key_ev.end)
                    };
                    let (child, v, w) = self.node()?;
                    weight.add(w);
                    weight.bytes = weight.bytes.saturating_add(key.len() as u64);
                    end = end.max(self.nodes[child].end).max(key_ev.end);
                    duplicate |= map.insert(key.clone(), v).is_some();
                    entries.push(Entry {
                        start: explicit_key_indicator(self.src, key_span.0).unwrap_or(key_span.0),
                        key,
                        key_span,
                        value: child,
                    });
                }
                let node = &mut self.nodes[id];
                node.kind = NodeKind::Mapping { flow, entries };
                node.end = end;
                node.duplicate_keys = duplicate;
                let value = Value::Object(map);
                if let Some(a) = &anchor {
                    self.open_anchored -= 1;
                    let index = self.keep_anchor(a, &value, weight, (start, end))?;
                    self.nodes[id].anchor = Some(index);
                }
                (id, value, weight)
            }
            other => return refuse(start, format!("unexpected event {other:?}")),
        };
        self.depth -= 1;
        Ok(out)
    }

    /// The node of a scalar or alias event. Out of [`Builder::node`], which recurses once per
    /// level of nesting: its frame stays small.
    #[inline(never)]
    fn leaf(
        &mut self,
        kind: EventKind,
        start: usize,
        end: usize,
    ) -> Result<(NodeId, Value, Weight), BuildError> {
        match kind {
            EventKind::Scalar {
                value,
                style,
                tag,
                anchor,
            } => {
                let weight = Weight {
                    nodes: 1,
                    bytes: value.len() as u64,
                };
                let (resolved, special) = self.resolve_scalar(value, style, tag.as_deref());
                let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    super::events::block_scalar_end(self.src, start, end)
                } else {
                    end
                };
                let special = special.or(anchor.as_ref().map(|_| "an anchor (&)"));
                let anchor = match &anchor {
                    Some(a) => Some(self.keep_anchor(a, &resolved, weight, (start, end))?),
                    None => None,
                };
                let id = self.push(Node {
                    kind: NodeKind::Scalar { style },
                    start,
                    end,
                    special,
                    duplicate_keys: false,
                    anchor,
                });
                Ok((id, resolved, weight))
            }
            EventKind::Alias { name } => {
                let weight = match self.anchors.get(&name) {
                    Some((_, w, _)) => *w,
                    None => return refuse(start, format!("unknown anchor *{name}")),
                };
                // Charged before the copy: a refused alias costs nothing.
                self.charge(&format!("*{name}"), weight, start)?;
                self.record_use(&name, start);
                let value = self
                    .anchors
                    .get(&name)
                    .map(|(v, _, _)| v.clone())
                    .unwrap_or(Value::Null);
                let id = self.push(Node {
                    kind: NodeKind::Alias,
                    start,
                    end,
                    special: Some("an alias (*)"),
                    duplicate_keys: false,
                    anchor: None,
                });
                Ok((id, value, weight))
            }
            _ => refuse(start, "unexpected event".to_string()),
        }
    }

    /// The text of a mapping key. Out of [`Builder::node`], which recurses: its frame stays
    /// small.
    #[inline(never)]
    fn key(&mut self, kind: EventKind, at: usize, end: usize) -> Result<String, BuildError> {
        match kind {
            EventKind::Scalar { value, anchor, .. } => {
                // `&k key: ...`: the key can be aliased later.
                if let Some(a) = anchor {
                    let w = Weight {
                        nodes: 1,
                        bytes: value.len() as u64,
                    };
                    self.keep_anchor(&a, &Value::String(value.clone()), w, (at, end))?;
                }
                Ok(value)
            }
            // `*k : ...`: an alias of a string as the key.
            EventKind::Alias { name } => match self.anchors.get(&name) {
                Some((Value::String(s), _, _)) => {
                    let s = s.clone();
                    self.record_use(&name, at);
                    Ok(s)
                }
                Some(_) => refuse(
                    at,
                    format!("a mapping key that is not a string (alias *{name})"),
                ),
                None => refuse(at, format!("unknown anchor *{name}")),
            },
            _ => refuse(at, "a mapping key that is not a scalar".to_string()),
        }
    }

    /// The scalar's model value (taking its text: a string costs no copy).
    fn resolve_scalar(
        &self,
        value: String,
        style: ScalarStyle,
        tag: Option<&str>,
    ) -> (Value, Option<&'static str>) {
        let plain = |value: String| {
            resolve_plain_typed(&value, self.dialect).unwrap_or(Value::String(value))
        };
        match tag {
            None | Some("!") if style == ScalarStyle::Plain && tag.is_none() => {
                (plain(value), None)
            }
            None | Some("!") => (Value::String(value), None),
            Some("tag:yaml.org,2002:str") => (Value::String(value), None),
            Some(
                "tag:yaml.org,2002:int"
                | "tag:yaml.org,2002:float"
                | "tag:yaml.org,2002:bool"
                | "tag:yaml.org,2002:null",
            ) => (plain(value), Some("an explicit tag")),
            Some(_) => (Value::String(value), Some("a custom tag")),
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

/// The `?` that makes the key at `key_start` explicit, when it is on the key's line, before it
/// only blanks, and before it only blanks or an indicator that starts a node (`-`, `[`, `{`,
/// `,`) or the line's start.
fn explicit_key_indicator(src: &str, key_start: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = key_start;
    while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    if i == key_start || i == 0 || b[i - 1] != b'?' {
        return None;
    }
    let q = i - 1;
    let mut j = q;
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    let starts_node = j == 0
        || matches!(b[j - 1], b'\n' | b'\r' | b'[' | b'{' | b',')
        || (b[j - 1] == b'-' && j < q && (j < 2 || matches!(b[j - 2], b' ' | b'\t' | b'\n')));
    starts_node.then_some(q)
}

/// Resolves an untagged plain scalar the way `yaml_serde` does (YAML 1.2 core schema), plus
/// YAML 1.1 booleans for consumers that read them.
pub fn resolve_plain(v: &str, dialect: Dialect) -> Value {
    resolve_plain_typed(v, dialect).unwrap_or_else(|| Value::String(v.to_string()))
}

/// [`resolve_plain`]'s answer when it is not a string: null, a boolean or a number.
fn resolve_plain_typed(v: &str, dialect: Dialect) -> Option<Value> {
    if v.is_empty() || matches!(v, "null" | "Null" | "NULL" | "~") {
        return Some(Value::Null);
    }
    match v {
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    if dialect == Dialect::Yaml11 {
        match v {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                return Some(Value::Bool(true));
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                return Some(Value::Bool(false));
            }
            _ => {}
        }
    }
    if let Some(n) = parse_int(v) {
        return Some(Value::Number(n));
    }
    if !digits_but_not_number(v)
        && let Some(f) = parse_f64(v)
    {
        return Some(
            Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
    }
    None
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

#[cfg(test)]
mod tests {
    use crate::doc::{Document, FileKind, NodeKind};

    fn tree(text: &str) -> crate::doc::Tree {
        let doc = Document::parse("t.yaml", text.to_string(), FileKind::Yaml).expect("parse");
        doc.docs[0].tree.clone()
    }

    #[test]
    fn each_anchor_knows_its_text_and_the_aliases_that_refer_to_it() {
        let text = "a: &x 1\nb: *x\n&k c: &x [2]\nd: *x\ne: *k\n";
        let t = tree(text);
        let view: Vec<(&str, &str, Vec<usize>)> = t
            .anchors
            .iter()
            .map(|a| (a.name.as_str(), &text[a.span.0..a.span.1], a.uses.clone()))
            .collect();
        // The second `&x` takes over: `*x` on line 4 refers to it, not to the first.
        assert_eq!(
            view,
            vec![
                ("x", "&x 1", vec![11]),
                ("k", "&k c", vec![36]),
                ("x", "&x [2]", vec![30]),
            ]
        );
        let anchored: Vec<Option<usize>> = t.nodes.iter().map(|n| n.anchor).collect();
        assert!(anchored.contains(&Some(0)) && anchored.contains(&Some(2)));
    }

    #[test]
    fn entries_start_at_an_explicit_keys_indicator_and_an_empty_key_at_its_colon() {
        let text = "? a\n: 1\n: 2\n";
        let t = tree(text);
        let NodeKind::Mapping { entries, .. } = &t.node(t.root).kind else {
            panic!("a mapping");
        };
        let spans: Vec<(usize, (usize, usize))> =
            entries.iter().map(|e| (e.start, e.key_span)).collect();
        assert_eq!(spans, vec![(0, (2, 3)), (8, (8, 8))]);
    }

    #[test]
    fn a_block_scalar_ends_after_a_trailing_line_deeper_than_its_content() {
        let text = "a: |\n  x\n   \n\nb: |\n  y\n  \n";
        let t = tree(text);
        let ends: Vec<&str> = t
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Scalar { .. }) && n.start < n.end)
            .map(|n| &text[n.start..n.end])
            .collect();
        assert_eq!(ends, vec!["|\n  x\n   ", "|\n  y"]);
    }
}
