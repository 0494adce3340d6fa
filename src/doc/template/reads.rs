//! Template facts about Helm values, as data: which action produced which node of a masked
//! template, which values path that action reads (through which pipes), and every other
//! read of a values path in a chart. The planner (`plan::route`) decides what to do with
//! them; nothing here knows about recipes or edits.

use std::collections::HashMap;

use serde_json::Value;

use super::context::{bind, bound_words, declarations, dot_context, substitute, visible};
pub use super::context::{parse_in_context, with_binding};
pub use super::expr::{Binding, Bound, Cond, KeyFilter, Siblings, ValuesExpr, parse_action};
use super::expr::{operand, parse_cond, single_operand, unquote, words_of};
use super::include_calls::included;
pub use super::include_calls::{Define, Include, defines, dict_includes, include_call};
use super::{ActionKind, BlockKind, Masked};
use crate::doc::{Document, NodeKind};

/// A node of a template document whose text an action prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Keys of the node in the document's model.
    pub pointer: Vec<String>,
    /// 1-based line and byte offset of the action.
    pub line: usize,
    pub offset: usize,
    /// The action's text, `{{` through `}}`.
    pub action: String,
    /// The values read, or why it is not one provable values path.
    pub expr: Result<ValuesExpr, String>,
    /// The `if`/`with` blocks the action sits in (their first branch), outermost first.
    pub conditions: Vec<Condition>,
    /// The file the action is in when it is not the template's own text (the body of a
    /// `define` that the template includes); relative to the root.
    pub file: Option<String>,
    /// The action is `include "NAME" CTX` of a named template: what it includes.
    pub include: Option<Include>,
}

/// An `if` or `with` around a node: it renders only when the condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// 1-based line of the `if`/`with`.
    pub line: usize,
    /// The action's text.
    pub action: String,
    /// The condition, or why it is not a simple one.
    pub cond: Result<Cond, String>,
    /// The block's other branches, in order (filled in for a source's innermost `if`).
    pub elses: Vec<ElseBranch>,
    /// The block has `else` branches at all.
    pub has_else: bool,
    /// 1-based line of its first `else`.
    pub first_else: Option<usize>,
    /// 1-based line of the block's `end` (`None` when the file ends first).
    pub end_line: Option<usize>,
}

/// Drops the conditions that wrap the whole document (`{{- if .Values.x.enabled }}` around a
/// manifest): they decide whether the object exists, not what its fields are, so a recipe
/// about the object's fields still applies to it (as it would once enabled).
fn inside_document(conds: Vec<Condition>, doc: &Document, index: usize) -> Vec<Condition> {
    let Some(ydoc) = doc.docs.get(index) else {
        return conds;
    };
    // The document's own text: its root node (comments and masked action lines before it
    // are not part of the object).
    let root = ydoc.tree.node(ydoc.tree.root);
    let first = doc.line_of(root.start) + 1;
    let last = doc.line_of(root.end.saturating_sub(1)) + 1;
    conds
        .into_iter()
        // A block with an `else` chooses what renders (the fallback of a probe helper's
        // body, `with A … else with B`): it stays.
        .filter(|c| c.has_else || !(c.line <= first && c.end_line.is_none_or(|e| e >= last)))
        .collect()
}

/// A mapping entry inside `if`/`with` blocks that its parent is not in: it renders only when
/// they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// Keys of the entry's value in the document's model.
    pub pointer: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// The guarded mapping entries of document `index` (see [`Guard`]), outermost first.
