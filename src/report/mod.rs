//! Output: the unified diff (git-apply compatible, optionally colored), the per-recipe
//! summary, and the JSON form of a plan; `check`'s text, JSON, GitHub and SARIF output.

pub mod check_format;
pub mod drift;
pub mod github;
pub mod sarif;

use serde_json::{Value, json};
use similar::TextDiff;

use crate::change::FileChange;
use crate::outcome::Outcome;

/// Whether to color the text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Always,
    Never,
}

/// The unified diff of one change: `a/` and `b/` prefixes like git, `/dev/null` for new files.
pub fn unified_diff(change: &FileChange) -> String {
    let old_name = if change.created {
        "/dev/null".to_string()
    } else {
        format!("a/{}", change.path)
    };
    let new_name = format!("b/{}", change.path);
    let diff = TextDiff::from_lines(&change.old_text, &change.new_text);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &new_name)
        .to_string();
    let mut out = format!("diff --git a/{p} b/{p}\n", p = change.path);
    if change.created {
        out.push_str("new file mode 100644\n");
    }
    out.push_str(&body);
    out
}

/// Colors a diff line by line (ANSI): red removals, green additions, cyan hunk headers.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++")
            || body.starts_with("---")
            || body.starts_with("diff --git")
            || body.starts_with("new file")
        {
            "1"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{nl}"));
        }
    }
    out
}

/// The text report: every diff, then one summary line per recipe and the findings.
pub fn text(outcome: &Outcome, color: Color) -> (String, String) {
    let mut stdout = String::new();
    // Diffing is a plan's last big cost and each file's is independent: side by side.
    let diffs = crate::parallel::map(crate::parallel::threads(), &outcome.changes, |c| {
        let d = unified_diff(c);
        if color == Color::Always {
            colorize(&d)
        } else {
            d
        }
    });
    for d in diffs {
        stdout.push_str(&d);
    }
    let mut stderr = String::new();
    // Files with an error (reported once, under the first recipe naming them): the other
    // recipes that name them could not be planned there either — unless the file still
    // changed (`--keep-going` drops only the refused recipe's ops), which means the others
    // were planned and verified there.
    let changed: std::collections::HashSet<&str> =
        outcome.changes.iter().map(|c| c.path.as_str()).collect();
    let error_files: std::collections::HashSet<&str> = outcome
        .errors
        .iter()
        .filter_map(|e| e.file.as_deref())
        .filter(|f| !changed.contains(f))
        .collect();
    for r in &outcome.recipes {
        let unplanned = r
            .files
            .iter()
            .filter(|f| error_files.contains(f.as_str()))
            .count();
        let status = if r.errors > 0 {
            format!(
                "error ({} problem{}; see below)",
                r.errors,
                plural(r.errors)
            )
        } else if r.ops == 0 && r.unchecked > 0 {
            format!(
                "unchecked ({} of {} file{} with template output patcher cannot follow; see below)",
                r.unchecked,
                r.files_matched,
                plural(r.files_matched)
            )
        } else if r.files_matched == 0 {
            "not applicable (no file matched)".to_string()
        } else if r.ops == 0 && unplanned > 0 {
            format!(
                "unchecked ({unplanned} of {} file{} could not be planned; see the errors below)",
                r.files_matched,
                plural(r.files_matched)
            )
        } else if r.ops == 0 && !r.applied {
            format!(
                "not applicable (no document matched in {} file{})",
                r.files_matched,
                plural(r.files_matched)
            )
        } else if r.ops == 0 {
            format!(
                "holds ({} file{})",
                r.files_matched,
                plural(r.files_matched)
            )
        } else {
            let mut s = format!(
                "{} change{} in {} file{}",
                r.ops,
                plural(r.ops),
                r.files_changed,
                plural(r.files_changed)
            );
            if unplanned > 0 {
                s.push_str(&format!(
                    "; {unplanned} file{} could not be planned (see the errors below)",
                    plural(unplanned)
                ));
            }
            if r.unchecked > 0 {
                s.push_str(&format!(
                    "; {} file{} unchecked (see below)",
                    r.unchecked,
                    plural(r.unchecked)
                ));
            }
            s
        };
        stderr.push_str(&format!("recipe {}: {status}\n", r.name));
        for line in values_landings(outcome, &r.name) {
            stderr.push_str(&format!("  {line}\n"));
        }
    }
    // A chart not rendered at all is listed in the closing note.
    for r in outcome.renders.iter().filter(|r| r.skipped.is_none()) {
        stderr.push_str(&format!("{}\n", r.line()));
    }
    if let Some(note) = &outcome.render_skipped {
        stderr.push_str(&format!("{note}\n"));
    }
    for w in &outcome.warnings {
        stderr.push_str(&format!("warning: {}\n", finding_line(w)));
    }
    for u in &outcome.unchecked {
        stderr.push_str(&format!("unchecked: {}\n", finding_line(u)));
    }
    for e in &outcome.errors {
        stderr.push_str(&format!("error: {}\n", finding_line(e)));
    }
    // The closing note: how many of the charts the plan changes rendered, and why not the others.
    for line in crate::render::summary(&outcome.renders).map_or(Vec::new(), |s| s.lines()) {
        stderr.push_str(&format!("{line}\n"));
    }
    (stdout, stderr)
}

