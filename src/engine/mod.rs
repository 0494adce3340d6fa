//! The pipeline, in one direction: find the files each recipe names, load each once, plan,
//! edit, verify (including an empty re-plan), and hand back the changes ([`crate::write`]
//! writes them in place). This is the only module that calls more than one stage.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::change::{FileChange, PlannedOp, TextOp, op_sites};
use crate::doc::{Document, FileKind};
use crate::edit::{self, Refusal};
use crate::finding::Finding;
use crate::outcome::{Outcome, RecipeStatus};
use crate::plan::{self, Probe};
use crate::recipe::{FileRule, Origin, Recipe, RecipeSet};
use crate::render::RenderMode;
use crate::select;
use crate::shell::{BashCheck, with_deferred_checks};

mod chart_values;
mod narrow;
mod readers;
mod unseen;

/// How [`run_with`] runs.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub render: RenderMode,
    /// The helm to render with; `None` looks for one (`PATCHER_HELM`, else `helm` on PATH).
    pub helm: Option<PathBuf>,
}

/// Plans every recipe against the files under `root`, with the default options.
pub fn run(root: &Path, recipes: &RecipeSet) -> Outcome {
    run_with(root, recipes, &RunOptions::default())
}

/// Plans every recipe against the files under `root`.
pub fn run_with(root: &Path, recipes: &RecipeSet, opts: &RunOptions) -> Outcome {
    let threads = crate::parallel::threads();
    run_on_threads(root, recipes, opts, threads)
}

/// [`run_with`] planning files on up to `threads` threads (1: one after another, in order).
/// The outcome does not depend on `threads`: results are gathered in file order
/// (tests/parallel_plan.rs compares a serial and a parallel plan of the corpus).
pub fn run_on_threads(
    root: &Path,
    recipes: &RecipeSet,
    opts: &RunOptions,
    threads: usize,
) -> Outcome {
    let mut out = Outcome::default();
    let root_canon = match root.canonicalize() {
        Ok(p) => p,
        Err(e) => {
            out.errors.push(Finding::plain(format!(
                "cannot open root {}: {e}",
                root.display()
            )));
            return out;
        }
    };
    let select::Targets {
        yaml: targets,
        creatable,
        text: text_targets,
        files_matched,
        mut files_of,
        warnings,
        errors,
    } = select::select(&root_canon, recipes);
    out.warnings = warnings;
    out.errors = errors;
    for (path, rules) in &text_targets {
        match plan_text_file(&root_canon, path, rules, recipes) {
            Ok(Some(change)) => out.changes.push(change),
            Ok(None) => {}
            Err(f) => out.errors.push(f),
        }
    }

    let jobs: Vec<(String, Vec<(usize, usize)>)> = targets.into_iter().collect();
    // Helm templates render with their chart's values: plan against the rendered view, then
    // move the ops on values-fed nodes into the values files (see `values.rs`).
    let (views, view_errors) = chart_values::views(&root_canon, &jobs, recipes, threads);
    out.errors.extend(view_errors);
    let prepared = crate::parallel::map(threads, &jobs, |(path, rules)| {
        prepare_file(
            &root_canon,
            path,
            rules,
            creatable.contains(path),
            recipes,
            views.get(path).map(|v| &**v),
        )
    });
    let prepared = chart_values::land_values_edits(&root_canon, prepared, &views, recipes);
    let results = crate::parallel::map(threads, &prepared, |p| finish_file(p, recipes));
    crate::parallel::drop_in_background(prepared);

    // Selector outcomes summed over every file and document, keyed by (recipe, origin, what).
    let mut probes: BTreeMap<(usize, String, String), Probe> = BTreeMap::new();
    let mut seen_sets: HashMap<(usize, String, String), std::collections::HashSet<String>> =
        HashMap::new();
    let mut ops_per_recipe = vec![0usize; recipes.recipes.len()];
    let mut files_changed = vec![0usize; recipes.recipes.len()];
    for r in results {
        out.errors.extend(r.errors);
        out.warnings.extend(r.warnings);
        out.unchecked.extend(r.unchecked);
        for (ri, p) in r.probes {
            let key = (ri, p.origin.to_string(), p.what.clone());
            let e = probes.entry(key.clone()).or_insert_with(|| Probe {
                matched: 0,
                seen: Vec::new(),
                ..p.clone()
            });
            e.matched += p.matched;
            // Selector-less steps see every step of every file: dedupe with a set.
            let known = seen_sets.entry(key).or_default();
            for s in p.seen {
                if known.insert(s.clone()) {
                    e.seen.push(s);
                }
            }
        }
        if let Some(change) = r.change {
            out.changes.push(change);
        }
    }
    out.changes.sort_by(|a, b| a.path.cmp(&b.path));
    verify_renders(&root_canon, &mut out, &files_of, opts);
    for change in &out.changes {
        for (ri, recipe) in recipes.recipes.iter().enumerate() {
            let yaml_ops = change.docs.iter().flat_map(|(_, ops)| ops);
            let n = yaml_ops.filter(|o| *o.recipe == *recipe.name).count()
                + change
                    .text_ops
                    .iter()
                    .filter(|t| *t.recipe == *recipe.name)
                    .count();
            ops_per_recipe[ri] += n;
            files_changed[ri] += (n > 0) as usize;
        }
    }
    // A recipe with an error in a file is not also unchecked there: the error says more.
    let failed: HashSet<(&str, &str)> = out
        .errors
        .iter()
        .filter_map(|e| Some((e.recipe.as_str(), e.file.as_deref()?)))
        .collect();
    let unchecked = std::mem::take(&mut out.unchecked);
    out.unchecked = unchecked
        .into_iter()
        .filter(|u| {
            !u.file
                .as_deref()
                .is_some_and(|f| failed.contains(&(u.recipe.as_str(), f)))
        })
        .collect();
    let unseen_at: HashSet<(&str, &str)> = out
        .unchecked
        .iter()
        .map(|u| (u.recipe.as_str(), u.origin.as_str()))
        .collect();
    let applied = recipes_applied(recipes, &probes);
    let mut miss_warnings = Vec::new();
    for ((ri, origin, _), probe) in probes {
        if probe.matched == 0 {
            let recipe = &recipes.recipes[ri];
            // It matched nothing where it could see: where it could not, it is unchecked.
            if unseen_at.contains(&(recipe.name.as_str(), origin.as_str())) {
                continue;
            }
            // `optional` silences misses that only say "this file is not of that kind" (no
            // file, no matching document, a `when`); a step selector or `command` that matched
            // in none of the files means the recipe never applied, and that still warns, once.
            let silenced = !probe.warns_when_optional
                && recipe
                    .files
                    .iter()
                    .any(|f| f.optional && origin_within(&f.origin, &probe.origin, recipe));
            if silenced {
                continue;
            }
            miss_warnings.push(Finding::new(
                recipe,
                &probe.origin,
                None,
                nearest_miss(&probe),
            ));
        }
    }
    out.warnings.extend(miss_warnings);
    out.recipes = recipes
        .recipes
        .iter()
        .enumerate()
        .map(|(i, r)| RecipeStatus {
            name: r.name.clone(),
            files_matched: files_matched[i],
            ops: ops_per_recipe[i],
            files_changed: files_changed[i],
            errors: out.errors.iter().filter(|e| e.recipe == r.name).count(),
            unchecked: out
                .unchecked
                .iter()
                .filter(|u| u.recipe == r.name)
                .filter_map(|u| u.file.as_deref())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            files: std::mem::take(&mut files_of[i]).into_iter().collect(),
            applied: applied[i],
        })
        .collect();
    out
}

