//! Recipes: KDL files that say what must hold, parsed into typed [`model`] values with
//! miette diagnostics that point at the recipe's file, line and column.

pub mod model;
pub use model::*;

pub mod parse;
pub use parse::{RecipeDiagnostic, RecipeError, kdl_text, load, parse_set, parse_str};

pub mod catalog;
pub mod listing;
