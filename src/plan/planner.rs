//! The planner proper: one [`Planner`] walks a file rule's rules over a document's model and
//! emits the RFC 6902 ops that make it hold (`set`, `ensure`, `remove`, `at-least`,
//! `at-most`, `merge`, list items), each op seeing the effect of the ones before it. Workflow
//! steps and shell commands are planned in [`super::steps`].

use std::borrow::Cow;
use std::sync::Arc;

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::{Map, Value};

use crate::change::PlannedOp;
use crate::path::{PathExpr, Segment};
use crate::pointer::{display_value, lookup, to_pointer, type_name, values_equal};
use crate::recipe::{Cond, NewValue, Origin, Placement, Rule, When};
use crate::shell::ScriptCheck;

use super::{DocPlan, Probe, resolve};

pub(super) struct Planner<'m> {
    pub(super) recipe: Arc<str>,
    /// The model as the ops so far leave it: borrowed until the first op (most rules plan
    /// nothing, and a model is as costly to copy as to build).
    pub(super) working: Cow<'m, Value>,
    pub(super) out: DocPlan,
    /// The placement hint of the `set`/`ensure` being planned; `ensure_json` attaches it to
    /// the op that adds the target key itself (not a missing ancestor).
    pub(super) placement: Option<Placement>,
    /// How edited scripts are checked: the caller's choice, so the planner starts nothing.
    pub(super) checks: &'m dyn ScriptCheck,
}

impl<'m> Planner<'m> {
    pub(super) fn new(recipe: &Arc<str>, model: &'m Value, checks: &'m dyn ScriptCheck) -> Self {
        Planner {
            recipe: recipe.clone(),
            working: Cow::Borrowed(model),
            out: DocPlan::default(),
            placement: None,
            checks,
        }
    }

    pub(super) fn finish(mut self) -> DocPlan {
        if let Cow::Owned(m) = self.working {
            self.out.model = Some(m);
        }
        self.out
    }

    pub(super) fn rules(&mut self, rules: &[Rule], base: &[String]) {
        for rule in rules {
            self.rule(rule, base);
        }
    }

    fn rule(&mut self, rule: &Rule, base: &[String]) {
        match rule {
            Rule::Set {
                path,
                value,
                placement,
                origin,
            } => {
                for target in self.targets(path, base, origin, true) {
                    self.placement = placement.clone();
                    self.ensure_value(&target, value, origin);
                    self.placement = None;
                }
            }
            Rule::Remove { path, origin } => {
                // A concrete path that is already absent simply holds: no nearest-miss warning.
                let mut targets = if path.is_concrete() {
                    let start: &[String] = if path.absolute { &[] } else { base };
                    resolve(&self.working, start, &path.segments, false).targets
                } else {
                    self.targets(path, base, origin, false)
                };
                // Remove later sequence items first so earlier indices stay valid.
                targets.sort_by(|a, b| compare_pointers_desc(a, b));
                for target in targets {
                    if lookup(&self.working, &target).is_some() {
                        self.push(
                            PatchOperation::Remove(RemoveOperation {
                                path: to_pointer(&target),
                            }),
                            origin,
                            None,
                        );
                    }
                }
            }
            Rule::Ensure {
                path,
                key,
                item,
                merge,
                placement,
                origin,
            } => {
                for target in self.targets(path, base, origin, true) {
                    self.ensure_item(&target, key, item, *merge, placement, origin);
                }
            }
            Rule::AtLeast {
                path,
                value,
                origin,
            } => self.bound(path, base, value, origin, true),
            Rule::AtMost {
                path,
                value,
                origin,
            } => self.bound(path, base, value, origin, false),
            Rule::Step {
                selector,
                rules,
                origin,
            } => {
                for step in self.steps(selector, origin) {
                    self.rules(rules, &step);
                }
            }
            Rule::Command {
                words,
                path,
                edits,
                origin,
            } => self.command(words, path, edits, base, origin),
            Rule::Retry {
                attempts,
                delay,
                origin,
            } => {
                let mut target = base.to_vec();
                target.push("run".into());
                match lookup(&self.working, &target) {
                    Some(Value::String(script)) => {
                        match crate::shell::wrap_retry_with(script, *attempts, *delay, self.checks)
                        {
                            // The wrapped script has passed `self.checks`.
                            Ok(wrapped) if wrapped != *script => {
                                self.ensure_json(&target, &Value::String(wrapped), origin, None)
                            }
                            Ok(_) => {}
                            Err(e) => self.out.errors.push((
                                origin.clone(),
                                format!("retry: {}: {e}", to_pointer(&target)),
                            )),
                        }
                    }
                    other => {
                        let found = other.map_or("missing", type_name);
                        self.out.errors.push((
                            origin.clone(),
                            format!(
                                "retry: {} is {found}, not a `run:` script",
                                to_pointer(&target)
                            ),
                        ))
                    }
                }
            }
            Rule::InsertStep {
                anchor,
                job,
                step,
                origin,
            } => self.insert_step(anchor, job.as_deref(), step, origin),
            Rule::Each {
                path,
                whens,
                rules,
                origin,
            } => {
                let targets = self.targets(path, base, origin, false);
                for target in targets {
                    if self.whens_hold(whens, &target) {
                        self.rules(rules, &target);
                    }
                }
            }
        }
    }