/// Per recipe: whether some document passed the `match`es of one of its file rules. A
/// recipe all of whose file rules have a `match` that no document passed applied to nothing
/// (text rules, rules without `match`, and files to be created always apply).
fn recipes_applied(
    recipes: &RecipeSet,
    probes: &BTreeMap<(usize, String, String), Probe>,
) -> Vec<bool> {
    recipes
        .recipes
        .iter()
        .enumerate()
        .map(|(ri, recipe)| {
            let unmatched = |f: &FileRule| {
                probes.iter().any(|((pri, _, _), p)| {
                    *pri == ri
                        && p.matched == 0
                        && p.what.starts_with("document with ")
                        && origin_within(&f.origin, &p.origin, recipe)
                })
            };
            !recipe.texts.is_empty()
                || recipe.files.is_empty()
                || !recipe.files.iter().all(unmatched)
        })
        .collect()
}

/// Render verification of the verified changes: a refused chart's files leave the changes
/// and join the errors.
fn verify_renders(
    root: &Path,
    out: &mut Outcome,
    files_of: &[std::collections::BTreeSet<String>],
    opts: &RunOptions,
) {
    let named = files_of.iter().flatten().cloned().collect();
    // A refused chart keeps the edits that verify without the ones to blame.
    let (v, kept) = narrow::verify(
        root,
        std::mem::take(&mut out.changes),
        &named,
        opts.render,
        opts.helm.as_deref(),
    );
    out.changes = kept;
    out.errors.extend(v.errors);
    out.errors.extend(v.refused);
    out.renders = v.charts;
    out.render_skipped = v.skipped;
}

/// Whether `origin` lies inside the file rule starting at `rule_origin` (same file, later line,
/// before the next rule of the recipe).
fn origin_within(rule_origin: &Origin, origin: &Origin, recipe: &Recipe) -> bool {
    if rule_origin.file != origin.file || origin.line < rule_origin.line {
        return false;
    }
    let next = recipe
        .files
        .iter()
        .map(|f| f.origin.line)
        .filter(|l| *l > rule_origin.line)
        .min();
    next.is_none_or(|n| origin.line < n)
}

