//! What the planned changes of one chart may change in its render ([`Expected`]), and the
//! comparison of two renders against it: planned places neutralized, masked places ignored,
//! every other difference named.

use std::collections::{BTreeMap, BTreeSet};

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::Value;

use crate::change::FileChange;
use crate::doc::{Document, FileKind};

use super::helm::*;

/// One template document's planned ops, as rendered pointers expected to change.
#[derive(Debug, Clone, Default)]
pub struct TemplateDoc {
    /// The document's `kind` / `apiVersion` when they are literal in the template: a rendered
    /// object of another kind is not this document.
    pub kind: Option<String>,
    pub api_version: Option<String>,
    pub ops: Vec<PatchOperation>,
}

/// What the planned changes of one chart may change in its render.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Per template (relative to the chart), the documents with ops.
    pub templates: BTreeMap<String, Vec<TemplateDoc>>,
    /// Per template, rendered pointers (and what lies below them) that may change in its
    /// objects, whatever the op: values-aware edits (`via`).
    pub loose: BTreeMap<String, Vec<String>>,
    /// Files changed in ways the render cannot be predicted from (values files, helpers,
    /// Chart.yaml, text edits, new templates), relative to the chart.
    pub direct: BTreeSet<String>,
    /// Per chart-testing scenario (`ci/x.yaml`), pointers like `loose` of values edits
    /// planned in that scenario only: they stand for a change in its render alone.
    pub scenario_loose: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The values set being compared: its scenarios' pointers ([`Expected::for_set`]),
    /// indexed as that scenario renders (never re-indexed from the defaults' render).
    pub set_loose: BTreeMap<String, Vec<String>>,
}

impl Expected {
    /// Builds the expectation from the changes in the chart at `chart` (relative to the root,
    /// `""` for a chart at the root).
    pub fn from_changes(chart: &str, changes: &[&FileChange]) -> Expected {
        let mut out = Expected::default();
        for c in changes {
            let rel = chart_relative(chart, &c.path);
            let template = rel.starts_with("templates/") && !c.created && c.text_ops.is_empty();
            if !template {
                // A values-aware edit stands for a rendered pointer of its template; only a
                // file with ops that stand for nothing (a recipe's own values edits, helpers,
                // text edits) is a direct edit.
                let vias = c.vias();
                for (_, via) in &vias {
                    let template = chart_relative(chart, &via.template);
                    if via.scenarios.is_empty() {
                        out.add_via(&template, &via.pointer);
                    }
                    for s in &via.scenarios {
                        let by_template = out.scenario_loose.entry(s.clone()).or_default();
                        by_template
                            .entry(template.clone())
                            .or_default()
                            .push(via.pointer.clone());
                    }
                    // Where the same value renders in readers the chart's values leave out
                    // (a DaemonSet beside the Deployment): a scenario may render them.
                    for also in &via.also {
                        out.add_via(&chart_relative(chart, &also.template), &also.pointer);
                    }
                }
                let ops = c.docs.iter().map(|(_, o)| o.len()).sum::<usize>();
                if vias.len() < ops || !c.text_ops.is_empty() {
                    out.direct.insert(rel);
                }
                continue;
            }
            let Ok(doc) = Document::parse(&c.path, c.old_text.clone(), FileKind::HelmTemplate)
            else {
                out.direct.insert(rel);
                continue;
            };
            let docs = out.templates.entry(rel).or_default();
            for (i, ops) in &c.docs {
                let model = doc.docs.get(*i).map(|d| &d.model);
                // A key an `if` chooses (`kind: StatefulSet` / `else` `kind: Deployment`) is
                // not literal: the masked text shows only its first branch.
                let guarded = crate::doc::template::reads::guards(&doc, *i);
                let literal = |k: &str| {
                    if guarded
                        .iter()
                        .any(|g| g.pointer.len() == 1 && g.pointer[0] == k)
                    {
                        return None;
                    }
                    // A masked action (`apiVersion: {{ include "common.capabilities…" . }}`,
                    // bitnami's charts) reads as its placeholder, `_` and base-36 digits: no
                    // kind or apiVersion starts with `_`, so such a value is not literal.
                    model
                        .and_then(|m| m.get(k))
                        .and_then(Value::as_str)
                        .filter(|v| !v.starts_with('_'))
                        .map(str::to_string)
                };
                docs.push(TemplateDoc {
                    kind: literal("kind"),
                    api_version: literal("apiVersion"),
                    ops: ops.iter().map(|o| o.op.clone()).collect(),
                });
            }
        }
        out
    }

