//! `fleet.kdl`: which repositories a fleet run visits and which recipes it applies to them.
//!
//! ```kdl
//! fleet "platform-charts" {
//!     recipes "fleet-recipes/"                       // relative to the fleet file
//!     repo "acme/api"                                // owner/name on GITHUB_SERVER_URL
//!     repo "acme/web" base="release" root="deploy"
//!     repo "https://git.example.com/acme/billing.git" github="acme/billing"
//! }
//! ```
//! Every problem is a miette diagnostic at its line, with what to write instead.

use std::fmt;
use std::path::{Path, PathBuf};

use kdl::{KdlDocument, KdlNode, KdlValue};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// A parsed fleet file.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub name: String,
    pub file: PathBuf,
    /// Recipe files or directories, resolved against the fleet file's directory.
    pub recipes: Vec<PathBuf>,
    pub repos: Vec<RepoSpec>,
}

/// One `repo` line.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoSpec {
    /// As written in the fleet file.
    pub spec: String,
    /// What git clones: the URL, or `GITHUB_SERVER_URL/owner/name.git` for `owner/name`.
    pub url: String,
    /// `owner/name` for the pull request API; `None` when the URL does not say.
    pub github: Option<String>,
    /// The branch to build on; `None`: the remote's default branch.
    pub base: Option<String>,
    /// Where the recipes' globs start inside the repository; `None`: its top.
    pub root: Option<String>,
    /// 1-based line in the fleet file.
    pub line: usize,
}

/// A problem in a fleet file, pointing at its line.
#[derive(Debug)]
pub struct FleetError {
    message: String,
    help: Option<String>,
    /// The file's text and the span the problem is at (boxed: errors travel in `Result`s).
    at: Option<Box<(NamedSource<String>, SourceSpan)>>,
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FleetError {}

impl Diagnostic for FleetError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.at.as_ref().map(|a| &a.0 as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.at.as_ref()?.1;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".into()),
            span,
        ))))
    }
}

impl FleetError {
    /// The miette report without colours, for logs and tests.
    pub fn render_plain(&self) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, self).is_err() {
            out = self.message.clone();
        }
        out
    }
}

/// Reads and parses a fleet file; `owner/name` repositories are cloned from `server`
/// (`GITHUB_SERVER_URL`, else `https://github.com`).
pub fn load(path: &Path, server: &str) -> Result<Fleet, FleetError> {
    let text = std::fs::read_to_string(path).map_err(|e| FleetError {
        message: format!("cannot read fleet file {}: {e}", path.display()),
        help: Some("pass the path of a fleet.kdl (see the README's Fleet section)".into()),
        at: None,
    })?;
    parse(path, &text, server)
}

