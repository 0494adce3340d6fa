//! Render verification: the last verifier before anything is written. For every chart the plan
//! touches, `helm template` renders the chart before and after the edit (release `patcher`,
//! namespace `patcher`; the chart's own values, and once more with each values file the
//! recipes name), and the rendered objects — keyed by apiVersion/kind/namespace/name — may
//! differ only where the planned ops said they would. The text verifier cannot see what Helm
//! makes of a template (a key glued to the output before it by a `-}}` trim reads fine as
//! text); this one can. Like the text verifier it can only refuse.
//!
//! - Fields that differ between two renders of the *same* input (`randAlphaNum`, `genCA`,
//!   timestamps) are masked. A second *before* render is only made when the first comparison
//!   is not clean, so a deterministic chart costs two renders per values set.
//! - Planned pointers: the ops of a template file, in the objects whose `# Source:` is that
//!   file (matched by source and kind, never by document index: guarded documents may not
//!   render). A values set that a recipe edits directly (`file "chart/values.yaml" { set … }`)
//!   has no predictable rendered effect: its differences are reported, not restricted.
//! - A chart that does not render *before* is reported and not verified: the edit did not
//!   cause that. One that stops rendering *after* is refused.
//!
//! [`Expected`] is plain data built from the changes of one chart ([`Expected::from_changes`]);
//! values-aware edits add entries with [`Expected::add_via`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use crate::change::FileChange;
use crate::doc::chart_of;
use crate::finding::Finding;

pub mod cache;
mod compare;
pub mod deps;
mod helm;

pub use compare::*;
pub use helm::*;

/// The release name and namespace of every render: fixed, so two renders compare.
pub const RELEASE: &str = "patcher";
pub const NAMESPACE: &str = "patcher";

/// `--render`: whether to verify with `helm template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderMode {
    /// When a helm is found; says once that rendering was skipped otherwise.
    #[default]
    Auto,
    /// A missing helm is an error.
    Always,
    Never,
}

/// The outcome of verifying one chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRender {
    /// Relative to the root, `""` for a chart at the root.
    pub chart: String,
    /// One per values set: `[]` (the chart's own values), then each named values file.
    pub sets: Vec<SetRender>,
    /// The chart is refused: why (already in the errors of its files).
    pub refused: Option<String>,
    /// Time spent on its values sets, summed (sets may run side by side).
    pub millis: u128,
    /// How many times helm ran for it.
    pub renders: usize,
    /// Not rendered at all, and why (a dependency found nowhere, a library chart).
    pub skipped: Option<String>,
    /// Dependencies missing from its `charts/` and rendered from a chart under the root:
    /// (name, that chart's directory).
    pub deps_from_root: Vec<(String, String)>,
    /// Dependencies found nowhere that the chart's values disable: rendered with an empty
    /// stand-in. (name, the condition that is false).
    pub deps_disabled: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetRender {
    /// Extra values files, relative to the chart.
    pub values: Vec<String>,
    pub state: SetState,
    /// The values schema loads this URL and could not: rendered with
    /// `--skip-schema-validation` (before and after alike).
    pub schema_skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetState {
    /// Every difference was planned.
    AsPlanned {
        objects: usize,
        fields: usize,
    },
    /// A values file of this set was edited directly: differences counted, not restricted.
    Direct {
        objects: usize,
        fields: usize,
    },
    /// The chart did not render before the edit: not verified.
    NotRenderable(String),
    Refused(String),
}

impl ChartRender {
    /// `rendered chart/: 3 objects, 5 fields changed, as planned`.
    pub fn line(&self) -> String {
        let name = if self.chart.is_empty() {
            "./".to_string()
        } else {
            format!("{}/", self.chart)
        };
        let parts: Vec<String> = self
            .sets
            .iter()
            .map(|s| {
                let with = if s.values.is_empty() {
                    String::new()
                } else {
                    format!("with -f {}: ", s.values.join(" -f "))
                };
                let state = match &s.state {
                    SetState::AsPlanned { objects, fields } => {
                        format!("{} changed, as planned", counts(*objects, *fields))
                    }
                    SetState::Direct { objects, fields } => format!(
                        "{} changed by direct values edits",
                        counts(*objects, *fields)
                    ),
                    SetState::NotRenderable(why) => {
                        format!("not verified: does not render before the edit ({why})")
                    }
                    SetState::Refused(_) => "refused (see the errors)".to_string(),
                };
                let schema = s.schema_skipped.as_ref().map_or(String::new(), |url| {
                    format!(
                        " (values schema not validated: it loads {url}, which could not be fetched)"
                    )
                });
                format!("{with}{state}{schema}")
            })
            .collect();
        let deps: Vec<String> = self
            .deps_from_root
            .iter()
            .map(|(n, dir)| format!("dependency {n} from {dir}/"))
            .chain(
                self.deps_disabled
                    .iter()
                    .map(|(n, by)| format!("dependency {n} left out: {by} is false")),
            )
            .collect();
        let deps = if deps.is_empty() {
            String::new()
        } else {
            format!(" ({})", deps.join("; "))
        };
        format!("rendered {name}{deps}: {}", parts.join("; "))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "chart": self.chart,
            "refused": self.refused,
            "helm_runs": self.renders,
            "millis": self.millis as u64,
            "skipped": self.skipped,
            "dependencies_from_root": self.deps_from_root.iter().map(|(n, d)| json!({"name": n, "chart": d})).collect::<Vec<_>>(),
            "dependencies_disabled": self.deps_disabled.iter().map(|(n, by)| json!({"name": n, "condition": by})).collect::<Vec<_>>(),
            "sets": self.sets.iter().map(|s| {
                let (state, objects, fields, message) = match &s.state {
                    SetState::AsPlanned { objects, fields } => ("as-planned", *objects, *fields, None),
                    SetState::Direct { objects, fields } => ("direct-values-edits", *objects, *fields, None),
                    SetState::NotRenderable(m) => ("not-renderable-before", 0, 0, Some(m.clone())),
                    SetState::Refused(m) => ("refused", 0, 0, Some(m.clone())),
                };
                json!({"values": s.values, "state": state, "objects": objects, "fields": fields, "message": message, "schema_validation_skipped": s.schema_skipped})
            }).collect::<Vec<_>>(),
        })
    }
}

