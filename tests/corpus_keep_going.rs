//! Issue 8, "done when": on the real corpus (`../shared/corpus`), the five ordinary recipes of
//! `tests/data/real-recipes.kdl` applied with `apply --in-place --keep-going` write every file
//! the plan changes, leave every refused file byte-identical, and write nothing wrong:
//! - plain YAML (values files, workflows): yaml_serde's reading of the new text equals its
//!   reading of the old text with the planned RFC 6902 ops applied;
//! - charts with a changed file: `helm template` (the shim in `../shared/tools/helm`) still
//!   renders, and the manifests differ from the render before only at the fields the recipes
//!   ask for, with the values they ask for.
//!
//! `cargo test --test corpus_keep_going -- --nocapture` prints the figures. `PATCHER_SHARED_DIR`
//! overrides where `shared/` is (default: beside this repository).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

const RELEASE: &str = "rel";

fn patcher(args: &[&str], root: &Path) -> Output {
    Command::new(common::bin())
        .args(args)
        .arg("--root")
        .arg(root)
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run patcher")
}

/// Every document of a YAML stream as yaml_serde reads it; `Err` when one does not read.
fn serde_docs(text: &str) -> Result<Vec<Value>, String> {
    yaml_serde::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).map_err(|e| e.to_string()))
        .collect()
}

/// A chart template: patcher masks its `{{ }}` actions, so yaml_serde cannot read it and the
/// render comparison checks it instead. Workflows' `${{ }}` are plain strings to YAML.
fn is_template(path: &str, text: &str) -> bool {
    path.starts_with("charts/") && path.contains("/templates/") && text.contains("{{")
}

/// The refusal's reason: the file and line prefix dropped, numbers normalised.
fn reason(file: Option<&str>, message: &str) -> String {
    let mut m = message;
    if let Some(rest) = file.and_then(|f| m.strip_prefix(f)) {
        m = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
        m = m.trim_start();
    }
    m.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// The ops of one file's plan, per document index, without patcher's extra "recipe" key.
fn file_ops(file: &Value) -> Vec<(usize, json_patch::Patch)> {
    file["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| {
            let ops: Vec<Value> = d["patch"]
                .as_array()
                .expect("patch")
                .iter()
                .map(|op| {
                    let mut op = op.clone();
                    op.as_object_mut().expect("op object").remove("recipe");
                    op
                })
                .collect();
            let index = d["index"].as_u64().expect("index") as usize;
            (
                index,
                serde_json::from_value(Value::Array(ops)).expect("RFC 6902 ops"),
            )
        })
        .collect()
}

/// The helm shim, after a successful `setup`; `Err(reason)` when it cannot be used.
/// Rendered manifests keyed by `kind namespace/name` (a repeated key gets `#2`, `#3`…).
type Manifests = BTreeMap<String, Value>;

fn helm_template(
    helm: &Path,
    chart: &Path,
    ignore_missing_deps: bool,
) -> Result<Manifests, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE]).arg(chart);
    if ignore_missing_deps {
        cmd.env("HELM_SHIM_IGNORE_MISSING_DEPS", "1");
    }
    let out = common::helm_output(&mut cmd);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // The error and the two lines after it (a schema error names the property there).
        let lines: Vec<&str> = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
            .collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("Error"))
            .unwrap_or(0);
        return Err(lines
            .iter()
            .skip(at)
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" "));
    }
    let docs = serde_docs(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| format!("rendered YAML does not read: {e}"))?;
    let mut out = Manifests::new();
    for d in docs.into_iter().filter(|d| !d.is_null()) {
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let base = format!(
            "{} {}/{}",
            s(&d["kind"]),
            s(&d["metadata"]["namespace"]),
            s(&d["metadata"]["name"])
        );
        let mut key = base.clone();
        let mut n = 1;
        while out.contains_key(&key) {
            n += 1;
            key = format!("{base}#{n}");
        }
        out.insert(key, d);
    }
    Ok(out)
}

/// What the recipes may change in a rendered manifest, and the least value they ask for.
fn allowed(kind: &str, ptr: &str, hpa_target: bool, before: &Value, after: &Value) -> bool {
    let at_least = |min: f64| after.as_f64().is_some_and(|v| v >= min);
    match ptr {
        "/spec/progressDeadlineSeconds" if kind == "Deployment" => at_least(600.0),
        "/spec/activeDeadlineSeconds" if kind == "Job" => at_least(600.0),
        // With the HPA off, templates render a fixed replica count on its target.
        "/spec/replicas" if hpa_target => before.is_null(),
        p if p.ends_with("Probe/initialDelaySeconds") => at_least(30.0),
        _ => false,
    }
}

