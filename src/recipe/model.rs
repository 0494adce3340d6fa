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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
    pub files: Vec<FileRule>,
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
}

impl Rule {
    pub fn origin(&self) -> &Origin {
        match self {
            Rule::Set { origin, .. }
            | Rule::Remove { origin, .. }
            | Rule::Ensure { origin, .. }
            | Rule::AtLeast { origin, .. }
            | Rule::AtMost { origin, .. }
            | Rule::Each { origin, .. } => origin,
        }
    }
}
