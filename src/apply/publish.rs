//! Publishing the converged commit: push it under a lease, move the local branch (only when
//! it still points where it did), say what became of the branch, and open or refresh the pull
//! request. In a dry run each step says what it would do instead. Never builds a commit.

use git2::{Oid, Repository, Tree};

use super::capture::say;
use super::converge::{Action, Tips};
use super::message::{commit_message, pr_body};
use super::options::Options;
use crate::git::{self, short};
use crate::github::pulls::{Forge, PrResult, PrSpec};
use crate::outcome::Outcome;
use crate::recipe::RecipeSet;

/// Pushes `final_tip` to `remote` under a lease (the remote must still be at `tips.remote`);
/// `force`: it replaces patcher's own commits.
pub(super) fn push_branch(
    repo: &Repository,
    remote: &str,
    branch: &str,
    final_tip: Oid,
    tips: &Tips,
    force: bool,
    dry_run: bool,
) -> Result<(), String> {
    let remote_tip = tips.remote;
    if remote_tip == Some(final_tip) {
        say(&format!(
            "{remote} already has {branch} at {}",
            short(final_tip)
        ));
    } else {
        let needs_force =
            force || remote_tip.is_some_and(|r| !git::is_ancestor(repo, r, final_tip));
        if dry_run {
            say(&format!(
                "would push {branch} to {remote}: {} → {}{}",
                remote_tip.map_or("(new branch)".into(), short),
                short(final_tip),
                if needs_force {
                    " (replacing patcher's own commits, under a lease)"
                } else {
                    ""
                }
            ));
        } else {
            git::push_with_lease(repo, remote, branch, final_tip, remote_tip, needs_force)
                .map_err(|e| format!("push of {branch} to {remote} refused: {e}"))?;
            say(&format!(
                "pushed {branch} to {remote}: {} → {}",
                remote_tip.map_or("(new branch)".into(), short),
                short(final_tip)
            ));
        }
    }
    Ok(())
}

/// Moves the local branch to `final_tip`, only from where it was (`tips.local`); `log` is the
/// reflog message.
pub(super) fn move_branch(
    repo: &Repository,
    branch: &str,
    final_tip: Oid,
    tips: &Tips,
    log: &str,
    dry_run: bool,
) -> Result<(), String> {
    let refname = format!("refs/heads/{branch}");
    let local_tip = tips.local;
    if local_tip != Some(final_tip) {
        if dry_run {
            say(&format!(
                "would set branch {branch} to {} (was {})",
                short(final_tip),
                local_tip.map_or("absent".into(), short)
            ));
        } else {
            let updated = match local_tip {
                Some(old) => repo.reference_matching(&refname, final_tip, true, old, log),
                None => repo.reference(&refname, final_tip, false, log),
            };
            updated.map_err(|e| {
                format!(
                    "cannot move branch {branch} (it changed while patcher ran?): {}",
                    e.message()
                )
            })?;
        }
    }
    Ok(())
}

/// The line that says what became of the branch.
pub(super) fn say_branch(
    action: &Action,
    verb: &str,
    branch: &str,
    final_tip: Oid,
    base_label: &str,
    dry_run: bool,
) {
    match action {
        Action::Commit {
            parent, rebuild, ..
        } => say(&format!(
            "{}{verb} branch {branch}: {} on {}",
            if dry_run { "would have " } else { "" },
            short(final_tip),
            if *rebuild {
                base_label.to_string()
            } else {
                format!("top of {}", short(*parent))
            }
        )),
        _ => say(&format!(
            "branch {branch} is already up to date ({})",
            short(final_tip)
        )),
    }
}

/// Opens or refreshes the pull request of `branch` (`--pr`), described by what the recipes
/// change relative to the base. `None`: a dry run that could not look the forge up.
#[allow(clippy::too_many_arguments)]
pub(super) fn open_pr(
    repo: &Repository,
    opts: &Options,
    recipes: &RecipeSet,
    branch: &str,
    base_tree: &Tree<'_>,
    base_outcome: &Outcome,
    final_tip: Oid,
) -> Result<Option<PrResult>, String> {
    let remote = opts.push.as_deref().unwrap_or("origin");
    let final_commit = repo
        .find_commit(final_tip)
        .map_err(|e| format!("cannot read {final_tip}: {}", e.message()))?;
    let final_tree = final_commit.tree().map_err(|e| e.message().to_string())?;
    let stat = git::diff_stat(repo, base_tree, &final_tree);
    // Describe what patcher changes relative to the base.
    let (title, _) = commit_message(recipes, base_outcome);
    let title = if base_outcome.changes.is_empty() {
        final_commit
            .summary()
            .ok()
            .flatten()
            .unwrap_or("patcher")
            .to_string()
    } else {
        title
    };
    let body = pr_body(recipes, base_outcome, &stat);
    let base_branch = git::base_branch_name(repo, opts.base.as_deref());
    let forge = match Forge::from_env_for(
        git::remote_url(repo, remote).as_deref(),
        opts.github.as_deref(),
    ) {
        Ok(f) => f.with_pacer(opts.pacer.clone()),
        Err(e) if opts.dry_run => {
            say(&format!(
                "would open or update the pull request for {branch} (cannot look it up: {e})"
            ));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let spec = PrSpec {
        head: branch,
        base: base_branch.as_deref(),
        title: &title,
        body: &body,
        labels: &opts.labels,
    };
    let result = forge.ensure_pr(&spec, opts.dry_run).map_err(|e| {
        format!(
            "{e}{}",
            if opts.push.is_some() && !opts.dry_run {
                " (the branch itself is pushed; run again to retry the pull request)"
            } else {
                ""
            }
        )
    })?;
    let repo_slug = forge.slug();
    say(&match &result {
        PrResult::Created(pr) => format!(
            "opened pull request #{} in {repo_slug}: {}",
            pr.number, pr.url
        ),
        PrResult::Updated(pr, what) => format!(
            "updated pull request #{} ({}): {}",
            pr.number,
            what.join(", "),
            pr.url
        ),
        PrResult::UpToDate(pr) => {
            format!("pull request #{} is up to date: {}", pr.number, pr.url)
        }
        PrResult::ClosedUnmerged(pr) => format!(
            "pull request #{} for {branch} was closed without merging; patcher does not open another (reopen it, or use another --branch): {}",
            pr.number, pr.url
        ),
        PrResult::WouldCreate => {
            format!("would open a pull request for {branch} in {repo_slug}")
        }
        PrResult::WouldUpdate(pr, what) => format!(
            "would update pull request #{} ({}): {}",
            pr.number,
            what.join(", "),
            pr.url
        ),
    });
    Ok(Some(result))
}
