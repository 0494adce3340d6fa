//! `patcher check --format github`: workflow-command annotations (`::error file=…,line=…`)
//! at each drifted node, and a Markdown table for the job's step summary
//! (`$GITHUB_STEP_SUMMARY`), appended to whatever earlier steps wrote there.
//!
//! Escaping follows GitHub's workflow-command rules (as in `@actions/core`): in the message,
//! `%` → `%25`, `\r` → `%0D`, `\n` → `%0A`; in property values also `:` → `%3A` and
//! `,` → `%2C`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::drift::{CheckReport, Status};
use crate::finding::Finding;

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`file=`, `title=` …).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::level prop=value,…::message`.
fn command(level: &str, props: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let sep = if props.is_empty() { "" } else { " " };
    format!(
        "::{level}{sep}{}::{}\n",
        props.join(","),
        escape_data(message)
    )
}

/// The annotations: an `error` at each drifted node, an `error` per error, a `warning` per
/// warning and per recipe that could not be checked.
pub fn annotations(report: &CheckReport) -> String {
    let mut out = String::new();
    for r in &report.recipes {
        for d in &r.drift {
            let mut msg = format!(
                "Recipe `{}` no longer holds: {}\nRule: {}. `patcher apply` repairs it.",
                r.name,
                d.describe_with_via(),
                d.rule
            );
            if let Some(desc) = &r.description {
                msg.push_str(&format!("\nWhy: {desc}"));
            }
            out.push_str(&command(
                "error",
                &[
                    ("file", d.file.clone()),
                    ("line", d.line.to_string()),
                    ("col", d.col.to_string()),
                    ("title", format!("patcher: {} drifted", r.name)),
                ],
                &msg,
            ));
        }
        if r.status == Status::Unchecked {
            out.push_str(&command(
                "warning",
                &[("title", format!("patcher: {} unchecked", r.name))],
                &match r.unchecked.first() {
                    Some(why) => format!("Recipe `{}` could not be checked: {why}", r.name),
                    None => format!(
                        "Recipe `{}` could not be checked: a file it names has an error",
                        r.name
                    ),
                },
            ));
        }
    }
    for e in &report.errors {
        out.push_str(&finding_command("error", e));
    }
    for w in &report.warnings {
        out.push_str(&finding_command("warning", w));
    }
    out
}

fn finding_command(level: &str, f: &Finding) -> String {
    let mut props = Vec::new();
    if let Some(file) = &f.file {
        props.push(("file", file.clone()));
    }
    let title = if f.recipe.is_empty() {
        format!("patcher: {level}")
    } else {
        format!("patcher: {} ({level})", f.recipe)
    };
    props.push(("title", title));
    let msg = if f.origin.is_empty() {
        f.message.clone()
    } else {
        format!("{} (recipe at {})", f.message, f.origin)
    };
    command(level, &props, &msg)
}

/// The step summary: a heading, one table row per drifted node (and one per recipe that
/// holds, is not applicable or has errors), then the errors and warnings.
pub fn step_summary(report: &CheckReport) -> String {
    let state = match report.exit_code() {
        0 => "every recipe holds",
        2 => "drift",
        _ => "error",
    };
    let mut s = format!("### patcher check: {state}\n\n");
    s.push_str("| Recipe | Status | Where | Expected | Found |\n");
    s.push_str("| --- | --- | --- | --- | --- |\n");
    for r in &report.recipes {
        let name = code(&r.name);
        if r.drift.is_empty() {
            s.push_str(&format!(
                "| {name} | {} | {} |  |  |\n",
                r.status.label(),
                match r.status {
                    Status::Holds => format!("{} file{}", r.files.len(), plural(r.files.len())),
                    Status::Error => cell(&r.errors.join("; ")),
                    _ => String::new(),
                }
            ));
            continue;
        }
        for (i, d) in r.drift.iter().enumerate() {
            let (first, status) = if i == 0 {
                (name.clone(), r.status.label())
            } else {
                (String::new(), "")
            };
            let place = format!("{}:{}", d.file, d.line);
            let what = match &d.pointer {
                Some(p) => format!("{} {}", code(&place), code(p)),
                None => code(&place),
            };
            let expected = match (&d.expected, &d.edit) {
                (_, Some(edit)) => code(edit),
                (Some(v), None) => code(&super::drift::short_value(v)),
                (None, None) => "absent".to_string(),
            };
            let found = match &d.found {
                Some(v) => code(&super::drift::short_value(v)),
                None if d.edit.is_some() => String::new(),
                None => "nothing".to_string(),
            };
            s.push_str(&format!(
                "| {first} | {status} | {what} | {expected} | {found} |\n"
            ));
        }
    }
    if !report.errors.is_empty() || !report.warnings.is_empty() {
        s.push('\n');
        for e in &report.errors {
            s.push_str(&format!("- **error**: {}\n", code(&finding_text(e))));
        }
        for w in &report.warnings {
            s.push_str(&format!("- warning: {}\n", code(&finding_text(w))));
        }
    }
    if report.exit_code() == 2 {
        s.push_str("\nRun `patcher plan` to see the repair and `patcher apply` to make it.\n");
    }
    s
}

fn finding_text(f: &Finding) -> String {
    let mut s = String::new();
    if !f.recipe.is_empty() {
        s.push_str(&format!("recipe {} ({}): ", f.recipe, f.origin));
    }
    if let Some(file) = &f.file {
        s.push_str(&format!("{file}: "));
    }
    s.push_str(&f.message);
    s
}

/// Appends `markdown` to the step summary file, after a blank line when the file already has
/// content; never truncates what earlier steps wrote.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut sep = "";
    if len > 0 {
        let mut tail = [0u8; 2];
        let n = len.min(2) as usize;
        f.seek(SeekFrom::Start(len - n as u64))?;
        f.read_exact(&mut tail[..n])?;
        sep = match &tail[..n] {
            [b'\n', b'\n'] => "",
            [.., b'\n'] => "\n",
            _ => "\n\n",
        };
    }
    f.write_all(format!("{sep}{markdown}").as_bytes())
}

/// A Markdown code span that survives a table cell: a fence longer than any backtick run
/// inside, `|` escaped, line breaks as spaces.
fn code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Text for a table cell, as a code span (no Markdown or HTML from file contents).
fn cell(s: &str) -> String {
    if s.is_empty() { String::new() } else { code(s) }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_workflow_command_rules() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            command(
                "error",
                &[("file", "a,b.yml".into()), ("line", "3".into())],
                "x:y\n"
            ),
            "::error file=a%2Cb.yml,line=3::x:y%0A\n"
        );
        assert_eq!(command("warning", &[], "m"), "::warning::m\n");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x `y` z"), "``x `y` z``");
        assert_eq!(code("`y`"), "`` `y` ``");
        assert_eq!(code("a\nb"), "`a b`");
    }
}