fn nearest_miss(probe: &Probe) -> String {
    let what = probe.what.as_str();
    let seen = closest(&probe.seen, &probe.wanted);
    if let Some(rest) = what.strip_prefix("document with ") {
        let key = rest
            .split(" == ")
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("value");
        if seen.is_empty() {
            return format!("no document with {rest}; no document has {key}");
        }
        return format!("no document with {rest}; {key}s seen: {seen}");
    }
    if what.starts_with("when ") {
        return if seen.is_empty() {
            format!("`{what}` held for no node")
        } else {
            format!("`{what}` held for no node; values seen: {seen}")
        };
    }
    if seen.is_empty() {
        format!("{what} matched nothing")
    } else {
        format!("{what} matched nothing; nearest: {seen}")
    }
}

/// At most five of `seen`, closest to `wanted` first (edit distance to the entry or to its
/// label in a `job: label` entry; one that starts with what was asked comes first), then
/// "… and N more".
fn closest(seen: &[String], wanted: &[String]) -> String {
    const SHOWN: usize = 5;
    let distance = |s: &str| {
        let label = s.split_once(": ").map_or(s, |(_, l)| l);
        wanted
            .iter()
            .flat_map(|w| {
                [s, label].map(|t| {
                    if t.starts_with(w.as_str()) {
                        0
                    } else {
                        strsim::levenshtein(w, t)
                    }
                })
            })
            .min()
            .unwrap_or(0)
    };
    let mut ranked: Vec<(usize, usize, &str)> = seen
        .iter()
        .enumerate()
        .map(|(i, s)| (distance(s), i, s.as_str()))
        .collect();
    ranked.sort_unstable();
    let mut out = ranked
        .iter()
        .take(SHOWN)
        .map(|r| r.2)
        .collect::<Vec<_>>()
        .join(", ");
    if seen.len() > SHOWN {
        out.push_str(&format!(" … and {} more", seen.len() - SHOWN));
    }
    out
}

pub(crate) struct FileResult {
    pub(crate) change: Option<FileChange>,
    pub(crate) errors: Vec<Finding>,
    pub(crate) warnings: Vec<Finding>,
    pub(crate) probes: Vec<(usize, Probe)>,
    /// Rules that could not see all of this file ([`unseen`]): never "holds" here.
    pub(crate) unchecked: Vec<Finding>,
}

/// A file loaded and planned, before edit and verify.
pub(crate) struct Prepared {
    pub(crate) path: String,
    pub(crate) rules: Vec<(usize, usize)>,
    pub(crate) doc: Option<Document>,
    pub(crate) created: bool,
    pub(crate) ops: Vec<(usize, Vec<PlannedOp>)>,
    /// Ops of this template that land in its values file.
    pub(crate) values_edits: Vec<plan::route::ValuesEdit>,
    /// The values this template renders with, for the idempotence re-plan: after
    /// `land_values_edits`, the values as they will be once written.
    pub(crate) view: Option<plan::view::ValuesView>,
    /// Refusals of some recipes here that leave the others' edits of this file standing
    /// (`res.errors` refuses the whole file): reported with the outcome, never block it.
    pub(crate) recipe_refusals: Vec<Finding>,
    pub(crate) res: FileResult,
}

