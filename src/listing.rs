//! `patcher recipes list|show`: what recipes there are (the catalogue's and the
//! repository's), their parameters and KDL source, as text or `patcher.recipes/v1` JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kdl::KdlDocument;
use serde_json::{Value, json};

use crate::recipe::{Param, Recipe, RecipeError, RecipeSet, catalog, kdl_text, load};

pub const SCHEMA: &str = "patcher.recipes/v1";

/// One recipe as listed: plain data for the text and JSON renderings.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub description: Option<String>,
    /// `catalog`, or the recipe file and line (`recipes/probes.kdl:3:1`, relative to the root).
    pub origin: String,
    pub kind: Kind,
    /// For an instance: what it is made from (`catalog:job-retries`).
    pub instance_of: Option<String>,
    pub params: Vec<Param>,
    /// For an instance: each parameter's value in it.
    pub args: Vec<(String, Value)>,
    /// The KDL that defines it (for a catalogue recipe, its whole file; for a repository
    /// recipe, its node), when it could be read back.
    pub kdl: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A catalogue recipe: runs only through `use "catalog:NAME"`.
    Catalog,
    /// A repository recipe that runs (no parameters, or defaults for all).
    Recipe,
    /// A repository recipe with a required parameter: runs only through `use`.
    Template,
    /// Made by a `use`.
    Instance,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Catalog => "catalog",
            Kind::Recipe => "recipe",
            Kind::Template => "template",
            Kind::Instance => "instance",
        }
    }
}

/// The repository's recipes for a listing: from `explicit` paths, else from
/// `<root>/recipes` when it exists (a repository without recipes lists the catalogue).
pub fn repository(root: &Path, explicit: &[PathBuf]) -> Result<RecipeSet, RecipeError> {
    if explicit.is_empty() {
        let dir = root.join("recipes");
        if !dir.exists() {
            return Ok(RecipeSet::default());
        }
        return load(&[dir]);
    }
    load(explicit)
}

/// Every catalogue recipe, then the repository's (`set`, loaded from under `root`) in file
/// order. A catalogue recipe that does not parse is a bug the catalogue test catches; it
/// is listed without parameters rather than hidden.
pub fn entries(root: &Path, set: &RecipeSet) -> Vec<Entry> {
    let mut own: Vec<(&Recipe, Kind)> = set
        .recipes
        .iter()
        .map(|r| {
            let kind = if r.instance_of.is_some() {
                Kind::Instance
            } else {
                Kind::Recipe
            };
            (r, kind)
        })
        .chain(set.templates.iter().map(|r| (r, Kind::Template)))
        .collect();
    // File order (files are loaded sorted, so a stable sort by file then line keeps it).
    own.sort_by(|(a, _), (b, _)| {
        (a.origin.file.as_path(), a.origin.line).cmp(&(b.origin.file.as_path(), b.origin.line))
    });
    let mut sources = Sources::default();
    catalog::names()
        .map(catalog_entry)
        .chain(
            own.into_iter()
                .map(|(r, kind)| repository_entry(root, r, kind, &mut sources)),
        )
        .collect()
}

/// `NAME`: the repository's recipe of that name, else the catalogue's; `catalog:NAME`: the
/// catalogue's.
pub fn find<'e>(entries: &'e [Entry], name: &str) -> Option<&'e Entry> {
    if let Some(name) = name.strip_prefix("catalog:") {
        return entries
            .iter()
            .find(|e| e.kind == Kind::Catalog && e.name == name);
    }
    entries
        .iter()
        .find(|e| e.kind != Kind::Catalog && e.name == name)
        .or_else(|| entries.iter().find(|e| e.name == name))
}

