//! Typed recipes: what the KDL files say, independent of any file they touch.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::path::PathExpr;

/// Where in a recipe file something was written; every planned op carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The recipe file, as given on the command line or found under `recipes/`.
    pub file: Arc<PathBuf>,
    /// 1-based line and column of the KDL node.
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// All recipes loaded from one or more KDL files, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipeSet {
    pub recipes: Vec<Recipe>,
    /// Recipes with a required parameter and no values for it: not run, but listed by
    /// `patcher recipes` and usable with `use "file.kdl:NAME" ...`. Their bodies were checked
    /// with placeholder values (a string parameter reads as its own name, numbers as 1,
    /// booleans as `#false`), so these are for their name, description and parameters only.
    pub templates: Vec<Recipe>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
    pub files: Vec<FileRule>,
    /// `text "path" { ... }`: guarded edits of files that are not YAML.
    pub texts: Vec<TextRule>,
    /// `param "NAME" DEFAULT ...`: the parameters the recipe declares (already substituted
    /// into `files` and `texts`).
    pub params: Vec<Param>,
    /// For a recipe made by `use "catalog:job-retries" ...`: what it instantiates: the
    /// catalogue recipe (`"catalog:job-retries"`, also through a preset in another file),
    /// else the target as the `use` wrote it (`"common.kdl:web-probes"`). Its `origin` is
    /// the `use` line; its rules' origins are in the used recipe's source.
    pub instance_of: Option<String>,
    /// For an instance: every parameter's value in it (given by the `use`, else the
    /// default), in declaration order.
    pub args: Vec<(String, Value)>,
}

/// `param "backoff" 6 description="..."`: a value a recipe is written in terms of, referred
/// to as `{backoff}` in its strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    /// `None`: required (`param "host" type="string"`); a `use` must give it.
    pub default: Option<Value>,
    pub description: Option<String>,
    pub origin: Origin,
}

/// A parameter's type: its default's KDL type, or `type="..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Float,
    Bool,
}

impl ParamType {
    /// The name `type=` uses.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
        }
    }
}

/// `file "glob" ... { ... }`: which files a recipe edits and what must hold in them.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRule {
    /// Globs relative to the root, matched with `globset` (literal paths are globs too).
    pub globs: Vec<String>,
    /// `create=#true`: a missing file (only for a literal path) is created empty, then edited.
    pub create: bool,
    /// `optional=#true`: no file / no matching document is silent instead of a warning.
    pub optional: bool,
    /// `values="chart/values-ci.yaml"`: values edits for the chart's templates go to this
    /// file (created if missing, merged over `values.yaml` as `helm -f` merges it).
    pub values: Option<String>,
    /// `match "/ptr" VALUE`: keep only documents where every match holds.
    pub matches: Vec<Match>,
    /// Conditions on the whole document (`when` directly inside `file`).
    pub whens: Vec<When>,
    pub rules: Vec<Rule>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub path: PathExpr,
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct When {
    pub path: PathExpr,
    pub cond: Cond,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Exists,
    Missing,
    Equals(Value),
}