    /// Concrete key paths a rule's path selects. With `allow_missing`, a path whose tail
    /// does not exist yet still yields its one target (to be created).
    fn targets(
        &mut self,
        path: &PathExpr,
        base: &[String],
        origin: &Origin,
        allow_missing: bool,
    ) -> Vec<Vec<String>> {
        let start: &[String] = if path.absolute { &[] } else { base };
        let res = resolve(&self.working, start, &path.segments, allow_missing);
        let mut probe = Probe::new(origin, path.to_string(), res.targets.len(), res.seen);
        probe.wanted = key_segments(path);
        self.out.probes.push(probe);
        res.targets
    }

    pub(super) fn whens_hold(&mut self, whens: &[When], base: &[String]) -> bool {
        let mut all = true;
        for w in whens {
            let start: &[String] = if w.path.absolute { &[] } else { base };
            let found: Vec<&Value> = resolve(&self.working, start, &w.path.segments, false)
                .targets
                .iter()
                .filter_map(|t| lookup(&self.working, t))
                .collect();
            let (holds, what) = match &w.cond {
                Cond::Exists => (!found.is_empty(), format!("when {} exists", w.path)),
                Cond::Missing => (found.is_empty(), format!("when {} missing", w.path)),
                Cond::Equals(v) => (
                    found.iter().any(|f| values_equal(f, v)),
                    format!("when {} equals {}", w.path, display_value(v)),
                ),
            };
            let mut probe = Probe::new(
                &w.origin,
                what,
                holds as usize,
                found.iter().map(|v| display_value(v)).collect(),
            );
            if let Cond::Equals(v) = &w.cond {
                probe.wanted = vec![display_value(v)];
            }
            self.out.probes.push(probe);
            all &= holds;
        }
        all
    }

    pub(super) fn push(
        &mut self,
        op: PatchOperation,
        origin: &Origin,
        snippet: Option<(String, Arc<str>)>,
    ) {
        self.push_placed(op, origin, snippet, None);
    }

    fn push_placed(
        &mut self,
        op: PatchOperation,
        origin: &Origin,
        snippet: Option<(String, Arc<str>)>,
        placement: Option<Placement>,
    ) {
        // Keep the working model in step so later rules see this op's effect.
        match json_patch::patch(self.working.to_mut(), std::slice::from_ref(&op)) {
            Ok(()) => self.out.ops.push(PlannedOp {
                op,
                recipe: self.recipe.clone(),
                origin: origin.clone(),
                snippet,
                placement,
                via: None,
            }),
            Err(e) => self.out.errors.push((
                origin.clone(),
                format!("internal: planned op does not apply: {e}"),
            )),
        }
    }

    /// Makes the node at `target` equal `value`, creating missing parent mappings.
    fn ensure_value(&mut self, target: &[String], value: &NewValue, origin: &Origin) {
        let snippet = value
            .yaml
            .clone()
            .map(|y| (to_pointer(target).to_string(), y));
        self.ensure_json(target, &value.value, origin, snippet);
    }

    pub(super) fn ensure_json(
        &mut self,
        target: &[String],
        value: &Value,
        origin: &Origin,
        snippet: Option<(String, Arc<str>)>,
    ) {
        if let Some(current) = lookup(&self.working, target) {
            if values_equal(current, value) {
                return;
            }
            let op = ReplaceOperation {
                path: to_pointer(target),
                value: value.clone(),
            };
            self.push(PatchOperation::Replace(op), origin, snippet);
            return;
        }
        // Find the deepest existing ancestor and build the missing rest as nested mappings.
        let mut depth = target.len();
        while depth > 0 && lookup(&self.working, &target[..depth - 1]).is_none() {
            depth -= 1;
        }
        let parent_path = &target[..depth - 1];
        let Some(parent) = lookup(&self.working, parent_path) else {
            return;
        };
        let nested = nest(&target[depth..], value.clone());
        match parent {
            Value::Object(_) => {
                let op = AddOperation {
                    path: to_pointer(&target[..depth]),
                    value: nested,
                };
                // The hint names a sibling of the target key: it only applies when that key
                // is the one added.
                let placement = if depth == target.len() {
                    self.placement.clone()
                } else {
                    None
                };
                self.push_placed(PatchOperation::Add(op), origin, snippet, placement);
            }
            Value::Array(items) => {
                let key = &target[depth - 1];
                if key == "-" || key.parse::<usize>().ok() == Some(items.len()) {
                    let mut path = target[..depth].to_vec();
                    path[depth - 1] = items.len().to_string();
                    let op = AddOperation {
                        path: to_pointer(&path),
                        value: nested,
                    };
                    self.push(PatchOperation::Add(op), origin, snippet);
                } else {
                    self.out.errors.push((
                        origin.clone(),
                        format!(
                            "cannot set {}: {} is a list without item {key}",
                            to_pointer(target),
                            to_pointer(parent_path)
                        ),
                    ));
                }
            }
            Value::Null => {
                // `spec:` with no value (or an empty document): it becomes a mapping.
                let op = ReplaceOperation {
                    path: to_pointer(parent_path),
                    value: nest(&target[depth - 1..], value.clone()),
                };
                self.push(PatchOperation::Replace(op), origin, snippet);
            }
            other => self.out.errors.push((
                origin.clone(),
                format!(
                    "cannot set {}: {} is {} ({}), not a mapping",
                    to_pointer(target),
                    to_pointer(parent_path),
                    type_name(other),
                    display_value(other)
                ),
            )),
        }
    }

