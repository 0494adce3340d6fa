//! Saved plans: `patcher plan --out plan.json` stores the planned ops with the sha256 of every
//! file they read and of the recipes that made them; `patcher apply plan.json` re-plans from
//! the same recipes, and applies only when every input hashes the same and the result equals
//! the saved plan op for op and byte for byte. Anything else is refused, naming what changed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::change::FileChange;
use crate::outcome::Outcome;
use crate::recipe::{self, RecipeError, RecipeSet};

/// The value of `format` in a plan file.
pub const FORMAT: &str = "patcher-plan/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedPlan {
    pub format: String,
    pub patcher_version: String,
    pub recipes: RecipeInputs,
    pub files: Vec<SavedFile>,
}

/// What the recipes were: where they were loaded from, which ran, and their files' hashes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecipeInputs {
    /// The recipe paths the plan loaded (relative to the root when inside it).
    pub paths: Vec<String>,
    /// The recipes that ran, in order.
    pub selected: Vec<String>,
    /// Every recipe file that supplied a selected recipe.
    pub files: Vec<HashedFile>,
    /// sha256 over the selection and the files' hashes: the recipes' hash.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HashedFile {
    pub path: String,
    pub sha256: String,
}

/// One file the plan changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedFile {
    pub path: String,
    pub created: bool,
    /// sha256 of the file the plan read (`null`: it did not exist and is created).
    pub sha256: Option<String>,
    /// sha256 of the file after the plan.
    pub new_sha256: String,
    /// RFC 6902 ops by document: `[{"index", "patch": [op + "recipe"]}]`.
    pub documents: Value,
    /// Guarded text edits: `[{"edit", "line", "recipe"}]`.
    pub text: Value,
}

/// Why a saved plan cannot be used.
#[derive(Debug)]
pub enum PlanError {
    /// The recipes the plan names do not load.
    Recipes(RecipeError),
    /// Unreadable, not a plan, or stale; the message names the file and what changed.
    Refused(String),
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first 12 characters of a hash (plan files are user input: no byte slicing).
fn short(h: &str) -> String {
    h.chars().take(12).collect()
}

/// `path` as stored: relative to `root` when inside it, else absolute.
fn stored_path(root: &Path, path: &Path) -> String {
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Ok(root) = root.canonicalize()
        && let Ok(rel) = canon.strip_prefix(&root)
    {
        let s = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        return if s.is_empty() { ".".into() } else { s };
    }
    canon.display().to_string()
}

/// The files a recipe comes from: its own (the `use` line, for an instance), then those of
/// its rules.
fn sources(r: &crate::recipe::Recipe) -> Vec<&Path> {
    let mut out: Vec<&Path> = vec![r.origin.file.as_path()];
    let rules = r.files.iter().map(|f| f.origin.file.as_path());
    let texts = r.texts.iter().map(|t| t.origin.file.as_path());
    for p in rules.chain(texts) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

impl RecipeInputs {
    /// Hashes the recipe files that supplied `set`'s recipes, as loaded from `paths`.
    pub fn compute(root: &Path, paths: &[PathBuf], set: &RecipeSet) -> Result<Self, String> {
        let mut files: Vec<HashedFile> = Vec::new();
        for source in set.recipes.iter().flat_map(sources) {
            // A `use` instance's rules come from the used recipe's file, or the catalogue.
            if let Some(name) = source.to_str().and_then(|s| s.strip_prefix("catalog:")) {
                let path = format!("catalog:{name}");
                if !files.iter().any(|f| f.path == path) {
                    let src = crate::recipe::catalog::source(name).unwrap_or_default();
                    files.push(HashedFile {
                        path,
                        sha256: sha256_hex(src.as_bytes()),
                    });
                }
                continue;
            }
            let shown = stored_path(root, source);
            if files.iter().any(|f| f.path == shown) {
                continue;
            }
            let bytes = std::fs::read(source)
                .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
            files.push(HashedFile {
                path: shown,
                sha256: sha256_hex(&bytes),
            });
        }
        let selected: Vec<String> = set.recipes.iter().map(|r| r.name.clone()).collect();
        let mut all = String::new();
        for name in &selected {
            all.push_str(&format!("recipe {name}\n"));
        }
        for f in &files {
            all.push_str(&format!("file {} {}\n", f.path, f.sha256));
        }
        Ok(RecipeInputs {
            paths: paths.iter().map(|p| stored_path(root, p)).collect(),
            selected,
            files,
            sha256: sha256_hex(all.as_bytes()),
        })
    }
}

impl SavedPlan {
    /// The plan of `outcome`, made from recipes described by `recipes`.
    pub fn new(outcome: &Outcome, recipes: RecipeInputs) -> SavedPlan {
        SavedPlan {
            format: FORMAT.to_string(),
            patcher_version: env!("CARGO_PKG_VERSION").to_string(),
            recipes,
            files: outcome.changes.iter().map(saved_file).collect(),
        }
    }

    /// Writes the plan as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot serialize the plan: {e}"))?;
        std::fs::write(path, format!("{text}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<SavedPlan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a patcher plan (from `patcher plan --out`): {e}",
                path.display()
            )
        })?;
        if plan.format != FORMAT {
            return Err(format!(
                "{}: unsupported plan format {:?} (this patcher reads {FORMAT})",
                path.display(),
                plan.format
            ));
        }
        Ok(plan)
    }

