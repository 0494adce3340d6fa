//! KDL v2 recipe files → typed [`Recipe`]s, with miette diagnostics that point at the
//! offending node or entry (file, line, column, a label and a help line).
//!
//! Every problem in a file is collected, not just the first: a [`RecipeError`] carries one
//! [`RecipeDiagnostic`] per problem.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};
use serde_json::{Number, Value};

use super::model::{
    Cond, FileRule, FlagEdit, Match, NewValue, Origin, Placement, Recipe, RecipeSet, Rule,
    StepAnchor, StepSelector, TextEdit, TextRule, When,
};
use crate::path::PathExpr;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Loads recipes from files and directories (a directory contributes its `*.kdl` files,
/// sorted by name, recursively).
///
/// All problems in all files are reported together. Recipe names must be unique across
/// every file loaded. A file reached twice (e.g. a directory and a file inside it) is read
/// once.
pub fn load(paths: &[PathBuf]) -> Result<RecipeSet, RecipeError> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut diags);
    }

    // The same file reached twice would otherwise clash with itself.
    let mut read_once = HashSet::new();
    files.retain(|f| read_once.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));

    let mut seen = Seen::new();
    let mut recipes = Vec::new();
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
        let (parsed, file_diags) = parse_file(Arc::new(file), &src, &mut seen);
        recipes.extend(parsed);
        diags.extend(file_diags);
    }

    if diags.is_empty() {
        Ok(RecipeSet { recipes })
    } else {
        Err(RecipeError::new(diags))
    }
}

/// Parses one recipe file's text; `file` is used for diagnostics and `Origin`s.
pub fn parse_str(file: &Path, src: &str) -> Result<Vec<Recipe>, RecipeError> {
    let (recipes, diags) = parse_file(Arc::new(file.to_path_buf()), src, &mut Seen::new());
    if diags.is_empty() {
        Ok(recipes)
    } else {
        Err(RecipeError::new(diags))
    }
}

/// One or more problems in recipe files. The first problem is the error itself; the rest
/// are its [`Diagnostic::related`] diagnostics, so a miette report shows them all.
#[derive(Debug, Clone)]
pub struct RecipeError {
    /// Never empty.
    diagnostics: Vec<RecipeDiagnostic>,
}

impl RecipeError {
    fn new(diagnostics: Vec<RecipeDiagnostic>) -> Self {
        debug_assert!(!diagnostics.is_empty());
        RecipeError { diagnostics }
    }

    /// Every problem found, in file order.
    pub fn diagnostics(&self) -> &[RecipeDiagnostic] {
        &self.diagnostics
    }

    fn first(&self) -> Option<&RecipeDiagnostic> {
        self.diagnostics.first()
    }

    /// The miette graphical report without colours (unicode box drawing), for tests,
    /// snapshots and logs.
    pub fn render_plain(&self) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, self).is_err() {
            out = self.diagnostics.iter().map(|d| format!("{d}\n")).collect();
        }
        out
    }
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.first() {
            Some(first) => fmt::Display::fmt(first, f)?,
            None => f.write_str("invalid recipes")?,
        }
        match self.diagnostics.len() {
            0 | 1 => Ok(()),
            2 => f.write_str(" (and 1 more problem)"),
            n => write!(f, " (and {} more problems)", n - 1),
        }
    }
}

impl std::error::Error for RecipeError {}

impl Diagnostic for RecipeError {
    fn severity(&self) -> Option<Severity> {
        self.first().and_then(|d| d.severity())
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.first().and_then(|d| d.help())
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.first().and_then(|d| d.source_code())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.first().and_then(|d| d.labels())
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.diagnostics.len() < 2 {
            return None;
        }
        Some(Box::new(
            self.diagnostics[1..].iter().map(|d| d as &dyn Diagnostic),
        ))
    }
}

/// One problem in a recipe file (or with loading one).
#[derive(Debug, Clone)]
pub struct RecipeDiagnostic {
    file: Arc<PathBuf>,
    /// 1-based line and column of the primary label; `None` for load errors.
    position: Option<(usize, usize)>,
    message: String,
    help: Option<String>,
    severity: Severity,
    /// The primary label first.
    labels: Vec<LabeledSpan>,
    source: Option<NamedSource<Arc<str>>>,
}

impl RecipeDiagnostic {
    fn load(file: &Path, message: String, help: &str) -> Self {
        RecipeDiagnostic {
            file: Arc::new(file.to_path_buf()),
            position: None,
            message,
            help: Some(help.to_string()),
            severity: Severity::Error,
            labels: Vec::new(),
            source: None,
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// 1-based line of the problem (`None` when the file could not be read at all).
    pub fn line(&self) -> Option<usize> {
        self.position.map(|(line, _)| line)
    }

    /// 1-based column (in characters) of the problem.
    pub fn col(&self) -> Option<usize> {
        self.position.map(|(_, col)| col)
    }

    /// The message without the `file:line:col: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

impl fmt::Display for RecipeDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.file.display(), self.message)
            }
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for RecipeDiagnostic {}

impl Diagnostic for RecipeDiagnostic {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

fn collect_files(path: &Path, out: &mut Vec<PathBuf>, diags: &mut Vec<RecipeDiagnostic>) {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut found = Vec::new();
            let mut visited = HashSet::new();
            walk_dir(path, &mut found, &mut visited, diags);
            found.sort();
            out.extend(found);
        }
        Ok(_) => out.push(path.to_path_buf()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            diags.push(RecipeDiagnostic::load(
                path,
                "recipe path does not exist".to_string(),
                "pass recipe files (`*.kdl`) or directories that contain them",
            ));
        }
        Err(err) => diags.push(RecipeDiagnostic::load(
            path,
            format!("cannot read recipe path: {err}"),
            "check that the path exists and is readable",
        )),
    }
}

fn walk_dir(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diags: &mut Vec<RecipeDiagnostic>,
) {
    // Symlinked directories may form loops; visit each real directory once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diags.push(RecipeDiagnostic::load(
                dir,
                format!("cannot read recipe directory: {err}"),
                "check that the directory is readable",
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                diags.push(RecipeDiagnostic::load(
                    dir,
                    format!("cannot read recipe directory: {err}"),
                    "check that the directory is readable",
                ));
                continue;
            }
        };
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_dir(&path, out, visited, diags),
            Ok(_) if path.extension().is_some_and(|e| e == "kdl") => out.push(path),
            Ok(_) => {}
            // A dangling symlink to a `.kdl` file is worth reporting; anything else is not
            // a recipe.
            Err(err) if path.extension().is_some_and(|e| e == "kdl") => {
                diags.push(RecipeDiagnostic::load(
                    &path,
                    format!("cannot read recipe file: {err}"),
                    "check that the file exists and is readable",
                ));
            }
            Err(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// Recipe names seen so far (across files in [`load`]): where each was defined.
type Seen = HashMap<String, (Origin, SourceSpan)>;

fn parse_file(
    file: Arc<PathBuf>,
    src: &str,
    seen: &mut Seen,
) -> (Vec<Recipe>, Vec<RecipeDiagnostic>) {
    let mut p = Parser::new(file, src);
    let recipes = match KdlDocument::parse_v2(src) {
        Ok(doc) => p.document(&doc, seen),
        Err(err) => {
            p.kdl_error(err);
            Vec::new()
        }
    };
    (recipes, p.diags)
}

/// Byte offsets of line starts, for 1-based line/column lookups.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        let mut starts = vec![0];
        let bytes = src.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let is_break = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if is_break {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, src: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line.saturating_sub(1)];
        let col = src.get(start..offset).map_or(0, |s| s.chars().count());
        (line.max(1), col + 1)
    }
}

