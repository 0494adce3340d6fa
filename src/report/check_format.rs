//! `patcher check` as text (one line per recipe, one indented line per drifted node) and as
//! JSON.
//!
//! # JSON report, schema `patcher.check/v1`
//!
//! Every key is always present (`null` where it does not apply); new keys may be added
//! within `v1`, existing ones keep their meaning.
//!
//! ```text
//! {
//!   "schema": "patcher.check/v1",
//!   "status": "ok" | "drift" | "error",        // same as the exit code 0 / 2 / 1
//!   "exit_code": 0 | 2 | 1,
//!   "summary": {"recipes": N, "holds": N, "drifted": N, "not_applicable": N,
//!               "error": N, "unchecked": N},
//!   "recipes": [{
//!     "name": "migration-job",
//!     "description": "..." | null,
//!     "origin": "recipes/migration-job.kdl:3:1",   // relative to --root when inside it
//!     "status": "holds" | "drifted" | "not_applicable" | "error" | "unchecked",
//!     "files": ["chart/templates/migrations.yaml"],   // files its rules named
//!     "drift": [{
//!       "file": "chart/templates/migrations.yaml",
//!       "line": 15, "column": 3,            // 1-based, in the file as it is now; for a
//!                                           // missing node: its nearest existing parent
//!       "document": 0 | null,               // YAML document index; null for text edits
//!       "pointer": "/spec/backoffLimit" | null,   // RFC 6901; null for text edits
//!       "kind": "missing" | "differs" | "unwanted" | "text",
//!       "expected": 6 | null,               // null: must be absent (or a text edit)
//!       "found": 3 | null,                  // null: nothing there
//!       "edit": "replace ..." | null,       // text edits only
//!       "rule": "recipes/migration-job.kdl:6:9",  // the recipe line that asks for it
//!       "patch": [{"op": "replace", "path": "/spec/backoffLimit", "value": 6,
//!                  "recipe": "migration-job"}]     // RFC 6902 ops that repair this node
//!     }],
//!     "errors": ["..."]
//!   }],
//!   "repair": [{                            // the whole repair, as `plan --format json`
//!     "path": "chart/templates/migrations.yaml", "created": false,
//!     "documents": [{"index": 0, "patch": [RFC 6902 ops + "recipe", in order]}],
//!     "text": [{"line": 40, "edit": "...", "recipe": "..."}]
//!   }],
//!   "warnings": [{"recipe", "origin", "file" | null, "message"}],
//!   "errors":   [{"recipe", "origin", "file" | null, "message"}]
//! }
//! ```
//!
//! A drifted node's `patch` applies to that document's model in the order given, after the
//! ops listed before it in `repair` for the same document; apply `repair[].documents[].patch`
//! whole to repair everything.

use std::path::Path;

use serde_json::{Value, json};

use super::drift::{CheckReport, Status};
use super::{Color, finding_line, plural};