    /// Loads the recipes the plan was made from, relative to `root`, keeping the plan's
    /// selection; refuses when a selected recipe is gone.
    pub fn load_recipes(
        &self,
        root: &Path,
        plan_path: &Path,
    ) -> Result<(Vec<PathBuf>, RecipeSet), PlanError> {
        let paths: Vec<PathBuf> = self
            .recipes
            .paths
            .iter()
            .map(|p| {
                let p = Path::new(p);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    root.join(p)
                }
            })
            .collect();
        let mut set = recipe::load(&paths).map_err(PlanError::Recipes)?;
        for name in &self.recipes.selected {
            if !set.recipes.iter().any(|r| &r.name == name) {
                return Err(PlanError::Refused(refusal(
                    plan_path,
                    &format!(
                        "recipe {name} is gone from {}",
                        self.recipes.paths.join(", ")
                    ),
                )));
            }
        }
        set.recipes
            .retain(|r| self.recipes.selected.contains(&r.name));
        Ok((paths, set))
    }

    /// Checks that the plan is still exactly what the recipes do to the files under `dir` (the
    /// directory the engine ran on): same recipes, same input files, same result.
    pub fn check(
        &self,
        plan_path: &Path,
        recipes: &RecipeInputs,
        dir: &Path,
        outcome: &Outcome,
    ) -> Result<(), String> {
        let refuse = |what: String| Err(refusal(plan_path, &what));
        // Recipes first: they explain every other difference.
        for f in &self.recipes.files {
            match recipes.files.iter().find(|c| c.path == f.path) {
                None => {
                    return refuse(format!(
                        "recipe file {} no longer supplies the plan's recipes",
                        f.path
                    ));
                }
                Some(c) if c.sha256 != f.sha256 => {
                    return refuse(format!(
                        "recipe file {} changed since the plan was saved (sha256 {} then, {} now)",
                        f.path,
                        short(&f.sha256),
                        short(&c.sha256)
                    ));
                }
                Some(_) => {}
            }
        }
        if recipes.sha256 != self.recipes.sha256 {
            return refuse("the recipes changed since the plan was saved".into());
        }
        // Then every file the plan read.
        for f in &self.files {
            let p = Path::new(&f.path);
            if p.is_absolute()
                || p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return refuse(format!("{} leaves the repository root", f.path));
            }
            let now = std::fs::read(dir.join(&f.path))
                .ok()
                .map(|b| sha256_hex(&b));
            if now != f.sha256 {
                let what = match (&f.sha256, &now) {
                    (None, Some(_)) => format!(
                        "{} did not exist when the plan was saved; now it does",
                        f.path
                    ),
                    (Some(_), None) => format!("{} was deleted since the plan was saved", f.path),
                    (Some(a), Some(b)) => format!(
                        "{} changed since the plan was saved (sha256 {} then, {} now)",
                        f.path,
                        short(a),
                        short(b)
                    ),
                    _ => format!("{} changed since the plan was saved", f.path),
                };
                return refuse(what);
            }
        }
        for c in &outcome.changes {
            if !self.files.iter().any(|f| f.path == c.path) {
                return refuse(format!(
                    "{} needs changes now that the saved plan does not have: it changed since the plan was saved",
                    c.path
                ));
            }
        }
        if !outcome.errors.is_empty() {
            return Ok(()); // the caller reports the errors themselves
        }
        for f in &self.files {
            let now = outcome.changes.iter().find(|c| c.path == f.path);
            match now {
                Some(c) if saved_file(c) == *f => {}
                _ => {
                    return refuse(format!(
                        "applying the recipes to {} no longer gives the saved result although its content is unchanged (was the plan made by another patcher version? it says {})",
                        f.path, self.patcher_version
                    ));
                }
            }
        }
        Ok(())
    }
}

fn refusal(plan_path: &Path, what: &str) -> String {
    format!(
        "refusing to apply {p}: {what}; make a new plan with `patcher plan --out {p}`",
        p = plan_path.display()
    )
}

fn saved_file(c: &FileChange) -> SavedFile {
    SavedFile {
        path: c.path.clone(),
        created: c.created,
        sha256: (!c.created).then(|| sha256_hex(c.old_text.as_bytes())),
        new_sha256: sha256_hex(c.new_text.as_bytes()),
        documents: Value::Array(
            c.docs
                .iter()
                .map(|(i, ops)| {
                    json!({
                        "index": i,
                        "patch": ops.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
        text: Value::Array(
            c.text_ops
                .iter()
                .map(|t| json!({"edit": t.summary, "line": t.line, "recipe": &*t.recipe}))
                .collect(),
        ),
    }
}