pub fn guards(doc: &Document, index: usize) -> Vec<Guard> {
    let (Some(m), Some(ydoc)) = (&doc.masked, doc.docs.get(index)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cache = HashMap::new();
    // (node, keys, 1-based line of the key that owns it; 0 for the root)
    let mut stack: Vec<(usize, Vec<String>, usize)> = vec![(ydoc.tree.root, Vec::new(), 0)];
    while let Some((id, keys, owner_line)) = stack.pop() {
        match &ydoc.tree.node(id).kind {
            NodeKind::Mapping { entries, .. } => {
                for e in entries {
                    let mut k = keys.clone();
                    k.push(e.key.clone());
                    let line = doc.line_of(e.key_span.0) + 1;
                    let conditions: Vec<Condition> = inside_document(
                        conditions_at_cached(m, &doc.text, line, &mut cache),
                        doc,
                        index,
                    )
                    .into_iter()
                    .filter(|c| c.line > owner_line)
                    .collect();
                    // The other branches of the innermost `if`: the same key may render
                    // from one of them.
                    let conditions = with_else_branches(conditions, doc, m, Some(e.key_span.0));
                    if !conditions.is_empty() {
                        out.push(Guard {
                            pointer: k.clone(),
                            conditions,
                        });
                    }
                    stack.push((e.value, k, line));
                }
            }
            NodeKind::Sequence { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    let mut k = keys.clone();
                    k.push(i.to_string());
                    let line = doc.line_of(ydoc.tree.node(*item).start) + 1;
                    // An item inside an `if` its list is not in renders only when it holds.
                    // Only the first branch is in the masked text, unless an `else` line
                    // comes before the item (a first branch without text is not hidden).
                    let blocks = m.open_blocks_at_line(line);
                    let in_else = blocks.iter().any(|&b| {
                        m.blocks[b].open_line > owner_line
                            && m.blocks[b].else_lines.first().is_some_and(|&e| e < line)
                    });
                    let conditions: Vec<Condition> = inside_document(
                        conditions_at_cached(m, &doc.text, line, &mut cache),
                        doc,
                        index,
                    )
                    .into_iter()
                    .filter(|c| c.line > owner_line)
                    .collect();
                    if !conditions.is_empty() && !in_else {
                        out.push(Guard {
                            pointer: k.clone(),
                            conditions,
                        });
                    }
                    stack.push((*item, k, line));
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|a| a.pointer.len());
    out
}

/// An `else` / `else if` branch of the block around a node.
#[derive(Debug, Clone, PartialEq)]
pub struct ElseBranch {
    /// 1-based line of the `else` action.
    pub line: usize,
    /// `else if COND`: the condition; `None` for a plain `else`.
    pub cond: Option<Result<Cond, String>>,
    /// The same key in this branch (same column) with a literal scalar value, no action:
    /// what the node renders to when this branch does.
    pub literal: Option<Value>,
    /// The same key in this branch (same column), printed by one action: the source that
    /// renders instead when this branch does.
    pub alt: Option<Alt>,
}

/// The action that prints the node in another branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Alt {
    pub line: usize,
    pub offset: usize,
    pub action: String,
    pub expr: Result<ValuesExpr, String>,
    /// The `if`/`with` blocks opened inside that branch around the action (the fallback
    /// `{{- else }}{{- with .Values.b }}`): it prints only when they hold.
    pub guards: Vec<Condition>,
}

/// An `else if`'s condition (`None`: a plain `else`), as [`ElseBranch::cond`].
type ElseCond = Option<Result<Cond, String>>;

/// The `else` branches of the `if`/`with` block opened at (1-based) `open_line`: each one's
/// `else` line, the line its branch ends before, and its condition (`else if COND`; `None`
/// for a plain `else`). `None` when no such block opens there.
fn else_arms(
    doc: &Document,
    m: &Masked,
    open_line: usize,
) -> Option<Vec<(usize, usize, ElseCond)>> {
    let block = m
        .blocks
        .iter()
        .find(|b| b.open_line == open_line && matches!(b.kind, BlockKind::If | BlockKind::With))?;
    let ends: Vec<usize> = block
        .else_lines
        .iter()
        .skip(1)
        .copied()
        .chain(block.end_line)
        .collect();
    let arms = block.else_lines.iter().enumerate().map(|(i, &else_line)| {
        let end = ends.get(i).copied().unwrap_or(else_line + 1);
        let opener = m
            .actions
            .iter()
            .find(|a| a.line == else_line && a.kind == ActionKind::Else);
        let cond = opener.and_then(|a| {
            let action = &doc.text[a.span.clone()];
            let words = words_of(action);
            (words.get(1).map(String::as_str) == Some("if")).then(|| {
                let ctx = dot_context(m, &doc.text, else_line).ok().flatten();
                let words = bound_words(m, &doc.text, a.span.start, action)?;
                parse_cond(words.get(2..).unwrap_or_default(), ctx.as_deref())
            })
        });
        (else_line, end, cond)
    });
    Some(arms.collect())
}

/// Fills in the else branches of the innermost `if` around a node whose key starts at
/// `key_at`: for each, its condition and the same `key: {{ action }}` line in it.
fn with_else_branches(
    mut conds: Vec<Condition>,
    doc: &Document,
    m: &Masked,
    key_at: Option<usize>,
) -> Vec<Condition> {
    let Some(key_at) = key_at else { return conds };
    let Some(last) = conds.last_mut() else {
        return conds;
    };
    let Some(arms) = else_arms(doc, m, last.line) else {
        return conds;
    };
    let key_line = doc.line_of(key_at);
    let col = key_at - doc.line_start(key_line);
    let key_end = doc.text[key_at..].find(':').map_or(key_at, |i| key_at + i);
    let key = &doc.text[key_at..key_end];
    for (else_line, end, cond) in arms {
        let alt = (else_line + 1..end).find_map(|l| {
            let start = doc.line_start(l - 1);
            let text = doc.line_text(l - 1);
            let rest = text.get(col..)?.strip_prefix(key)?.strip_prefix(':')?;
            if !text[..col].trim().is_empty() {
                return None;
            }
            // `key: {{ action }}`, or `key:` with the action alone on the next line
            // (`readinessProbe:` then `{{- toYaml . | nindent 2 }}`).
            let value = rest.trim();
            let (a, unquoted) = match m.actions.iter().find(|a| a.line == l && !a.whole_line) {
                Some(a) => (
                    a,
                    value
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .unwrap_or(value),
                ),
                None if value.is_empty() && l + 1 < end => {
                    let a = m.actions.iter().find(|a| {
                        a.line == l + 1 && a.whole_line && a.kind == ActionKind::Output
                    })?;
                    (a, doc.text[a.span.clone()].trim())
                }
                None => return None,
            };
            let action = doc.text[a.span.clone()].to_string();
            let action_line = a.line;
            (unquoted == action.trim())
                .then(|| {
                    let mut expr =
                        parse_in_context(m, &doc.text, action_line, a.span.start, &action);
                    if let Ok(e) = &mut expr
                        && e.to_yaml
                        && let Some(sib) = hidden_siblings(doc, action_line, col, end)
                    {
                        match sib {
                            Ok(sib) => e.siblings = Some(sib),
                            Err(why) => expr = Err(why),
                        }
                    }
                    Alt {
                        line: action_line,
                        offset: a.span.start,
                        expr,
                        action,
                        guards: conditions_at(m, &doc.text, action_line)
                            .into_iter()
                            .filter(|c| c.line > else_line)
                            .collect(),
                    }
                })
                .filter(|_| start <= a.span.start)
        });
        let literal = (else_line + 1..end).find_map(|l| {
            let text = doc.line_text(l - 1);
            let rest = text.get(col..)?.strip_prefix(key)?.strip_prefix(':')?;
            if !text[..col].trim().is_empty()
                || rest.trim().is_empty()
                || m.actions.iter().any(|a| a.line == l)
            {
                return None;
            }
            let parsed = Document::parse_snippet(rest.trim()).ok()?;
            let v = parsed.docs.first()?.model.clone();
            (!v.is_object() && !v.is_array()).then_some(v)
        });
        last.elses.push(ElseBranch {
            line: else_line,
            cond,
            literal,
            alt,
        });
    }
    conds
}

/// The literal lines nested under the key of a hidden branch's `key: {{ toYaml … | nindent N }}`
/// at 1-based `line` (key at column `col`), up to the branch's end (1-based, exclusive): their
/// mapping, parsed as a template fragment (an action in them stays a placeholder in the view:
/// the editor cannot reach that branch). `None` when no line is nested there.
fn hidden_siblings(
    doc: &Document,
    line: usize,
    col: usize,
    end: usize,
) -> Option<Result<Siblings, String>> {
    let indent = |t: &str| t.len() - t.trim_start().len();
    let mut lines = Vec::new();
    for l in line + 1..end {
        let t = doc.line_text(l - 1);
        if t.trim().is_empty() {
            continue;
        }
        if indent(t) <= col {
            break;
        }
        lines.push(t);
    }
    if lines.is_empty() {
        return None;
    }
    let min = lines.iter().map(|t| indent(t)).min().unwrap_or(0);
    let text: String = lines.iter().map(|t| format!("{}\n", &t[min..])).collect();
    let why = |e: String| {
        format!(
            "the lines below it in that branch (line {}) are not a YAML mapping: {e}",
            line + 1
        )
    };
    let parsed = match Document::parse("siblings.yaml", text, crate::doc::FileKind::HelmTemplate) {
        Ok(d) => d,
        Err(e) => return Some(Err(why(e.message))),
    };
    match parsed.models().into_iter().next() {
        Some(Value::Object(map)) => Some(Ok(Siblings {
            keys: map.keys().cloned().collect(),
            line: line + 1,
            hidden: Some(map),
        })),
        _ => Some(Err(why("not a mapping".into()))),
    }
}

/// The `if`/`with` blocks open at 1-based `line` (outermost first), with their conditions.
pub fn conditions_at(m: &Masked, text: &str, line: usize) -> Vec<Condition> {
    conditions_at_cached(m, text, line, &mut HashMap::new())
}

/// [`conditions_at`], with each block's condition parsed once per `cache` (a document's
/// entries share their blocks: parsing per entry made this the planner's hot spot).
fn conditions_at_cached(
    m: &Masked,
    text: &str,
    line: usize,
    cache: &mut HashMap<usize, Option<Condition>>,
) -> Vec<Condition> {
    let mut out = Vec::new();
    for b in m.open_blocks_at_line(line) {
        let block = &m.blocks[b];
        if block.open_line == line || !matches!(block.kind, BlockKind::If | BlockKind::With) {
            continue;
        }
        let cond = cache
            .entry(b)
            .or_insert_with(|| block_condition(m, text, b));
        if let Some(c) = cond {
            out.push(c.clone());
        }
    }
    out
}

/// The condition of the `if`/`with` block `b`.
fn block_condition(m: &Masked, text: &str, b: usize) -> Option<Condition> {
    let block = &m.blocks[b];
    let kind = ActionKind::Open(block.kind);
    let opener = m
        .actions
        .iter()
        .find(|a| a.line == block.open_line && a.kind == kind)?;
    let action = text[opener.span.clone()].to_string();
    let ctx = dot_context(m, text, block.open_line).ok().flatten();
    let cond = super::context::bound_cond_words(m, text, opener.span.start, &action)
        .and_then(|words| parse_cond(words.get(1..).unwrap_or_default(), ctx.as_deref()));
    Some(Condition {
        line: block.open_line,
        action,
        cond,
        elses: Vec::new(),
        has_else: !block.else_lines.is_empty(),
        first_else: block.else_lines.first().copied(),
        end_line: block.end_line,
    })
}

/// One read of a values path somewhere in a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// File relative to the root; 1-based line; byte offset of the action.
    pub file: String,
    pub line: usize,
    pub offset: usize,
    pub path: Vec<String>,
    /// The read is an `if`/`with`/`else if` condition (it decides what renders, prints
    /// nothing itself).
    pub condition: bool,
    /// The action's text (shortened).
    pub action: String,
    /// A read in a define, bound to the `dict` of the include at (file, offset): a read
    /// only where that include renders.
    pub through: Option<(String, usize)>,
}

/// The nodes of document `index` of `doc` that a template action prints, each with the
/// values path it reads (or why it is not one).
pub fn sources(doc: &Document, index: usize) -> Vec<Source> {
    let (Some(m), Some(ydoc)) = (&doc.masked, doc.docs.get(index)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack: Vec<(usize, Vec<String>, Option<usize>)> =
        vec![(ydoc.tree.root, Vec::new(), None)];
    while let Some((id, keys, key_at)) = stack.pop() {
        let node = ydoc.tree.node(id);
        match &node.kind {
            NodeKind::Mapping { entries, .. } => {
                // `key: {{- toYaml .Values.x | nindent N }}` with literal `key:` lines below:
                // the rendered mapping is the action's output and those lines.
                if let Some(key_at) = key_at
                    && let Some(a) = trailing_action(doc, m, key_at, node.start)
                    && let action = doc.text[a.span.clone()].to_string()
                    && let Ok(mut expr) =
                        parse_in_context(m, &doc.text, a.line, a.span.start, &action)
                    && expr.to_yaml
                {
                    expr.siblings = Some(Siblings {
                        keys: entries.iter().map(|e| e.key.clone()).collect(),
                        line: entries
                            .first()
                            .map_or(a.line + 1, |e| doc.line_of(e.key_span.0) + 1),
                        hidden: None,
                    });
                    out.push(Source {
                        pointer: keys.clone(),
                        line: a.line,
                        offset: a.span.start,
                        file: None,
                        include: None,
                        conditions: with_else_branches(
                            inside_document(conditions_at(m, &doc.text, a.line), doc, index),
                            doc,
                            m,
                            Some(key_at),
                        ),
                        action,
                        expr: Ok(expr),
                    });
                }
                for e in entries {
                    let mut k = keys.clone();
                    k.push(e.key.clone());
                    stack.push((e.value, k, Some(e.key_span.0)));
                }
            }
            NodeKind::Sequence { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    let mut k = keys.clone();
                    k.push(i.to_string());
                    stack.push((*item, k, None));
                }
            }
            NodeKind::Scalar { .. } => {
                if let Some(a) = producing_action(doc, m, node.start, node.end) {
                    let action = doc.text[a.span.clone()].to_string();
                    let expr = parse_in_context(m, &doc.text, a.line, a.span.start, &action);
                    // A scalar that is more than the action (`"{{ .a }}-x"`) is not one path.
                    let raw = doc.text[node.start..node.end].trim();
                    let unquoted = raw
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .or_else(|| raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                        .unwrap_or(raw);
                    let expr = if node.start == node.end || unquoted == action.trim() {
                        expr
                    } else {
                        Err("the value is more than one template action".to_string())
                    };
                    let include = included(m, &doc.text, a, &action);
                    out.push(Source {
                        pointer: keys,
                        line: a.line,
                        offset: a.span.start,
                        file: None,
                        include,
                        conditions: with_else_branches(
                            inside_document(conditions_at(m, &doc.text, a.line), doc, index),
                            doc,
                            m,
                            key_at,
                        ),
                        action,
                        expr,
                    });
                }
            }
            _ => {}
        }
    }
    let includes = entry_includes(doc, m, ydoc, index, &out);
    out.extend(includes);
    let values = entry_values(doc, m, ydoc, index, &out);
    out.extend(values);
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out
}

/// Every key of a block mapping of `ydoc`: (0-based line, 0-based column, the mapping's
/// pointer, the key), in text order.
fn block_keys(
    doc: &Document,
    ydoc: &crate::doc::YamlDoc,
) -> Vec<(usize, usize, Vec<String>, String)> {
    let mut keys = Vec::new();
    let mut stack: Vec<(usize, Vec<String>)> = vec![(ydoc.tree.root, Vec::new())];
    while let Some((id, ptr)) = stack.pop() {
        match &ydoc.tree.node(id).kind {
            NodeKind::Mapping { entries, flow } => {
                for e in entries {
                    if !flow {
                        let (l, c) = doc.line_col(e.key_span.0);
                        keys.push((l - 1, c - 1, ptr.clone(), e.key.clone()));
                    }
                    let mut k = ptr.clone();
                    k.push(e.key.clone());
                    stack.push((e.value, k));
                }
            }
            NodeKind::Sequence { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    let mut k = ptr.clone();
                    k.push(i.to_string());
                    stack.push((*item, k));
                }
            }
            _ => {}
        }
    }
    keys.sort_by_key(|k| (k.0, k.1));
    keys
}

/// A whole-line `{{- toYaml X | nindent N }}` of one values path (a variable holding `omit`/
/// `pick` of one included) among the literal keys of a block mapping at column N, after one
/// of them (`livenessProbe:` / `  tcpSocket: …` / `  {{- toYaml $common | nindent 2 }}`):
/// the rendered mapping is the union of both parts, as for an action right after the key.
/// `seen` are the sources found already.
fn entry_values(
    doc: &Document,
    m: &Masked,
    ydoc: &crate::doc::YamlDoc,
    index: usize,
    seen: &[Source],
) -> Vec<Source> {
    let keys = block_keys(doc, ydoc);
    let hidden = |at: usize| m.hidden.iter().any(|r| r.contains(&at));
    let mut out: Vec<Source> = Vec::new();
    for a in m.actions.iter().filter(|a| {
        a.kind == ActionKind::Output
            && a.whole_line
            && (ydoc.start..ydoc.end).contains(&a.span.start)
            && !hidden(a.span.start)
    }) {
        if seen.iter().any(|s| s.offset == a.span.start) {
            continue;
        }
        let action = doc.text[a.span.clone()].to_string();
        let Some(col) = nindent_of(&action) else {
            continue;
        };
        if included(m, &doc.text, a, &action).is_some() {
            continue;
        }
        let Ok(mut expr) = parse_in_context(m, &doc.text, a.line, a.span.start, &action) else {
            continue;
        };
        if !expr.to_yaml {
            continue;
        }
        let line = doc.line_of(a.span.start);
        let Some((_, kcol, ptr, _)) = keys
            .iter()
            .rev()
            .find(|(l, c, _, _)| *l < line && *c <= col)
        else {
            continue;
        };
        if *kcol != col || !continues_mapping(doc, m, line, col) {
            continue;
        }
        let literal: Vec<&(usize, usize, Vec<String>, String)> =
            keys.iter().filter(|k| k.2 == *ptr && k.1 == col).collect();
        let Some(first) = literal.first() else {
            continue;
        };
        expr.siblings = Some(Siblings {
            keys: literal.iter().map(|k| k.3.clone()).collect(),
            line: first.0 + 1,
            hidden: None,
        });
        // Two actions printing into one mapping: neither knows the other's keys.
        let twice = seen
            .iter()
            .chain(out.iter())
            .any(|s| s.pointer == *ptr && s.expr.as_ref().is_ok_and(|e| e.to_yaml));
        let expr = match twice {
            true => Err("two actions print entries into this mapping".to_string()),
            false => Ok(expr),
        };
        let conditions = inside_document(conditions_at(m, &doc.text, a.line), doc, index);
        out.push(Source {
            pointer: ptr.clone(),
            line: a.line,
            offset: a.span.start,
            file: None,
            include: None,
            conditions: with_else_entries(conditions, doc, m, col, expr.as_ref().ok()),
            action,
            expr,
        });
    }
    out
}

/// The nearest text line above 0-based `line` that is not deeper than `col` (blank lines and
/// lines of actions alone skipped) is a `key:` at `col`: output at `nindent col` continues
/// that mapping (not a list whose `- ` items are at the column, as `volumeMounts:` often has).
fn continues_mapping(doc: &Document, m: &Masked, line: usize, col: usize) -> bool {
    let indent = |t: &str| t.len() - t.trim_start().len();
    for l in (0..line).rev() {
        let t = doc.line_text(l);
        if t.trim().is_empty() || m.actions.iter().any(|a| a.line == l + 1 && a.whole_line) {
            continue;
        }
        if indent(t) > col {
            continue;
        }
        return indent(t) == col && !t.trim_start().starts_with('-');
    }
    false
}

/// Fills in the else branches of the innermost `if` around an entries-printing action (see
/// [`entry_values`]) at column `col`: the same read printed the same way in that branch (a
/// whole-line action at `nindent col`, `with` around it allowed), with that branch's literal
/// lines at the column as its siblings.
fn with_else_entries(
    mut conds: Vec<Condition>,
    doc: &Document,
    m: &Masked,
    col: usize,
    expr: Option<&ValuesExpr>,
) -> Vec<Condition> {
    let Some(expr) = expr else { return conds };
    let Some(last) = conds.last_mut() else {
        return conds;
    };
    let Some(arms) = else_arms(doc, m, last.line) else {
        return conds;
    };
    for (else_line, end, cond) in arms {
        let alt = m
            .actions
            .iter()
            .filter(|a| {
                a.kind == ActionKind::Output && a.whole_line && a.line > else_line && a.line < end
            })
            .find_map(|a| {
                let action = doc.text[a.span.clone()].to_string();
                if nindent_of(&action) != Some(col) {
                    return None;
                }
                let mut e = parse_in_context(m, &doc.text, a.line, a.span.start, &action).ok()?;
                if e.path != expr.path || e.keys != expr.keys || !e.to_yaml {
                    return None;
                }
                let expr = match branch_siblings(doc, m, else_line + 1, end, col) {
                    Ok(sib) => {
                        e.siblings = sib;
                        Ok(e)
                    }
                    Err(why) => Err(why),
                };
                Some(Alt {
                    line: a.line,
                    offset: a.span.start,
                    expr,
                    action,
                    guards: conditions_at(m, &doc.text, a.line)
                        .into_iter()
                        .filter(|c| c.line > else_line)
                        .collect(),
                })
            });
        last.elses.push(ElseBranch {
            line: else_line,
            cond,
            literal: None,
            alt,
        });
    }
    conds
}

/// The literal lines of a branch (1-based lines `from..to`) that are entries of a mapping at
/// column `col` (lines holding only actions left out): their mapping, parsed as a template
/// fragment, as hidden siblings (`None` when there are none).
fn branch_siblings(
    doc: &Document,
    m: &Masked,
    from: usize,
    to: usize,
    col: usize,
) -> Result<Option<Siblings>, String> {
    let indent = |t: &str| t.len() - t.trim_start().len();
    let mut lines = Vec::new();
    let mut first = None;
    for l in from..to {
        let t = doc.line_text(l - 1);
        if t.trim().is_empty() || m.actions.iter().any(|a| a.line == l && a.whole_line) {
            continue;
        }
        if indent(t) < col {
            return Err(format!(
                "line {l} of the branch that renders is not part of the mapping the action prints into"
            ));
        }
        first.get_or_insert(l);
        lines.push(&t[col..]);
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let text: String = lines.iter().map(|t| format!("{t}\n")).collect();
    let why = |e: String| {
        format!("the lines of the branch that renders (line {first}) are not a YAML mapping: {e}")
    };
    let parsed = Document::parse("siblings.yaml", text, crate::doc::FileKind::HelmTemplate)
        .map_err(|e| why(e.message))?;
    match parsed.models().into_iter().next() {
        Some(Value::Object(map)) => Ok(Some(Siblings {
            keys: map.keys().cloned().collect(),
            line: first,
            hidden: Some(map),
        })),
        _ => Err(why("not a mapping".into())),
    }
}

/// The includes that print entries into a block mapping: an `include … | nindent N` alone on
/// its line, N the column of the mapping's keys, after one of its keys and with no key left
/// of N in between (so the output continues that mapping). `seen` are the sources found
/// already (an include that is a key's value is one of them).
fn entry_includes(
    doc: &Document,
    m: &Masked,
    ydoc: &crate::doc::YamlDoc,
    index: usize,
    seen: &[Source],
) -> Vec<Source> {
    // Every key of a block mapping: (0-based line, 0-based column, the mapping's pointer).
    let mut keys: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut stack: Vec<(usize, Vec<String>)> = vec![(ydoc.tree.root, Vec::new())];
    while let Some((id, ptr)) = stack.pop() {
        match &ydoc.tree.node(id).kind {
            NodeKind::Mapping { entries, flow } => {
                for e in entries {
                    if !flow {
                        let (l, c) = doc.line_col(e.key_span.0);
                        keys.push((l - 1, c - 1, ptr.clone()));
                    }
                    let mut k = ptr.clone();
                    k.push(e.key.clone());
                    stack.push((e.value, k));
                }
            }
            NodeKind::Sequence { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    let mut k = ptr.clone();
                    k.push(i.to_string());
                    stack.push((*item, k));
                }
            }
            _ => {}
        }
    }
    keys.sort_by_key(|k| (k.0, k.1));
    let mut out = Vec::new();
    for a in m.actions.iter().filter(|a| {
        a.kind == ActionKind::Output
            && a.whole_line
            && (ydoc.start..ydoc.end).contains(&a.span.start)
    }) {
        if seen.iter().any(|s| s.offset == a.span.start) {
            continue;
        }
        let line = doc.line_of(a.span.start);
        let action = doc.text[a.span.clone()].to_string();
        let Some(mut include) = included(m, &doc.text, a, &action) else {
            continue;
        };
        let Some(col) = nindent_of(&action) else {
            continue;
        };
        // The nearest key above at column N or left of it: it must be at N.
        let Some((_, kcol, ptr)) = keys.iter().rev().find(|(l, c, _)| *l < line && *c <= col)
        else {
            continue;
        };
        if *kcol != col {
            continue;
        }
        include.entries = true;
        out.push(Source {
            pointer: ptr.clone(),
            line: a.line,
            offset: a.span.start,
            file: None,
            include: Some(include),
            conditions: inside_document(conditions_at(m, &doc.text, a.line), doc, index),
            action,
            expr: Err("it prints mapping entries of a named template".into()),
        });
    }
    out
}

/// `N` of the last `nindent N` in an action's pipeline (`indent N` does not start a line).
fn nindent_of(action: &str) -> Option<usize> {
    let words: Vec<&str> = action
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .split(|c: char| c.is_whitespace() || c == '|' || c == '(' || c == ')')
        .filter(|w| !w.is_empty() && *w != "-")
        .collect();
    words
        .windows(2)
        .rev()
        .find(|w| w[0] == "nindent")
        .and_then(|w| w[1].parse().ok())
}

/// The action that prints a scalar node: an inline action inside it, or, for an empty
/// value, an output action later on its line (`key: {{- toYaml .x | nindent 4 }}`) or alone
/// on the next line (`key:` then `{{- toYaml .x | nindent 4 }}`).
fn producing_action<'m>(
    doc: &Document,
    m: &'m Masked,
    start: usize,
    end: usize,
) -> Option<&'m super::Action> {
    if start != end {
        return m.inline_action_in(start..end);
    }
    let line = doc.line_of(start);
    let next_line_start = doc.line_start(line + 1);
    let first = m.actions.partition_point(|a| a.span.start < start);
    // Lines of declarations and comments alone print nothing (`livenessProbe:` then
    // `{{- $probe := omit .Values.livenessProbe "enabled" }}` then `{{- toYaml $probe … }}`).
    let quiet = m.actions[first.min(m.actions.len())..]
        .iter()
        .take_while(|a| a.whole_line && matches!(a.kind, ActionKind::Assign | ActionKind::Comment))
        .count();
    let a = m.actions.get(first + quiet)?;
    if a.kind != ActionKind::Output {
        return None;
    }
    if quiet == 0 && a.span.start < next_line_start && !a.whole_line {
        return Some(a);
    }
    // Only when nothing but blanks (and those quiet lines) separates the key from the
    // action's line.
    let mut from = start;
    for q in &m.actions[first..first + quiet] {
        if !doc.text.get(from..q.span.start)?.trim().is_empty() {
            return None;
        }
        from = q.span.end;
    }
    let between = doc.text.get(from..a.span.start)?;
    let lines_between = doc.line_of(a.span.start) - line;
    (a.whole_line
        && lines_between >= 1
        && between.trim().is_empty()
        && (quiet > 0 || lines_between == 1))
        .then_some(a)
}

