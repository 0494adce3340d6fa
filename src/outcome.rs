//! The result of a run: the verified changes, the findings, each recipe's status and the
//! render verification of each chart. Built by [`crate::engine`]; read by the reports, the
//! writers and the commands. Plain data.

use std::collections::BTreeMap;

use crate::change::FileChange;
use crate::finding::Finding;
use crate::render;

/// Everything a run found: verified changes, warnings, errors, and a status per recipe.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<FileChange>,
    pub warnings: Vec<Finding>,
    pub errors: Vec<Finding>,
    /// Selectors that reach into template output patcher could not follow, one finding per
    /// (recipe, selector, file), naming the action: the recipe is unchecked in those files.
    pub unchecked: Vec<Finding>,
    /// Per recipe, in recipe order: (name, files that matched, ops planned).
    pub recipes: Vec<RecipeStatus>,
    /// Render verification, one per chart with changes.
    pub renders: Vec<render::ChartRender>,
    /// `render verification skipped: …` (`--render auto` without a helm).
    pub render_skipped: Option<String>,
}

impl Outcome {
    /// The files with errors, each with its errors, sorted by path. Errors that name no file
    /// (a bad glob, a path outside the root) are listed under "". A file can also be in
    /// `changes`: where one recipe's ops are refused, the others' may still go through.
    pub fn refused(&self) -> BTreeMap<&str, Vec<&Finding>> {
        let mut out: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
        for e in &self.errors {
            out.entry(e.file.as_deref().unwrap_or(""))
                .or_default()
                .push(e);
        }
        out
    }

    /// `kept going: N files written (K in part), M refused (see above)`, for `--keep-going`
    /// runs that left errors, `verb` saying what became of the changes (`written`,
    /// `committed`). A file written in part is counted there, not again as refused.
    pub fn kept_going_line(&self, verb: &str) -> String {
        let refused = self.refused();
        let written = self.changes.len();
        let in_part = self
            .changes
            .iter()
            .filter(|c| refused.contains_key(c.path.as_str()))
            .count();
        let files = refused.keys().filter(|f| !f.is_empty()).count() - in_part;
        let other = refused.get("").map_or(0, Vec::len);
        let mut line = format!(
            "kept going: {written} file{} {verb}",
            if written == 1 { "" } else { "s" }
        );
        if in_part > 0 {
            line.push_str(&format!(" ({in_part} in part)"));
        }
        line.push_str(&format!(", {files} refused"));
        if other > 0 {
            line.push_str(&format!(
                ", {other} other error{}",
                if other == 1 { "" } else { "s" }
            ));
        }
        line.push_str(" (see above)");
        line
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeStatus {
    pub name: String,
    pub files_matched: usize,
    pub ops: usize,
    pub files_changed: usize,
    /// Errors attributed to this recipe (its changes were not made).
    pub errors: usize,
    /// Files where a selector reaches into template output patcher could not follow (see
    /// [`Outcome::unchecked`]): its state there is unknown.
    pub unchecked: usize,
    /// The files its rules named (matched, or to be created), sorted; an error in one of
    /// them means this recipe's state there is unknown.
    pub files: Vec<String>,
    /// Some document of its files passed a rule's `match`es (false: it holds vacuously).
    pub applied: bool,
}