/// The text report: (stdout, stderr). Stdout has one line per recipe and one indented line
/// per drifted node (`file:line:col: pointer: expected X, found Y (rule)`); stderr has the
/// warnings, errors and a closing summary.
pub fn text(report: &CheckReport, color: Color) -> (String, String) {
    let paint = |code: &str, s: &str| {
        if color == Color::Always {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for r in &report.recipes {
        let status = match r.status {
            Status::Holds => paint("32", "holds"),
            Status::Drifted => paint("31;1", "drifted"),
            Status::Error => paint("31;1", "error"),
            Status::NotApplicable => paint("2", "not applicable"),
            Status::Unchecked => paint("33", "unchecked"),
        };
        let detail = match r.status {
            Status::Holds => format!(" ({} file{})", r.files.len(), plural(r.files.len())),
            Status::Drifted => {
                let files: std::collections::BTreeSet<&str> =
                    r.drift.iter().map(|d| d.file.as_str()).collect();
                format!(
                    " ({} node{} in {} file{})",
                    r.drift.len(),
                    plural(r.drift.len()),
                    files.len(),
                    plural(files.len())
                )
            }
            Status::NotApplicable if r.files.is_empty() => " (no file matched)".to_string(),
            Status::NotApplicable => format!(
                " (no document matched in {} file{})",
                r.files.len(),
                plural(r.files.len())
            ),
            Status::Error => format!(" ({} problem{})", r.errors.len(), plural(r.errors.len())),
            Status::Unchecked if !r.unchecked.is_empty() => {
                let files: std::collections::BTreeSet<&str> = r
                    .unchecked
                    .iter()
                    .filter_map(|u| u.split_once(": ").map(|(f, _)| f))
                    .collect();
                format!(
                    " ({} file{} with template output patcher cannot follow)",
                    files.len(),
                    plural(files.len())
                )
            }
            Status::Unchecked => " (a file it names has an error; see below)".to_string(),
        };
        out.push_str(&format!("recipe {}: {status}{detail}\n", r.name));
        for d in &r.drift {
            // A values-fed field: say which template line renders it, and as what.
            // A values-fed field: say which template line renders it, and as what.
            out.push_str(&format!(
                "  {}:{}:{}: {} ({})\n",
                d.file,
                d.line,
                d.col,
                d.describe_with_via(),
                d.rule
            ));
        }
        for e in &r.errors {
            out.push_str(&format!("  error: {e}\n"));
        }
        for u in &r.unchecked {
            out.push_str(&format!("  unchecked: {u}\n"));
        }
    }
    let mut err = String::new();
    for w in &report.warnings {
        err.push_str(&format!("warning: {}\n", finding_line(w)));
    }
    for e in &report.errors {
        err.push_str(&format!("error: {}\n", finding_line(e)));
    }
    err.push_str(&summary_line(report));
    err.push('\n');
    (out, err)
}

/// `check: drift (2 drifted, 5 hold, 0 not applicable); `patcher plan` shows the repair`.
pub fn summary_line(report: &CheckReport) -> String {
    let mut counts = vec![
        format!("{} drifted", report.count(Status::Drifted)),
        format!("{} hold", report.count(Status::Holds)),
        format!("{} not applicable", report.count(Status::NotApplicable)),
    ];
    for (s, n) in [
        ("error", report.count(Status::Error)),
        ("unchecked", report.count(Status::Unchecked)),
    ] {
        if n > 0 {
            counts.push(format!("{n} {s}"));
        }
    }
    let hint = match report.exit_code() {
        2 => "; `patcher plan` shows the repair, `patcher apply` makes it",
        1 => "; fix the errors first",
        _ => "",
    };
    format!("check: {} ({}){hint}", report.state(), counts.join(", "))
}

/// The JSON report (schema `patcher.check/v1`, documented above).
pub fn json(report: &CheckReport) -> Value {
    let recipes: Vec<Value> = report
        .recipes
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "origin": r.origin,
                "status": r.status.as_str(),
                "files": r.files,
                "drift": r.drift.iter().map(|d| json!({
                    "file": d.file,
                    "line": d.line,
                    "column": d.col,
                    "document": d.document,
                    "pointer": d.pointer,
                    "kind": d.kind.as_str(),
                    "expected": d.expected,
                    "found": d.found,
                    "edit": d.edit,
                    "rule": d.rule,
                    "patch": d.ops,
                })).collect::<Vec<_>>(),
                "errors": r.errors,
                "unchecked": r.unchecked,
            })
        })
        .collect();
    let repair: Vec<Value> = report
        .repair
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "created": f.created,
                "documents": f.documents.iter().map(|(i, ops)| json!({"index": i, "patch": ops})).collect::<Vec<_>>(),
                "text": f.text.iter().map(|(line, edit, recipe)| json!({"line": line, "edit": edit, "recipe": recipe})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "schema": super::drift::JSON_SCHEMA,
        "status": report.state(),
        "exit_code": report.exit_code(),
        "summary": {
            "recipes": report.recipes.len(),
            "holds": report.count(Status::Holds),
            "drifted": report.count(Status::Drifted),
            "not_applicable": report.count(Status::NotApplicable),
            "error": report.count(Status::Error),
            "unchecked": report.count(Status::Unchecked),
        },
        "recipes": recipes,
        "repair": repair,
        "warnings": report.warnings,
        "errors": report.errors,
        "unchecked": report.unchecked,
    })
}

/// Output formats of `patcher check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
}

/// What to print, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

/// Renders `report` in `format`. With `Format::Github` and a `step_summary` path (the
/// `GITHUB_STEP_SUMMARY` file), also appends the Markdown summary to that file; failing to
/// write it is a warning on stderr, not a different exit code.
pub fn output(
    report: &CheckReport,
    format: Format,
    color: Color,
    step_summary: Option<&Path>,
) -> Output {
    let code = report.exit_code();
    match format {
        Format::Text => {
            let (stdout, stderr) = text(report, color);
            Output {
                stdout,
                stderr,
                code,
            }
        }
        Format::Json => Output {
            stdout: pretty(&json(report)),
            stderr: String::new(),
            code,
        },
        Format::Sarif => Output {
            stdout: pretty(&super::sarif::sarif(report)),
            stderr: String::new(),
            code,
        },
        Format::Github => {
            // One line per recipe first (the annotations carry the drifted nodes).
            let (text, _) = text(report, Color::Never);
            let mut stdout: String = text
                .lines()
                .filter(|l| !l.starts_with("  "))
                .map(|l| format!("{l}\n"))
                .collect();
            stdout.push_str(&super::github::annotations(report));
            let mut stderr = summary_line(report);
            stderr.push('\n');
            if let Some(path) = step_summary
                && let Err(e) =
                    super::github::append_step_summary(path, &super::github::step_summary(report))
            {
                stderr.push_str(&format!(
                    "warning: cannot append to the step summary {}: {e}\n",
                    path.display()
                ));
            }
            Output {
                stdout,
                stderr,
                code,
            }
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
