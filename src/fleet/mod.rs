//! `patcher fleet`: the same recipes on many repositories, one pull request each. Every
//! repository gets a cached clone ([`clones`]) and then exactly the single-repository pipeline
//! (`plan`, `check`, or [`crate::apply`]'s branch mode), `--jobs` at a time; the API writes of
//! all of them go through one [`pacer`]. One repository failing never stops the others; the
//! result is plain data ([`report`]), and `apply` records it for `--resume` ([`state`]).

pub mod cli;
pub mod clones;
pub mod file;
pub mod matrix;

pub mod report;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::apply;
use crate::engine;
use crate::github::pulls::PrResult;
use crate::pacer::{self, Pacer};
use crate::recipe::RecipeSet;
use crate::report::Color;
use crate::saved_plan::sha256_hex;
use file::{Fleet, RepoSpec};
use report::{FleetReport, PrRef, Refused, RepoReport, Status};
use state::{Entry, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
    Check,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Apply => "apply",
            Mode::Check => "check",
        }
    }
}

/// How a fleet run goes.
#[derive(Debug, Clone)]
pub struct Options {
    pub cache: PathBuf,
    /// Repositories cloned and planned at a time.
    pub jobs: usize,
    pub push: bool,
    pub pr: bool,
    /// Skip repositories done in an earlier `apply` whose base has not moved.
    pub resume: bool,
    pub branch: Option<String>,
    pub author: Option<String>,
    pub labels: Vec<String>,
    pub keep_going: bool,
    pub run: engine::RunOptions,
}

/// The recipes' identity for `--resume`: their files' paths and bytes.
pub fn recipes_digest(recipes: &RecipeSet) -> String {
    let mut files: Vec<&Path> = recipes
        .recipes
        .iter()
        .map(|r| r.origin.file.as_path())
        .collect();
    files.sort();
    files.dedup();
    let mut bytes = Vec::new();
    for f in files {
        bytes.extend_from_slice(f.display().to_string().as_bytes());
        bytes.push(0);
        bytes.extend(std::fs::read(f).unwrap_or_default());
        bytes.push(0);
    }
    sha256_hex(&bytes)
}

/// Runs `mode` on every repository of `fleet`; `progress` hears each result as it lands.
pub fn run(
    fleet: &Fleet,
    recipes: &RecipeSet,
    mode: Mode,
    opts: &Options,
    pacer: &Arc<Pacer>,
    progress: &(dyn Fn(&RepoReport) + Sync),
) -> Result<FleetReport, String> {
    std::fs::create_dir_all(&opts.cache)
        .map_err(|e| format!("cannot create the cache {}: {e}", opts.cache.display()))?;
    let state = Mutex::new(State::load(&opts.cache, &fleet.name)?);
    let digest = recipes_digest(recipes);
    let results: Mutex<Vec<Option<RepoReport>>> = Mutex::new(vec![None; fleet.repos.len()]);
    let next = AtomicUsize::new(0);
    let workers = opts.jobs.clamp(1, fleet.repos.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(spec) = fleet.repos.get(i) else {
                        break;
                    };
                    let report = one(spec, recipes, mode, opts, pacer, &state, &digest);
                    progress(&report);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(report);
                    }
                }
            });
        }
    });
    let repositories: Vec<RepoReport> = results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(&fleet.repos)
        .map(|(r, spec)| {
            r.unwrap_or_else(|| {
                let mut r = RepoReport::new(&spec.spec, spec.github.as_deref(), Status::Failed);
                r.errors
                    .push("the worker for this repository stopped".into());
                r
            })
        })
        .collect();
    Ok(FleetReport::new(&fleet.name, mode.as_str(), repositories))
}

/// One repository, start to end; every problem ends up in the report, none escapes.
fn one(
    spec: &RepoSpec,
    recipes: &RecipeSet,
    mode: Mode,
    opts: &Options,
    pacer: &Arc<Pacer>,
    state: &Mutex<State>,
    digest: &str,
) -> RepoReport {
    if mode == Mode::Apply && opts.resume {
        let previous = state.lock().ok().and_then(|s| s.get(&spec.spec).cloned());
        if let Some(done) = previous.filter(|e| e.result.is_done() && e.recipes == digest)
            && base_unmoved(&opts.cache, spec, &done)
        {
            let mut r = done.report;
            r.resumed = true;
            return r;
        }
    }
    let mut report = RepoReport::new(&spec.spec, spec.github.as_deref(), Status::Failed);
    report.root = spec.root.clone();
    report.base = spec.base.clone();
    let outcome = clones::sync(&opts.cache, spec).and_then(|checkout| {
        report.base = Some(checkout.base.clone());
        report.base_commit = Some(checkout.base_commit.clone());
        let root = match &spec.root {
            Some(r) => checkout.dir.join(r),
            None => checkout.dir.clone(),
        };
        if !root.is_dir() {
            return Err(format!(
                "root={:?} is not a directory on {}",
                spec.root.as_deref().unwrap_or("."),
                checkout.base
            ));
        }
        match mode {
            Mode::Plan | Mode::Check => {
                plan_one(&root, recipes, mode, opts, &mut report);
                Ok(())
            }
            Mode::Apply => apply_one(
                spec,
                &root,
                &checkout.base,
                recipes,
                opts,
                pacer,
                &mut report,
            ),
        }
    });
    if let Err(e) = outcome {
        report.result = if e.starts_with(pacer::DEFERRED) {
            Status::Deferred
        } else {
            Status::Failed
        };
        report.errors.push(crate::git::redact(&e));
    }
    if mode == Mode::Apply
        && let Ok(mut st) = state.lock()
    {
        let entry = Entry {
            result: report.result,
            base: report.base.clone(),
            base_commit: report.base_commit.clone(),
            recipes: digest.to_string(),
            report: report.clone(),
        };
        if let Err(e) = st.record(&spec.spec, entry) {
            report
                .errors
                .push(format!("--resume will not know this result: {e}"));
        }
    }
    report
}

