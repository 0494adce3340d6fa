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
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::{Value, json};

use crate::doc::{Document, FileKind};
use crate::engine::FileChange;
use crate::plan::Finding;

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

/// The helm to run: `PATCHER_HELM`, else `helm` on `PATH`.
pub fn find_helm() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PATCHER_HELM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&p);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("PATCHER_HELM={} is not a file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
        .ok_or_else(|| "no helm (set PATCHER_HELM or put helm on PATH)".to_string())
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The template it came from, relative to the chart directory (`templates/x.yaml`).
    pub source: String,
    pub value: Value,
}

/// A render's objects by key (`apiVersion kind namespace/name`, a repeated key gets `#2`…).
pub type Rendered = BTreeMap<String, Object>;

/// Runs `helm template patcher <chart> --namespace patcher [-f FILE]...` and parses it.
pub fn render(helm: &Path, chart: &Path, values: &[PathBuf]) -> Result<Rendered, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", RELEASE]).arg(chart);
    cmd.args(["--namespace", NAMESPACE]);
    for v in values {
        cmd.arg("-f").arg(v);
    }
    let out = run_bounded(&mut cmd, HELM_TIMEOUT)
        .map_err(|e| format!("cannot run {}: {e}", helm.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
            .collect();
        // The error line and the two after it (a schema error names the property there).
        let at = lines
            .iter()
            .position(|l| l.starts_with("Error"))
            .unwrap_or(0);
        let msg = lines[at.min(lines.len())..]
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(if msg.is_empty() {
            format!("helm template exited with {}", out.status)
        } else {
            msg
        });
    }
    parse_manifests(&String::from_utf8_lossy(&out.stdout))
}

/// How long one `helm template` may take: a hung helm must not hang a CI job.
const HELM_TIMEOUT: Duration = Duration::from_secs(300);

