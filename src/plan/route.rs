//! Routing ops through values: recipes speak about rendered objects; when the node an op
//! must change is printed by a template action that reads one values path, the op lands in
//! the chart's values file instead (tagged [`Via`] its template line and rendered pointer).
//!
//! The template facts come from `doc::template::reads` as data; this module decides where an
//! op lands and whether that is safe (no other read of the same values path may see the
//! change). The editor never sees Helm values: a values edit is an ordinary op on the values
//! file's document.

use serde_json::Value;

use crate::recipe::Origin;

use super::guards::{self, LineFacts, is_empty};
use super::includes::{self, Rendering};
use super::view::{
    ElseRendered, Part, ValuesView, effective, fill_values, part_of, prune_unrendered,
};
use crate::change::{DefineRead, GuardNote, PlannedOp, Via};
use crate::doc::template::reads::{Condition, KeyFilter, Source, ValuesExpr};
use crate::pointer::lookup;

/// One op of a template that must land in the values file.
#[derive(Debug, Clone)]
pub struct ValuesEdit {
    /// The values file it lands in (relative to the root): the view's target, or, planned
    /// in a chart-testing scenario, the scenario's file when that owns the value
    /// ([`ValuesView::owner`]).
    pub target: String,
    /// Keys in the values file.
    pub keys: Vec<String>,
    /// The value to set; `None` removes the key.
    pub value: Option<Value>,
    pub recipe: std::sync::Arc<str>,
    pub origin: Origin,
    pub via: Via,
    /// The file and byte offset of the reading action (to tell it from other reads): the
    /// template, or the define's file.
    pub read_file: String,
    pub offset: usize,
    /// The 1-based line of the reading action in `read_file`.
    pub line: usize,
    /// The `include` actions (file, offset) the value passes through, outermost first.
    pub through: Vec<(String, usize)>,
    /// The defines it passes through, by name (same order).
    pub defines: Vec<String>,
    /// The node of the template that the outermost include prints (when it is in a define).
    pub outer: Option<Vec<String>>,
    /// Offsets in `read_file` of the actions that print the same node from the same values
    /// path in the other branches of its `if` (pushgateway's `toYaml $common` in both the
    /// `tcpSocket` and the `httpGet` branch): wherever they render, the edit is the op's.
    pub same_node: Vec<usize>,
}