/// All names, for "did you mean" on an unknown `show NAME`.
pub fn suggest<'e>(entries: &'e [Entry], name: &str) -> Option<&'e str> {
    entries
        .iter()
        .map(|e| (strsim::damerau_levenshtein(name, &e.name), e.name.as_str()))
        .filter(|(d, n)| *d <= (n.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn catalog_entry(name: &'static str) -> Entry {
    let parsed = catalog::recipe(name).and_then(Result::ok);
    Entry {
        name: name.to_string(),
        description: parsed.as_ref().and_then(|r| r.description.clone()),
        origin: "catalog".to_string(),
        kind: Kind::Catalog,
        instance_of: None,
        params: parsed.map(|r| r.params).unwrap_or_default(),
        args: Vec::new(),
        kdl: catalog::source(name).map(str::to_string),
    }
}

fn repository_entry(root: &Path, r: &Recipe, kind: Kind, sources: &mut Sources) -> Entry {
    let file = shown_path(root, &r.origin.file);
    Entry {
        name: r.name.clone(),
        description: r.description.clone(),
        origin: format!("{file}:{}:{}", r.origin.line, r.origin.col),
        kind,
        instance_of: r.instance_of.clone(),
        params: r.params.clone(),
        args: r.args.clone(),
        kdl: sources.node(&r.origin.file, r.origin.line, r.origin.col),
    }
}

/// `path` relative to `root` with `/` separators, when it is inside it.
fn shown_path(root: &Path, path: &Path) -> String {
    if let Ok(rel) = path.strip_prefix(root) {
        return slash(rel);
    }
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(full)) => full
            .strip_prefix(&root)
            .map_or_else(|_| path.display().to_string(), slash),
        _ => path.display().to_string(),
    }
}

fn slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Recipe files read back for their nodes' text, each read and parsed once.
#[derive(Default)]
struct Sources {
    /// `None`: unreadable or not KDL (the entry is listed without its KDL).
    files: HashMap<PathBuf, Option<ReadBack>>,
}

/// A recipe file's text and the byte ranges of its top-level nodes.
struct ReadBack {
    src: String,
    nodes: Vec<(usize, usize)>,
}

impl Sources {
    /// The text of the top-level node that starts at `line`:`col` of `file`.
    fn node(&mut self, file: &Path, line: usize, col: usize) -> Option<String> {
        let ReadBack { src, nodes } = self
            .files
            .entry(file.to_path_buf())
            .or_insert_with(|| {
                let src = std::fs::read_to_string(file).ok()?;
                let doc = KdlDocument::parse_v2(&src).ok()?;
                let spans = doc
                    .nodes()
                    .iter()
                    .map(|n| (n.span().offset(), n.span().offset() + n.span().len()))
                    .collect();
                Some(ReadBack { src, nodes: spans })
            })
            .as_ref()?;
        let line_start: usize = src
            .split_inclusive('\n')
            .take(line.checked_sub(1)?)
            .map(str::len)
            .sum();
        let offset = line_start
            + src
                .get(line_start..)?
                .chars()
                .take(col.saturating_sub(1))
                .map(char::len_utf8)
                .sum::<usize>();
        let (start, end) = nodes.iter().find(|(start, _)| *start == offset)?;
        src.get(*start..*end).map(|s| s.trim_end().to_string())
    }
}

/// The description's first sentence, for one line of a listing.
pub fn summary(description: Option<&str>) -> String {
    let text = description.unwrap_or("").trim();
    let first = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    };
    let first = first.lines().next().unwrap_or("");
    const MAX: usize = 100;
    if first.chars().count() <= MAX {
        return first.to_string();
    }
    let cut: String = first.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

fn where_from(e: &Entry) -> String {
    match (&e.kind, &e.instance_of) {
        (Kind::Catalog, _) => "catalog".to_string(),
        (Kind::Template, _) => format!("{} (template)", e.origin),
        (_, Some(of)) => format!("{} (use of {of})", e.origin),
        _ => e.origin.clone(),
    }
}

/// `patcher recipes list`: one line per recipe: name, where it comes from, what it does.
pub fn list_text(entries: &[Entry]) -> String {
    let rows: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                where_from(e),
                summary(e.description.as_deref()),
            )
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!("{:w0$}  {:w1$}  DESCRIPTION\n", "NAME", "FROM");
    for (name, from, what) in rows {
        out.push_str(format!("{name:w0$}  {from:w1$}  {what}").trim_end());
        out.push('\n');
    }
    out
}

