//! `use "catalog:NAME" KEY=VALUE... name="..."` and `use "file.kdl:NAME" ...`: a recipe
//! instantiated with parameter values, parsed as a normal recipe of the using file.
//!
//! A file path is relative to the directory of the file that has the `use` (like an
//! include), so a recipe directory can be moved or loaded with `--recipes` as a whole. The
//! used recipe is looked up among that file's `recipe` nodes; the file's own `use` nodes
//! are followed too (`use "base.kdl:strict-retries"` where base.kdl has
//! `use "catalog:job-retries" name="strict-retries" backoff=10`), its values becoming
//! defaults this `use` may override; a chain that comes back to itself is an error.
//!
//! The instance's `instance_of` is the catalogue recipe it comes from (through presets
//! too: `catalog:job-retries`), else the target as this `use` wrote it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::diag::{RecipeDiagnostic, Supplier, list, suggest};
use super::entries::kdl_kind;
use super::params::{Bound, Decl, coerce, kdl_json, kdl_param_type, kdl_text, substitute};
use super::parser::{Parser, Seen};
use super::spec::{Head, USE};
use crate::recipe::model::{ParamType, Recipe};

const USE_HELP: &str = "write `use \"catalog:job-retries\" backoff=8`, or \
                        `use \"other.kdl:recipe-name\" ...` for a recipe of another file \
                        (relative to this file's directory)";

/// The used recipe's source, once found.
struct Template {
    /// `catalog:NAME`, or the file's path as the `use` resolved it.
    file: PathBuf,
    src: String,
}

/// `use` chains being resolved, outermost first: ((canonical file, recipe name), as shown).
pub(super) type UseStack = Vec<((PathBuf, String), String)>;

/// A parameter value a `use` gives, with where it is written (diagnostics about it point
/// there, whichever file is being parsed when they are found).
pub(super) struct Given {
    key: String,
    value: KdlValue,
    has_type: bool,
    supplier: Arc<Supplier>,
}