/// What a node may have: positional arguments, properties and a `{ ... }` block.
struct Spec {
    name: &'static str,
    /// How to write the node, for help lines.
    usage: &'static str,
    /// What each required positional argument is, in order.
    args: &'static [&'static str],
    /// Most positional arguments allowed (`None`: any number).
    max: Option<usize>,
    props: &'static [&'static str],
    block: Block,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Forbidden,
    Optional,
    Required,
}

const RECIPE: Spec = Spec {
    name: "recipe",
    usage: "recipe \"name\" { file \"glob\" { ... } }",
    args: &["a name"],
    max: Some(1),
    props: &[],
    block: Block::Optional,
};
const DESCRIPTION: Spec = Spec {
    name: "description",
    usage: "description \"what the recipe makes true\"",
    args: &["a text"],
    max: Some(1),
    props: &[],
    block: Block::Forbidden,
};
const IMPLEMENTS: Spec = Spec {
    name: "implements",
    usage: "implements \"job-retries\" \"wait-for-service\"",
    args: &["a catalogue recipe name"],
    max: None,
    props: &[],
    block: Block::Forbidden,
};
const FILE: Spec = Spec {
    name: "file",
    usage: "file \"glob\" \"another/glob\" create=#false optional=#false values=\"chart/values-ci.yaml\" { ... }",
    args: &["a glob"],
    max: None,
    props: &["create", "optional", "values"],
    block: Block::Optional,
};
const MATCH: Spec = Spec {
    name: "match",
    usage: "match \"/kind\" \"Deployment\"",
    args: &["a path", "a value"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
const WHEN: Spec = Spec {
    name: "when",
    usage: "when \"path\" exists` or `when \"path\" missing` or `when \"path\" equals VALUE",
    args: &[
        "a path",
        "a condition (`exists`, `missing` or `equals VALUE`)",
    ],
    max: Some(3),
    props: &[],
    block: Block::Forbidden,
};
const EACH: Spec = Spec {
    name: "each",
    usage: "each \"/spec/template/spec/containers/*\" { ... }",
    args: &["a path"],
    max: Some(1),
    props: &[],
    block: Block::Required,
};
const SET: Spec = Spec {
    name: "set",
    usage: "set \"/path\" VALUE",
    args: &["a path", "a value"],
    max: Some(2),
    props: &["after", "before"],
    block: Block::Forbidden,
};
const REMOVE: Spec = Spec {
    name: "remove",
    usage: "remove \"/path\"",
    args: &["a path"],
    max: Some(1),
    props: &[],
    block: Block::Forbidden,
};
const ENSURE: Spec = Spec {
    name: "ensure",
    usage: "ensure \"/path/to/list\" key=\"name\" merge=#false (yaml)\"...\"",
    args: &["a path", "the item to ensure"],
    max: Some(2),
    props: &["key", "merge", "after", "before"],
    block: Block::Forbidden,
};
const AT_LEAST: Spec = Spec {
    name: "at-least",
    usage: "at-least \"path\" NUMBER",
    args: &["a path", "a number"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
const AT_MOST: Spec = Spec {
    name: "at-most",
    usage: "at-most \"path\" NUMBER",
    args: &["a path", "a number"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};

const STEP: Spec = Spec {
    name: "step",
    usage: "step \"Step name*\" job=\"deploy\" id=\"helm\" uses=\"owner/action@*\" { ... }",
    args: &[],
    max: Some(1),
    props: &["job", "id", "uses"],
    block: Block::Required,
};
const COMMAND: Spec = Spec {
    name: "command",
    usage: "command \"helm upgrade\" path=\"run\" { flag \"--wait\" }",
    args: &[],
    max: Some(1),
    props: &["path"],
    block: Block::Required,
};
const FLAG: Spec = Spec {
    name: "flag",
    usage: "flag \"--timeout\" \"600s\"` or `flag \"--wait\"",
    args: &["a flag"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
const REMOVE_FLAG: Spec = Spec {
    name: "remove-flag",
    usage: "remove-flag \"--atomic\" takes-value=#false",
    args: &["a flag"],
    max: Some(1),
    props: &["takes-value"],
    block: Block::Forbidden,
};
const REPLACE_FLAG: Spec = Spec {
    name: "replace-flag",
    usage: "replace-flag \"--old\" \"--new\"",
    args: &["the old flag", "the new flag"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
const RETRY: Spec = Spec {
    name: "retry",
    usage: "retry attempts=3 delay=30",
    args: &[],
    max: Some(0),
    props: &["attempts", "delay"],
    block: Block::Forbidden,
};
const INSERT_STEP: Spec = Spec {
    name: "insert-step",
    usage: "insert-step after=\"Step name\" job=\"deploy\" (yaml)\"\"\"...\"\"\"",
    args: &["the step, as a (yaml) snippet"],
    max: Some(1),
    props: &["before", "after", "job"],
    block: Block::Forbidden,
};
const TEXT: Spec = Spec {
    name: "text",
    usage: "text \"path/to/file.py\" optional=#false { replace \"old\" \"new\" }",
    args: &["a file path"],
    max: Some(1),
    props: &["optional"],
    block: Block::Required,
};
const REPLACE: Spec = Spec {
    name: "replace",
    usage: "replace \"exact old text\" \"new text\"",
    args: &["the old text", "the new text"],
    max: Some(2),
    props: &[],
    block: Block::Forbidden,
};
const ENSURE_LINE: Spec = Spec {
    name: "ensure-line",
    usage: "ensure-line \"the line\" after=\"text of the line before it\"",
    args: &["the line"],
    max: Some(1),
    props: &["after"],
    block: Block::Forbidden,
};

/// Every node name the language knows, wherever it is allowed.
const ALL_NODES: &[&str] = &[
    "step",
    "command",
    "flag",
    "remove-flag",
    "replace-flag",
    "retry",
    "insert-step",
    "text",
    "replace",
    "ensure-line",
    "recipe",
    "description",
    "implements",
    "file",
    "match",
    "when",
    "each",
    "set",
    "remove",
    "ensure",
    "at-least",
    "at-most",
];

/// Where a node appears, for "not allowed here" / "did you mean" messages.
#[derive(Clone, Copy)]
struct Place {
    /// "at the top level", "inside `file`", ...
    name: &'static str,
    allowed: &'static [&'static str],
}

const TOP: Place = Place {
    name: "at the top level",
    allowed: &["recipe"],
};
const IN_RECIPE: Place = Place {
    name: "inside `recipe`",
    allowed: &["description", "implements", "file", "text"],
};
const IN_FILE: Place = Place {
    name: "inside `file`",
    allowed: &[
        "match",
        "when",
        "each",
        "set",
        "remove",
        "ensure",
        "at-least",
        "at-most",
        "step",
        "insert-step",
        "command",
    ],
};
const IN_EACH: Place = Place {
    name: "inside `each`",
    allowed: &[
        "when", "each", "set", "remove", "ensure", "at-least", "at-most", "command",
    ],
};
const IN_STEP: Place = Place {
    name: "inside `step`",
    allowed: &[
        "each", "set", "remove", "ensure", "at-least", "at-most", "command", "retry",
    ],
};
const IN_COMMAND: Place = Place {
    name: "inside `command`",
    allowed: &["flag", "remove-flag", "replace-flag"],
};
const IN_TEXT: Place = Place {
    name: "inside `text`",
    allowed: &["replace", "ensure-line"],
};

const PATH_HELP: &str =
    "write the path as a string, e.g. \"/spec/replicas\" or \"livenessProbe/initialDelaySeconds\"";
const VALUE_HELP: &str = "a VALUE is a string, an integer, a float, #true/#false, #null, \
                          or a YAML snippet (yaml)\"...\"";

/// A node's positional arguments and properties, after the checks every node gets.
struct Head<'n> {
    args: Vec<&'n KdlEntry>,
    props: HashMap<&'n str, &'n KdlEntry>,
    /// The argument count was right.
    ok: bool,
}

/// What a `file` or `each` block holds.
#[derive(Default)]
struct Body {
    matches: Vec<Match>,
    whens: Vec<When>,
    rules: Vec<Rule>,
}

struct Parser<'a> {
    file: Arc<PathBuf>,
    src: &'a str,
    source: NamedSource<Arc<str>>,
    lines: LineIndex,
    diags: Vec<RecipeDiagnostic>,
}

impl<'a> Parser<'a> {
    fn new(file: Arc<PathBuf>, src: &'a str) -> Self {
        let source = NamedSource::new(file.display().to_string(), Arc::<str>::from(src))
            .with_language("kdl");
        Parser {
            file,
            src,
            source,
            lines: LineIndex::new(src),
            diags: Vec::new(),
        }
    }

    // --- diagnostics ---------------------------------------------------------------

    fn origin(&self, offset: usize) -> Origin {
        let (line, col) = self.lines.line_col(self.src, offset);
        Origin {
            file: self.file.clone(),
            line,
            col,
        }
    }

    /// Records a problem with one labelled span; returns it so secondary labels can be added.
    fn error(
        &mut self,
        span: SourceSpan,
        label: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut RecipeDiagnostic {
        let span = self.clamp(span);
        let position = self.lines.line_col(self.src, span.offset());
        self.diags.push(RecipeDiagnostic {
            file: self.file.clone(),
            position: Some(position),
            message: message.into(),
            help: Some(help.into()),
            severity: Severity::Error,
            labels: vec![LabeledSpan::new_primary_with_span(Some(label.into()), span)],
            source: Some(self.source.clone()),
        });
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Keeps a span inside the source so rendering never fails.
    fn clamp(&self, span: SourceSpan) -> SourceSpan {
        let start = span.offset().min(self.src.len());
        let len = span.len().min(self.src.len() - start);
        SourceSpan::new(start.into(), len)
    }

    fn kdl_error(&mut self, err: kdl::KdlError) {
        const HELP: &str = "recipe files are KDL v2 (https://kdl.dev): strings in quotes, \
                            #true/#false/#null, one node per line or separated by `;`";
        if err.diagnostics.is_empty() {
            self.error(
                SourceSpan::new(0.into(), 0),
                "here",
                "this is not a valid KDL document",
                HELP,
            );
        }
        for d in err.diagnostics {
            let message = d.message.unwrap_or_else(|| "invalid KDL".to_string());
            let label = d.label.unwrap_or_else(|| "here".to_string());
            let word = self
                .src
                .get(d.span.offset()..Self::end(d.span))
                .unwrap_or("");
            let help = match word.trim() {
                w @ ("true" | "false" | "null" | "inf" | "-inf" | "nan") => {
                    format!("KDL v2 writes this keyword with a `#`: `#{w}`")
                }
                _ => d.help.unwrap_or_else(|| HELP.to_string()),
            };
            let diag = self.error(d.span, label, message, help);
            diag.severity = d.severity;
        }
    }

    // --- spans -----------------------------------------------------------------------

    fn end(span: SourceSpan) -> usize {
        span.offset() + span.len()
    }

    fn between(start: usize, end: usize) -> SourceSpan {
        SourceSpan::new(start.into(), end.saturating_sub(start))
    }

    /// The node's name and entries, without its `{ ... }` block.
    fn head_span(node: &KdlNode) -> SourceSpan {
        let start = node.span().offset();
        let end = node
            .entries()
            .iter()
            .map(|e| Self::end(e.span()))
            .chain(std::iter::once(Self::end(node.name().span())))
            .max()
            .unwrap_or(start);
        Self::between(start, end)
    }

    /// The head, cut at its first line break (a multi-line string would make a tall label).
    fn head_line_span(&self, node: &KdlNode) -> SourceSpan {
        let span = Self::head_span(node);
        match self
            .src
            .get(span.offset()..Self::end(span))
            .and_then(|t| t.find(['\n', '\r']))
        {
            Some(cut) => Self::between(span.offset(), span.offset() + cut),
            None => span,
        }
    }

    /// The node's `{ ... }` block (everything after its last entry).
    fn block_span(&self, node: &KdlNode) -> SourceSpan {
        let start = Self::end(Self::head_span(node));
        let end = Self::end(node.span());
        match self.src.get(start..end) {
            Some(text) => {
                let trimmed = text.trim_start();
                Self::between(start + (text.len() - trimmed.len()), end)
            }
            None => node.span(),
        }
    }

    /// The span of `offset` (a byte offset inside the string value `value` of the
    /// positional `entry`) in the source, `len` bytes long; the whole entry when the
    /// literal has escapes or spans lines.
    fn inner_span(&self, entry: &KdlEntry, value: &str, offset: usize, len: usize) -> SourceSpan {
        let span = entry.span();
        let Some(raw) = self.src.get(span.offset()..Self::end(span)) else {
            return span;
        };
        let base = if raw == value {
            0 // a bare identifier
        } else {
            // `"value"`, or a raw string `#"value"#`
            let hashes = raw.len() - raw.trim_start_matches('#').len();
            let verbatim = raw.len() == value.len() + 2 + 2 * hashes
                && raw[hashes..].starts_with('"')
                && raw.get(hashes + 1..hashes + 1 + value.len()) == Some(value);
            if !verbatim {
                return span;
            }
            hashes + 1
        };
        let offset = offset.min(value.len());
        let len = len.min(value.len() - offset);
        SourceSpan::new((span.offset() + base + offset).into(), len)
    }

    // --- document --------------------------------------------------------------------

    fn document(&mut self, doc: &KdlDocument, seen: &mut Seen) -> Vec<Recipe> {
        let mut recipes = Vec::new();
        for node in doc.nodes() {
            if node.name().value() != "recipe" {
                self.unknown_node(node, TOP);
                continue;
            }
            if let Some(recipe) = self.recipe(node, seen) {
                recipes.push(recipe);
            }
        }
        recipes
    }

    fn unknown_node(&mut self, node: &KdlNode, place: Place) {
        let name = node.name().value();
        let span = node.name().span();
        let allowed = list(place.allowed);
        if ALL_NODES.contains(&name) {
            let help = if name == "match" && place.allowed.contains(&"when") {
                "`match` picks documents, so it goes directly inside `file`; \
                 to pick items inside `each`, use `when`"
                    .to_string()
            } else {
                format!("allowed {}: {allowed}", place.name)
            };
            self.error(
                span,
                "not allowed here",
                format!("`{name}` is not allowed {}", place.name),
                help,
            );
            return;
        }
        let help = match suggest(name, place.allowed) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid nodes {}: {allowed}", place.name),
        };
        self.error(
            span,
            "unknown node",
            format!("unknown node `{name}` {}", place.name),
            help,
        );
    }

    /// Checks a node's type annotation, properties, argument count and block.
    fn head<'n>(&mut self, node: &'n KdlNode, spec: &Spec) -> Head<'n> {
        let usage = format!("write it as `{}`", spec.usage);
        if let Some(ty) = node.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("`{}` does not take a type annotation", spec.name),
                format!("remove `({})`", ty.value()),
            );
        }

        let mut args = Vec::new();
        let mut props: HashMap<&'n str, &'n KdlEntry> = HashMap::new();
        for entry in node.entries() {
            let Some(key) = entry.name() else {
                args.push(entry);
                continue;
            };
            let key_span = if key.span().is_empty() {
                entry.span()
            } else {
                key.span()
            };
            let name = key.value();
            if !spec.props.contains(&name) {
                let help = match (suggest(name, spec.props), spec.props.is_empty()) {
                    (Some(s), _) => format!("did you mean `{s}`?"),
                    (None, true) => format!("`{}` takes no properties; {usage}", spec.name),
                    (None, false) => {
                        format!("`{}` takes the properties {}", spec.name, list(spec.props))
                    }
                };
                self.error(
                    key_span,
                    "unknown property",
                    format!("unknown property `{name}` on `{}`", spec.name),
                    help,
                );
                continue;
            }
            if let Some(first) = props.get(name) {
                let first_span = first.span();
                self.error(
                    entry.span(),
                    "given again here",
                    format!("property `{name}` is given twice"),
                    format!("keep one `{name}=`"),
                )
                .labels
                .push(LabeledSpan::new_with_span(
                    Some("first given here".into()),
                    first_span,
                ));
                continue;
            }
            props.insert(name, entry);
        }

        let mut ok = true;
        if let Some(missing) = spec.args.get(args.len()) {
            ok = false;
            self.error(
                self.head_line_span(node),
                format!("missing {missing}"),
                format!("`{}` is missing {missing}", spec.name),
                usage.clone(),
            );
        } else if let Some(max) = spec.max.filter(|&max| args.len() > max) {
            ok = false;
            let extra = &args[max..];
            let span = Self::between(
                extra[0].span().offset(),
                extra.iter().map(|e| Self::end(e.span())).max().unwrap_or(0),
            );
            let expected = if spec.args.len() == max {
                format!("{max}")
            } else {
                format!("at most {max}")
            };
            self.error(
                span,
                if extra.len() == 1 {
                    "unexpected argument"
                } else {
                    "unexpected arguments"
                },
                format!(
                    "too many arguments to `{}`: expected {expected}, found {}",
                    spec.name,
                    args.len()
                ),
                usage.clone(),
            );
        }

        match (spec.block, node.children()) {
            (Block::Forbidden, Some(_)) => {
                let span = self.block_span(node);
                self.error(
                    span,
                    "unexpected block",
                    format!("`{}` does not take a `{{ ... }}` block", spec.name),
                    format!("remove the block; {usage}"),
                );
            }
            (Block::Required, None) => {
                self.error(
                    self.head_line_span(node),
                    "no block",
                    format!("`{}` needs a `{{ ... }}` block", spec.name),
                    format!("{usage}, with the rules inside the block"),
                );
            }
            _ => {}
        }
        Head { args, props, ok }
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
            instance_of: None,
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

    // --- file ------------------------------------------------------------------------

    fn file_rule(&mut self, node: &KdlNode) -> Option<FileRule> {
        let head = self.head(node, &FILE);
        let origin = self.origin(node.span().offset());
        let mut ok = head.ok;

        let mut globs = Vec::new();
        for entry in &head.args {
            match self.glob(entry) {
                Some(glob) => globs.push(glob),
                None => ok = false,
            }
        }
        let create = self.bool_prop(&head, "create");
        let optional = self.bool_prop(&head, "optional");
        let values = self.opt_string_prop(
            &head,
            "values",
            "write the values file the chart's values edits go to, relative to the root, e.g. values=\"chart/values-ci.yaml\"",
        );
        if let (Ok(true), Some(entry)) = (create, head.props.get("create"))
            && let Some(glob) = globs.iter().find(|g| is_glob(g))
        {
            self.error(
                entry.span(),
                "needs a literal path",
                format!("`create=#true` needs literal file paths, but `{glob}` is a glob"),
                "name the file to create exactly (no `*`, `?`, `[...]` or `{...}`), \
                 or drop `create=#true`",
            );
            ok = false;
        }

        let body = self.body(node.children(), IN_FILE);
        let (Ok(create), Ok(optional), Ok(values), true) = (create, optional, values, ok) else {
            return None;
        };
        Some(FileRule {
            globs,
            create,
            optional,
            values,
            matches: body.matches,
            whens: body.whens,
            rules: body.rules,
            origin,
        })
    }

    fn glob(&mut self, entry: &KdlEntry) -> Option<String> {
        let glob = self.string_arg(
            entry,
            "a glob",
            "write the glob in quotes, relative to the repository root, e.g. \"chart/templates/*.yaml\"",
        )?;
        const INSIDE: &str = "write the glob relative to the repository root, \
                              e.g. \"chart/templates/*.yaml\"";
        if glob.is_empty() {
            self.error(entry.span(), "empty glob", "the glob is empty", INSIDE);
            return None;
        }
        let bytes = glob.as_bytes();
        let absolute = glob.starts_with(['/', '\\'])
            || Path::new(&glob).is_absolute()
            || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
        if absolute {
            self.error(
                entry.span(),
                "absolute path",
                format!("`{glob}` is absolute: paths must stay inside the repository root"),
                INSIDE,
            );
            return None;
        }
        let mut offset = 0;
        for segment in glob.split(['/', '\\']) {
            if segment == ".." {
                let span = self.inner_span(entry, &glob, offset, 2);
                self.error(
                    span,
                    "leaves the repository",
                    format!(
                        "`{glob}` has a `..` segment: paths must stay inside the repository root"
                    ),
                    INSIDE,
                );
                return None;
            }
            offset += segment.len() + 1;
        }
        if let Err(err) = globset::Glob::new(&glob) {
            self.error(
                entry.span(),
                "invalid glob",
                format!("invalid glob `{glob}`: {}", err.kind()),
                "globs use `*`, `**`, `?`, `[abc]` and `{a,b}`; quote literal `[` as `[[]`",
            );
            return None;
        }
        Some(glob)
    }

    /// A boolean property, `false` when absent; `Err` when invalid (already reported).
    fn bool_prop(&mut self, head: &Head<'_>, name: &str) -> Result<bool, ()> {
        let Some(entry) = head.props.get(name) else {
            return Ok(false);
        };
        let help =
            format!("write `{name}=#true` or `{name}=#false` (KDL v2 booleans start with `#`)");
        if let Some(ty) = entry.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("`{name}` takes no type annotation"),
                help,
            );
            return Err(());
        }
        match entry.value() {
            KdlValue::Bool(b) => Ok(*b),
            other => {
                self.error(
                    entry.span(),
                    "not a boolean",
                    format!(
                        "`{name}` must be #true or #false, found {}",
                        kdl_kind(other)
                    ),
                    help,
                );
                Err(())
            }
        }
    }

    // --- blocks and rules --------------------------------------------------------------

    fn body(&mut self, doc: Option<&KdlDocument>, place: Place) -> Body {
        let mut body = Body::default();
        for node in doc.map(KdlDocument::nodes).unwrap_or_default() {
            let name = node.name().value();
            if !place.allowed.contains(&name) {
                self.unknown_node(node, place);
                continue;
            }
            match name {
                "match" => body.matches.extend(self.match_(node)),
                "when" => body.whens.extend(self.when(node)),
                // Directly inside `file`, a `command` without `path=` edits every step's
                // `run:` script: the same rule as `step { command ... }`.
                "command" if place.name == IN_FILE.name && !has_prop(node, "path") => {
                    body.rules.extend(self.rule(node).map(|rule| Rule::Step {
                        selector: StepSelector::default(),
                        origin: rule.origin().clone(),
                        rules: vec![rule],
                    }))
                }
                _ => body.rules.extend(self.rule(node)),
            }
        }
        body
    }

    fn match_(&mut self, node: &KdlNode) -> Option<Match> {
        let head = self.head(node, &MATCH);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let value = self.value(head.args[1]);
        Some(Match {
            path: path?,
            value: value?.value,
            origin: self.origin(node.span().offset()),
        })
    }

    fn when(&mut self, node: &KdlNode) -> Option<When> {
        let head = self.head(node, &WHEN);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let cond = self.cond(head.args[1], head.args.get(2).copied());
        Some(When {
            path: path?,
            cond: cond?,
            origin: self.origin(node.span().offset()),
        })
    }

    fn cond(&mut self, entry: &KdlEntry, value: Option<&KdlEntry>) -> Option<Cond> {
        const CONDS: &[&str] = &["exists", "missing", "equals"];
        const HELP: &str = "write `when \"path\" exists`, `when \"path\" missing` \
                            or `when \"path\" equals VALUE`";
        let word = self.string_arg(entry, "the condition", HELP)?;
        match (word.as_str(), value) {
            ("exists", None) => Some(Cond::Exists),
            ("missing", None) => Some(Cond::Missing),
            ("exists" | "missing", Some(extra)) => {
                self.error(
                    extra.span(),
                    "unexpected value",
                    format!("`{word}` takes no value"),
                    format!("remove the value, or compare with `equals VALUE` instead of `{word}`"),
                );
                None
            }
            ("equals", Some(value)) => Some(Cond::Equals(self.value(value)?.value)),
            ("equals", None) => {
                self.error(
                    entry.span(),
                    "needs a value",
                    "`equals` needs a value after it",
                    format!("write `when \"path\" equals VALUE`; {VALUE_HELP}"),
                );
                None
            }
            (other, _) => {
                let help = match suggest(other, CONDS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("valid conditions: {}; {HELP}", list(CONDS)),
                };
                self.error(
                    entry.span(),
                    "unknown condition",
                    format!("unknown condition `{other}`"),
                    help,
                );
                None
            }
        }
    }

    fn rule(&mut self, node: &KdlNode) -> Option<Rule> {
        let origin = self.origin(node.span().offset());
        match node.name().value() {
            "each" => {
                let head = self.head(node, &EACH);
                let path = if head.ok {
                    self.path_arg(head.args[0])
                } else {
                    None
                };
                let body = self.body(node.children(), IN_EACH);
                Some(Rule::Each {
                    path: path?,
                    whens: body.whens,
                    rules: body.rules,
                    origin,
                })
            }
            "set" => {
                let head = self.head(node, &SET);
                let placement = self.placement(node, &head);
                if !head.ok {
                    return None;
                }
                let path = self.path_arg(head.args[0]);
                let value = self.value(head.args[1]);
                Some(Rule::Set {
                    path: path?,
                    value: value?,
                    placement: placement.ok()?,
                    origin,
                })
            }
            "remove" => {
                let head = self.head(node, &REMOVE);
                if !head.ok {
                    return None;
                }
                Some(Rule::Remove {
                    path: self.path_arg(head.args[0])?,
                    origin,
                })
            }
            "ensure" => self.ensure(node, origin),
            "step" => self.step(node, origin),
            "command" => self.command(node, origin),
            "retry" => self.retry(node, origin),
            "insert-step" => self.insert_step(node, origin),
            "at-least" | "at-most" => {
                let at_least = node.name().value() == "at-least";
                let spec = if at_least { &AT_LEAST } else { &AT_MOST };
                let head = self.head(node, spec);
                if !head.ok {
                    return None;
                }
                let path = self.path_arg(head.args[0]);
                let value = self.number(head.args[1], spec);
                let (path, value) = (path?, value?);
                Some(if at_least {
                    Rule::AtLeast {
                        path,
                        value,
                        origin,
                    }
                } else {
                    Rule::AtMost {
                        path,
                        value,
                        origin,
                    }
                })
            }
            // `body` only passes names from the place's allowed list.
            other => {
                self.error(
                    node.name().span(),
                    "unknown node",
                    format!("unknown node `{other}`"),
                    format!("valid nodes: {}", list(ALL_NODES)),
                );
                None
            }
        }
    }

    // --- workflows and text files ------------------------------------------------------

    fn opt_string_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
    ) -> Result<Option<String>, ()> {
        self.prop_with(head, name, help, Self::string_arg)
    }

    /// A step selector glob (`*`, `?`): a non-empty string.
    fn pattern(&mut self, entry: &KdlEntry, what: &str, help: &str) -> Option<String> {
        let text = self.string_arg(entry, what, help)?;
        if text.is_empty() {
            self.error(
                entry.span(),
                "empty selector",
                format!("{what} is empty: it would match nothing"),
                help,
            );
            return None;
        }
        Some(text)
    }

    fn pattern_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
    ) -> Result<Option<String>, ()> {
        self.prop_with(head, name, help, Self::pattern)
    }

    /// An optional property read by `read` (`Err`: present but invalid, already reported).
    fn prop_with(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
        read: fn(&mut Self, &KdlEntry, &str, &str) -> Option<String>,
    ) -> Result<Option<String>, ()> {
        match head.props.get(name) {
            None => Ok(None),
            Some(entry) => read(self, entry, &format!("`{name}`"), help)
                .map(Some)
                .ok_or(()),
        }
    }

    fn step(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &STEP);
        const HELP: &str = "select steps by name, `job=`, `id=` or `uses=` (globs: `*` any \
                            characters, `?` one), e.g. step \"Helm upgrade*\" job=\"deploy\" \
                            { ... }; `step { ... }` with no selector is every step";
        let name = match head.args.first() {
            Some(entry) => Some(self.pattern(entry, "the step name", HELP)?),
            None => None,
        };
        let job = self.pattern_prop(&head, "job", HELP);
        let id = self.pattern_prop(&head, "id", HELP);
        let uses = self.pattern_prop(&head, "uses", HELP);
        let body = self.body(node.children(), IN_STEP);
        let (Ok(job), Ok(id), Ok(uses)) = (job, id, uses) else {
            return None;
        };
        if !head.ok {
            return None;
        }
        // `retry` re-runs a whole script: wrapping every script of a job (or a workflow) is
        // never what a recipe that does not know the workflow means, so it needs a selection.
        if name.is_none() && id.is_none() && uses.is_none() {
            let retries = node.children().map(KdlDocument::nodes).unwrap_or_default();
            if let Some(retry) = retries.iter().find(|n| n.name().value() == "retry") {
                let every = match &job {
                    Some(j) => format!("every step of job `{j}`"),
                    None => "every step".to_string(),
                };
                self.error(
                    retry.name().span(),
                    "needs selected steps",
                    format!("`retry` is not allowed in a `step` without a name, `id=` or `uses=`: it would retry {every}"),
                    "name the steps to retry, e.g. step \"Deploy*\" { retry attempts=3 }; \
                     `command` and `set` do work on every step",
                );
                return None;
            }
        }
        Some(Rule::Step {
            selector: StepSelector {
                name,
                job,
                id,
                uses,
            },
            rules: body.rules,
            origin,
        })
    }

    fn command(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &COMMAND);
        if !head.ok {
            return None;
        }
        // No words: the string at `path=` is itself an argument list (e.g. `with/args`).
        let words: Vec<String> = match head.args.first() {
            Some(entry) => {
                let text = self.string_arg(
                    entry,
                    "the command",
                    "write the command's leading words in quotes, e.g. command \"helm upgrade\" { ... }",
                )?;
                let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
                if words.is_empty() {
                    self.error(
                        entry.span(),
                        "empty command",
                        "the command is empty",
                        "name the command by its leading words, e.g. \"helm upgrade\"",
                    );
                    return None;
                }
                words
            }
            None if head.props.contains_key("path") => Vec::new(),
            None => {
                self.error(
                    self.head_line_span(node),
                    "no command",
                    "`command` needs the command's leading words, or `path=` to an argument list",
                    "write `command \"helm upgrade\" { ... }`, or `command path=\"with/args\" { ... }`",
                );
                return None;
            }
        };
        let path = match head.props.get("path") {
            Some(entry) => self.path_arg(entry)?,
            None => PathExpr::parse("run").ok()?,
        };
        let mut edits = Vec::new();
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            let name = child.name().value();
            if !IN_COMMAND.allowed.contains(&name) {
                self.unknown_node(child, IN_COMMAND);
                continue;
            }
            const FLAG_HELP: &str = "write the flag in quotes, e.g. \"--wait\"";
            match name {
                "flag" => {
                    let h = self.head(child, &FLAG);
                    if !h.ok {
                        continue;
                    }
                    let Some(flag) = self.string_arg(h.args[0], "the flag", FLAG_HELP) else {
                        continue;
                    };
                    let value = match h.args.get(1) {
                        Some(e) => match self.string_arg(
                            e,
                            "the flag's value",
                            "write the value in quotes, e.g. \"600s\"",
                        ) {
                            Some(v) => Some(v),
                            None => continue,
                        },
                        None => None,
                    };
                    edits.push(FlagEdit::Flag { name: flag, value });
                }
                "remove-flag" => {
                    let h = self.head(child, &REMOVE_FLAG);
                    let takes_value = self.bool_prop(&h, "takes-value");
                    if !h.ok {
                        continue;
                    }
                    if let (Some(flag), Ok(takes_value)) = (
                        self.string_arg(h.args[0], "the flag", FLAG_HELP),
                        takes_value,
                    ) {
                        edits.push(FlagEdit::RemoveFlag {
                            name: flag,
                            takes_value,
                        });
                    }
                }
                _ => {
                    let h = self.head(child, &REPLACE_FLAG);
                    if !h.ok {
                        continue;
                    }
                    let old = self.string_arg(h.args[0], "the old flag", FLAG_HELP);
                    let new = self.string_arg(h.args[1], "the new flag", FLAG_HELP);
                    if let (Some(old), Some(new)) = (old, new) {
                        edits.push(FlagEdit::ReplaceFlag { old, new });
                    }
                }
            }
        }
        Some(Rule::Command {
            words,
            path,
            edits,
            origin,
        })
    }

    fn small_number_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        default: u32,
        max: u32,
    ) -> Option<u32> {
        let Some(entry) = head.props.get(name) else {
            return Some(default);
        };
        match entry.value() {
            KdlValue::Integer(i) if *i >= 1 && *i <= max as i128 => Some(*i as u32),
            other => {
                self.error(
                    entry.span(),
                    "not a small positive integer",
                    format!(
                        "`{name}` must be an integer from 1 to {max}, found {}",
                        kdl_kind(other)
                    ),
                    format!("write e.g. `{name}={default}`"),
                );
                None
            }
        }
    }

    fn retry(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &RETRY);
        let attempts = self.small_number_prop(&head, "attempts", 3, 20);
        let delay = self.small_number_prop(&head, "delay", 30, 3600);
        if !head.ok {
            return None;
        }
        Some(Rule::Retry {
            attempts: attempts?,
            delay: delay?,
            origin,
        })
    }

    fn insert_step(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &INSERT_STEP);
        const HELP: &str =
            "write `insert-step after=\"Checkout\" (yaml)\"\"\"...\"\"\"` (or `before=`)";
        let before = self.opt_string_prop(&head, "before", HELP).ok()?;
        let after = self.opt_string_prop(&head, "after", HELP).ok()?;
        let job = self.opt_string_prop(&head, "job", HELP).ok()?;
        if !head.ok {
            return None;
        }
        let anchor = match (before, after) {
            (Some(b), None) => StepAnchor::Before(b),
            (None, Some(a)) => StepAnchor::After(a),
            _ => {
                self.error(
                    self.head_line_span(node),
                    "needs one anchor",
                    "`insert-step` needs exactly one of `before=` and `after=`",
                    HELP,
                );
                return None;
            }
        };
        let step = self.value(head.args[0])?;
        let named = step.value.get("name").or_else(|| step.value.get("id"));
        if !step.value.is_object() || named.is_none() {
            self.error(
                head.args[0].span(),
                "not a named step",
                "the inserted step must be a mapping with a `name` (or `id`), so a re-run finds it",
                "give the step a `name:` in the (yaml) snippet",
            );
            return None;
        }
        Some(Rule::InsertStep {
            anchor,
            job,
            step,
            origin,
        })
    }

    fn text_rule(&mut self, node: &KdlNode) -> Option<TextRule> {
        let head = self.head(node, &TEXT);
        let origin = self.origin(node.span().offset());
        let optional = self.bool_prop(&head, "optional");
        let path = match head.args.first() {
            Some(entry) if head.ok => self.glob(entry),
            _ => None,
        };
        let mut edits = Vec::new();
        for child in node.children().map(KdlDocument::nodes).unwrap_or_default() {
            let name = child.name().value();
            if !IN_TEXT.allowed.contains(&name) {
                self.unknown_node(child, IN_TEXT);
                continue;
            }
            let child_origin = self.origin(child.span().offset());
            const HELP: &str = "write the text in quotes; use \"\"\" ... \"\"\" for several lines";
            if name == "replace" {
                let h = self.head(child, &REPLACE);
                if !h.ok {
                    continue;
                }
                let old = self.string_arg(h.args[0], "the old text", HELP);
                let new = self.string_arg(h.args[1], "the new text", HELP);
                if let (Some(old), Some(new)) = (old, new) {
                    if old.is_empty() {
                        self.error(h.args[0].span(), "empty", "the old text is empty", HELP);
                        continue;
                    }
                    edits.push(TextEdit::Replace {
                        old,
                        new,
                        origin: child_origin,
                    });
                }
            } else {
                let h = self.head(child, &ENSURE_LINE);
                let after = self.opt_string_prop(&h, "after", HELP);
                if !h.ok {
                    continue;
                }
                let line = self.string_arg(h.args[0], "the line", HELP);
                match (line, after) {
                    (Some(line), Ok(Some(after))) if !line.contains('\n') => {
                        edits.push(TextEdit::EnsureLine {
                            line,
                            after,
                            origin: child_origin,
                        })
                    }
                    (Some(_), Ok(Some(_))) => {
                        self.error(
                            h.args[0].span(),
                            "several lines",
                            "`ensure-line` takes one line",
                            "use one `ensure-line` per line",
                        );
                    }
                    (_, Ok(None)) => {
                        self.error(
                            self.head_line_span(child),
                            "no `after=`",
                            "`ensure-line` needs `after=` naming text of the line it follows",
                            HELP,
                        );
                    }
                    _ => {}
                }
            }
        }
        if let Some(p) = &path
            && is_glob(p)
        {
            self.error(
                head.args[0].span(),
                "a glob",
                format!("`text` takes one literal path, but `{p}` is a glob"),
                "name the file exactly",
            );
            return None;
        }
        Some(TextRule {
            path: path?,
            optional: optional.ok()?,
            edits,
            origin,
        })
    }

    fn ensure(&mut self, node: &KdlNode, origin: Origin) -> Option<Rule> {
        let head = self.head(node, &ENSURE);
        let usage = format!("write it as `{}`", ENSURE.usage);
        let key = match head.props.get("key") {
            None => {
                self.error(
                    self.head_line_span(node),
                    "no `key=`",
                    "`ensure` needs `key=` naming the field that identifies the list item",
                    usage,
                );
                None
            }
            Some(entry) => self
                .string_arg(entry, "`key`", "write the key in quotes: key=\"name\"")
                .and_then(|key| {
                    if key.is_empty() {
                        self.error(
                            entry.span(),
                            "empty key",
                            "`key` is empty",
                            "name the field that identifies the item, e.g. key=\"name\"",
                        );
                        None
                    } else {
                        Some(key)
                    }
                }),
        };
        let merge = self.bool_prop(&head, "merge");
        let placement = self.placement(node, &head);
        if !head.ok {
            return None;
        }
        let path = self.path_arg(head.args[0]);
        let item_entry = head.args[1];
        let item = self.value(item_entry)?;
        let key = key?;
        match &item.value {
            Value::Object(map) if map.contains_key(&key) => {}
            Value::Object(_) => {
                self.error(
                    item_entry.span(),
                    format!("no `{key}` here"),
                    format!(
                        "the `ensure` item has no `{key}` key, but key=\"{key}\" says items are \
                         identified by it"
                    ),
                    format!("add `{key}: ...` to the item, or set `key=` to a field the item has"),
                );
                return None;
            }
            other => {
                self.error(
                    item_entry.span(),
                    "not a mapping",
                    format!(
                        "the `ensure` item must be a mapping, found {}",
                        json_kind(other)
                    ),
                    format!(
                        "write the item as a YAML mapping with a `{key}` key, \
                         e.g. (yaml)\"{key}: ...\" or a (yaml)\"\"\" ... \"\"\" block"
                    ),
                );
                return None;
            }
        }
        Some(Rule::Ensure {
            path: path?,
            key,
            item,
            merge: merge.ok()?,
            placement: placement.ok()?,
            origin,
        })
    }

    /// `after="key"` or `before="key"` (at most one) on `set`/`ensure`.
    fn placement(&mut self, node: &KdlNode, head: &Head<'_>) -> Result<Option<Placement>, ()> {
        const HELP: &str =
            "name a sibling key: `after=\"backoffLimit\"` or `before=\"containers\"`";
        let before = self.opt_string_prop(head, "before", HELP)?;
        let after = self.opt_string_prop(head, "after", HELP)?;
        match (before, after) {
            (None, None) => Ok(None),
            (Some(b), None) => Ok(Some(Placement::Before(b))),
            (None, Some(a)) => Ok(Some(Placement::After(a))),
            (Some(_), Some(_)) => {
                self.error(
                    self.head_line_span(node),
                    "two placements",
                    "a new key goes either `after=` or `before=` a sibling, not both",
                    HELP,
                );
                Err(())
            }
        }
    }

    // --- arguments ---------------------------------------------------------------------

    /// A string argument without a type annotation.
    fn string_arg(&mut self, entry: &KdlEntry, what: &str, help: &str) -> Option<String> {
        if let Some(ty) = entry.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("{what} takes no type annotation"),
                format!("remove `({})`; {help}", ty.value()),
            );
            return None;
        }
        match entry.value() {
            KdlValue::String(s) => Some(s.clone()),
            other => {
                self.error(
                    entry.span(),
                    "not a string",
                    format!("{what} must be a string, found {}", kdl_kind(other)),
                    help.to_string(),
                );
                None
            }
        }
    }

    fn path_arg(&mut self, entry: &KdlEntry) -> Option<PathExpr> {
        let text = self.string_arg(entry, "a path", PATH_HELP)?;
        match PathExpr::parse(&text) {
            Ok(path) => Some(path),
            Err(err) => {
                // Point at the offending segment: up to the next `/`, at least one byte.
                let mut start = err.offset.min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let rest = &text[start..];
                let mut len = rest.find('/').unwrap_or(rest.len());
                if len == 0 {
                    if rest.is_empty() && start > 0 {
                        start -= 1; // a trailing `/`
                    }
                    len = 1;
                }
                let span = self.inner_span(entry, &text, start, len);
                self.error(
                    span,
                    "here",
                    format!("invalid path `{text}`: {}", err.message),
                    "paths are JSON Pointers (\"/spec/replicas\") plus `*` (every item or key) \
                     and `[key=value]` (list items whose `key` is `value`); in a key, write `/` \
                     as `~1` and `~` as `~0`",
                );
                None
            }
        }
    }

    /// A value: a KDL literal, or `(yaml)"..."`.
    fn value(&mut self, entry: &KdlEntry) -> Option<NewValue> {
        match entry.ty().map(|ty| (ty, ty.value())) {
            None => {
                let value = self.plain_value(entry)?;
                Some(NewValue { value, yaml: None })
            }
            Some((_, "yaml")) => {
                let KdlValue::String(text) = entry.value() else {
                    self.error(
                        entry.span(),
                        "not a string",
                        format!(
                            "`(yaml)` needs a string holding YAML, found {}",
                            kdl_kind(entry.value())
                        ),
                        "write the YAML in quotes: (yaml)\"...\", or in a multi-line \
                         (yaml)\"\"\" ... \"\"\" block",
                    );
                    return None;
                };
                // A KDL string has no final line break, but the snippet's lines end up in a
                // YAML file where each line ends in one: parse (and keep) it that way, so a
                // trailing `|` block scalar gets the newline the file will give it.
                let mut yaml = text.clone();
                if !yaml.ends_with('\n') {
                    yaml.push('\n');
                }
                match yaml_serde::from_str::<Value>(&yaml) {
                    Ok(value) => Some(NewValue {
                        value,
                        yaml: Some(Arc::from(yaml)),
                    }),
                    Err(err) => {
                        let line = err.location().map(|l| (l.line(), l.column()));
                        let span = line
                            .and_then(|(line, col)| self.yaml_span(entry, text, line, col))
                            .unwrap_or_else(|| entry.span());
                        let at = match line {
                            Some((line, _)) => format!(" (line {line} of the snippet)"),
                            None => String::new(),
                        };
                        self.error(
                            span,
                            "invalid YAML",
                            format!("invalid YAML in `(yaml)` snippet{at}: {err}"),
                            "fix the snippet: its text must be valid YAML on its own",
                        );
                        None
                    }
                }
            }
            Some((ty, other)) => {
                self.error(
                    ty.span(),
                    "unknown type annotation",
                    format!("unknown type annotation `({other})`; only `(yaml)` is supported"),
                    format!("drop `({other})`; {VALUE_HELP}"),
                );
                None
            }
        }
    }

    fn plain_value(&mut self, entry: &KdlEntry) -> Option<Value> {
        match entry.value() {
            KdlValue::String(s) => Some(Value::String(s.clone())),
            KdlValue::Bool(b) => Some(Value::Bool(*b)),
            KdlValue::Null => Some(Value::Null),
            KdlValue::Integer(i) => {
                let number = i64::try_from(*i)
                    .map(Number::from)
                    .or_else(|_| u64::try_from(*i).map(Number::from));
                match number {
                    Ok(n) => Some(Value::Number(n)),
                    Err(_) => {
                        self.error(
                            entry.span(),
                            "out of range",
                            format!("integer {i} does not fit in 64 bits"),
                            "use a smaller number, or a string if this is not a number",
                        );
                        None
                    }
                }
            }
            KdlValue::Float(f) => match Number::from_f64(*f) {
                Some(n) => Some(Value::Number(n)),
                None => {
                    self.error(
                        entry.span(),
                        "not a finite number",
                        "#inf, #-inf and #nan cannot be written as values",
                        "use a finite number",
                    );
                    None
                }
            },
        }
    }

    fn number(&mut self, entry: &KdlEntry, spec: &Spec) -> Option<Number> {
        let value = self.value(entry)?;
        match value.value {
            Value::Number(n) => Some(n),
            other => {
                self.error(
                    entry.span(),
                    "not a number",
                    format!(
                        "`{}` needs a number, found {}",
                        spec.name,
                        json_kind(&other)
                    ),
                    format!(
                        "write a number without quotes, e.g. `{} \"path\" 30`",
                        spec.name
                    ),
                );
                None
            }
        }
    }

    /// Where YAML line `line`, column `col` (1-based, columns in characters) of the
    /// snippet `text` is in the recipe source, when the literal can be mapped back
    /// (no escapes).
    fn yaml_span(
        &self,
        entry: &KdlEntry,
        text: &str,
        line: usize,
        col: usize,
    ) -> Option<SourceSpan> {
        let entry_span = entry.span();
        let raw = self.src.get(entry_span.offset()..Self::end(entry_span))?;
        // The literal follows the `(yaml)` annotation.
        let lit_start = raw.find(')').map_or(0, |i| i + 1);
        let lit = &raw[lit_start..];
        let lit_trimmed = lit.trim_start();
        let lit_offset = entry_span.offset() + lit_start + (lit.len() - lit_trimmed.len());
        let hashes = lit_trimmed.len() - lit_trimmed.trim_start_matches('#').len();
        let body = &lit_trimmed[hashes..];
        // An error past the end (an unclosed `[`, say) points at the end of the last line.
        let line_count = text.split('\n').count();
        let (line, col) = if line > line_count {
            (line_count, usize::MAX)
        } else {
            (line, col)
        };
        let target_line = text.split('\n').nth(line.checked_sub(1)?)?;
        let byte_col = target_line
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(target_line.len(), |(i, _)| i);

        if let Some(multi) = body.strip_prefix("\"\"\"") {
            // `"""`, newline, lines indented by the closing line's whitespace, `"""`.
            let raw_lines: Vec<&str> = multi.split('\n').collect();
            let closing = raw_lines.last()?;
            let indent = &closing[..closing.len() - closing.trim_start().len()];
            let raw_line = raw_lines.get(line)?; // raw_lines[0] is the rest of the `"""` line
            let content = raw_line.strip_prefix(indent).unwrap_or(raw_line);
            if content != target_line && !(target_line.is_empty() && raw_line.trim().is_empty()) {
                return None;
            }
            let line_start: usize = raw_lines[..line].iter().map(|l| l.len() + 1).sum();
            let offset = lit_offset + hashes + 3 + line_start + (raw_line.len() - content.len());
            let len = target_line[byte_col..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            return Some(SourceSpan::new((offset + byte_col).into(), len));
        }
        if let Some(single) = body.strip_prefix('"') {
            // A one-line string: usable when it holds the text verbatim.
            if line != 1 || !single.starts_with(text) {
                return None;
            }
            let offset = lit_offset + hashes + 1 + byte_col;
            let len = text[byte_col..].chars().next().map_or(0, char::len_utf8);
            return Some(SourceSpan::new(offset.into(), len));
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The closest valid name, when it is close enough to be a typo.
fn has_prop(node: &KdlNode, name: &str) -> bool {
    node.entries()
        .iter()
        .any(|e| e.name().is_some_and(|k| k.value() == name))
}

fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_lowercase().replace('_', "-");
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_glob(glob: &str) -> bool {
    glob.contains(['*', '?', '[', '{'])
}

fn kdl_kind(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a float",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_counts_characters_and_all_line_breaks() {
        let src = "ab\ncé\r\nx\ry";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(src, 0), (1, 1));
        assert_eq!(index.line_col(src, 2), (1, 3));
        assert_eq!(index.line_col(src, 3), (2, 1));
        // after the two-byte `é`
        assert_eq!(index.line_col(src, 6), (2, 3));
        assert_eq!(index.line_col(src, 8), (3, 1));
        assert_eq!(index.line_col(src, 10), (4, 1));
        // past the end or inside a character: clamped, never a panic
        assert_eq!(index.line_col(src, 99), (4, 2));
        assert_eq!(index.line_col(src, 5), (2, 2));
    }

    #[test]
    fn recipe_error_works_as_a_miette_report() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<RecipeError>();
        let err = parse_str(Path::new("r.kdl"), "sett 1").unwrap_err();
        let report = miette::Report::new(err);
        assert_eq!(
            report.to_string(),
            "r.kdl:1:1: unknown node `sett` at the top level"
        );
    }

    #[test]
    fn suggestions_catch_typos_but_not_unrelated_words() {
        let rules = IN_FILE.allowed;
        assert_eq!(suggest("at-leats", rules), Some("at-least"));
        assert_eq!(suggest("at_least", rules), Some("at-least"));
        assert_eq!(suggest("sett", rules), Some("set"));
        assert_eq!(suggest("Set", rules), Some("set"));
        assert_eq!(suggest("remve", rules), Some("remove"));
        assert_eq!(suggest("frobnicate", rules), None);
        assert_eq!(suggest("x", rules), None);
    }
}
