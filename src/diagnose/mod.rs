//! `patcher diagnose`: reads CI failure logs and matches them against failure signatures
//! ([`crate::causes`]), names the recipes that fix each cause, with the planner's answer to
//! whether each already holds ([`fixes`]), and writes the result (text,
//! `patcher.diagnose/v1` JSON, GitHub annotations) from plain data ([`report`]).

pub mod command;
pub mod fixes;
pub mod report;

use std::path::Path;

use crate::causes::scan::{Hit, Unmatched};
use crate::engine::RunOptions;
use crate::recipe::RecipeSet;
use crate::report::drift::CheckReport;
use fixes::{Fix, Repository};

/// One known cause found in the logs and the recipes that fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub hit: Hit,
    pub recipes: Vec<Fix>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnosis {
    pub causes: Vec<Cause>,
    pub unmatched: Vec<Unmatched>,
    /// How many logs were read.
    pub logs: usize,
}

impl Diagnosis {
    /// 0 no known cause, 2 known causes found.
    pub fn exit_code(&self) -> u8 {
        if self.causes.is_empty() { 0 } else { 2 }
    }
}

/// Resolves each hit's fixes (from [`crate::causes::scan::scan`] over `logs` logs) against the repository,
/// if any.
pub fn diagnose(
    hits: Vec<Hit>,
    unmatched: Vec<Unmatched>,
    logs: usize,
    repo: Option<&Repository<'_>>,
) -> Diagnosis {
    let causes = hits
        .into_iter()
        .map(|hit| Cause {
            recipes: fixes::resolve(&hit.fixes, repo),
            hit,
        })
        .collect();
    Diagnosis {
        causes,
        unmatched,
        logs,
    }
}

/// `check`'s verdict on the recipes the hits could name (every recipe whose name, instance
/// or `implements` a hit's fixes mention): the rest are not planned, to keep diagnose fast.
pub fn check_named(
    root: &Path,
    recipes: &RecipeSet,
    hits: &[Hit],
    opts: &RunOptions,
) -> CheckReport {
    let named = |n: &String| hits.iter().any(|h| h.fixes.contains(n));
    let subset = RecipeSet {
        recipes: recipes
            .recipes
            .iter()
            .filter(|r| {
                named(&r.name)
                    || r.implements.iter().any(named)
                    || r.instance_of
                        .as_ref()
                        .and_then(|i| i.strip_prefix("catalog:"))
                        .is_some_and(|i| named(&i.to_string()))
            })
            .cloned()
            .collect(),
        templates: Vec::new(),
    };
    crate::check::evaluate_with(root, &subset, opts)
}