    /// A values-aware edit: the objects rendered from `template` may change at `pointer`.
    pub fn add_via(&mut self, template: &str, pointer: &str) {
        self.loose
            .entry(template.to_string())
            .or_default()
            .push(pointer.to_string());
    }

    /// The expectation of one values set (chart-relative files): `loose` with the pointers
    /// of the edits planned in those scenarios.
    pub fn for_set(&self, set: &[String]) -> Expected {
        let mut out = self.clone();
        for s in set {
            for (template, pointers) in self.scenario_loose.get(s).into_iter().flatten() {
                let to = out.set_loose.entry(template.clone()).or_default();
                to.extend(pointers.iter().cloned());
            }
        }
        out
    }
}

pub(super) fn chart_relative(chart: &str, path: &str) -> String {
    if chart.is_empty() {
        return path.to_string();
    }
    path.strip_prefix(chart)
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(path)
        .to_string()
}

/// Per object key, the pointers that differ between two renders of the same input; objects
/// only one of them has are unstable as a whole.
#[derive(Debug, Clone, Default)]
pub struct Masks {
    pub fields: BTreeMap<String, Vec<String>>,
    pub objects: BTreeSet<String>,
    /// Templates whose objects are unstable (random names): their objects may come and go.
    pub sources: BTreeSet<String>,
}

impl Masks {
    pub fn between(a: &Rendered, b: &Rendered) -> Masks {
        let mut m = Masks::default();
        for (k, x) in a {
            match b.get(k) {
                Some(y) => {
                    let mut d = Vec::new();
                    leaf_diff(Some(&x.value), Some(&y.value), "", &mut d);
                    if !d.is_empty() {
                        m.fields.insert(k.clone(), d);
                    }
                }
                None => {
                    m.objects.insert(k.clone());
                    m.sources.insert(x.source.clone());
                }
            }
        }
        for (k, y) in b {
            if !a.contains_key(k) {
                m.objects.insert(k.clone());
                m.sources.insert(y.source.clone());
            }
        }
        m
    }

    pub(super) fn count(&self) -> usize {
        self.fields.values().map(Vec::len).sum::<usize>() + self.objects.len()
    }
}

pub(super) const MASK: &str = "\u{0}patcher:masked\u{0}";
pub(super) const PLANNED: &str = "\u{0}patcher:planned\u{0}";

/// One rendered difference no planned op explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `Deployment patcher/web`.
    pub object: String,
    /// `""` when the whole object appeared or went away.
    pub pointer: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.before, &self.after, self.pointer.is_empty()) {
            (None, Some(_), true) => write!(f, "{}: appears after the edit", self.object),
            (Some(_), None, true) => write!(f, "{}: is gone after the edit", self.object),
            (b, a, _) => write!(
                f,
                "{}: {} changed from {} to {}",
                self.object,
                self.pointer,
                short(b.as_ref()),
                short(a.as_ref())
            ),
        }
    }
}

pub(super) fn short(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "(absent)".into();
    };
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

/// What comparing one before/after pair found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Objects with a difference (explained or not).
    pub objects: usize,
    pub fields: usize,
    /// Differences no planned op explains (always empty when not `strict`).
    pub wrong: Vec<Difference>,
}

/// Compares two renders. `strict`: every difference must be planned; otherwise (a values set
/// edited directly) differences are only counted.
pub fn compare(
    before: &Rendered,
    after: &Rendered,
    masks: &Masks,
    expected: &Expected,
    strict: bool,
) -> Comparison {
    compare_with(before, after, masks, expected, strict, None)
}