/// The output action that prints the first part of the mapping of the key at `key_at` (its
/// entries start at `value_at`, on a later line): one that ends the key's line right after
/// its `:` (masking made it a trailing comment), or one alone on the next line, before the
/// entries. Its output comes first in the rendered mapping.
fn trailing_action<'m>(
    doc: &Document,
    m: &'m Masked,
    key_at: usize,
    value_at: usize,
) -> Option<&'m super::Action> {
    let line = doc.line_of(key_at);
    if doc.line_of(value_at) == line {
        return None;
    }
    let first = m.actions.partition_point(|a| a.span.start < key_at);
    let a = m.actions.get(first)?;
    let on_key_line = !a.whole_line && doc.line_of(a.span.start) == line;
    let next_line = a.whole_line && doc.line_of(a.span.start) == line + 1 && a.span.end <= value_at;
    if a.kind != ActionKind::Output || !(on_key_line || next_line) {
        return None;
    }
    let between = doc.text.get(key_at..a.span.start)?;
    let colon = between.find(':')?;
    let after = &doc.text[a.span.end..doc.line_start(doc.line_of(a.span.start) + 1)];
    (between[colon + 1..].trim().is_empty() && after.trim().is_empty()).then_some(a)
}

/// Every read of a values path in a masked template file: explicit `.Values.x` words,
/// `index .Values "k"`, and `.`/`.x` inside `with` blocks.
pub fn reads(file: &str, m: &Masked, text: &str) -> Vec<Read> {
    let mut out = Vec::new();
    let decls = declarations(m, text);
    for a in &m.actions {
        if matches!(a.kind, ActionKind::Comment | ActionKind::End) {
            continue;
        }
        // A declaration of one values path prints nothing: its uses are the reads (each
        // `$x` below is resolved to the path it holds).
        if decls
            .iter()
            .any(|d| d.offset == a.span.start && d.value.is_ok())
        {
            continue;
        }
        let action = &text[a.span.clone()];
        let words = bind(m, a.line, words_of(action));
        let words = if decls.is_empty() {
            words
        } else {
            substitute(&words, &visible(&decls, m, a.line, a.span.start)).unwrap_or(words)
        };
        let ctx = dot_context(m, text, a.line).ok().flatten();
        let mut paths: Vec<Vec<String>> = Vec::new();
        let mut skip = 0;
        for (i, w) in words.iter().enumerate() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if w == "index" {
                let keys: Vec<String> = words[i + 1..]
                    .iter()
                    .take_while(|k| k.starts_with('"') || k.starts_with('.') || k.starts_with('$'))
                    .cloned()
                    .collect();
                let mut cmd = vec![w.clone()];
                skip = keys.len();
                cmd.extend(keys);
                if let Some(p) = operand(&cmd, ctx.as_deref()) {
                    paths.push(p);
                }
                continue;
            }
            // Inside a `with`, `.` is the values node; at the top level `.` is the root
            // context (`include "x" .`), whose values reads the helper's own text shows.
            if w.starts_with('.') || w.starts_with("$.") {
                let w =
                    w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'));
                if let Some(mut p) = single_operand(w, ctx.as_deref()) {
                    // `((.Values.a).b).c` (nil-safe field access): the read is of `a.b.c`.
                    let mut j = i + 1;
                    while words.get(j).is_some_and(|w| w == ")")
                        && let Some(keys) = words
                            .get(j + 1)
                            .and_then(|n| n.strip_prefix('.'))
                            .and_then(|n| single_operand(&format!(".Values.{n}"), None))
                    {
                        p.extend(keys);
                        j += 2;
                    }
                    skip = j - i - 1;
                    paths.push(p);
                }
            }
        }
        let condition = matches!(a.kind, ActionKind::Open(_) | ActionKind::Else);
        let short: String = action
            .chars()
            .take(80)
            .collect::<String>()
            .replace('\n', " ");
        // `.Values` whole (`toYaml .Values`) is not a read worth naming per path.
        for path in paths.into_iter().filter(|p| !p.is_empty()) {
            out.push(Read {
                file: file.to_string(),
                line: a.line,
                offset: a.span.start,
                path,
                condition,
                action: short.clone(),
                through: None,
            });
        }
    }
    out
}