/// The server `owner/name` repositories live on.
pub fn server_from_env() -> String {
    std::env::var("GITHUB_SERVER_URL")
        .ok()
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "https://github.com".into())
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: SourceSpan, message: String, help: Option<String>) -> FleetError {
        let line = line_of(self.text, span.offset());
        FleetError {
            message: format!("{}:{line}: {message}", self.path.display()),
            help,
            at: Some(Box::new((
                NamedSource::new(self.path.display().to_string(), self.text.to_string()),
                span,
            ))),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

pub fn parse(path: &Path, text: &str, server: &str) -> Result<Fleet, FleetError> {
    let ctx = Ctx { path, text };
    let doc = KdlDocument::parse(text).map_err(|e| {
        let first = e.diagnostics.first();
        let span = first.map_or(SourceSpan::from(0..0), |d| d.span);
        let message = first
            .and_then(|d| d.message.clone())
            .unwrap_or_else(|| "not valid KDL".into());
        ctx.err(
            span,
            format!("{message} (KDL v2)"),
            first.and_then(|d| d.help.clone()),
        )
    })?;
    let fleets: Vec<&KdlNode> = doc.nodes().iter().collect();
    let node = match fleets.as_slice() {
        [one] if one.name().value() == "fleet" => *one,
        [] => {
            return Err(ctx.err(
                SourceSpan::from(0..0),
                "no fleet here".into(),
                Some("write `fleet \"name\" { recipes \"dir/\"; repo \"owner/name\" }`".into()),
            ));
        }
        [one] => {
            return Err(ctx.err(
                one.name().span(),
                format!("unknown node `{}`", one.name().value()),
                Some("a fleet file holds one `fleet \"name\" { ... }` node".into()),
            ));
        }
        [_, second, ..] => {
            return Err(ctx.err(
                second.span(),
                "a fleet file holds exactly one `fleet` node".into(),
                Some("put every repo of this fleet in one node, or write a second file".into()),
            ));
        }
    };
    let name = only_string_arg(
        &ctx,
        node,
        "the fleet's name, e.g. fleet \"platform-charts\"",
    )?;
    allow_props(&ctx, node, &[])?;
    // Absolute, so recipe paths and local repositories do not depend on the clone's cwd.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let base_dir = base_dir.as_path();
    let mut recipes = Vec::new();
    let mut repos: Vec<RepoSpec> = Vec::new();
    for child in node.children().map(|d| d.nodes()).unwrap_or_default() {
        match child.name().value() {
            "recipes" => {
                allow_props(&ctx, child, &[])?;
                let dir = only_string_arg(&ctx, child, "a recipe file or directory")?;
                recipes.push(base_dir.join(dir));
            }
            "repo" => {
                allow_props(&ctx, child, &["base", "root", "github"])?;
                let spec = only_string_arg(&ctx, child, "owner/name or a git URL")?;
                let repo = repo_spec(&ctx, child, &spec, base_dir, server)?;
                if let Some(prev) = repos.iter().find(|r| r.spec == repo.spec) {
                    return Err(ctx.err(
                        child.span(),
                        format!(
                            "repo {:?} is listed twice (first on line {})",
                            spec, prev.line
                        ),
                        Some("list each repository once".into()),
                    ));
                }
                repos.push(repo);
            }
            other => {
                let suggestion = ["recipes", "repo"]
                    .into_iter()
                    .find(|k| strsim::levenshtein(k, other) <= 2)
                    .map_or(String::new(), |k| format!("did you mean `{k}`? "));
                return Err(ctx.err(
                    child.name().span(),
                    format!("unknown node `{other}` in a fleet"),
                    Some(format!(
                        "{suggestion}a fleet holds `recipes \"dir/\"` and `repo \"owner/name\"` lines"
                    )),
                ));
            }
        }
    }
    if recipes.is_empty() {
        return Err(ctx.err(
            node.name().span(),
            format!("fleet {name:?} names no recipes"),
            Some("add `recipes \"fleet-recipes/\"` (relative to the fleet file)".into()),
        ));
    }
    if repos.is_empty() {
        return Err(ctx.err(
            node.name().span(),
            format!("fleet {name:?} has no repo"),
            Some("add `repo \"owner/name\"` lines".into()),
        ));
    }
    Ok(Fleet {
        name,
        file: path.to_path_buf(),
        recipes,
        repos,
    })
}

fn only_string_arg(ctx: &Ctx<'_>, node: &KdlNode, what: &str) -> Result<String, FleetError> {
    let args: Vec<_> = node
        .entries()
        .iter()
        .filter(|e| e.name().is_none())
        .collect();
    match args.as_slice() {
        [one] => match one.value() {
            KdlValue::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(ctx.err(
                one.span(),
                format!("`{}` takes a string: {what}", node.name().value()),
                Some("quote it".into()),
            )),
        },
        [] => Err(ctx.err(
            node.span(),
            format!("`{}` needs one argument: {what}", node.name().value()),
            None,
        )),
        [_, second, ..] => Err(ctx.err(
            second.span(),
            format!("`{}` takes one argument: {what}", node.name().value()),
            None,
        )),
    }
}

fn allow_props(ctx: &Ctx<'_>, node: &KdlNode, allowed: &[&str]) -> Result<(), FleetError> {
    for e in node.entries() {
        if let Some(key) = e.name() {
            let key = key.value();
            if !allowed.contains(&key) {
                let help = if allowed.is_empty() {
                    format!("`{}` takes no properties", node.name().value())
                } else {
                    let near = allowed
                        .iter()
                        .find(|k| strsim::levenshtein(k, key) <= 2)
                        .map_or(String::new(), |k| format!("did you mean `{k}`? "));
                    format!(
                        "{near}`{}` takes {}",
                        node.name().value(),
                        allowed.join(", ")
                    )
                };
                return Err(ctx.err(e.span(), format!("unknown property `{key}`"), Some(help)));
            }
            if !matches!(e.value(), KdlValue::String(s) if !s.trim().is_empty()) {
                return Err(ctx.err(e.span(), format!("`{key}` takes a non-empty string"), None));
            }
        }
    }
    Ok(())
}

fn prop(node: &KdlNode, key: &str) -> Option<(String, SourceSpan)> {
    node.entries()
        .iter()
        .rev()
        .find(|e| e.name().is_some_and(|n| n.value() == key))
        .and_then(|e| e.value().as_string().map(|s| (s.to_string(), e.span())))
}

/// `owner/name`: one slash between two plain names (not a relative path like `./x` or `../x`).
fn is_owner_name(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    matches!(s.split_once('/'), Some((o, n)) if ok(o) && ok(n))
}

fn repo_spec(
    ctx: &Ctx<'_>,
    node: &KdlNode,
    spec: &str,
    base_dir: &Path,
    server: &str,
) -> Result<RepoSpec, FleetError> {
    let line = line_of(ctx.text, node.span().offset());
    let explicit = prop(node, "github");
    if let Some((g, span)) = &explicit
        && !is_owner_name(g)
    {
        return Err(ctx.err(
            *span,
            format!("github={g:?} is not owner/name"),
            Some("write the repository's API name, e.g. github=\"acme/billing\"".into()),
        ));
    }
    let (url, derived) = if is_owner_name(spec) {
        (format!("{server}/{spec}.git"), Some(spec.to_string()))
    } else if spec.contains("://") || looks_scp(spec) {
        let derived =
            crate::github::pulls::parse_remote_url(spec).map(|(_, o, n)| format!("{o}/{n}"));
        (spec.to_string(), derived)
    } else {
        // A local path (a bare repository, a mirror): relative to the fleet file.
        let p = base_dir.join(spec);
        (p.display().to_string(), None)
    };
    let root = prop(node, "root");
    if let Some((r, span)) = &root
        && (Path::new(r).is_absolute() || r.split('/').any(|c| c == ".."))
    {
        return Err(ctx.err(
            *span,
            format!("root={r:?} leaves the repository"),
            Some("give a path inside the repository, e.g. root=\"deploy\"".into()),
        ));
    }
    Ok(RepoSpec {
        spec: spec.to_string(),
        url,
        github: explicit.map(|(g, _)| g).or(derived),
        base: prop(node, "base").map(|(b, _)| b),
        root: root
            .map(|(r, _)| r.trim_matches('/').to_string())
            .filter(|r| !r.is_empty() && r != "."),
        line,
    })
}

/// `git@host:owner/name.git`
fn looks_scp(s: &str) -> bool {
    s.split_once(':')
        .is_some_and(|(left, _)| !left.is_empty() && !left.contains('/') && left.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Fleet, FleetError> {
        parse(Path::new("/x/fleet.kdl"), text, "https://github.com")
    }

    #[test]
    fn repositories_are_named_three_ways() {
        let f = parse_str(
            r#"fleet "platform" {
    recipes "fleet-recipes/"
    repo "acme/api"
    repo "acme/web" base="release" root="deploy/"
    repo "https://git.example.com/acme/billing.git" github="acme/bill"
    repo "../mirrors/cart.git"
}"#,
        )
        .unwrap();
        assert_eq!(f.name, "platform");
        assert_eq!(f.recipes, vec![PathBuf::from("/x/fleet-recipes/")]);
        let r = &f.repos;
        assert_eq!(r[0].url, "https://github.com/acme/api.git");
        assert_eq!(r[0].github.as_deref(), Some("acme/api"));
        assert_eq!(
            (r[1].base.as_deref(), r[1].root.as_deref()),
            (Some("release"), Some("deploy"))
        );
        assert_eq!(r[2].github.as_deref(), Some("acme/bill"));
        assert_eq!(r[3].url, "/x/../mirrors/cart.git");
        assert_eq!((r[3].github.as_deref(), r[3].line), (None, 6));
    }

    #[test]
    fn an_unknown_property_is_reported_at_its_line_with_a_suggestion() {
        let e = parse_str("fleet \"f\" {\n    recipes \"r\"\n    repo \"a/b\" bse=\"main\"\n}\n")
            .unwrap_err();
        let text = e.render_plain();
        assert!(
            text.contains("fleet.kdl:3: unknown property `bse`"),
            "{text}"
        );
        assert!(text.contains("did you mean `base`?"), "{text}");
    }

    #[test]
    fn a_twice_listed_repository_is_refused() {
        let e = parse_str("fleet \"f\" {\n recipes \"r\"\n repo \"a/b\"\n repo \"a/b\"\n}")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(":4: repo \"a/b\" is listed twice (first on line 3)"),
            "{e}"
        );
    }

    #[test]
    fn a_fleet_without_recipes_or_repos_is_refused() {
        let e = parse_str("fleet \"f\" {\n repo \"a/b\"\n}").unwrap_err();
        assert!(e.to_string().contains("names no recipes"), "{e}");
        let e = parse_str("fleet \"f\" {\n recipes \"r\"\n}").unwrap_err();
        assert!(e.to_string().contains("has no repo"), "{e}");
    }

    #[test]
    fn broken_kdl_is_reported_at_its_line() {
        let e = parse_str("fleet \"f\" {\n recipes \"r\n}").unwrap_err();
        assert!(e.to_string().starts_with("/x/fleet.kdl:"), "{e}");
    }

    #[test]
    fn a_root_outside_the_repository_is_refused() {
        let e =
            parse_str("fleet \"f\" {\n recipes \"r\"\n repo \"a/b\" root=\"../x\"\n}").unwrap_err();
        assert!(
            e.to_string()
                .contains(":3: root=\"../x\" leaves the repository"),
            "{e}"
        );
    }
}
