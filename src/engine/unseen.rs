//! What a recipe could not see in a Helm template: the places where template output that
//! the values view did not follow stands in the model (a placeholder string, an empty value
//! an action prints, a mapping or list an action adds entries to), and the rule paths that
//! reach into them. A rule that reaches one is *unchecked* in that file — never "holds", never
//! "matched nothing" — with the action named (file:line and its text). Decides nothing else
//! and never changes a plan.

use serde_json::Value;

use crate::doc::template::{self, Action, ActionKind};
use crate::doc::{Document, NodeKind};
use crate::path::{PathExpr, Segment};
use crate::plan::includes::Rendering;
use crate::plan::view::ValuesView;
use crate::recipe::{FileRule, Origin, Rule};

/// What kind of node an unfollowed action prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The action is the node's whole value (`key: {{ include .. | nindent 4 }}`, or alone
    /// on the lines under an empty `key:`): the model holds nothing there.
    Value,
    /// The action, on a line of its own among a mapping's entries or a list's items, may
    /// print more of them.
    Entries,
}

/// An action whose output the model does not hold.
#[derive(Debug, Clone)]
struct Opaque {
    /// Keys of the node in the planned model (after the view pruned unrendered entries).
    pointer: Vec<String>,
    shape: Shape,
    line: usize,
    action: String,
}

/// The unfollowed template output of one document of a template, as the rules see it.
pub(crate) struct Unseen {
    opaque: Vec<Opaque>,
    /// (placeholder, 1-based line, action text) of the document's inline actions: a string
    /// holding one is template output.
    inline: Vec<(String, usize, String)>,
    /// (placeholder, 1-based line, block text) of mapping keys an `if`/`else` in the middle
    /// of a line chooses (`{{ if .x -}} stringData: {{- else -}} data: {{- end }}`): a mapping
    /// holding one has a key whose name patcher does not know.
    /// The location is `line N` of this file, or `FILE:N (in define "NAME")` for a choice
    /// inside a define the view spliced in.
    keys: Vec<(String, String, String)>,
    /// (placeholder, the words it chooses from) of the value choices.
    words: Vec<(String, Vec<String>)>,
}

