//! patcher: keeps CI workflows and Helm charts in a known-good shape, as code.
//!
//! Data flows one way: [`recipe`] (KDL → typed recipes) → [`plan`] (recipes × documents →
//! RFC 6902 ops) → [`edit`] (ops → byte-minimal edits, verified) → [`report`] (diff, JSON).
//! [`check`] turns a run into a drift report (`patcher check`); [`listing`] shows the
//! catalogue's and the repository's recipes (`patcher recipes list|show`).
//! [`doc`] is the only module that reads YAML; [`shell`] edits shell commands by argument.
//! [`apply`] commits a plan to a branch ([`git`]) and opens its pull request ([`forge`]);
//! [`saved_plan`] stores a plan and refuses to apply it once its inputs changed.
//! [`select`] finds the files recipes name (shell-style globs, root safety); [`write`] writes
//! changed files atomically. [`render`] verifies the plan's effect on `helm template` output.
//! [`diagnose`] names the recipes that fix the failures in CI logs; [`stats`] measures a
//! workflow's success rate before and after a fix (GitHub Actions API).
//! [`fleet`] runs the same recipes on many repositories, one pull request each.

pub mod apply;
pub mod causes;
pub mod change;
pub mod check;
pub mod diagnose;
pub mod doc;
pub mod edit;
pub mod engine;
pub mod finding;
pub mod fleet;
pub mod git;
pub mod github;
pub mod init;
pub mod listing;
pub mod outcome;
pub mod pacer;
pub mod parallel;
pub mod path;
pub mod plan;
pub mod pointer;
pub mod recipe;
pub mod render;
pub mod report;
pub mod saved_plan;
pub mod select;
pub mod shell;
pub mod stats;
pub mod wrap;
pub mod write;
