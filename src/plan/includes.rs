//! Named templates in the values view: a node printed by `{{- include "NAME" . | nindent N }}`
//! (the root context) is what `define "NAME"` renders, so the view splices the define's body
//! (parsed as a template fragment, its own `if`s decided from the values) in at that node.
//! Recipes then see the containers a helper prints, and an op inside lands in the values when
//! one values read prints its node, or is refused by name (a shared define is not edited).

use std::collections::HashMap;

use serde_json::Value;

use crate::doc::template::reads::{IncludeSite, Source};

use super::view::{ElseRendered, ParsedDefine, eval, fill_values, prune_unrendered};
use crate::pointer::{lookup, to_pointer};

/// How deep includes are followed (a define that includes a define that includes…). Four
/// covers the deepest chain of the idioms the view follows (template → pod template → pod
/// spec → container → probe helper); the bound also stops a define that includes itself
/// (Helm allows recursion) instead of looping.
const MAX_DEPTH: usize = 4;

/// A node of a template document that an included define prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Splice {
    /// Keys of the node in the template document's model.
    pub pointer: Vec<String>,
    pub name: String,
    /// Where the define is (file relative to the root, 1-based line).
    pub file: String,
    pub line: usize,
    /// The including action: its file (the template, or an outer define), line and offset.
    pub include_file: Option<String>,
    pub include_line: usize,
    pub include_offset: usize,
    /// How many `include`s of the define the chart has.
    pub includers: usize,
    /// Why the body was not spliced in (not YAML, or its own includes too deep).
    pub unread: Option<String>,
    /// An include that prints entries into the mapping at `pointer`: the keys it printed
    /// (`None`: it prints the node itself).
    pub entries: Option<Vec<String>>,
}

impl Splice {
    /// The splice prints the node at `keys` or one above it.
    pub fn covers(&self, keys: &[String]) -> bool {
        keys.starts_with(&self.pointer)
            && self
                .entries
                .as_ref()
                .is_none_or(|e| keys.get(self.pointer.len()).is_some_and(|k| e.contains(k)))
    }
}

/// What a template document renders, as the view sees it: the values reads of its nodes
/// (its own and those of the defines it includes), the nodes defines print, and the entries
/// an `else` branch renders.
#[derive(Debug, Clone, Default)]
pub struct Rendering {
    pub sources: Vec<Source>,
    pub splices: Vec<Splice>,
    pub from_else: Vec<ElseRendered>,
}

/// Splices every root-context include of a known define into `model` (rendered under
/// `values`), moving the define's sources into `sources` at the included node.
pub fn splice_includes(
    model: &mut Value,
    r: &mut Rendering,
    defines: &HashMap<String, ParsedDefine>,
    includes: &[IncludeSite],
    values: &Value,
) {
    splice_level(model, r, defines, includes, values, 0);
}