/// Where one op of a template lands: `None` when no values read prints its node (it stays a
/// template edit), else the values edit or why it cannot be one.
pub fn route(
    op: &PlannedOp,
    rendering: &Rendering,
    view: &ValuesView,
    template: &str,
    document: usize,
) -> Option<Result<ValuesEdit, String>> {
    let keys = crate::pointer::pointer_keys(op.path());
    let splice = includes::splice_at(rendering, &keys);
    let source = rendering
        .sources
        .iter()
        .filter(|s| keys.starts_with(&s.pointer))
        .filter(|s| splice.is_none_or(|sp| s.pointer.starts_with(&sp.pointer)))
        .max_by_key(|s| s.pointer.len());
    let source = match (source, splice) {
        (Some(s), _) => s,
        // Inside a define's output, not printed by one of its reads: the define's own text.
        (None, Some(sp)) => return Some(Err(includes::refusal(op.path(), sp))),
        (None, None) => return None,
    };
    let read_file = source.file.clone().unwrap_or_else(|| template.to_string());
    let chain = includes::splice_chain(rendering, &keys);
    let at = match splice {
        Some(sp) => format!(
            "{read_file}:{} (in define \"{}\", included at {template}:{})",
            source.line,
            sp.name,
            chain.first().map_or(sp.include_line, |c| c.include_line)
        ),
        None => format!("{template}:{}", source.line),
    };
    let fail = |why: String| {
        Some(Err(format!(
            "{} is printed by `{}` at {at}, and {why}; change it by hand",
            op.path(),
            source.action.trim()
        )))
    };
    if view.subchart {
        return fail(format!(
            "chart {} is a subchart: its parent chart's values can override its own",
            view.chart
        ));
    }
    let rest = &keys[source.pointer.len()..];
    let value = match &op.op {
        json_patch::PatchOperation::Add(o) => Some(o.value.clone()),
        json_patch::PatchOperation::Replace(o) => Some(o.value.clone()),
        json_patch::PatchOperation::Remove(_) if !rest.is_empty() => None,
        _ => return fail("removing the whole values-fed node is not a values edit".into()),
    };
    let mut enables = Vec::new();
    let (line, offset, expr) = match effective(source, &view.model) {
        Ok(e) => e,
        Err(why) => match enabled_by_edit(source, rest, value.as_ref(), &view.model) {
            Some((expr, guards)) => {
                enables = guards
                    .iter()
                    .map(|c| GuardNote {
                        file: read_file.clone(),
                        line: c.line,
                        action: c.action.trim().to_string(),
                    })
                    .collect();
                (source.line, source.offset, expr)
            }
            None => return fail(why),
        },
    };
    let rest = &keys[source.pointer.len()..];
    if expr.tplvalues
        && let Some(why) = guards::tpl_refusal(
            lookup(&view.model, &expr.path),
            &expr.path,
            rest,
            value.as_ref(),
        )
    {
        return fail(why);
    }
    // Literal lines beside the values' mapping, or `omit`/`pick`: which part has the key.
    if expr.siblings.is_some() || expr.keys != KeyFilter::All {
        let found = lookup(&view.model, &expr.path);
        match part_of(expr, rest.first().map(String::as_str), found) {
            Part::Values => {}
            Part::Template => return None,
            Part::Refused(why) => return fail(why),
        }
    }
    if !rest.is_empty() && !expr.to_yaml {
        return fail("that prints a scalar, not a mapping".into());
    }
    if rest.is_empty()
        && let Some(v) = &value
    {
        if expr.stringify && !v.is_string() {
            return fail(format!(
                "that always renders a string, but the recipe wants {}",
                crate::pointer::display_value(v)
            ));
        }
        if expr.numeric && !v.is_number() {
            return fail(format!(
                "that always renders a number, but the recipe wants {}",
                crate::pointer::display_value(v)
            ));
        }
    }
    let mut values_keys = expr.path.clone();
    values_keys.extend(rest.iter().cloned());
    let (via_line, define) = match (chain.first(), splice) {
        (Some(outer), Some(sp)) => (
            outer.include_line,
            Some(DefineRead {
                name: sp.name.clone(),
                file: read_file.clone(),
                line,
            }),
        ),
        _ => (line, None),
    };
    let target = view.owner(&values_keys).to_string();
    let same_path = |e: &Result<ValuesExpr, String>| e.as_ref().is_ok_and(|e| e.path == expr.path);
    let mut same_node: Vec<usize> = source
        .conditions
        .iter()
        .flat_map(|c| &c.elses)
        .filter_map(|e| e.alt.as_ref())
        .filter(|a| same_path(&a.expr))
        .map(|a| a.offset)
        .collect();
    if same_path(&source.expr) {
        same_node.push(source.offset);
    }
    same_node.retain(|&o| o != offset);
    Some(Ok(ValuesEdit {
        target,
        same_node,
        keys: values_keys,
        value,
        recipe: op.recipe.clone(),
        origin: op.origin.clone(),
        via: Via {
            template: template.to_string(),
            line: via_line,
            document,
            pointer: op.path().to_string(),
            define,
            enables,
            scenarios: view.scenario.iter().map(|s| s.name.clone()).collect(),
            note: None,
            also: Vec::new(),
        },
        outer: chain.first().map(|c| c.pointer.clone()),
        read_file,
        offset,
        line,
        through: chain
            .iter()
            .map(|c| {
                let f = c
                    .include_file
                    .clone()
                    .unwrap_or_else(|| template.to_string());
                (f, c.include_offset)
            })
            .collect(),
        defines: chain.iter().map(|c| c.name.clone()).collect(),
    }))
}

