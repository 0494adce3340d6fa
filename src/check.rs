//! `patcher check`: does every recipe still hold? Runs the same pipeline as `plan`
//! ([`engine::run`]) and turns its outcome into a drift report: per recipe, whether it holds,
//! drifted (with the file, line and column of each drifted node, what the recipe expects and
//! what the file has), is not applicable, or could not be evaluated; plus the RFC 6902 ops that
//! would repair it. The report is plain data ([`crate::report::drift`]); its writers live in
//! [`crate::report`] (`check`, `github`, `sarif`) and never call back into this stage.
//!
//! Checks are semantic because the planner is: an op is planned only where a recipe does not
//! hold, so `at-least 30` against a human's `45` plans nothing and is not drift.
//!
//! Exit codes ([`CheckReport::exit_code`]): 0 every recipe holds or is not applicable, 2 at
//! least one drifted, 1 an error (a bad recipe, an unreadable target, a refused edit). Never 2
//! without a drifted node.

use std::path::Path;

use json_patch::{AddOperation, PatchOperation, ReplaceOperation};

use crate::change::FileChange;
use crate::engine;
use crate::finding::Finding;
use crate::outcome::Outcome;
use crate::recipe::RecipeSet;
use crate::report::drift::{CheckReport, Drift, DriftKind, FileRepair, RecipeCheck, Status};

/// Evaluates every recipe against the files under `root`.
pub fn evaluate(root: &Path, recipes: &RecipeSet) -> CheckReport {
    evaluate_with(root, recipes, &engine::RunOptions::default())
}

/// [`evaluate`] with run options (`--render`).
pub fn evaluate_with(root: &Path, recipes: &RecipeSet, opts: &engine::RunOptions) -> CheckReport {
    let outcome = engine::run_with(root, recipes, opts);
    from_outcome(root, recipes, &outcome)
}

/// Builds the report from an engine outcome (exposed for tests).
pub fn from_outcome(root: &Path, recipes: &RecipeSet, outcome: &Outcome) -> CheckReport {
    let rel = Relativizer::new(root);
    let mut report = CheckReport {
        warnings: outcome.warnings.iter().map(|f| rel.finding(f)).collect(),
        errors: outcome.errors.iter().map(|f| rel.finding(f)).collect(),
        unchecked: outcome.unchecked.iter().map(|f| rel.finding(f)).collect(),
        ..CheckReport::default()
    };
    let error_files: Vec<&str> = outcome
        .errors
        .iter()
        .filter_map(|e| e.file.as_deref())
        .collect();
    let has_unattributed_error = outcome.errors.iter().any(|e| e.recipe.is_empty());
    for (i, recipe) in recipes.recipes.iter().enumerate() {
        let status = outcome.recipes.get(i);
        let mut drift: Vec<Drift> = outcome
            .changes
            .iter()
            .flat_map(|c| drift_in(c, &recipe.name, &rel))
            .collect();
        drift.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        let errors: Vec<String> = report
            .errors
            .iter()
            .filter(|e| e.recipe == recipe.name)
            .map(|e| e.message.clone())
            .collect();
        let files = status.map(|s| s.files.clone()).unwrap_or_default();
        let unchecked: Vec<String> = report
            .unchecked
            .iter()
            .filter(|u| u.recipe == recipe.name)
            .map(|u| match &u.file {
                Some(f) => format!("{f}: {}", u.message),
                None => u.message.clone(),
            })
            .collect();
        let state = if !errors.is_empty() {
            Status::Error
        } else if !drift.is_empty() {
            Status::Drifted
        } else if has_unattributed_error
            || !unchecked.is_empty()
            || files.iter().any(|f| error_files.contains(&f.as_str()))
        {
            Status::Unchecked
        } else if files.is_empty() || status.is_some_and(|s| !s.applied) {
            Status::NotApplicable
        } else {
            Status::Holds
        };
        report.recipes.push(RecipeCheck {
            name: recipe.name.clone(),
            description: recipe.description.clone(),
            origin: rel.origin(&recipe.origin.to_string()),
            status: state,
            files,
            drift,
            errors,
            unchecked,
        });
    }
    report.repair = outcome
        .changes
        .iter()
        .map(|c| FileRepair {
            path: c.path.clone(),
            created: c.created,
            documents: c
                .docs
                .iter()
                .map(|(i, ops)| (*i, ops.iter().map(|o| o.to_json()).collect()))
                .collect(),
            text: c
                .text_ops
                .iter()
                .map(|t| (t.line, t.summary.clone(), t.recipe.to_string()))
                .collect(),
        })
        .collect();
    report
}

