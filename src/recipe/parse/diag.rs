//! Recipe diagnostics: [`RecipeError`] (every problem in the files loaded) and
//! [`RecipeDiagnostic`] (one problem, with its miette labels), how the parser records
//! them, and the line/column index and typo suggestions they use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, SourceSpan};

use super::params::Supplier;
use super::*;
use crate::recipe::model::*;
use miette::{Diagnostic, NamedSource, Severity, SourceCode};
use std::fmt;

/// One or more problems in recipe files. The first problem is the error itself; the rest
/// are its [`Diagnostic::related`] diagnostics, so a miette report shows them all.
#[derive(Debug, Clone)]
pub struct RecipeError {
    /// Never empty.
    diagnostics: Vec<RecipeDiagnostic>,
}

impl RecipeError {
    pub(super) fn new(diagnostics: Vec<RecipeDiagnostic>) -> Self {
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
    pub(super) labels: Vec<LabeledSpan>,
    source: Option<NamedSource<Arc<str>>>,
}

impl RecipeDiagnostic {
    /// A problem with a value written at `at` (a `use` property or line).
    pub(super) fn at_supplier(
        at: &Supplier,
        label: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        RecipeDiagnostic {
            file: at.file.clone(),
            position: Some(at.position),
            message: message.into(),
            help: Some(help.into()),
            severity: Severity::Error,
            labels: vec![LabeledSpan::new_primary_with_span(
                Some(label.into()),
                at.span,
            )],
            source: Some(at.source.clone()),
        }
    }

    pub(super) fn load(file: &Path, message: String, help: &str) -> Self {
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

/// Byte offsets of line starts, for 1-based line/column lookups.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(src: &str) -> Self {
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
    pub(super) fn line_col(&self, src: &str, offset: usize) -> (usize, usize) {
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

impl Parser<'_> {
    // --- diagnostics ---------------------------------------------------------------

    pub(super) fn origin(&self, offset: usize) -> Origin {
        let (line, col) = self.lines.line_col(self.src, offset);
        Origin {
            file: self.file.clone(),
            line,
            col,
        }
    }

    /// Records a problem with one labelled span; returns it so secondary labels can be added.
    pub(super) fn error(
        &mut self,
        span: SourceSpan,
        label: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut RecipeDiagnostic {
        let span = self.clamp(span);
        let position = self.lines.line_col(self.src, span.offset());
        if let Some((param, supplier)) = self.supplied(span) {
            // A value a `use` supplied: the fix is at the `use`, so point there, and name
            // the line of the used recipe that read it.
            let (line, col) = position;
            let message = format!(
                "{} (in the value of `{param}`, used at {}:{line}:{col})",
                message.into(),
                self.file.display()
            );
            self.remapped.push(self.diags.len());
            self.diags.push(RecipeDiagnostic::at_supplier(
                &supplier,
                format!("`{param}` given here: {}", label.into()),
                message,
                help,
            ));
            let last = self.diags.len() - 1;
            return &mut self.diags[last];
        }
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

    /// The parameter and its `use` property, when `span` lies in an entry whose value came
    /// from a `use`.
    fn supplied(&self, span: SourceSpan) -> Option<(String, std::sync::Arc<Supplier>)> {
        let at = span.offset();
        self.subst
            .iter()
            .filter(|s| s.span.offset() <= at && at < s.span.offset() + s.span.len().max(1))
            .flat_map(|s| s.params.iter())
            .find_map(|(name, supplier)| Some((name.clone(), supplier.clone()?)))
    }

    /// Labels a caller added to a diagnostic that now points at a `use` were spans in the
    /// used recipe's source: drop them, keeping the primary label.
    pub(super) fn settle_remapped(&mut self) {
        for &i in &self.remapped {
            if let Some(d) = self.diags.get_mut(i) {
                d.labels.truncate(1);
            }
        }
        self.remapped.clear();
    }

    /// Keeps a span inside the source so rendering never fails.
    pub(super) fn clamp(&self, span: SourceSpan) -> SourceSpan {
        let start = span.offset().min(self.src.len());
        let len = span.len().min(self.src.len() - start);
        SourceSpan::new(start.into(), len)
    }

    pub(super) fn kdl_error(&mut self, err: kdl::KdlError) {
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
}

pub(super) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_lowercase().replace('_', "-");
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(super) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::parse::spec::IN_FILE;

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
