//! Recipe diagnostics: [`RecipeError`] (every problem in the files loaded) and
//! [`RecipeDiagnostic`] (one problem, with its miette labels), the place a `use` supplied a
//! value ([`Supplier`]), and the line/column index and typo suggestions they use. It knows
//! nothing of KDL nodes or of the parser that records the problems.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

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
    pub(super) file: Arc<PathBuf>,
    /// 1-based line and column of the primary label; `None` for load errors.
    pub(super) position: Option<(usize, usize)>,
    pub(super) message: String,
    pub(super) help: Option<String>,
    pub(super) severity: Severity,
    /// The primary label first.
    pub(super) labels: Vec<LabeledSpan>,
    pub(super) source: Option<NamedSource<Arc<str>>>,
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

/// The `use` property that supplied a value, in the using file.
pub(super) struct Supplier {
    pub(super) file: Arc<std::path::PathBuf>,
    pub(super) source: NamedSource<Arc<str>>,
    pub(super) position: (usize, usize),
    pub(super) span: SourceSpan,
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
}