impl Unseen {
    /// The unfollowed output of document `index` of `doc`, given the model as planned
    /// (`model`, after the view rendered it) and the view. `None` for files without actions.
    pub(crate) fn find(
        doc: &Document,
        index: usize,
        model: &Value,
        view: Option<&ValuesView>,
        rendering: Option<&Rendering>,
    ) -> Option<Unseen> {
        let m = doc.masked.as_ref()?;
        let Some(ydoc) = doc.docs.get(index) else {
            // Nothing but actions: whatever the file renders, an action prints all of it.
            return (doc.docs.is_empty() && index == 0).then(|| whole_file(doc, m, view));
        };
        let in_doc = |a: &&Action| a.span.start >= ydoc.start && a.span.start < ydoc.end.max(1);
        let mut inline = Vec::new();
        for a in m.actions.iter().filter(in_doc) {
            if a.whole_line || a.kind != ActionKind::Output {
                continue;
            }
            let masked = &m.text.as_bytes()[a.span.clone()];
            let first = masked.split(|&c| c == b'\n').next().unwrap_or_default();
            if first.first() == Some(&b'_')
                && let Ok(ph) = std::str::from_utf8(first)
            {
                let ph = ph.trim_end_matches('_');
                if ph.len() >= 5 {
                    inline.push((ph.to_string(), a.line, template::action_text(&doc.text, a)));
                }
            }
        }
        // A block that chooses one word: a value (found in the strings it stands in, like an
        // inline action) or a key.
        let mut keys = Vec::new();
        let mut words = Vec::new();
        for c in m
            .choices
            .iter()
            .filter(|c| c.span.start >= ydoc.start && c.span.start < ydoc.end.max(1))
        {
            let Some(ph) = m.text.get(c.span.clone()) else {
                continue;
            };
            let ph = ph.trim_end_matches(':').trim_end_matches('_').to_string();
            if ph.len() < 5 {
                continue;
            }
            let text = m.choice_text(&doc.text, c);
            if c.key {
                keys.push((ph, format!("line {}", c.line), text));
            } else {
                words.push((ph.clone(), c.words.clone()));
                inline.push((ph, c.line, text));
            }
        }
        // Choices inside the defines the view spliced in: a key of theirs in this model is a
        // key patcher does not know either (named at the define's file and line).
        if let Some(v) = view {
            for d in v.defines.values() {
                let Ok(body) = &d.body else { continue };
                let Some(bm) = body.doc.masked.as_ref() else {
                    continue;
                };
                for c in bm.choices.iter().filter(|c| c.key) {
                    let Some(ph) = bm.text.get(c.span.clone()) else {
                        continue;
                    };
                    let ph = ph.trim_end_matches(':').trim_end_matches('_').to_string();
                    if ph.len() < 5 || !contains_key(model, &ph) {
                        continue;
                    }
                    let text = bm.choice_text(&body.doc.text, c);
                    // A define body keeps its lines in the file (`c.line` is the file's).
                    let at = format!("{}:{} (in define \"{}\")", d.file, c.line, d.name);
                    keys.push((ph, at, text));
                }
            }
        }
        let slots = slots(doc, index);
        let pruned = view.map(|v| {
            let mut scratch = ydoc.model.clone();
            let mut guards = template::reads::guards(doc, index);
            crate::plan::includes::resolve_reads(&mut [], &mut guards, &v.defines);
            crate::plan::view::prune_unrendered(&mut scratch, &guards, &v.model)
        });
        let mut opaque = Vec::new();
        for a in m.actions.iter().filter(in_doc) {
            if a.kind != ActionKind::Output || prints_nothing(&doc.text[a.span.clone()]) {
                continue;
            }
            let trailing = !a.whole_line && m.text.as_bytes()[a.span.start] == b'#';
            if !a.whole_line && !trailing {
                continue; // an inline placeholder: found in the strings it stands in
            }
            // Inside a block scalar, an action is text of the scalar.
            if inside_scalar(ydoc, a.span.start) {
                continue;
            }
            let Some((pointer, shape)) = owner(doc, ydoc, &slots, a, trailing) else {
                continue;
            };
            // An include of entries that the view spliced in: what it prints is in the model.
            if rendering.is_some_and(|r| {
                r.splices.iter().any(|s| {
                    s.entries.is_some()
                        && s.include_file.is_none()
                        && s.include_offset == a.span.start
                })
            }) {
                continue;
            }
            // A `toYaml` of one values path that prints entries beside literal keys, which
            // the view rendered from the values.
            if let (Some(r), Some(v)) = (rendering, view)
                && r.sources.iter().any(|s| {
                    s.file.is_none()
                        && s.offset == a.span.start
                        && crate::plan::view::effective(s, &v.model).is_ok()
                })
            {
                continue;
            }
            if !may_print(doc, m, a, view) {
                continue;
            }
            let pointer = match &pruned {
                Some(p) => match p.reindex(&pointer) {
                    Some(k) => k,
                    None => continue,
                },
                None => pointer,
            };
            // The view rendered or spliced it: seen.
            let now = crate::pointer::lookup(model, &pointer);
            let still = match (shape, now) {
                (Shape::Value, Some(v)) => v.is_null() || v.as_str().is_some_and(str::is_empty),
                (Shape::Entries, Some(v)) => v.is_object() || v.is_array(),
                (_, None) => false,
            };
            if !still {
                continue;
            }
            let mut action = template::action_text(&doc.text, a);
            if let Some(sp) = rendering.and_then(|r| {
                r.splices
                    .iter()
                    .find(|s| s.pointer == pointer && s.unread.is_some())
            }) {
                action.push_str(&format!(
                    "` (define \"{}\" at {}:{}: {})`",
                    sp.name,
                    sp.file,
                    sp.line,
                    sp.unread.as_deref().unwrap_or_default()
                ));
                // Keep the backtick pairing of `describe`: the suffix closes and reopens.
                action = action.trim_end_matches('`').to_string();
            }
            opaque.push(Opaque {
                pointer,
                shape,
                line: a.line,
                action,
            });
        }
        Some(Unseen {
            opaque,
            inline,
            keys,
            words,
        })
    }

