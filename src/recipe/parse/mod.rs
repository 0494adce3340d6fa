//! KDL v2 recipe files → typed [`Recipe`]s, with miette diagnostics that point at the
//! offending node or entry (file, line, column, a label and a help line).
//!
//! Every problem in a file is collected, not just the first: a [`RecipeError`] carries one
//! [`RecipeDiagnostic`] per problem.
//!
//! A file holds `recipe` and `use` nodes. A recipe with `param`s is substituted first
//! ([`params`]: `{NAME}` → value, typed when it is a whole argument) and then parsed like
//! any other; with a required parameter it is a template (checked with placeholders, kept in
//! [`RecipeSet::templates`], not run). A `use` ([`uses`]) finds the recipe in the catalogue
//! or another file, checks its values against the parameters, substitutes and parses it in
//! that recipe's own source, with diagnostics about supplied values moved to the `use`.
//!
//! The files import one way, from the bottom: [`diag`] (what a problem is), [`parser`] (the
//! [`Parser`]'s state, source positions and how problems are recorded), [`spec`] (what each
//! node may hold, and the checks every node gets), [`entries`] (entries → values),
//! [`params`], then the node readers [`file_rule`], [`rules`], [`step`], [`text_rule`] and
//! [`uses`]; [`walk`] finds recipe files on disk. This file, on top, reads documents and
//! `recipe` nodes.

mod diag;
mod entries;
mod file_rule;
mod params;
mod parser;
mod rules;
mod spec;
mod step;
mod text_rule;
mod uses;
mod walk;

pub use diag::{RecipeDiagnostic, RecipeError};
pub use params::kdl_text;
pub use parser::Catalog;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlNode};
use miette::{LabeledSpan, SourceSpan};

use super::model::{Recipe, RecipeSet};
use parser::{Parser, Seen};
use spec::{DESCRIPTION, IMPLEMENTS, IN_RECIPE, RECIPE, TOP};
use walk::collect_files;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Loads recipes from files and directories (a directory contributes its `*.kdl` files,
/// sorted by name, recursively).
///
/// All problems in all files are reported together. Recipe names must be unique across
/// every file loaded. A file reached twice (e.g. a directory and a file inside it) is read
/// once.
pub fn load(paths: &[PathBuf], catalog: &dyn Catalog) -> Result<RecipeSet, RecipeError> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut diags);
    }

    // The same file reached twice would otherwise clash with itself.
    let mut read_once = HashSet::new();
    files.retain(|f| read_once.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));

    let mut seen = Seen::new();
    let mut set = RecipeSet::default();
    let mut texts = Vec::new();
    for file in files {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(err) => {
                diags.push(RecipeDiagnostic::load(
                    &file,
                    format!("cannot read recipe file: {err}"),
                    "check that the file exists and is readable",
                ));
                continue;
            }
        };
        let src = match String::from_utf8(bytes) {
            Ok(src) => src,
            Err(err) => {
                diags.push(RecipeDiagnostic::load(
                    &file,
                    format!(
                        "recipe file is not UTF-8 text (invalid byte at offset {})",
                        err.utf8_error().valid_up_to()
                    ),
                    "save the recipe file as UTF-8",
                ));
                continue;
            }
        };
        texts.push((file, src));
    }
    // KDL parsing is most of a small plan's time: the files are parsed side by side, then
    // read in order (names, `use`s and diagnostics depend on the order).
    for ((file, src), doc) in texts.iter().zip(parse_kdl_all(&texts)) {
        let (parsed, file_diags) = read_file(Arc::new(file.clone()), src, doc, &mut seen, catalog);
        set.recipes.extend(parsed.recipes);
        set.templates.extend(parsed.templates);
        diags.extend(file_diags);
    }
    // A recipe file that is loaded and also `use`d reports its own mistakes once.
    let mut reported = HashSet::new();
    diags.retain(|d| reported.insert(d.to_string()));

    if diags.is_empty() {
        Ok(set)
    } else {
        Err(RecipeError::new(diags))
    }
}

/// Parses one recipe file's text; `file` is used for diagnostics and `Origin`s (and is
/// where `use "other.kdl:NAME"` paths start from).
pub fn parse_str(
    file: &Path,
    src: &str,
    catalog: &dyn Catalog,
) -> Result<Vec<Recipe>, RecipeError> {
    parse_set(file, src, catalog).map(|set| set.recipes)
}

