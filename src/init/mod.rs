//! `patcher init`: finds a repository's charts and workflows, fills in the catalogue's
//! parameters from them, plans every catalogue recipe, and proposes the ones that would
//! change something; `--write` records them as `use` lines in `recipes/patcher.kdl`.
//!
//! Each proposal is planned from the very `use` text that `--write` would write, so what is
//! shown is what the written file does.

pub mod discover;
pub mod kdl_text;
pub mod propose;

use std::path::{Path, PathBuf};

use crate::engine::{self, RunOptions};
use crate::render::RenderMode;

pub use propose::{Arg, Skipped, Use};

/// The recipe file `--write` creates.
pub const RECIPE_FILE: &str = "recipes/patcher.kdl";

/// What init found: the proposals, and what it tried but did not propose.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub charts: Vec<String>,
    pub workflows: Vec<String>,
    /// Catalogue recipes that would change something, in catalogue order.
    pub findings: Vec<Finding>,
    /// Instances that were planned and hold already.
    pub holding: Vec<String>,
    /// Recipes not tried, with why.
    pub skipped: Vec<Skipped>,
    /// Instances whose plan failed (name: first error); they are not proposed.
    pub failed: Vec<(String, String)>,
    /// Files discovery could not read.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub use_: Use,
    /// The instance's name (the recipe's own unless renamed).
    pub name: String,
    /// The catalogue recipe's description: which failure it prevents.
    pub why: String,
    /// Files it would change, each with its number of changes.
    pub files: Vec<(String, usize)>,
}

impl Finding {
    /// `3 changes in chart/templates/deployment.yaml, chart/templates/viral-metrics.yaml`
    pub fn summary(&self) -> String {
        let n: usize = self.files.iter().map(|(_, k)| k).sum();
        let files: Vec<&str> = self.files.iter().map(|(f, _)| f.as_str()).collect();
        format!(
            "{n} change{} in {}",
            if n == 1 { "" } else { "s" },
            files.join(", ")
        )
    }
}