/// [`compare`], with the planned pointers re-indexed from `reference` (the render with the
/// chart's own values, which the pointers were planned against) by [`reindex`]: in another
/// values scenario a list item may sit at another index (a sidecar it turns on comes first).
pub fn compare_with(
    before: &Rendered,
    after: &Rendered,
    masks: &Masks,
    expected: &Expected,
    strict: bool,
    reference: Option<&Rendered>,
) -> Comparison {
    let mut out = Comparison::default();
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (b, a) = (before.get(key), after.get(key));
        let (Some(b), Some(a)) = (b, a) else {
            let Some(o) = b.or(a) else { continue };
            if masks.objects.contains(key.as_str()) || masks.sources.contains(&o.source) {
                continue;
            }
            out.objects += 1;
            out.fields += 1;
            if strict {
                out.wrong.push(Difference {
                    object: display_key(key),
                    pointer: String::new(),
                    before: b.map(|o| o.value.clone()),
                    after: a.map(|o| o.value.clone()),
                });
            }
            continue;
        };
        let mut bv = b.value.clone();
        let mut av = a.value.clone();
        for p in masks.fields.get(key.as_str()).into_iter().flatten() {
            set_if_present(&mut bv, p, MASK);
            set_if_present(&mut av, p, MASK);
        }
        if bv == av {
            continue;
        }
        let mut raw = Vec::new();
        leaf_diff(Some(&bv), Some(&av), "", &mut raw);
        out.objects += 1;
        if !strict {
            out.fields += raw.len();
            continue;
        }
        let refobj = reference
            .and_then(|r| r.get(key.as_str()))
            .map(|o| &o.value);
        let map = |p: &str| match refobj {
            Some(r) => reindex(p, r, &b.value),
            None => p.to_string(),
        };
        let loose: Vec<String> = expected
            .loose
            .get(&a.source)
            .into_iter()
            .flatten()
            .map(|p| map(p))
            .chain(
                expected
                    .set_loose
                    .get(&a.source)
                    .into_iter()
                    .flatten()
                    .cloned(),
            )
            .collect();
        let docs = expected
            .templates
            .get(&a.source)
            .map_or(&[][..], Vec::as_slice);
        let kind = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let same_kind: Vec<&TemplateDoc> = docs
            .iter()
            .filter(|d| {
                d.kind
                    .as_ref()
                    .is_none_or(|k| Some(k) == kind(&av, "kind").as_ref())
                    && d.api_version
                        .as_ref()
                        .is_none_or(|k| Some(k) == kind(&av, "apiVersion").as_ref())
            })
            .collect();
        let empty = TemplateDoc::default();
        // Each template document of this source could be the one that rendered the object;
        // one whose ops explain the difference exactly is it.
        let mut best: Option<(Vec<String>, usize)> = None;
        for doc in same_kind.iter().copied().chain([&empty]) {
            let ops: Vec<PatchOperation> = match refobj {
                Some(_) => doc
                    .ops
                    .iter()
                    .map(|o| with_path(o, &map(&op_path(o))))
                    .collect(),
                None => doc.ops.clone(),
            };
            let (unexplained, planned) = neutralize(&bv, &av, &ops, &loose);
            if unexplained.is_empty() {
                best = Some((Vec::new(), planned));
                break;
            }
            if best
                .as_ref()
                .is_none_or(|(u, _)| unexplained.len() < u.len())
            {
                best = Some((unexplained, planned));
            }
        }
        let (unexplained, planned) = best.unwrap_or_default();
        out.fields += planned;
        for p in unexplained {
            out.fields += 1;
            out.wrong.push(Difference {
                object: display_key(key),
                before: lookup(&b.value, &p).cloned(),
                after: lookup(&a.value, &p).cloned(),
                pointer: p,
            });
        }
    }
    out
}

/// Applies `ops` to the before object with placeholder values, marks the same places in the
/// after object, drops the `loose` pointers from both, and returns the pointers that still
/// differ and how many planned places really changed.
pub(super) fn neutralize(
    b: &Value,
    a: &Value,
    ops: &[PatchOperation],
    loose: &[String],
) -> (Vec<String>, usize) {
    let mark = Value::String(PLANNED.into());
    let mut bv = b.clone();
    let mut loose: Vec<String> = loose.to_vec();
    for op in ops {
        let placeholder = match op {
            PatchOperation::Add(o) => PatchOperation::Add(AddOperation {
                path: o.path.clone(),
                value: mark.clone(),
            }),
            PatchOperation::Replace(o) => PatchOperation::Replace(ReplaceOperation {
                path: o.path.clone(),
                value: mark.clone(),
            }),
            PatchOperation::Remove(o) => PatchOperation::Remove(RemoveOperation {
                path: o.path.clone(),
            }),
            other => {
                loose.push(op_path(other));
                continue;
            }
        };
        // The rendered object need not have the template's shape there (a `range`, an
        // `include`): then the op's pointer may change, whatever is found below it.
        if json_patch::patch(&mut bv, std::slice::from_ref(&placeholder)).is_err() {
            loose.push(op_path(op));
        }
    }
    let mut marks = Vec::new();
    find_marks(&bv, "", &mut marks);
    let mut av = a.clone();
    let mut planned = 0;
    for p in &marks {
        if lookup(&av, p).is_some() {
            if lookup(b, p) != lookup(a, p) {
                planned += 1;
            }
            set_if_present(&mut av, p, PLANNED);
        }
    }
    for p in &loose {
        if lookup(b, p) != lookup(a, p) {
            planned += 1;
        }
        remove_if_present(&mut bv, p);
        remove_if_present(&mut av, p);
    }
    let mut diffs = Vec::new();
    leaf_diff(Some(&bv), Some(&av), "", &mut diffs);
    (diffs, planned)
}

