//! The engine's values stage: which values each chart template renders with, and landing
//! the templates' values edits in the values files (after the safety check that no other
//! read of the same values path sees the change).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::doc::template::{Masked, reads};
use crate::doc::{Document, FileKind, chart_of};
use crate::finding::Finding;
use crate::plan;
use crate::plan::route::{self, ValuesEdit};
use crate::plan::view::{self, DefineBody, ParsedDefine, ValuesView};
use crate::recipe::RecipeSet;

use super::{FileResult, Prepared, load};

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

/// What a chart's template files say about values: every read of a values path in its
/// `templates/` (helpers included), its named templates and those of its dependencies
/// (`charts/*/templates/`), and every `include` in its own templates.
struct ChartScan {
    reads: Vec<reads::Read>,
    lines: plan::guards::ChartLines,
    defines: HashMap<String, ParsedDefine>,
    includes: Vec<reads::IncludeSite>,
    outputs: HashMap<String, reads::Cond>,
}

fn chart_scan(root: &Path, chart: &str) -> ChartScan {
    let mut scan = ChartScan {
        reads: Vec::new(),
        lines: Default::default(),
        defines: HashMap::new(),
        includes: Vec::new(),
        outputs: HashMap::new(),
    };
    let mut dep_defines = Vec::new();
    let mut bodies: HashMap<String, reads::Define> = HashMap::new();
    let mut dict_includes: Vec<(String, reads::Binding, String, usize)> = Vec::new();
    let (mut own_defines, mut dep_includes) = (Vec::new(), Vec::new());
    for_each_template(root, &root.join(chart).join("templates"), |rel, m, text| {
        let (file_reads, sites) = (
            reads::reads(rel, m, text),
            reads::include_sites(rel, m, text),
        );
        let lines = file_reads
            .iter()
            .map(|r| r.line)
            .chain(sites.iter().map(|s| s.line));
        let mut facts = plan::guards::FileFacts::new(m, text);
        for line in lines {
            scan.lines
                .entry((rel.to_string(), line))
                .or_insert_with(|| facts.line(line, None));
        }
        scan.reads.extend(file_reads);
        scan.includes.extend(sites);
        dict_includes.extend(
            reads::dict_includes(m, text)
                .into_iter()
                .map(|(n, b, o)| (n, b, rel.to_string(), o)),
        );
        for (name, out) in crate::doc::template::branches::simple_define_outputs(m, text) {
            scan.outputs.entry(name).or_insert(out);
        }
        let defines = reads::defines(rel, m, text);
        for d in &defines {
            bodies.entry(d.name.clone()).or_insert_with(|| d.clone());
        }
        own_defines.extend(defines);
    });
    // A condition on what a simple define prints is known only once every define is read:
    // the lines of the (few) files with a condition not known without them, again.
    if !scan.outputs.is_empty() {
        let unknown = |f: &plan::guards::LineFacts| {
            let err = |b: &crate::doc::template::branches::Branch| {
                b.chain.iter().any(|c| matches!(c, Some(Err(_))))
            };
            f.branches.iter().any(err) || f.decides.as_ref().is_some_and(|(b, _)| err(b))
        };
        let mut again: Vec<String> = scan
            .lines
            .iter()
            .filter(|(_, f)| unknown(f))
            .map(|((file, _), _)| file.clone())
            .collect();
        again.sort_unstable();
        again.dedup();
        let outputs = Arc::new(std::mem::take(&mut scan.outputs));
        for file in again {
            let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
                continue;
            };
            let Ok(m) = crate::doc::template::mask(&text) else {
                continue;
            };
            crate::doc::template::branches::with_define_outputs(&outputs, || {
                for ((f, line), facts) in scan.lines.iter_mut() {
                    if *f == file {
                        *facts = plan::guards::line_facts(&m, &text, *line, None);
                    }
                }
            });
        }
        scan.outputs = Arc::try_unwrap(outputs).unwrap_or_else(|a| (*a).clone());
    }
    if let Ok(deps) = std::fs::read_dir(root.join(chart).join("charts")) {
        let mut deps: Vec<_> = deps.flatten().map(|e| e.path()).collect();
        deps.sort();
        for dep in deps.iter().filter(|d| d.is_dir()) {
            for_each_template(root, &dep.join("templates"), |rel, m, text| {
                dep_defines.extend(reads::defines(rel, m, text));
                dep_includes.extend(
                    reads::include_sites(rel, m, text)
                        .into_iter()
                        .map(|s| s.name),
                );
            });
        }
    }
    // A define included with a `dict` reads the paths the dict passes: its reads, bound.
    for d in &dep_defines {
        bodies.entry(d.name.clone()).or_insert_with(|| d.clone());
    }
    for (name, binding, file, offset) in &dict_includes {
        if let Some(d) = bodies.get(name)
            && let Ok(m) = crate::doc::template::mask(&d.body)
        {
            let bound = reads::with_binding(binding, || reads::reads(&d.file, &m, &d.body));
            scan.reads.extend(bound.into_iter().map(|mut r| {
                r.through = Some((file.clone(), *offset));
                r
            }));
        }
    }
    // Only a define that something includes (in the chart or its dependencies, define
    // bodies included) is ever spliced in: only those bodies are parsed.
    let included: HashSet<String> = (scan.includes.iter().map(|i| i.name.clone()))
        .chain(dep_includes)
        .collect();
    let parse = |d: reads::Define| match included.contains(&d.name) {
        true => parse_define(d),
        false => ParsedDefine {
            body: Err("its body is not read: nothing in the chart includes it".into()),
            name: d.name,
            file: d.file,
            line: d.line,
        },
    };
    for d in own_defines {
        scan.defines
            .entry(d.name.clone())
            .or_insert_with(|| parse(d));
    }
    // A dependency's define reads the chart's values where the chart includes it.
    for d in dep_defines {
        if scan.defines.contains_key(&d.name) {
            continue;
        }
        if scan.includes.iter().any(|i| i.name == d.name)
            && let Ok(m) = crate::doc::template::mask(&d.body)
        {
            let dep_reads = reads::reads(&d.file, &m, &d.body);
            let mut facts = plan::guards::FileFacts::new(&m, &d.body);
            for r in &dep_reads {
                scan.lines
                    .entry((d.file.clone(), r.line))
                    .or_insert_with(|| facts.line(r.line, Some(&d.name)));
            }
            scan.reads.extend(dep_reads);
        }
        scan.defines.insert(d.name.clone(), parse(d));
    }
    // Conditions that test what a define prints (`if (include "x.secretName" $)`), now
    // that the defines are known.
    for f in scan.lines.values_mut() {
        plan::includes::resolve_branches(&mut f.branches, &scan.defines);
        if let Some((b, _)) = &mut f.decides {
            plan::includes::resolve_branches(std::slice::from_mut(b), &scan.defines);
        }
    }
    scan
}

