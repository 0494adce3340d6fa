//! File selection: which files under the root each recipe names, and the root's safety rules.
//!
//! Globs read the way a shell, `.gitignore` or GitHub's `paths:` read them: `*` and `?` never
//! match `/`, `**` matches zero or more whole directories, `{a,b}` is alternation and `[...]`
//! a character class. A literal path names one file (which `create=#true` may create). No
//! target may leave the root: not by `..`, an absolute path, or a symlink that resolves
//! outside it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};

use crate::finding::Finding;
use crate::recipe::{FileRule, RecipeSet};

/// The files a run edits, grouped by file, with what each recipe named.
#[derive(Debug, Default)]
pub struct Targets {
    /// YAML file -> the (recipe, file rule) pairs that name it, in recipe order; a file named
    /// twice is still edited once.
    pub yaml: BTreeMap<String, Vec<(usize, usize)>>,
    /// Literal paths that do not exist yet and whose rule says `create=#true`.
    pub creatable: HashSet<String>,
    /// Text file -> the (recipe, text rule) pairs that name it.
    pub text: BTreeMap<String, Vec<(usize, usize)>>,
    /// Per recipe: how many files its rules matched.
    pub files_matched: Vec<usize>,
    /// Per recipe: the files its rules named (matched, or to be created).
    pub files_of: Vec<BTreeSet<String>>,
    pub warnings: Vec<Finding>,
    pub errors: Vec<Finding>,
}

/// Resolves every recipe's `file` and `text` rules against the files under `root` (which
/// must already be canonical, so that symlink checks compare like with like).
pub fn select(root: &Path, recipes: &RecipeSet) -> Targets {
    let n = recipes.recipes.len();
    let mut t = Targets {
        files_matched: vec![0; n],
        files_of: vec![BTreeSet::new(); n],
        ..Targets::default()
    };
    let walk = FileList::new(root);
    for (ri, recipe) in recipes.recipes.iter().enumerate() {
        for (fi, rule) in recipe.files.iter().enumerate() {
            let (files, missing_literals) = match expand(root, &walk, rule) {
                Ok(found) => found,
                Err(msg) => {
                    t.errors.push(Finding::new(recipe, &rule.origin, None, msg));
                    continue;
                }
            };
            if files.is_empty() && missing_literals.is_empty() && !rule.optional {
                let msg = no_file_message(rule, &walk);
                t.warnings
                    .push(Finding::new(recipe, &rule.origin, None, msg));
            }
            for lit in missing_literals {
                if rule.create {
                    t.files_of[ri].insert(lit.clone());
                    t.creatable.insert(lit.clone());
                    t.yaml.entry(lit).or_default().push((ri, fi));
                } else if !rule.optional {
                    let msg = format!("file {lit} does not exist (add create=#true to create it)");
                    t.warnings
                        .push(Finding::new(recipe, &rule.origin, Some(&lit), msg));
                }
            }
            for f in files {
                t.files_matched[ri] += 1;
                t.files_of[ri].insert(f.clone());
                let list = t.yaml.entry(f).or_default();
                if !list.contains(&(ri, fi)) {
                    list.push((ri, fi));
                }
            }
        }
        for (ti, rule) in recipe.texts.iter().enumerate() {
            if let Err(msg) = stays_inside(&rule.path) {
                t.errors.push(Finding::new(recipe, &rule.origin, None, msg));
                continue;
            }
            let full = root.join(&rule.path);
            if std::fs::symlink_metadata(&full).is_err() {
                if !rule.optional {
                    let msg = format!("file {} does not exist", rule.path);
                    t.warnings
                        .push(Finding::new(recipe, &rule.origin, Some(&rule.path), msg));
                }
                continue;
            }
            if let Err(msg) = check_inside(root, &full, &rule.path) {
                t.errors.push(Finding::new(recipe, &rule.origin, None, msg));
                continue;
            }
            let rel = rel_string(Path::new(&rule.path));
            t.files_matched[ri] += 1;
            t.files_of[ri].insert(rel.clone());
            t.text.entry(rel).or_default().push((ri, ti));
        }
    }
    t
}

/// A glob with shell semantics: `*`/`?` stay within one path segment.
pub fn glob_matcher(glob: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true) // `values{,-ci}.yaml`, as in a shell
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad glob `{glob}`: {}", e.kind()))
}

/// Refuses absolute paths and `..` segments: a target is named relative to the root.
fn stays_inside(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "`{path}` leaves the repository root; paths must be relative and stay inside it"
        ));
    }
    Ok(())
}

/// All regular files under the root (relative, `/`-separated), skipping `.git` and whatever
/// `.gitignore` excludes (such as `target/`). Walked once per base directory, on demand.
struct FileList {
    root: PathBuf,
    cache: std::sync::Mutex<HashMap<String, Arc<Walked>>>,
}

/// The files under one base directory, and what is needed to tell which could resolve
/// outside the root: the walk does not follow links, so under a base directory that resolves
/// inside, only a symlink can (the others need no `realpath`).
#[derive(Default)]
struct Walked {
    files: Vec<String>,
    base_inside: bool,
    links: HashSet<String>,
}

impl Walked {
    fn may_leave(&self, file: &str) -> bool {
        !self.base_inside || self.links.contains(file)
    }
}

impl FileList {
    fn new(root: &Path) -> Self {
        FileList {
            root: root.to_path_buf(),
            cache: Default::default(),
        }
    }