/// Whether the remote's base is still the commit the earlier result was built on.
fn base_unmoved(cache: &Path, spec: &RepoSpec, done: &Entry) -> bool {
    let (Some(base), Some(commit)) = (&done.base, &done.base_commit) else {
        return false;
    };
    let Ok(repo) = git2::Repository::open(clones::clone_dir(cache, &spec.spec)) else {
        return false;
    };
    crate::git::remote_tip(&repo, "origin", base)
        .ok()
        .flatten()
        .is_some_and(|tip| tip.to_string() == *commit)
}

fn plan_one(root: &Path, recipes: &RecipeSet, mode: Mode, opts: &Options, report: &mut RepoReport) {
    let outcome = engine::run_with(root, recipes, &opts.run);
    report.refused = refused(&outcome);
    let changed = outcome.changes.iter().any(|c| c.old_text != c.new_text);
    report.result = if !outcome.errors.is_empty() {
        report.errors.push(format!(
            "{} refused: the recipes cannot be applied as they are (see refused)",
            outcome.errors.len()
        ));
        Status::Failed
    } else if !changed {
        Status::NoChanges
    } else if mode == Mode::Check {
        Status::Drift
    } else {
        Status::Changes
    };
    if mode == Mode::Plan {
        let (out, err) = crate::report::text(&outcome, Color::Never);
        report.diff = format!("{out}{err}");
    }
}

fn refused(outcome: &crate::outcome::Outcome) -> Vec<Refused> {
    outcome
        .refused()
        .into_iter()
        .flat_map(|(file, errors)| {
            errors.into_iter().map(move |e| Refused {
                file: if file.is_empty() {
                    e.origin.clone()
                } else {
                    file.to_string()
                },
                reason: e.message.lines().next().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

fn apply_one(
    spec: &RepoSpec,
    root: &Path,
    base: &str,
    recipes: &RecipeSet,
    opts: &Options,
    pacer: &Arc<Pacer>,
    report: &mut RepoReport,
) -> Result<(), String> {
    if opts.pr && spec.github.is_none() {
        return Err(format!(
            "--pr: {} does not say which GitHub repository it is; add github=\"owner/name\" to its repo line (line {})",
            spec.url, spec.line
        ));
    }
    let aopts = apply::Options {
        root: root.to_path_buf(),
        base: Some(format!("origin/{base}")),
        branch: opts.branch.clone(),
        author: opts.author.clone(),
        push: opts.push.then(|| "origin".to_string()),
        pr: opts.pr,
        labels: opts.labels.clone(),
        dry_run: false,
        keep_going: opts.keep_going,
        color: Some(Color::Never),
        run: opts.run.clone(),
        github: spec.github.clone(),
        pacer: Some(pacer.clone()),
    };
    let mut applied = apply::Applied::default();
    let (result, _log) =
        apply::capture(|| apply::execute_into(&aopts, recipes, None, &mut applied));
    report.branch = (!applied.branch.is_empty()).then(|| applied.branch.clone());
    report.commit = applied.commit.clone();
    report.refused = applied
        .refused
        .iter()
        .map(|(file, reason)| Refused {
            file: file.clone(),
            reason: reason.clone(),
        })
        .collect();
    result?;
    report.result = match &applied.pr {
        Some(PrResult::Created(_)) => Status::Opened,
        Some(PrResult::Updated(..)) => Status::Updated,
        Some(PrResult::UpToDate(_)) if applied.committed => Status::Updated,
        Some(PrResult::UpToDate(_)) => Status::UpToDate,
        Some(PrResult::ClosedUnmerged(_)) => Status::Closed,
        Some(PrResult::WouldCreate | PrResult::WouldUpdate(..)) | None => {
            if applied.committed {
                Status::Updated
            } else if applied.commit.is_some() {
                Status::UpToDate
            } else {
                Status::NoChanges
            }
        }
    };
    if let Some(
        PrResult::Created(pr)
        | PrResult::Updated(pr, _)
        | PrResult::UpToDate(pr)
        | PrResult::ClosedUnmerged(pr),
    ) = &applied.pr
    {
        report.pr = Some(PrRef {
            number: pr.number,
            url: pr.url.clone(),
        });
    }
    if let Some(line) = applied.kept_going {
        report.result = Status::Failed;
        report.errors.push(line);
    }
    Ok(())
}
