//! The fleet run's report as plain data: `patcher.fleet/v1` JSON (schema in
//! `docs/fleet-report.schema.json`), a text summary, and a Markdown table for a step summary
//! that stays under GitHub's 1 MiB limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "patcher.fleet/v1";
/// GitHub refuses a step summary over 1 MiB; leave room for other steps' lines.
pub const MARKDOWN_LIMIT: usize = 1_000_000;

/// What happened in one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A pull request was opened.
    Opened,
    /// The branch was created or moved, or the open pull request refreshed.
    Updated,
    /// Branch and pull request already right: nothing written.
    UpToDate,
    /// Every recipe holds on the base: no branch is needed.
    NoChanges,
    /// `plan`: the recipes would change files.
    Changes,
    /// `check`: a recipe no longer holds.
    Drift,
    /// Its pull request was closed without merging; patcher does not open another.
    Closed,
    /// Not attempted: the hourly pull request cap or a rate limit; `--resume` later.
    Deferred,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Opened => "opened",
            Status::Updated => "updated",
            Status::UpToDate => "up-to-date",
            Status::NoChanges => "no-changes",
            Status::Changes => "changes",
            Status::Drift => "drift",
            Status::Closed => "closed",
            Status::Deferred => "deferred",
            Status::Failed => "failed",
        }
    }

    /// Finished for `--resume`: nothing left to retry.
    pub fn is_done(self) -> bool {
        !matches!(self, Status::Deferred | Status::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrRef {
    pub number: u64,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoReport {
    /// As written in the fleet file.
    pub repo: String,
    /// `owner/name` on GitHub, when known.
    pub github: Option<String>,
    pub base: Option<String>,
    pub base_commit: Option<String>,
    pub root: Option<String>,
    pub branch: Option<String>,
    /// Where the patcher branch points after the run.
    pub commit: Option<String>,
    pub pr: Option<PrRef>,
    pub result: Status,
    /// Skipped by `--resume`: done in an earlier run, and the base has not moved since.
    pub resumed: bool,
    pub refused: Vec<Refused>,
    pub errors: Vec<String>,
    /// The diff (`plan`), for the text output only.
    #[serde(skip)]
    pub diff: String,
}

impl RepoReport {
    pub fn new(repo: &str, github: Option<&str>, result: Status) -> RepoReport {
        RepoReport {
            repo: repo.to_string(),
            github: github.map(str::to_string),
            base: None,
            base_commit: None,
            root: None,
            branch: None,
            commit: None,
            pr: None,
            result,
            resumed: false,
            refused: Vec::new(),
            errors: Vec::new(),
            diff: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    pub schema: String,
    pub fleet: String,
    /// `plan`, `apply` or `check`.
    pub command: String,
    pub repositories: Vec<RepoReport>,
    /// How many repositories ended in each result.
    pub summary: BTreeMap<String, usize>,
}

impl FleetReport {
    pub fn new(fleet: &str, command: &str, repositories: Vec<RepoReport>) -> FleetReport {
        let mut summary = BTreeMap::new();
        for r in &repositories {
            *summary.entry(r.result.as_str().to_string()).or_insert(0) += 1;
        }
        FleetReport {
            schema: SCHEMA.into(),
            fleet: fleet.into(),
            command: command.into(),
            repositories,
            summary,
        }
    }

    /// One report of several (matrix legs of one fleet): their repositories in order.
    pub fn merge(reports: &[FleetReport]) -> FleetReport {
        let fleet = reports.first().map_or("", |r| r.fleet.as_str());
        let command = reports.first().map_or("apply", |r| r.command.as_str());
        let repos = reports
            .iter()
            .flat_map(|r| r.repositories.iter().cloned())
            .collect();
        FleetReport::new(fleet, command, repos)
    }

    /// 1 when any repository failed or was deferred, 2 when `plan`/`check` found changes or
    /// drift, else 0.
    pub fn exit_code(&self) -> u8 {
        let any = |s: Status| self.repositories.iter().any(|r| r.result == s);
        if any(Status::Failed) || any(Status::Deferred) {
            1
        } else if any(Status::Changes) || any(Status::Drift) {
            2
        } else {
            0
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// One line per repository, then the counts.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.repositories {
            if !r.diff.is_empty() {
                out.push_str(&format!("=== {} ===\n{}", r.repo, r.diff));
                if !r.diff.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        for r in &self.repositories {
            out.push_str(&line(r));
            out.push('\n');
        }
        let counts: Vec<String> = self
            .summary
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        out.push_str(&format!(
            "fleet {}: {} repositories: {}\n",
            self.fleet,
            self.repositories.len(),
            counts.join(", ")
        ));
        out
    }

    /// A table for `$GITHUB_STEP_SUMMARY`, cut (with a note) before it reaches
    /// [`MARKDOWN_LIMIT`].
    pub fn markdown(&self) -> String {
        self.markdown_within(MARKDOWN_LIMIT)
    }

    pub fn markdown_within(&self, limit: usize) -> String {
        let counts: Vec<String> = self
            .summary
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let mut out = format!(
            "### patcher fleet {}: {}\n\n{}\n\n| Repository | Pull request | Status | Notes |\n| --- | --- | --- | --- |\n",
            cell(&self.fleet),
            self.command,
            counts.join(", ")
        );
        let note_room = 200;
        for (i, r) in self.repositories.iter().enumerate() {
            let pr =
                r.pr.as_ref()
                    .map_or("—".to_string(), |p| format!("[#{}]({})", p.number, p.url));
            let mut notes: Vec<String> = r.errors.iter().map(|e| cell(e)).collect();
            notes.extend(
                r.refused
                    .iter()
                    .map(|f| cell(&format!("refused {}: {}", f.file, f.reason))),
            );
            let mut notes = notes.join("<br>");
            if notes.len() > 500 {
                let cut = (0..=500)
                    .rev()
                    .find(|i| notes.is_char_boundary(*i))
                    .unwrap_or(0);
                notes.truncate(cut);
                notes.push('…');
            }
            let row = format!(
                "| {} | {pr} | {}{} | {notes} |\n",
                cell(&r.repo),
                r.result.as_str(),
                if r.resumed { " (earlier run)" } else { "" }
            );
            if out.len() + row.len() + note_room > limit {
                out.push_str(&format!(
                    "\n_{} more repositories are not shown: a step summary is limited to 1 MiB; the JSON report (`--report`) has them all._\n",
                    self.repositories.len() - i
                ));
                return out;
            }
            out.push_str(&row);
        }
        out
    }
}

fn line(r: &RepoReport) -> String {
    let mut s = format!("{}: {}", r.repo, r.result.as_str());
    if r.resumed {
        s.push_str(" (earlier run)");
    }
    if let Some(pr) = &r.pr {
        s.push_str(&format!(" #{} {}", pr.number, pr.url));
    } else if let (Some(b), Some(c)) = (&r.branch, &r.commit) {
        s.push_str(&format!(" {b} at {}", &c[..c.len().min(12)]));
    }
    for f in &r.refused {
        s.push_str(&format!("\n  refused {}: {}", f.file, f.reason));
    }
    for e in &r.errors {
        s.push_str(&format!("\n  error: {e}"));
    }
    s
}

/// One Markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize, error: &str) -> FleetReport {
        let repos = (0..n)
            .map(|i| {
                let mut r = RepoReport::new(&format!("acme/r{i}"), Some("acme/x"), Status::Failed);
                r.errors.push(error.to_string());
                r
            })
            .collect();
        FleetReport::new("f", "apply", repos)
    }

    #[test]
    fn exit_codes_follow_the_worst_result() {
        let mut r = report(1, "x");
        assert_eq!(r.exit_code(), 1);
        r.repositories[0].result = Status::Drift;
        assert_eq!(r.exit_code(), 2);
        r.repositories[0].result = Status::Opened;
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn the_markdown_table_stops_before_the_summary_limit_and_says_so() {
        let r = report(5000, &"a long | error ".repeat(40));
        let md = r.markdown();
        assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.contains("more repositories are not shown"), "no note");
        assert!(md.contains("| acme/r0 | — | failed |"));
        assert!(md.contains("a long \\| error"));
        let small = report(3, "boom").markdown();
        assert!(!small.contains("not shown"));
        assert_eq!(small.matches("| failed |").count(), 3);
    }
}