/// Where a template file includes a named template (any `include "NAME" …` action).
#[derive(Debug, Clone, PartialEq)]
pub struct IncludeSite {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub offset: usize,
    pub action: String,
    /// The `if`/`with` blocks around the action: when one is false, nothing is included.
    pub conditions: Vec<Condition>,
    /// It passes a `dict` that the view follows: the define's reads through it are in the
    /// chart's reads, each bound to this include (see [`Read::through`]).
    pub dict: bool,
}

/// Every `include "NAME"` action of a masked template file.
pub fn include_sites(file: &str, m: &Masked, text: &str) -> Vec<IncludeSite> {
    let mut out = Vec::new();
    // A condition that tests what a define prints (`if (include "x.name" $)`) includes it too.
    for a in m.actions.iter().filter(|a| {
        matches!(
            a.kind,
            ActionKind::Output | ActionKind::Open(BlockKind::If) | ActionKind::Else
        )
    }) {
        let action = &text[a.span.clone()];
        let words = words_of(action);
        let mut i = 0;
        while i + 1 < words.len() {
            if (words[i] == "include" || words[i] == "template")
                && let Some(name) = unquote(&words[i + 1])
            {
                out.push(IncludeSite {
                    name,
                    file: file.to_string(),
                    line: a.line,
                    offset: a.span.start,
                    action: action
                        .chars()
                        .take(80)
                        .collect::<String>()
                        .replace('\n', " "),
                    conditions: conditions_at(m, text, a.line),
                    dict: i == 0
                        && included(m, text, a, action)
                            .is_some_and(|inc| inc.not_followed.is_none() && inc.binding.is_some()),
                });
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_context_includes_are_followed_and_others_say_why_not() {
        let ok = |a: &str| include_call(a).map(|(n, c)| (n, c.is_ok()));
        assert_eq!(
            ok("{{- include \"x.podSpec\" . | nindent 6 }}"),
            Some(("x.podSpec".into(), true))
        );
        assert_eq!(
            ok("{{ include \"x.podSpec\" $ | trim | indent 2 }}"),
            Some(("x.podSpec".into(), true))
        );
        let why = |a: &str| {
            include_call(a)
                .and_then(|(_, c)| c.err())
                .unwrap_or_default()
        };
        assert!(why("{{ include \"x\" (dict \"a\" 1) }}").contains("root context"));
        assert!(why("{{ include \"x\" .Values.a }}").contains("`.Values.a`"));
        assert!(why("{{ include \"x\" . | upper }}").contains("pipe"));
        assert_eq!(include_call("{{ .Values.a }}"), None);
    }

    #[test]
    fn a_nil_safe_field_chain_reads_the_whole_path_and_a_variable_its_declared_path() {
        let text = "port: {{ (((.Values.tempo).structuredConfig).server).http_port | default 3200 }}\n{{- $p := .Values.server.probe }}\nprobe: {{ $p.delay }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let paths: Vec<Vec<String>> = reads("t.yaml", &m, text)
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(
            paths,
            vec![
                vec!["tempo", "structuredConfig", "server", "http_port"],
                vec!["server", "probe", "delay"],
            ]
        );
    }

    #[test]
    fn a_variable_of_omit_keeps_its_filter_and_refuses_a_key_it_leaves_out() {
        let text = "{{- $c := omit .Values.probe \"enabled\" }}\na: {{ toYaml $c }}\nb: {{ $c.enabled }}\nc: {{ $c.port }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let parse = |line: usize| {
            let a = m.actions.iter().find(|a| a.line == line).unwrap();
            parse_in_context(&m, text, line, a.span.start, &text[a.span.clone()])
        };
        let a = parse(2).unwrap();
        assert_eq!(a.path, vec!["probe"]);
        assert_eq!(a.keys, KeyFilter::Omit(vec!["enabled".into()]));
        assert!(parse(3).unwrap_err().contains("leaves out"));
        assert_eq!(parse(4).unwrap().path, vec!["probe", "port"]);
    }

    #[test]
    fn entries_printed_after_literal_keys_are_a_source_of_the_mapping_but_list_items_are_not() {
        let text = "probe:\n  httpGet:\n    path: /\n  {{- toYaml .Values.timing | nindent 2 }}\nmounts:\n- name: tmp\n  {{- toYaml .Values.mounts | nindent 0 }}\n";
        let doc = Document::parse(
            "t.yaml",
            text.to_string(),
            crate::doc::FileKind::HelmTemplate,
        )
        .unwrap();
        let s = sources(&doc, 0);
        let probe: Vec<&Source> = s.iter().filter(|s| s.pointer == ["probe"]).collect();
        assert_eq!(probe.len(), 1);
        let e = probe[0].expr.as_ref().unwrap();
        assert_eq!(e.path, vec!["timing"]);
        assert_eq!(
            e.siblings.as_ref().map(|s| s.keys.clone()),
            Some(vec!["httpGet".to_string()])
        );
        assert!(!s.iter().any(|s| s.action.contains(".Values.mounts")));
    }

    #[test]
    fn a_define_body_keeps_its_lines_and_offsets_with_the_rest_blanked() {
        let text = "a: 1\n{{- define \"x.spec\" -}}\nkey: {{ .Values.k }}\n{{- end }}\nb: 2\n";
        let m = crate::doc::template::mask(text).unwrap();
        let d = defines("t.tpl", &m, text);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].name.as_str(), d[0].line), ("x.spec", 2));
        assert_eq!(d[0].body.len(), text.len());
        assert_eq!(
            d[0].body,
            format!(
                "{}\n{}\nkey: {{{{ .Values.k }}}}\n{}\n{}\n",
                " ".repeat(4),
                " ".repeat(23),
                " ".repeat(10),
                " ".repeat(4)
            )
        );
    }
}
