//! patcher: keeps CI workflows and Helm charts in a known-good shape, as code.
//!
//! Data flows one way: [`recipe`] (KDL → typed recipes) → [`plan`] (recipes × documents →
//! RFC 6902 ops) → [`edit`] (ops → byte-minimal edits, verified) → [`report`] (diff, JSON).
//! [`check`] turns a run into a drift report (`patcher check`).
//! [`doc`] is the only module that reads YAML; [`shell`] edits shell commands by argument.

pub mod check;
pub mod doc;
pub mod edit;
pub mod engine;
pub mod path;
pub mod plan;
pub mod recipe;
pub mod report;
pub mod shell;
