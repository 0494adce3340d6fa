//! Findings: what the user should know about a recipe or a file (a warning, or the reason an
//! edit was refused), as plain data that every stage hands on and every report prints.

use serde::Serialize;

use crate::recipe::Origin;

/// Something the user should know that does not stop the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub recipe: String,
    /// `recipes/x.kdl:3:5`
    pub origin: String,
    /// The target file, when the finding is about one.
    pub file: Option<String>,
    pub message: String,
}

impl Finding {
    /// A finding about `recipe`, raised by its node at `origin`, optionally in one file.
    pub fn new(
        recipe: &crate::recipe::Recipe,
        origin: &Origin,
        file: Option<&str>,
        message: String,
    ) -> Finding {
        Finding {
            recipe: recipe.name.clone(),
            origin: origin.to_string(),
            file: file.map(str::to_string),
            message,
        }
    }

    /// A finding that belongs to no recipe (the root, the recipe directory).
    pub fn plain(message: String) -> Finding {
        Finding {
            recipe: String::new(),
            origin: String::new(),
            file: None,
            message,
        }
    }
}