fn prepare_file(
    root: &Path,
    path: &str,
    rules: &[(usize, usize)],
    creatable: bool,
    recipes: &RecipeSet,
    view: Option<&plan::view::ValuesView>,
) -> Prepared {
    let mut p = Prepared {
        path: path.to_string(),
        rules: rules.to_vec(),
        doc: None,
        created: false,
        ops: Vec::new(),
        values_edits: Vec::new(),
        view: view.cloned(),
        recipe_refusals: Vec::new(),
        res: FileResult {
            change: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            probes: Vec::new(),
            unchecked: Vec::new(),
        },
    };
    let first = &recipes.recipes[rules[0].0];
    let origin = &first.files[rules[0].1].origin;
    let (doc, created) = match load(root, path, creatable) {
        Ok(d) => d,
        Err(msg) => {
            p.res
                .errors
                .push(Finding::new(first, origin, Some(path), msg));
            return p;
        }
    };
    let RulePlan {
        ops,
        mut errors,
        mut probes,
        unchecked,
        mut values_edits,
    } = plan_rules(&doc, rules, recipes, view);
    // The chart's `ci/*.yaml` scenarios: values edits of what renders only there.
    if let Some(v) = view.filter(|v| !v.scenarios.is_empty()) {
        let more = chart_values::plan_scenarios(
            &doc,
            rules,
            recipes,
            v,
            &mut values_edits,
            &mut probes,
            &errors,
        );
        errors.extend(more);
    }
    p.res.unchecked = unchecked
        .into_iter()
        .map(|(ri, o, m)| Finding::new(&recipes.recipes[ri], &o, Some(path), m))
        .collect();
    p.res.warnings = workflow_warnings(&doc)
        .into_iter()
        .map(|m| Finding::new(first, origin, Some(path), m))
        .collect();
    p.res.probes = probes;
    p.created = created;
    p.doc = Some(doc);
    let (ops, values_edits) = if errors.is_empty() {
        (ops, values_edits)
    } else {
        // A recipe that cannot be planned here loses all of its edits of this file (ops and
        // values edits); the other recipes' edits stand on their own (recipes are independent
        // statements), and are verified and re-planned as usual; the safety of their values
        // edits is decided across the chart's templates, in `land_values_edits`.
        let refused: HashSet<&str> = errors
            .iter()
            .map(|(ri, _, _)| recipes.recipes[*ri].name.as_str())
            .collect();
        let findings = errors
            .into_iter()
            .map(|(ri, o, m)| Finding::new(&recipes.recipes[ri], &o, Some(path), m));
        let mut rest = ops;
        for (_, o) in rest.iter_mut() {
            o.retain(|op| !refused.contains(&*op.recipe));
        }
        let mut values_edits = values_edits;
        values_edits.retain(|e| !refused.contains(&*e.recipe));
        let left = rest.iter().any(|(_, o)| !o.is_empty()) || !values_edits.is_empty();
        if !left {
            p.res.errors.extend(findings);
            return p;
        }
        p.recipe_refusals.extend(findings);
        (rest, values_edits)
    };
    // A template whose own edits will be refused must not land its values edits either (the
    // values file would be written with half of the recipe): try them now.
    if let Some(doc) = &p.doc
        && !values_edits.is_empty()
        && ops.iter().any(|(_, o)| !o.is_empty())
    {
        let refused = match edit::edit(doc, &ops) {
            Ok(e) => edit::verify::verify_edited(doc, &e, &ops).err(),
            Err(r) => Some(r),
        };
        if let Some(r) = refused {
            let blamed = ops
                .iter()
                .flat_map(|(_, o)| o)
                .filter(|o| r.pointer.starts_with(o.path()) || o.path().starts_with(&r.pointer))
                .max_by_key(|o| o.path().len())
                .or(ops.iter().flat_map(|(_, o)| o).next());
            let (recipe, at) = match blamed {
                Some(o) => (o.recipe.to_string(), o.origin.to_string()),
                None => (first.name.clone(), origin.to_string()),
            };
            p.res.errors.push(Finding {
                recipe,
                origin: at,
                file: Some(path.to_string()),
                message: doc.masked.as_ref().map_or_else(
                    || r.to_string(),
                    |m| m.name_placeholders(&doc.text, &r.to_string()),
                ),
            });
            return p;
        }
    }
    p.ops = ops;
    p.values_edits = values_edits;
    p
}