/// A node whose `if`s are false with the values today (`initialDelaySeconds` guarded by
/// `gt (int .Values.p.initialDelaySeconds) 0`, and set to 0) but all hold once the edit sets
/// its own value: the recipe's intent is exactly to make it render. The expression and the
/// conditions the edit turns true; `None` when any condition stays false or is unknown.
fn enabled_by_edit<'s>(
    source: &'s Source,
    rest: &[String],
    value: Option<&Value>,
    values: &Value,
) -> Option<(&'s ValuesExpr, Vec<&'s Condition>)> {
    let expr = source.expr.as_ref().ok()?;
    let value = value?;
    let mut keys = expr.path.clone();
    keys.extend(rest.iter().cloned());
    let after = guards::with_edit(values, &keys, Some(value));
    let mut turned = Vec::new();
    for c in &source.conditions {
        let cond = c.cond.as_ref().ok()?;
        if guards::truth(cond, &after) != Some(true) {
            return None;
        }
        if guards::truth(cond, values) != Some(true) {
            turned.push(c);
        }
    }
    (!turned.is_empty()).then_some((expr, turned))
}

/// Whether a line (a read, an include) renders under `values`: its own branches, and, in a
/// define, some include of that define that renders. `None` when that cannot be decided.
pub fn line_renders(
    facts: &LineFacts,
    view: &ValuesView,
    values: &Value,
    depth: usize,
) -> Option<bool> {
    let own = guards::renders(&facts.branches, values);
    let Some(name) = &facts.define else {
        return own;
    };
    if own == Some(false) {
        return Some(false);
    }
    // Defines within defines: as deep as includes are followed (see `includes`).
    if depth > 4 {
        return None;
    }
    let sites: Vec<_> = view.includes.iter().filter(|s| s.name == *name).collect();
    // A define nobody here includes may be included from elsewhere (a dependency).
    if sites.is_empty() {
        return None;
    }
    let mut any = Some(false);
    for s in sites {
        let r = view
            .lines
            .get(&(s.file.clone(), s.line))
            .and_then(|f| line_renders(f, view, values, depth + 1));
        match r {
            Some(true) => return own,
            None => any = None,
            Some(false) => {}
        }
    }
    any
}

/// Whether the line `line` of `file` (a read, an include) renders with the view's values;
/// `None` when that cannot be decided (or the chart has no facts about the line).
pub fn renders(view: &ValuesView, file: &str, line: usize) -> Option<bool> {
    let facts = view.lines.get(&(file.to_string(), line))?;
    line_renders(facts, view, &view.model, 0)
}

/// Why a read of the edited path is not another use, if it is not: it renders neither
/// before nor after the edit (a DaemonSet's read while `kind` chooses the Deployment), or it
/// is a condition that decides the same branch before and after (a guard the edit keeps
/// true), or the one that the edit turns true to render exactly its own field.
fn not_a_use(
    facts: &LineFacts,
    condition: bool,
    file: &str,
    edit: &ValuesEdit,
    view: &ValuesView,
    after: &Value,
) -> bool {
    let before = view.model.as_ref();
    if line_renders(facts, view, before, 0) == Some(false)
        && line_renders(facts, view, after, 0) == Some(false)
    {
        return true;
    }
    let Some((block, printing)) = facts.decides.as_ref().filter(|_| condition) else {
        return false;
    };
    let (was, now) = (guards::taken(block, before), guards::taken(block, after));
    if was.is_some() && was == now {
        return true;
    }
    // Turned on by the edit: the branch that renders now prints nothing but the edited
    // field, and the one that rendered before printed nothing.
    let printed_nothing = |b: Option<usize>| b.is_none_or(|i| printing[i].is_empty());
    match (was, now) {
        (Some(w), Some(Some(n))) => {
            file == edit.read_file && printing[n] == [edit.line] && printed_nothing(w)
        }
        _ => false,
    }
}

/// For a condition whose branch the edit changes: which lines that makes render.
fn branch_turn(
    facts: &LineFacts,
    condition: bool,
    view: &ValuesView,
    after: &Value,
) -> Option<String> {
    let (block, printing) = facts.decides.as_ref().filter(|_| condition)?;
    let (was, now) = (
        guards::taken(block, &view.model)?,
        guards::taken(block, after)?,
    );
    if was == now {
        return None;
    }
    let lines = now.map(|n| printing[n].as_slice()).unwrap_or_default();
    Some(match lines {
        [] => ", whose branch the new value changes".to_string(),
        [l] => format!(", whose branch the new value changes: line {l} renders"),
        [first, .., last] => format!(
            ", whose branch the new value changes: lines {first}-{last} render, not only this field"
        ),
    })
}