fn counts(objects: usize, fields: usize) -> String {
    format!(
        "{objects} object{}, {fields} field{}",
        if objects == 1 { "" } else { "s" },
        if fields == 1 { "" } else { "s" }
    )
}

/// `rendered N of M charts` and why the others were not: the plan's closing note.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Charts that rendered in every values scenario, before the edit.
    pub rendered: usize,
    pub charts: usize,
    pub scenarios_rendered: usize,
    pub scenarios: usize,
    /// Each chart not counted: `chart/` and why, per scenario that did not render.
    pub others: Vec<(String, Vec<String>)>,
}

/// The summary of the charts a plan rendered; `None` when it rendered none.
pub fn summary(charts: &[ChartRender]) -> Option<Summary> {
    if charts.is_empty() {
        return None;
    }
    let mut s = Summary {
        rendered: 0,
        charts: charts.len(),
        scenarios_rendered: 0,
        scenarios: 0,
        others: Vec::new(),
    };
    for c in charts {
        let name = if c.chart.is_empty() {
            "./".to_string()
        } else {
            format!("{}/", c.chart)
        };
        let mut why = Vec::new();
        if let Some(skip) = &c.skipped {
            why.push(skip.clone());
        } else if let Some(refused) = &c.refused
            && c.sets.is_empty()
        {
            why.push(refused.clone());
        }
        for set in &c.sets {
            s.scenarios += 1;
            match &set.state {
                SetState::NotRenderable(m) => why.push(if set.values.is_empty() {
                    format!("with its default values: {m}")
                } else {
                    format!("with -f {}: {m}", set.values.join(" -f "))
                }),
                _ => s.scenarios_rendered += 1,
            }
        }
        if why.is_empty() {
            s.rendered += 1;
        } else {
            s.others.push((name, why));
        }
    }
    Some(s)
}

impl Summary {
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "rendered {} of {} chart{} ({} of {} values scenario{})",
            self.rendered,
            self.charts,
            if self.charts == 1 { "" } else { "s" },
            self.scenarios_rendered,
            self.scenarios,
            if self.scenarios == 1 { "" } else { "s" }
        )];
        for (chart, why) in &self.others {
            for w in why {
                out.push(format!("  not rendered {chart}: {w}"));
            }
        }
        out
    }

    pub fn to_json(&self) -> Value {
        json!({
            "rendered": self.rendered,
            "charts": self.charts,
            "scenarios_rendered": self.scenarios_rendered,
            "scenarios": self.scenarios,
            "not_rendered": self.others.iter().map(|(c, why)| json!({"chart": c.trim_end_matches('/'), "reasons": why})).collect::<Vec<_>>(),
        })
    }
}

/// What render verification of a whole plan found.
#[derive(Debug, Default)]
pub struct Verified {
    pub charts: Vec<ChartRender>,
    /// Files refused, with their errors (every changed file of a refused chart).
    pub refused: Vec<Finding>,
    /// Errors naming no file (`--render always` without helm).
    pub errors: Vec<Finding>,
    /// `render verification skipped: …`, said once.
    pub skipped: Option<String>,
}

