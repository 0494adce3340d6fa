//! Convergence: which tip the branch run starts from, what the run does to the branch
//! ([`Action`]: nothing, up to date, or a commit that rebuilds patcher's own commits or goes
//! on top of someone else's), and the trees it commits. Writes tree objects only; never moves
//! a ref, pushes or prints anything but the plan's report.

use std::path::PathBuf;

use git2::{Oid, Repository, Tree};

use super::capture::{print_outcome, say};
use super::message::commit_message;
use super::options::Saved;
use crate::change::FileChange;
use crate::engine;
use crate::git::{self, CommitInfo, short};
use crate::outcome::Outcome;
use crate::recipe::RecipeSet;
use crate::report::Color;

/// Exports `tree`, plans on it, checks a saved plan against it; errors are printed.
pub(super) fn plan_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    recipes: &RecipeSet,
    saved: Option<Saved<'_>>,
    what: &str,
    run: &engine::RunOptions,
) -> Result<Outcome, String> {
    let export = git::export_tree(repo, tree, prefix)?;
    let outcome = engine::run_with(export.path(), recipes, run);
    if let Some(s) = saved {
        s.plan
            .check(s.path, s.recipes, export.path(), &outcome)
            .map_err(|m| format!("{m} (checked against {what})"))?;
    }
    Ok(outcome)
}

/// What the run does to the branch.
pub(super) enum Action {
    /// No commit; the branch (if any) stays as it is and nothing is pushed.
    Nothing(String),
    /// The branch already holds the right content.
    UpToDate { tip: Oid, note: Option<String> },
    /// A new commit; `rebuild`: it replaces patcher's own commits instead of adding on top.
    Commit {
        parent: Oid,
        tree: Oid,
        message: String,
        rebuild: bool,
        note: Option<String>,
    },
}

/// Says when the working tree has uncommitted changes: they are not part of the commit.
pub(super) fn note_dirty(repo: &Repository, recipes: &RecipeSet, base_label: &str) {
    let dirty = git::dirty_paths(repo);
    if dirty.is_empty() {
        return;
    }
    let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
    say(&format!(
        "note: the working tree has uncommitted changes ({} path{}: {}{}); they are not included: the commit is built from {base_label}, and the working tree, index and current branch are left as they are",
        dirty.len(),
        if dirty.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if dirty.len() > 5 { ", ..." } else { "" }
    ));
    let Some(top) = repo.workdir().and_then(|w| w.canonicalize().ok()) else {
        return;
    };
    let mut recipe_files: Vec<PathBuf> = recipes
        .recipes
        .iter()
        .filter_map(|r| r.origin.file.canonicalize().ok())
        .collect();
    recipe_files.dedup();
    let edited: Vec<String> = dirty
        .iter()
        .filter(|d| recipe_files.iter().any(|f| *f == top.join(d)))
        .cloned()
        .collect();
    if !edited.is_empty() {
        say(&format!(
            "note: recipes are read from the working tree, so these uncommitted recipe edits are used: {}",
            edited.join(", ")
        ));
    }
}

/// Where the branch points, locally and on the remote (when pushing), before the run moves it.
pub(super) struct Tips {
    pub(super) local: Option<Oid>,
    pub(super) remote: Option<Oid>,
}

/// Where the branch is, locally and on `remote` when pushing (fetching a remote tip this
/// repository lacks), and which of the two the run converges from.
pub(super) fn find_tips(
    repo: &Repository,
    branch: &str,
    push: Option<&str>,
) -> Result<(Tips, Option<Oid>), String> {
    let refname = format!("refs/heads/{branch}");
    let local_tip = repo.find_reference(&refname).ok().and_then(|r| r.target());
    let remote_tip = match push {
        Some(remote) => {
            let tip = git::remote_tip(repo, remote, branch)?;
            if let Some(t) = tip
                && repo.find_commit(t).is_err()
            {
                git::fetch_branch(repo, remote, branch)?;
            }
            tip
        }
        None => None,
    };
    let tip = choose_tip(repo, branch, push, local_tip, remote_tip)?;
    Ok((
        Tips {
            local: local_tip,
            remote: remote_tip,
        },
        tip,
    ))
}