/// The other uses of the values path an edit changes: reads of the same path, of a path
/// inside it or of a path that contains it, anywhere in the chart, except the edit's own
/// read, reads that other edits of this plan to the same keys and value stand for, and
/// reads that are not a use (see [`not_a_use`]). A condition (`if`/`with`) on a containing
/// path that is already non-empty is not a use: setting a key inside keeps it non-empty.
/// Each as `file:line (`action`)`.
pub fn other_uses(
    edit: &ValuesEdit,
    view: &ValuesView,
    planned: &[(String, usize)],
) -> Vec<String> {
    let keys = &edit.keys;
    let after = guards::with_edit(&view.model, keys, edit.value.as_ref());
    let mut out = Vec::new();
    for r in view.reads.iter() {
        let overlaps = keys.starts_with(&r.path) || r.path.starts_with(keys);
        if !overlaps {
            continue;
        }
        // A define's read bound to one include's `dict` is the edit's own only through it,
        // or when that include is the edit's read (`common.tplvalues.render`'s `.value`).
        let own =
            (r.file == edit.read_file && edit.same_node.contains(&r.offset) && r.through.is_none())
                || (planned.iter().any(|(f, o)| *f == r.file && *o == r.offset)
                    && r.through.as_ref().is_none_or(|t| planned.contains(t)))
                || r.through
                    .as_ref()
                    .is_some_and(|(f, o)| *f == edit.read_file && *o == edit.offset);
        if own {
            continue;
        }
        if r.condition
            && r.path.len() < keys.len()
            && lookup(&view.model, &r.path).is_some_and(|v| !is_empty(v))
        {
            continue;
        }
        if view
            .lines
            .get(&(r.file.clone(), r.line))
            .is_some_and(|f| not_a_use(f, r.condition, &r.file, edit, view, &after))
        {
            continue;
        }
        let turn = view
            .lines
            .get(&(r.file.clone(), r.line))
            .and_then(|f| branch_turn(f, r.condition, view, &after))
            .unwrap_or_default();
        let use_ = format!("{}:{} (`{}`{turn})", r.file, r.line, r.action.trim());
        if !out.contains(&use_) {
            out.push(use_);
        }
    }
    // A read inside a define is a read wherever the define is included: every other
    // include that renders, before or after the edit, is another use.
    for name in &edit.defines {
        for site in view.includes.iter().filter(|s| s.name == *name) {
            let own = planned
                .iter()
                .any(|(f, o)| *f == site.file && *o == site.offset);
            let unrendered = view
                .lines
                .get(&(site.file.clone(), site.line))
                .is_some_and(|f| {
                    line_renders(f, view, &view.model, 0) == Some(false)
                        && line_renders(f, view, &after, 0) == Some(false)
                });
            // A `dict` include's reads are in `view.reads`, bound to it (checked above).
            if own || unrendered || site.dict {
                continue;
            }
            let use_ = format!("{}:{} (`{}`)", site.file, site.line, site.action.trim());
            if !out.contains(&use_) {
                out.push(use_);
            }
        }
    }
    out
}

/// The values view of document `index` of a chart template: `model` becomes what renders
/// under the view's values (unrendered entries pruned, values-fed nodes rendered, included
/// defines spliced in), and the result says which reads print which nodes.
pub fn prepare(
    doc: &crate::doc::Document,
    index: usize,
    model: &mut Value,
    view: &ValuesView,
) -> Rendering {
    let mut sources = crate::doc::template::reads::sources(doc, index);
    let mut guards = crate::doc::template::reads::guards(doc, index);
    includes::resolve_reads(&mut sources, &mut guards, &view.defines);
    let pruned = prune_unrendered(model, &guards, &view.model);
    let sources = pruned.reindex_sources(sources);
    fill_values(model, &sources, &view.model);
    let from_else = pruned
        .from_else
        .iter()
        .filter_map(|e| {
            let pointer = pruned.reindex(&e.pointer)?;
            Some(ElseRendered {
                pointer,
                ..e.clone()
            })
        })
        .collect();
    let mut r = Rendering {
        sources,
        splices: Vec::new(),
        from_else,
    };
    includes::splice_includes(model, &mut r, &view.defines, &view.includes, &view.model);
    r
}