/// Verifies the render of every chart `changes` touch. `named` are the files the recipes name
/// (their values files under a chart are rendered as extra values sets); `helm` overrides
/// [`find_helm`].
pub fn verify(
    root: &Path,
    changes: &[FileChange],
    named: &BTreeSet<String>,
    mode: RenderMode,
    helm: Option<&Path>,
) -> Verified {
    let mut out = Verified::default();
    let mut charts: BTreeMap<String, Vec<&FileChange>> = BTreeMap::new();
    for c in changes {
        if c.old_text == c.new_text {
            continue;
        }
        if let Some(chart) = chart_of(root, &c.path) {
            charts.entry(chart).or_default().push(c);
        }
    }
    // `always` checks for a helm even when no chart changed: a broken CI setup shows at once.
    if mode == RenderMode::Never || (charts.is_empty() && mode != RenderMode::Always) {
        return out;
    }
    let helm = match helm.map_or_else(find_helm, |h| Ok(h.to_path_buf())) {
        Ok(h) => h,
        Err(why) => {
            if mode == RenderMode::Always {
                let msg = format!("--render always: {why}");
                for files in charts.values() {
                    for c in files {
                        out.refused
                            .push(file_finding(c, format!("not render-verified: {msg}")));
                    }
                }
                out.errors.push(Finding::plain(msg));
            } else {
                out.skipped = Some(format!("render verification skipped: {why}"));
            }
            return out;
        }
    };
    // Every (chart, values set) is one job; jobs run two at a time.
    let index = std::sync::OnceLock::new();
    let prepared: Vec<(String, Vec<&FileChange>, Result<Prepared, String>)> = charts
        .into_iter()
        .map(|(chart, files)| {
            let p = prepare(root, &chart, &files, changes, named, &index);
            (chart, files, p)
        })
        .collect();
    let jobs: Vec<(usize, usize)> = prepared
        .iter()
        .enumerate()
        .flat_map(|(ci, (_, _, p))| {
            let n = p.as_ref().map_or(0, |p| p.sets.len());
            (0..n).map(move |si| (ci, si))
        })
        .collect();
    let results = two_at_a_time(&jobs, |&(ci, si)| {
        let (chart, _, p) = &prepared[ci];
        match p {
            Ok(p) => verify_set(&helm, chart, p, si),
            Err(_) => SetOutcome::default(),
        }
    });
    let mut per_chart: Vec<Vec<SetOutcome>> = prepared.iter().map(|_| Vec::new()).collect();
    for (&(ci, _), r) in jobs.iter().zip(results) {
        per_chart[ci].push(r);
    }
    for ((chart, files, p), sets) in prepared.iter().zip(per_chart) {
        let shown = if chart.is_empty() { "." } else { chart };
        let mut report = ChartRender {
            chart: chart.clone(),
            sets: Vec::new(),
            refused: p.as_ref().err().cloned(),
            millis: 0,
            renders: 0,
            skipped: p.as_ref().ok().and_then(|p| p.skipped.clone()),
            deps_from_root: p.as_ref().map_or(Vec::new(), |p| p.deps.clone()),
            deps_disabled: p.as_ref().map_or(Vec::new(), |p| {
                p.disabled
                    .iter()
                    .map(|d| (d.name.clone(), d.by.clone()))
                    .collect()
            }),
        };
        let mut wrong = Vec::new();
        for set in sets {
            report.millis += set.millis;
            report.renders += set.renders;
            if let SetState::Refused(m) = &set.render.state {
                wrong.push(m.clone());
            }
            report.sets.push(set.render);
        }
        if !wrong.is_empty() {
            report.refused = Some(format!(
                "render verification refused every change in {shown}/: {}",
                wrong.join("; ")
            ));
        }
        if let Some(why) = &report.refused {
            for c in files {
                out.refused.push(file_finding(c, why.clone()));
            }
        }
        out.charts.push(report);
    }
    out
}

/// A finding on one changed file, blamed on its first op's recipe.
fn file_finding(c: &FileChange, message: String) -> Finding {
    let op = c.docs.iter().flat_map(|(_, o)| o).next();
    let (recipe, origin) = match (op, c.text_ops.first()) {
        (Some(o), _) => (o.recipe.to_string(), o.origin.to_string()),
        (None, Some(t)) => (t.recipe.to_string(), t.origin.to_string()),
        _ => (String::new(), String::new()),
    };
    Finding {
        recipe,
        origin,
        file: Some(c.path.clone()),
        message,
    }
}

