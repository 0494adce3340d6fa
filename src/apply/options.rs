//! What `patcher apply` (branch mode) is asked to do and what it answers: the flags, a saved
//! plan to apply exactly, and the result callers such as `patcher fleet` read. Data only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine;
use crate::github::pulls::PrResult;
use crate::pacer::Pacer;
use crate::report::Color;
use crate::saved_plan::{RecipeInputs, SavedPlan};

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
