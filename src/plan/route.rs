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

use super::includes::{self, Rendering};
use super::view::{
    ElseRendered, Part, ValuesView, effective, eval, is_empty, part_of, prune_unrendered,
    render_model,
};
use crate::change::{DefineRead, PlannedOp, Via};
use crate::doc::template::reads::KeyFilter;
use crate::pointer::lookup;

/// One op of a template that must land in the values file.
#[derive(Debug, Clone)]
pub struct ValuesEdit {
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
    /// The `include` actions (file, offset) the value passes through, outermost first.
    pub through: Vec<(String, usize)>,
    /// The defines it passes through, by name (same order).
    pub defines: Vec<String>,
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
    let (line, offset, expr) = match effective(source, &view.model) {
        Ok(e) => e,
        Err(why) => return fail(why),
    };
    if expr.tplvalues
        && lookup(&view.model, &expr.path).is_some_and(|v| v.to_string().contains("{{"))
    {
        return fail(
            "the value holds `{{`, which `common.tplvalues.render` renders with `tpl`".into(),
        );
    }
    let rest = &keys[source.pointer.len()..];
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
    let value = match &op.op {
        json_patch::PatchOperation::Add(o) => Some(o.value.clone()),
        json_patch::PatchOperation::Replace(o) => Some(o.value.clone()),
        json_patch::PatchOperation::Remove(_) if !rest.is_empty() => None,
        _ => return fail("removing the whole values-fed node is not a values edit".into()),
    };
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
    Some(Ok(ValuesEdit {
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
        },
        read_file,
        offset,
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

/// The other uses of the values path an edit changes: reads of the same path, of a path
/// inside it or of a path that contains it, anywhere in the chart, except the edit's own
/// read and reads that other edits of this plan to the same keys stand for. A condition
/// (`if`/`with`) on a containing path that is already non-empty is not a use: setting a key
/// inside keeps it non-empty. Each as `file:line (`action`)`.
pub fn other_uses(
    edit: &ValuesEdit,
    view: &ValuesView,
    planned: &[(String, usize)],
) -> Vec<String> {
    let keys = &edit.keys;
    let mut out = Vec::new();
    for r in view.reads.iter() {
        let overlaps = keys.starts_with(&r.path) || r.path.starts_with(keys);
        if !overlaps {
            continue;
        }
        // A define's read bound to one include's `dict` is the edit's own only through it,
        // or when that include is the edit's read (`common.tplvalues.render`'s `.value`).
        let own = (planned.iter().any(|(f, o)| *f == r.file && *o == r.offset)
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
        let use_ = format!("{}:{} (`{}`)", r.file, r.line, r.action.trim());
        if !out.contains(&use_) {
            out.push(use_);
        }
    }
    // A read inside a define is a read wherever the define is included: every other
    // include that renders (no `if` around it provably false) is another use.
    for name in &edit.defines {
        for site in view.includes.iter().filter(|s| s.name == *name) {
            let own = planned
                .iter()
                .any(|(f, o)| *f == site.file && *o == site.offset);
            let unrendered = site
                .conditions
                .iter()
                .any(|c| c.cond.as_ref().is_ok_and(|c| !eval(c, &view.model)));
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
    let sources = crate::doc::template::reads::sources(doc, index);
    let guards = crate::doc::template::reads::guards(doc, index);
    let pruned = prune_unrendered(model, &guards, &view.model);
    let sources = pruned.reindex_sources(sources);
    render_model(model, &sources, &view.model);
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
