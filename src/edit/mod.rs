//! The editor: turns a document's planned RFC 6902 ops into minimal byte splices of the
//! original text. It walks the old and new models side by side and touches only the nodes
//! that differ, so every byte outside those nodes (comments, blank lines, quoting, key order,
//! template lines) stays as it was. Where a template makes an edit unsafe, it refuses.

pub mod render;
pub mod text;
pub mod verify;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::doc::template::{ActionKind, BlockKind};
use crate::doc::{Document, NodeId, NodeKind, ScalarStyle, Tree, YamlDoc};
use crate::plan::{PlannedOp, values_equal};
use render::{Rendered, Style};

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
}

/// Applies `ops` (grouped by document index) to `doc`'s text.
pub fn edit(doc: &Document, ops: &[(usize, Vec<PlannedOp>)]) -> Result<Edited, Refusal> {
    let mut splices = Vec::new();
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
                splices.extend(ed.splices);
            }
            None if doc.docs.is_empty() && *index == 0 => {
                // An empty (or comments-only) file: the new document is appended.
                let mut new = Value::Null;
                let raw: Vec<_> = doc_ops.iter().map(|o| o.op.clone()).collect();
                json_patch::patch(&mut new, &raw)
                    .map_err(|e| refuse(format!("the plan does not apply: {e}")))?;
                splices.push(new_document_splice(doc, &new, doc_ops));
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
    })
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

fn new_document_splice(doc: &Document, new: &Value, ops: &[PlannedOp]) -> Splice {
    let nl = doc.newline();
    let lines = lines_for_new_value(new, ops, Style::default());
    let mut text = String::new();
    if !doc.text.is_empty() && !doc.text.ends_with('\n') {
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
                    v.extend(lines.into_iter().map(|l| render::indent_line("  ", l)));
                    v
                }
            }
        }
        None => vec![render::scalar(new, None)],
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
}

impl LineActions {
    fn new(doc: &Document) -> Self {
        let mut kinds = HashMap::new();
        if let Some(m) = &doc.masked {
            for a in m.actions.iter().filter(|a| a.whole_line) {
                let first = doc.line_of(a.span.start);
                let last = doc.line_of(a.span.end.saturating_sub(1).max(a.span.start));
                let col = a.span.start - doc.line_start(first);
                for l in first..=last {
                    kinds.entry(l).or_insert((a.kind, col));
                }
            }
        }
        LineActions { kinds }
    }