/// A define's body as a template fragment: its model, values reads and guarded entries.
fn parse_define(d: reads::Define) -> ParsedDefine {
    let trims = d.trims;
    let body = Document::parse(&d.file, d.body, FileKind::HelmTemplate)
        .map_err(|e| {
            format!(
                "its body is not YAML ({}:{}: {})",
                d.file, e.line, e.message
            )
        })
        .map(|doc| {
            let sources = reads::sources(&doc, 0)
                .into_iter()
                .map(|mut s| {
                    s.file = Some(d.file.clone());
                    s
                })
                .collect();
            DefineBody {
                model: doc.models().into_iter().next().unwrap_or(Value::Null),
                sources,
                guards: reads::guards(&doc, 0),
                doc: Arc::new(doc),
                trims,
            }
        });
    ParsedDefine {
        name: d.name,
        file: d.file,
        line: d.line,
        body,
    }
}

/// Calls `f` with (path relative to the root, masked text, text) of every file under `dir`.
fn for_each_template(root: &Path, dir: &Path, mut f: impl FnMut(&str, &Masked, &str)) {
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let Ok(m) = crate::doc::template::mask(&text) else {
                continue;
            };
            let rel = p
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            f(&rel, &m, &text);
        }
    }
}

fn model_of(root: &Path, path: &str) -> Result<Value, String> {
    match load(root, path, true) {
        Ok((doc, _)) => Ok(doc.models().into_iter().next().unwrap_or(Value::Null)),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

/// The chart-testing scenarios of `chart` (its `ci/*.yaml` and `.yml` files, by name, as
/// render verification renders them), each merged over `base`; a file that sets nothing
/// `values.yaml` does not already hold renders as the defaults do and is left out. A file
/// that is not YAML is an error naming it.
fn scenarios(root: &Path, chart: &str, base: &Value) -> Result<Vec<Arc<view::Scenario>>, String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(chart).join("ci"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let name = format!("ci/{n}");
        let file = join(chart, &name);
        let overlay = model_of(root, &file).map_err(|e| {
            format!(
                "chart-testing scenario {e}; fix it (helm cannot render the chart with it either)"
            )
        })?;
        let model = view::merge_values(base, &overlay);
        if model == *base {
            continue;
        }
        out.push(Arc::new(view::Scenario {
            file,
            name,
            overlay,
            model: Arc::new(model),
        }));
    }
    Ok(out)
}

/// The values each chart template of `jobs` renders with (by template path). A chart with no
/// `values.yaml` and no `values=` override gets none: its templates are planned as today.
pub(super) fn views(
    root: &Path,
    jobs: &[(String, Vec<(usize, usize)>)],
    recipes: &RecipeSet,
    threads: usize,
) -> (HashMap<String, Arc<ValuesView>>, Vec<Finding>) {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    let mut cache: HashMap<(String, String), Option<Arc<ValuesView>>> = HashMap::new();
    // Each chart's templates are read and masked once, the charts side by side (a chart
    // without values.yaml may get no view: it is scanned below if it does).
    let mut charts: Vec<String> = jobs
        .iter()
        .filter(|(p, _)| FileKind::detect(root, Path::new(p)) == FileKind::HelmTemplate)
        .filter_map(|(p, _)| chart_of(root, p))
        .filter(|c| root.join(c).join("values.yaml").is_file())
        .collect();
    charts.sort_unstable();
    charts.dedup();
    let scanned = crate::parallel::map(threads, &charts, |c| chart_scan(root, c));
    let mut scans: HashMap<String, ChartScan> = charts.into_iter().zip(scanned).collect();
    for (path, rules) in jobs {
        if FileKind::detect(root, Path::new(path)) != FileKind::HelmTemplate {
            continue;
        }
        let Some(chart) = chart_of(root, path) else {
            continue;
        };
        let mut overrides: Vec<&str> = rules
            .iter()
            .filter_map(|&(ri, fi)| recipes.recipes[ri].files[fi].values.as_deref())
            .collect();
        overrides.sort_unstable();
        overrides.dedup();
        if overrides.len() > 1 {
            let (ri, fi) = rules[0];
            let recipe = &recipes.recipes[ri];
            errors.push(Finding::new(
                recipe,
                &recipe.files[fi].origin,
                Some(path),
                format!(
                    "the recipes aim this template's values edits at different files ({}); name one `values=` file",
                    overrides.join(", ")
                ),
            ));
            continue;
        }
        if let Some(o) = overrides.first()
            && (Path::new(o).is_absolute()
                || Path::new(o)
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir)))
        {
            let (ri, fi) = rules[0];
            let recipe = &recipes.recipes[ri];
            errors.push(Finding::new(
                recipe,
                &recipe.files[fi].origin,
                Some(path),
                format!("values=\"{o}\" must be a path inside the root, without `..`"),
            ));
            continue;
        }
        let base_path = join(&chart, "values.yaml");
        let target = overrides
            .first()
            .map_or(base_path.clone(), |o| o.to_string());
        let key = (chart.clone(), target.clone());
        let view = cache.entry(key).or_insert_with(|| {
            let base = if root.join(&base_path).is_file() {
                model_of(root, &base_path).ok()?
            } else if target != base_path {
                Value::Null
            } else {
                return None;
            };
            let over = if target == base_path {
                Value::Null
            } else {
                model_of(root, &target).ok()?
            };
            let chart_path = Path::new(&chart);
            let subchart = chart_path.ancestors().skip(1).any(|a| {
                a.file_name().is_some_and(|n| n == "charts")
                    && a.parent()
                        .is_some_and(|p| root.join(p).join("Chart.yaml").is_file())
            });
            let scan = scans
                .remove(&chart)
                .unwrap_or_else(|| chart_scan(root, &chart));
            // The chart-testing scenarios, when the templates render with values.yaml: a
            // `values=` override is the one scenario its rules name, and a subchart renders
            // with what its parent passes, not its own `ci/` files.
            let scenarios = if target == base_path && !subchart {
                match scenarios(root, &chart, &base) {
                    Ok(s) => s,
                    Err(msg) => {
                        // Named once per chart; its templates are planned with the defaults
                        // (the plan fails on the error, nothing is written).
                        let (ri, fi) = rules[0];
                        let recipe = &recipes.recipes[ri];
                        errors.push(Finding::new(
                            recipe,
                            &recipe.files[fi].origin,
                            Some(path),
                            msg,
                        ));
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            Some(Arc::new(ValuesView {
                scenarios: Arc::new(scenarios),
                scenario: None,
                chart: chart.clone(),
                target: target.clone(),
                model: Arc::new(view::merge_values(&base, &over)),
                base: Arc::new(base),
                reads: Arc::new(scan.reads),
                subchart,
                defines: Arc::new(scan.defines),
                includes: Arc::new(scan.includes),
                lines: Arc::new(scan.lines),
                outputs: Arc::new(scan.outputs),
            }))
        });
        if let Some(v) = view {
            out.insert(path.clone(), v.clone());
        }
    }
    (out, errors)
}

/// Moves the templates' values edits into their values files: refuses (on the template) an
/// edit whose values path another read in the chart also uses, plans the rest as ops on the
/// values file's document (after that file's own rules), and gives each template the values
/// as they will be written, for its idempotence re-plan.
pub(super) fn land_values_edits(
    root: &Path,
    mut prepared: Vec<Prepared>,
    views: &HashMap<String, Arc<ValuesView>>,
    recipes: &RecipeSet,
) -> Vec<Prepared> {
    // Templates parsed to find where an edited value renders in readers the values leave out.
    let mut parsed = super::readers::Parsed::new();
    // Safety, to a fixpoint: dropping one template's edits can leave another's unexempted.
    loop {
        // Each surviving edit's reads (its own, and the includes it passes through): a read
        // that another edit to the same keys with the same value stands for is not another
        // use (two instances of one recipe, a Deployment and a StatefulSet, fixing one shared
        // value); one with another value is, and is named.
        struct Planned<'e> {
            edit: &'e ValuesEdit,
            file: String,
            offset: usize,
        }
        let planned: Vec<Planned> = prepared
            .iter()
            .filter(|p| p.res.errors.is_empty())
            .flat_map(|p| {
                p.values_edits.iter().flat_map(|e| {
                    std::iter::once((e.read_file.clone(), e.offset))
                        .chain(e.through.iter().cloned())
                        .map(move |(file, offset)| Planned {
                            edit: e,
                            file,
                            offset,
                        })
                })
            })
            .collect();
        let same_value = |a: &Option<Value>, b: &Option<Value>| match (a, b) {
            (Some(a), Some(b)) => crate::pointer::values_equal(a, b),
            (a, b) => a == b,
        };
        // Findings are collected first: `planned` borrows the edits.
        let mut refused: Vec<(usize, Finding)> = Vec::new();
        for (pi, p) in prepared.iter().enumerate() {
            if !p.res.errors.is_empty() || p.values_edits.is_empty() {
                continue;
            }
            let Some(view) = views.get(&p.path) else {
                continue;
            };
            for e in &p.values_edits {
                let same: Vec<(String, usize)> = planned
                    .iter()
                    .filter(|q| q.edit.keys == e.keys && same_value(&q.edit.value, &e.value))
                    .map(|q| (q.file.clone(), q.offset))
                    .collect();
                // Readers the defaults leave out render the same value in their own objects,
                // where render verification expects it (`via.also`): not another use in the
                // scenario that renders them.
                let also = super::readers::unrendered(root, e, view, &mut parsed);
                let uses = uses_in_every_scenario(e, view, &same, &also);
                if uses.is_empty() {
                    continue;
                }
                let mut others: Vec<String> = planned
                    .iter()
                    .filter(|q| q.edit.keys == e.keys && !same_value(&q.edit.value, &e.value))
                    .map(|q| {
                        format!(
                            "recipe `{}` sets it to {} for {}",
                            q.edit.recipe,
                            q.edit
                                .value
                                .as_ref()
                                .map_or("nothing".to_string(), crate::pointer::display_value),
                            q.edit.via.template
                        )
                    })
                    .collect();
                others.dedup();
                let recipe = recipes
                    .recipes
                    .iter()
                    .find(|r| *r.name == *e.recipe)
                    .or(recipes.recipes.first());
                let Some(recipe) = recipe else { continue };
                refused.push((
                    pi,
                    Finding::new(
                        recipe,
                        &e.origin,
                        Some(&p.path),
                        format!(
                            "{} is fed by `{}` in {} (read at {}), and that value is also read by {}{}: changing it would change more than the recipe selects; change it by hand",
                            e.via.pointer,
                            e.keys.join("."),
                            e.target,
                            match &e.via.define {
                                None => format!("{}:{}", e.via.template, e.via.line),
                                Some(d) => format!(
                                    "{}:{} in define \"{}\", included at {}:{}",
                                    d.file, d.line, d.name, e.via.template, e.via.line
                                ),
                            },
                            uses.join(", "),
                            if others.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", others.join("; "))
                            }
                        ),
                    ),
                ));
            }
        }
        drop(planned);
        let changed = !refused.is_empty();
        for (pi, f) in refused {
            // The refused recipe loses all of its edits of this template (ops and values
            // edits); the other recipes' edits stand on their own and stay in the fixpoint
            // (a progress deadline next to a probe whose value other templates share).
            let p = &mut prepared[pi];
            p.values_edits.retain(|e| *e.recipe != *f.recipe);
            for (_, ops) in p.ops.iter_mut() {
                ops.retain(|o| *o.recipe != *f.recipe);
            }
            let left = !p.values_edits.is_empty() || p.ops.iter().any(|(_, o)| !o.is_empty());
            if left {
                p.recipe_refusals.push(f);
            } else {
                p.res.errors.push(f);
            }
        }
        if !changed {
            break;
        }
    }
    // Group the surviving edits by values file, in template order.
    let mut by_target: BTreeMap<String, Vec<ValuesEdit>> = BTreeMap::new();
    for p in &prepared {
        if !p.res.errors.is_empty() {
            continue;
        }
        if views.contains_key(&p.path) {
            let view = &views[&p.path];
            // Readers the values do not render are told where the value lands in theirs.
            for e in &p.values_edits {
                let mut e = e.clone();
                e.via.also = super::readers::unrendered(root, &e, view, &mut parsed);
                by_target.entry(e.target.clone()).or_default().push(e);
            }
        }
    }
    let mut new_models: HashMap<String, Value> = HashMap::new();
    for (target, edits) in by_target {
        if edits.is_empty() {
            continue;
        }
        let idx = match prepared.iter().position(|p| p.path == target) {
            Some(i) => i,
            None => {
                let mut p = Prepared {
                    path: target.clone(),
                    rules: Vec::new(),
                    doc: None,
                    created: false,
                    ops: Vec::new(),
                    values_edits: Vec::new(),
                    view: None,
                    recipe_refusals: Vec::new(),
                    res: FileResult {
                        change: None,
                        errors: Vec::new(),
                        warnings: Vec::new(),
                        probes: Vec::new(),
                        unchecked: Vec::new(),
                    },
                };
                // An override file is created when missing; the chart's values.yaml exists.
                match load(root, &target, true) {
                    Ok((doc, created)) => {
                        p.doc = Some(doc);
                        p.created = created;
                    }
                    Err(msg) => {
                        if let Some(recipe) =
                            recipes.recipes.iter().find(|r| *r.name == *edits[0].recipe)
                        {
                            p.res.errors.push(Finding::new(
                                recipe,
                                &edits[0].origin,
                                Some(&target),
                                msg,
                            ));
                        }
                    }
                }
                prepared.push(p);
                prepared.len() - 1
            }
        };
        let p = &mut prepared[idx];
        if !p.res.errors.is_empty() {
            continue;
        }
        let Some(doc) = &p.doc else { continue };
        let mut model = doc.models().into_iter().next().unwrap_or(Value::Null);
        if let Some((_, own)) = p.ops.iter().find(|(i, _)| *i == 0) {
            let raw: Vec<_> = own.iter().map(|o| o.op.clone()).collect();
            let _ = json_patch::patch(&mut model, &raw);
        }
        let mut added = Vec::new();
        for e in &edits {
            let dp = plan::ensure_at(&e.recipe, &model, &e.keys, e.value.as_ref(), &e.origin);
            let failed = !dp.errors.is_empty();
            for (_, msg) in dp.errors {
                if let Some(recipe) = recipes.recipes.iter().find(|r| *r.name == *e.recipe) {
                    p.res
                        .errors
                        .push(Finding::new(recipe, &e.origin, Some(&target), msg));
                }
            }
            if dp.ops.is_empty() && !failed {
                // An earlier edit of this plan already sets these keys to this value (one
                // shared value, two templates, two recipe instances): the same op stands for
                // this template's field too, so that its recipe and its render are told.
                let path = crate::pointer::to_pointer(&e.keys).to_string();
                let twin = added
                    .iter()
                    .find(|o: &&crate::change::PlannedOp| o.path() == path)
                    .cloned();
                if let Some(mut op) = twin {
                    op.recipe = e.recipe.clone();
                    op.origin = e.origin.clone();
                    op.via = Some(e.via.clone());
                    added.push(op);
                }
            }
            for mut op in dp.ops {
                if json_patch::patch(&mut model, std::slice::from_ref(&op.op)).is_ok() {
                    op.via = Some(e.via.clone());
                    added.push(op);
                }
            }
        }
        match p.ops.iter_mut().find(|(i, _)| *i == 0) {
            Some((_, own)) => own.extend(added),
            None => p.ops.insert(0, (0, added)),
        }
        new_models.insert(target, model);
    }
    // Each template re-plans against the values as written (one model per chart and
    // target, shared by its templates).
    let mut rendered: HashMap<(String, String), Arc<Value>> = HashMap::new();
    let mut rescenarios: HashMap<(String, String), Arc<Vec<Arc<view::Scenario>>>> = HashMap::new();
    for p in prepared.iter_mut() {
        if let Some(view) = &mut p.view
            && let Some(new) = new_models.get(&view.target)
        {
            let key = (view.chart.clone(), view.target.clone());
            let model = rendered.entry(key).or_insert_with(|| {
                Arc::new(if view.target == join(&view.chart, "values.yaml") {
                    new.clone()
                } else {
                    view::merge_values(&view.base, new)
                })
            });
            view.model = model.clone();
        }
        // Its scenarios, as they will render: the new values.yaml under each scenario's file
        // as written.
        if let Some(view) = &mut p.view
            && !view.scenarios.is_empty()
            && (new_models.contains_key(&view.target)
                || view
                    .scenarios
                    .iter()
                    .any(|s| new_models.contains_key(&s.file)))
        {
            // One set per chart, shared by its templates.
            let key = (view.chart.clone(), view.target.clone());
            let scenarios = rescenarios.entry(key).or_insert_with(|| {
                let base = new_models.get(&view.target).unwrap_or(&view.base);
                let scenarios = view
                    .scenarios
                    .iter()
                    .map(|s| {
                        let overlay = new_models.get(&s.file).unwrap_or(&s.overlay).clone();
                        Arc::new(view::Scenario {
                            model: Arc::new(view::merge_values(base, &overlay)),
                            overlay,
                            file: s.file.clone(),
                            name: s.name.clone(),
                        })
                    })
                    .collect();
                Arc::new(scenarios)
            });
            view.scenarios = scenarios.clone();
        }
    }
    prepared
}