/// `cmd.output()`, but the child is killed after `limit`.
fn run_bounded(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Both pipes drain on their own threads, so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("helm template did not finish in {}s", limit.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Parses `helm template` output: documents separated by `---`, each after a
/// `# Source: <chart>/<path>` comment.
pub fn parse_manifests(text: &str) -> Result<Rendered, String> {
    let mut chunks: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            chunks.push(String::new());
        } else if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    let mut out = Rendered::new();
    for chunk in chunks {
        let source = chunk
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Source: "))
            // `<chart name>/templates/x.yaml`: the path below the chart directory.
            .map(|s| {
                s.trim()
                    .split_once('/')
                    .map_or(s, |(_, rest)| rest)
                    .to_string()
            })
            .unwrap_or_default();
        let doc = Document::parse("<rendered>", chunk.clone(), FileKind::HelmValues)
            .map_err(|e| format!("rendered YAML from {source} does not read: {e}"))?;
        for d in doc.docs {
            if d.model.is_null() {
                continue;
            }
            let base = object_key(&d.model);
            let mut key = base.clone();
            let mut n = 1;
            while out.contains_key(&key) {
                n += 1;
                key = format!("{base}#{n}");
            }
            out.insert(
                key,
                Object {
                    source: source.clone(),
                    value: d.model,
                },
            );
        }
    }
    Ok(out)
}

fn object_key(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let ns = v["metadata"]["namespace"].as_str().unwrap_or(NAMESPACE);
    format!(
        "{} {} {ns}/{}",
        s(&v["apiVersion"]),
        s(&v["kind"]),
        s(&v["metadata"]["name"])
    )
}

/// `Deployment patcher/web` from a key (the apiVersion dropped: kind and name identify it to a
/// reader).
fn display_key(key: &str) -> String {
    key.split_once(' ')
        .map_or(key, |(_, rest)| rest)
        .to_string()
}

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
                    out.add_via(&chart_relative(chart, &via.template), &via.pointer);
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
                let literal = |k: &str| {
                    model
                        .and_then(|m| m.get(k))
                        .and_then(Value::as_str)
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
}

fn chart_relative(chart: &str, path: &str) -> String {
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

    fn count(&self) -> usize {
        self.fields.values().map(Vec::len).sum::<usize>() + self.objects.len()
    }
}

const MASK: &str = "\u{0}patcher:masked\u{0}";
const PLANNED: &str = "\u{0}patcher:planned\u{0}";

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

fn short(v: Option<&Value>) -> String {
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
        let loose = expected.loose.get(&a.source).cloned().unwrap_or_default();
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
            let (unexplained, planned) = neutralize(&bv, &av, &doc.ops, &loose);
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
fn neutralize(
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

fn op_path(op: &PatchOperation) -> String {
    match op {
        PatchOperation::Add(o) => o.path.to_string(),
        PatchOperation::Remove(o) => o.path.to_string(),
        PatchOperation::Replace(o) => o.path.to_string(),
        PatchOperation::Move(o) => o.path.to_string(),
        PatchOperation::Copy(o) => o.path.to_string(),
        PatchOperation::Test(o) => o.path.to_string(),
    }
}

fn find_marks(v: &Value, at: &str, out: &mut Vec<String>) {
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

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn lookup<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(v);
    }
    v.pointer(pointer)
}

fn set_if_present(v: &mut Value, pointer: &str, to: &str) {
    if let Some(x) = v.pointer_mut(pointer) {
        *x = Value::String(to.into());
    }
}

/// Drops a key; a list item is replaced by the placeholder instead, so the items after it keep
/// their indices.
fn remove_if_present(v: &mut Value, pointer: &str) {
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
fn leaf_diff(a: Option<&Value>, b: Option<&Value>, at: &str, out: &mut Vec<String>) {
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetRender {
    /// Extra values files, relative to the chart.
    pub values: Vec<String>,
    pub state: SetState,
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
                format!("{with}{state}")
            })
            .collect();
        format!("rendered {name}: {}", parts.join("; "))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "chart": self.chart,
            "refused": self.refused,
            "helm_runs": self.renders,
            "millis": self.millis as u64,
            "sets": self.sets.iter().map(|s| {
                let (state, objects, fields, message) = match &s.state {
                    SetState::AsPlanned { objects, fields } => ("as-planned", *objects, *fields, None),
                    SetState::Direct { objects, fields } => ("direct-values-edits", *objects, *fields, None),
                    SetState::NotRenderable(m) => ("not-renderable-before", 0, 0, Some(m.clone())),
                    SetState::Refused(m) => ("refused", 0, 0, Some(m.clone())),
                };
                json!({"values": s.values, "state": state, "objects": objects, "fields": fields, "message": message})
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

/// The chart directory of `path` (relative to `root`): its nearest ancestor holding a
/// `Chart.yaml`, relative to the root (`""` for the root itself).
pub fn chart_of(root: &Path, path: &str) -> Option<String> {
    let mut dir = Path::new(path).parent();
    while let Some(d) = dir {
        if root.join(d).join("Chart.yaml").is_file() {
            return Some(d.to_string_lossy().replace('\\', "/"));
        }
        dir = d.parent();
    }
    None
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
    let prepared: Vec<(String, Vec<&FileChange>, Result<Prepared, String>)> = charts
        .into_iter()
        .map(|(chart, files)| {
            let p = prepare(root, &chart, &files, named);
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

/// One chart, ready to render: its expectation, the after copy, the values sets.
struct Prepared {
    expected: Expected,
    before_dir: PathBuf,
    after_dir: PathBuf,
    sets: Vec<Vec<String>>,
    /// Holds the after copy until the renders are done.
    _tmp: tempfile::TempDir,
}

fn prepare(
    root: &Path,
    chart: &str,
    files: &[&FileChange],
    named: &BTreeSet<String>,
) -> Result<Prepared, String> {
    let shown = if chart.is_empty() { "." } else { chart };
    let tmp = tempfile::tempdir()
        .map_err(|e| format!("render verification of {shown}/: cannot make a temp dir: {e}"))?;
    let before_dir = root.join(chart);
    let after_dir = tmp.path().join("chart");
    copy_chart(&before_dir, &after_dir, files, chart)
        .map_err(|e| format!("render verification of {shown}/: cannot copy the chart: {e}"))?;
    let mut sets: Vec<Vec<String>> = vec![Vec::new()];
    sets.extend(values_sets(root, chart, named).into_iter().map(|v| vec![v]));
    Ok(Prepared {
        expected: Expected::from_changes(chart, files),
        before_dir,
        after_dir,
        sets,
        _tmp: tmp,
    })
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
        }
    }
}

/// Renders one values set of a chart before and after, and compares.
fn verify_set(helm: &Path, chart: &str, p: &Prepared, si: usize) -> SetOutcome {
    let started = Instant::now();
    let shown = if chart.is_empty() { "." } else { chart };
    let set = p.sets.get(si).cloned().unwrap_or_default();
    let expected = &p.expected;
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
    let state = 'state: {
        out.renders += 1;
        let before = match render(helm, &p.before_dir, &before_values) {
            Ok(r) => r,
            Err(why) => break 'state SetState::NotRenderable(why),
        };
        out.renders += 1;
        let after = match render(helm, &p.after_dir, &after_values) {
            Ok(r) => r,
            Err(why) => {
                break 'state SetState::Refused(format!(
                    "`helm template{with}` of {shown}/ fails after the edit (it rendered before): {why}"
                ));
            }
        };
        let mut cmp = compare(&before, &after, &Masks::default(), expected, strict);
        if !cmp.wrong.is_empty() || !strict {
            // Not clean: tell randomness from the edit with a second render of the same input.
            out.renders += 1;
            if let Ok(again) = render(helm, &p.before_dir, &before_values) {
                let masks = Masks::between(&before, &again);
                if masks.count() > 0 {
                    cmp = compare(&before, &after, &masks, expected, strict);
                }
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
    out.render = SetRender { values: set, state };
    out.millis = started.elapsed().as_millis();
    out
}

/// Copies the chart at `from` to `to` (files and directories; symlinks followed only to
/// files) with the new texts of `files` written in.
fn copy_chart(from: &Path, to: &Path, files: &[&FileChange], chart: &str) -> std::io::Result<()> {
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
    for c in files {
        let dst = to.join(chart_relative(chart, &c.path));
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(dst, &c.new_text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