struct Compared {
    chart: String,
    ignored_missing_deps: bool,
    /// Differences between two renders of the unchanged chart (random values), not compared.
    excluded: Vec<String>,
    /// `kind pointer` of each difference the recipes asked for.
    changes: Vec<String>,
    wrong: Vec<String>,
}

enum ChartOutcome {
    NotRenderableBefore { chart: String, why: String },
    Compared(Compared),
}

fn compare_chart(helm: &Path, before_root: &Path, after_root: &Path, chart: &str) -> ChartOutcome {
    let (before_dir, after_dir) = (before_root.join(chart), after_root.join(chart));
    // Only unvendored dependencies make a render fail this way; then render without them.
    let mut ignore = false;
    let first = match helm_template(helm, &before_dir, false) {
        Err(e) if e.contains("missing in charts/ directory") => {
            ignore = true;
            helm_template(helm, &before_dir, true)
        }
        r => r,
    };
    let b1 = match first {
        Ok(m) => m,
        Err(why) => {
            let chart = chart.to_string();
            return ChartOutcome::NotRenderableBefore { chart, why };
        }
    };
    // Unedited, so a failure here says nothing about the write.
    let b2 = match helm_template(helm, &before_dir, ignore) {
        Ok(m) => m,
        Err(e) => {
            let why = format!("rendered once, then failed: {e}");
            let chart = chart.to_string();
            return ChartOutcome::NotRenderableBefore { chart, why };
        }
    };
    let mut c = Compared {
        chart: chart.to_string(),
        ignored_missing_deps: ignore,
        excluded: Vec::new(),
        changes: Vec::new(),
        wrong: Vec::new(),
    };
    let after = match helm_template(helm, &after_dir, ignore) {
        Ok(m) => m,
        Err(e) => {
            c.wrong
                .push(format!("{chart}: rendered before, not after: {e}"));
            return ChartOutcome::Compared(c);
        }
    };
    let mut random: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for key in b1.keys().chain(b2.keys()) {
        let mut d = Vec::new();
        common::leaf_diff(b1.get(key), b2.get(key), "", &mut d);
        let ptrs = random.entry(key).or_default();
        for (p, _, _) in d {
            if !ptrs.contains(&p) {
                c.excluded.push(format!("{key} {p}"));
                ptrs.push(p);
            }
        }
    }
    let is_random = |key: &str, ptr: &str| {
        random.get(key).is_some_and(|ps| {
            ps.iter()
                .any(|p| ptr == p || ptr.starts_with(&format!("{p}/")) || p.is_empty())
        })
    };
    // HPAs may disappear (autoscaling off); their targets may then get /spec/replicas.
    let mut targets = BTreeSet::new();
    for (key, doc) in &b1 {
        if after.contains_key(key) || is_random(key, "") {
            continue;
        }
        if doc["kind"] == "HorizontalPodAutoscaler" {
            let t = &doc["spec"]["scaleTargetRef"];
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or("");
            targets.insert(format!(
                "{} {ns}/{}",
                t["kind"].as_str().unwrap_or(""),
                t["name"].as_str().unwrap_or("")
            ));
            c.changes.push(format!("{key} removed"));
        } else {
            c.wrong
                .push(format!("{chart}: {key}: document disappeared"));
        }
    }
    for key in after
        .keys()
        .filter(|k| !b1.contains_key(*k) && !is_random(k, ""))
    {
        c.wrong.push(format!("{chart}: {key}: new document"));
    }
    for (key, old) in &b1 {
        let Some(new) = after.get(key) else { continue };
        let kind = old["kind"].as_str().unwrap_or("");
        let mut d = Vec::new();
        common::leaf_diff(Some(old), Some(new), "", &mut d);
        for (ptr, was, now) in d {
            if is_random(key, &ptr) {
                continue;
            }
            if allowed(kind, &ptr, targets.contains(key), &was, &now) {
                c.changes.push(format!("{kind} {ptr}"));
            } else {
                c.wrong
                    .push(format!("{chart}: {key}: {ptr}: {was} -> {now}"));
            }
        }
    }
    ChartOutcome::Compared(c)
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
#[cfg_attr(
    all(has_corpus, not(has_helm_shim)),
    ignore = "needs helm-shim: ../shared/tools/helm and its setup (scripts/setup-test-tools.sh)"
)]
fn keep_going_on_the_corpus_writes_every_file_it_can_and_none_wrong() {
    let start = Instant::now();
    let shared = common::shared();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (before, after) = (tmp.path().join("before"), tmp.path().join("after"));
    common::copy_dir(&shared.join("corpus"), &before);
    common::copy_dir(&shared.join("corpus"), &after);
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-recipes.kdl");
    let recipes = recipes.to_str().expect("utf-8 path");

    let plan = patcher(&["plan", "--recipes", recipes, "--format", "json"], &after);
    let plan_json: Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| {
        panic!(
            "plan --format json: {e}\n{}",
            String::from_utf8_lossy(&plan.stderr)
        )
    });
    let planned: BTreeMap<String, &Value> = plan_json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["path"].as_str().expect("path").to_string(), f))
        .collect();
    let errors: Vec<(Option<&str>, &str)> = plan_json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["file"].as_str(), e["message"].as_str().unwrap_or("")))
        .collect();
    let refused: BTreeSet<&str> = errors.iter().filter_map(|(f, _)| *f).collect();
    let mut ops_by_recipe: BTreeMap<&str, usize> = BTreeMap::new();
    for f in planned.values() {
        for d in f["documents"].as_array().expect("documents") {
            for op in d["patch"].as_array().expect("patch") {
                *ops_by_recipe
                    .entry(op["recipe"].as_str().unwrap_or("?"))
                    .or_default() += 1;
            }
        }
    }
    assert!(
        !planned.is_empty(),
        "the recipes change nothing in the corpus"
    );

    let apply = patcher(
        &["apply", "--in-place", "--keep-going", "--recipes", recipes],
        &after,
    );
    let stderr = String::from_utf8_lossy(&apply.stderr);
    let code = apply.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        if errors.is_empty() { 0 } else { 1 },
        "apply --keep-going exit code with {} errors:\n{stderr}",
        errors.len()
    );
    if !errors.is_empty() {
        let last = stderr.lines().last().unwrap_or("");
        let counts: Vec<usize> = last
            .strip_prefix("kept going: ")
            .unwrap_or_else(|| panic!("last stderr line: {last:?}"))
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        // N written = files planned (K of them in part: with errors too), M refused = the
        // other files with errors (+ errors naming no file).
        let other = errors.iter().filter(|(f, _)| f.is_none()).count();
        let in_part = refused.iter().filter(|f| planned.contains_key(**f)).count();
        let mut expected = vec![planned.len()];
        if in_part > 0 {
            expected.push(in_part);
        }
        expected.push(refused.len() - in_part);
        if other > 0 {
            expected.push(other);
        }
        assert!(last.ends_with(" (see above)"), "last stderr line: {last:?}");
        assert_eq!(counts, expected, "written, refused: {last:?}");
        for f in &refused {
            assert!(stderr.contains(f), "refused {f} not listed:\n{stderr}");
        }
    }

    // Exactly the planned files changed; refused files (and everything else) are untouched.
    let (old_tree, new_tree) = (common::tree(&before), common::tree(&after));
    let changed: BTreeSet<&str> = new_tree
        .iter()
        .filter(|(p, bytes)| old_tree.get(*p) != Some(bytes))
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(old_tree.len(), new_tree.len(), "files appeared or vanished");
    for f in refused.iter().filter(|f| !planned.contains_key(**f)) {
        assert!(!changed.contains(f), "refused file {f} was written");
    }
    let planned_paths: BTreeSet<&str> = planned.keys().map(String::as_str).collect();
    assert_eq!(changed, planned_paths, "written files vs planned files");

    // Every file it could write is written: a re-plan finds nothing left but the refusals.
    let replan = patcher(&["plan", "--recipes", recipes, "--format", "json"], &after);
    let replan: Value = serde_json::from_slice(&replan.stdout).expect("re-plan json");
    let left: Vec<&str> = replan["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        left.is_empty(),
        "changes still pending after apply: {left:?}"
    );
    assert_eq!(
        replan["errors"], plan_json["errors"],
        "refusals after apply"
    );

    let mut wrong = Vec::new();
    let (mut plain_checked, mut templates_written) = (0, 0);
    for path in &changed {
        let old = String::from_utf8_lossy(&old_tree[*path]);
        let new = String::from_utf8_lossy(&new_tree[*path]);
        if is_template(path, &old) {
            templates_written += 1;
            continue;
        }
        plain_checked += 1;
        let mut expected = serde_docs(&old).expect("plain YAML reads before");
        for (index, ops) in file_ops(planned[*path]) {
            if let Err(e) = json_patch::patch(&mut expected[index], &ops) {
                wrong.push(format!(
                    "{path}: planned ops do not apply to yaml_serde's reading: {e}"
                ));
            }
        }
        match serde_docs(&new) {
            Ok(got) if got == expected => {}
            Ok(got) => {
                let mut d = Vec::new();
                for i in 0..got.len().max(expected.len()) {
                    common::leaf_diff(
                        expected.get(i),
                        got.get(i),
                        &format!("document {i}: "),
                        &mut d,
                    );
                }
                let (at, want, found) = d.first().cloned().unwrap_or_default();
                wrong.push(format!(
                    "{path}: yaml_serde reads something else than the plan: {} differences, first at {at}: planned {want}, written {found}",
                    d.len()
                ));
            }
            Err(e) => wrong.push(format!("{path}: written file does not read: {e}")),
        }
    }

    let charts: BTreeSet<&str> = changed
        .iter()
        .filter(|p| p.starts_with("charts/"))
        .filter_map(|p| p.split('/').nth(1))
        .collect();
    let render_start = Instant::now();
    let helm = common::helm_shim();
    // Two workers: a render is one single-threaded engine run of 0.5-4 s.
    let (next, results) = (AtomicUsize::new(0), Mutex::new(Vec::new()));
    let list: Vec<&str> = charts.iter().copied().collect();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(chart) = list.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let rel = format!("charts/{chart}");
                    let o = compare_chart(helm, &before, &after, &rel);
                    results.lock().expect("lock").push(o);
                }
            });
        }
    });
    let outcomes = results.into_inner().expect("lock");

    // Figures.
    eprintln!(
        "\nplan: {} files planned, {} ops ({}), {} errors",
        planned.len(),
        ops_by_recipe.values().sum::<usize>(),
        ops_by_recipe
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        errors.len()
    );
    eprintln!(
        "apply --in-place --keep-going: exit {code}, {} files written ({plain_checked} plain YAML checked with yaml_serde, {templates_written} templates), {} refused",
        changed.len(),
        refused.len()
    );
    let mut reasons: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (f, m) in &errors {
        reasons
            .entry(reason(*f, m))
            .or_default()
            .push(f.unwrap_or("(no file)"));
    }
    for (r, files) in &reasons {
        eprintln!(
            "  refused {}× {r}\n      {}",
            files.len(),
            files.join("\n      ")
        );
    }
    let mut compared = 0;
    let mut changes: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        match o {
            ChartOutcome::NotRenderableBefore { chart, why } => {
                eprintln!("  chart {chart}: does not render before the edit, skipped: {why}")
            }
            ChartOutcome::Compared(c) => {
                compared += 1;
                eprintln!(
                    "  chart {}: compared{}, {} rendered changes, {} random paths excluded{}",
                    c.chart,
                    if c.ignored_missing_deps {
                        " (without its unvendored dependencies)"
                    } else {
                        ""
                    },
                    c.changes.len(),
                    c.excluded.len(),
                    if c.excluded.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", c.excluded.join(", "))
                    }
                );
                for ch in &c.changes {
                    *changes.entry(ch.clone()).or_default() += 1;
                }
                wrong.extend(c.wrong.iter().cloned());
            }
        }
    }
    eprintln!(
        "charts: {} with a changed file, {compared} rendered and compared, {} not renderable before ({:.1} s of rendering)",
        charts.len(),
        outcomes.len() - compared,
        render_start.elapsed().as_secs_f64()
    );
    for (ch, n) in &changes {
        eprintln!("  rendered change {n:3}× {ch}");
    }
    for w in &wrong {
        eprintln!("  WRONG: {w}");
    }
    eprintln!(
        "wrong writes: {} ({:.1} s in all)",
        wrong.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        wrong.is_empty(),
        "{} wrong writes:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
