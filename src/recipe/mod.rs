//! Recipes: KDL files that say what must hold, parsed into typed [`model`] values with
//! miette diagnostics that point at the recipe's file, line and column.
//!
//! [`model`] is what a recipe says; [`parse`] reads KDL into it, looking `use "catalog:NAME"`
//! up in a [`Catalog`] it is given; [`catalog`], above the parser, is the compiled-in
//! catalogue (it parses its own files). [`load`], [`parse_str`] and [`parse_set`] parse
//! with that catalogue.

use std::path::{Path, PathBuf};

pub mod model;
pub use model::{
    Cond, FileRule, FlagEdit, Match, NewValue, Origin, Param, ParamType, Placement, Recipe,
    RecipeSet, Rule, StepAnchor, StepSelector, TextEdit, TextRule, When,
};

pub mod parse;
pub use parse::{Catalog, RecipeDiagnostic, RecipeError, kdl_text};

pub mod catalog;

/// Loads recipe files and directories ([`parse::load`]); `use "catalog:NAME"` finds the
/// compiled-in catalogue.
pub fn load(paths: &[PathBuf]) -> Result<RecipeSet, RecipeError> {
    parse::load(paths, &catalog::Builtin)
}

/// Parses one recipe file's text ([`parse::parse_str`]) with the compiled-in catalogue.
pub fn parse_str(file: &Path, src: &str) -> Result<Vec<Recipe>, RecipeError> {
    parse::parse_str(file, src, &catalog::Builtin)
}

/// Like [`parse_str`], with the file's templates ([`parse::parse_set`]).
pub fn parse_set(file: &Path, src: &str) -> Result<RecipeSet, RecipeError> {
    parse::parse_set(file, src, &catalog::Builtin)
}