    /// Why an op that adds `path` cannot be planned: the mapping it adds to has a key that a
    /// choice block prints, which may be the very key (`stringData:` chosen by an `if`, and
    /// a recipe that adds `/stringData/x` would write a second one).
    pub(crate) fn unknown_key_at(&self, model: &Value, path: &[String]) -> Option<String> {
        (1..=path.len()).find_map(|n| {
            let at = &path[..n - 1];
            let Value::Object(map) = crate::pointer::lookup(model, at)? else {
                return None;
            };
            if map.contains_key(&path[n - 1]) {
                return None;
            }
            let (_, place, text) = self.choice_key(map)?;
            Some(self.describe_at(place, text, at, "prints a key of it"))
        })
    }

    fn choice_key(
        &self,
        map: &serde_json::Map<String, Value>,
    ) -> Option<&(String, String, String)> {
        self.keys
            .iter()
            .find(|(ph, _, _)| map.keys().any(|k| k.contains(ph.as_str())))
    }

    /// Why `rule` is unchecked in this document: one message per selector (origin) that
    /// reaches into output it cannot see, naming the action.
    pub(crate) fn reached(&self, rule: &FileRule, model: &Value) -> Vec<(Origin, String)> {
        let mut out: Vec<(Origin, String)> = Vec::new();
        let mut push = |origin: &Origin, what: &str, hit: String| {
            let msg = format!("`{what}` is unchecked: {hit}");
            if !out.iter().any(|(o, m)| o == origin && *m == msg) {
                out.push((origin.clone(), msg));
            }
        };
        let mut match_hit = false;
        for m in &rule.matches {
            let hit = self
                .walk(model, &[], &m.path.segments)
                .or_else(|| self.leaf(model, &m.path.segments, &m.value));
            if let Some(hit) = hit {
                push(&m.origin, &m.path.to_string(), hit);
                match_hit = true;
            }
        }
        // A document the `match`es rule out (as far as they can see) is not the rule's.
        if match_hit || !crate::plan::document_matches(rule, model).0 {
            return out;
        }
        for w in &rule.whens {
            if let Some(hit) = self.walk(model, &[], &w.path.segments) {
                push(&w.origin, &when_text(w), hit);
            }
        }
        self.rules(&rule.rules, model, &[], &mut push);
        out
    }

    fn rules(
        &self,
        rules: &[Rule],
        model: &Value,
        base: &[String],
        push: &mut impl FnMut(&Origin, &str, String),
    ) {
        for r in rules {
            match r {
                Rule::Set { path, origin, .. }
                | Rule::Remove { path, origin }
                | Rule::Ensure { path, origin, .. }
                | Rule::AtLeast { path, origin, .. }
                | Rule::AtMost { path, origin, .. } => {
                    let (start, segs) = path_start(base, path);
                    if let Some(hit) = self.walk(model, &start, segs) {
                        push(origin, &path.to_string(), hit);
                    }
                }
                Rule::Each {
                    path,
                    whens,
                    rules,
                    origin,
                } => {
                    let (start, segs) = path_start(base, path);
                    if let Some(hit) = self.walk(model, &start, segs) {
                        push(origin, &path.to_string(), hit);
                    }
                    for node in selected(model, &start, segs) {
                        for w in whens {
                            let (s, segs) = path_start(&node, &w.path);
                            if let Some(hit) = self.walk(model, &s, segs) {
                                push(&w.origin, &when_text(w), hit);
                            }
                        }
                        self.rules(rules, model, &node, push);
                    }
                }
                // Workflow selectors: templates are charts, not workflows.
                Rule::Step { .. }
                | Rule::Command { .. }
                | Rule::Retry { .. }
                | Rule::InsertStep { .. } => {}
            }
        }
    }