/// Like [`parse_str`], with the file's templates (recipes with a required parameter).
pub fn parse_set(file: &Path, src: &str, catalog: &dyn Catalog) -> Result<RecipeSet, RecipeError> {
    let (set, diags) = parse_file(Arc::new(file.to_path_buf()), src, &mut Seen::new(), catalog);
    if diags.is_empty() {
        Ok(set)
    } else {
        Err(RecipeError::new(diags))
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

fn parse_file(
    file: Arc<PathBuf>,
    src: &str,
    seen: &mut Seen,
    catalog: &dyn Catalog,
) -> (RecipeSet, Vec<RecipeDiagnostic>) {
    read_file(file, src, KdlDocument::parse_v2(src), seen, catalog)
}

/// `KdlDocument::parse_v2` of every text, on up to two threads (this machine class has two
/// cores; more threads would not pay for their start-up on a few small files).
fn parse_kdl_all(texts: &[(PathBuf, String)]) -> Vec<Result<KdlDocument, kdl::KdlError>> {
    let parse = |part: &[(PathBuf, String)]| -> Vec<_> {
        part.iter()
            .map(|(_, src)| KdlDocument::parse_v2(src))
            .collect()
    };
    let total: usize = texts.iter().map(|(_, s)| s.len()).sum();
    if texts.len() < 2 || total < 2048 {
        return parse(texts);
    }
    // Split where half the bytes are on each side.
    let mut acc = 0;
    let split = texts
        .iter()
        .position(|(_, s)| {
            acc += s.len();
            acc * 2 >= total
        })
        .map_or(texts.len(), |i| (i + 1).min(texts.len() - 1));
    let (first, second) = texts.split_at(split);
    std::thread::scope(|s| {
        let other = s.spawn(|| parse(second));
        let mut docs = parse(first);
        // A panic there is a bug: it is raised here, as if the parse had run on this thread.
        docs.extend(
            other
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
        );
        docs
    })
}

/// Reads one parsed recipe file (see [`parse_file`]).
fn read_file(
    file: Arc<PathBuf>,
    src: &str,
    doc: Result<KdlDocument, kdl::KdlError>,
    seen: &mut Seen,
    catalog: &dyn Catalog,
) -> (RecipeSet, Vec<RecipeDiagnostic>) {
    let mut p = Parser::new(file, src, catalog);
    let set = match doc {
        Ok(doc) => p.document(&doc, seen),
        Err(err) => {
            p.kdl_error(err);
            RecipeSet::default()
        }
    };
    (set, p.diags)
}

impl Parser<'_> {
    // --- document --------------------------------------------------------------------

    fn document(&mut self, doc: &KdlDocument, seen: &mut Seen) -> RecipeSet {
        let mut set = RecipeSet::default();
        // Templates' names are free for instances, but unique in their file (a `use` finds
        // them by name there).
        let mut template_names = Seen::new();
        for node in doc.nodes() {
            match node.name().value() {
                "recipe" => match self.recipe_node(node, seen, &mut template_names) {
                    Some((recipe, false)) => set.recipes.push(recipe),
                    Some((recipe, true)) => set.templates.push(recipe),
                    None => {}
                },
                "use" => set
                    .recipes
                    .extend(self.use_node(node, seen, &mut uses::UseStack::new())),
                _ => self.unknown_node(node, TOP),
            }
        }
        set
    }

    /// A `recipe` node of this file: `(recipe, true)` for a template (a required
    /// parameter: checked with placeholders, not run).
    fn recipe_node(
        &mut self,
        node: &KdlNode,
        seen: &mut Seen,
        template_names: &mut Seen,
    ) -> Option<(Recipe, bool)> {
        let decls = self.params(node)?;
        if decls.is_empty() {
            return self.recipe(node, seen).map(|r| (r, false));
        }
        let template = decls.iter().any(|d| d.default.is_none());
        let bound = decls
            .iter()
            .map(|d| {
                let value = d
                    .default
                    .clone()
                    .unwrap_or_else(|| params::placeholder(&d.param));
                (
                    d.param.name.clone(),
                    params::Bound {
                        value,
                        supplier: None,
                    },
                )
            })
            .collect();
        let (substituted, _) = params::substitute(node, &bound);
        let mut recipe = if template {
            self.recipe(&substituted, template_names)?
        } else {
            self.recipe(&substituted, seen)?
        };
        recipe.params = decls.into_iter().map(|d| d.param).collect();
        Some((recipe, template))
    }

    // --- recipe ----------------------------------------------------------------------

    fn recipe(&mut self, node: &KdlNode, seen: &mut Seen) -> Option<Recipe> {
        let head = self.head(node, &RECIPE);
        let origin = self.origin(node.span().offset());

        let mut name = None;
        let mut shown_name = None;
        if head.ok
            && let Some(entry) = head.args.first()
            && let Some(text) = self.string_arg(
                entry,
                "the recipe name",
                "write the name in quotes: recipe \"web-probes\" { ... }",
            )
        {
            shown_name = Some(text.clone());
            if text.trim().is_empty() {
                self.error(
                    entry.span(),
                    "empty name",
                    "the recipe name is empty",
                    "give the recipe a name that says what it keeps true, e.g. \"probe-delays\"",
                );
            } else if let Some((first, first_span)) = seen.get(&text) {
                let message =
                    format!("duplicate recipe name `{text}`: it is already defined at {first}");
                let same_file = first.file == self.file;
                let first_span = *first_span;
                let diag = self.error(
                    entry.span(),
                    "defined again here",
                    message,
                    "recipe names must be unique across all recipe files; rename one of them",
                );
                if same_file {
                    diag.labels.push(LabeledSpan::new_with_span(
                        Some("first defined here".into()),
                        first_span,
                    ));
                }
            } else {
                seen.insert(text.clone(), (origin.clone(), entry.span()));
                name = Some(text);
            }
        }

        let mut description: Option<(String, SourceSpan)> = None;
        let mut description_seen: Option<SourceSpan> = None;
        let mut files = Vec::new();
        let mut texts = Vec::new();
        let mut implements = Vec::new();
        let mut file_nodes = 0;
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            match child.name().value() {
                "description" => {
                    if let Some(first) = description_seen {
                        self.error(
                            self.head_line_span(child),
                            "second description",
                            "`description` is given twice",
                            "keep one `description`",
                        )
                        .labels
                        .push(LabeledSpan::new_with_span(
                            Some("first given here".into()),
                            first,
                        ));
                        continue;
                    }
                    description_seen = Some(self.head_line_span(child));
                    let head = self.head(child, &DESCRIPTION);
                    if head.ok
                        && let Some(entry) = head.args.first()
                        && let Some(text) = self.string_arg(
                            entry,
                            "the description",
                            "write the description in quotes",
                        )
                    {
                        description = Some((text, entry.span()));
                    }
                }
                "implements" => implements.extend(self.implements(child)),
                "file" => {
                    file_nodes += 1;
                    if let Some(file) = self.file_rule(child) {
                        files.push(file);
                    }
                }
                // Read by `params` before the body was substituted.
                "param" => {}
                "text" => {
                    file_nodes += 1;
                    if let Some(text) = self.text_rule(child) {
                        texts.push(text);
                    }
                }
                _ => self.unknown_node(child, IN_RECIPE),
            }
        }
        if file_nodes == 0 {
            let what = match &shown_name {
                Some(name) => format!("recipe `{name}` has no `file`"),
                None => "this recipe has no `file`".to_string(),
            };
            self.error(
                self.head_line_span(node),
                "no `file` in this recipe",
                what,
                "add `file \"path/or/glob\" { ... }` (or `text \"path\" { ... }`) inside the recipe to \
                 say which files it edits",
            );
        }

        Some(Recipe {
            name: name?,
            description: description.map(|(text, _)| text),
            origin,
            files,
            texts,
            params: Vec::new(),
            instance_of: None,
            args: Vec::new(),
            implements,
        })
    }

    /// `implements "NAME" ...`: the catalogue recipes this recipe stands in for.
    fn implements(&mut self, node: &KdlNode) -> Vec<String> {
        let head = self.head(node, &IMPLEMENTS);
        if !head.ok {
            return Vec::new();
        }
        head.args
            .iter()
            .filter_map(|entry| {
                self.string_arg(
                    entry,
                    "a catalogue recipe name",
                    "write the names in quotes: implements \"job-retries\" \"wait-for-service\"",
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue without recipes.
    struct NoCatalog;

    impl Catalog for NoCatalog {
        fn source(&self, _: &str) -> Option<&str> {
            None
        }
        fn names(&self) -> Vec<&str> {
            Vec::new()
        }
    }

    #[test]
    fn recipe_error_works_as_a_miette_report() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<RecipeError>();
        let err = parse_str(Path::new("r.kdl"), "sett 1", &NoCatalog).unwrap_err();
        let report = miette::Report::new(err);
        assert_eq!(
            report.to_string(),
            "r.kdl:1:1: unknown node `sett` at the top level"
        );
    }
}
