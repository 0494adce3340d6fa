//! patcher: keeps CI workflows and Helm charts in a known-good shape, as code.
//!
//! Data flows one way, and a module imports only the ones to its right:
//!
//! [`recipe`] (KDL → typed recipes) → [`select`] (the files they name) → [`doc`] (YAML and
//! templates → models with spans) → [`plan`] (recipes × models → RFC 6902 ops, pure data) →
//! [`edit`] (ops → byte-minimal edits, verified) → [`render`] (the edit's effect on
//! `helm template` output) → [`report`] (diff, JSON, SARIF) → [`write`](mod@write) (atomic writes).
//!
//! - The conductor: [`engine`] runs that flow for `plan`, `apply --in-place` and `check`.
//! - What the stages hand each other lives in low rooms: [`change`] (planned ops, file
//!   changes, op sites), [`finding`], [`outcome`] (a run's result per recipe and file),
//!   [`pointer`](mod@pointer) (JSON Pointer helpers), [`path`] (recipe paths).
//! - Commands above the engine: [`check`] (drift report), [`listing`] (`recipes list|show`),
//!   [`apply`] (a commit on a branch, pushed, and one pull request), [`saved_plan`] (a plan
//!   kept and refused once its inputs change), [`init`] (recipes proposed for a repository),
//!   [`fleet`] (many repositories, one pull request each), [`diagnose`] (CI logs → causes →
//!   recipes), [`stats`] (did the fix work?).
//! - Beside the flow: [`shell`] (shell commands edited by argument), [`causes`] (what a CI
//!   log says went wrong), [`git`] (repositories, branches, commits), [`github`] (pull
//!   requests and the Actions API), [`pacer`] (request pacing), [`parallel`] (a scoped
//!   thread map), [`wrap`] (text wrapping).

// Module docs name their private submodules and items on purpose (they are the map of the
// code); `cargo doc --document-private-items` resolves those links.
#![allow(rustdoc::private_intra_doc_links)]

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
