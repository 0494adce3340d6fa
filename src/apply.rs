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

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::{Oid, Repository, Tree};

use crate::change::FileChange;
use crate::engine;
use crate::forge::{Forge, PrResult, PrSpec};
use crate::git::{self, CommitInfo, Repo, short};
use crate::outcome::Outcome;
use crate::pacer::Pacer;
use crate::recipe::RecipeSet;
use crate::report::{self, Color};
use crate::saved_plan::{RecipeInputs, SavedPlan, sha256_hex};
use crate::wrap::wrap;

/// The flags of the branch mode.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub root: PathBuf,
    /// `--base REV` (default `HEAD`).
    pub base: Option<String>,
    /// `--branch NAME` (default `patcher/<slug>`).
    pub branch: Option<String>,
    /// `--author "Name <email>"`.
    pub author: Option<String>,
    /// `--push [REMOTE]`.
    pub push: Option<String>,
    pub pr: bool,
    pub labels: Vec<String>,
    pub dry_run: bool,
    /// `--keep-going`: commit the files that verified, list the refused ones, exit 1.
    pub keep_going: bool,
    pub color: Option<Color>,
    /// `--render`.
    pub run: engine::RunOptions,
    /// The repository's `owner/name` on GitHub, when the caller knows it (`patcher fleet`);
    /// otherwise `GITHUB_REPOSITORY`, else the remote's URL.
    pub github: Option<String>,
    /// Paces the API writes of many runs (`patcher fleet`); `None`: one run, unpaced.
    pub pacer: Option<Arc<Pacer>>,
}

/// What the branch mode did, for callers that run it as a library (`patcher fleet`).
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub branch: String,
    /// The base commit the plan ran against.
    pub base_commit: String,
    /// Where the branch points after the run; `None`: no branch is needed.
    pub commit: Option<String>,
    /// A commit was made (the branch was created, moved or added to).
    pub committed: bool,
    /// What happened to the pull request (`--pr`).
    pub pr: Option<PrResult>,
    /// Files the recipes could not edit (`--keep-going`): (file or origin, reason).
    pub refused: Vec<(String, String)>,
    /// `--keep-going` left refused files: the line that says how many.
    pub kept_going: Option<String>,
}

/// A saved plan to apply exactly, with the inputs of the recipes loaded from it.
#[derive(Clone, Copy)]
pub struct Saved<'a> {
    pub plan: &'a SavedPlan,
    pub path: &'a Path,
    pub recipes: &'a RecipeInputs,
}