    /// The first unseen output the path from `at` runs into, described.
    fn walk(&self, model: &Value, at: &[String], segs: &[Segment]) -> Option<String> {
        let node = crate::pointer::lookup(model, at)?;
        let (seg, rest) = segs.split_first()?;
        // The node itself is template output the model does not hold.
        if let Some(o) = self.opaque_at(at, Shape::Value)
            && (node.is_null() || node.as_str().is_some_and(str::is_empty))
        {
            return Some(self.describe(o.line, &o.action, at, "prints it"));
        }
        if let Value::String(s) = node
            && let Some((_, line, action)) = self.inline.iter().find(|(ph, _, _)| s.contains(ph))
        {
            return Some(self.describe(*line, action, at, "prints it"));
        }
        let open = self.opaque_at(at, Shape::Entries);
        let children: Vec<String> = match (seg, node) {
            (Segment::Key(k), Value::Object(map)) => {
                if map.contains_key(k) {
                    vec![k.clone()]
                } else if let Some((_, place, text)) = self.choice_key(map) {
                    return Some(self.describe_at(place, text, at, "prints a key of it"));
                } else if let Some(o) = open {
                    return Some(self.describe(o.line, &o.action, at, "prints entries of it"));
                } else {
                    vec![]
                }
            }
            (Segment::Key(k), Value::Array(items)) => {
                match k.parse::<usize>().ok().filter(|&i| i < items.len()) {
                    Some(_) => vec![k.clone()],
                    None => match open {
                        Some(o) => {
                            return Some(self.describe(
                                o.line,
                                &o.action,
                                at,
                                "prints items of it",
                            ));
                        }
                        None => vec![],
                    },
                }
            }
            (Segment::Any | Segment::Filter { .. }, Value::Object(map)) => {
                if let Some((_, place, text)) = self.choice_key(map) {
                    return Some(self.describe_at(place, text, at, "prints a key of it"));
                }
                if let Some(o) = open {
                    return Some(self.describe(o.line, &o.action, at, "prints entries of it"));
                }
                map.keys().cloned().collect()
            }
            (Segment::Any | Segment::Filter { .. }, Value::Array(items)) => {
                if let Some(o) = open {
                    return Some(self.describe(o.line, &o.action, at, "prints items of it"));
                }
                (0..items.len()).map(|i| i.to_string()).collect()
            }
            _ => vec![],
        };
        for c in children {
            let mut next = at.to_vec();
            next.push(c);
            if let Some(hit) = self.walk(model, &next, rest) {
                return Some(hit);
            }
        }
        None
    }

    /// A `match` compares the value at its path: a word an `if`/`else` in the middle of the
    /// line chooses (`kind: {{ if .x -}} Secret {{- else -}} ConfigMap {{- end }}`) is not
    /// known, but it is one of its branches: unchecked when `wanted` is one of them, no hit
    /// (it cannot match) when not. Other inline actions are left as they were (not decided
    /// here).
    fn leaf(&self, model: &Value, segs: &[Segment], wanted: &Value) -> Option<String> {
        let mut at = Vec::new();
        for s in segs {
            let Segment::Key(k) = s else { return None };
            at.push(k.clone());
        }
        let Value::String(s) = crate::pointer::lookup(model, &at)? else {
            return None;
        };
        let (ph, words) = self
            .words
            .iter()
            .find(|(p, _)| s.trim_end_matches('_') == p.as_str())?;
        if !words.iter().any(|w| wanted.as_str() == Some(w.as_str())) {
            return None;
        }
        let (_, line, action) = self.inline.iter().find(|(p, _, _)| p == ph)?;
        Some(self.describe(*line, action, &at, "prints it"))
    }

    fn opaque_at(&self, at: &[String], shape: Shape) -> Option<&Opaque> {
        self.opaque
            .iter()
            .find(|o| o.shape == shape && o.pointer == at)
    }