/// Maps `f` over `items` on two threads (renders are whole processes: two cores' worth).
fn two_at_a_time<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..items.len().min(2) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Values files the recipes name inside `chart` (not its templates, subcharts or Chart.yaml,
/// nor its own values.yaml, which every render reads), relative to the chart.
fn values_sets(root: &Path, chart: &str, named: &BTreeSet<String>) -> Vec<String> {
    named
        .iter()
        .filter(|f| chart_of(root, f).as_deref() == Some(chart))
        .map(|f| chart_relative(chart, f))
        .filter(|rel| {
            (rel.ends_with(".yaml") || rel.ends_with(".yml"))
                && !rel.starts_with("templates/")
                && !rel.starts_with("charts/")
                && rel != "Chart.yaml"
                && rel != "values.yaml"
        })
        .collect()
}

/// The chart-testing scenarios of a chart: its `ci/*.yaml` (and `.yml`) values files, by name,
/// relative to the chart.
pub(crate) fn ci_values(chart_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(chart_dir.join("ci"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .map(|n| format!("ci/{n}"))
        .collect();
    out.sort();
    out
}

/// One chart, ready to render: its expectation, the before and after copies, the values sets.
struct Prepared {
    expected: Expected,
    before_dir: PathBuf,
    after_dir: PathBuf,
    /// The default values (`[]`), each `ci/*.yaml`, then each values file the recipes name.
    sets: Vec<Vec<String>>,
    /// Why it is not rendered at all (then `sets` is empty).
    skipped: Option<String>,
    deps: Vec<(String, String)>,
    /// Missing dependencies the values disable: an empty stand-in in each copy.
    disabled: Vec<deps::Disabled>,
    /// Holds the copies until the renders are done.
    _tmp: Option<tempfile::TempDir>,
}

fn prepare(
    root: &Path,
    chart: &str,
    files: &[&FileChange],
    changes: &[FileChange],
    named: &BTreeSet<String>,
    index: &std::sync::OnceLock<deps::ChartIndex>,
) -> Result<Prepared, String> {
    let shown = if chart.is_empty() { "." } else { chart };
    let before_dir = root.join(chart);
    let resolution = deps::resolve(root, chart, index);
    if let Some(why) = resolution.blocked() {
        return Ok(Prepared {
            expected: Expected::default(),
            before_dir: before_dir.clone(),
            after_dir: before_dir,
            sets: Vec::new(),
            skipped: Some(why),
            deps: resolution.from_root,
            disabled: resolution.disabled,
            _tmp: None,
        });
    }
    let tmp = tempfile::tempdir()
        .map_err(|e| format!("render verification of {shown}/: cannot make a temp dir: {e}"))?;
    let own_edits: Vec<(String, &str)> = files
        .iter()
        .map(|c| (chart_relative(chart, &c.path), c.new_text.as_str()))
        .collect();
    let copy = |to: &Path, edits: &[(String, &str)], after: bool| -> std::io::Result<()> {
        copy_chart(&before_dir, to, edits)?;
        // A dependency from the root, as it is after the edit when the plan changes it too.
        for (name, dir) in &resolution.from_root {
            let dep_edits: Vec<(String, &str)> = if after {
                changes
                    .iter()
                    .filter(|c| c.path.starts_with(&format!("{dir}/")))
                    .map(|c| (chart_relative(dir, &c.path), c.new_text.as_str()))
                    .collect()
            } else {
                Vec::new()
            };
            copy_chart(&root.join(dir), &deps::slot(to, name), &dep_edits)?;
        }
        for d in &resolution.disabled {
            let slot = deps::slot(to, &d.name);
            std::fs::create_dir_all(&slot)?;
            std::fs::write(slot.join("Chart.yaml"), d.stand_in())?;
        }
        Ok(())
    };
    // Without dependencies to add, the chart renders before the edit where it is.
    let before_dir = if resolution.from_root.is_empty() && resolution.disabled.is_empty() {
        before_dir.clone()
    } else {
        let dir = tmp.path().join("before").join(chart_dir_name(chart));
        copy(&dir, &[], false)
            .map_err(|e| format!("render verification of {shown}/: cannot copy the chart: {e}"))?;
        dir
    };
    let after_dir = tmp.path().join("after").join(chart_dir_name(chart));
    copy(&after_dir, &own_edits, true)
        .map_err(|e| format!("render verification of {shown}/: cannot copy the chart: {e}"))?;
    let mut sets: Vec<Vec<String>> = vec![Vec::new()];
    for v in ci_values(&root.join(chart))
        .into_iter()
        .chain(values_sets(root, chart, named))
    {
        if !sets.iter().any(|s| s.len() == 1 && s[0] == v) {
            sets.push(vec![v]);
        }
    }
    Ok(Prepared {
        expected: Expected::from_changes(chart, files),
        before_dir,
        after_dir,
        sets,
        skipped: None,
        deps: resolution.from_root,
        disabled: resolution.disabled,
        _tmp: Some(tmp),
    })
}

/// The directory name of a chart copy: its own (helm names nothing after it, but a reader of
/// a temp path recognises it).
fn chart_dir_name(chart: &str) -> String {
    chart
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("chart")
        .to_string()
}

#[derive(Default)]
struct SetOutcome {
    render: SetRender,
    renders: usize,
    millis: u128,
}

impl Default for SetRender {
    fn default() -> Self {
        SetRender {
            values: Vec::new(),
            state: SetState::NotRenderable("not rendered".into()),
            schema_skipped: None,
        }
    }
}

/// Renders one values set of a chart before and after, and compares.
fn verify_set(helm: &Path, chart: &str, p: &Prepared, si: usize) -> SetOutcome {
    let started = Instant::now();
    let shown = if chart.is_empty() { "." } else { chart };
    let set = p.sets.get(si).cloned().unwrap_or_default();
    let expected = &p.expected.for_set(&set);
    let mut out = SetOutcome::default();
    // A values file that does not exist before the edit is read after it only.
    let values_in = |dir: &Path| -> Vec<PathBuf> {
        set.iter()
            .map(|v| dir.join(v))
            .filter(|p| p.is_file())
            .collect()
    };
    let (before_values, after_values) = (values_in(&p.before_dir), values_in(&p.after_dir));
    let strict = !expected.direct.iter().any(|d| {
        // A template helper, Chart.yaml, a new template… or a values file this set reads.
        !d.ends_with(".yaml") && !d.ends_with(".yml")
            || d == "values.yaml"
            || d == "Chart.yaml"
            || d.starts_with("templates/")
            || set.contains(d)
    });
    let with = if set.is_empty() {
        String::new()
    } else {
        format!(" -f {}", set.join(" -f "))
    };
    let mut schema_skipped = None;
    let state = 'state: {
        // A scenario that turns on a dependency found nowhere cannot render as helm would.
        let enables = p.disabled.iter().find(|d| {
            before_values.iter().any(|v| {
                std::fs::read_to_string(v)
                    .ok()
                    .and_then(|t| yaml_serde::from_str::<Value>(&t).ok())
                    .is_some_and(|m| d.enabled_by(&m))
            })
        });
        if let Some(d) = enables {
            break 'state SetState::NotRenderable(format!(
                "it enables dependency {} ({}), which is not in charts/ and no chart under the root is named {}",
                d.name, d.by, d.name
            ));
        }
        let render_before = |skip: bool, name: &str, runs: &mut usize| {
            cached(helm, &p.before_dir, &before_values, skip, name, runs)
        };
        let before = match render_before(false, "first", &mut out.renders) {
            Ok(r) => r,
            // Offline, a schema that loads a URL fails whatever the values: validation is
            // skipped for both renders, and the plan says so.
            Err(Failure {
                schema_url: Some(url),
                ..
            }) => match render_before(true, "first", &mut out.renders) {
                Ok(r) => {
                    schema_skipped = Some(url);
                    r
                }
                Err(f) => break 'state SetState::NotRenderable(f.message),
            },
            Err(f) => break 'state SetState::NotRenderable(f.message),
        };
        let skip = schema_skipped.is_some();
        let after = match render(helm, &p.after_dir, &after_values, skip, &mut out.renders) {
            Ok(r) => r,
            Err(why) => {
                break 'state SetState::Refused(format!(
                    "`helm template{with}` of {shown}/ fails after the edit (it rendered before): {}",
                    why.message
                ));
            }
        };
        let mut cmp = compare(&before, &after, &Masks::default(), expected, strict);
        let mut masks = Masks::default();
        if !cmp.wrong.is_empty() || !strict {
            // Not clean: tell randomness from the edit with a second render of the same input.
            if let Ok(again) = render_before(skip, "again", &mut out.renders) {
                masks = Masks::between(&before, &again);
                if masks.count() > 0 {
                    cmp = compare(&before, &after, &masks, expected, strict);
                }
            }
        }
        if !cmp.wrong.is_empty() && strict && !set.is_empty() {
            // The planned pointers index lists as the chart renders with its own values; in
            // this scenario an item may sit elsewhere (a sidecar it turns on comes first).
            if let Ok(reference) = cached(helm, &p.before_dir, &[], skip, "first", &mut out.renders)
            {
                cmp = compare_with(&before, &after, &masks, expected, strict, Some(&reference));
            }
        }
        if !cmp.wrong.is_empty() {
            const SHOWN: usize = 5;
            let mut list: Vec<String> = cmp
                .wrong
                .iter()
                .take(SHOWN)
                .map(|d| d.to_string())
                .collect();
            if cmp.wrong.len() > SHOWN {
                list.push(format!("… and {} more", cmp.wrong.len() - SHOWN));
            }
            SetState::Refused(format!(
                "the render of {shown}/ (`helm template{with}`) changes where no planned op does: {}",
                list.join("; ")
            ))
        } else if strict {
            SetState::AsPlanned {
                objects: cmp.objects,
                fields: cmp.fields,
            }
        } else {
            SetState::Direct {
                objects: cmp.objects,
                fields: cmp.fields,
            }
        }
    };
    out.render = SetRender {
        values: set,
        state,
        schema_skipped,
    };
    out.millis = started.elapsed().as_millis();
    out
}

