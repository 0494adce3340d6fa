//! The editor: turns a document's planned RFC 6902 ops into minimal byte splices of the
//! original text. It walks the old and new models side by side and touches only the nodes
//! that differ, so every byte outside those nodes (comments, blank lines, quoting, key order,
//! template lines) stays as it was. Where a template makes an edit unsafe, it refuses.

mod collection;
mod guard;
mod placement;
mod scalar;
mod snippet;
mod tail;
pub mod text;
pub mod verify;
pub mod yaml_text;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::change::PlannedOp;
use crate::doc::template::{ActionKind, BlockKind};
use crate::doc::{Document, NodeId, NodeKind, ScalarStyle, Tree, YamlDoc};
use crate::pointer::values_equal;
use snippet::{push_entry, push_item_rendering};
use yaml_text::{Rendered, Style};

/// Replace `start..end` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Why a file was not written. Names the file, the line and the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: PathBuf,
    /// 1-based line of the node concerned, when there is one.
    pub line: Option<usize>,
    /// JSON Pointer of the node concerned.
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{}:{}: refused to edit {}: {}",
                self.path.display(),
                l,
                self.pointer,
                self.message
            ),
            None => write!(
                f,
                "{}: refused to edit {}: {}",
                self.path.display(),
                self.pointer,
                self.message
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// The edited text and the splices that produced it (sorted, non-overlapping).
#[derive(Debug, Clone)]
pub struct Edited {
    pub text: String,
    pub splices: Vec<Splice>,
    /// Each edited document's model with its ops applied (what the new text must mean).
    pub models: Vec<(usize, Value)>,
}

/// Applies `ops` (grouped by document index) to `doc`'s text.
pub fn edit(doc: &Document, ops: &[(usize, Vec<PlannedOp>)]) -> Result<Edited, Refusal> {
    let mut splices = Vec::new();
    let mut models = Vec::new();
    let lines = LineActions::new(doc);
    for (index, doc_ops) in ops {
        if doc_ops.is_empty() {
            continue;
        }
        let refuse = |message: String| Refusal {
            path: doc.path.clone(),
            line: None,
            pointer: String::new(),
            message,
        };
        match doc.docs.get(*index) {
            Some(ydoc) => {
                let mut new = ydoc.model.clone();
                let raw: Vec<_> = doc_ops.iter().map(|o| o.op.clone()).collect();
                json_patch::patch(&mut new, &raw)
                    .map_err(|e| refuse(format!("the plan does not apply: {e}")))?;
                let mut ed = Editor::new(doc, ydoc, doc_ops, &lines);
                let mut path = Vec::new();
                let root = ydoc.tree.root;
                let owner = doc.line_of(ydoc.tree.node(root).start);
                ed.reconcile(root, &ydoc.model, &new, &mut path, Slot::Root, owner)?;
                check_anchors_kept(doc, &ydoc.tree, &ed.splices)?;
                splices.extend(ed.splices);
                models.push((*index, new));
            }
            None if doc.docs.is_empty() && *index == 0 => {
                // An empty (or comments-only) file: the new document is appended.
                let mut new = Value::Null;
                let raw: Vec<_> = doc_ops.iter().map(|o| o.op.clone()).collect();
                json_patch::patch(&mut new, &raw)
                    .map_err(|e| refuse(format!("the plan does not apply: {e}")))?;
                splices.push(new_document_splice(doc, &new, doc_ops));
                models.push((*index, new));
            }
            None => return Err(refuse(format!("document {index} does not exist"))),
        }
    }
    splices.sort_by_key(|s| (s.start, s.end));
    for w in splices.windows(2) {
        if w[0].end > w[1].start {
            let (line, _) = doc.line_col(w[1].start);
            return Err(Refusal {
                path: doc.path.clone(),
                line: Some(line),
                pointer: String::new(),
                message: "two edits overlap; split the recipe into separate runs".into(),
            });
        }
    }
    Ok(Edited {
        text: apply_splices(&doc.text, &splices),
        splices,
        models,
    })
}

/// Refuses splices that remove or rewrite an anchor (`&name`) whose aliases stay: they
/// would refer to nothing, or to another value.
fn check_anchors_kept(doc: &Document, tree: &Tree, splices: &[Splice]) -> Result<(), Refusal> {
    let cut = |at: usize| splices.iter().any(|s| s.start <= at && at < s.end);
    for a in &tree.anchors {
        if !cut(a.span.0) {
            continue;
        }
        if let Some(&use_at) = a.uses.iter().find(|&&u| !cut(u)) {
            return Err(Refusal {
                path: doc.path.clone(),
                line: Some(doc.line_col(a.span.0).0),
                pointer: String::new(),
                message: format!(
                    "the edit would remove the anchor &{} that the alias *{} at line {} refers to; edit by hand",
                    a.name,
                    a.name,
                    doc.line_of(use_at) + 1
                ),
            });
        }
    }
    Ok(())
}

/// The text with `splices` (sorted, non-overlapping) applied.
pub fn apply_splices(text: &str, splices: &[Splice]) -> String {
    let mut out =
        String::with_capacity(text.len() + splices.iter().map(|s| s.text.len()).sum::<usize>());
    let mut at = 0;
    for s in splices {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether a file has any text besides a UTF-8 byte-order mark: one holding only a BOM is
/// empty, and its first line is the new text's first line.
fn has_content(text: &str) -> bool {
    !text.trim_start_matches('\u{feff}').is_empty()
}

fn new_document_splice(doc: &Document, new: &Value, ops: &[PlannedOp]) -> Splice {
    let nl = doc.newline();
    let lines = lines_for_new_value(new, ops, Style::default());
    let mut text = String::new();
    if has_content(&doc.text) && !doc.text.ends_with('\n') {
        text.push_str(nl);
    }
    text.push_str(&lines.join(nl));
    text.push_str(nl);
    Splice {
        start: doc.text.len(),
        end: doc.text.len(),
        text,
    }
}

fn lines_for_new_value(new: &Value, ops: &[PlannedOp], style: Style) -> Vec<String> {
    let empty = Document::parse_snippet("").ok();
    let lines = LineActions::default();
    match &empty {
        Some(d) => {
            let fake = YamlDoc {
                index: 0,
                start: 0,
                end: 0,
                tree: Tree {
                    nodes: vec![],
                    root: 0,
                    anchors: vec![],
                },
                model: Value::Null,
            };
            let mut ed = Editor::new(d, &fake, ops, &lines);
            ed.style = style;
            match ed.value_rendering(&[], new) {
                Rendered::Inline(s) => vec![s],
                Rendered::Block { lines, .. } => lines,
                Rendered::Scalar { header, lines } => {
                    let mut v = vec![header];
                    v.extend(lines.into_iter().map(|l| yaml_text::indent_line("  ", l)));
                    v
                }
            }
        }
        None => vec![yaml_text::scalar(new, None)],
    }
}

/// Where a node sits in its parent, which decides how it is replaced or removed.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Root,
    Entry { map: NodeId, idx: usize },
    Item { seq: NodeId, idx: usize },
}

/// Whole-line template actions by 0-based line, and block nesting, for template-aware edits.
#[derive(Default)]
struct LineActions {
    kinds: HashMap<usize, (ActionKind, usize)>,
    /// Indices (into `Masked::actions`) of every whole-line action covering each line.
    all: HashMap<usize, Vec<usize>>,
}

impl LineActions {
    fn new(doc: &Document) -> Self {
        let mut kinds = HashMap::new();
        let mut all: HashMap<usize, Vec<usize>> = HashMap::new();
        if let Some(m) = &doc.masked {
            for (i, a) in m.actions.iter().enumerate().filter(|(_, a)| a.whole_line) {
                let first = doc.line_of(a.span.start);
                let last = doc.line_of(a.span.end.saturating_sub(1).max(a.span.start));
                let col = a.span.start - doc.line_start(first);
                for l in first..=last {
                    kinds.entry(l).or_insert((a.kind, col));
                    all.entry(l).or_default().push(i);
                }
            }
        }
        LineActions { kinds, all }
    }

    fn get(&self, line: usize) -> Option<(ActionKind, usize)> {
        self.kinds.get(&line).copied()
    }

    fn on_line(&self, line: usize) -> &[usize] {
        self.all.get(&line).map_or(&[], Vec::as_slice)
    }
}

struct Editor<'a> {
    doc: &'a Document,
    tree: &'a Tree,
    ops: &'a [PlannedOp],
    lines: &'a LineActions,
    style: Style,
    nl: &'static str,
    splices: Vec<Splice>,
    snippets: HashMap<*const u8, Option<Document>>,
}

impl<'a> Editor<'a> {
    fn new(
        doc: &'a Document,
        ydoc: &'a YamlDoc,
        ops: &'a [PlannedOp],
        lines: &'a LineActions,
    ) -> Self {
        let style = detect_style(doc, &ydoc.tree);
        Editor {
            doc,
            tree: &ydoc.tree,
            ops,
            lines,
            style,
            nl: doc.newline(),
            splices: Vec::new(),
            snippets: HashMap::new(),
        }
    }

    fn refuse(&self, offset: usize, path: &[String], message: impl Into<String>) -> Refusal {
        Refusal {
            path: self.doc.path.clone(),
            line: Some(self.doc.line_col(offset).0),
            pointer: crate::pointer::to_pointer(path).to_string(),
            message: message.into(),
        }
    }

    fn col(&self, offset: usize) -> usize {
        offset - self.doc.line_start(self.doc.line_of(offset))
    }

    fn reconcile(
        &mut self,
        id: NodeId,
        old: &Value,
        new: &Value,
        path: &mut Vec<String>,
        slot: Slot,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        if values_equal(old, new) {
            return Ok(());
        }
        let node = self.tree.node(id);
        // An alias is a copy of another node: it can be replaced by a value of its own, but
        // not edited inside (that would change the anchored node and its other aliases).
        if matches!(node.kind, NodeKind::Alias) && is_collection(old) && is_collection(new) {
            let name = &self.doc.text[node.start + 1..node.end];
            let def = self
                .tree
                .anchors
                .iter()
                .find(|a| a.uses.contains(&node.start));
            let at = def.map_or(String::new(), |a| {
                format!(" at line {}", self.doc.line_of(a.span.0) + 1)
            });
            return Err(self.refuse(
                node.start,
                path,
                format!(
                    "the value is the alias *{name}, a copy of the node anchored{at}; patcher does not edit through an alias: write the value out, or edit the anchored node"
                ),
            ));
        }
        // An edit inside an anchored node changes every alias of it too.
        if let Some(a) = node.anchor.map(|i| &self.tree.anchors[i])
            && let Some(&use_at) = a.uses.first()
        {
            return Err(self.refuse(
                node.start,
                path,
                format!(
                    "the node carries the anchor &{}, and the alias *{} at line {} would change with it; edit by hand",
                    a.name,
                    a.name,
                    self.doc.line_of(use_at) + 1
                ),
            ));
        }
        match (&node.kind, old, new) {
            (NodeKind::Mapping { entries, flow }, Value::Object(o), Value::Object(n))
                if !n.is_empty() =>
            {
                let flow = *flow;
                let line = self.doc.line_of(node.start);
                self.check_not_repeated(line, node.start, path)?;
                let mut removed = Vec::new();
                for (idx, e) in entries.iter().enumerate() {
                    match n.get(&e.key) {
                        None => removed.push(idx),
                        Some(nv) => {
                            let ov = o.get(&e.key).unwrap_or(&Value::Null);
                            if !values_equal(ov, nv) {
                                if node.duplicate_keys
                                    && entries.iter().filter(|x| x.key == e.key).count() > 1
                                {
                                    return Err(self.refuse(
                                        e.key_span.0,
                                        path,
                                        format!("key `{}` appears twice in this mapping", e.key),
                                    ));
                                }
                                path.push(e.key.clone());
                                let key_line = self.doc.line_of(e.key_span.0);
                                self.reconcile(
                                    e.value,
                                    ov,
                                    nv,
                                    path,
                                    Slot::Entry { map: id, idx },
                                    key_line,
                                )?;
                                path.pop();
                            }
                        }
                    }
                }
                if flow && removed.len() == entries.len() {
                    // Every old pair goes: the new ones replace the braces' content (removals
                    // and insertions at the same place would overlap).
                    // A bare pair (`[a: 1]`) becomes a braced mapping.
                    let start = self.flow_open(id);
                    self.splices.push(Splice {
                        start,
                        end: node.end,
                        text: yaml_text::flow(new),
                    });
                    return Ok(());
                }
                for &idx in removed.iter().rev() {
                    self.remove_entry(id, idx, flow, path)?;
                }
                let added: Vec<(&String, &Value)> =
                    n.iter().filter(|(k, _)| !o.contains_key(*k)).collect();
                if !added.is_empty() {
                    self.insert_entries(id, flow, &added, &removed, path, owner_line)?;
                }
                Ok(())
            }
            (NodeKind::Sequence { items, flow }, Value::Array(o), Value::Array(n))
                if !n.is_empty() =>
            {
                let flow = *flow;
                self.check_not_repeated(self.doc.line_of(node.start), node.start, path)?;
                if let Some(map) = self.index_map(path, o.len()).filter(|m| m.len() == n.len()) {
                    return self.reconcile_mapped(id, items, flow, o, n, &map, path, owner_line);
                }
                if o.len() == n.len() {
                    for (idx, (ov, nv)) in o.iter().zip(n).enumerate() {
                        if !values_equal(ov, nv) {
                            let item = items[idx];
                            path.push(idx.to_string());
                            let line = self.doc.line_of(self.tree.node(item).start);
                            self.reconcile(item, ov, nv, path, Slot::Item { seq: id, idx }, line)?;
                            path.pop();
                        }
                    }
                    Ok(())
                } else if n.len() > o.len() && o.iter().zip(n).all(|(a, b)| values_equal(a, b)) {
                    self.append_items(id, flow, &n[o.len()..], o.len(), path, owner_line)
                } else if n.len() > o.len() {
                    // Items inserted between existing ones: the old list must be a
                    // subsequence of the new one.
                    let mut j = 0;
                    let mut groups: Vec<(usize, usize)> = Vec::new(); // (before old item, new index)
                    for (i, nv) in n.iter().enumerate() {
                        if j < o.len() && values_equal(&o[j], nv) {
                            j += 1;
                        } else {
                            groups.push((j, i));
                        }
                    }
                    if j != o.len() {
                        return Err(self.refuse(
                            node.start,
                            path,
                            "the list changes in a way that is not an insertion of items",
                        ));
                    }
                    let (tail, middle): (Vec<_>, Vec<_>) = groups
                        .into_iter()
                        .partition(|(before, _)| *before == o.len());
                    for (before, i) in middle {
                        self.insert_item_before(id, flow, before, &n[i], i, path)?;
                    }
                    if let Some(&(_, first)) = tail.first() {
                        self.append_items(id, flow, &n[first..], first, path, owner_line)?;
                    }
                    Ok(())
                } else if n.len() < o.len() {
                    let mut j = 0;
                    let mut removed = Vec::new();
                    for (i, ov) in o.iter().enumerate() {
                        if j < n.len() && values_equal(ov, &n[j]) {
                            j += 1;
                        } else {
                            removed.push(i);
                        }
                    }
                    if j != n.len() {
                        return Err(self.refuse(
                            node.start,
                            path,
                            "the list changes in a way that is not a removal of items",
                        ));
                    }
                    for idx in removed.into_iter().rev() {
                        self.remove_item(id, idx, flow, path)?;
                    }
                    Ok(())
                } else {
                    Err(self.refuse(
                        node.start,
                        path,
                        "the list changes in a way that is not an append or a removal",
                    ))
                }
            }
            (NodeKind::Scalar { style }, _, _) if !is_collection(new) => {
                let style = *style;
                self.check_not_template_supplied(id, slot, path)?;
                if let Some((at, colon)) = self.missing_colon(id, slot) {
                    // `? key` or `{ key }` with no `:`: the value goes after a new one.
                    let value = if colon.ends_with(':') && self.is_flow_entry(slot) {
                        yaml_text::flow(new)
                    } else {
                        yaml_text::scalar(new, None)
                    };
                    self.splices.push(Splice {
                        start: at,
                        end: at,
                        text: format!("{colon} {value}"),
                    });
                    return Ok(());
                }
                self.replace_scalar(id, new, style, path)
            }
            _ => {
                self.check_not_template_supplied(id, slot, path)?;
                self.replace_value(id, slot, new, path)
            }
        }
    }

    /// Where flow mapping `id`'s `{` is, after its properties (`&a`, `!t`); its start for a
    /// bare pair (`[a: 1]`).
    fn flow_open(&self, id: NodeId) -> usize {
        let node = self.tree.node(id);
        let b = self.doc.text.as_bytes();
        let mut i = node.start;
        while i < node.end {
            match b[i] {
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'&' | b'!' => {
                    while i < node.end && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
                        i += 1;
                    }
                }
                b'{' => return i,
                _ => break,
            }
        }
        node.start
    }

    /// For the empty value of an entry written without its `:` (`? key` alone, a flow
    /// `{ key }`): where the `:` goes (the key's end) and the text that writes it (on a line of
    /// its own at the `?`'s column for a block `? key`).
    fn missing_colon(&self, id: NodeId, slot: Slot) -> Option<(usize, String)> {
        let Slot::Entry { map, idx } = slot else {
            return None;
        };
        let NodeKind::Mapping { entries, flow } = &self.tree.node(map).kind else {
            return None;
        };
        let e = &entries[idx];
        if !is_empty_value(self.doc, self.tree.node(id)) {
            return None;
        }
        let explicit = e.start != e.key_span.0;
        let colon = if explicit {
            self.after_explicit_colon(e.key_span.1)
        } else {
            self.after_colon(e.key_span.1)
        };
        if colon != e.key_span.1 {
            return None;
        }
        if explicit && !flow {
            let pad = " ".repeat(self.col(e.start));
            Some((e.key_span.1, format!("{}{pad}:", self.nl)))
        } else {
            Some((e.key_span.1, ":".to_string()))
        }
    }

    fn is_flow_entry(&self, slot: Slot) -> bool {
        let Slot::Entry { map, .. } = slot else {
            return false;
        };
        matches!(
            self.tree.node(map).kind,
            NodeKind::Mapping { flow: true, .. }
        )
    }

    /// How the items of the list at `path` move under the ops: for each new index, the old
    /// index it came from (`None` for an inserted item). `None` when an op replaces the list
    /// (or an ancestor) wholesale, so only the values can tell.
    fn index_map(&self, path: &[String], old_len: usize) -> Option<Vec<Option<usize>>> {
        let mut map: Vec<Option<usize>> = (0..old_len).map(Some).collect();
        let mut touched = false;
        for op in self.ops {
            let keys: Vec<String> = jsonptr::Pointer::parse(op.path())
                .ok()?
                .tokens()
                .map(|t| t.decoded().into_owned())
                .collect();
            if keys.len() <= path.len() {
                if path.starts_with(&keys) && !matches!(op.op, json_patch::PatchOperation::Test(_))
                {
                    return None;
                }
                continue;
            }
            if keys.len() != path.len() + 1 || !keys.starts_with(path) {
                continue;
            }
            let last = &keys[path.len()];
            let index = if last == "-" {
                Some(map.len())
            } else {
                last.parse::<usize>().ok()
            };
            match (&op.op, index) {
                (json_patch::PatchOperation::Add(_), Some(i)) if i <= map.len() => {
                    map.insert(i, None);
                    touched = true;
                }
                (json_patch::PatchOperation::Remove(_), Some(i)) if i < map.len() => {
                    map.remove(i);
                    touched = true;
                }
                (json_patch::PatchOperation::Replace(_), Some(i)) if i < map.len() => {}
                _ => return None,
            }
        }
        touched.then_some(map)
    }

    /// Applies a list change described by an index map: removed items go, kept items are
    /// reconciled in place, inserted items go before the next kept item (or at the end).
    #[allow(clippy::too_many_arguments)]
    fn reconcile_mapped(
        &mut self,
        seq: NodeId,
        items: &[NodeId],
        flow: bool,
        o: &[Value],
        n: &[Value],
        map: &[Option<usize>],
        path: &mut Vec<String>,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        let kept: Vec<usize> = map.iter().flatten().copied().collect();
        for j in (0..o.len()).rev() {
            if !kept.contains(&j) {
                self.remove_item(seq, j, flow, path)?;
            }
        }
        let mut i = 0;
        while i < map.len() {
            match map[i] {
                Some(j) => {
                    if !values_equal(&o[j], &n[i]) {
                        path.push(i.to_string());
                        let line = self.doc.line_of(self.tree.node(items[j]).start);
                        self.reconcile(
                            items[j],
                            &o[j],
                            &n[i],
                            path,
                            Slot::Item { seq, idx: j },
                            line,
                        )?;
                        path.pop();
                    }
                    i += 1;
                }
                None => {
                    let run_end = (i..map.len())
                        .find(|&k| map[k].is_some())
                        .unwrap_or(map.len());
                    match map.get(run_end).copied().flatten() {
                        Some(before) => {
                            for (k, item) in n.iter().enumerate().take(run_end).skip(i) {
                                self.insert_item_before(seq, flow, before, item, k, path)?;
                            }
                        }
                        None => self.append_items(seq, flow, &n[i..], i, path, owner_line)?,
                    }
                    i = run_end;
                }
            }
        }
        Ok(())
    }
}