    fn describe(&self, line: usize, action: &str, at: &[String], what: &str) -> String {
        self.describe_at(&format!("line {line}"), action, at, what)
    }

    fn describe_at(&self, place: &str, action: &str, at: &[String], what: &str) -> String {
        let node = if at.is_empty() {
            "the document".to_string()
        } else {
            crate::pointer::to_pointer(at).to_string()
        };
        format!(
            "`{action}` at {place} {what} ({node}), and patcher cannot follow it to see what renders there"
        )
    }
}

/// The unseen output of a template that holds no YAML document, only actions: the first
/// action that prints (and is not ruled out by a false `if`) prints the document.
fn whole_file(doc: &Document, m: &template::Masked, view: Option<&ValuesView>) -> Unseen {
    let printed = m.actions.iter().find(|a| {
        a.kind == ActionKind::Output
            && !prints_nothing(&doc.text[a.span.clone()])
            && may_print(doc, m, a, view)
    });
    Unseen {
        opaque: printed
            .map(|a| Opaque {
                pointer: Vec::new(),
                shape: Shape::Value,
                line: a.line,
                action: template::action_text(&doc.text, a),
            })
            .into_iter()
            .collect(),
        inline: Vec::new(),
        keys: Vec::new(),
        words: Vec::new(),
    }
}

/// Where a rule path starts: the document root, or the node an enclosing `each` selected.
fn path_start<'p>(base: &[String], path: &'p PathExpr) -> (Vec<String>, &'p [Segment]) {
    if path.absolute {
        (Vec::new(), &path.segments)
    } else {
        (base.to_vec(), &path.segments)
    }
}

/// Whether the output action `a` may print where it stands: not inside a `define` body
/// (that prints where it is included), nor, with the chart's values, inside an `if`/`with`
/// that is false or a `range` over a values path that is empty.
fn may_print(doc: &Document, m: &template::Masked, a: &Action, view: Option<&ValuesView>) -> bool {
    let open = m.open_blocks_at_line(a.line);
    if open
        .iter()
        .any(|&b| m.blocks[b].kind == template::BlockKind::Define)
    {
        return false;
    }
    let Some(v) = view else { return true };
    let conds = template::reads::conditions_at(m, &doc.text, a.line);
    if conds.iter().any(|c| {
        c.cond
            .as_ref()
            .is_ok_and(|c| !crate::plan::view::eval(c, &v.model))
    }) {
        return false;
    }
    // `range .Values.x` (or `range $i, $e := .Values.x`) over nothing prints nothing.
    !open.iter().any(|&b| {
        let blk = &m.blocks[b];
        if blk.kind != template::BlockKind::Range {
            return false;
        }
        let Some(opener) = m.actions.iter().find(|x| {
            x.line == blk.open_line && x.kind == ActionKind::Open(template::BlockKind::Range)
        }) else {
            return false;
        };
        range_values(&doc.text[opener.span.clone()]).is_some_and(|keys| {
            crate::plan::guards::is_empty(
                crate::pointer::lookup(&v.model, &keys).unwrap_or(&Value::Null),
            )
        })
    })
}

/// The values keys of `{{ range .Values.a.b }}` / `{{- range $k, $v := .Values.a.b }}`.
fn range_values(action: &str) -> Option<Vec<String>> {
    let body = action
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim_matches(|c: char| c == '-' || c.is_whitespace());
    let rest = body.strip_prefix("range")?.trim_start();
    let rest = match rest.split_once(":=") {
        Some((vars, e)) if vars.trim_start().starts_with('$') => e.trim(),
        _ => rest,
    };
    let path = rest.strip_prefix(".Values.")?;
    if path.is_empty()
        || !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    Some(path.split('.').map(str::to_string).collect())
}