/// Reads and parses one target file (`created` when it did not exist and may be created).
pub(crate) fn load(root: &Path, path: &str, creatable: bool) -> Result<(Document, bool), String> {
    let full = root.join(path);
    let (text, created) = match std::fs::read(&full) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => (t, false),
            Err(e) => {
                return Err(format!(
                    "is not UTF-8 text (invalid byte at offset {}); patcher edits YAML and text files only",
                    e.utf8_error().valid_up_to()
                ));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && creatable => (String::new(), true),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let kind = FileKind::detect(root, Path::new(path));
    Document::parse(path, text, kind)
        .map(|d| (d, created))
        .map_err(|e| e.to_string())
}

/// Edits, verifies and re-plans one prepared file.
fn finish_file(p: &Prepared, recipes: &RecipeSet) -> FileResult {
    let mut res = FileResult {
        change: None,
        errors: p
            .res
            .errors
            .iter()
            .chain(&p.recipe_refusals)
            .cloned()
            .collect(),
        warnings: p.res.warnings.clone(),
        probes: p.res.probes.clone(),
        unchecked: p.res.unchecked.clone(),
    };
    let Some(doc) = &p.doc else { return res };
    let path = p.path.as_str();
    let rules = &p.rules[..];
    let ops = &p.ops;
    if !p.res.errors.is_empty() || ops.iter().all(|(_, o)| o.is_empty()) {
        return res;
    }
    let origin = rules
        .first()
        .map(|&(ri, fi)| recipes.recipes[ri].files[fi].origin.to_string())
        .unwrap_or_default();
    let refusal_finding = |r: Refusal| {
        // Blame the op whose path leads to the refused node (else the first op).
        let all: Vec<&PlannedOp> = ops.iter().flat_map(|(_, o)| o).collect();
        let blamed = all
            .iter()
            .filter(|o| {
                !r.pointer.is_empty()
                    && (r.pointer.starts_with(o.path()) || o.path().starts_with(&r.pointer))
            })
            .max_by_key(|o| o.path().len())
            .or(all.first());
        let recipe = blamed.map(|o| o.recipe.to_string()).unwrap_or_default();
        let origin = blamed
            .map(|o| o.origin.to_string())
            .unwrap_or_else(|| origin.clone());
        let message = match &doc.masked {
            Some(m) => m.name_placeholders(&doc.text, &r.to_string()),
            None => r.to_string(),
        };
        Finding {
            recipe,
            origin,
            file: Some(path.to_string()),
            message,
        }
    };
    let edited = match edit::edit(doc, ops) {
        Ok(e) => e,
        Err(r) => {
            res.errors.push(refusal_finding(r));
            return res;
        }
    };
    let new_doc = match edit::verify::verify_edited(doc, &edited, ops) {
        Ok(d) => d,
        Err(r) => {
            res.errors.push(refusal_finding(r));
            return res;
        }
    };
    // Idempotence: the recipes must hold on the new text (a template: with the new values),
    // except those refused here, whose edits were left out.
    let mut again = plan_rules(&new_doc, rules, recipes, p.view.as_ref());
    if let Some(v) = p.view.as_ref().filter(|v| !v.scenarios.is_empty()) {
        chart_values::plan_scenarios(
            &new_doc,
            rules,
            recipes,
            v,
            &mut again.values_edits,
            &mut again.probes,
            &again.errors,
        );
    }
    let refused: HashSet<&str> = p
        .recipe_refusals
        .iter()
        .map(|f| f.recipe.as_str())
        .collect();
    let still = again
        .ops
        .iter()
        .flat_map(|(_, o)| o)
        .map(|o| (o.recipe.to_string(), o.path().to_string()))
        .chain(
            again
                .values_edits
                .iter()
                .map(|e| (e.recipe.to_string(), e.via.pointer.clone())),
        )
        .find(|(r, _)| !refused.contains(r.as_str()));
    if let Some((recipe, pointer)) = still {
        res.errors.push(refusal_finding(Refusal {
            path: PathBuf::from(path),
            line: None,
            pointer: pointer.clone(),
            message: format!(
                "after the edit, recipe `{recipe}` would still change {pointer}: the plan does not converge"
            ),
        }));
        return res;
    }
    let sites = ops.iter().map(|(i, o)| op_sites(doc, *i, o)).collect();
    res.change = Some(FileChange {
        path: path.to_string(),
        old_text: doc.text.clone(),
        new_text: edited.text,
        created: p.created,
        docs: ops.clone(),
        sites,
        text_ops: Vec::new(),
    });
    res
}

/// Shell bugs already present in a workflow: a comment after a `\` continuation in a `run:`
/// script, or a `#` comment inside a folded (`>`) `with:` value passed as arguments.
fn workflow_warnings(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    for ydoc in &doc.docs {
        let Some(Value::Object(jobs)) = ydoc.model.get("jobs") else {
            continue;
        };
        for (job, j) in jobs {
            let Some(Value::Array(steps)) = j.get("steps") else {
                continue;
            };
            for (i, step) in steps.iter().enumerate() {
                let base = ["jobs", job.as_str(), "steps", &i.to_string()].map(str::to_string);
                let mut check = |rel: &[&str], script: &str, folded: bool| {
                    let mut keys = base.to_vec();
                    keys.extend(rel.iter().map(|k| k.to_string()));
                    let Some(id) = ydoc.tree.lookup(&keys) else {
                        return;
                    };
                    let node = ydoc.tree.node(id);
                    let (line, _) = doc.line_col(node.start);
                    // Block scalars start on the line after their `|`/`>` header.
                    let block = matches!(
                        node.kind,
                        crate::doc::NodeKind::Scalar {
                            style: crate::doc::ScalarStyle::Literal
                                | crate::doc::ScalarStyle::Folded
                        }
                    );
                    for w in crate::shell::lint(script, folded) {
                        let at = line + w.line - usize::from(!block);
                        out.push(format!(
                            "line {at}: {} (in {})",
                            w.message,
                            crate::pointer::to_pointer(&keys)
                        ));
                    }
                };
                if let Some(Value::String(script)) = step.get("run") {
                    check(&["run"], script, false);
                }
                if let Some(Value::Object(with)) = step.get("with") {
                    for (k, v) in with {
                        let Value::String(text) = v else { continue };
                        let mut keys = base.to_vec();
                        keys.extend(["with".to_string(), k.clone()]);
                        let folded = ydoc.tree.lookup(&keys).is_some_and(|id| {
                            matches!(
                                ydoc.tree.node(id).kind,
                                crate::doc::NodeKind::Scalar {
                                    style: crate::doc::ScalarStyle::Folded
                                }
                            )
                        });
                        if folded && let Some(id) = ydoc.tree.lookup(&keys) {
                            // Lint the lines as written: folding has already turned them into
                            // one line in the model.
                            let node = ydoc.tree.node(id);
                            let first = doc.line_of(node.start) + 1;
                            let last = doc.line_of(node.end.saturating_sub(1));
                            let raw: Vec<&str> = (first..=last)
                                .map(|l| doc.line_text(l).trim_start())
                                .collect();
                            let _ = text;
                            check(&["with", k.as_str()], &raw.join("\n"), true);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Plans, applies and verifies the `text` rules that name one file.
fn plan_text_file(
    root: &Path,
    path: &str,
    rules: &[(usize, usize)],
    recipes: &RecipeSet,
) -> Result<Option<FileChange>, Finding> {
    let (ri0, ti0) = rules[0];
    let first = &recipes.recipes[ri0];
    let fail = |recipe: &Recipe, origin: &Origin, msg: String| {
        Finding::new(recipe, origin, Some(path), msg)
    };
    let bytes = std::fs::read(root.join(path))
        .map_err(|e| fail(first, &first.texts[ti0].origin, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            first,
            &first.texts[ti0].origin,
            "is not UTF-8 text; `text` edits need UTF-8".into(),
        )
    })?;
    let mut changes = Vec::new();
    for &(ri, ti) in rules {
        let recipe = &recipes.recipes[ri];
        let planned = edit::text::plan(&text, &recipe.texts[ti].edits)
            .map_err(|(o, m)| fail(recipe, &o, m))?;
        changes.extend(
            planned
                .into_iter()
                .map(|c| (Arc::<str>::from(recipe.name.as_str()), c)),
        );
    }
    if changes.is_empty() {
        return Ok(None);
    }
    changes.sort_by_key(|(_, c)| (c.splice.start, c.splice.end));
    let splices: Vec<edit::Splice> = changes.iter().map(|(_, c)| c.splice.clone()).collect();
    if splices.windows(2).any(|w| w[0].end > w[1].start) {
        return Err(fail(
            first,
            &first.texts[ti0].origin,
            "two text edits overlap".into(),
        ));
    }
    let new_text = edit::apply_splices(&text, &splices);
    edit::verify::check_untouched_bytes(&text, &new_text, &splices)
        .map_err(|m| fail(first, &first.texts[ti0].origin, m))?;
    // Idempotence, as for YAML: every edit must hold on the new text.
    for &(ri, ti) in rules {
        let recipe = &recipes.recipes[ri];
        match edit::text::plan(&new_text, &recipe.texts[ti].edits) {
            Ok(again) if again.is_empty() => {}
            Ok(again) => {
                let msg = format!(
                    "after the edit, `{}` would still apply: the text edits do not converge",
                    again[0].summary
                );
                return Err(fail(recipe, &again[0].origin, msg));
            }
            Err((o, m)) => return Err(fail(recipe, &o, format!("after the edit: {m}"))),
        }
    }
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let text_ops = changes
        .into_iter()
        .map(|(recipe, c)| TextOp {
            recipe,
            origin: c.origin,
            summary: c.summary,
            line: line_of(c.splice.start),
        })
        .collect();
    Ok(Some(FileChange {
        path: path.to_string(),
        old_text: text,
        new_text,
        created: false,
        docs: Vec::new(),
        sites: Vec::new(),
        text_ops,
    }))
}

/// What planning all of a file's rules produced; `usize` is the recipe index.
#[derive(Default)]
pub(crate) struct RulePlan {
    ops: Vec<(usize, Vec<PlannedOp>)>,
    errors: Vec<(usize, Origin, String)>,
    probes: Vec<(usize, Probe)>,
    /// Selectors that reach into template output the view did not follow ([`unseen`]).
    unchecked: Vec<(usize, Origin, String)>,
    /// Ops on values-fed nodes of a template, moved to the values file.
    values_edits: Vec<plan::route::ValuesEdit>,
}

/// Plans all rules that name this file against each of its documents, in recipe order; each
/// rule sees the effect of the ones before it. A template with a `view` is planned as it
/// renders with those values, and ops on values-fed nodes become values edits.
fn plan_rules(
    doc: &Document,
    rules: &[(usize, usize)],
    recipes: &RecipeSet,
    view: Option<&plan::view::ValuesView>,
) -> RulePlan {
    match view {
        // Conditions on what the chart's simple defines print are read with them.
        Some(v) => crate::doc::template::branches::with_define_outputs(&v.outputs, || {
            plan_rules_in(doc, rules, recipes, view)
        }),
        None => plan_rules_in(doc, rules, recipes, view),
    }
}

fn plan_rules_in(
    doc: &Document,
    rules: &[(usize, usize)],
    recipes: &RecipeSet,
    view: Option<&plan::view::ValuesView>,
) -> RulePlan {
    // Borrowed until a rule changes one (a re-plan of an edited file changes none).
    let mut models: Vec<Cow<Value>> = doc.docs.iter().map(|d| Cow::Borrowed(&d.model)).collect();
    if models.is_empty() {
        models.push(Cow::Owned(Value::Null));
    }
    // Per document a rule reaches: what renders (values reads, included defines, `else`
    // literals). Most documents of a chart are not what a `match` names: their reads are
    // not computed (they would not change what the `match` sees).
    let renderings: Vec<Option<plan::includes::Rendering>> = match view {
        Some(v) => (0..models.len())
            .map(|i| {
                let reached = rules.iter().any(|&(ri, fi)| {
                    let rule = &recipes.recipes[ri].files[fi];
                    view_may_change_matches(doc, i, rule)
                        || plan::document_matches(rule, &models[i]).0
                });
                reached.then(|| plan::route::prepare(doc, i, models[i].to_mut(), v))
            })
            .collect(),
        None => Vec::new(),
    };
    let mut ops: Vec<(usize, Vec<PlannedOp>)> =
        (0..models.len()).map(|i| (i, Vec::new())).collect();
    let mut errors = Vec::new();
    let mut probes = Vec::new();
    let mut unchecked = Vec::new();
    // Per document, found when a rule first reaches it (templates only).
    let mut unseen: Vec<Option<Option<unseen::Unseen>>> = (0..models.len()).map(|_| None).collect();
    for &(ri, fi) in rules {
        let recipe = &recipes.recipes[ri];
        let rule: &FileRule = &recipe.files[fi];
        let name: Arc<str> = Arc::from(recipe.name.as_str());
        for (di, model) in models.iter_mut().enumerate() {
            let (ok, p) = plan::document_matches(rule, model);
            probes.extend(p.into_iter().map(|p| (ri, p)));
            let u: &Option<unseen::Unseen> = unseen[di].get_or_insert_with(|| {
                unseen::Unseen::find(
                    doc,
                    di,
                    model,
                    view,
                    renderings.get(di).and_then(Option::as_ref),
                )
            });
            if let Some(u) = u {
                unchecked.extend(u.reached(rule, model).into_iter().map(|(o, m)| (ri, o, m)));
            }
            if !ok {
                continue;
            }
            // Edited scripts are checked by `bash -n` side by side, not one after another; if
            // one fails, the document is planned again with the (remembered) answers.
            let plan_doc = || plan::plan_document(&name, rule, model, &BashCheck);
            let mut dp = with_deferred_checks(plan_doc).unwrap_or_else(plan_doc);
            // A key added beside one a mid-line `if`/`else` chooses may be that very key.
            if let Some(u) = u {
                let blocked: Vec<(Origin, String)> = dp
                    .ops
                    .iter()
                    .filter(|o| matches!(o.op, json_patch::PatchOperation::Add(_)))
                    .filter_map(|o| {
                        let keys = crate::pointer::pointer_keys(o.path());
                        let why = u.unknown_key_at(model, &keys)?;
                        Some((
                            o.origin.clone(),
                            format!("{} cannot be planned: {why}; change it by hand", o.path()),
                        ))
                    })
                    .collect();
                if !blocked.is_empty() {
                    errors.extend(blocked.into_iter().map(|(o, m)| (ri, o, m)));
                    dp.ops.clear();
                    dp.model = None;
                }
            }
            if let Some(r) = renderings.get(di).and_then(Option::as_ref) {
                let unseen = plan::includes::unread_misses(r, &dp.probes);
                errors.extend(unseen.into_iter().map(|(o, m)| (ri, o, m)));
            }
            probes.extend(dp.probes.into_iter().map(|p| (ri, p)));
            let explain = |m: String| match (view, renderings.get(di).and_then(Option::as_ref)) {
                (Some(v), Some(r)) => plan::view::explain_placeholder(m, &r.sources, &v.model),
                _ => m,
            };
            errors.extend(dp.errors.into_iter().map(|(o, m)| (ri, o, explain(m))));
            // The planner applied each op as it planned it: the next rule sees its model.
            if let Some(m) = dp.model {
                *model = Cow::Owned(m);
                ops[di].1.extend(dp.ops);
            }
        }
    }
    let mut values_edits = Vec::new();
    if let Some(v) = view {
        let template = doc.path.to_string_lossy().replace('\\', "/");
        for (di, doc_ops) in &mut ops {
            let Some(rendering) = renderings.get(*di).and_then(Option::as_ref) else {
                continue;
            };
            let mut kept = Vec::new();
            for op in doc_ops.drain(..) {
                let recipe_of = |op: &PlannedOp| {
                    rules
                        .iter()
                        .map(|&(ri, _)| ri)
                        .find(|&ri| *recipes.recipes[ri].name == *op.recipe)
                        .unwrap_or(0)
                };
                // The editor sees the first branch of an `if`; a node the `else` renders is
                // not there to edit.
                let hidden = renderings.get(*di).and_then(Option::as_ref).and_then(|r| {
                    r.from_else.iter().find(|h| {
                        let p = crate::pointer::to_pointer(&h.pointer).to_string();
                        op.path() == p || op.path().starts_with(&format!("{p}/"))
                    })
                });
                if let Some(h) = hidden {
                    let msg = format!(
                        "{} renders from the `else` branch at line {} (the `if` at line {} is false with these values); patcher does not edit inside `else` branches yet",
                        crate::pointer::to_pointer(&h.pointer),
                        h.else_line,
                        h.if_line
                    );
                    errors.push((recipe_of(&op), op.origin.clone(), msg));
                    continue;
                }
                match plan::route::route(&op, rendering, v, &template, *di) {
                    None => kept.push(op),
                    Some(Ok(edit)) => values_edits.push(edit),
                    // A node whose guard is not provable is unchecked, alone: the recipe's
                    // other nodes keep their edits.
                    Some(Err(msg)) => {
                        let keys = crate::pointer::pointer_keys(op.path());
                        match plan::includes::undecided_guard(rendering, &keys, &v.model, &template)
                        {
                            Some((why, node)) => {
                                // It says why the node is not seen, where the general note
                                // on its unfollowed action (`unseen`) does not.
                                let at = format!("({})", crate::pointer::to_pointer(&node));
                                let ri = recipe_of(&op);
                                unchecked.retain(|(r, o, m)| {
                                    !(*r == ri && *o == op.origin && m.contains(&at))
                                });
                                unchecked.push((ri, op.origin.clone(), why));
                            }
                            None => errors.push((recipe_of(&op), op.origin.clone(), msg)),
                        }
                    }
                }
            }
            *doc_ops = kept;
        }
    }
    ops.retain(|(_, o)| !o.is_empty());
    // Masking's placeholders are its own names: messages name the action instead.
    if let Some(m) = &doc.masked {
        for (_, _, msg) in errors.iter_mut().chain(unchecked.iter_mut()) {
            *msg = m.name_placeholders(&doc.text, msg);
        }
        for v in probes.iter_mut().flat_map(|(_, p)| p.seen.iter_mut()) {
            *v = m.name_placeholders(&doc.text, v);
        }
    }
    RulePlan {
        ops,
        errors,
        probes,
        unchecked,
        values_edits,
    }
}

/// Whether the values view could change what a `match` of `rule` reads in document `index`
/// of a template, so that the document must be viewed before it is matched. No, only when
/// each `match` path is plain keys through mappings, no key on it lies in a template block
/// opened inside the document (no `if` guards it), and the node it ends at holds no template
/// action (no values read, include or block inside); a path that ends at a missing key
/// reads nothing either way. The view only prunes guarded entries and replaces the nodes
/// that actions print, so such a path reads the same before and after it.
fn view_may_change_matches(doc: &Document, index: usize, rule: &FileRule) -> bool {
    let (Some(m), Some(ydoc)) = (&doc.masked, doc.docs.get(index)) else {
        return true;
    };
    let tree = &ydoc.tree;
    let root = tree.node(tree.root);
    let (first, last) = (
        doc.line_of(root.start) + 1,
        doc.line_of(root.end.saturating_sub(1)) + 1,
    );
    // A block around the whole document decides whether it exists, not what it says.
    let inner_block_at = |line: usize| {
        m.open_blocks_at_line(line).iter().any(|&b| {
            let b = &m.blocks[b];
            !(b.open_line <= first && b.end_line.is_none_or(|e| e >= last))
        })
    };
    let action_in = |start: usize, end: usize| {
        let i = m.actions.partition_point(|a| a.span.end <= start);
        m.actions.get(i).is_some_and(|a| a.span.start < end)
    };
    rule.matches.iter().any(|mt| {
        let mut id = tree.root;
        for seg in &mt.path.segments {
            let crate::path::Segment::Key(key) = seg else {
                return true;
            };
            let crate::doc::NodeKind::Mapping { entries, .. } = &tree.node(id).kind else {
                return true;
            };
            if entries.iter().any(|e| e.key == "<<") {
                return true;
            }
            let Some(e) = entries.iter().rev().find(|e| e.key == *key) else {
                return false;
            };
            if inner_block_at(doc.line_of(e.key_span.0) + 1) {
                return true;
            }
            id = e.value;
        }
        let node = tree.node(id);
        node.start == node.end || action_in(node.start, node.end)
    })
}