fn is_collection(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn is_empty_value(doc: &Document, node: &crate::doc::Node) -> bool {
    match node.kind {
        NodeKind::Scalar {
            style: ScalarStyle::Plain,
        } => node.start == node.end,
        NodeKind::Scalar {
            style: ScalarStyle::Literal | ScalarStyle::Folded,
        } => {
            // A block scalar with no content lines.
            !doc.text[node.start..node.end].contains('\n')
        }
        _ => false,
    }
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

#[cold]
fn unreachable_kind() -> ! {
    // Callers match on the node kind before calling; a mismatch is a bug in this module.
    panic!("editor called with the wrong node kind")
}

/// Indentation habits detected from the document: the first nested block mapping gives the
/// unit, the first block sequence under a key gives the sequence offset.
fn detect_style(doc: &Document, tree: &Tree) -> Style {
    let mut unit = None;
    let mut seq = None;
    for node in &tree.nodes {
        let NodeKind::Mapping {
            entries,
            flow: false,
        } = &node.kind
        else {
            continue;
        };
        for e in entries {
            let child = tree.node(e.value);
            let key_line = doc.line_of(e.key_span.0);
            if doc.line_of(child.start) == key_line {
                continue;
            }
            let key_col = e.key_span.0 - doc.line_start(key_line);
            let child_col = child.start - doc.line_start(doc.line_of(child.start));
            match child.kind {
                NodeKind::Mapping { flow: false, .. } if unit.is_none() && child_col > key_col => {
                    unit = Some(child_col - key_col)
                }
                NodeKind::Sequence { flow: false, .. } if seq.is_none() && child_col >= key_col => {
                    seq = Some(child_col - key_col)
                }
                _ => {}
            }
            if unit.is_some() && seq.is_some() {
                break;
            }
        }
    }
    let unit = unit.unwrap_or(2);
    Style {
        unit,
        seq_offset: seq.unwrap_or(unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::FileKind;
    use crate::recipe::Origin;

    /// Applies raw RFC 6902 ops (JSON) to `text`, verifies, and returns the new text.
    fn apply(text: &str, ops: serde_json::Value) -> Result<String, Refusal> {
        let doc = Document::parse("t.yaml", text.to_string(), FileKind::Yaml).expect("parse");
        let origin = Origin {
            file: Arc::new("r.kdl".into()),
            line: 1,
            col: 1,
        };
        let ops: Vec<PlannedOp> = serde_json::from_value::<Vec<json_patch::PatchOperation>>(ops)
            .expect("ops")
            .into_iter()
            .map(|op| PlannedOp {
                op,
                recipe: Arc::from("t"),
                origin: origin.clone(),
                snippet: None,
                placement: None,
                via: None,
            })
            .collect();
        let grouped = vec![(0, ops)];
        let edited = edit(&doc, &grouped)?;
        verify::verify(&doc, &edited.text, &edited.splices, &grouped)?;
        Ok(edited.text)
    }

    fn template(text: &str) -> Document {
        Document::parse("t.yaml", text.to_string(), FileKind::HelmTemplate).expect("parse")
    }

    fn add_op(path: &str, value: serde_json::Value) -> Vec<(usize, Vec<PlannedOp>)> {
        let op =
            serde_json::from_value(serde_json::json!({"op": "add", "path": path, "value": value}))
                .expect("op");
        let origin = Origin {
            file: Arc::new("r.kdl".into()),
            line: 1,
            col: 1,
        };
        vec![(
            0,
            vec![PlannedOp {
                op,
                recipe: Arc::from("t"),
                origin,
                snippet: None,
                placement: None,
                via: None,
            }],
        )]
    }

    #[test]
    fn verifier_refuses_lines_inserted_right_after_an_end_trim() {
        let text = "a:\n  b: 1\n  {{- if .x }}\n  c: 2\n  {{- end -}}\n";
        let doc = template(text);
        let ops = add_op("/a/d", serde_json::json!(3));
        let splices = vec![Splice {
            start: text.len(),
            end: text.len(),
            text: "  d: 3\n".into(),
        }];
        let new = apply_splices(text, &splices);
        let err = verify::verify(&doc, &new, &splices, &ops).expect_err("refused");
        assert!(err.message.contains("`-}}` would join"), "{}", err.message);
    }

    #[test]
    fn editor_moves_a_new_key_before_a_guarded_last_sibling_closed_by_an_end_trim() {
        let text = "a:\n  b: 1\n  {{- if .x }}\n  c: 2\n  {{- end -}}\n";
        let doc = template(text);
        let ops = add_op("/a/d", serde_json::json!(3));
        let edited = edit(&doc, &ops).expect("edit");
        verify::verify(&doc, &edited.text, &edited.splices, &ops).expect("verify");
        assert_eq!(
            edited.text,
            "a:\n  b: 1\n  d: 3\n  {{- if .x }}\n  c: 2\n  {{- end -}}\n"
        );
    }

    #[test]
    fn a_mapping_ending_inside_a_block_it_does_not_share_gets_the_key_after_an_earlier_sibling() {
        // The `if` opened among spec's keys closes only after `status:`.
        let text = "spec:\n  a: 1\n  {{- if .x }}\n  b: 2\nstatus: {}\n{{- end }}\n";
        let doc = template(text);
        let ops = add_op("/spec/c", serde_json::json!(3));
        let edited = edit(&doc, &ops).expect("edit");
        verify::verify(&doc, &edited.text, &edited.splices, &ops).expect("verify");
        assert_eq!(
            edited.text,
            "spec:\n  a: 1\n  c: 3\n  {{- if .x }}\n  b: 2\nstatus: {}\n{{- end }}\n"
        );
    }

    #[test]
    fn an_item_goes_before_closing_end_trims_that_only_lead_to_the_end_of_the_file() {
        let text = "{{- if .a }}\n{{- if .b }}\nl:\n- 1\n{{- end -}}\n{{- end -}}\n";
        let doc = template(text);
        let ops = add_op("/l/1", serde_json::json!(2));
        let edited = edit(&doc, &ops).expect("edit");
        verify::verify(&doc, &edited.text, &edited.splices, &ops).expect("verify");
        assert_eq!(
            edited.text,
            "{{- if .a }}\n{{- if .b }}\nl:\n- 1\n- 2\n{{- end -}}\n{{- end -}}\n"
        );
    }

    #[test]
    fn an_item_that_would_follow_an_end_trim_is_refused_with_the_reason() {
        let text = "l:\n- 1\n{{- if .b }}\n- 2\n{{- end -}}\n{{- if .c }}\n{{- end }}\n";
        let doc = template(text);
        let ops = add_op("/l/2", serde_json::json!(3));
        let err = edit(&doc, &ops).expect_err("refused");
        assert_eq!(err.line, Some(2));
        assert!(
            err.message.contains("would join the new line"),
            "{}",
            err.message
        );
    }

    #[test]
    fn inserts_an_item_between_existing_items_in_their_style() {
        let text = "steps:\n  - name: a\n    run: x\n  # b comes next\n  - name: b\n";
        let out = apply(
            text,
            serde_json::json!([{"op": "add", "path": "/steps/1", "value": {"name": "new", "run": "z"}}]),
        );
        assert_eq!(
            out.expect("edit"),
            "steps:\n  - name: a\n    run: x\n  - name: new\n    run: z\n  # b comes next\n  - name: b\n"
        );
    }

    #[test]
    fn inserts_into_a_flow_sequence() {
        let out = apply(
            "a: [1, 3]\n",
            serde_json::json!([{"op": "add", "path": "/a/1", "value": 2}]),
        );
        assert_eq!(out.expect("edit"), "a: [1, 2, 3]\n");
    }

    #[test]
    fn removing_every_key_leaves_an_empty_flow_mapping() {
        let out = apply(
            "a:\n  b: 1\nc: 2\n",
            serde_json::json!([{"op": "remove", "path": "/a/b"}]),
        );
        assert_eq!(out.expect("edit"), "a: {}\nc: 2\n");
    }

    #[test]
    fn removing_the_first_key_of_a_sequence_item_keeps_the_dash() {
        let out = apply(
            "- name: a\n  image: b\n",
            serde_json::json!([{"op": "remove", "path": "/0/name"}]),
        );
        assert_eq!(out.expect("edit"), "- image: b\n");
    }

    #[test]
    fn removing_a_sequence_item_deletes_its_lines() {
        let out = apply(
            "l:\n- a: 1\n  b: 2\n- c: 3\n",
            serde_json::json!([{"op": "remove", "path": "/l/0"}]),
        );
        assert_eq!(out.expect("edit"), "l:\n- c: 3\n");
    }

    #[test]
    fn replacing_an_alias_writes_the_new_value_in_its_place() {
        let out = apply(
            "a: &x 1\nb: *x\n",
            serde_json::json!([{"op": "replace", "path": "/b", "value": 2}]),
        );
        assert_eq!(out.expect("edit"), "a: &x 1\nb: 2\n");
    }

    #[test]
    fn edits_inside_an_alias_are_refused() {
        let err = apply(
            "a: &x {k: 1}\nb: *x\n",
            serde_json::json!([{"op": "replace", "path": "/b/k", "value": 2}]),
        )
        .expect_err("refused");
        assert!(err.message.contains("alias *x"), "{}", err.message);
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn an_edit_inside_an_anchored_node_that_an_alias_copies_is_refused_naming_the_alias_line() {
        let err = apply(
            "base: &b\n  x: 1\nother: *b\n",
            serde_json::json!([{"op": "add", "path": "/base/z", "value": 2}]),
        )
        .expect_err("refused");
        assert!(
            err.message.contains("alias *b at line 3"),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_edit_inside_an_anchored_or_tagged_node_without_aliases_keeps_its_properties() {
        let out = apply(
            "base: &b !custom\n  x: 1\n",
            serde_json::json!([{"op": "add", "path": "/base/z", "value": 2}]),
        );
        assert_eq!(out.expect("edit"), "base: &b !custom\n  x: 1\n  z: 2\n");
    }

    #[test]
    fn removing_an_anchor_that_an_alias_still_uses_is_refused() {
        for (text, path) in [("a: &x 1\nb: *x\n", "/a"), ("&k a: 1\nb: *k\n", "/a")] {
            let err = apply(text, serde_json::json!([{"op": "remove", "path": path}]))
                .expect_err("refused");
            assert!(err.message.contains("at line 2"), "{}", err.message);
        }
        // Removing the anchor together with its only alias is fine.
        let out = apply(
            "a: &x 1\nb: *x\nc: 3\n",
            serde_json::json!([{"op": "remove", "path": "/a"}, {"op": "remove", "path": "/b"}]),
        );
        assert_eq!(out.expect("edit"), "c: 3\n");
    }

    #[test]
    fn explicit_keys_are_added_after_removed_and_replaced_at_their_indicator() {
        let text = "? a\n: 1\n? b\n: 2\n";
        let add = apply(
            text,
            serde_json::json!([{"op": "add", "path": "/c", "value": 3}]),
        );
        assert_eq!(add.expect("add"), "? a\n: 1\n? b\n: 2\nc: 3\n");
        let remove = apply(text, serde_json::json!([{"op": "remove", "path": "/a"}]));
        assert_eq!(remove.expect("remove"), "? b\n: 2\n");
        let replace = apply(
            text,
            serde_json::json!([{"op": "replace", "path": "/b", "value": {"x": 1}}]),
        );
        assert_eq!(replace.expect("replace"), "? a\n: 1\n? b\n:\n  x: 1\n");
    }

    #[test]
    fn an_empty_key_is_edited_at_its_colon() {
        let text = ": a\nb: 1\n";
        let remove = apply(text, serde_json::json!([{"op": "remove", "path": "/"}]));
        assert_eq!(remove.expect("remove"), "b: 1\n");
        let replace = apply(
            text,
            serde_json::json!([{"op": "replace", "path": "/", "value": "c"}]),
        );
        assert_eq!(replace.expect("replace"), ": c\nb: 1\n");
        let add = apply(
            ": a\n",
            serde_json::json!([{"op": "add", "path": "/b", "value": 1}]),
        );
        assert_eq!(add.expect("add"), ": a\nb: 1\n");
    }

    #[test]
    fn a_value_is_written_after_a_new_colon_where_an_entry_has_none() {
        let out = apply(
            "? a\n? b\n",
            serde_json::json!([{"op": "replace", "path": "/a", "value": 1}]),
        );
        assert_eq!(out.expect("block"), "? a\n: 1\n? b\n");
        let out = apply(
            "{ a, b: 2 }\n",
            serde_json::json!([{"op": "replace", "path": "/a", "value": 1}]),
        );
        assert_eq!(out.expect("flow"), "{ a: 1, b: 2 }\n");
    }

    #[test]
    fn a_new_key_goes_after_a_block_scalars_trailing_line_of_spaces() {
        // The line of three spaces is deeper than the content: it is part of the value.
        let out = apply(
            "foo: |\n  x\n   \n",
            serde_json::json!([{"op": "add", "path": "/b", "value": 1}]),
        );
        assert_eq!(out.expect("edit"), "foo: |\n  x\n   \nb: 1\n");
    }

    #[test]
    fn a_flow_mapping_whose_pairs_all_change_is_rewritten_inside_its_properties() {
        let out = apply(
            "a: !t {x: 1, y: 2}\nb: [k: 1]\n",
            serde_json::json!([
                {"op": "replace", "path": "/a", "value": {"m": 1}},
                {"op": "replace", "path": "/b/0", "value": {"j": 2}}
            ]),
        );
        assert_eq!(out.expect("edit"), "a: !t {m: 1}\nb: [{j: 2}]\n");
    }

    #[test]
    fn a_document_after_directives_is_edited_in_place() {
        let text = "%YAML 1.2\n---\na: 1\n...\n%TAG !x! tag:example.com,2000:\n--- !x!m\nb: 2\n";
        let doc = Document::parse("t.yaml", text.to_string(), FileKind::Yaml).expect("parse");
        let mut ops = add_op("/c", serde_json::json!(3));
        ops[0].0 = 1;
        let edited = edit(&doc, &ops).expect("edit");
        verify::verify(&doc, &edited.text, &edited.splices, &ops).expect("verify");
        assert_eq!(
            edited.text,
            "%YAML 1.2\n---\na: 1\n...\n%TAG !x! tag:example.com,2000:\n--- !x!m\nb: 2\nc: 3\n"
        );
    }

    #[test]
    fn a_second_pair_in_a_flow_sequence_gets_braces() {
        let out = apply(
            "[a: 1, b]\n",
            serde_json::json!([{"op": "add", "path": "/0/c", "value": 2}]),
        );
        assert_eq!(out.expect("edit"), "[{a: 1, c: 2}, b]\n");
    }

    #[test]
    fn folded_scalar_gains_a_line_instead_of_being_rewritten() {
        let text = "with:\n  args: >-\n    --agents 1\n    --registry-create r:5111\nnext: 1\n";
        let value =
            "--agents 1 --registry-create r:5111 --k3s-arg --disable=metrics-server@server:0";
        let out = apply(
            text,
            serde_json::json!([{"op": "replace", "path": "/with/args", "value": value}]),
        );
        assert_eq!(
            out.expect("edit"),
            "with:\n  args: >-\n    --agents 1\n    --registry-create r:5111\n    --k3s-arg --disable=metrics-server@server:0\nnext: 1\n"
        );
    }

    #[test]
    fn folded_scalar_keeps_unchanged_lines_around_a_change() {
        let text = "a: >-\n  one\n  two\n  three\n";
        let out = apply(
            text,
            serde_json::json!([{"op": "replace", "path": "/a", "value": "one 2 three"}]),
        );
        assert_eq!(out.expect("edit"), "a: >-\n  one\n  2\n  three\n");
    }
}
