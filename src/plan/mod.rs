//! The planner: resolves recipes against documents' JSON models into concrete RFC 6902
//! operations, emitted only where the recipe does not already hold. Pure data in, pure data
//! out: no text, no spans, no I/O.

pub mod includes;
mod resolve;
pub mod values;

use std::borrow::Cow;
use std::sync::Arc;

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use jsonptr::PointerBuf;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::path::{PathExpr, Segment};
use crate::recipe::{
    Cond, FileRule, FlagEdit, NewValue, Origin, Placement, Rule, StepAnchor, StepSelector, When,
};

pub use resolve::{Resolution, resolve};

/// One planned operation, tagged with the recipe (and recipe line) that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOp {
    pub op: PatchOperation,
    pub recipe: Arc<str>,
    pub origin: Origin,
    /// When the op's value (or part of it) came from a `(yaml)` snippet: the pointer where
    /// the snippet's root lands and the snippet text, so the editor can keep its comments
    /// and block scalars.
    pub snippet: Option<(String, Arc<str>)>,
    /// Editor data beside the op, not part of it: for an `add` of a new mapping key, the
    /// sibling it goes next to (`after=`/`before=` in the recipe).
    pub placement: Option<Placement>,
    /// On a values file: the template line and rendered pointer this op stands for.
    pub via: Option<values::Via>,
}

impl PlannedOp {
    pub fn path(&self) -> &str {
        match &self.op {
            PatchOperation::Add(o) => o.path.as_str(),
            PatchOperation::Remove(o) => o.path.as_str(),
            PatchOperation::Replace(o) => o.path.as_str(),
            PatchOperation::Move(o) => o.path.as_str(),
            PatchOperation::Copy(o) => o.path.as_str(),
            PatchOperation::Test(o) => o.path.as_str(),
        }
    }

    /// The op as RFC 6902 JSON with an extra `recipe` member.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.op).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("recipe".into(), Value::String(self.recipe.to_string()));
            if let Some(via) = &self.via {
                m.insert(
                    "via".into(),
                    serde_json::to_value(via).unwrap_or(Value::Null),
                );
            }
        }
        v
    }
}

/// Something the user should know that does not stop the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub recipe: String,
    /// `recipes/x.kdl:3:5`
    pub origin: String,
    /// The target file, when the finding is about one.
    pub file: Option<String>,
    pub message: String,
}

impl Finding {
    /// A finding about `recipe`, raised by its node at `origin`, optionally in one file.
    pub fn new(
        recipe: &crate::recipe::Recipe,
        origin: &Origin,
        file: Option<&str>,
        message: String,
    ) -> Finding {
        Finding {
            recipe: recipe.name.clone(),
            origin: origin.to_string(),
            file: file.map(str::to_string),
            message,
        }
    }

    /// A finding that belongs to no recipe (the root, the recipe directory).
    pub fn plain(message: String) -> Finding {
        Finding {
            recipe: String::new(),
            origin: String::new(),
            file: None,
            message,
        }
    }
}

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
/// the ones before it.
pub fn plan_document(recipe: &Arc<str>, rule: &FileRule, model: &Value) -> DocPlan {
    // Edited scripts are checked by `bash -n` side by side, not one after another; if one
    // fails, the document is planned again with the (remembered) answers, refusals included.
    crate::shell::with_deferred_checks(|| plan_document_now(recipe, rule, model))
        .unwrap_or_else(|| plan_document_now(recipe, rule, model))
}

fn plan_document_now(recipe: &Arc<str>, rule: &FileRule, model: &Value) -> DocPlan {
    let mut p = Planner::new(recipe, model);
    let root: Vec<String> = Vec::new();
    if p.whens_hold(&rule.whens, &root) {
        p.rules(&rule.rules, &root);
    }
    p.finish()
}

struct Planner<'m> {
    recipe: Arc<str>,
    /// The model as the ops so far leave it: borrowed until the first op (most rules plan
    /// nothing, and a model is as costly to copy as to build).
    working: Cow<'m, Value>,
    out: DocPlan,
    /// The placement hint of the `set`/`ensure` being planned; `ensure_json` attaches it to
    /// the op that adds the target key itself (not a missing ancestor).
    placement: Option<Placement>,
}