/// A value a recipe writes: from a KDL literal, or a `(yaml)"""..."""` snippet whose
/// text (dedented) is kept so comments and block scalars survive into the file.
#[derive(Debug, Clone, PartialEq)]
pub struct NewValue {
    pub value: Value,
    /// The snippet's YAML source, dedented to column 0, when the value came from `(yaml)`.
    /// Every line, the last included, ends in `\n` (the parser adds the final one, which a
    /// KDL string lacks; `value` is parsed from this text).
    pub yaml: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `set PATH VALUE`: the node equals VALUE (missing parent mappings are created).
    Set {
        path: PathExpr,
        value: NewValue,
        /// `after="key"` / `before="key"`: where a new key goes among its siblings.
        placement: Option<Placement>,
        origin: Origin,
    },
    /// `remove PATH`: the node does not exist.
    Remove { path: PathExpr, origin: Origin },
    /// `ensure PATH key=K (yaml)"..."`: the list at PATH has an item whose K equals the
    /// snippet's K; `merge=#true` also makes that item contain the snippet's keys.
    Ensure {
        path: PathExpr,
        key: String,
        item: NewValue,
        merge: bool,
        /// Where a new list goes among its siblings (only when the list does not exist yet).
        placement: Option<Placement>,
        origin: Origin,
    },
    /// `at-least PATH N`: the number at PATH is >= N (set to N when missing or lower).
    AtLeast {
        path: PathExpr,
        value: serde_json::Number,
        origin: Origin,
    },
    /// `at-most PATH N`: the number at PATH is <= N.
    AtMost {
        path: PathExpr,
        value: serde_json::Number,
        origin: Origin,
    },
    /// `each PATH { when ...; rules }`: for every node PATH selects and every `when` holds,
    /// the nested rules hold, with their paths relative to that node.
    Each {
        path: PathExpr,
        whens: Vec<When>,
        rules: Vec<Rule>,
        origin: Origin,
    },
    /// `step "Name" job= id= uses= { rules }`: for every workflow step the selector matches,
    /// the nested rules hold, with paths relative to the step.
    Step {
        selector: StepSelector,
        rules: Vec<Rule>,
        origin: Origin,
    },
    /// `command "helm upgrade" path="run" { flag ...; remove-flag ...; replace-flag ... }`:
    /// every invocation of the command in the shell script at `path` (default `run`).
    Command {
        words: Vec<String>,
        path: PathExpr,
        edits: Vec<FlagEdit>,
        origin: Origin,
    },
    /// `retry attempts=3 delay=30`: the step's `run` script is wrapped in a bounded retry loop.
    Retry {
        attempts: u32,
        delay: u32,
        origin: Origin,
    },
    /// `insert-step before="Name" job="deploy" (yaml)"..."`: the step exists (by `name` or
    /// `id`) in every job that has the anchor step (a glob on `name` or `uses`; the first
    /// matching step of the job).
    InsertStep {
        anchor: StepAnchor,
        job: Option<String>,
        step: NewValue,
        origin: Origin,
    },
}

impl Rule {
    pub fn origin(&self) -> &Origin {
        match self {
            Rule::Set { origin, .. }
            | Rule::Remove { origin, .. }
            | Rule::Ensure { origin, .. }
            | Rule::AtLeast { origin, .. }
            | Rule::AtMost { origin, .. }
            | Rule::Each { origin, .. }
            | Rule::Step { origin, .. }
            | Rule::Command { origin, .. }
            | Rule::Retry { origin, .. }
            | Rule::InsertStep { origin, .. } => origin,
        }
    }
}

/// Which workflow steps a `step` block edits; every given field must match. Each field is a
/// whole-string, case-sensitive glob (`*` any characters, `?` one; `plan::glob_match`).
/// No `name`, `id` or `uses`: every step (of `job`, when given). A `command` directly inside
/// `file` without `path=` is parsed as a `step` with the default (empty) selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepSelector {
    /// The step's `name`.
    pub name: Option<String>,
    /// The job id (key under `jobs`); absent means every job.
    pub job: Option<String>,
    /// The step's `id`.
    pub id: Option<String>,
    /// The step's `uses` (`AbsaOSS/k3d-action@*`).
    pub uses: Option<String>,
}

/// One argument-level edit of a shell command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagEdit {
    /// `flag "--wait"` / `flag "--timeout" "600s"`: present, with this value.
    Flag { name: String, value: Option<String> },
    /// `remove-flag "--atomic"` (`takes-value=#true`: also its value word).
    RemoveFlag { name: String, takes_value: bool },
    /// `replace-flag "--old" "--new"`: renamed, value kept.
    ReplaceFlag { old: String, new: String },
}

/// `set`/`ensure` `after="key"` / `before="key"`: the sibling a new key is placed next to.
/// A hint for the editor (an existing key never moves); a sibling that does not exist, or
/// a place that is not template-safe, falls back to the default placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Before(String),
    After(String),
}

/// Where `insert-step` puts the new step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAnchor {
    Before(String),
    After(String),
}

/// `text "path" { replace ...; ensure-line ... }` for a file that is not YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRule {
    /// A literal path relative to the root.
    pub path: String,
    pub optional: bool,
    pub edits: Vec<TextEdit>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextEdit {
    /// `replace "old" "new"`: exactly one occurrence of `old` becomes `new` (holds when
    /// `old` is gone and `new` is there exactly once).
    Replace {
        old: String,
        new: String,
        origin: Origin,
    },
    /// `ensure-line "line" after="anchor"`: the line follows the one line containing `anchor`.
    EnsureLine {
        line: String,
        after: String,
        origin: Origin,
    },
}