/// The other uses of the values an edit changes, in every scenario it changes what renders
/// in: the defaults and each chart-testing scenario whose own file does not set the key,
/// for an edit of the view's values file; only its own scenario for an edit of a scenario's
/// file. A use found in a scenario names it.
fn uses_in_every_scenario(
    e: &ValuesEdit,
    view: &ValuesView,
    same: &[(String, usize)],
    also: &[crate::change::AlsoRead],
) -> Vec<String> {
    let mut out = Vec::new();
    if e.target == view.target {
        out = route::other_uses(e, view, same);
    }
    for s in view.scenarios.iter() {
        let affected = if e.target == view.target {
            crate::pointer::lookup(&s.overlay, &e.keys).is_none()
        } else {
            e.target == s.file
        };
        if !affected {
            continue;
        }
        for u in route::other_uses(e, &view.in_scenario(s), same) {
            // A use is `FILE:LINE (…)`; the reader at that line in `also` is expected there.
            if also
                .iter()
                .any(|a| u.starts_with(&format!("{}:{} ", a.template, a.line)))
            {
                continue;
            }
            let named = format!("{u} in the {} scenario", s.name);
            if !out.contains(&u) && !out.contains(&named) {
                let u = named;
                out.push(u);
            }
        }
    }
    out
}