thread_local! {
    /// Where this thread's messages go instead of stdout/stderr while [`capture`] runs: many
    /// repositories applied in parallel (`patcher fleet`) must not interleave their lines.
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`, collecting what the branch mode prints on this thread instead of printing it.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(String::new()));
    let value = f();
    let text = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (value, text.unwrap_or_default())
}

/// Appends to the capture; `false` when none is active.
fn captured(text: &str) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buf) => {
            buf.push_str(text);
            true
        }
        None => false,
    })
}

fn say(msg: &str) {
    if !captured(&format!("{msg}\n")) {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

fn show(text: &str) {
    if !captured(text) {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

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

/// The branch slug: the selected recipe names, sorted, joined; long selections are shortened
/// and made unique with a hash of all the names.
pub fn slug(names: &[&str]) -> String {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let clean = |s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches(|c| c == '-' || c == '.').to_string()
    };
    let parts: Vec<String> = sorted
        .iter()
        .map(|n| clean(n))
        .filter(|s| !s.is_empty())
        .collect();
    let joined = parts.join("-");
    if joined.is_empty() {
        return "recipes".into();
    }
    if joined.len() <= 48 {
        return joined;
    }
    let hash = sha256_hex(sorted.join("\n").as_bytes());
    let first: String = parts[0].chars().take(24).collect();
    let first = first.trim_end_matches('-');
    if parts.len() == 1 {
        format!("{first}-{}", &hash[..8])
    } else {
        format!("{first}-and-{}-more-{}", parts.len() - 1, &hash[..8])
    }
}

/// The commit subject (also the pull request title) and the whole message; files that
/// `--keep-going` left refused are listed with their reasons, for the reviewer.
pub fn commit_message(recipes: &RecipeSet, outcome: &Outcome) -> (String, String) {
    let changes = &outcome.changes;
    let mut used: Vec<(&str, Option<&str>, Vec<&str>)> = Vec::new();
    for r in &recipes.recipes {
        let files: Vec<&str> = changes
            .iter()
            .filter(|c| c.recipes().contains(&r.name))
            .map(|c| c.path.as_str())
            .collect();
        if !files.is_empty() {
            used.push((r.name.as_str(), r.description.as_deref(), files));
        }
    }
    let names: Vec<&str> = used.iter().map(|(n, _, _)| *n).collect();
    let mut subject = format!("patcher: {}", names.join(", "));
    if subject.len() > 72 {
        subject = format!("patcher: apply {} recipes", names.len());
    }
    let mut msg = format!("{subject}\n");
    for (name, description, files) in &used {
        msg.push('\n');
        msg.push_str(name);
        msg.push('\n');
        if let Some(d) = description {
            for line in wrap(d, 70) {
                msg.push_str(&format!("  {line}\n"));
            }
        }
        for f in files {
            msg.push_str(&format!("  changed: {f}\n"));
        }
    }
    let refused = outcome.refused();
    if !refused.is_empty() {
        msg.push_str("\nRefused, left for a human:\n");
        for (file, errors) in &refused {
            for e in errors {
                let reason = e.message.lines().next().unwrap_or_default();
                let at = if file.is_empty() { &e.origin } else { *file };
                msg.push_str(&format!("  {at}: {reason} ({})\n", e.recipe));
            }
        }
    }
    msg.push_str(&format!("\n{}: {}\n", git::TRAILER, names.join(", ")));
    (subject, msg)
}

/// The pull request body: what the recipes are for, what each file gets, what was refused
/// (`--keep-going`), the diff stat.
pub fn pr_body(recipes: &RecipeSet, outcome: &Outcome, diff_stat: &str) -> String {
    let changes = &outcome.changes;
    let mut body = String::from(
        "Changes made by **patcher** so that the files satisfy the repository's recipes.\n\n### Recipes\n\n",
    );
    for r in &recipes.recipes {
        if changes.iter().any(|c| c.recipes().contains(&r.name)) {
            body.push_str(&format!(
                "- **{}**: {}\n",
                r.name,
                r.description.as_deref().unwrap_or("(no description)")
            ));
        }
    }
    body.push_str("\n### Files\n\n| File | Recipes | Edits |\n| --- | --- | --- |\n");
    for c in changes {
        let edits = c.docs.iter().map(|(_, o)| o.len()).sum::<usize>() + c.text_ops.len();
        body.push_str(&format!(
            "| `{}`{} | {} | {} |\n",
            c.path,
            if c.created { " (new)" } else { "" },
            c.recipes().join(", "),
            edits
        ));
    }
    let refused = outcome.refused();
    if !refused.is_empty() {
        body.push_str(
            "\n### Refused: left for a human\n\nThese changes were not made; each needs a look (or a recipe fix).\n\n| File | Recipe | Reason |\n| --- | --- | --- |\n",
        );
        for (file, errors) in &refused {
            for e in errors {
                let at = if file.is_empty() { &e.origin } else { *file };
                body.push_str(&format!(
                    "| `{at}` | {} | {} |\n",
                    table_cell(&e.recipe),
                    table_cell(&e.message)
                ));
            }
        }
    }
    if !diff_stat.trim().is_empty() {
        body.push_str(&format!(
            "\n### Diff stat\n\n```\n{}\n```\n",
            diff_stat.trim_end()
        ));
    }
    body.push_str(
        "\nCommits on this branch without a `Patcher-Recipes:` trailer are never rewritten by patcher.\n",
    );
    body
}

/// Text for one Markdown table cell: one line, pipes escaped.
fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Exports `tree`, plans on it, checks a saved plan against it; errors are printed.
fn plan_tree(
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

fn print_outcome(outcome: &Outcome, color: Color) {
    let (out, err) = report::text(outcome, color);
    show(&out);
    if !captured(&err) {
        let _ = std::io::stderr().write_all(err.as_bytes());
    }
}

/// What the run does to the branch.
enum Action {
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

/// Runs the branch mode and says what it did; messages go to stderr (or to [`capture`]).
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

    let base = git::resolve_base(&repo, opts.base.as_deref())?;
    let base_id = base.id();
    let base_tree = base
        .tree()
        .map_err(|e| format!("cannot read the base tree: {}", e.message()))?;
    let base_name = opts.base.clone().unwrap_or_else(|| "HEAD".into());
    let base_label = format!("{base_name} ({})", short(base_id));

    let names: Vec<&str> = recipes.recipes.iter().map(|r| r.name.as_str()).collect();
    let branch = match &opts.branch {
        Some(b) => b.clone(),
        None => format!("patcher/{}", slug(&names)),
    };
    if !git::valid_branch_name(&branch) {
        return Err(format!(
            "{branch:?} is not a valid branch name (see `git check-ref-format --branch`)"
        ));
    }
    if let Some(wt) = git::checked_out_in(&repo, &branch) {
        return Err(format!(
            "branch {branch} is checked out in {}; patcher never moves a checked-out branch (switch that work tree to another branch, or pass --branch)",
            wt.display()
        ));
    }
    note_dirty(&repo, recipes, &base_label);

    applied.branch = branch.clone();
    applied.base_commit = base_id.to_string();
    // The plan against the base commit.
    let base_outcome = plan_tree(
        &repo,
        &base_tree,
        &prefix,
        recipes,
        saved,
        &base_label,
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
        print_outcome(&base_outcome, color);
        return Err(
            "nothing was committed: fix the errors above first (--keep-going commits the files that verified)"
                .into(),
        );
    }

    // Where the branch is: locally, and on the remote when pushing.
    let refname = format!("refs/heads/{branch}");
    let local_tip = repo.find_reference(&refname).ok().and_then(|r| r.target());
    let remote_tip = match &opts.push {
        Some(remote) => {
            let tip = git::remote_tip(&repo, remote, &branch)?;
            if let Some(t) = tip
                && repo.find_commit(t).is_err()
            {
                git::fetch_branch(&repo, remote, &branch)?;
            }
            tip
        }
        None => None,
    };
    let tip = choose_tip(&repo, &branch, opts.push.as_deref(), local_tip, remote_tip)?;

    let (action, kept_going) = decide(
        &repo,
        &branch,
        &base_label,
        base_id,
        &base_tree,
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
    let (final_tip, force) = match &action {
        Action::Nothing(why) => {
            say(why);
            if opts.pr {
                say("no pull request is needed");
            }
            applied.commit = tip.map(|t| t.to_string());
            return Ok(());
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
            let sig = git::identity(&repo, opts.author.as_deref())?;
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
    applied.commit = Some(final_tip.to_string());

    let verb = match &action {
        Action::Commit { rebuild: true, .. } if tip.is_some() => "rebuilt",
        Action::Commit { rebuild: true, .. } => "created",
        Action::Commit { .. } => "added a commit to",
        _ => "",
    };

    // Push under a lease, then move the local branch.
    if let Some(remote) = &opts.push {
        if remote_tip == Some(final_tip) {
            say(&format!(
                "{remote} already has {branch} at {}",
                short(final_tip)
            ));
        } else {
            let needs_force =
                force || remote_tip.is_some_and(|r| !git::is_ancestor(&repo, r, final_tip));
            if opts.dry_run {
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
                git::push_with_lease(&repo, remote, &branch, final_tip, remote_tip, needs_force)
                    .map_err(|e| format!("push of {branch} to {remote} refused: {e}"))?;
                say(&format!(
                    "pushed {branch} to {remote}: {} → {}",
                    remote_tip.map_or("(new branch)".into(), short),
                    short(final_tip)
                ));
            }
        }
    }
    if local_tip != Some(final_tip) {
        if opts.dry_run {
            say(&format!(
                "would set branch {branch} to {} (was {})",
                short(final_tip),
                local_tip.map_or("absent".into(), short)
            ));
        } else {
            let log = format!("patcher: {verb} on {}", short(base_id));
            let updated = match local_tip {
                Some(old) => repo.reference_matching(&refname, final_tip, true, old, &log),
                None => repo.reference(&refname, final_tip, false, &log),
            };
            updated.map_err(|e| {
                format!(
                    "cannot move branch {branch} (it changed while patcher ran?): {}",
                    e.message()
                )
            })?;
        }
    }
    match &action {
        Action::Commit {
            parent, rebuild, ..
        } => say(&format!(
            "{}{verb} branch {branch}: {} on {}",
            if opts.dry_run { "would have " } else { "" },
            short(final_tip),
            if *rebuild {
                base_label.clone()
            } else {
                format!("top of {}", short(*parent))
            }
        )),
        _ => say(&format!(
            "branch {branch} is already up to date ({})",
            short(final_tip)
        )),
    }

    if opts.pr {
        let remote = opts.push.as_deref().unwrap_or("origin");
        let final_commit = repo
            .find_commit(final_tip)
            .map_err(|e| format!("cannot read {final_tip}: {}", e.message()))?;
        let final_tree = final_commit.tree().map_err(|e| e.message().to_string())?;
        let stat = git::diff_stat(&repo, &base_tree, &final_tree);
        // Describe what patcher changes relative to the base.
        let (title, _) = commit_message(recipes, &base_outcome);
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
        let body = pr_body(recipes, &base_outcome, &stat);
        let base_branch = git::base_branch_name(&repo, opts.base.as_deref());
        let forge = match Forge::from_env_for(
            git::remote_url(&repo, remote).as_deref(),
            opts.github.as_deref(),
        ) {
            Ok(f) => f.with_pacer(opts.pacer.clone()),
            Err(e) if opts.dry_run => {
                say(&format!(
                    "would open or update the pull request for {branch} (cannot look it up: {e})"
                ));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let spec = PrSpec {
            head: &branch,
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
        applied.pr = Some(result.clone());
        say(&match result {
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
    }
    Ok(())
}

/// Says when the working tree has uncommitted changes: they are not part of the commit.
fn note_dirty(repo: &Repository, recipes: &RecipeSet, base_label: &str) {
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
fn decide(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_is_stable_and_order_free() {
        assert_eq!(
            slug(&["probe-delays", "ci-no-hpa"]),
            "ci-no-hpa-probe-delays"
        );
        assert_eq!(
            slug(&["ci-no-hpa", "probe-delays"]),
            "ci-no-hpa-probe-delays"
        );
        assert_eq!(slug(&["Weird Name!"]), "weird-name");
        assert_eq!(slug(&[]), "recipes");
        let many = [
            "ci-no-hpa",
            "ci-timeouts",
            "k3d-metrics-server",
            "helm-deploy-flags",
            "migration-job",
        ];
        let s = slug(&many);
        assert!(s.starts_with("ci-no-hpa-and-4-more-"), "{s}");
        assert!(s.len() <= 48);
        let mut rev = many;
        rev.reverse();
        assert_eq!(slug(&rev), s);
        assert!(git::valid_branch_name(&format!("patcher/{s}")));
    }
}
