//! The planner: resolves recipes against documents' JSON models into concrete RFC 6902
//! operations, emitted only where the recipe does not already hold. Pure data in, pure data
//! out: no text, no spans, no I/O.

mod resolve;

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

/// Result of planning one document against one file rule.
#[derive(Debug, Default)]
pub struct DocPlan {
    pub ops: Vec<PlannedOp>,
    pub errors: Vec<(Origin, String)>,
    /// Selectors and `when`s with whether they matched, for nearest-miss warnings that are
    /// aggregated over all documents by the caller.
    pub probes: Vec<Probe>,
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
}

/// Does this document pass the rule's `match`es? Returns the probes for warnings too.
pub fn document_matches(rule: &FileRule, model: &Value) -> (bool, Vec<Probe>) {
    let mut ok = true;
    let mut probes = Vec::new();
    for m in &rule.matches {
        let found = lookup_expr(model, &m.path);
        let hit = found.iter().any(|v| values_equal(v, &m.value));
        probes.push(Probe {
            origin: m.origin.clone(),
            what: format!("document with {} == {}", m.path, display_value(&m.value)),
            matched: hit as usize,
            seen: found.iter().map(|v| display_value(v)).collect(),
        });
        ok &= hit;
    }
    (ok, probes)
}

/// Plans one document: `rules` applied in order to `model`, each op seeing the effect of
/// the ones before it.
pub fn plan_document(recipe: &Arc<str>, rule: &FileRule, model: &Value) -> DocPlan {
    let mut p = Planner {
        recipe: recipe.clone(),
        working: model.clone(),
        out: DocPlan::default(),
        placement: None,
    };
    let root: Vec<String> = Vec::new();
    if p.whens_hold(&rule.whens, &root) {
        p.rules(&rule.rules, &root);
    }
    p.out
}

struct Planner {
    recipe: Arc<str>,
    working: Value,
    out: DocPlan,
    /// The placement hint of the `set`/`ensure` being planned; `ensure_json` attaches it to
    /// the op that adds the target key itself (not a missing ancestor).
    placement: Option<Placement>,
}

impl Planner {
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
            } => {
                for target in self.targets(path, base, origin, false) {
                    self.edit_command(&target, words, edits, origin);
                }
            }
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
                            Ok(wrapped) if wrapped != *script => {
                                self.checked_script(&target, wrapped, origin)
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
        self.out.probes.push(Probe {
            origin: origin.clone(),
            what: path.to_string(),
            matched: res.targets.len(),
            seen: res.seen,
        });
        res.targets
    }

    /// The workflow steps a selector matches, as `/jobs/<job>/steps/<i>` key paths.
    fn steps(&mut self, sel: &StepSelector, origin: &Origin) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        let mut seen = Vec::new();
        if let Some(Value::Object(jobs)) = self.working.get("jobs") {
            for (job_id, job) in jobs {
                if sel.job.as_deref().is_some_and(|j| j != "*" && j != job_id) {
                    continue;
                }
                let Some(Value::Array(steps)) = job.get("steps") else {
                    continue;
                };
                for (i, step) in steps.iter().enumerate() {
                    let field = |k: &str| step.get(k).and_then(Value::as_str);
                    let ok = sel.name.as_deref().is_none_or(|n| field("name") == Some(n))
                        && sel.id.as_deref().is_none_or(|n| field("id") == Some(n))
                        && sel
                            .uses
                            .as_deref()
                            .is_none_or(|u| field("uses").is_some_and(|x| wildcard(u, x)));
                    if ok {
                        found.push(vec![
                            "jobs".into(),
                            job_id.clone(),
                            "steps".into(),
                            i.to_string(),
                        ]);
                    } else if let Some(label) = field("name").or(field("id")).or(field("uses")) {
                        seen.push(format!("{job_id}: {label}"));
                    }
                }
            }
        }
        self.out.probes.push(Probe {
            origin: origin.clone(),
            what: describe_step(sel),
            matched: found.len(),
            seen,
        });
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

    fn edit_command(
        &mut self,
        target: &[String],
        words: &[String],
        edits: &[FlagEdit],
        origin: &Origin,
    ) {
        if let Some(shell) = self.step_shell(target) {
            let first = shell.split_whitespace().next().unwrap_or("").to_string();
            if !matches!(first.as_str(), "bash" | "sh") {
                // Not a POSIX shell script (pwsh, python, cmd): the command rule does not apply.
                self.out.probes.push(Probe {
                    origin: origin.clone(),
                    what: format!("command `{}` in {}", words.join(" "), to_pointer(target)),
                    matched: 0,
                    seen: vec![format!("the step runs `{first}`, not bash or sh")],
                });
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
        let result = if bare {
            crate::shell::edit_folded_args(script, &edits)
        } else {
            crate::shell::edit_commands(script, &words, &edits)
        };
        match result {
            Ok(res) => {
                let words = if bare { vec!["(arguments)"] } else { words };
                self.out.probes.push(Probe {
                    origin: origin.clone(),
                    what: format!("command `{}` in {}", words.join(" "), to_pointer(target)),
                    matched: res.invocations,
                    seen: Vec::new(),
                });
                if res.changed {
                    self.checked_script(target, res.script, origin);
                }
            }
            Err(e) => self
                .out
                .errors
                .push((origin.clone(), format!("{}: {e}", to_pointer(target)))),
        }
    }

    /// Plans a new shell script only if it parses.
    fn checked_script(&mut self, target: &[String], script: String, origin: &Origin) {
        if let Err(e) = crate::shell::check_syntax(&script) {
            self.out.errors.push((
                origin.clone(),
                format!(
                    "refusing to write {}: the edited script does not parse ({e})",
                    to_pointer(target)
                ),
            ));
            return;
        }
        self.ensure_json(target, &Value::String(script), origin, None);
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
                if job.is_some_and(|x| x != "*" && x != job_id) {
                    continue;
                }
                let Some(Value::Array(steps)) = j.get("steps") else {
                    continue;
                };
                let name_of = |s: &Value| s.get("name").and_then(Value::as_str).map(str::to_string);
                // The anchor is a step name, or a `uses` pattern like `actions/checkout@*`.
                let is_anchor = |s: &Value| {
                    name_of(s).as_deref() == Some(anchor_name.as_str())
                        || s.get("uses")
                            .and_then(Value::as_str)
                            .is_some_and(|u| wildcard(anchor_name, u))
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
        self.out.probes.push(Probe {
            origin: origin.clone(),
            what: format!("step named `{anchor_name}`{in_job}"),
            matched,
            seen,
        });
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
            self.out.probes.push(Probe {
                origin: w.origin.clone(),
                what,
                matched: holds as usize,
                seen: found.iter().map(|v| display_value(v)).collect(),
            });
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
        match json_patch::patch(&mut self.working, std::slice::from_ref(&op)) {
            Ok(()) => self.out.ops.push(PlannedOp {
                op,
                recipe: self.recipe.clone(),
                origin: origin.clone(),
                snippet,
                placement,
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

/// `*` matches any run of characters (for `uses="owner/action@*"`).
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
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
    format!("step {}", parts.join(" "))
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
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
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