impl Parser<'_> {
    /// The recipe a top-level `use` node makes; `None` when it is invalid (reported).
    pub(super) fn use_node(
        &mut self,
        node: &KdlNode,
        seen: &mut Seen,
        stack: &mut UseStack,
    ) -> Option<Recipe> {
        let head = self.head(node, &USE);
        if !head.ok {
            return None;
        }
        let target_entry = head.args[0];
        let target = self.string_arg(target_entry, "the recipe to use", USE_HELP)?;
        let name_prop = match head.props.get("name") {
            Some(entry) => Some((self.instance_name(entry)?, entry.span())),
            None => None,
        };
        let given = self.given(node, &head);
        let at = self.supplier(self.head_line_span(node));
        let mut recipe = self.instantiate(target_entry, &target, given, &at, stack)?;

        // The name the target gives (a preset's, for `use "base.kdl:strict-retries"`).
        let instance = match &name_prop {
            Some((name, _)) => name.clone(),
            None => target
                .rsplit_once(':')
                .map_or(recipe.name.clone(), |(_, name)| name.to_string()),
        };
        let name_span = name_prop.map_or(target_entry.span(), |(_, span)| span);
        let origin = self.origin(node.span().offset());
        if let Some((first, _)) = seen.get(&instance) {
            let message =
                format!("duplicate recipe name `{instance}`: it is already defined at {first}");
            self.error(
                name_span,
                "defined again here",
                message,
                format!(
                    "each instance needs its own name: add name=\"{instance}-2\" (or another \
                     name) to this `use`"
                ),
            );
            return None;
        }
        seen.insert(instance.clone(), (origin.clone(), name_span));
        recipe.name = instance;
        recipe.origin = origin;
        recipe.instance_of.get_or_insert(target);
        Some(recipe)
    }

    fn instance_name(&mut self, entry: &KdlEntry) -> Option<String> {
        const HELP: &str = "name the instance in quotes, e.g. name=\"strict-retries\"";
        let name = self.string_arg(entry, "`name`", HELP)?;
        if name.trim().is_empty() {
            self.error(
                entry.span(),
                "empty name",
                "the instance name is empty",
                HELP,
            );
            return None;
        }
        Some(name)
    }

    /// The parameter values of a `use` (every property but `name=`; of a property given
    /// twice, the first: `head` reported the second).
    fn given(&self, node: &KdlNode, head: &Head<'_>) -> Vec<Given> {
        node.entries()
            .iter()
            .filter_map(|e| {
                let key = e.name()?.value();
                let first = head.props.get(key)?;
                (key != "name" && std::ptr::eq(*first, e)).then(|| Given {
                    key: key.to_string(),
                    value: e.value().clone(),
                    has_type: e.ty().is_some(),
                    supplier: self.supplier(e.span()),
                })
            })
            .collect()
    }

    /// `span` of this source, as the place a value was supplied.
    pub(super) fn supplier(&self, span: miette::SourceSpan) -> Arc<Supplier> {
        let span = self.clamp(span);
        Arc::new(Supplier {
            file: self.file.clone(),
            source: self.source.clone(),
            position: self.lines.line_col(self.src, span.offset()),
            span,
        })
    }

    /// The recipe `target` names (as written in this file's `target_entry`), with `given`
    /// values over its defaults; `at` is the `use` line, for errors about the whole `use`.
    fn instantiate(
        &mut self,
        target_entry: &KdlEntry,
        target: &str,
        given: Vec<Given>,
        at: &Arc<Supplier>,
        stack: &mut UseStack,
    ) -> Option<Recipe> {
        let (template, wanted) = self.template(target_entry, target)?;
        // Compared canonical, so two spellings of one file are one step of a cycle; shown
        // as the `use`s wrote them.
        let real = std::fs::canonicalize(&template.file).unwrap_or_else(|_| template.file.clone());
        let key = (real, wanted.clone());
        let shown = format!("{}:{wanted}", template.file.display());
        if let Some(start) = stack.iter().position(|(k, _)| *k == key) {
            let chain: Vec<&str> = stack[start..]
                .iter()
                .map(|(_, s)| s.as_str())
                .chain(std::iter::once(shown.as_str()))
                .collect();
            self.error(
                target_entry.span(),
                "uses itself",
                format!("`use` cycle: {}", chain.join(" → ")),
                "a recipe cannot be made from itself: make one of these `use`s name a `recipe`",
            );
            return None;
        }
        let mut sub = Parser::new(Arc::new(template.file.clone()), &template.src, self.catalog);
        let doc = match KdlDocument::parse_v2(&template.src) {
            Ok(doc) => doc,
            Err(err) => {
                sub.kdl_error(err);
                self.diags.append(&mut sub.diags);
                return None;
            }
        };
        let recipe_node = doc
            .nodes()
            .iter()
            .find(|n| n.name().value() == "recipe" && first_string(n).is_some_and(|s| s == wanted));
        let preset = doc.nodes().iter().find(|n| {
            n.name().value() == "use" && instance_name_of(n).is_some_and(|s| s == wanted)
        });
        let result = match (recipe_node, preset) {
            (Some(recipe_node), _) => sub.bind_and_parse(recipe_node, given, at),
            (None, Some(inner)) => {
                // A preset: the inner `use`'s values, under ours.
                stack.push((key, shown));
                let result = sub.preset(inner, given, at, stack);
                stack.pop();
                result
            }
            (None, None) => {
                let names: Vec<String> = doc
                    .nodes()
                    .iter()
                    .filter(|n| n.name().value() == "recipe")
                    .filter_map(first_string)
                    .collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let help = match suggest(&wanted, &refs) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if refs.is_empty() => {
                        format!("{} has no recipes; {USE_HELP}", template.file.display())
                    }
                    None => format!("its recipes are {}", list(&refs)),
                };
                self.error(
                    target_entry.span(),
                    "no such recipe",
                    format!("no recipe `{wanted}` in {}", template.file.display()),
                    help,
                );
                None
            }
        };
        sub.settle_remapped();
        self.diags.append(&mut sub.diags);
        // Through presets too, an instance of a catalogue recipe says which one.
        let mut result = result;
        if target.starts_with("catalog:")
            && let Some(recipe) = result.as_mut()
        {
            recipe.instance_of.get_or_insert_with(|| target.to_string());
        }
        result
    }

    /// `use "base.kdl:NAME"` where base.kdl's `use ... name="NAME"` is itself an instance:
    /// `self` parses base.kdl; the outer `given` values override the inner `use`'s.
    fn preset(
        &mut self,
        inner: &KdlNode,
        given: Vec<Given>,
        at: &Arc<Supplier>,
        stack: &mut UseStack,
    ) -> Option<Recipe> {
        let head = self.head(inner, &USE);
        if !head.ok {
            return None;
        }
        let target_entry = head.args[0];
        let target = self.string_arg(target_entry, "the recipe to use", USE_HELP)?;
        let mut all: Vec<Given> = self
            .given(inner, &head)
            .into_iter()
            .filter(|g| !given.iter().any(|o| o.key == g.key))
            .collect();
        all.extend(given);
        self.instantiate(target_entry, &target, all, at, stack)
    }

    /// Where `target` (`catalog:NAME` or `file.kdl:NAME`) is, and the recipe name.
    fn template(&mut self, entry: &KdlEntry, target: &str) -> Option<(Template, String)> {
        if let Some(name) = target.strip_prefix("catalog:") {
            let Some(src) = self.catalog.source(name) else {
                let names = self.catalog.names();
                let help = match suggest(name, &names) {
                    Some(s) => format!("did you mean `catalog:{s}`?"),
                    None => format!(
                        "`patcher recipes list` shows the catalogue: {}",
                        list(&names)
                    ),
                };
                self.error(
                    entry.span(),
                    "not in the catalogue",
                    format!("no recipe `{name}` in the catalogue"),
                    help,
                );
                return None;
            };
            let template = Template {
                file: PathBuf::from(format!("catalog:{name}")),
                src: src.to_string(),
            };
            return Some((template, name.to_string()));
        }
        let Some((path, name)) = target
            .rsplit_once(':')
            .filter(|(p, n)| !p.is_empty() && !n.is_empty())
        else {
            self.error(
                entry.span(),
                "which recipe?",
                format!("`{target}` does not name a recipe"),
                USE_HELP,
            );
            return None;
        };
        if Path::new(path).is_absolute() || path.starts_with(['/', '\\']) {
            self.error(
                entry.span(),
                "absolute path",
                format!("`{path}` is absolute"),
                "write the file's path relative to the directory of this recipe file",
            );
            return None;
        }
        let file = self
            .file
            .parent()
            .map_or_else(|| PathBuf::from(path), |dir| dir.join(path));
        let src = match std::fs::read(&file).map(String::from_utf8) {
            Ok(Ok(src)) => src,
            Ok(Err(_)) => {
                self.error(
                    entry.span(),
                    "not UTF-8",
                    format!("{} is not UTF-8 text", file.display()),
                    "save the recipe file as UTF-8",
                );
                return None;
            }
            Err(err) => {
                self.error(
                    entry.span(),
                    "cannot read",
                    format!("cannot read {}: {err}", file.display()),
                    "the path is relative to the directory of this recipe file; check that \
                     the file exists",
                );
                return None;
            }
        };
        Some((Template { file, src }, name.to_string()))
    }

    /// Checks `given` against the recipe's parameters, substitutes, and parses the recipe.
    fn bind_and_parse(
        &mut self,
        recipe_node: &KdlNode,
        given: Vec<Given>,
        at: &Arc<Supplier>,
    ) -> Option<Recipe> {
        let decls = self.params(recipe_node)?;
        let recipe_name = first_string(recipe_node).unwrap_or_default();
        let mut bound: HashMap<String, Bound> = HashMap::new();
        let mut ok = true;
        for g in given {
            let Some(decl) = decls.iter().find(|d| d.param.name == g.key) else {
                let names: Vec<&str> = decls.iter().map(|d| d.param.name.as_str()).collect();
                let help = match suggest(&g.key, &names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if names.is_empty() => {
                        format!("`{recipe_name}` has no parameters; remove `{}=`", g.key)
                    }
                    None => format!("the parameters of `{recipe_name}` are {}", list(&names)),
                };
                self.diags.push(RecipeDiagnostic::at_supplier(
                    &g.supplier,
                    "unknown parameter",
                    format!("recipe `{recipe_name}` has no parameter `{}`", g.key),
                    help,
                ));
                ok = false;
                continue;
            };
            let ty = decl.param.ty;
            if g.has_type || !fits(&g.value, ty) {
                let example = decl
                    .param
                    .default
                    .as_ref()
                    .map_or_else(|| example_of(ty).to_string(), kdl_text);
                self.diags.push(RecipeDiagnostic::at_supplier(
                    &g.supplier,
                    format!("expected {}", type_words(ty)),
                    format!(
                        "wrong type for `{}`: expected {}, got {}",
                        g.key,
                        type_words(ty),
                        if g.has_type {
                            "a value with a type annotation"
                        } else {
                            kdl_kind(&g.value)
                        }
                    ),
                    format!(
                        "`{}` takes {}: write e.g. `{}={example}`",
                        g.key,
                        type_words(ty),
                        g.key
                    ),
                ));
                ok = false;
                continue;
            }
            bound.insert(
                g.key,
                Bound {
                    value: coerce(&g.value, ty),
                    supplier: Some(g.supplier),
                },
            );
        }
        let missing: Vec<&Decl> = decls
            .iter()
            .filter(|d| d.default.is_none() && !bound.contains_key(&d.param.name))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|d| d.param.name.as_str()).collect();
            let example: Vec<String> = missing
                .iter()
                .map(|d| format!("{}={}", d.param.name, example_of(d.param.ty)))
                .collect();
            let what = missing
                .iter()
                .map(|d| match &d.param.description {
                    Some(text) => format!("`{}` ({}: {text})", d.param.name, d.param.ty.name()),
                    None => format!("`{}` ({})", d.param.name, d.param.ty.name()),
                })
                .collect::<Vec<_>>()
                .join(", ");
            self.diags.push(RecipeDiagnostic::at_supplier(
                at,
                format!("missing {}", list(&names)),
                format!("recipe `{recipe_name}` needs {what}, which this `use` does not give"),
                format!("add {}", example.join(" ")),
            ));
            ok = false;
        }
        if !ok {
            return None;
        }
        for decl in &decls {
            if let (false, Some(default)) = (bound.contains_key(&decl.param.name), &decl.default) {
                bound.insert(
                    decl.param.name.clone(),
                    Bound {
                        value: default.clone(),
                        supplier: None,
                    },
                );
            }
        }
        let args = decls
            .iter()
            .filter_map(|d| {
                let value = &bound.get(&d.param.name)?.value;
                Some((d.param.name.clone(), kdl_json(value)))
            })
            .collect();
        let (node, subst) = substitute(recipe_node, &bound);
        self.subst = subst;
        let recipe = self.recipe(&node, &mut Seen::new());
        self.subst.clear();
        let mut recipe = recipe?;
        recipe.params = decls.into_iter().map(|d| d.param).collect();
        recipe.args = args;
        Some(recipe)
    }
}

