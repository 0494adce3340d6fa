//! Issue 9, "done when", measured on the real corpus (`../shared/corpus`): the three
//! rendered-object recipes of `tests/data/rendered-field-recipes.kdl` (progress deadline on
//! Deployments, active deadline on Jobs, liveness delay on Deployments' containers) applied
//! with `apply --in-place --keep-going --render always` (helm: the shim in `../shared/tools/helm`).
//!
//! Every chart is rendered (`helm template`, default values) before and after. For each
//! rendered Deployment / Job of a chart that renders before, each asked field is: held before,
//! fixed (through its template or through the values file, from the plan's `via`), or still
//! missing, with the refusals of its template (plan errors, digits normalised). Asserted: no
//! rendered difference beyond the asked fields, and every still-missing field has a reason.
//! The share fixed is printed, not asserted; "before values-aware edits" is approximated by
//! the fixes made through templates alone.
//!
//! `cargo test --release --test corpus_rendered_fields -- --ignored --nocapture` (or without
//! `--ignored` when the corpus and helm shim are there) prints the figures.

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

fn patcher(args: &[&str], root: &Path, helm: &Path) -> Output {
    Command::new(common::bin())
        .args(args)
        .arg("--root")
        .arg(root)
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .env("PATCHER_HELM", helm)
        .output()
        .expect("run patcher")
}

/// A rendered object and the template it came from (`charts/<dir>/templates/…`).
struct Object {
    source: String,
    doc: Value,
}

/// Rendered objects keyed by `kind namespace/name` (a repeated key gets `#2`, `#3`…).
type Manifests = BTreeMap<String, Object>;

/// `helm template` of `charts/<dir>`; `# Source: <name>/…` becomes `charts/<dir>/…`.
fn helm_template(
    helm: &Path,
    root: &Path,
    dir: &str,
    ignore_deps: bool,
) -> Result<Manifests, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE])
        .arg(root.join("charts").join(dir));
    if ignore_deps {
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
        return Err(lines[at.min(lines.len())..]
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" "));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut chunks = vec![String::new()];
    for line in text.lines() {
        if line == "---" {
            chunks.push(String::new());
        } else {
            let last = chunks.last_mut().expect("a chunk");
            last.push_str(line);
            last.push('\n');
        }
    }
    let mut out = Manifests::new();
    for chunk in chunks {
        let source = chunk
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .and_then(|s| s.split_once('/'))
            .map(|(_, rest)| format!("charts/{dir}/{rest}"))
            .unwrap_or_default();
        for d in yaml_serde::Deserializer::from_str(&chunk) {
            let doc = Value::deserialize(d).map_err(|e| format!("rendered YAML: {e}"))?;
            if doc.is_null() {
                continue;
            }
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            let base = format!(
                "{} {}/{}",
                s(&doc["kind"]),
                s(&doc["metadata"]["namespace"]),
                s(&doc["metadata"]["name"])
            );
            let mut key = base.clone();
            let mut n = 1;
            while out.contains_key(&key) {
                n += 1;
                key = format!("{base}#{n}");
            }
            let source = source.clone();
            out.insert(key, Object { source, doc });
        }
    }
    Ok(out)
}

/// The recipe asking for `ptr` in a `kind`, and the least value it asks for.
fn asked(kind: &str, ptr: &str) -> Option<(&'static str, f64)> {
    let container_probe = ptr
        .strip_prefix("/spec/template/spec/containers/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(i, rest)| {
            i.parse::<usize>().is_ok() && rest == "livenessProbe/initialDelaySeconds"
        });
    match (kind, ptr) {
        ("Deployment", "/spec/progressDeadlineSeconds") => Some(("progress-deadline", 600.0)),
        ("Job", "/spec/activeDeadlineSeconds") => Some(("job-deadline", 600.0)),
        ("Deployment", _) if container_probe => Some(("liveness-delay", 30.0)),
        _ => None,
    }
}

fn holds(v: Option<&Value>, min: f64) -> bool {
    v.and_then(Value::as_f64).is_some_and(|n| n >= min)
}