/// `pointer` as it addresses `target`: where it steps into a list by index, the item of
/// `reference` at that index is found in `target`'s list by its `name` (`containers`,
/// `initContainers`, `env`, `volumes`… — a list whose items are maps with distinct string
/// names, in both). Elsewhere, and below a place either object lacks, it is kept as it is.
pub fn reindex(pointer: &str, reference: &Value, target: &Value) -> String {
    let keys = crate::pointer::pointer_keys(pointer);
    if keys.is_empty() {
        return pointer.to_string();
    }
    let mut out = String::new();
    let (mut r, mut t) = (Some(reference), Some(target));
    for k in keys {
        let mut step = k.clone();
        if let (Some(Value::Array(rs)), Some(Value::Array(ts)), Ok(i)) = (r, t, k.parse::<usize>())
            && let (Some(rn), Some(tn)) = (unique_names(rs), unique_names(ts))
            && let Some(name) = rn.get(i).copied()
            && let Some(j) = tn.iter().position(|n| *n == name)
        {
            step = j.to_string();
        }
        r = child(r, &k);
        t = child(t, &step);
        out.push('/');
        out.push_str(&escape(&step));
    }
    out
}

fn child<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    match v {
        Some(Value::Object(m)) => m.get(key),
        Some(Value::Array(xs)) => key.parse::<usize>().ok().and_then(|i| xs.get(i)),
        _ => None,
    }
}

/// The `name` of every item, when each is a map with a string `name` and no two share one.
fn unique_names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items
        .iter()
        .map(|x| x.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    (distinct.len() == names.len()).then_some(names)
}

/// `op` at another path.
fn with_path(op: &PatchOperation, path: &str) -> PatchOperation {
    let path = crate::pointer::to_pointer(&crate::pointer::pointer_keys(path));
    match op {
        PatchOperation::Add(o) => PatchOperation::Add(AddOperation {
            path,
            value: o.value.clone(),
        }),
        PatchOperation::Replace(o) => PatchOperation::Replace(ReplaceOperation {
            path,
            value: o.value.clone(),
        }),
        PatchOperation::Remove(_) => PatchOperation::Remove(RemoveOperation { path }),
        other => other.clone(),
    }
}

pub(super) fn op_path(op: &PatchOperation) -> String {
    match op {
        PatchOperation::Add(o) => o.path.to_string(),
        PatchOperation::Remove(o) => o.path.to_string(),
        PatchOperation::Replace(o) => o.path.to_string(),
        PatchOperation::Move(o) => o.path.to_string(),
        PatchOperation::Copy(o) => o.path.to_string(),
        PatchOperation::Test(o) => o.path.to_string(),
    }
}

pub(super) fn find_marks(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s == PLANNED => out.push(at.to_string()),
        Value::Object(m) => {
            for (k, x) in m {
                find_marks(x, &format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                find_marks(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

pub(super) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(super) fn lookup<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(v);
    }
    v.pointer(pointer)
}

pub(super) fn set_if_present(v: &mut Value, pointer: &str, to: &str) {
    if let Some(x) = v.pointer_mut(pointer) {
        *x = Value::String(to.into());
    }
}

/// Drops a key; a list item is replaced by the placeholder instead, so the items after it keep
/// their indices.
pub(super) fn remove_if_present(v: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.shift_remove(&key);
        }
        Some(Value::Array(xs)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < xs.len()
            {
                xs[i] = Value::String(PLANNED.into());
            }
        }
        _ => {}
    }
}

/// Leaf-level differences: pointers where `a` and `b` differ (a key only one side has is one
/// difference; lists compare item by item).
pub(super) fn leaf_diff(a: Option<&Value>, b: Option<&Value>, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                leaf_diff(x.get(k), y.get(k), &format!("{at}/{}", escape(k)), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                leaf_diff(x.get(i), y.get(i), &format!("{at}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(at.to_string()),
        _ => {}
    }
}