/// A render of the chart before the edit, from the [`cache`] when it holds one for exactly
/// these inputs; `name` keeps the second render (the randomness probe) apart from the first.
fn cached(
    helm: &Path,
    chart: &Path,
    values: &[PathBuf],
    skip_schema: bool,
    name: &str,
    runs: &mut usize,
) -> Result<Rendered, Failure> {
    let store = cache::dir().and_then(|dir| {
        let rel: Vec<PathBuf> = values
            .iter()
            .map(|v| v.strip_prefix(chart).unwrap_or(v).to_path_buf())
            .collect();
        let key = cache::key(helm, &render_args(skip_schema), chart, &rel)?;
        Some((dir, key))
    });
    if let Some((dir, key)) = &store
        && let Some(text) = cache::get(dir, key, name)
        && let Ok(r) = parse_manifests(&text)
    {
        return Ok(r);
    }
    let text = render_text(helm, chart, values, skip_schema, runs)?;
    let r = parse_manifests(&text)?;
    if let Some((dir, key)) = &store {
        cache::put(dir, key, name, &text);
    }
    Ok(r)
}

/// Copies the chart at `from` to `to` (files and directories; symlinks followed only to
/// files) with `edits` (paths relative to the chart, new texts) written in.
fn copy_chart(from: &Path, to: &Path, edits: &[(String, &str)]) -> std::io::Result<()> {
    fn walk(from: &Path, to: &Path, depth: usize) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            let ty = e.file_type()?;
            let name = e.file_name();
            if name == ".git" {
                continue;
            }
            let (src, dst) = (e.path(), to.join(&name));
            if ty.is_dir() && depth < 32 {
                walk(&src, &dst, depth + 1)?;
            } else if ty.is_file() || (ty.is_symlink() && src.is_file()) {
                std::fs::copy(&src, &dst)?;
            }
        }
        Ok(())
    }
    walk(from, to, 0)?;
    for (rel, text) in edits {
        let dst = to.join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(dst, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use json_patch::PatchOperation;

    fn obj(source: &str, v: Value) -> (String, Object) {
        (
            object_key(&v),
            Object {
                source: source.into(),
                value: v,
            },
        )
    }

    fn add(path: &str, v: Value) -> PatchOperation {
        serde_json::from_value(json!({"op": "add", "path": path, "value": v})).expect("op")
    }

    fn deploy(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
    }

    fn expected_with(ops: Vec<PatchOperation>) -> Expected {
        let mut e = Expected::default();
        e.templates.insert(
            "templates/d.yaml".into(),
            vec![TemplateDoc {
                kind: Some("Deployment".into()),
                api_version: None,
                ops,
            }],
        );
        e
    }

    #[test]
    fn planned_add_is_as_planned_and_another_field_is_not() {
        let before: Rendered = [obj("templates/d.yaml", deploy(json!({"replicas": 1})))].into();
        let good: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"replicas": 1, "progressDeadlineSeconds": 600})),
        )]
        .into();
        let e = expected_with(vec![add("/spec/progressDeadlineSeconds", json!(600))]);
        let c = compare(&before, &good, &Masks::default(), &e, true);
        assert_eq!((c.objects, c.fields, c.wrong.len()), (1, 1, 0), "{c:?}");
        let bad: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"replicas": 2, "progressDeadlineSeconds": 600})),
        )]
        .into();
        let c = compare(&before, &bad, &Masks::default(), &e, true);
        assert_eq!(c.wrong.len(), 1);
        assert_eq!(
            c.wrong[0].to_string(),
            "Deployment patcher/web: /spec/replicas changed from 1 to 2"
        );
    }

    #[test]
    fn insertion_into_a_list_does_not_count_the_shifted_items() {
        let before: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"c": [{"name": "a"}, {"name": "b"}]})),
        )]
        .into();
        let after: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"c": [{"name": "x"}, {"name": "a"}, {"name": "b"}]})),
        )]
        .into();
        let e = expected_with(vec![add("/spec/c/0", json!({"name": "x"}))]);
        let c = compare(&before, &after, &Masks::default(), &e, true);
        assert!(c.wrong.is_empty(), "{c:?}");
    }

    #[test]
    fn ops_of_a_deployment_do_not_explain_a_change_in_a_service_of_the_same_template() {
        let svc =
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}});
        let mut svc2 = svc.clone();
        svc2["spec"]["progressDeadlineSeconds"] = json!(600);
        let before: Rendered = [obj("templates/d.yaml", svc)].into();
        let after: Rendered = [obj("templates/d.yaml", svc2)].into();
        let e = expected_with(vec![add("/spec/progressDeadlineSeconds", json!(600))]);
        let c = compare(&before, &after, &Masks::default(), &e, true);
        assert_eq!(c.wrong.len(), 1, "{c:?}");
        assert!(c.wrong[0].object.starts_with("Service"));
    }

    #[test]
    fn masked_fields_are_not_differences() {
        let before: Rendered = [obj("templates/d.yaml", deploy(json!({"token": "abc"})))].into();
        let again: Rendered = [obj("templates/d.yaml", deploy(json!({"token": "xyz"})))].into();
        let after: Rendered = [obj("templates/d.yaml", deploy(json!({"token": "qqq"})))].into();
        let masks = Masks::between(&before, &again);
        let c = compare(&before, &after, &masks, &Expected::default(), true);
        assert_eq!(c, Comparison::default());
    }

    #[test]
    fn manifests_are_keyed_and_sourced() {
        let text = "---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n";
        let r = parse_manifests(text).expect("parses");
        let keys: Vec<&String> = r.keys().collect();
        assert_eq!(keys, ["v1 Service patcher/s", "v1 Service patcher/s#2"]);
        assert_eq!(r["v1 Service patcher/s"].source, "templates/a.yaml");
    }

    #[test]
    fn planned_replace_and_remove_are_as_planned() {
        let before: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"replicas": 1, "paused": true})),
        )]
        .into();
        let after: Rendered = [obj("templates/d.yaml", deploy(json!({"replicas": 3})))].into();
        let ops = vec![
            serde_json::from_value(json!({"op": "replace", "path": "/spec/replicas", "value": 3}))
                .expect("op"),
            serde_json::from_value(json!({"op": "remove", "path": "/spec/paused"})).expect("op"),
        ];
        let c = compare(
            &before,
            &after,
            &Masks::default(),
            &expected_with(ops),
            true,
        );
        assert_eq!((c.objects, c.fields, c.wrong.len()), (1, 1, 0), "{c:?}");
    }

    #[test]
    fn a_new_object_is_refused_unless_its_template_renders_random_names() {
        let before: Rendered = Rendered::new();
        let after: Rendered = [obj("templates/d.yaml", deploy(json!({})))].into();
        let c = compare(
            &before,
            &after,
            &Masks::default(),
            &Expected::default(),
            true,
        );
        assert_eq!(c.wrong.len(), 1);
        assert_eq!(
            c.wrong[0].to_string(),
            "Deployment patcher/web: appears after the edit"
        );
        let masks = Masks {
            sources: ["templates/d.yaml".to_string()].into(),
            ..Masks::default()
        };
        let c = compare(&before, &after, &masks, &Expected::default(), true);
        assert!(c.wrong.is_empty());
    }

    #[test]
    fn direct_values_edits_are_counted_not_refused() {
        let before: Rendered = [obj("templates/d.yaml", deploy(json!({"replicas": 1})))].into();
        let after: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"replicas": 2, "paused": true})),
        )]
        .into();
        let c = compare(
            &before,
            &after,
            &Masks::default(),
            &Expected::default(),
            false,
        );
        assert_eq!((c.objects, c.fields, c.wrong.len()), (1, 2, 0));
    }

    #[test]
    fn a_via_pointer_allows_changes_below_it() {
        let before: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"resources": {"cpu": 1}})),
        )]
        .into();
        let after: Rendered = [obj(
            "templates/d.yaml",
            deploy(json!({"resources": {"cpu": 2, "memory": "1Gi"}})),
        )]
        .into();
        let mut e = Expected::default();
        e.add_via("templates/d.yaml", "/spec/resources");
        let c = compare(&before, &after, &Masks::default(), &e, true);
        assert!(c.wrong.is_empty(), "{c:?}");
        e.loose.clear();
        e.add_via("templates/other.yaml", "/spec/resources");
        let c = compare(&before, &after, &Masks::default(), &e, true);
        assert_eq!(c.wrong.len(), 2, "{c:?}");
    }

    /// prometheus-blackbox-exporter's `ci/config-reloader-values.yaml` turns on a
    /// `config-reloader` container that renders before the exporter's: the probe planned at
    /// `containers/0` (the exporter, with the chart's own values) renders at `containers/1`.
    #[test]
    fn a_planned_pointer_follows_its_container_by_name_in_another_scenario() {
        let pod =
            |containers: Value| deploy(json!({"template": {"spec": {"containers": containers}}}));
        let exporter = |delay: u64| json!({"name": "exporter", "livenessProbe": {"initialDelaySeconds": delay}});
        let reloader =
            json!({"name": "config-reloader", "livenessProbe": {"initialDelaySeconds": 1}});
        let defaults: Rendered = [obj("templates/d.yaml", pod(json!([exporter(1)])))].into();
        let before: Rendered = [obj(
            "templates/d.yaml",
            pod(json!([reloader.clone(), exporter(1)])),
        )]
        .into();
        let after: Rendered = [obj(
            "templates/d.yaml",
            pod(json!([reloader.clone(), exporter(30)])),
        )]
        .into();
        let mut e = Expected::default();
        e.add_via(
            "templates/d.yaml",
            "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds",
        );
        let by_index = compare(&before, &after, &Masks::default(), &e, true);
        assert_eq!(by_index.wrong.len(), 1, "{by_index:?}");
        let by_name = compare_with(
            &before,
            &after,
            &Masks::default(),
            &e,
            true,
            Some(&defaults),
        );
        assert!(by_name.wrong.is_empty(), "{by_name:?}");
        assert_eq!(by_name.fields, 1);
        // The same pointer does not explain a change in the other container.
        let wrong: Rendered =
            [obj("templates/d.yaml", pod(json!([{"name": "config-reloader", "livenessProbe": {"initialDelaySeconds": 30}}, exporter(1)])))].into();
        let c = compare_with(
            &before,
            &wrong,
            &Masks::default(),
            &e,
            true,
            Some(&defaults),
        );
        assert_eq!(c.wrong.len(), 1, "{c:?}");
        assert_eq!(
            c.wrong[0].pointer,
            "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds"
        );
        // Template ops are re-indexed alike.
        let e = expected_with(vec![add(
            "/spec/template/spec/containers/0/livenessProbe/initialDelaySeconds",
            json!(30),
        )]);
        let c = compare_with(
            &before,
            &after,
            &Masks::default(),
            &e,
            true,
            Some(&defaults),
        );
        assert!(c.wrong.is_empty(), "{c:?}");
    }

    #[test]
    fn reindex_keeps_indices_of_lists_without_distinct_names() {
        let r = json!({"c": [{"name": "a"}, {"name": "b"}], "args": ["x", "y"]});
        let t = json!({"c": [{"name": "b"}, {"name": "a"}], "args": ["y", "x"]});
        assert_eq!(reindex("/c/0/x", &r, &t), "/c/1/x");
        assert_eq!(reindex("/args/0", &r, &t), "/args/0");
        let dup = json!({"c": [{"name": "a"}, {"name": "a"}]});
        assert_eq!(reindex("/c/0/x", &r, &dup), "/c/0/x");
        assert_eq!(reindex("/missing/0", &r, &t), "/missing/0");
        assert_eq!(reindex("", &r, &t), "");
    }

    #[test]
    fn the_chart_of_a_file_is_its_nearest_chart_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["app", "app/charts/sub"] {
            std::fs::create_dir_all(dir.path().join(d).join("templates")).expect("mkdir");
            std::fs::write(dir.path().join(d).join("Chart.yaml"), "name: x\n").expect("write");
        }
        let of = |p: &str| chart_of(dir.path(), p);
        assert_eq!(of("app/templates/a.yaml").as_deref(), Some("app"));
        assert_eq!(of("app/values-ci.yaml").as_deref(), Some("app"));
        assert_eq!(
            of("app/charts/sub/templates/a.yaml").as_deref(),
            Some("app/charts/sub")
        );
        assert_eq!(of(".github/workflows/ci.yml"), None);
        let named: BTreeSet<String> = [
            "app/values.yaml",
            "app/values-ci.yaml",
            "app/Chart.yaml",
            "app/templates/a.yaml",
            "app/charts/sub/values.yaml",
        ]
        .map(String::from)
        .into();
        assert_eq!(values_sets(dir.path(), "app", &named), ["values-ci.yaml"]);
    }
}