    /// Files under the directory `base` (relative).
    fn under(&self, base: &str) -> Arc<Walked> {
        if let Ok(cache) = self.cache.lock()
            && let Some(v) = cache.get(base)
        {
            return v.clone();
        }
        let dir = if base.is_empty() {
            self.root.clone()
        } else {
            self.root.join(base)
        };
        let mut walked = Walked::default();
        if dir.is_dir() {
            walked.base_inside = dir.canonicalize().is_ok_and(|c| c.starts_with(&self.root));
            let walker = ignore::WalkBuilder::new(&dir)
                .hidden(false)
                .git_ignore(true)
                .git_global(false)
                .git_exclude(false)
                .require_git(false)
                .parents(true)
                .follow_links(false)
                .filter_entry(|e| e.file_name() != ".git")
                .build();
            for entry in walker.flatten() {
                let ft = entry.file_type();
                if ft.is_some_and(|t| t.is_file() || t.is_symlink())
                    && let Ok(rel) = entry.path().strip_prefix(&self.root)
                {
                    let rel = rel_string(rel);
                    if ft.is_some_and(|t| t.is_symlink()) {
                        walked.links.insert(rel.clone());
                    }
                    walked.files.push(rel);
                }
            }
        }
        walked.files.sort();
        let walked = Arc::new(walked);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(base.to_string(), walked.clone());
        }
        walked
    }
}

/// A relative path as the reports show it: normal components joined by `/`.
pub fn rel_string(p: &Path) -> String {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// The directory a glob's matches all lie under: its leading segments without wildcards.
fn glob_base(glob: &str) -> String {
    let segments: Vec<&str> = glob.split('/').take_while(|c| !is_glob(c)).collect();
    segments.join("/")
}

/// The files a rule's globs match, and its literal paths that do not exist.
fn expand(
    root: &Path,
    walk: &FileList,
    rule: &FileRule,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for g in &rule.globs {
        stays_inside(g)?;
        if !is_glob(g) {
            let full = root.join(g);
            match std::fs::symlink_metadata(&full) {
                Ok(_) => {
                    check_inside(root, &full, g)?;
                    files.push(rel_string(Path::new(g)));
                }
                Err(_) => missing.push(rel_string(Path::new(g))),
            }
            continue;
        }
        let matcher = glob_matcher(g)?;
        let walked = walk.under(&glob_base(g));
        for f in &walked.files {
            if matcher.is_match(f) {
                if walked.may_leave(f) {
                    check_inside(root, &root.join(f), f)?;
                }
                files.push(f.clone());
            }
        }
    }
    files.sort();
    files.dedup();
    Ok((files, missing))
}

/// Refuses a file that resolves (through symlinks) outside the root.
pub fn check_inside(root: &Path, full: &Path, shown: &str) -> Result<(), String> {
    match full.canonicalize() {
        Ok(c) if c.starts_with(root) => Ok(()),
        Ok(c) => Err(format!(
            "`{shown}` resolves to {} outside the repository root; refusing to follow the symlink",
            c.display()
        )),
        Err(e) => Err(format!("cannot resolve `{shown}`: {e}")),
    }
}

/// "no file matches `…`", with the three files whose paths are closest to the glob.
fn no_file_message(rule: &FileRule, walk: &FileList) -> String {
    let globs = rule.globs.join("`, `");
    let mut near: Vec<(usize, String)> = Vec::new();
    for g in &rule.globs {
        let parent = if is_glob(g) {
            glob_base(g)
        } else {
            g.rsplit_once('/').map_or("", |(dir, _)| dir).to_string()
        };
        for f in walk.under(&parent).files.iter().take(5000) {
            near.push((strsim::levenshtein(g, f), f.clone()));
        }
    }
    near.sort();
    let names: Vec<String> = near.into_iter().take(3).map(|(_, f)| f).collect();
    if names.is_empty() {
        format!("no file matches `{globs}`")
    } else {
        format!("no file matches `{globs}`; nearest: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, path: &str) -> bool {
        glob_matcher(glob)
            .map(|m| m.is_match(path))
            .unwrap_or(false)
    }

    #[test]
    fn star_and_question_mark_stay_within_one_segment() {
        assert!(matches("charts/*/values.yaml", "charts/a/values.yaml"));
        assert!(!matches(
            "charts/*/values.yaml",
            "charts/a/examples/b/values.yaml"
        ));
        assert!(matches("chart/templates/?.yaml", "chart/templates/a.yaml"));
        assert!(!matches("chart/?", "chart/a/b"));
        assert!(!matches("*.yaml", "chart/values.yaml"));
    }

    #[test]
    fn double_star_matches_zero_or_more_directories() {
        assert!(matches("charts/**/values.yaml", "charts/values.yaml"));
        assert!(matches("charts/**/values.yaml", "charts/a/values.yaml"));
        assert!(matches(
            "charts/**/values.yaml",
            "charts/a/examples/b/values.yaml"
        ));
        assert!(matches("**/*.yml", "x.yml"));
        assert!(matches("**/*.yml", ".github/workflows/ci.yml"));
    }

    #[test]
    fn alternation_and_classes() {
        assert!(matches("values{,-ci}.yaml", "values.yaml"));
        assert!(matches("values{,-ci}.yaml", "values-ci.yaml"));
        assert!(!matches("values{,-ci}.yaml", "values-dev.yaml"));
        assert!(matches("w/[ab].yml", "w/a.yml"));
        assert!(!matches("w/[ab].yml", "w/c.yml"));
        assert!(matches("w/[!ab].yml", "w/c.yml"));
    }

    #[test]
    fn glob_base_is_the_literal_prefix() {
        assert_eq!(glob_base("charts/*/values.yaml"), "charts");
        assert_eq!(glob_base("**/x"), "");
        assert_eq!(glob_base("a/b/{c,d}/e"), "a/b");
    }
}