/// The drifted nodes of one recipe in one changed file.
fn drift_in(change: &FileChange, recipe: &str, rel: &Relativizer) -> Vec<Drift> {
    let mut out: Vec<Drift> = Vec::new();
    for ((doc, ops), sites) in change.docs.iter().zip(&change.sites) {
        for (op, site) in ops.iter().zip(sites) {
            if *op.recipe != *recipe {
                continue;
            }
            // Where the node is in the file as it is now (the op's own path counts list items
            // after the ops before it).
            let pointer = site.pointer.clone();
            // A file to be created has nothing in it yet (its model is `null`).
            let found = if change.created {
                None
            } else {
                site.found.clone()
            };
            let (kind, expected) = match &op.op {
                PatchOperation::Add(AddOperation { value, .. })
                | PatchOperation::Replace(ReplaceOperation { value, .. }) => {
                    let kind = if found.is_none() {
                        DriftKind::Missing
                    } else {
                        DriftKind::Differs
                    };
                    (kind, Some(value.clone()))
                }
                PatchOperation::Remove(_) => (DriftKind::Unwanted, None),
                // The planner emits add/replace/remove only; report anything else as a change.
                _ => (DriftKind::Differs, None),
            };
            // A later rule of the same recipe editing the same node (flags, then a retry
            // wrapper): one drifted node whose expected value is the last one.
            if let Some(last) = out.last_mut()
                && last.document == Some(*doc)
                && last.pointer.as_deref() == Some(pointer.as_str())
            {
                last.expected = expected;
                if last.kind == DriftKind::Missing && kind == DriftKind::Unwanted {
                    last.kind = DriftKind::Unwanted;
                }
                last.ops.push(op.to_json());
                continue;
            }
            out.push(Drift {
                file: change.path.clone(),
                line: site.line,
                col: site.col,
                document: Some(*doc),
                pointer: Some(pointer),
                kind,
                expected,
                found,
                edit: None,
                rule: rel.origin(&op.origin.to_string()),
                ops: vec![op.to_json()],
                via: op.via.clone(),
            });
        }
    }
    for t in change.text_ops.iter().filter(|t| *t.recipe == *recipe) {
        out.push(Drift {
            file: change.path.clone(),
            line: t.line,
            col: 1,
            document: None,
            pointer: None,
            kind: DriftKind::Text,
            expected: None,
            found: None,
            edit: Some(t.summary.clone()),
            rule: rel.origin(&t.origin.to_string()),
            ops: Vec::new(),
            via: None,
        });
    }
    out
}

/// Shows recipe origins relative to the root when they lie inside it, so reports do not
/// depend on where the repository is checked out.
struct Relativizer {
    prefixes: Vec<String>,
}

impl Relativizer {
    fn new(root: &Path) -> Self {
        let mut prefixes = Vec::new();
        for p in [Some(root.to_path_buf()), root.canonicalize().ok()]
            .into_iter()
            .flatten()
        {
            let s = p.display().to_string();
            if s.is_empty() || s == "." {
                prefixes.push("./".to_string());
            } else {
                prefixes.push(format!("{}/", s.trim_end_matches('/')));
            }
        }
        prefixes.push("./".to_string());
        Relativizer { prefixes }
    }

    fn origin(&self, s: &str) -> String {
        for p in &self.prefixes {
            if let Some(rest) = s.strip_prefix(p.as_str()) {
                return rest.trim_start_matches("./").to_string();
            }
        }
        s.to_string()
    }

    fn finding(&self, f: &Finding) -> Finding {
        Finding {
            origin: self.origin(&f.origin),
            ..f.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_inside_the_root_are_relative() {
        let r = Relativizer::new(Path::new("/repo"));
        assert_eq!(r.origin("/repo/recipes/a.kdl:3:1"), "recipes/a.kdl:3:1");
        assert_eq!(r.origin("/elsewhere/a.kdl:3:1"), "/elsewhere/a.kdl:3:1");
        let dot = Relativizer::new(Path::new("."));
        assert_eq!(dot.origin("./recipes/a.kdl:3:1"), "recipes/a.kdl:3:1");
    }
}
