//! `patcher diagnose` output: text for people, `patcher.diagnose/v1` JSON, and GitHub
//! workflow commands (an `::error` per cause, a `::warning` per log with no known cause) with
//! a Markdown step summary.

use serde_json::{Value, json};

use super::Diagnosis;
use super::fixes::Fix;
use crate::report::github::{escape_data, escape_property};

pub const JSON_SCHEMA: &str = "patcher.diagnose/v1";

fn fix_state(f: &Fix) -> String {
    match (f.holds, f.status.as_str()) {
        (Some(true), _) => "holds".into(),
        (Some(false), _) => "does not hold".into(),
        (None, "not_in_repository") => "not in your recipes".into(),
        (None, "not_checked") => "not checked".into(),
        (None, other) => other.replace('_', " "),
    }
}

fn where_(source: &str, line: usize) -> String {
    format!("{source}:{line}")
}

pub fn text(d: &Diagnosis) -> String {
    let mut out = String::new();
    for c in &d.causes {
        let h = &c.hit;
        // Only a log with more than one cause has a primary one worth naming.
        let several = d.causes.iter().filter(|o| o.hit.source == h.source).count() > 1;
        let kind = match (several, h.primary) {
            (true, true) => "primary cause",
            _ => "cause",
        };
        out.push_str(&format!("{kind}: {} — {}\n", h.signature, h.description));
        out.push_str(&format!("  at {}", where_(&h.source, h.line)));
        if let Some(step) = h
            .step
            .as_deref()
            .filter(|s| h.job.is_none() || !h.source.ends_with(*s))
        {
            out.push_str(&format!(" (step: {step})"));
        }
        if h.count > 1 {
            out.push_str(&format!(" (+{} more)", h.count - 1));
        }
        out.push_str(&format!("\n    {}\n", h.text));
        if let Some(m) = &h.message {
            out.push_str(&format!("  {m}\n"));
        }
        if c.recipes.is_empty() {
            out.push_str("  no recipe fixes it\n");
        } else {
            out.push_str("  fixed by:\n");
        }
        for f in &c.recipes {
            let mut origin = f.origin.clone();
            if let Some(cat) = &f.for_catalog {
                origin.push_str(&format!(", does {cat}"));
            }
            out.push_str(&format!("    {} ({origin}): {}", f.name, fix_state(f)));
            if let Some(hint) = &f.hint {
                let hint = hint.strip_prefix("not in your recipes: ").unwrap_or(hint);
                out.push_str(&format!(" — {hint}"));
            }
            out.push('\n');
        }
        if let Some(hint) = &h.fix_hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
        out.push('\n');
    }
    for u in &d.unmatched {
        out.push_str(&format!(
            "no known cause: {}\n  last error lines:\n",
            u.source
        ));
        for l in &u.last_lines {
            out.push_str(&format!("    {l}\n"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{} known cause{} in {} log{}; {} log{} with no known cause\n",
        d.causes.len(),
        plural(d.causes.len()),
        d.logs,
        plural(d.logs),
        d.unmatched.len(),
        plural(d.unmatched.len()),
    ));
    out
}

pub fn json(d: &Diagnosis) -> Value {
    json!({
        "schema": JSON_SCHEMA,
        "causes": d.causes.iter().map(|c| {
            let h = &c.hit;
            json!({
                "signature": h.signature,
                "primary": h.primary,
                "description": h.description,
                "message": h.message,
                "source": h.source,
                "job": h.job,
                "step": h.step,
                "line": h.line,
                "text": h.text,
                "count": h.count,
                "fix_hint": h.fix_hint,
                "recipes": c.recipes.iter().map(|f| json!({
                    "name": f.name,
                    "origin": f.origin,
                    "implements": f.for_catalog,
                    "holds": f.holds,
                    "status": f.status,
                    "hint": f.hint,
                })).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "unmatched": d.unmatched.iter().map(|u| json!({
            "source": u.source,
            "last_lines": u.last_lines,
        })).collect::<Vec<_>>(),
    })
}

/// Workflow commands: one `::error` per cause, one `::warning` per unexplained log.
pub fn annotations(d: &Diagnosis) -> String {
    let mut out = String::new();
    for c in &d.causes {
        let h = &c.hit;
        let mut msg = format!(
            "{}\n{}: {}",
            h.message.as_deref().unwrap_or(&h.description),
            where_(&h.source, h.line),
            h.text
        );
        for f in &c.recipes {
            msg.push_str(&format!(
                "\nFix: {} ({}): {}",
                f.name,
                f.origin,
                fix_state(f)
            ));
        }
        if let Some(hint) = &h.fix_hint {
            msg.push_str(&format!("\nHint: {hint}"));
        }
        out.push_str(&format!(
            "::error title={}::{}\n",
            escape_property(&format!("patcher diagnose: {}", h.signature)),
            escape_data(&msg)
        ));
    }
    for u in &d.unmatched {
        out.push_str(&format!(
            "::warning title={}::{}\n",
            escape_property(&format!("patcher diagnose: no known cause in {}", u.source)),
            escape_data(&u.last_lines.join("\n"))
        ));
    }
    out
}

/// The step summary: a table of causes and fixes.
pub fn step_summary(d: &Diagnosis) -> String {
    let mut out = String::from("## patcher diagnose\n\n");
    if d.causes.is_empty() {
        out.push_str("No known cause in the logs.\n");
    } else {
        out.push_str("| Cause | Where | Line | Fixes |\n|---|---|---|---|\n");
        for c in &d.causes {
            let h = &c.hit;
            let fixes: Vec<String> = c
                .recipes
                .iter()
                .map(|f| format!("{} ({})", code(&f.name), fix_state(f)))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&h.signature),
                code(&where_(&h.source, h.line)),
                code(&h.text),
                if fixes.is_empty() {
                    h.fix_hint.as_deref().map(code).unwrap_or_default()
                } else {
                    fixes.join(", ")
                }
            ));
        }
    }
    if !d.unmatched.is_empty() {
        out.push_str("\n**No known cause:**\n\n");
        for u in &d.unmatched {
            out.push_str(&format!(
                "- {}: {}\n",
                code(&u.source),
                u.last_lines.last().map(|l| code(l)).unwrap_or_default()
            ));
        }
    }
    out
}

/// A Markdown code span that survives a table cell.
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
