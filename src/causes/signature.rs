//! Failure signatures: KDL files that name a known CI failure cause, the log lines that show
//! it (regexes) and the recipes that fix it. The shipped ones are compiled in from
//! `signatures/`; a repository adds its own in `.patcher/signatures/*.kdl` (outside
//! `recipes/`, so the recipe loader never reads them), replacing a shipped one of the same name.
//!
//! ```kdl
//! signature "job-backoff-exceeded" {
//!     description "A Helm hook Job gave up after its retries"
//!     line "job (?P<job>[a-z0-9-]+) failed: BackoffLimitExceeded"   // any `line` matches
//!     line "BackoffLimitExceeded"        // the first that matches a line gives the captures
//!     // or, instead of `line`s: lines 20 { line "UPGRADE FAILED"; line "timed out" }
//!     unless "Liveness probe failed"     // a line matching this is never the signature's
//!     message "Job {job} ran out of retries"   // a capture that did not take part is left out
//!     fixes "job-retries" "wait-for-service"
//!     fix-hint "what to do when no recipe fits"
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use kdl::{KdlDocument, KdlNode, KdlValue};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};
use regex::Regex;

/// The shipped signature files, compiled in (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "signatures/helm.kdl",
        include_str!("../../signatures/helm.kdl"),
    ),
    (
        "signatures/kubernetes.kdl",
        include_str!("../../signatures/kubernetes.kdl"),
    ),
    (
        "signatures/k3d.kdl",
        include_str!("../../signatures/k3d.kdl"),
    ),
    (
        "signatures/actions.kdl",
        include_str!("../../signatures/actions.kdl"),
    ),
    (
        "signatures/postgres.kdl",
        include_str!("../../signatures/postgres.kdl"),
    ),
    (
        "signatures/services.kdl",
        include_str!("../../signatures/services.kdl"),
    ),
];

/// Where a repository keeps its own signatures, relative to its root.
pub const REPO_DIR: &str = ".patcher/signatures";

#[derive(Debug, Clone)]
pub struct Signature {
    pub name: String,
    pub description: String,
    pub pattern: Pattern,
    /// `unless "re"` (repeatable): a line matching one of these is not the signature's, though
    /// it matches a `line` (a refused connection printed by a probe is the probe's failure).
    pub unless: Vec<Regex>,
    /// A message with `{capture}` references to the pattern's named groups.
    pub message: Option<String>,
    /// Recipe names: a repository recipe, or a catalogue recipe (`patcher init` proposes it).
    pub fixes: Vec<String>,
    /// What to do when no recipe fits (e.g. a `text` recipe specific to the application).
    pub fix_hint: Option<String>,
    /// `file:line` of the `signature` node.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub enum Pattern {
    /// `line "re"` (repeatable): any one line matching any one regex.
    AnyLine(Vec<Regex>),
    /// `lines N { line …; line … }`: every regex matches a line within a window of N lines.
    Within { window: usize, lines: Vec<Regex> },
}

/// A bad signature file: where, what, and what to do.
#[derive(Debug)]
pub struct SignatureError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub help: String,
    src: Box<NamedSource<String>>,
    span: SourceSpan,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for SignatureError {}

impl Diagnostic for SignatureError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".into()),
            self.span,
        ))))
    }
}

/// The shipped signatures.
pub fn builtin() -> Result<Vec<Signature>, SignatureError> {
    let mut out = Vec::new();
    for (file, src) in BUILTIN {
        out.extend(parse_str(Path::new(file), src)?);
    }
    Ok(out)
}

