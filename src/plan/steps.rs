//! Workflow steps and shell commands in the planner: selecting steps by glob, editing the
//! commands of a step's `run:` script by argument, and inserting steps next to an anchor.

use json_patch::{AddOperation, PatchOperation};
use serde_json::Value;

use crate::path::PathExpr;
use crate::pointer::{lookup, to_pointer, type_name};
use crate::recipe::{FlagEdit, NewValue, Origin, StepAnchor, StepSelector};

use super::planner::{Planner, key_segments};
use super::{Probe, resolve};

impl Planner<'_> {
    /// The workflow steps a selector matches, as `/jobs/<job>/steps/<i>` key paths. Every
    /// field is a whole-string glob ([`glob_match`]); no field at all selects every step.
    pub(super) fn steps(&mut self, sel: &StepSelector, origin: &Origin) -> Vec<Vec<String>> {
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
    pub(super) fn command(
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
            crate::shell::edit_folded_args_with(script, &edits, self.checks)
        } else {
            crate::shell::edit_commands_with(script, &words, &edits, self.checks)
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

    pub(super) fn insert_step(
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