    fn ensure_item(
        &mut self,
        target: &[String],
        key: &str,
        item: &NewValue,
        merge: bool,
        placement: &Option<Placement>,
        origin: &Origin,
    ) {
        let wanted_key = item.value.get(key).cloned().unwrap_or(Value::Null);
        match lookup(&self.working, target) {
            None | Some(Value::Null) => {
                let mut first = target.to_vec();
                first.push("0".into());
                let snippet = item
                    .yaml
                    .clone()
                    .map(|y| (to_pointer(&first).to_string(), y));
                // A new list: the hint places its key.
                self.placement = placement.clone();
                self.ensure_json(
                    target,
                    &Value::Array(vec![item.value.clone()]),
                    origin,
                    snippet,
                );
                self.placement = None;
            }
            Some(Value::Array(items)) => {
                let found = items
                    .iter()
                    .position(|it| it.get(key).is_some_and(|v| values_equal(v, &wanted_key)));
                let len = items.len();
                match found {
                    None => {
                        let mut path = target.to_vec();
                        path.push(len.to_string());
                        let snippet = item
                            .yaml
                            .clone()
                            .map(|y| (to_pointer(&path).to_string(), y));
                        let op = AddOperation {
                            path: to_pointer(&path),
                            value: item.value.clone(),
                        };
                        self.push(PatchOperation::Add(op), origin, snippet);
                    }
                    Some(i) if merge => {
                        let mut path = target.to_vec();
                        path.push(i.to_string());
                        let snippet = item
                            .yaml
                            .clone()
                            .map(|y| (to_pointer(&path).to_string(), y));
                        self.merge(&path, &item.value, origin, &snippet);
                    }
                    Some(_) => {}
                }
            }
            Some(other) => self.out.errors.push((
                origin.clone(),
                format!(
                    "cannot ensure an item in {}: it is {}, not a list",
                    to_pointer(target),
                    type_name(other)
                ),
            )),
        }
    }

    /// Makes the mapping at `path` contain every key of `value` (recursively for mappings).
    fn merge(
        &mut self,
        path: &[String],
        value: &Value,
        origin: &Origin,
        snippet: &Option<(String, Arc<str>)>,
    ) {
        let Value::Object(wanted) = value else {
            self.ensure_json(path, value, origin, snippet.clone());
            return;
        };
        for (k, v) in wanted {
            let mut child = path.to_vec();
            child.push(k.clone());
            match (lookup(&self.working, &child), v) {
                (Some(Value::Object(_)), Value::Object(_)) => {
                    self.merge(&child, v, origin, snippet)
                }
                _ => self.ensure_json(&child, v, origin, snippet.clone()),
            }
        }
    }

    fn bound(
        &mut self,
        path: &PathExpr,
        base: &[String],
        bound: &serde_json::Number,
        origin: &Origin,
        at_least: bool,
    ) {
        let limit = bound.as_f64().unwrap_or(0.0);
        for target in self.targets(path, base, origin, true) {
            match lookup(&self.working, &target) {
                Some(Value::Number(n)) => {
                    let x = n.as_f64().unwrap_or(0.0);
                    let holds = if at_least { x >= limit } else { x <= limit };
                    if !holds {
                        self.ensure_json(&target, &Value::Number(bound.clone()), origin, None);
                    }
                }
                None | Some(Value::Null) => {
                    self.ensure_json(&target, &Value::Number(bound.clone()), origin, None)
                }
                Some(other) => self.out.errors.push((
                    origin.clone(),
                    format!(
                        "{} {}: {} is {} ({}), not a number",
                        if at_least { "at-least" } else { "at-most" },
                        bound,
                        to_pointer(&target),
                        type_name(other),
                        display_value(other)
                    ),
                )),
            }
        }
    }
}

/// The plain keys of a path, to rank nearest misses against.
pub(super) fn key_segments(path: &PathExpr) -> Vec<String> {
    path.segments
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn nest(keys: &[String], value: Value) -> Value {
    keys.iter().rev().fold(value, |acc, k| {
        let mut m = Map::new();
        m.insert(k.clone(), acc);
        Value::Object(m)
    })
}

/// Orders pointers so that, for the same sequence, higher indices come first.
fn compare_pointers_desc(a: &[String], b: &[String]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return match (x.parse::<usize>(), y.parse::<usize>()) {
                (Ok(i), Ok(j)) => j.cmp(&i),
                _ => x.cmp(y),
            };
        }
    }
    b.len().cmp(&a.len())
}