    fn get(&self, line: usize) -> Option<(ActionKind, usize)> {
        self.kinds.get(&line).copied()
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
            pointer: crate::plan::to_pointer(path).to_string(),
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
        if let Some(what) = node.special {
            return Err(self.refuse(
                node.start,
                path,
                format!("the node uses {what}; patcher does not edit through it"),
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
                for idx in removed.into_iter().rev() {
                    self.remove_entry(id, idx, flow, path)?;
                }
                let added: Vec<(&String, &Value)> =
                    n.iter().filter(|(k, _)| !o.contains_key(*k)).collect();
                if !added.is_empty() {
                    self.insert_entries(id, flow, &added, path, owner_line)?;
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
                self.replace_scalar(id, new, style, path)
            }
            _ => {
                self.check_not_template_supplied(id, slot, path)?;
                self.replace_value(id, slot, new, path)
            }
        }
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

    /// Refuses edits inside `define`/`block` bodies, whose text is rendered wherever they are
    /// included. (Edits inside `range` are allowed: the body is rendered once per item, and
    /// the recipe then holds for every item.)
    fn check_not_repeated(
        &self,
        line: usize,
        offset: usize,
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        for b in m.open_blocks_at_line(line + 1) {
            let block = &m.blocks[b];
            if matches!(block.kind, BlockKind::Define | BlockKind::Block) {
                return Err(self.refuse(
                    offset,
                    path,
                    format!(
                        "the node is inside a template `{}` block opened at line {}; its text is repeated or reused when rendered, so edit it by hand",
                        block_name(block.kind),
                        block.open_line
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses to replace a value whose text is, or comes from, a template action.
    fn check_not_template_supplied(
        &self,
        id: NodeId,
        slot: Slot,
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        let node = self.tree.node(id);
        self.check_not_repeated(self.doc.line_of(node.start), node.start, path)?;
        let span = node.start..node.end.max(node.start + 1);
        if let Some(a) = m.inline_action_in(span) {
            let action = &self.doc.text[a.span.clone()];
            return Err(self.refuse(
                node.start,
                path,
                format!("its value comes from the template action `{action}` at line {}; change the chart's values.yaml instead", a.line),
            ));
        }
        if let Slot::Entry { .. } = slot
            && is_empty_value(self.doc, node)
        {
            let next = self.doc.line_of(node.end.saturating_sub(1)) + 1;
            if let Some((ActionKind::Output, _)) = self.lines.get(next) {
                let text = self.doc.line_text(next).trim();
                return Err(self.refuse(
                    node.start,
                    path,
                    format!("its value is produced by the template line {} (`{text}`); change the chart's values.yaml instead", next + 1),
                ));
            }
        }
        Ok(())
    }

    fn replace_scalar(
        &mut self,
        id: NodeId,
        new: &Value,
        style: ScalarStyle,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(id);
        let (start, end) = (node.start, node.end);
        if let (ScalarStyle::Folded, Value::String(s)) = (style, new)
            && let Some(splice) = self.refold(start, end, s)
        {
            self.splices.push(splice);
            return Ok(());
        }
        if let (ScalarStyle::Literal | ScalarStyle::Folded, Value::String(_)) = (style, new)
            && let Rendered::Scalar { header, lines } = render::block(new, self.style)
        {
            let indicator = if style == ScalarStyle::Folded {
                header.replacen('|', ">", 1)
            } else {
                header
            };
            // Keep the old content indentation when it is deeper than the key's line.
            let header_line = self.doc.line_of(start);
            let key_indent = leading_spaces(self.doc.line_text(header_line));
            let old_indent = leading_spaces(self.doc.line_text(header_line + 1));
            let indent = if old_indent > key_indent {
                old_indent
            } else {
                key_indent + self.style.unit
            };
            let pad = " ".repeat(indent);
            let mut text = indicator;
            for l in lines {
                text.push_str(self.nl);
                text.push_str(&render::indent_line(&pad, l));
            }
            self.splices.push(Splice { start, end, text });
            return Ok(());
        }
        let prefer = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => None,
            s => Some(s),
        };
        if is_empty_value(self.doc, node) {
            // `key:` with nothing after it: write ` value` after the colon.
            self.splices.push(Splice {
                start,
                end,
                text: format!(" {}", render::scalar(new, None)),
            });
            return Ok(());
        }
        let _ = path;
        self.splices.push(Splice {
            start,
            end,
            text: render::scalar(new, prefer),
        });
        Ok(())
    }

    /// Rewrites a folded (`>`) scalar's content lines so they fold to `s`, keeping every
    /// old line that still matches (a flag added to `args: >-` becomes one new line).
    /// `None` when the old block is not simple (blank or more-indented lines) or `s` does not
    /// fit its chomping indicator.
    fn refold(&self, start: usize, end: usize, s: &str) -> Option<Splice> {
        let header_line = self.doc.line_of(start);
        let header = self
            .doc
            .line_text(header_line)
            .get(self.col(start)..)?
            .trim_end();
        let strip = header.starts_with(">-");
        let keep_newline = !strip && !header.starts_with(">+");
        let body = match (strip, s.strip_suffix('\n')) {
            (true, None) => s,
            (false, Some(b)) if keep_newline => b,
            _ => return None,
        };
        if body.contains('\n') || body.is_empty() {
            return None;
        }
        let last_line = self.doc.line_of(end.saturating_sub(1));
        let old: Vec<&str> = (header_line + 1..=last_line)
            .map(|l| self.doc.line_text(l))
            .collect();
        let indent = leading_spaces(old.first()?);
        if old
            .iter()
            .any(|l| l.trim().is_empty() || leading_spaces(l) != indent)
        {
            return None;
        }
        let old: Vec<&str> = old.iter().map(|l| l.trim()).collect();
        // Old lines that still start the text, old lines that still end it, the rest as one line.
        let mut rest = body;
        let mut head = Vec::new();
        for l in &old {
            if rest == *l {
                head.push(*l);
                rest = "";
                break;
            }
            match rest.strip_prefix(l).and_then(|r| r.strip_prefix(' ')) {
                Some(r) => {
                    head.push(*l);
                    rest = r;
                }
                None => break,
            }
        }
        let mut tail = Vec::new();
        for l in old[head.len()..].iter().rev() {
            if rest.is_empty() {
                break;
            }
            if rest == *l {
                tail.push(*l);
                rest = "";
                break;
            }
            match rest.strip_suffix(l).and_then(|r| r.strip_suffix(' ')) {
                Some(r) => {
                    tail.push(*l);
                    rest = r;
                }
                None => break,
            }
        }
        let mut lines: Vec<&str> = head;
        if !rest.is_empty() {
            lines.push(rest);
        }
        lines.extend(tail.into_iter().rev());
        let pad = " ".repeat(indent);
        let text: String = lines
            .iter()
            .map(|l| format!("{}{pad}{l}", self.nl))
            .collect();
        let from = self.doc.line_start(header_line + 1) - self.nl.len();
        Some(Splice {
            start: from,
            end,
            text,
        })
    }

    /// Replaces a node whose type changes (or a collection that becomes empty).
    fn replace_value(
        &mut self,
        id: NodeId,
        slot: Slot,
        new: &Value,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(id);
        let in_flow = match slot {
            Slot::Entry { map, .. } => matches!(
                self.tree.node(map).kind,
                NodeKind::Mapping { flow: true, .. }
            ),
            Slot::Item { seq, .. } => matches!(
                self.tree.node(seq).kind,
                NodeKind::Sequence { flow: true, .. }
            ),
            Slot::Root => false,
        };
        let flow_node = matches!(
            node.kind,
            NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
        );
        if in_flow || (flow_node && !is_collection(new)) {
            let text = if in_flow {
                render::flow(new)
            } else {
                render::scalar(new, None)
            };
            self.splices.push(Splice {
                start: node.start,
                end: node.end,
                text,
            });
            return Ok(());
        }
        let rendering = self.value_rendering(path, new);
        let (region_start, base_col) = match slot {
            Slot::Entry { map, idx } => {
                let NodeKind::Mapping { entries, .. } = &self.tree.node(map).kind else {
                    unreachable_kind()
                };
                let e = &entries[idx];
                (self.after_colon(e.key_span.1), self.col(e.key_span.0))
            }
            Slot::Item { seq, idx } => {
                let dash = self
                    .dash_of(seq, idx)
                    .ok_or_else(|| self.refuse(node.start, path, "cannot find the item's `-`"))?;
                (dash + 1, self.col(dash))
            }
            Slot::Root => {
                let lines = match rendering {
                    Rendered::Inline(s) => vec![s],
                    Rendered::Block { lines, .. } => lines,
                    Rendered::Scalar { header, lines } => {
                        let mut v = vec![header];
                        v.extend(lines.into_iter().map(|l| render::indent_line("  ", l)));
                        v
                    }
                };
                let col = self.col(node.start);
                let pad = " ".repeat(col);
                let text = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            l
                        } else {
                            render::indent_line(&pad, l)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(self.nl);
                self.splices.push(Splice {
                    start: node.start,
                    end: node.end,
                    text,
                });
                return Ok(());
            }
        };
        let is_item = matches!(slot, Slot::Item { .. });
        let mut end = node.end.max(region_start);
        // Keep a trailing comment of the old value on the key line.
        let eol = self
            .doc
            .line_start(self.doc.line_of(end.saturating_sub(1).max(region_start)) + 1);
        let rest = self.doc.text[end..eol].trim_end_matches(['\n', '\r']);
        let comment = if rest.trim_start().starts_with('#') {
            rest.to_string()
        } else {
            String::new()
        };
        if !comment.is_empty() {
            end += rest.len();
        }
        let text = match rendering {
            Rendered::Inline(s) => format!(" {s}{comment}"),
            Rendered::Block { lines, seq } => {
                if is_item && !seq {
                    // `- a: 1` with the other keys aligned under the first.
                    let pad = " ".repeat(base_col + 2);
                    let mut t = String::new();
                    for (i, l) in lines.into_iter().enumerate() {
                        if i == 0 {
                            t.push(' ');
                            t.push_str(&l);
                            t.push_str(&comment);
                        } else {
                            t.push_str(self.nl);
                            t.push_str(&render::indent_line(&pad, l));
                        }
                    }
                    t
                } else {
                    let offset = if is_item {
                        2
                    } else if seq {
                        self.style.seq_offset
                    } else {
                        self.style.unit
                    };
                    let pad = " ".repeat(base_col + offset);
                    let mut t = comment.clone();
                    for l in lines {
                        t.push_str(self.nl);
                        t.push_str(&render::indent_line(&pad, l));
                    }
                    t
                }
            }
            Rendered::Scalar { header, lines } => {
                let pad = " ".repeat(base_col + if is_item { 2 } else { self.style.unit });
                let mut t = format!(" {header}{comment}");
                for l in lines {
                    t.push_str(self.nl);
                    t.push_str(&render::indent_line(&pad, l));
                }
                t
            }
        };
        self.splices.push(Splice {
            start: region_start,
            end,
            text,
        });
        Ok(())
    }

    /// The byte after the `:` that follows a key ending at `key_end`.
    fn after_colon(&self, key_end: usize) -> usize {
        let bytes = self.doc.text.as_bytes();
        let mut i = key_end;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b':' {
            i + 1
        } else {
            key_end
        }
    }

    /// Offset of the `-` of block sequence item `idx`.
    fn dash_of(&self, seq: NodeId, idx: usize) -> Option<usize> {
        let NodeKind::Sequence { items, flow: false } = &self.tree.node(seq).kind else {
            return None;
        };
        let item = self.tree.node(items[idx]);
        let bytes = self.doc.text.as_bytes();
        let mut i = item.start;
        // An empty item (`-` alone) starts at or after its dash.
        if item.start == item.end && i > 0 && bytes.get(i.saturating_sub(1)) == Some(&b'-') {
            return Some(i - 1);
        }
        while i > 0 {
            i -= 1;
            match bytes[i] {
                b' ' | b'\t' | b'\n' | b'\r' => continue,
                b'-' => return Some(i),
                b'#' => continue,
                _ => {
                    // Skip a comment line between the dash and the item.
                    let line = self.doc.line_of(i);
                    if self
                        .doc
                        .masked_line_text(line)
                        .trim_start()
                        .starts_with('#')
                    {
                        i = self.doc.line_start(line);
                        continue;
                    }
                    return None;
                }
            }
        }
        None
    }

    /// The first byte after a mapping entry or sequence item, including the template lines
    /// that belong to it (see DESIGN "Helm templates").
    fn extent_end(&self, value: NodeId, key_col: usize, key_end: usize) -> usize {
        let node = self.tree.node(value);
        let mut line = self.doc.line_of(node.end.max(key_end).saturating_sub(1)) + 1;
        let empty = is_empty_value(self.doc, node);
        while let Some((kind, col)) = self.lines.get(line) {
            let belongs = matches!(
                kind,
                ActionKind::Output | ActionKind::Comment | ActionKind::Assign
            ) && (empty || col > key_col);
            if !belongs {
                break;
            }
            line += 1;
        }
        // Blocks opened inside the entry (`{{- if }}` … `{{- else }}` … `{{- end }}` around
        // its last lines) end with it: include their else branches and `end` lines.
        if let Some(m) = &self.doc.masked {
            let base = m.open_blocks_at_line(self.doc.line_of(key_end) + 1);
            while line < self.doc.line_count() {
                let here = m.open_blocks_at_line(line + 1);
                let deeper = here.len() > base.len() && here.starts_with(&base);
                if !(deeper && self.is_branch_line(line)) {
                    break;
                }
                line += 1;
            }
        }
        self.doc.line_start(line)
    }

    /// A line that only continues or closes template blocks: a whole-line `else`/`end`, a
    /// line of a hidden (`else`) branch, or a blank line.
    fn is_branch_line(&self, line: usize) -> bool {
        if matches!(
            self.lines.get(line),
            Some((ActionKind::End | ActionKind::Else, _))
        ) {
            return true;
        }
        let start = self.doc.line_start(line);
        let hidden = self
            .doc
            .masked
            .as_ref()
            .is_some_and(|m| m.hidden.iter().any(|h| h.start <= start && start <= h.end));
        hidden || self.doc.line_text(line).trim().is_empty()
    }

    /// Moves an insertion point past `end` lines of blocks that the parent does not share.
    fn template_safe_point(
        &self,
        mut at: usize,
        owner_line: usize,
        offset: usize,
        path: &[String],
    ) -> Result<usize, Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(at);
        };
        let target = m.open_blocks_at_line(owner_line + 1);
        loop {
            let line = self.doc.line_of(at);
            if at >= self.doc.text.len() {
                return Ok(at);
            }
            let here = m.open_blocks_at_line(line + 1);
            if here == target {
                return Ok(at);
            }
            if here.len() > target.len() && here.starts_with(&target) && self.is_branch_line(line) {
                at = self.doc.line_start(line + 1);
                continue;
            }
            return Err(self.refuse(
                offset,
                path,
                format!(
                    "no template-safe place to insert here: line {} is inside a template block that the parent does not share",
                    line + 1
                ),
            ));
        }
    }

    fn insert_entries(
        &mut self,
        map: NodeId,
        flow: bool,
        added: &[(&String, &Value)],
        path: &mut Vec<String>,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(map);
        let NodeKind::Mapping { entries, .. } = &node.kind else {
            unreachable_kind()
        };
        if flow {
            let mut text = String::new();
            for (i, (k, v)) in added.iter().enumerate() {
                if !entries.is_empty() || i > 0 {
                    text.push_str(", ");
                }
                text.push_str(&format!("{}: {}", render::key(k), render::flow(v)));
            }
            let at = match entries.last() {
                Some(e) => self.tree.node(e.value).end.max(e.key_span.1),
                None => node.start + 1,
            };
            self.splices.push(Splice {
                start: at,
                end: at,
                text,
            });
            return Ok(());
        }
        let Some(last) = entries.last() else {
            return Err(self.refuse(node.start, path, "empty block mapping"));
        };
        let first_key = entries[0].key_span.0;
        let indent = self.col(first_key);
        let end = self.extent_end(last.value, self.col(last.key_span.0), last.key_span.1);
        let at = self.template_safe_point(end, owner_line, node.start, path)?;
        self.check_hidden_keys(first_key, at, indent, added, path)?;
        let mut lines = Vec::new();
        for (k, v) in added {
            path.push((*k).clone());
            let rendering = self.value_rendering(path, v);
            path.pop();
            push_entry(&mut lines, &render::key(k), rendering, self.style);
        }
        let pad = " ".repeat(indent);
        let lines: Vec<String> = lines
            .into_iter()
            .map(|l| render::indent_line(&pad, l))
            .collect();
        self.insert_lines(at, lines);
        Ok(())
    }

    /// Refuses to add a key that a hidden template branch (an `else`) of this mapping defines.
    fn check_hidden_keys(
        &self,
        from: usize,
        to: usize,
        indent: usize,
        added: &[(&String, &Value)],
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        for h in m.hidden.iter().filter(|h| {
            h.start >= self.doc.line_start(self.doc.line_of(from)) && h.start < to.max(from)
        }) {
            let line = &self.doc.text[h.clone()];
            if leading_spaces(line) != indent {
                continue;
            }
            let body = line.trim_start();
            for (k, _) in added {
                if body.starts_with(&format!("{k}:")) || body.starts_with(&format!("\"{k}\":")) {
                    return Err(self.refuse(
                        h.start,
                        path,
                        format!("key `{k}` is defined in another branch of a template condition (line {}); adding it here would duplicate it when that branch renders", self.doc.line_col(h.start).0),
                    ));
                }
            }
        }
        Ok(())
    }

    fn insert_lines(&mut self, at: usize, lines: Vec<String>) {
        let body = lines.join(self.nl);
        // A block scalar's final line break is part of its value, so it cannot end a file
        // that has no final newline: the file gains one then.
        let block_scalar = lines.iter().any(|l| {
            let t = l.split(" #").next().unwrap_or(l).trim_end();
            t.ends_with(['|', '>']) || t.ends_with("|-") || t.ends_with(">-")
        });
        let text = if at >= self.doc.text.len()
            && !self.doc.text.is_empty()
            && !self.doc.text.ends_with('\n')
        {
            if block_scalar {
                format!("{}{}{}", self.nl, body, self.nl)
            } else {
                format!("{}{}", self.nl, body)
            }
        } else {
            format!("{}{}", body, self.nl)
        };
        self.splices.push(Splice {
            start: at,
            end: at,
            text,
        });
    }

    /// Inserts `v` (new index `index`) just before the old item `before`, in its style.
    fn insert_item_before(
        &mut self,
        seq: NodeId,
        flow: bool,
        before: usize,
        v: &Value,
        index: usize,
        path: &mut Vec<String>,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        let next = self.tree.node(items[before]);
        if flow {
            let text = format!("{}, ", render::flow(v));
            self.splices.push(Splice {
                start: next.start,
                end: next.start,
                text,
            });
            return Ok(());
        }
        let dash = self
            .dash_of(seq, before)
            .ok_or_else(|| self.refuse(next.start, path, "cannot find the item's `-`"))?;
        let line = self.doc.line_of(dash);
        let line_start = self.doc.line_start(line);
        if !self.doc.text[line_start..dash].trim().is_empty() {
            return Err(self.refuse(dash, path, "the item shares its line with another `-`"));
        }
        self.check_not_repeated(line, dash, path)?;
        // Comment lines right above the item describe it: insert above them.
        let mut at_line = line;
        while at_line > 0
            && self
                .doc
                .masked_line_text(at_line - 1)
                .trim_start()
                .starts_with('#')
        {
            if self.lines.get(at_line - 1).is_some() {
                break; // a masked template line, not a comment
            }
            at_line -= 1;
        }
        let line_start_at = self.doc.line_start(at_line);
        path.push(index.to_string());
        let rendering = self.value_rendering(path, v);
        path.pop();
        let mut lines = Vec::new();
        push_item_rendering(&mut lines, rendering);
        let pad = " ".repeat(dash - line_start);
        let mut text: String = lines
            .into_iter()
            .map(|l| render::indent_line(&pad, l) + self.nl)
            .collect();
        // Items separated by blank lines: keep the separation.
        if at_line > 0 && self.doc.line_text(at_line - 1).trim().is_empty() {
            text.push_str(self.nl);
        }
        self.splices.push(Splice {
            start: line_start_at,
            end: line_start_at,
            text,
        });
        Ok(())
    }

    fn append_items(
        &mut self,
        seq: NodeId,
        flow: bool,
        new_items: &[Value],
        first_index: usize,
        path: &mut Vec<String>,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        if flow {
            let mut text = String::new();
            for (i, v) in new_items.iter().enumerate() {
                if !items.is_empty() || i > 0 {
                    text.push_str(", ");
                }
                text.push_str(&render::flow(v));
            }
            let at = match items.last() {
                Some(&last) => self.tree.node(last).end,
                None => node.start + 1,
            };
            self.splices.push(Splice {
                start: at,
                end: at,
                text,
            });
            return Ok(());
        }
        let Some(last_idx) = items.len().checked_sub(1) else {
            return Err(self.refuse(node.start, path, "empty block sequence"));
        };
        let dash = self
            .dash_of(seq, last_idx)
            .ok_or_else(|| self.refuse(node.start, path, "cannot find the last item's `-`"))?;
        let dash_col = self.col(dash);
        if !self.doc.line_text(self.doc.line_of(dash))[..dash_col]
            .trim()
            .is_empty()
        {
            return Err(self.refuse(
                dash,
                path,
                "the last item shares its line with another `-`; edit it by hand",
            ));
        }
        let end = self.extent_end(items[last_idx], dash_col, dash + 1);
        let at = self.template_safe_point(end, owner_line, node.start, path)?;
        let mut lines = Vec::new();
        for (i, v) in new_items.iter().enumerate() {
            path.push((first_index + i).to_string());
            let rendering = self.value_rendering(path, v);
            path.pop();
            push_item_rendering(&mut lines, rendering);
        }
        let pad = " ".repeat(dash_col);
        let mut lines: Vec<String> = lines
            .into_iter()
            .map(|l| render::indent_line(&pad, l))
            .collect();
        // Items separated by blank lines: keep the separation.
        let dash_line = self.doc.line_of(dash);
        if last_idx > 0 && dash_line > 0 && self.doc.line_text(dash_line - 1).trim().is_empty() {
            lines.insert(0, String::new());
        }
        self.insert_lines(at, lines);
        Ok(())
    }

    fn remove_entry(
        &mut self,
        map: NodeId,
        idx: usize,
        flow: bool,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(map);
        let NodeKind::Mapping { entries, .. } = &node.kind else {
            unreachable_kind()
        };
        let e = &entries[idx];
        let mut child_path = path.to_vec();
        child_path.push(e.key.clone());
        if let Some(m) = &self.doc.masked
            && let Some(a) = m.inline_action_in(e.key_span.0..e.key_span.1.max(e.key_span.0 + 1))
        {
            return Err(self.refuse(
                e.key_span.0,
                &child_path,
                format!("the key comes from the template action at line {}", a.line),
            ));
        }
        self.check_not_repeated(self.doc.line_of(e.key_span.0), e.key_span.0, &child_path)?;
        let value = self.tree.node(e.value);
        if flow {
            let (start, end) = if idx > 0 {
                let prev = &entries[idx - 1];
                (
                    self.tree.node(prev.value).end.max(prev.key_span.1),
                    value.end.max(e.key_span.1),
                )
            } else {
                (
                    e.key_span.0,
                    entries.get(1).map_or(value.end, |n| n.key_span.0),
                )
            };
            self.splices.push(Splice {
                start,
                end,
                text: String::new(),
            });
            return Ok(());
        }
        let line = self.doc.line_of(e.key_span.0);
        let line_start = self.doc.line_start(line);
        let key_col = e.key_span.0 - line_start;
        let end = self.extent_end(e.value, key_col, e.key_span.1);
        if self.doc.text[line_start..e.key_span.0].trim().is_empty() {
            self.splices.push(Splice {
                start: line_start,
                end,
                text: String::new(),
            });
        } else if let Some(next) = entries.get(idx + 1) {
            // `- key: v` as the first key of an item: the next key moves up behind the dash.
            self.splices.push(Splice {
                start: e.key_span.0,
                end: next.key_span.0,
                text: String::new(),
            });
        } else {
            return Err(self.refuse(
                e.key_span.0,
                &child_path,
                "the key shares its line with other syntax; edit it by hand",
            ));
        }
        Ok(())
    }

    fn remove_item(
        &mut self,
        seq: NodeId,
        idx: usize,
        flow: bool,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        let item = self.tree.node(items[idx]);
        let mut child_path = path.to_vec();
        child_path.push(idx.to_string());
        self.check_not_repeated(self.doc.line_of(item.start), item.start, &child_path)?;
        if flow {
            let (start, end) = if idx > 0 {
                (self.tree.node(items[idx - 1]).end, item.end)
            } else {
                (
                    item.start,
                    items.get(1).map_or(item.end, |&n| self.tree.node(n).start),
                )
            };
            self.splices.push(Splice {
                start,
                end,
                text: String::new(),
            });
            return Ok(());
        }
        let dash = self
            .dash_of(seq, idx)
            .ok_or_else(|| self.refuse(item.start, &child_path, "cannot find the item's `-`"))?;
        let line_start = self.doc.line_start(self.doc.line_of(dash));
        if !self.doc.text[line_start..dash].trim().is_empty() {
            return Err(self.refuse(
                dash,
                &child_path,
                "the item shares its line with other syntax; edit it by hand",
            ));
        }
        let end = self.extent_end(items[idx], dash - line_start, dash + 1);
        self.splices.push(Splice {
            start: line_start,
            end,
            text: String::new(),
        });
        Ok(())
    }

    /// Renders the new value at `path`, from the recipe's YAML snippet where it has one.
    fn value_rendering(&mut self, path: &[String], v: &Value) -> Rendered {
        if let Some(lines) = self.snippet_lines(path, v) {
            return Rendered::Block {
                lines,
                seq: v.is_array(),
            };
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                let mut lines = Vec::new();
                let mut p = path.to_vec();
                for (k, child) in m {
                    p.push(k.clone());
                    let r = self.value_rendering(&p, child);
                    p.pop();
                    push_entry(&mut lines, &render::key(k), r, self.style);
                }
                Rendered::Block { lines, seq: false }
            }
            Value::Array(a) if !a.is_empty() => {
                let mut lines = Vec::new();
                let mut p = path.to_vec();
                for (i, child) in a.iter().enumerate() {
                    p.push(i.to_string());
                    let r = self.value_rendering(&p, child);
                    push_item_rendering(&mut lines, r);
                    p.pop();
                }
                Rendered::Block { lines, seq: true }
            }
            other => render::block(other, self.style),
        }
    }

    /// The snippet text (lines at column 0) for the value at `path`, when an op's `(yaml)`
    /// snippet covers it and its block node reads as exactly `v`.
    fn snippet_lines(&mut self, path: &[String], v: &Value) -> Option<Vec<String>> {
        if !is_collection(v) {
            return None;
        }
        let ops = self.ops;
        for op in ops {
            let Some((at, yaml)) = &op.snippet else {
                continue;
            };
            let at_keys: Vec<String> = jsonptr::Pointer::parse(at.as_str())
                .ok()?
                .tokens()
                .map(|t| t.decoded().into_owned())
                .collect();
            if at_keys.len() > path.len() || path[..at_keys.len()] != at_keys[..] {
                continue;
            }
            let rel = &path[at_keys.len()..];
            let key = Arc::as_ptr(yaml) as *const u8;
            let snippet = self
                .snippets
                .entry(key)
                .or_insert_with(|| Document::parse_snippet(yaml).ok());
            let snippet = snippet.as_ref()?;
            let sdoc = snippet.docs.first()?;
            let id = sdoc.tree.lookup(rel)?;
            if !values_equal(crate::plan::lookup(&sdoc.model, rel)?, v) {
                continue;
            }
            let node = sdoc.tree.node(id);
            if matches!(
                node.kind,
                NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
            ) {
                return None;
            }
            let col = node.start - snippet.line_start(snippet.line_of(node.start));
            let first = snippet.line_of(node.start);
            let last = snippet.line_of(node.end.saturating_sub(1).max(node.start));
            let mut lines = Vec::new();
            for l in first..=last {
                let text = snippet.line_text(l);
                let text = if l == first {
                    &text[col..]
                } else {
                    let strip = leading_spaces(text).min(col);
                    &text[strip..]
                };
                lines.push(text.trim_end().to_string());
            }
            return Some(lines);
        }
        None
    }
}

fn push_entry(lines: &mut Vec<String>, key_text: &str, r: Rendered, style: Style) {
    match r {
        Rendered::Inline(s) => lines.push(format!("{key_text}: {s}")),
        Rendered::Block { lines: l, seq } => {
            lines.push(format!("{key_text}:"));
            let pad = " ".repeat(if seq { style.seq_offset } else { style.unit });
            lines.extend(l.into_iter().map(|x| render::indent_line(&pad, x)));
        }
        Rendered::Scalar { header, lines: l } => {
            lines.push(format!("{key_text}: {header}"));
            let pad = " ".repeat(style.unit);
            lines.extend(l.into_iter().map(|x| render::indent_line(&pad, x)));
        }
    }
}

/// `- value` lines for one sequence item, at column 0.
fn push_item_rendering(lines: &mut Vec<String>, r: Rendered) {
    match r {
        Rendered::Inline(s) => lines.push(format!("- {s}")),
        Rendered::Block { lines: l, .. } => render::push_item(lines, l),
        Rendered::Scalar { header, lines: l } => {
            lines.push(format!("- {header}"));
            lines.extend(l.into_iter().map(|x| render::indent_line("  ", x)));
        }
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

fn block_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::If => "if",
        BlockKind::With => "with",
        BlockKind::Range => "range",
        BlockKind::Define => "define",
        BlockKind::Block => "block",
    }
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
            })
            .collect();
        let grouped = vec![(0, ops)];
        let edited = edit(&doc, &grouped)?;
        verify::verify(&doc, &edited.text, &edited.splices, &grouped)?;
        Ok(edited.text)
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
    fn edits_through_an_alias_are_refused() {
        let err = apply(
            "a: &x 1\nb: *x\n",
            serde_json::json!([{"op": "replace", "path": "/b", "value": 2}]),
        );
        assert!(err.expect_err("refused").message.contains("alias"));
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