/// The shipped signatures, then the repository's (`<root>/.patcher/signatures/*.kdl`, in
/// file-name order); a repository signature replaces a shipped one of the same name.
pub fn load(root: &Path) -> Result<Vec<Signature>, SignatureError> {
    let mut all = builtin()?;
    let dir = root.join(REPO_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(all);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
        .collect();
    files.sort();
    for file in files {
        let src = std::fs::read_to_string(&file).map_err(|e| SignatureError {
            file: file.clone(),
            line: 1,
            message: format!("cannot read signature file: {e}"),
            help: "make the file readable UTF-8 text, or remove it".into(),
            src: Box::new(NamedSource::new(file.display().to_string(), String::new())),
            span: SourceSpan::new(0.into(), 0),
        })?;
        for sig in parse_str(&file, &src)? {
            all.retain(|s| s.name != sig.name);
            all.push(sig);
        }
    }
    Ok(all)
}

/// Parses one signature file.
pub fn parse_str(file: &Path, src: &str) -> Result<Vec<Signature>, SignatureError> {
    let p = Parser { file, src };
    let doc = KdlDocument::parse_v2(src).map_err(|e| {
        let d = e.diagnostics.first();
        let span = d.map_or(SourceSpan::new(0.into(), 0), |d| d.span);
        let msg = d
            .and_then(|d| d.message.clone())
            .unwrap_or_else(|| "invalid KDL".into());
        p.error(
            span,
            format!("not valid KDL: {msg}"),
            "signature files are KDL v2: strings in quotes, one node per line",
        )
    })?;
    let mut out: Vec<Signature> = Vec::new();
    for node in doc.nodes() {
        if node.name().value() != "signature" {
            return Err(p.error(
                node.name().span(),
                format!("unknown node `{}` at the top level", node.name().value()),
                "a signature file holds `signature \"name\" { ... }` nodes",
            ));
        }
        let sig = p.signature(node)?;
        if out.iter().any(|s| s.name == sig.name) {
            return Err(p.error(
                node.span(),
                format!("duplicate signature name `{}`", sig.name),
                "signature names must be unique in a file; rename one",
            ));
        }
        out.push(sig);
    }
    Ok(out)
}

struct Parser<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Parser<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, span: SourceSpan, message: String, help: &str) -> SignatureError {
        let start = span.offset().min(self.src.len());
        let len = span.len().min(self.src.len() - start);
        SignatureError {
            file: self.file.to_path_buf(),
            line: self.line(start),
            message,
            help: help.to_string(),
            src: Box::new(NamedSource::new(
                self.file.display().to_string(),
                self.src.to_string(),
            )),
            span: SourceSpan::new(start.into(), len),
        }
    }

    /// The node's string arguments (at least one), each with its span.
    fn strings(&self, node: &KdlNode, what: &str) -> Result<Vec<String>, SignatureError> {
        let mut out = Vec::new();
        for entry in node.entries() {
            if entry.name().is_some() {
                return Err(self.error(
                    entry.span(),
                    format!("`{}` takes no properties", node.name().value()),
                    &format!("write {what} as quoted arguments"),
                ));
            }
            match entry.value() {
                KdlValue::String(s) => out.push(s.clone()),
                _ => {
                    return Err(self.error(
                        entry.span(),
                        format!("`{}` expects {what} in quotes", node.name().value()),
                        &format!("write {what} as a quoted string"),
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err(self.error(
                node.span(),
                format!("`{}` needs {what}", node.name().value()),
                &format!("add {what} in quotes after `{}`", node.name().value()),
            ));
        }
        Ok(out)
    }

    fn one_string(&self, node: &KdlNode, what: &str) -> Result<String, SignatureError> {
        let mut v = self.strings(node, what)?;
        if v.len() > 1 {
            return Err(self.error(
                node.span(),
                format!("`{}` takes one argument", node.name().value()),
                "keep one quoted string",
            ));
        }
        Ok(v.remove(0))
    }

    fn regex(&self, node: &KdlNode) -> Result<Regex, SignatureError> {
        let text = self.one_string(node, "a regex")?;
        let span = node.entries().first().map_or(node.span(), |e| e.span());
        Regex::new(&text).map_err(|e| {
            self.error(
                span,
                format!("bad regex: {e}"),
                "write a Rust `regex` crate pattern (https://docs.rs/regex); a raw string \
                 #\"...\"# saves escaping backslashes",
            )
        })
    }

    fn signature(&self, node: &KdlNode) -> Result<Signature, SignatureError> {
        let name = self.one_string(node, "a name")?;
        let mut description = None;
        let mut any = Vec::new();
        let mut unless = Vec::new();
        let mut within = None;
        let mut message = None;
        let mut fixes = Vec::new();
        let mut fix_hint = None;
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            match child.name().value() {
                "description" => description = Some(self.one_string(child, "a text")?),
                "line" => any.push(self.regex(child)?),
                "unless" => unless.push(self.regex(child)?),
                "lines" => within = Some(self.lines(child)?),
                "message" => message = Some(self.one_string(child, "a message")?),
                "fixes" => fixes.extend(self.strings(child, "recipe names")?),
                "fix-hint" => fix_hint = Some(self.one_string(child, "a text")?),
                other => {
                    return Err(self.error(
                        child.name().span(),
                        format!("unknown node `{other}` inside `signature`"),
                        "a signature holds description, line, lines, unless, message, fixes and fix-hint",
                    ));
                }
            }
        }
        let Some(description) = description else {
            return Err(self.error(
                node.span(),
                format!("signature `{name}` has no `description`"),
                "add `description \"what went wrong\"`",
            ));
        };
        let pattern = match (any.is_empty(), within) {
            (false, None) => Pattern::AnyLine(any),
            (true, Some((window, lines))) => Pattern::Within { window, lines },
            (false, Some(_)) => {
                return Err(self.error(
                    node.span(),
                    format!("signature `{name}` has both `line` and `lines`"),
                    "use `line` nodes (any one matches) or one `lines N { ... }` group (all \
                     within N lines), not both; split it into two signatures",
                ));
            }
            (true, None) => {
                return Err(self.error(
                    node.span(),
                    format!("signature `{name}` has no `line` or `lines`"),
                    "add `line \"regex\"` for the log line that shows the failure",
                ));
            }
        };
        if let Some(msg) = &message {
            let groups = pattern.capture_names();
            for reference in references(msg) {
                if !groups.iter().any(|g| g == reference) {
                    let span = child_span(node, "message").unwrap_or(node.span());
                    return Err(self.error(
                        span,
                        format!("message refers to `{{{reference}}}`, which no regex captures"),
                        "name a group in a regex, e.g. (?P<job>[a-z0-9-]+), or drop the reference",
                    ));
                }
            }
        }
        Ok(Signature {
            name,
            description,
            pattern,
            unless,
            message,
            fixes,
            fix_hint,
            origin: format!(
                "{}:{}",
                self.file.display(),
                self.line(node.span().offset())
            ),
        })
    }

    fn lines(&self, node: &KdlNode) -> Result<(usize, Vec<Regex>), SignatureError> {
        let window = match node.entries() {
            [e] if e.name().is_none() => match e.value() {
                KdlValue::Integer(n) if *n >= 1 && *n <= 10_000 => *n as usize,
                _ => None.ok_or_else(|| {
                    self.error(
                        e.span(),
                        "`lines` expects a window size from 1 to 10000".into(),
                        "write `lines 20 { line \"…\"; line \"…\" }`",
                    )
                })?,
            },
            _ => {
                return Err(self.error(
                    node.span(),
                    "`lines` needs one window size".into(),
                    "write `lines 20 { line \"…\"; line \"…\" }`",
                ));
            }
        };
        let mut out = Vec::new();
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            if child.name().value() != "line" {
                return Err(self.error(
                    child.name().span(),
                    format!("unknown node `{}` inside `lines`", child.name().value()),
                    "a `lines` group holds `line \"regex\"` nodes",
                ));
            }
            out.push(self.regex(child)?);
        }
        if out.len() < 2 {
            return Err(self.error(
                node.span(),
                "`lines` needs at least two `line` regexes".into(),
                "for one regex, write `line \"…\"` directly inside `signature`",
            ));
        }
        Ok((window, out))
    }
}

fn child_span(node: &KdlNode, name: &str) -> Option<SourceSpan> {
    node.children()?
        .nodes()
        .iter()
        .find(|n| n.name().value() == name)
        .map(KdlNode::span)
}

/// The `{name}` references in a message.
pub fn references(msg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = msg;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.push(name);
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

impl Pattern {
    /// Every regex of the pattern, in order.
    pub fn regexes(&self) -> &[Regex] {
        match self {
            Pattern::AnyLine(v) => v,
            Pattern::Within { lines, .. } => lines,
        }
    }

    fn capture_names(&self) -> Vec<String> {
        self.regexes()
            .iter()
            .flat_map(|r| r.capture_names().flatten().map(str::to_string))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> SignatureError {
        parse_str(Path::new("s.kdl"), src).unwrap_err()
    }

    #[test]
    fn shipped_signatures_parse() {
        let all = builtin().unwrap();
        assert!(all.len() >= 17, "{} signatures", all.len());
    }

    #[test]
    fn unless_regexes_are_parsed_and_checked() {
        let sigs = parse_str(
            Path::new("s.kdl"),
            "signature \"x\" { description \"d\"; line \"refused\"; unless \"probe failed\"; }",
        )
        .unwrap();
        assert_eq!(sigs[0].unless.len(), 1);
        let e = err("signature \"x\" {\n description \"d\"\n line \"a\"\n unless \"(\"\n}");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("bad regex"), "{}", e.message);
    }

    #[test]
    fn a_bad_regex_is_an_error_at_its_line_with_the_regex_error() {
        let e = err("signature \"x\" {\n  description \"d\"\n  line \"job (unclosed\"\n}\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("bad regex"), "{}", e.message);
        assert!(e.message.contains("unclosed group"), "{}", e.message);
    }

    #[test]
    fn a_message_may_only_name_captured_groups() {
        let e = err(
            "signature \"x\" {\n description \"d\"\n line \"job (?P<job>\\\\w+)\"\n message \"{jobb}\"\n}",
        );
        assert!(e.message.contains("{jobb}"), "{}", e.message);
        assert_eq!(e.line, 4);
    }

    #[test]
    fn line_and_lines_are_exclusive_and_one_is_required() {
        assert!(
            err("signature \"x\" { description \"d\"; }")
                .message
                .contains("no `line`")
        );
        let e = err(
            "signature \"x\" { description \"d\"; line \"a\"; lines 3 { line \"b\"; line \"c\"; }; }",
        );
        assert!(e.message.contains("both"), "{}", e.message);
        let e = err("signature \"x\" { description \"d\"; lines 3 { line \"b\"; }; }");
        assert!(e.message.contains("at least two"), "{}", e.message);
    }

    #[test]
    fn unknown_nodes_are_named() {
        let e = err("signature \"x\" {\n description \"d\"\n line \"a\"\n fix \"y\"\n}");
        assert!(e.message.contains("`fix`"), "{}", e.message);
        assert_eq!(e.line, 4);
    }

    #[test]
    fn a_repository_signature_replaces_a_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(REPO_DIR)).unwrap();
        std::fs::write(
            dir.path().join(REPO_DIR).join("mine.kdl"),
            "signature \"job-backoff-exceeded\" { description \"ours\"; line \"X\"; fixes \"migration-job\"; }\nsignature \"new-one\" { description \"n\"; line \"Y\"; }",
        )
        .unwrap();
        let all = load(dir.path()).unwrap();
        let ours: Vec<_> = all
            .iter()
            .filter(|s| s.name == "job-backoff-exceeded")
            .collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].description, "ours");
        assert!(all.iter().any(|s| s.name == "new-one"));
    }
}
