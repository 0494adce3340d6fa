//! patcher: keeps CI workflows and Helm charts in a known-good shape, as code.
//!
//! Data flows one way: [`recipe`] (KDL → typed recipes) → [`plan`] (recipes × documents →
//! RFC 6902 ops) → [`edit`] (ops → byte-minimal edits, verified) → [`report`] (diff, JSON).
//! [`check`] turns a run into a drift report (`patcher check`).
//! [`doc`] is the only module that reads YAML; [`shell`] edits shell commands by argument.
//! [`apply`] commits a plan to a branch ([`git`]) and opens its pull request ([`forge`]);
//! [`saved_plan`] stores a plan and refuses to apply it once its inputs changed.
//! [`select`] finds the files recipes name (shell-style globs, root safety); [`write`] writes
//! changed files atomically. [`render`] verifies the plan's effect on `helm template` output.

pub mod apply;
pub mod check;
pub mod doc;
pub mod edit;
pub mod engine;
pub mod forge;
pub mod git;
pub mod init;
pub mod path;
pub mod plan;
pub mod recipe;
pub mod render;
pub mod report;
pub mod saved_plan;
pub mod select;
pub mod shell;
pub mod write;
