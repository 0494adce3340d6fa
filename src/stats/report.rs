//! `patcher stats` output: a text table, `patcher.stats/v1` JSON, and Markdown with a Mermaid
//! chart of the weekly rates (for `$GITHUB_STEP_SUMMARY` or a pull request comment).

use serde_json::{Value, json};

use super::{Period, Rate, Stats};

pub const JSON_SCHEMA: &str = "patcher.stats/v1";

fn rate_json(r: &Rate) -> Value {
    json!({
        "successes": r.successes,
        "total": r.total,
        "rate": r.rate(),
        "wilson95": r.wilson95().map(|(lo, hi)| vec![lo, hi]),
    })
}

pub fn json(s: &Stats) -> Value {
    json!({
        "schema": JSON_SCHEMA,
        "repository": s.repository,
        "workflow": s.workflow,
        "branch": s.branch,
        "split": s.split.as_ref().map(|sp| json!({
            "pr": sp.pr,
            "merge_commit": sp.merge_commit,
            "placed_by_time": sp.by_time,
        })),
        "periods": s.periods.iter().map(|p| json!({
            "name": p.name,
            "runs": p.runs,
            "excluded": p.excluded,
            "first_attempt": rate_json(&p.first_attempt),
            "eventual": rate_json(&p.eventual),
            "causes": p.causes.as_ref().map(|(list, diagnosed)| json!({
                "diagnosed_runs": diagnosed,
                "signatures": list.iter().map(|(s, n)| json!({"signature": s, "runs": n})).collect::<Vec<_>>(),
            })),
        })).collect::<Vec<_>>(),
        "fisher_p": s.fisher_p.map(|(fa, ev)| json!({"first_attempt": fa, "eventual": ev})),
        "weekly": s.weeks.iter().map(|w| json!({
            "week": w.start,
            "first_attempt": rate_json(&w.first_attempt),
            "eventual": rate_json(&w.eventual),
        })).collect::<Vec<_>>(),
    })
}

/// `40.0% (4/10) [16.8%, 68.7%]`, or `no runs`.
pub fn describe(r: &Rate) -> String {
    match (r.rate(), r.wilson95()) {
        (Some(rate), Some((lo, hi))) => format!(
            "{:.1}% ({}/{}) [{:.1}%, {:.1}%]",
            rate * 100.0,
            r.successes,
            r.total,
            lo * 100.0,
            hi * 100.0
        ),
        _ => "no runs".into(),
    }
}

/// `p = 0.0573`, `p = 7.72e-4`.
pub fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p >= 0.001 => format!("p = {p:.4}"),
        Some(p) => format!("p = {p:.2e}"),
        None => "p = n/a".into(),
    }
}

fn excluded(p: &Period) -> String {
    if p.excluded.is_empty() {
        return "none".into();
    }
    p.excluded
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `causes (3 failed runs diagnosed): job-backoff-exceeded 2, metrics-api-unavailable 1`.
fn causes_line(p: &Period) -> Option<String> {
    let (list, diagnosed) = p.causes.as_ref()?;
    let shown: Vec<String> = list
        .iter()
        .take(5)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    Some(format!(
        "causes ({diagnosed} failed run{} diagnosed): {}",
        if *diagnosed == 1 { "" } else { "s" },
        if shown.is_empty() {
            "none known".to_string()
        } else {
            shown.join(", ")
        }
    ))
}

fn heading(s: &Stats) -> String {
    let mut h = format!("{} · {} on {}", s.repository, s.workflow, s.branch);
    if let Some(sp) = &s.split {
        let short: String = sp.merge_commit.chars().take(12).collect();
        match sp.pr {
            Some(n) => h.push_str(&format!(" · split at pull request #{n} (merge {short})")),
            None => h.push_str(&format!(" · split at {short}")),
        }
    }
    h
}

pub fn text(s: &Stats) -> String {
    let mut out = format!("{}\n\n", heading(s));
    for p in &s.periods {
        out.push_str(&format!(
            "{}: {} runs (excluded: {})\n",
            p.name,
            p.runs,
            excluded(p)
        ));
        out.push_str(&format!(
            "  first attempt: {}\n",
            describe(&p.first_attempt)
        ));
        out.push_str(&format!("  eventual:      {}\n", describe(&p.eventual)));
        if let Some(line) = causes_line(p) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if let Some((fa, ev)) = s.fisher_p {
        out.push_str(&format!(
            "\nFisher's exact test (two-sided), before vs after: first attempt {}, eventual {}\n",
            p_value(fa),
            p_value(ev)
        ));
    }
    if let Some(sp) = &s.split
        && sp.by_time > 0
    {
        out.push_str(&format!(
            "note: {} run(s) on commits missing from the local clone were placed by time (fetch the branch for ancestry)\n",
            sp.by_time
        ));
    }
    out.push_str("intervals: Wilson 95%; first attempt: attempt 1's conclusion; eventual: the run's last attempt\n");
    out
}

pub fn markdown(s: &Stats) -> String {
    let mut out = format!("## patcher stats: {}\n\n", heading(s));
    out.push_str("| Period | Runs | First-attempt success | Eventual success | Excluded |\n|---|---|---|---|---|\n");
    for p in &s.periods {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            p.name,
            p.runs,
            describe(&p.first_attempt),
            describe(&p.eventual),
            excluded(p)
        ));
    }
    for p in &s.periods {
        if let Some(line) = causes_line(p) {
            out.push_str(&format!("\n{}: {line}\n", p.name));
        }
    }
    if let Some((fa, ev)) = s.fisher_p {
        out.push_str(&format!(
            "\nFisher's exact test (two-sided), before vs after: first attempt {}, eventual {}.\n",
            p_value(fa),
            p_value(ev)
        ));
    }
    if !s.weeks.is_empty() {
        let labels: Vec<String> = s.weeks.iter().map(|w| format!("\"{}\"", w.start)).collect();
        let pct = |r: &Rate| format!("{:.1}", r.rate().unwrap_or(0.0) * 100.0);
        let first: Vec<String> = s.weeks.iter().map(|w| pct(&w.first_attempt)).collect();
        let eventual: Vec<String> = s.weeks.iter().map(|w| pct(&w.eventual)).collect();
        out.push_str("\n```mermaid\nxychart-beta\n");
        out.push_str(
            "    title \"Weekly success rate (%): first attempt (line 1), eventual (line 2)\"\n",
        );
        out.push_str(&format!("    x-axis [{}]\n", labels.join(", ")));
        out.push_str("    y-axis \"success %\" 0 --> 100\n");
        out.push_str(&format!("    line [{}]\n", first.join(", ")));
        out.push_str(&format!("    line [{}]\n", eventual.join(", ")));
        out.push_str("```\n");
    }
    out
}