/// One chart's renders: before (twice, when the first comparison is not clean) and after.
enum Rendered {
    NotBefore(String),
    Both {
        ignored_deps: bool,
        before: Manifests,
        after: Result<Manifests, String>,
        /// `key pointer` differing between two renders of the unchanged chart.
        random: BTreeSet<String>,
    },
}

fn render_chart(helm: &Path, before_root: &Path, after_root: &Path, dir: &str) -> Rendered {
    let mut ignored_deps = false;
    let first = match helm_template(helm, before_root, dir, false) {
        Err(e) if e.contains("missing in charts/ directory") => {
            ignored_deps = true;
            helm_template(helm, before_root, dir, true)
        }
        r => r,
    };
    let before = match first {
        Ok(m) => m,
        Err(why) => return Rendered::NotBefore(why),
    };
    let after = helm_template(helm, after_root, dir, ignored_deps);
    let mut random = BTreeSet::new();
    let clean = after.as_ref().is_ok_and(|a| {
        a.len() == before.len()
            && before.iter().all(|(k, o)| {
                let mut d = Vec::new();
                common::leaf_diff(Some(&o.doc), a.get(k).map(|o| &o.doc), "", &mut d);
                let kind = o.doc["kind"].as_str().unwrap_or("");
                d.iter().all(|(p, _, _)| asked(kind, p).is_some())
            })
    });
    if !clean && let Ok(again) = helm_template(helm, before_root, dir, ignored_deps) {
        for key in before.keys().chain(again.keys()) {
            let mut d = Vec::new();
            let (x, y) = (before.get(key), again.get(key));
            common::leaf_diff(x.map(|o| &o.doc), y.map(|o| &o.doc), "", &mut d);
            if x.is_none() || y.is_none() {
                random.insert(format!("{key} "));
            }
            random.extend(d.into_iter().map(|(p, _, _)| format!("{key} {p}")));
        }
    }
    Rendered::Both {
        ignored_deps,
        before,
        after,
        random,
    }
}

/// A refusal's reason: file and position dropped, digits and masked placeholders normalised.
fn reason(file: Option<&str>, message: &str) -> String {
    let mut m = message;
    if let Some(rest) = file.and_then(|f| m.strip_prefix(f)) {
        m = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
        m = m.trim_start();
    }
    let m = file.map_or(m.to_string(), |f| m.replace(f, "<file>"));
    let words: Vec<String> = m
        .split(' ')
        .map(|w| {
            if w.matches('_').count() > 8 {
                "<masked>".to_string()
            } else {
                w.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect()
            }
        })
        .collect();
    words.join(" ")
}