/// Where a recipe's values-fed ops landed: `chart/values.yaml: /api/x = 600 (read by
/// templates/api.yaml:9 as /spec/x)`, the template named relative to the values file's chart.
fn values_landings(outcome: &Outcome, recipe: &str) -> Vec<String> {
    let mut out = Vec::new();
    for change in &outcome.changes {
        let chart = change.path.rsplit_once('/').map_or("", |(d, _)| d);
        for op in change.docs.iter().flat_map(|(_, ops)| ops) {
            let Some(via) = &op.via else { continue };
            if *op.recipe != *recipe {
                continue;
            }
            // A values file below its chart (a `ci/` scenario's): templates are named
            // relative to the chart, not to that directory.
            let chart = via
                .template
                .split_once("/templates/")
                .map(|(c, _)| c)
                .filter(|c| change.path.starts_with(&format!("{c}/")))
                .unwrap_or(chart);
            let what = match &op.op {
                json_patch::PatchOperation::Add(o) => {
                    format!("= {}", crate::pointer::display_value(&o.value))
                }
                json_patch::PatchOperation::Replace(o) => {
                    format!("= {}", crate::pointer::display_value(&o.value))
                }
                json_patch::PatchOperation::Remove(_) => "removed".to_string(),
                _ => String::new(),
            };
            let path = if op.path().is_empty() { "/" } else { op.path() };
            out.push(format!(
                "{}: {path} {what} ({})",
                change.path,
                via.describe(chart)
            ));
        }
    }
    out
}

/// One warning or error as a line: recipe, origin, file, message.
pub(crate) fn finding_line(f: &crate::finding::Finding) -> String {
    let mut s = String::new();
    if !f.recipe.is_empty() {
        s.push_str(&format!("recipe `{}` ({}): ", f.recipe, f.origin));
    }
    if let Some(file) = &f.file
        && !f.message.starts_with(file.as_str())
    {
        s.push_str(&format!("{file}: "));
    }
    s.push_str(&f.message);
    s
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The JSON report: `{"files":[{"path", "documents":[{"index","patch"}]}], "warnings", "errors"}`.
pub fn json(outcome: &Outcome) -> Value {
    let files: Vec<Value> = outcome
        .changes
        .iter()
        .map(|c| {
            json!({
                "path": c.path,
                "created": c.created,
                "text": c.text_ops.iter().map(|t| json!({
                    "edit": t.summary, "line": t.line, "recipe": &*t.recipe,
                })).collect::<Vec<_>>(),
                "documents": c.docs.iter().map(|(i, ops)| json!({
                    "index": i,
                    "patch": ops.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "files": files,
        "recipes": outcome.recipes.iter().map(|r| json!({"name": r.name, "files_matched": r.files_matched, "ops": r.ops, "unchecked_files": r.unchecked})).collect::<Vec<_>>(),
        "renders": outcome.renders.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
        "render_skipped": outcome.render_skipped,
        "render_summary": crate::render::summary(&outcome.renders).map(|s| s.to_json()),
        "warnings": outcome.warnings,
        "errors": outcome.errors,
        "unchecked": outcome.unchecked,
    })
}
