//! The planner: resolves recipes against documents' JSON models into concrete RFC 6902
//! operations, emitted only where the recipe does not already hold. Pure data in, pure data
//! out: no text, no spans, no I/O.

pub mod guards;
pub mod includes;
mod planner;
mod resolve;
pub mod route;
mod steps;
pub mod view;

use std::sync::Arc;

use json_patch::{PatchOperation, RemoveOperation};
use serde_json::Value;

use crate::change::PlannedOp;
use crate::path::PathExpr;
use crate::pointer::{display_value, lookup, to_pointer, values_equal};
use crate::recipe::{FileRule, Origin};
use crate::shell::{InternalCheck, ScriptCheck};

pub use resolve::{Resolution, resolve};
pub use steps::glob_match;

use planner::Planner;

/// Result of planning one document against one file rule.
#[derive(Debug, Default)]
pub struct DocPlan {
    pub ops: Vec<PlannedOp>,
    pub errors: Vec<(Origin, String)>,
    /// Selectors and `when`s with whether they matched, for nearest-miss warnings that are
    /// aggregated over all documents by the caller.
    pub probes: Vec<Probe>,
    /// The model with `ops` applied, when there are any (`None`: the model is unchanged).
    pub model: Option<Value>,
}

/// The outcome of one selector or condition in one document.
#[derive(Debug, Clone)]
pub struct Probe {
    pub origin: Origin,
    /// What was asked, e.g. `/spec/containers/*` or `when livenessProbe exists`.
    pub what: String,
    pub matched: usize,
    /// What exists where the selector stopped matching (keys, values) for "nearest misses".
    pub seen: Vec<String>,
    /// What was asked for, to rank `seen` by edit distance (closest first); empty: keep order.
    pub wanted: Vec<String>,
    /// A workflow selector (`step`, `command`, `insert-step` anchor): when it matched nothing
    /// in any file it warns even in an `optional=#true` rule, since the recipe never applied.
    pub warns_when_optional: bool,
}

impl Probe {
    fn new(origin: &Origin, what: String, matched: usize, seen: Vec<String>) -> Probe {
        Probe {
            origin: origin.clone(),
            what,
            matched,
            seen,
            wanted: Vec::new(),
            warns_when_optional: false,
        }
    }
}

/// Does this document pass the rule's `match`es? Returns the probes for warnings too.
pub fn document_matches(rule: &FileRule, model: &Value) -> (bool, Vec<Probe>) {
    let mut ok = true;
    let mut probes = Vec::new();
    for m in &rule.matches {
        let found = lookup_expr(model, &m.path);
        let hit = found.iter().any(|v| values_equal(v, &m.value));
        let mut probe = Probe::new(
            &m.origin,
            format!("document with {} == {}", m.path, display_value(&m.value)),
            hit as usize,
            found.iter().map(|v| display_value(v)).collect(),
        );
        probe.wanted = vec![display_value(&m.value)];
        probes.push(probe);
        ok &= hit;
    }
    (ok, probes)
}

/// Plans one document: `rules` applied in order to `model`, each op seeing the effect of
/// the ones before it. Edited scripts are checked by `checks` (the caller's: the planner
/// starts no process of its own).
pub fn plan_document(
    recipe: &Arc<str>,
    rule: &FileRule,
    model: &Value,
    checks: &dyn ScriptCheck,
) -> DocPlan {
    let mut p = Planner::new(recipe, model, checks);
    let root: Vec<String> = Vec::new();
    if p.whens_hold(&rule.whens, &root) {
        p.rules(&rule.rules, &root);
    }
    p.finish()
}

/// Plans making the node at `target` of `model` equal `value` (creating missing parent
/// mappings), or removing it when `value` is `None`: the ops of a values edit.
pub fn ensure_at(
    recipe: &Arc<str>,
    model: &Value,
    target: &[String],
    value: Option<&Value>,
    origin: &Origin,
) -> DocPlan {
    // A values edit sets data, never a script: nothing to check.
    let mut p = Planner::new(recipe, model, &InternalCheck);
    match value {
        Some(v) => p.ensure_json(target, v, origin, None),
        None => {
            if lookup(model, target).is_some() {
                p.push(
                    PatchOperation::Remove(RemoveOperation {
                        path: to_pointer(target),
                    }),
                    origin,
                    None,
                );
            }
        }
    }
    p.finish()
}

fn lookup_expr<'a>(model: &'a Value, path: &PathExpr) -> Vec<&'a Value> {
    resolve(model, &[], &path.segments, false)
        .targets
        .iter()
        .filter_map(|t| lookup(model, t))
        .collect()
}