/// `patcher recipes show NAME`: description, parameters and the KDL.
pub fn show_text(e: &Entry) -> String {
    let mut out = format!("{}\nFrom: {}\n", e.name, where_from(e));
    if let Some(d) = &e.description {
        out.push_str(&format!("\n{d}\n"));
    }
    if let Some(of) = &e.instance_of {
        out.push_str(&format!(
            "\nMade by the `use` below from {of} (`patcher recipes show {of}` shows that).\n"
        ));
    }
    if !e.params.is_empty() {
        let title = match &e.instance_of {
            Some(_) => "Parameters, as this instance sets them".to_string(),
            None => "Parameters".to_string(),
        };
        out.push_str(&format!("\n{title}:\n"));
        let rows: Vec<[String; 4]> = e
            .params
            .iter()
            .map(|p| {
                let default = p.default.as_ref().map_or_else(
                    || "required".to_string(),
                    |v| format!("default {}", kdl_text(v)),
                );
                // An instance: the value it has, then what the recipe would use.
                let value = match e.args.iter().find(|(n, _)| *n == p.name) {
                    Some((_, v)) if Some(v) != p.default.as_ref() => {
                        format!("= {} ({default})", kdl_text(v))
                    }
                    _ => default,
                };
                [
                    p.name.clone(),
                    p.ty.name().to_string(),
                    value,
                    p.description.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        for [name, ty, default, what] in rows {
            out.push_str(format!("  {name:w0$}  {ty:w1$}  {default:w2$}  {what}").trim_end());
            out.push('\n');
        }
    }
    if let Some(kdl) = &e.kdl {
        out.push_str(&format!("\n{}\n", kdl.trim_end()));
    }
    out
}

fn entry_json(e: &Entry, with_kdl: bool) -> Value {
    let params: Vec<Value> = e
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "type": p.ty.name(),
                "required": p.default.is_none(),
                "default": p.default,
                "description": p.description,
            })
        })
        .collect();
    let mut v = json!({
        "name": e.name,
        "kind": e.kind.as_str(),
        "from": if e.kind == Kind::Catalog { "catalog" } else { "repository" },
        "origin": e.origin,
        "instance_of": e.instance_of,
        "summary": summary(e.description.as_deref()),
        "description": e.description,
        "params": params,
    });
    if e.kind == Kind::Instance {
        v["args"] = e
            .args
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    if with_kdl {
        v["kdl"] = json!(e.kdl);
    }
    v
}

pub fn list_json(entries: &[Entry]) -> Value {
    json!({
        "schema": SCHEMA,
        "recipes": entries.iter().map(|e| entry_json(e, false)).collect::<Vec<_>>(),
    })
}

pub fn show_json(e: &Entry) -> Value {
    json!({"schema": SCHEMA, "recipe": entry_json(e, true)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_the_first_sentence_cut_at_a_word() {
        assert_eq!(summary(Some("Jobs retry. More here.")), "Jobs retry.");
        assert_eq!(summary(Some("One: two, three")), "One: two, three");
        assert_eq!(summary(None), "");
        let long = "word ".repeat(40);
        let s = summary(Some(&long));
        assert!(s.ends_with('…') && s.chars().count() <= 101, "{s}");
    }

    #[test]
    fn find_prefers_the_repository_and_catalog_prefix_picks_the_catalogue() {
        let set = RecipeSet::default();
        let mut entries = entries(Path::new("."), &set);
        let mut own = entries[0].clone();
        own.kind = Kind::Recipe;
        own.origin = "recipes/x.kdl:1:1".into();
        entries.push(own);
        let name = entries[0].name.clone();
        assert_eq!(find(&entries, &name).unwrap().kind, Kind::Recipe);
        assert_eq!(
            find(&entries, &format!("catalog:{name}")).unwrap().kind,
            Kind::Catalog
        );
        assert!(find(&entries, "nope").is_none());
    }
}