fn splice_level(
    model: &mut Value,
    r: &mut Rendering,
    defines: &HashMap<String, ParsedDefine>,
    includes: &[IncludeSite],
    values: &Value,
    depth: usize,
) {
    let mut i = 0;
    let mut spliced_any = false;
    while i < r.sources.len() {
        let s = &r.sources[i];
        let Some(inc) = s.include.as_ref() else {
            i += 1;
            continue;
        };
        // A node that does not render (pruned) or already holds text is not the include's.
        // An inline `key: {{ include … | nindent N }}` with nothing nested below is masked
        // as a placeholder of the action's length: the action is the whole node too.
        let placeholder = |t: &str| t.len() == s.action.len() && t.starts_with('_');
        let empty = lookup(model, &s.pointer).is_some_and(|v| {
            v.is_null() || v.as_str().is_some_and(|t| t.is_empty() || placeholder(t))
        });
        // An `if` around the include that is false prints nothing there.
        let shown = s
            .conditions
            .iter()
            .all(|c| c.cond.as_ref().is_err() || c.cond.as_ref().is_ok_and(|c| eval(c, values)));
        // Entries into a mapping: the mapping is there already; when the include does not
        // render it prints nothing, and it is no node's source.
        if inc.entries {
            if !shown || !lookup(model, &s.pointer).is_some_and(Value::is_object) {
                r.sources.remove(i);
                continue;
            }
        } else if !empty || !shown {
            i += 1;
            continue;
        }
        let inc = inc.clone();
        let s = r.sources.remove(i);
        let def = defines.get(&inc.name);
        let mut splice = Splice {
            pointer: s.pointer.clone(),
            name: inc.name.clone(),
            file: def.map_or_else(|| s.file.clone().unwrap_or_default(), |d| d.file.clone()),
            line: def.map_or(s.line, |d| d.line),
            include_file: s.file.clone(),
            include_line: s.line,
            include_offset: s.offset,
            includers: includes.iter().filter(|x| x.name == inc.name).count(),
            unread: inc.not_followed.clone(),
            // Entries not spliced in print no node that the view knows of.
            entries: inc.entries.then(Vec::new),
        };
        let body = match def.map(|d| &d.body) {
            _ if splice.unread.is_some() => {
                r.splices.push(splice);
                continue;
            }
            Some(Ok(b)) => b,
            Some(Err(why)) => {
                splice.unread = Some(why.clone());
                r.splices.push(splice);
                continue;
            }
            None => {
                splice.unread = Some(
                    "no such define in the chart's templates or its dependencies' (charts/)"
                        .to_string(),
                );
                r.splices.push(splice);
                continue;
            }
        };
        if depth >= MAX_DEPTH {
            splice.unread = Some(format!("it includes named templates {MAX_DEPTH} deep"));
            r.splices.push(splice);
            continue;
        }
        let mut fragment = body.model.clone();
        let prefix = |p: &[String]| {
            let mut k = s.pointer.clone();
            k.extend(p.iter().cloned());
            k
        };
        // An include that passes a `dict` reads the body with `.` bound to it.
        let bound = inc
            .binding
            .as_ref()
            .map(|b| body.bound(b, def.map_or("", |d| d.file.as_str())));
        let (sources, guards) = match &bound {
            Some((s, g)) => (s, g),
            None => (&body.sources, &body.guards),
        };
        let pruned = prune_unrendered(&mut fragment, guards, values);
        for e in &pruned.from_else {
            if let Some(p) = pruned.reindex(&e.pointer) {
                let mut e = e.clone();
                e.pointer = prefix(&p);
                r.from_else.push(e);
            }
        }
        let body_sources = pruned.reindex_sources(sources.clone());
        fill_values(&mut fragment, &body_sources, values);
        if inc.entries {
            let added = match fragment {
                Value::Object(entries) => entries,
                Value::Null => Default::default(),
                _ => {
                    splice.unread = Some("its body is not a mapping".to_string());
                    r.splices.push(splice);
                    continue;
                }
            };
            let Ok(Value::Object(map)) = to_pointer(&s.pointer).resolve_mut(model) else {
                continue;
            };
            if let Some(k) = added.keys().find(|k| map.contains_key(*k)) {
                splice.unread = Some(format!(
                    "it prints `{k}`, which the template has too (the rendered key is not known)"
                ));
                r.splices.push(splice);
                continue;
            }
            splice.entries = Some(added.keys().cloned().collect());
            map.extend(added);
        } else if let Ok(slot) = to_pointer(&s.pointer).resolve_mut(model) {
            *slot = fragment;
        }
        // The define's nodes render only where the include does: its `if`s come first.
        for ds in &body_sources {
            let mut ds = ds.clone();
            ds.pointer = prefix(&ds.pointer);
            let mut conds = s.conditions.clone();
            conds.extend(ds.conditions);
            ds.conditions = conds;
            r.sources.push(ds);
        }
        r.splices.push(splice);
        spliced_any = true;
    }
    if spliced_any {
        // The spliced bodies may include defines of their own.
        splice_level(model, r, defines, includes, values, depth + 1);
    }
}

/// The splice that prints the node at `keys` (the innermost), if any.
pub fn splice_at<'r>(r: &'r Rendering, keys: &[String]) -> Option<&'r Splice> {
    r.splices
        .iter()
        .filter(|s| s.covers(keys))
        .max_by_key(|s| s.pointer.len())
}

/// The chain of splices from the template down to the one that prints `keys`, outermost
/// first: each include the value passes through.
pub fn splice_chain<'r>(r: &'r Rendering, keys: &[String]) -> Vec<&'r Splice> {
    let mut out: Vec<&Splice> = r.splices.iter().filter(|s| s.covers(keys)).collect();
    out.sort_by_key(|s| s.pointer.len());
    out
}

/// Why an op on a node inside a define's output is not a values edit: a define is shared
/// text, which patcher does not edit.
pub fn refusal(path: &str, s: &Splice) -> String {
    let shared = match s.includers {
        0 | 1 => "which one template includes".to_string(),
        n => format!("which {n} templates include"),
    };
    match &s.unread {
        Some(why) => format!(
            "{path} is printed by define \"{}\" at {}:{} ({shared}), which patcher cannot read: {why}; edit it by hand or through values",
            s.name, s.file, s.line
        ),
        None => format!(
            "{path} is printed by define \"{}\" at {}:{}, {shared}, not from one values read; edit it by hand or through values",
            s.name, s.file, s.line
        ),
    }
}

/// The selectors of a rule that matched nothing in a document because they reach into a
/// node printed by an include the view could not follow: a named refusal each, instead of a
/// silent miss (the recipe cannot see what the chart renders there).
pub fn unread_misses(
    r: &Rendering,
    probes: &[super::Probe],
) -> Vec<(crate::recipe::Origin, String)> {
    let mut out: Vec<(crate::recipe::Origin, String)> = Vec::new();
    for p in probes.iter().filter(|p| p.matched == 0) {
        for sp in r.splices.iter().filter(|s| s.unread.is_some()) {
            let at = to_pointer(&sp.pointer).to_string();
            if !p.what.starts_with(&format!("{at}/")) {
                continue;
            }
            let msg = format!("`{}` cannot be checked: {}", p.what, refusal(&at, sp));
            if !out.iter().any(|(o, m)| *o == p.origin && *m == msg) {
                out.push((p.origin.clone(), msg));
            }
        }
    }
    out
}