/// Why init could not run at all.
#[derive(Debug)]
pub enum InitError {
    /// A catalogue `use` init generated did not load: a bug in init or the catalogue.
    Catalogue(String),
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::Catalogue(m) => write!(f, "{m}"),
            InitError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for InitError {}

/// Discovers, proposes and plans. Render verification is off: init only asks whether a
/// recipe would change something; `patcher plan` verifies what is kept.
pub fn run(root: &Path) -> Result<Report, InitError> {
    let facts = discover::discover(root);
    let (uses, skipped) = propose::propose(&facts);
    let mut report = Report {
        charts: facts.charts.iter().map(|c| c.dir.clone()).collect(),
        workflows: facts.workflows.iter().map(|w| w.path.clone()).collect(),
        skipped,
        unreadable: facts.skipped.clone(),
        ..Report::default()
    };
    let opts = RunOptions {
        render: RenderMode::Never,
        helm: None,
    };
    let taken = repository_recipe_names(root);
    for mut u in uses {
        drop_defaults(&mut u);
        // Beside the repository's own recipes, names must stay unique.
        let own = u.name.clone().unwrap_or_else(|| u.recipe.to_string());
        if taken.contains(&own) {
            u.name = Some(format!("{own}-catalog"));
        }
        let text = kdl_text::use_line(&u);
        let set = crate::recipe::parse_set(Path::new(RECIPE_FILE), &text).map_err(|e| {
            InitError::Catalogue(format!(
                "catalogue use `{text}` does not load: {}",
                e.render_plain()
            ))
        })?;
        let Some(recipe) = set.recipes.first() else {
            return Err(InitError::Catalogue(format!(
                "catalogue use `{text}` gave no recipe"
            )));
        };
        let name = recipe.name.clone();
        let why = recipe.description.clone().unwrap_or_default();
        let outcome = engine::run_with(root, &set, &opts);
        if let Some(e) = outcome.errors.first() {
            report.failed.push((name, e.message.clone()));
            continue;
        }
        let files: Vec<(String, usize)> = outcome
            .changes
            .iter()
            .map(|c| {
                let ops = c.docs.iter().map(|(_, o)| o.len()).sum::<usize>() + c.text_ops.len();
                (c.path.clone(), ops)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        if files.is_empty() {
            report.holding.push(name);
        } else {
            report.findings.push(Finding {
                use_: u,
                name,
                why,
                files,
            });
        }
    }
    Ok(report)
}

/// Names of the recipes in `<root>/recipes`, when it loads (a broken recipe file is the
/// user's to fix; `plan` reports it).
fn repository_recipe_names(root: &Path) -> std::collections::BTreeSet<String> {
    let dir = root.join("recipes");
    if !dir.is_dir() {
        return Default::default();
    }
    match crate::recipe::load(&[dir]) {
        Ok(set) => set
            .recipes
            .iter()
            .chain(&set.templates)
            .map(|r| r.name.clone())
            .collect(),
        Err(_) => Default::default(),
    }
}

/// Leaves out the parameters that equal the catalogue recipe's defaults: the written `use`
/// says only what is particular to this repository.
fn drop_defaults(u: &mut Use) {
    let Some(Ok(recipe)) = crate::recipe::catalog::recipe(u.recipe) else {
        return;
    };
    u.args.retain(|(name, arg)| {
        let default = recipe
            .params
            .iter()
            .find(|p| p.name == *name)
            .and_then(|p| p.default.as_ref());
        let same = match (arg, default) {
            (Arg::Str(s), Some(serde_json::Value::String(d))) => s == d,
            (Arg::Int(i), Some(serde_json::Value::Number(d))) => d.as_i64() == Some(*i),
            _ => false,
        };
        !same
    });
}

/// What `patcher init` prints.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    out.push_str(&format!(
        "charts: {}\nworkflows: {}\n\n",
        list(&r.charts),
        list(&r.workflows)
    ));
    if r.findings.is_empty() {
        out.push_str("No catalogue recipe would change this repository.\n");
    } else {
        out.push_str(&format!(
            "{} catalogue recipe{} would change this repository:\n",
            r.findings.len(),
            if r.findings.len() == 1 { "" } else { "s" }
        ));
    }
    for f in &r.findings {
        out.push_str(&format!("\n{}: {}\n", f.name, f.summary()));
        for line in kdl_text::wrap(&f.why, 88) {
            out.push_str(&format!("  {line}\n"));
        }
        out.push_str(&format!("  {}\n", kdl_text::use_line(&f.use_)));
    }
    if !r.holding.is_empty() {
        out.push_str(&format!("\nHold already: {}\n", r.holding.join(", ")));
    }
    if !r.skipped.is_empty() {
        out.push_str("\nNot tried:\n");
        for s in &r.skipped {
            out.push_str(&format!("  {}: {}\n", s.recipe, s.reason));
        }
    }
    if !r.failed.is_empty() {
        out.push_str("\nCould not plan (not proposed):\n");
        for (name, e) in &r.failed {
            out.push_str(&format!("  {name}: {e}\n"));
        }
    }
    for u in &r.unreadable {
        out.push_str(&format!("\nskipped unreadable file: {u}\n"));
    }
    out
}

/// The text of `recipes/patcher.kdl`: one commented `use` per finding.
pub fn recipe_file(r: &Report) -> String {
    let mut out = String::from(
        "// Written by `patcher init`: catalogue recipes that would change this repository.\n\
         // Read each one, delete what you do not want, adjust parameters, then `patcher plan`.\n\
         // `patcher recipes show NAME` lists a recipe's parameters.\n",
    );
    for f in &r.findings {
        out.push('\n');
        for line in kdl_text::wrap(&f.why, 92) {
            out.push_str(&format!("// {line}\n"));
        }
        out.push_str(&format!("// init found: {}\n", f.summary()));
        out.push_str(&kdl_text::use_line(&f.use_));
        out.push('\n');
    }
    out
}

/// What `--write` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Created(String),
    /// The file exists and was left alone; the text is what it would have added.
    Exists(String),
    /// No findings: nothing to write.
    Nothing,
}

/// Creates [`RECIPE_FILE`] under `root`, never overwriting it (create-new, so a file that
/// appears meanwhile is not overwritten either).
pub fn write(root: &Path, r: &Report) -> Result<Written, InitError> {
    if r.findings.is_empty() {
        return Ok(Written::Nothing);
    }
    let path = root.join(RECIPE_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| InitError::Io(dir.to_path_buf(), e))?;
    }
    let text = recipe_file(r);
    if path.exists() {
        return Ok(Written::Exists(text));
    }
    // Written in full to a temporary file, then linked into place only if the name is still
    // free: never a half-written file, never an overwrite.
    let dir = path.parent().unwrap_or(root);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| InitError::Io(dir.into(), e))?;
    {
        use std::io::Write;
        tmp.write_all(text.as_bytes())
            .map_err(|e| InitError::Io(tmp.path().into(), e))?;
    }
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(Written::Created(RECIPE_FILE.to_string())),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(Written::Exists(text)),
        Err(e) => Err(InitError::Io(path, e.error)),
    }
}