#[derive(Default)]
struct Counts {
    asked: usize,
    held: usize,
    via_template: usize,
    via_values: usize,
    fixed_other: usize,
    missing: BTreeMap<String, Vec<String>>,
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
fn rendered_deployments_and_jobs_get_the_asked_fields_through_templates_or_values_and_nothing_else()
{
    let start = Instant::now();
    let corpus = common::corpus();
    let helm = common::helm_shim();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (before, after) = (tmp.path().join("before"), tmp.path().join("after"));
    common::copy_dir(&corpus, &before);
    common::copy_dir(&corpus, &after);
    let recipes =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rendered-field-recipes.kdl");
    let recipes = recipes.to_str().expect("utf-8 path");

    // The plan (with its render verification) says where each edit lands and why one is refused.
    let args = ["--recipes", recipes, "--render", "always"];
    let plan = patcher(
        &[&["plan", "--format", "json"][..], &args].concat(),
        &after,
        helm,
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| {
        panic!(
            "plan --format json: {e}\n{}",
            String::from_utf8_lossy(&plan.stderr)
        )
    });
    let files = plan["files"].as_array().expect("files");
    assert!(
        !files.is_empty(),
        "the recipes change nothing in the corpus"
    );
    // (template, recipe) of each values edit, with the rendered pointer it feeds.
    let mut via_values: BTreeSet<(String, String, String)> = BTreeSet::new();
    for f in files {
        for d in f["documents"].as_array().expect("documents") {
            for op in d["patch"].as_array().expect("patch") {
                if let Some(t) = op["via"]["template"].as_str() {
                    let p = op["via"]["pointer"].as_str().expect("via pointer");
                    let r = op["recipe"].as_str().expect("recipe");
                    via_values.insert((t.to_string(), r.to_string(), p.to_string()));
                }
            }
        }
    }
    let errors = plan["errors"].as_array().expect("errors");
    let render_refused: BTreeMap<String, String> = plan["renders"]
        .as_array()
        .expect("renders")
        .iter()
        .filter_map(|r| {
            let why = r["refused"].as_str()?;
            Some((r["chart"].as_str()?.to_string(), why.to_string()))
        })
        .collect();

    let apply = patcher(
        &[&["apply", "--in-place", "--keep-going"][..], &args].concat(),
        &after,
        helm,
    );
    let stderr = String::from_utf8_lossy(&apply.stderr);
    let code = apply.status.code().unwrap_or(-1);
    let refusals = errors.len() + render_refused.len();
    assert_eq!(code, i32::from(refusals > 0), "apply exit code:\n{stderr}");
    for e in errors {
        if let Some(f) = e["file"].as_str() {
            assert!(
                stderr.contains(f),
                "refused {f} not named by apply:\n{stderr}"
            );
        }
    }
    let (old_tree, new_tree) = (common::tree(&before), common::tree(&after));
    let changed: BTreeSet<&str> = new_tree
        .iter()
        .filter(|(p, bytes)| old_tree.get(*p) != Some(bytes))
        .map(|(p, _)| p.as_str())
        .collect();

    // Render every chart before and after, two at a time.
    let render_start = Instant::now();
    let mut dirs: Vec<String> = std::fs::read_dir(before.join("charts"))
        .expect("charts/")
        .flatten()
        .filter(|e| e.path().join("Chart.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let (next, results) = (AtomicUsize::new(0), Mutex::new(BTreeMap::new()));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(dir) = dirs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let r = render_chart(helm, &before, &after, dir);
                    results.lock().expect("lock").insert(dir.clone(), r);
                }
            });
        }
    });
    let rendered = results.into_inner().expect("lock");
    let render_secs = render_start.elapsed().as_secs_f64();

    let mut wrong = Vec::new();
    let mut excluded = Vec::new();
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut random_ignored = 0;
    for (dir, r) in &rendered {
        let chart = format!("charts/{dir}");
        let (ignored_deps, old, new, random) = match r {
            Rendered::NotBefore(why) => {
                excluded.push(format!("{chart}: {why}"));
                continue;
            }
            Rendered::Both { after: Err(e), .. } => {
                wrong.push(format!("{chart}: rendered before, not after: {e}"));
                continue;
            }
            Rendered::Both {
                ignored_deps,
                before,
                after: Ok(after),
                random,
            } => (*ignored_deps, before, after, random),
        };
        let is_random = |key: &str, ptr: &str| {
            random.contains(&format!("{key} "))
                || random.iter().any(|r| {
                    r.strip_prefix(&format!("{key} "))
                        .is_some_and(|p| ptr == p || ptr.starts_with(&format!("{p}/")))
                })
        };
        // Wrong writes: anything rendered differently that no recipe asked for.
        let mut hpa_targets = BTreeSet::new();
        for (key, o) in old {
            if new.contains_key(key) || is_random(key, "") {
                continue;
            }
            if o.doc["kind"] == "HorizontalPodAutoscaler" {
                let t = &o.doc["spec"]["scaleTargetRef"];
                let ns = o.doc["metadata"]["namespace"].as_str().unwrap_or("");
                let (k, n) = (t["kind"].as_str(), t["name"].as_str());
                hpa_targets.insert(format!("{} {ns}/{}", k.unwrap_or(""), n.unwrap_or("")));
            } else {
                wrong.push(format!("{chart}: {key}: object disappeared"));
            }
        }
        for key in new
            .keys()
            .filter(|k| !old.contains_key(*k) && !is_random(k, ""))
        {
            wrong.push(format!("{chart}: {key}: new object"));
        }
        for (key, o) in old {
            let Some(n) = new.get(key) else { continue };
            let kind = o.doc["kind"].as_str().unwrap_or("");
            let mut d = Vec::new();
            common::leaf_diff(Some(&o.doc), Some(&n.doc), "", &mut d);
            for (ptr, was, now) in d {
                if is_random(key, &ptr) {
                    random_ignored += 1;
                    continue;
                }
                let ok = match asked(kind, &ptr) {
                    Some((_, min)) => holds(Some(&now), min),
                    None => ptr == "/spec/replicas" && hpa_targets.contains(key) && was.is_null(),
                };
                if !ok {
                    wrong.push(format!("{chart}: {key}: {ptr}: {was} -> {now}"));
                }
            }
        }

        // The asked fields of each rendered Deployment and Job.
        for (key, o) in old {
            let kind = o.doc["kind"].as_str().unwrap_or("");
            let mut fields = Vec::new();
            match kind {
                "Deployment" => {
                    fields.push("/spec/progressDeadlineSeconds".to_string());
                    let containers = o.doc["spec"]["template"]["spec"]["containers"].as_array();
                    for (i, c) in containers.into_iter().flatten().enumerate() {
                        if !c["livenessProbe"].is_null() {
                            fields.push(format!(
                                "/spec/template/spec/containers/{i}/livenessProbe/initialDelaySeconds"
                            ));
                        }
                    }
                }
                "Job" => fields.push("/spec/activeDeadlineSeconds".to_string()),
                _ => continue,
            }
            for ptr in fields {
                let (recipe, min) = asked(kind, &ptr).expect("an asked field");
                let c = counts.entry(recipe).or_default();
                c.asked += 1;
                if holds(o.doc.pointer(&ptr), min) {
                    c.held += 1;
                    continue;
                }
                let now = new.get(key).and_then(|n| n.doc.pointer(&ptr));
                let tail = |p: &str| match p.strip_prefix("/spec/template/spec/containers/") {
                    Some(r) => r
                        .split_once('/')
                        .map_or(String::new(), |(_, t)| t.to_string()),
                    None => p.to_string(),
                };
                if holds(now, min) {
                    let through_values = via_values.iter().any(|(t, r, p)| {
                        *t == o.source && r == recipe && tail(&ptr).starts_with(&tail(p))
                    });
                    if through_values {
                        c.via_values += 1;
                    } else if changed.contains(o.source.as_str()) {
                        c.via_template += 1;
                    } else {
                        c.fixed_other += 1;
                        wrong.push(format!("{chart}: {key}: {ptr} fixed, but neither its template {} nor a values edit for it changed", o.source));
                    }
                    continue;
                }
                let mut why: BTreeSet<String> = errors
                    .iter()
                    .filter(|e| {
                        e["file"].as_str() == Some(o.source.as_str()) && e["recipe"] == recipe
                    })
                    .map(|e| reason(e["file"].as_str(), e["message"].as_str().unwrap_or("")))
                    .collect();
                // The file is written whole or not at all: another recipe's refusal there
                // holds this field back too.
                if why.is_empty() {
                    why.extend(
                        errors
                            .iter()
                            .filter(|e| e["file"].as_str() == Some(o.source.as_str()))
                            .map(|e| {
                                format!(
                                    "its file is refused for recipe {}: {}",
                                    e["recipe"].as_str().unwrap_or("?"),
                                    reason(e["file"].as_str(), e["message"].as_str().unwrap_or(""))
                                )
                            }),
                    );
                }
                if let Some(r) = render_refused.get(&chart) {
                    why.insert(format!(
                        "render verification refused the chart: {}",
                        reason(None, r)
                    ));
                }
                if why.is_empty() {
                    let in_glob = o
                        .source
                        .strip_prefix(&format!("{chart}/"))
                        .is_some_and(|r| r.starts_with("templates/"));
                    why.insert(if o.source.is_empty() {
                        "(explained) rendered without a # Source: line".to_string()
                    } else if !in_glob {
                        "(explained) rendered from a subchart's template, outside the recipe's files".to_string()
                    } else {
                        "NO REASON".to_string()
                    });
                }
                let at = format!(
                    "{key} {ptr} ({}{})",
                    o.source,
                    if ignored_deps {
                        ", unvendored deps skipped"
                    } else {
                        ""
                    }
                );
                for w in why {
                    c.missing.entry(w).or_default().push(at.clone());
                }
            }
        }
    }

    // Figures.
    eprintln!(
        "\napply --in-place --keep-going --render always: exit {code}, {} files written, {} plan errors, {} charts refused by render verification",
        changed.len(),
        errors.len(),
        render_refused.len()
    );
    for (recipe, c) in &counts {
        let lacking = c.asked - c.held;
        let fixed = c.via_template + c.via_values + c.fixed_other;
        let pct = |n: usize| 100.0 * n as f64 / lacking.max(1) as f64;
        eprintln!(
            "{recipe}: {} asked, {} held before, {lacking} lacking: {} via template, {} via values{}, {} still missing; fixed {:.1}% (template edits alone, an approximation of before values-aware edits: {:.1}%)",
            c.asked,
            c.held,
            c.via_template,
            c.via_values,
            if c.fixed_other > 0 {
                format!(", {} unattributed", c.fixed_other)
            } else {
                String::new()
            },
            lacking - fixed,
            pct(fixed),
            pct(c.via_template)
        );
        for (why, at) in &c.missing {
            eprintln!(
                "  missing {}× {why}\n      {}",
                at.len(),
                at.join("\n      ")
            );
        }
    }
    let (mut lacking, mut fixed, mut via_template) = (0, 0, 0);
    for c in counts.values() {
        lacking += c.asked - c.held;
        fixed += c.via_template + c.via_values + c.fixed_other;
        via_template += c.via_template;
    }
    eprintln!(
        "all fields: {fixed} of {lacking} lacking fixed ({:.1}%; template edits alone {:.1}%)",
        100.0 * fixed as f64 / lacking.max(1) as f64,
        100.0 * via_template as f64 / lacking.max(1) as f64
    );
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in errors {
        let (f, m) = (e["file"].as_str(), e["message"].as_str().unwrap_or(""));
        let r = e["recipe"].as_str().unwrap_or("?");
        by_reason
            .entry(format!("{r}: {}", reason(f, m)))
            .or_default()
            .push(f.unwrap_or("(no file)").to_string());
    }
    for (why, files) in &by_reason {
        eprintln!(
            "refused {}× {why}\n      {}",
            files.len(),
            files.join("\n      ")
        );
    }
    for e in &excluded {
        eprintln!("excluded, does not render before: {e}");
    }
    let skipped_deps: Vec<&String> = rendered
        .iter()
        .filter(|(_, r)| {
            matches!(
                r,
                Rendered::Both {
                    ignored_deps: true,
                    ..
                }
            )
        })
        .map(|(d, _)| d)
        .collect();
    eprintln!(
        "charts: {} rendered, {} excluded, rendered without unvendored dependencies: {skipped_deps:?}; {random_ignored} random rendered differences ignored",
        rendered.len() - excluded.len(),
        excluded.len()
    );
    for w in &wrong {
        eprintln!("  WRONG: {w}");
    }
    eprintln!(
        "wrong rendered differences: {} ({render_secs:.1} s rendering, {:.1} s in all)",
        wrong.len(),
        start.elapsed().as_secs_f64()
    );

    assert!(
        !counts.is_empty(),
        "no Deployment or Job rendered from the corpus"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong rendered differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let unexplained: Vec<&String> = counts
        .values()
        .filter_map(|c| c.missing.get("NO REASON"))
        .flatten()
        .collect();
    assert!(
        unexplained.is_empty(),
        "still missing without a refusal naming why:\n{unexplained:#?}"
    );
}