/// Which tip the run converges from when the branch exists locally and/or on the remote.
fn choose_tip(
    repo: &Repository,
    branch: &str,
    remote: Option<&str>,
    local: Option<Oid>,
    remote_tip: Option<Oid>,
) -> Result<Option<Oid>, String> {
    let (l, r) = match (local, remote_tip) {
        (None, r) => return Ok(r),
        (l, None) => return Ok(l),
        (Some(l), Some(r)) => (l, r),
    };
    if git::is_ancestor(repo, l, r) {
        return Ok(Some(r));
    }
    if git::is_ancestor(repo, r, l) {
        return Ok(Some(l));
    }
    let only_local = git::commits_between(repo, l, r)?;
    let only_remote = git::commits_between(repo, r, l)?;
    if only_local.iter().all(|c| c.patchers) {
        return Ok(Some(r));
    }
    if only_remote.iter().all(|c| c.patchers) {
        return Ok(Some(l));
    }
    let foreign = |v: &[CommitInfo]| {
        v.iter()
            .find(|c| !c.patchers)
            .map(CommitInfo::describe)
            .unwrap_or_default()
    };
    Err(format!(
        "the local branch {branch} and {}/{branch} have diverged, and both have commits patcher did not make (locally {}; on the remote {}); patcher rewrites neither: reconcile them by hand",
        remote.unwrap_or("the remote"),
        foreign(&only_local),
        foreign(&only_remote)
    ))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn decide(
    repo: &Repository,
    branch: &str,
    base_label: &str,
    base_id: Oid,
    base_tree: &Tree<'_>,
    tip: Option<Oid>,
    prefix: &str,
    recipes: &RecipeSet,
    saved: Option<Saved<'_>>,
    base_outcome: &Outcome,
    keep_going: bool,
    color: Color,
    run: &engine::RunOptions,
) -> Result<(Action, Option<String>), String> {
    // What `--keep-going` left refused in the outcome the commit is built from.
    let kept = |outcome: &Outcome| {
        (!outcome.errors.is_empty()).then(|| outcome.kept_going_line("committed"))
    };
    let commits = match tip {
        Some(t) => git::commits_between(repo, t, base_id)?,
        None => Vec::new(),
    };
    let foreign: Vec<&CommitInfo> = commits.iter().filter(|c| !c.patchers).collect();

    if foreign.is_empty() {
        print_outcome(base_outcome, color);
        let kept_going = kept(base_outcome);
        if base_outcome.changes.is_empty() {
            let holds = if kept_going.is_some() {
                "nothing to commit: every file either holds or was refused"
            } else {
                "nothing to do: every recipe holds"
            };
            return Ok((
                Action::Nothing(match tip {
                    Some(t) => format!(
                        "{holds} on {base_label}; branch {branch} ({}) is left as it is (patcher never deletes branches)",
                        short(t)
                    ),
                    None => format!("{holds} on {base_label}; no branch was created"),
                }),
                kept_going,
            ));
        }
        let tree = build(repo, base_tree, prefix, &base_outcome.changes)?;
        let (_, message) = commit_message(recipes, base_outcome);
        if let [only] = commits.as_slice()
            && let Ok(c) = repo.find_commit(only.id)
            && c.parent_id(0).ok() == Some(base_id)
            && c.tree_id() == tree
            && c.message().ok() == Some(message.as_str())
        {
            return Ok((
                Action::UpToDate {
                    tip: only.id,
                    note: None,
                },
                kept_going,
            ));
        }
        let note = tip.map(|t| {
            format!(
                "branch {branch} ({}) has only patcher's commits since {base_label}: rebuilding it",
                short(t)
            )
        });
        return Ok((
            Action::Commit {
                parent: base_id,
                tree,
                message,
                rebuild: true,
                note,
            },
            kept_going,
        ));
    }

    // Someone else's commits: never rewritten; plan on the branch tip.
    let Some(tip) = tip else {
        return Err("internal: foreign commits without a tip".into());
    };
    let first = foreign[0].describe();
    let tip_commit = repo
        .find_commit(tip)
        .map_err(|e| format!("cannot read {tip}: {}", e.message()))?;
    let tip_tree = tip_commit
        .tree()
        .map_err(|e| format!("cannot read the tree of {tip}: {}", e.message()))?;
    let outcome = plan_tree(
        repo,
        &tip_tree,
        prefix,
        recipes,
        saved,
        &format!("branch {branch} at {}", short(tip)),
        run,
    )?;
    print_outcome(&outcome, color);
    let kept_going = kept(&outcome);
    if !outcome.errors.is_empty() && !keep_going {
        return Err(format!(
            "stopping: branch {branch} has a commit patcher did not make, {first}; patcher does not rewrite it, and the recipes cannot be applied on top of it (see the errors above)"
        ));
    }
    let moved = !git::is_ancestor(repo, base_id, tip);
    let moved_note = if moved {
        format!(" It is not rebuilt on {base_label}: that would rewrite their commits.")
    } else {
        String::new()
    };
    if outcome.changes.is_empty() {
        let action = Action::UpToDate {
            tip,
            note: Some(format!(
                "branch {branch} has commits patcher did not make ({first}{}); patcher leaves them alone, and the branch already satisfies every recipe.{moved_note}",
                if foreign.len() > 1 {
                    format!(" and {} more", foreign.len() - 1)
                } else {
                    String::new()
                }
            )),
        };
        return Ok((action, kept_going));
    }
    let tree = build(repo, &tip_tree, prefix, &outcome.changes)?;
    let (_, message) = commit_message(recipes, &outcome);
    let action = Action::Commit {
        parent: tip,
        tree,
        message,
        rebuild: false,
        note: Some(format!(
            "branch {branch} has a commit patcher did not make, {first}: adding a commit on top instead of rewriting it.{moved_note}"
        )),
    };
    Ok((action, kept_going))
}

fn build(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    changes: &[FileChange],
) -> Result<Oid, String> {
    let edits: Vec<git::Edit<'_>> = changes
        .iter()
        .map(|c| git::Edit {
            path: &c.path,
            content: c.new_text.as_bytes(),
        })
        .collect();
    git::build_tree(repo, tree, prefix, &edits)
}
