//! `patcher apply` without `--in-place`: plan against the base commit's tree, converge one
//! commit on the patcher branch, optionally push it under a lease and open or refresh the pull
//! request. The working tree, the index and the current branch are never touched.
//!
//! Convergence (re-runs):
//! - no branch yet: one commit (tree = base tree + edited blobs, parent = base), or nothing at
//!   all when every recipe already holds;
//! - the branch holds only patcher's commits since the base (each has the `Patcher-Recipes:`
//!   trailer): rebuilt on the current base and moved, but only when its parent, tree or message
//!   would differ; otherwise "already up to date";
//! - the branch has someone else's commits: never rewritten. The recipes are planned against the
//!   branch tip instead; a commit is added on top when they still change something, the run
//!   stops naming that commit when they cannot apply, and otherwise the branch is up to date.
//!
//! This file is the command's flow, step by step; `converge.rs` decides what the branch gets,
//! `publish.rs` pushes, moves the branch and opens the pull request, `message.rs` writes the
//! commit and pull request text, `capture.rs` routes the messages.

mod capture;
mod converge;
mod message;
mod options;
mod publish;

use git2::{Oid, Repository, Tree};

use crate::git::{self, Repo, short};
use crate::outcome::Outcome;
use crate::recipe::RecipeSet;
use crate::report::Color;
use capture::{print_outcome, say};
use converge::{Action, decide, find_tips, note_dirty, plan_tree};
use publish::{move_branch, open_pr, push_branch, say_branch};

pub use capture::capture;
pub use message::{commit_message, pr_body, slug};
pub use options::{Applied, Options, Saved};

/// Runs the branch mode; returns the exit code (0 done or nothing to do, 1 error, or
/// `--keep-going` left refused files).
pub fn run(opts: &Options, recipes: &RecipeSet, saved: Option<Saved<'_>>) -> u8 {
    match execute(opts, recipes, saved) {
        Ok(Applied {
            kept_going: None, ..
        }) => 0,
        Ok(Applied {
            kept_going: Some(line),
            ..
        }) => {
            say(&line);
            1
        }
        Err(msg) => {
            if !msg.is_empty() {
                say(&format!("error: {}", git::redact(&msg)));
            }
            1
        }
    }
}

/// Runs the branch mode and says what it did; messages go to stderr (or to [`capture`](mod@capture)).
/// `kept_going` in the answer: done, but `--keep-going` left refused files.
pub fn execute(
    opts: &Options,
    recipes: &RecipeSet,
    saved: Option<Saved<'_>>,
) -> Result<Applied, String> {
    let mut applied = Applied::default();
    execute_into(opts, recipes, saved, &mut applied).map(|()| applied)
}

/// [`execute`], filling `applied` as it goes: on an error it still says the branch, the base
/// and the refused files.
pub fn execute_into(
    opts: &Options,
    recipes: &RecipeSet,
    saved: Option<Saved<'_>>,
    applied: &mut Applied,
) -> Result<(), String> {
    let color = opts.color.unwrap_or(Color::Never);
    let Repo { repo, prefix } = git::open(&opts.root)?;
    if opts.dry_run {
        say("dry run: no object, ref, push or pull request is written");
    }
    // In a dry run every object patcher writes goes to memory and is dropped at exit.
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    let _memory = if opts.dry_run {
        Some(
            odb.add_new_mempack_backend(1000)
                .map_err(|e| format!("cannot set up the dry run: {}", e.message()))?,
        )
    } else {
        None
    };

    let base = Base::resolve(&repo, opts.base.as_deref())?;
    let branch = branch_name(&repo, opts.branch.as_deref(), recipes)?;
    note_dirty(&repo, recipes, &base.label);

    applied.branch = branch.clone();
    applied.base_commit = base.id.to_string();
    let base_outcome = plan_base(&repo, &base, &prefix, recipes, saved, opts, applied)?;

    // Where the branch is: locally, and on the remote when pushing.
    let (tips, tip) = find_tips(&repo, &branch, opts.push.as_deref())?;
    let (action, kept_going) = decide(
        &repo,
        &branch,
        &base.label,
        base.id,
        &base.tree,
        tip,
        &prefix,
        recipes,
        saved,
        &base_outcome,
        opts.keep_going,
        color,
        &opts.run,
    )?;
    applied.kept_going = kept_going;

    // The commit the branch should point to, and what the pull request says.
    let Some((final_tip, force)) = land(&repo, &action, tip, opts, applied)? else {
        return Ok(());
    };
    applied.commit = Some(final_tip.to_string());

    let verb = match &action {
        Action::Commit { rebuild: true, .. } if tip.is_some() => "rebuilt",
        Action::Commit { rebuild: true, .. } => "created",
        Action::Commit { .. } => "added a commit to",
        _ => "",
    };

    // Push under a lease, then move the local branch.
    if let Some(remote) = &opts.push {
        push_branch(
            &repo,
            remote,
            &branch,
            final_tip,
            &tips,
            force,
            opts.dry_run,
        )?;
    }
    let log = format!("patcher: {verb} on {}", short(base.id));
    move_branch(&repo, &branch, final_tip, &tips, &log, opts.dry_run)?;
    say_branch(&action, verb, &branch, final_tip, &base.label, opts.dry_run);

    if opts.pr {
        applied.pr = open_pr(
            &repo,
            opts,
            recipes,
            &branch,
            &base.tree,
            &base_outcome,
            final_tip,
        )?;
    }
    Ok(())
}