/// The values paths the template at `template` may read: its own reads and those of every
/// file that holds a define (the chart's helpers, its dependencies'), which it may include.
fn template_reads<'v>(view: &'v ValuesView, template: &str) -> Vec<&'v [String]> {
    let define_files: HashSet<&str> = view.defines.values().map(|d| d.file.as_str()).collect();
    let mut out: Vec<&[String]> = view
        .reads
        .iter()
        .filter(|r| r.file == template || define_files.contains(r.file.as_str()))
        .map(|r| r.path.as_slice())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the rule at `origin` of recipe `name` is an `at-least` (a floor: a larger value
/// satisfies it too).
fn is_floor(recipes: &RecipeSet, name: &str, origin: &crate::recipe::Origin) -> bool {
    fn walk(rules: &[crate::recipe::Rule], origin: &crate::recipe::Origin) -> bool {
        use crate::recipe::Rule;
        rules.iter().any(|r| match r {
            Rule::AtLeast { origin: o, .. } => o == origin,
            Rule::Each { rules, .. } | Rule::Step { rules, .. } => walk(rules, origin),
            _ => false,
        })
    }
    recipes
        .recipes
        .iter()
        .filter(|r| r.name == name)
        .flat_map(|r| &r.files)
        .any(|f| walk(&f.rules, origin))
}

/// Plans a chart template in each chart-testing scenario of its `view` too (a probe that
/// renders only with `ci/enable-probe-values.yaml`), adding to `edits` (the defaults' values
/// edits) the values edits found there. The same edit found in several scenarios is one,
/// naming them all; `at-least` floors of one key that differ between scenarios take the
/// largest (it holds in each), any other difference is refused. Only values edits are taken
/// from a scenario: the template text is the same in every scenario, and its own edits are
/// planned with the defaults. Returns the refusals found in a scenario and not with the
/// defaults (recipe index, origin, message naming the scenario).
pub(super) fn plan_scenarios(
    doc: &Document,
    rules: &[(usize, usize)],
    recipes: &RecipeSet,
    view: &ValuesView,
    edits: &mut Vec<ValuesEdit>,
    probes: &mut [(usize, plan::Probe)],
    defaults_errors: &[(usize, crate::recipe::Origin, String)],
) -> Vec<(usize, crate::recipe::Origin, String)> {
    let mut refusals: Vec<(usize, crate::recipe::Origin, String)> = Vec::new();
    let recipe_index = |name: &str| {
        rules
            .iter()
            .map(|&(ri, _)| ri)
            .find(|&ri| recipes.recipes[ri].name == name)
            .unwrap_or(rules[0].0)
    };
    let read_paths = template_reads(view, &doc.path.to_string_lossy().replace('\\', "/"));
    // What the template sees of the values: a scenario that shows it the same as the
    // defaults plans as they do; two that show it the same plan alike (planned once, each
    // routed to its own layer).
    fn project<'m>(paths: &[&[String]], m: &'m Value) -> Vec<Option<&'m Value>> {
        paths.iter().map(|r| crate::pointer::lookup(m, r)).collect()
    }
    let defaults = project(&read_paths, &view.model);
    let mut memo: Vec<(Vec<Option<&Value>>, super::RulePlan)> = Vec::new();
    for s in view.scenarios.iter() {
        let seen = project(&read_paths, &s.model);
        if seen == defaults {
            continue;
        }
        let sv = view.in_scenario(s);
        let at = match memo.iter().position(|(p, _)| *p == seen) {
            Some(i) => i,
            None => {
                memo.push((seen, super::plan_rules(doc, rules, recipes, Some(&sv))));
                memo.len() - 1
            }
        };
        let sp = &memo[at].1;
        let sp = super::RulePlan {
            ops: Vec::new(),
            errors: sp.errors.clone(),
            probes: sp.probes.clone(),
            unchecked: Vec::new(),
            values_edits: sp
                .values_edits
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    e.target = sv.owner(&e.keys).to_string();
                    e.via.scenarios = vec![s.name.clone()];
                    e
                })
                .collect(),
        };
        // A selector that matches only in a scenario matched.
        for (ri, p) in sp.probes {
            if p.matched > 0
                && let Some((_, q)) = probes
                    .iter_mut()
                    .find(|(i, q)| *i == ri && q.origin == p.origin && q.what == p.what)
                && q.matched == 0
            {
                q.matched = p.matched;
            }
        }
        for (ri, o, m) in sp.errors {
            if !defaults_errors.iter().any(|(_, _, d)| *d == m) {
                let m = format!("in the {} scenario: {m}", s.name);
                if !refusals.iter().any(|(_, _, d)| *d == m) {
                    refusals.push((ri, o, m));
                }
            }
        }
        for e in sp.values_edits {
            // The planner sees every document of the template: one that does not render in
            // this scenario (its `if` is false there) has nothing to plan.
            if route::renders(&sv, &e.read_file, e.line) == Some(false)
                || route::renders(&sv, &e.via.template, e.via.line) == Some(false)
            {
                continue;
            }
            let same_place = |x: &ValuesEdit| x.target == e.target && x.keys == e.keys;
            // This recipe's own edit of the key first, else another recipe's.
            let at = edits
                .iter()
                .position(|x| same_place(x) && x.recipe == e.recipe)
                .or_else(|| edits.iter().position(same_place));
            let Some(at) = at else {
                edits.push(e);
                continue;
            };
            let x = &mut edits[at];
            let equal = match (&x.value, &e.value) {
                (Some(a), Some(b)) => crate::pointer::values_equal(a, b),
                (a, b) => a == b,
            };
            let numbers = match (&x.value, &e.value) {
                (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64().zip(b.as_f64()),
                _ => None,
            };
            let floors =
                is_floor(recipes, &x.recipe, &x.origin) && is_floor(recipes, &e.recipe, &e.origin);
            let asked = |x: &ValuesEdit| match x.via.scenarios.as_slice() {
                [] => "the default values".to_string(),
                names => format!("the {} scenario", names.join(", ")),
            };
            let reconcilable = equal || (floors && numbers.is_some());
            if !reconcilable {
                let shown = |v: &Option<Value>| {
                    v.as_ref()
                        .map_or("nothing".to_string(), crate::pointer::display_value)
                };
                refusals.push((
                    recipe_index(&e.recipe),
                    e.origin.clone(),
                    format!(
                        "`{}` in {} would have to be {} for {} and {} for the {} scenario; change it by hand",
                        e.keys.join("."),
                        e.target,
                        shown(&x.value),
                        asked(x),
                        shown(&e.value),
                        s.name
                    ),
                ));
                continue;
            }
            if let Some((a, b)) = numbers.filter(|_| !equal) {
                let shown = |v: &Option<Value>| {
                    v.as_ref()
                        .map_or(String::new(), crate::pointer::display_value)
                };
                let larger = if b > a { &e.value } else { &x.value };
                let note = format!(
                    "at least {} for {} and at least {} for the {} scenario: the larger, {}, holds in both",
                    shown(&x.value),
                    asked(x),
                    shown(&e.value),
                    s.name,
                    shown(larger)
                );
                x.via.note = Some(note.clone());
                if b > a {
                    x.value = e.value.clone();
                }
                // Another recipe's floor: its own op too (the same value), so that it is told.
                if x.recipe != e.recipe {
                    let mut twin = e.clone();
                    twin.value = x.value.clone();
                    twin.via.note = Some(note);
                    edits.push(twin);
                    continue;
                }
            }
            // Another recipe asks the same value: its own op too, so that it is told.
            if x.recipe != e.recipe {
                let mut twin = e.clone();
                twin.value = x.value.clone();
                edits.push(twin);
                continue;
            }
            // An edit made for the defaults renders in the scenario too: it names none.
            if !x.via.scenarios.is_empty() && !x.via.scenarios.contains(&s.name) {
                x.via.scenarios.push(s.name.clone());
            }
        }
    }
    refusals
}