impl<'m> Planner<'m> {
    fn new(recipe: &Arc<str>, model: &'m Value) -> Self {
        Planner {
            recipe: recipe.clone(),
            working: Cow::Borrowed(model),
            out: DocPlan::default(),
            placement: None,
        }
    }

    fn finish(mut self) -> DocPlan {
        if let Cow::Owned(m) = self.working {
            self.out.model = Some(m);
        }
        self.out
    }

    fn rules(&mut self, rules: &[Rule], base: &[String]) {
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
                        match crate::shell::wrap_retry(script, *attempts, *delay) {
                            // `wrap_retry` has checked the wrapped script (`bash -n`).
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

    /// The workflow steps a selector matches, as `/jobs/<job>/steps/<i>` key paths. Every
    /// field is a whole-string glob ([`glob_match`]); no field at all selects every step.
    fn steps(&mut self, sel: &StepSelector, origin: &Origin) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        let mut seen = Vec::new();
        let mut other_jobs = Vec::new();
        let mut any_job = false;
        if let Some(Value::Object(jobs)) = self.working.get("jobs") {
            for (job_id, job) in jobs {
                if sel.job.as_deref().is_some_and(|j| !glob_match(j, job_id)) {
                    other_jobs.push(format!("job {job_id}"));
                    continue;
                }
                any_job = true;
                let Some(Value::Array(steps)) = job.get("steps") else {
                    continue;
                };
                for (i, step) in steps.iter().enumerate() {
                    let field = |k: &str| step.get(k).and_then(Value::as_str);
                    let fits = |pattern: &Option<String>, k: &str| {
                        pattern
                            .as_deref()
                            .is_none_or(|p| field(k).is_some_and(|x| glob_match(p, x)))
                    };
                    if fits(&sel.name, "name") && fits(&sel.id, "id") && fits(&sel.uses, "uses") {
                        found.push(vec![
                            "jobs".into(),
                            job_id.clone(),
                            "steps".into(),
                            i.to_string(),
                        ]);
                        continue;
                    }
                    // Show the field the selector asks about, so misses rank against it.
                    let asked = [("name", &sel.name), ("id", &sel.id), ("uses", &sel.uses)]
                        .into_iter()
                        .find_map(|(k, p)| p.as_ref().and(field(k)));
                    if let Some(label) = asked.or(field("name")).or(field("id")).or(field("uses")) {
                        seen.push(format!("{job_id}: {label}"));
                    }
                }
            }
        }
        if !any_job {
            seen.extend(other_jobs);
        }
        let mut probe = Probe::new(origin, describe_step(sel), found.len(), seen);
        probe.wanted = [&sel.name, &sel.id, &sel.uses, &sel.job]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        probe.warns_when_optional = true;
        self.out.probes.push(probe);
        found
    }

    /// The shell that runs a step's `run:` script: the step's `shell`, else the job's or the
    /// workflow's `defaults.run.shell`, else bash (PowerShell on Windows runners).
    fn step_shell(&self, target: &[String]) -> Option<String> {
        let [jobs, _, steps, _, run] = target else {
            return None;
        };
        if jobs != "jobs" || steps != "steps" || run != "run" {
            return None;
        }
        let step = lookup(&self.working, &target[..4])?;
        let job = lookup(&self.working, &target[..2])?;
        let default = |v: &Value| {
            v.pointer("/defaults/run/shell")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let shell = step
            .get("shell")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| default(job))
            .or_else(|| default(&self.working));
        Some(shell.unwrap_or_else(|| {
            let runs_on = job.get("runs-on").map(Value::to_string).unwrap_or_default();
            if runs_on.contains("windows") {
                "pwsh"
            } else {
                "bash"
            }
            .to_string()
        }))
    }

    /// A `command` rule at one base (a step, an `each` node, or the document root): one
    /// probe for all the scripts it looks at, so a miss is reported once, not per step.
    fn command(
        &mut self,
        words: &[String],
        path: &PathExpr,
        edits: &[FlagEdit],
        base: &[String],
        origin: &Origin,
    ) {
        let start: &[String] = if path.absolute { &[] } else { base };
        let res = resolve(&self.working, start, &path.segments, false);
        let (what, wanted) = if words.is_empty() {
            (format!("command arguments at `{path}`"), key_segments(path))
        } else {
            (
                format!("command `{}`", words.join(" ")),
                vec![words.join(" ")],
            )
        };
        let mut probe = Probe::new(origin, what, 0, Vec::new());
        probe.wanted = wanted;
        probe.warns_when_optional = true;
        // A step without a `run:` script is no candidate; a mistyped `path=` is worth naming.
        if res.targets.is_empty() && path.to_string() != "run" {
            probe.seen = res.seen;
        }
        for target in res.targets {
            self.edit_command(&target, words, edits, origin, &mut probe);
        }
        self.out.probes.push(probe);
    }

    fn edit_command(
        &mut self,
        target: &[String],
        words: &[String],
        edits: &[FlagEdit],
        origin: &Origin,
        probe: &mut Probe,
    ) {
        if let Some(shell) = self.step_shell(target) {
            let first = shell.split_whitespace().next().unwrap_or("").to_string();
            if !matches!(first.as_str(), "bash" | "sh") {
                // Not a POSIX shell script (pwsh, python, cmd): the command rule does not apply,
                // which is worth saying when the script seems to hold the command.
                let script = lookup(&self.working, target).and_then(Value::as_str);
                if !words.is_empty() && script.is_some_and(|s| s.contains(&words.join(" "))) {
                    probe.seen.push(format!(
                        "{} in {}, which runs `{first}` (only bash/sh scripts are edited)",
                        words.join(" "),
                        self.step_label(target)
                    ));
                }
                return;
            }
        }
        let Some(Value::String(script)) = lookup(&self.working, target) else {
            let found = lookup(&self.working, target).map_or("missing", type_name);
            self.out.errors.push((
                origin.clone(),
                format!(
                    "command: {} is {found}, not a shell script",
                    to_pointer(target)
                ),
            ));
            return;
        };
        let edits: Vec<crate::shell::CommandEdit> = edits.iter().map(shell_edit).collect();
        // No words: the string is a bare argument list (a folded `with/args`).
        let bare = words.is_empty();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        if !bare {
            // A script without the command is left alone (not even parsed by bash), so a
            // `command` over every `run:` script fails only on scripts that hold it.
            match crate::shell::command_heads(script, words.len()) {
                Some(heads) if !heads.iter().any(|h| *h == words) => {
                    probe.seen.extend(near_commands(&heads, &words));
                    return;
                }
                None if !script.contains(words[0]) => return,
                _ => {}
            }
        }
        let result = if bare {
            crate::shell::edit_folded_args(script, &edits)
        } else {
            crate::shell::edit_commands(script, &words, &edits)
        };
        match result {
            Ok(res) => {
                probe.matched += res.invocations;
                // The shell edit has checked its result (`bash -n`, or `cmd <args>` for a
                // folded argument list, which is not a script).
                if res.changed {
                    self.ensure_json(target, &Value::String(res.script), origin, None);
                }
            }
            Err(e) => self
                .out
                .errors
                .push((origin.clone(), format!("{}: {e}", to_pointer(target)))),
        }
    }

    /// `deploy: Helm upgrade` for a key path inside `/jobs/deploy/steps/<i>`.
    fn step_label(&self, target: &[String]) -> String {
        let (Some(job), Some(step)) = (
            target.get(1),
            lookup(&self.working, &target[..4.min(target.len())]),
        ) else {
            return to_pointer(target).to_string();
        };
        let named = ["name", "id", "uses"]
            .into_iter()
            .find_map(|k| step.get(k).and_then(Value::as_str));
        let label = match (named, step.get("run").and_then(Value::as_str)) {
            (Some(n), _) => n.to_string(),
            // An unnamed step is best recognised by its script's first line.
            (None, Some(run)) => {
                let line: String = run.lines().next().unwrap_or("").chars().take(40).collect();
                format!("`{line}`")
            }
            (None, None) => format!("step {}", target.get(3).map_or("?", |s| s)),
        };
        format!("{job}: {label}")
    }

    fn insert_step(
        &mut self,
        anchor: &StepAnchor,
        job: Option<&str>,
        step: &NewValue,
        origin: &Origin,
    ) {
        let (anchor_name, after) = match anchor {
            StepAnchor::Before(n) => (n, false),
            StepAnchor::After(n) => (n, true),
        };
        let key_of = |v: &Value| (v.get("name").cloned(), v.get("id").cloned());
        let wanted = key_of(&step.value);
        let mut inserts = Vec::new();
        let mut matched = 0;
        let mut seen = Vec::new();
        if let Some(Value::Object(jobs)) = self.working.get("jobs") {
            for (job_id, j) in jobs {
                if job.is_some_and(|x| !glob_match(x, job_id)) {
                    continue;
                }
                let Some(Value::Array(steps)) = j.get("steps") else {
                    continue;
                };
                let name_of = |s: &Value| s.get("name").and_then(Value::as_str).map(str::to_string);
                // The anchor is a step name or a `uses` (`actions/checkout@*`), as a glob; the
                // first matching step of the job is the anchor.
                let is_anchor = |s: &Value| {
                    ["name", "uses"].into_iter().any(|k| {
                        s.get(k)
                            .and_then(Value::as_str)
                            .is_some_and(|v| glob_match(anchor_name, v))
                    })
                };
                let Some(at) = steps.iter().position(is_anchor) else {
                    seen.extend(
                        steps
                            .iter()
                            .filter_map(name_of)
                            .map(|n| format!("{job_id}: {n}")),
                    );
                    continue;
                };
                matched += 1;
                let exists = steps.iter().any(|s| {
                    let (n, i) = key_of(s);
                    (wanted.0.is_some() && n == wanted.0) || (wanted.1.is_some() && i == wanted.1)
                });
                if !exists {
                    inserts.push((job_id.clone(), if after { at + 1 } else { at }));
                }
            }
        }
        let in_job = job.map(|j| format!(" in job `{j}`")).unwrap_or_default();
        let mut probe = Probe::new(
            origin,
            format!("step named `{anchor_name}`{in_job}"),
            matched,
            seen,
        );
        probe.wanted = vec![anchor_name.clone()];
        probe.warns_when_optional = true;
        self.out.probes.push(probe);
        for (job_id, index) in inserts {
            let path = vec!["jobs".into(), job_id, "steps".into(), index.to_string()];
            let snippet = step
                .yaml
                .clone()
                .map(|y| (to_pointer(&path).to_string(), y));
            let op = AddOperation {
                path: to_pointer(&path),
                value: step.value.clone(),
            };
            self.push(PatchOperation::Add(op), origin, snippet);
        }
    }

    fn whens_hold(&mut self, whens: &[When], base: &[String]) -> bool {
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

    fn push(&mut self, op: PatchOperation, origin: &Origin, snippet: Option<(String, Arc<str>)>) {
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

    fn ensure_json(
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

fn shell_edit(e: &FlagEdit) -> crate::shell::CommandEdit {
    use crate::shell::CommandEdit as C;
    match e.clone() {
        FlagEdit::Flag { name, value } => C::Flag { name, value },
        FlagEdit::RemoveFlag { name, takes_value } => C::RemoveFlag { name, takes_value },
        FlagEdit::ReplaceFlag { old, new } => C::ReplaceFlag { old, new },
    }
}

/// Whole-string glob match for step selectors (`name`, `id`, `job`, `uses` and insert-step
/// anchors): `*` is any run of characters, `?` exactly one, everything else itself
/// (case-sensitive). A pattern without `*`/`?` is an exact comparison.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it currently stands for: on a mismatch, it
    // absorbs one more character (linear backtracking; at most one `*` is ever reopened).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    pi = sp + 1;
                    ti = st + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Leading words of the script's commands that look like a near miss of `words`: the same
/// program, or a few edits away.
fn near_commands(heads: &[Vec<String>], words: &[&str]) -> Vec<String> {
    let wanted = words.join(" ");
    let mut out: Vec<String> = Vec::new();
    for h in heads {
        let shown = h.join(" ");
        let close = h.first().map(String::as_str) == words.first().copied()
            || strsim::levenshtein(&shown, &wanted) <= 3;
        if close && !out.contains(&shown) {
            out.push(shown);
        }
    }
    out
}

/// The plain keys of a path, to rank nearest misses against.
fn key_segments(path: &PathExpr) -> Vec<String> {
    path.segments
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn describe_step(sel: &StepSelector) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &sel.name {
        parts.push(format!("`{n}`"));
    }
    for (k, v) in [("job", &sel.job), ("id", &sel.id), ("uses", &sel.uses)] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if parts.is_empty() {
        // `step { ... }` with no selector: it can only miss when the file has no steps.
        return "step (every step)".to_string();
    }
    format!("step {}", parts.join(" "))
}

fn nest(keys: &[String], value: Value) -> Value {
    keys.iter().rev().fold(value, |acc, k| {
        let mut m = Map::new();
        m.insert(k.clone(), acc);
        Value::Object(m)
    })
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
    let mut p = Planner::new(recipe, model);
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

/// The unescaped keys of a JSON Pointer.
pub fn pointer_keys(pointer: &str) -> Vec<String> {
    jsonptr::Pointer::parse(pointer)
        .map(|p| p.tokens().map(|t| t.decoded().into_owned()).collect())
        .unwrap_or_default()
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

pub fn to_pointer(keys: &[String]) -> PointerBuf {
    PointerBuf::from_tokens(keys.iter().map(|k| jsonptr::Token::new(k.as_str())))
}

/// The value at concrete keys.
pub fn lookup<'a, S: AsRef<str>>(value: &'a Value, keys: &[S]) -> Option<&'a Value> {
    let mut v = value;
    for k in keys {
        let k = k.as_ref();
        v = match v {
            Value::Object(m) => m.get(k)?,
            Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn lookup_expr<'a>(model: &'a Value, path: &PathExpr) -> Vec<&'a Value> {
    resolve(model, &[], &path.segments, false)
        .targets
        .iter()
        .filter_map(|t| lookup(model, t))
        .collect()
}

/// Equality as the consumer sees it (the model is already in the consumer's dialect):
/// numbers compare by value, so `6` equals `6.0`.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        // Keys in the same order (the usual case) pair up without hashing.
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k, v), (yk, yv))| {
                    if k == yk {
                        values_equal(v, yv)
                    } else {
                        y.get(k).is_some_and(|w| values_equal(v, w))
                    }
                })
        }
        _ => a == b,
    }
}

pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The concrete segments of a selector-free path (for callers that need keys).
pub fn concrete_keys(path: &PathExpr) -> Option<Vec<String>> {
    path.segments
        .iter()
        .map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_match_is_whole_string_with_star_and_question_mark() {
        assert!(glob_match("Deploy *", "Deploy dev"));
        assert!(glob_match("Deploy *", "Deploy "));
        assert!(!glob_match("Deploy *", "Deploy"));
        assert!(
            !glob_match("Deploy", "Deploy dev"),
            "no implicit prefix match"
        );
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything at all"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("azure/*@v?", "azure/setup-helm@v4"));
        assert!(glob_match("*kubectl*apply*", "run kubectl then apply it"));
        assert!(
            glob_match("*ab", "aab"),
            "a star reopens after a partial match"
        );
        assert!(glob_match("é?", "éü"), "characters, not bytes");
        assert!(!glob_match("deploy", "Deploy"), "case-sensitive");
        assert!(
            glob_match("Build (x?)", "Build (x?)"),
            "metacharacters match themselves"
        );
    }
}