/// The commit the plan runs against (`--base`, default `HEAD`), its tree, and how messages
/// name it.
struct Base<'r> {
    id: Oid,
    tree: Tree<'r>,
    label: String,
}

impl<'r> Base<'r> {
    fn resolve(repo: &'r Repository, base: Option<&str>) -> Result<Self, String> {
        let commit = git::resolve_base(repo, base)?;
        let base_id = commit.id();
        let base_tree = commit
            .tree()
            .map_err(|e| format!("cannot read the base tree: {}", e.message()))?;
        let base_name = base.map(str::to_string).unwrap_or_else(|| "HEAD".into());
        let base_label = format!("{base_name} ({})", short(base_id));
        Ok(Base {
            id: base_id,
            tree: base_tree,
            label: base_label,
        })
    }
}

/// The branch to converge (`--branch`, default `patcher/<slug>`): a valid name that no work
/// tree has checked out.
fn branch_name(
    repo: &Repository,
    branch: Option<&str>,
    recipes: &RecipeSet,
) -> Result<String, String> {
    let names: Vec<&str> = recipes.recipes.iter().map(|r| r.name.as_str()).collect();
    let branch = match branch {
        Some(b) => b.to_string(),
        None => format!("patcher/{}", slug(&names)),
    };
    if !git::valid_branch_name(&branch) {
        return Err(format!(
            "{branch:?} is not a valid branch name (see `git check-ref-format --branch`)"
        ));
    }
    if let Some(wt) = git::checked_out_in(repo, &branch) {
        return Err(format!(
            "branch {branch} is checked out in {}; patcher never moves a checked-out branch (switch that work tree to another branch, or pass --branch)",
            wt.display()
        ));
    }
    Ok(branch)
}

/// The plan against the base commit; the files it refused go to `applied`. Its errors stop
/// the run unless `--keep-going`.
fn plan_base(
    repo: &Repository,
    base: &Base<'_>,
    prefix: &str,
    recipes: &RecipeSet,
    saved: Option<Saved<'_>>,
    opts: &Options,
    applied: &mut Applied,
) -> Result<Outcome, String> {
    let base_outcome = plan_tree(
        repo,
        &base.tree,
        prefix,
        recipes,
        saved,
        &base.label,
        &opts.run,
    )?;
    applied.refused = base_outcome
        .refused()
        .into_iter()
        .flat_map(|(file, errors)| {
            errors.into_iter().map(move |e| {
                let at = if file.is_empty() { &e.origin } else { file };
                (
                    at.to_string(),
                    e.message.lines().next().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    if !base_outcome.errors.is_empty() && !opts.keep_going {
        print_outcome(&base_outcome, opts.color.unwrap_or(Color::Never));
        return Err(
            "nothing was committed: fix the errors above first (--keep-going commits the files that verified)"
                .into(),
        );
    }
    Ok(base_outcome)
}

/// Carries out `action` up to the commit: says why nothing is committed (`None`: the run is
/// done), or writes the new commit. The commit the branch should point to, and whether it
/// replaces patcher's own commits.
fn land(
    repo: &Repository,
    action: &Action,
    tip: Option<Oid>,
    opts: &Options,
    applied: &mut Applied,
) -> Result<Option<(Oid, bool)>, String> {
    let landed = match action {
        Action::Nothing(why) => {
            say(why);
            if opts.pr {
                say("no pull request is needed");
            }
            applied.commit = tip.map(|t| t.to_string());
            return Ok(None);
        }
        Action::UpToDate { tip, note } => {
            if let Some(n) = note {
                say(n);
            }
            (*tip, false)
        }
        Action::Commit {
            parent,
            tree,
            message,
            rebuild,
            note,
        } => {
            if let Some(n) = note {
                say(n);
            }
            let sig = git::identity(repo, opts.author.as_deref())?;
            let tree = repo
                .find_tree(*tree)
                .map_err(|e| format!("cannot read the new tree: {}", e.message()))?;
            let parent = repo
                .find_commit(*parent)
                .map_err(|e| format!("cannot read commit {parent}: {}", e.message()))?;
            let id = repo
                .commit(None, &sig, &sig, message, &tree, &[&parent])
                .map_err(|e| format!("cannot write the commit: {}", e.message()))?;
            applied.committed = true;
            (id, *rebuild)
        }
    };
    Ok(Some(landed))
}