/// A `when` as the recipe says it: `when livenessProbe exists`.
fn when_text(w: &crate::recipe::When) -> String {
    match &w.cond {
        crate::recipe::Cond::Exists => format!("when {} exists", w.path),
        crate::recipe::Cond::Missing => format!("when {} missing", w.path),
        crate::recipe::Cond::Equals(v) => {
            format!(
                "when {} equals {}",
                w.path,
                crate::pointer::display_value(v)
            )
        }
    }
}

/// Every node `segs` selects from `at` (what an `each` iterates over).
fn selected(model: &Value, at: &[String], segs: &[Segment]) -> Vec<Vec<String>> {
    let Some(node) = crate::pointer::lookup(model, at) else {
        return Vec::new();
    };
    let Some((seg, rest)) = segs.split_first() else {
        return vec![at.to_vec()];
    };
    let children: Vec<String> = match (seg, node) {
        (Segment::Key(k), Value::Object(m)) if m.contains_key(k) => vec![k.clone()],
        (Segment::Key(k), Value::Array(a)) if k.parse::<usize>().is_ok_and(|i| i < a.len()) => {
            vec![k.clone()]
        }
        (Segment::Any, Value::Object(m)) => m.keys().cloned().collect(),
        (Segment::Any, Value::Array(a)) => (0..a.len()).map(|i| i.to_string()).collect(),
        (Segment::Filter { key, value }, Value::Array(a)) => (0..a.len())
            .filter(|&i| {
                a[i].get(key)
                    .is_some_and(|v| crate::pointer::display_value(v) == *value)
            })
            .map(|i| i.to_string())
            .collect(),
        _ => vec![],
    };
    children
        .into_iter()
        .flat_map(|c| {
            let mut next = at.to_vec();
            next.push(c);
            selected(model, &next, rest)
        })
        .collect()
}

/// Actions that print no YAML (they abort the render, or print nothing by definition).
fn prints_nothing(action: &str) -> bool {
    let body = action
        .trim_start_matches("{{")
        .trim_start_matches('-')
        .trim_start();
    body.starts_with("fail ") || body.starts_with("fail\"") || body.starts_with("required ")
}

/// A mapping entry or list item of the document as written: where its key (or `-`) is, and
/// the keys of its value.
struct Slot {
    line: usize,
    col: usize,
    pointer: Vec<String>,
    value: crate::doc::tree::NodeId,
}