fn first_string(node: &KdlNode) -> Option<String> {
    node.entries()
        .iter()
        .find(|e| e.name().is_none())
        .and_then(|e| e.value().as_string())
        .map(str::to_string)
}

fn prop_string(node: &KdlNode, name: &str) -> Option<String> {
    node.entries()
        .iter()
        .find(|e| e.name().is_some_and(|k| k.value() == name))
        .and_then(|e| e.value().as_string())
        .map(str::to_string)
}

/// Whether a KDL value may be given for a parameter of type `ty`.
fn fits(value: &KdlValue, ty: ParamType) -> bool {
    matches!(
        (kdl_param_type(value), ty),
        (Some(ParamType::Int), ParamType::Float)
    ) || kdl_param_type(value) == Some(ty)
}

fn type_words(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "a string",
        ParamType::Int => "an integer",
        ParamType::Float => "a number",
        ParamType::Bool => "a boolean (#true or #false)",
    }
}

/// The name a top-level `use` gives its instance: `name=`, else the used recipe's.
fn instance_name_of(node: &KdlNode) -> Option<String> {
    prop_string(node, "name")
        .or_else(|| first_string(node).and_then(|t| t.rsplit_once(':').map(|(_, r)| r.to_string())))
}

fn example_of(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "\"...\"",
        ParamType::Int => "6",
        ParamType::Float => "0.5",
        ParamType::Bool => "#true",
    }
}
