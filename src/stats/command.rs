//! The `patcher stats WORKFLOW` command: lists the runs, splits them at `--pr N` (its merge
//! commit), `--after REF` (REF and its descendants are "after") or `--before REF` (REF and
//! its ancestors are "before") by commit ancestry in the local clone — by time for commits
//! the clone lacks — and writes the report. Exit 0, or 1 on an error.

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::Value;

use super::runs::{self, Run};
use super::{Diagnosed, Split, report};
use crate::github::actions_api::Actions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

pub struct Options {
    pub workflow: String,
    pub branch: Option<String>,
    pub since: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub pr: Option<u64>,
    pub root: PathBuf,
    pub format: Format,
    /// `--diagnose N`: diagnose the N most recent failed runs of each period.
    pub diagnose: Option<usize>,
}

/// What to print, and the exit code.
pub fn run(opts: &Options) -> (String, String, u8) {
    match run_inner(opts) {
        Ok(out) => (out, String::new(), 0),
        Err(e) => (String::new(), format!("{e}\n"), 1),
    }
}

fn parse_since(s: &str) -> Result<i64, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    full.parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| {
            format!("error: --since {s}: not a date; write YYYY-MM-DD or 2024-05-01T10:00:00Z")
        })
}

/// The split point: (pull request, commit, its time in unix seconds, whether the commit
/// itself counts as after).
type SplitPoint = (Option<u64>, String, i64, bool);

fn split_point(opts: &Options, client: &Actions) -> Result<Option<SplitPoint>, String> {
    if let Some(n) = opts.pr {
        let pr = client.json(&client.repo_path(&format!("/pulls/{n}")))?;
        let merged_at = pr.get("merged_at").and_then(Value::as_str);
        let sha = pr.get("merge_commit_sha").and_then(Value::as_str);
        let (Some(at), Some(sha)) = (merged_at, sha) else {
            return Err(format!(
                "error: --pr {n}: pull request #{n} of {} is not merged; stats compares the runs before and after a merged fix",
                client.slug()
            ));
        };
        let at = at
            .parse::<Timestamp>()
            .map_err(|_| format!("error: --pr {n}: merged_at {at:?} is not a time"))?;
        return Ok(Some((Some(n), sha.to_string(), at.as_second(), true)));
    }
    let (rev, after) = match (&opts.after, &opts.before) {
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
        (None, None) => return Ok(None),
    };
    let flag = if after { "--after" } else { "--before" };
    let repo = git2::Repository::discover(&opts.root).map_err(|e| {
        format!(
            "error: {flag} {rev}: {} is not in a git repository ({}); run stats inside a clone",
            opts.root.display(),
            e.message()
        )
    })?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| format!("error: {flag} {rev}: no such commit in the local clone ({}); fetch it or pass a commit id", e.message()))?;
    Ok(Some((
        None,
        commit.id().to_string(),
        commit.time().seconds(),
        after,
    )))
}

fn run_inner(opts: &Options) -> Result<String, String> {
    let since = opts
        .since
        .as_deref()
        .map(parse_since)
        .transpose()?
        .unwrap_or(runs::EPOCH);
    let until = Timestamp::now().as_second();
    let client = Actions::from_env(None, &opts.root)?;
    let branch = match &opts.branch {
        Some(b) => b.clone(),
        None => runs::default_branch(&client)?,
    };
    let split = split_point(opts, &client)?;
    let mut windows = 0;
    let all = runs::list(&client, &opts.workflow, &branch, since, until, &mut windows)?;
    let stats = match split {
        None => {
            let diagnosed = diagnose_runs(opts, &client, &all, |_| 0)?;
            super::compute(
                &client.slug(),
                &opts.workflow,
                &branch,
                &all,
                None,
                diagnosed.as_ref(),
            )
        }
        Some((pr, sha, time, commit_is_after)) => {
            let (placed, by_time) = classify(opts, &all, &sha, time, commit_is_after);
            let diagnosed = diagnose_runs(opts, &client, &all, |r| {
                usize::from(placed.get(&r.id).copied().unwrap_or(false))
            })?;
            let split = Split {
                pr,
                merge_commit: sha,
                by_time,
            };
            let is_after = |r: &Run| placed.get(&r.id).copied().unwrap_or(false);
            super::compute(
                &client.slug(),
                &opts.workflow,
                &branch,
                &all,
                Some((split, &is_after)),
                diagnosed.as_ref(),
            )
        }
    };
    Ok(match opts.format {
        Format::Text => report::text(&stats),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report::json(&stats)).unwrap_or_default()
        ),
        Format::Markdown => report::markdown(&stats),
    })
}

/// With `--diagnose N`: the signatures found in the failed jobs' logs of each period's N most
/// recent failed runs (`period` says which period a run is in).
fn diagnose_runs(
    opts: &Options,
    client: &Actions,
    all: &[Run],
    period: impl Fn(&Run) -> usize,
) -> Result<Option<Diagnosed>, String> {
    let Some(limit) = opts.diagnose else {
        return Ok(None);
    };
    let signatures = crate::causes::signature::load(&opts.root).map_err(|e| e.to_string())?;
    let mut taken = [0usize; 2];
    let mut out = Diagnosed::new();
    // Newest first: `all` is oldest first.
    for r in all.iter().rev() {
        let failed = r.status == "completed"
            && matches!(
                r.conclusion.as_deref(),
                Some("failure" | "timed_out" | "startup_failure")
            );
        let side = period(r).min(1);
        if !failed || taken[side] >= limit {
            continue;
        }
        taken[side] += 1;
        let logs: Vec<_> = (client.failed_jobs(r.id)?.into_iter())
            .map(|(job, text)| crate::causes::log::of_job(job, &text))
            .collect();
        let (hits, _) = crate::causes::scan::scan(&signatures, &logs);
        out.insert(r.id, hits.into_iter().map(|h| h.signature).collect());
    }
    Ok(Some(out))
}

/// Each run's side of the split: by ancestry when the clone has both commits, else by time.
fn classify(
    opts: &Options,
    all: &[Run],
    sha: &str,
    time: i64,
    commit_is_after: bool,
) -> (HashMap<u64, bool>, u64) {
    let repo = git2::Repository::discover(&opts.root).ok();
    let split_oid = git2::Oid::from_str(sha)
        .ok()
        .filter(|o| repo.as_ref().is_some_and(|r| r.find_commit(*o).is_ok()));
    let mut by_time = 0;
    let mut placed = HashMap::new();
    for r in all {
        let by_graph = match (&repo, split_oid, git2::Oid::from_str(&r.head_sha).ok()) {
            (Some(repo), Some(split), Some(head)) if repo.find_commit(head).is_ok() => {
                if head == split {
                    Some(commit_is_after)
                } else {
                    repo.graph_descendant_of(head, split).ok()
                }
            }
            _ => None,
        };
        let after = by_graph.unwrap_or_else(|| {
            by_time += 1;
            if commit_is_after {
                r.created_at >= time
            } else {
                r.created_at > time
            }
        });
        placed.insert(r.id, after);
    }
    (placed, by_time)
}