fn slots(doc: &Document, index: usize) -> Vec<Slot> {
    let mut out = Vec::new();
    let Some(ydoc) = doc.docs.get(index) else {
        return out;
    };
    let tree = &ydoc.tree;
    let mut stack = vec![(tree.root, Vec::<String>::new())];
    while let Some((id, keys)) = stack.pop() {
        match &tree.node(id).kind {
            NodeKind::Mapping {
                entries,
                flow: false,
            } => {
                for e in entries {
                    let mut k = keys.clone();
                    k.push(e.key.clone());
                    let (line, col) = doc.line_col(e.key_span.0);
                    out.push(Slot {
                        line,
                        col,
                        pointer: k.clone(),
                        value: e.value,
                    });
                    stack.push((e.value, k));
                }
            }
            NodeKind::Sequence { items, flow: false } => {
                for (i, &item) in items.iter().enumerate() {
                    let mut k = keys.clone();
                    k.push(i.to_string());
                    let (line, col) = doc.line_col(tree.node(item).start);
                    // The item's `-` is two columns left of its content.
                    out.push(Slot {
                        line,
                        col: col.saturating_sub(2),
                        pointer: k.clone(),
                        value: item,
                    });
                    stack.push((item, k));
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|s| (s.line, s.col));
    out
}

fn inside_scalar(ydoc: &crate::doc::YamlDoc, offset: usize) -> bool {
    ydoc.tree
        .nodes
        .iter()
        .any(|n| matches!(n.kind, NodeKind::Scalar { .. }) && n.start < offset && offset < n.end)
}

/// The node an action prints into, and how: a trailing action is the value of the key on its
/// line; a whole-line action belongs to the nearest entry or item above it that is indented
/// less than the output (`nindent N`/`indent N`, else the action's column), or to the
/// document root.
fn owner(
    doc: &Document,
    ydoc: &crate::doc::YamlDoc,
    slots: &[Slot],
    a: &Action,
    trailing: bool,
) -> Option<(Vec<String>, Shape)> {
    let (line, col) = doc.line_col(a.span.start);
    if trailing {
        let s = slots.iter().rev().find(|s| s.line == line)?;
        return Some((s.pointer.clone(), Shape::Value));
    }
    let text = &doc.text[a.span.clone()];
    let out_col = indent_arg(text).unwrap_or(col.saturating_sub(1));
    // A list may sit at its key's column (`volumeMounts:` over `- name: x` at the same
    // indent): output at that column continues the list, or is the value of an empty key
    // right above it.
    let empty = |id| {
        let n = ydoc.tree.node(id);
        matches!(n.kind, NodeKind::Scalar { .. }) && n.start == n.end
    };
    let mut nearest = true;
    let owner = slots.iter().rev().filter(|s| s.line < line).find(|s| {
        let c = s.col.saturating_sub(1);
        let first = std::mem::replace(&mut nearest, false);
        c < out_col
            || (c == out_col
                && match &ydoc.tree.node(s.value).kind {
                    NodeKind::Sequence { items, flow: false } => items.first().is_some_and(|&i| {
                        doc.line_col(ydoc.tree.node(i).start).1.saturating_sub(3) == out_col
                    }),
                    _ => first && empty(s.value),
                })
    });
    let Some(s) = owner else {
        let root = ydoc.tree.node(ydoc.tree.root);
        let shape = if matches!(root.kind, NodeKind::Scalar { .. }) && root.start == root.end {
            Shape::Value
        } else {
            Shape::Entries
        };
        return Some((Vec::new(), shape));
    };
    match &ydoc.tree.node(s.value).kind {
        NodeKind::Mapping { flow: false, .. } | NodeKind::Sequence { flow: false, .. } => {
            Some((s.pointer.clone(), Shape::Entries))
        }
        NodeKind::Scalar { .. } if ydoc.tree.node(s.value).start == ydoc.tree.node(s.value).end => {
            Some((s.pointer.clone(), Shape::Value))
        }
        // A scalar with text, or a flow collection: the output is not structure under it.
        _ => None,
    }
}

/// `N` of `nindent N` / `indent N` in an action's pipeline.
fn indent_arg(action: &str) -> Option<usize> {
    let words: Vec<&str> = action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .split(|c: char| c.is_whitespace() || c == '|' || c == '(' || c == ')')
        .filter(|w| !w.is_empty() && *w != "-")
        .collect();
    words
        .windows(2)
        .rev()
        .find(|w| w[0] == "nindent" || w[0] == "indent")
        .and_then(|w| w[1].parse().ok())
}

/// Whether a mapping key anywhere in `v` holds `ph`.
fn contains_key(v: &Value, ph: &str) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(ph) || contains_key(v, ph)),
        Value::Array(items) => items.iter().any(|v| contains_key(v, ph)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::indent_arg;

    #[test]
    fn range_values_reads_the_ranged_values_path() {
        use super::range_values;
        assert_eq!(
            range_values("{{ range .Values.extraObjects }}"),
            Some(vec!["extraObjects".to_string()])
        );
        assert_eq!(
            range_values("{{- range $k, $v := .Values.a.b -}}"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(range_values("{{ range .items }}"), None);
        assert_eq!(
            range_values("{{ range (concat .Values.a .Values.b) }}"),
            None
        );
    }

    #[test]
    fn indent_arg_reads_the_last_nindent_of_the_pipeline() {
        assert_eq!(indent_arg(r#"{{- include "x" . | nindent 8 }}"#), Some(8));
        assert_eq!(indent_arg("{{ toYaml .Values.r | indent 4 }}"), Some(4));
        assert_eq!(indent_arg(r#"{{ include "x" . }}"#), None);
    }
}
