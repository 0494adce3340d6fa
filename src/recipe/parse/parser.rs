//! The [`Parser`]: one recipe source being read, and the problems found in it. Here are
//! its state, the source positions diagnostics point at (origins, spans) and how a problem
//! is recorded: with a labelled span in this source, or moved to the `use` property that
//! supplied the value. Each other file of the parser adds the methods for its nodes; this
//! one knows no node.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use kdl::{KdlEntry, KdlNode};
use miette::{LabeledSpan, NamedSource, Severity, SourceSpan};

use super::diag::{LineIndex, RecipeDiagnostic, Supplier};
use crate::recipe::model::Origin;

/// The recipes `use "catalog:NAME"` can name, as the caller provides them: the parser
/// never knows where a catalogue comes from.
pub trait Catalog {
    /// The KDL source of recipe `name`.
    fn source(&self, name: &str) -> Option<&str>;
    /// Every recipe name, sorted (for "did you mean" and help lines).
    fn names(&self) -> Vec<&str>;
}

/// Recipe names seen so far (across files in [`super::load`]): where each was defined.
pub(super) type Seen = HashMap<String, (Origin, SourceSpan)>;

/// An entry substitution changed: its span in the recipe's source and the parameters used.
pub(super) struct Substituted {
    pub(super) span: SourceSpan,
    pub(super) params: Vec<(String, Option<Arc<Supplier>>)>,
}

/// One recipe source being read: where diagnostics point, and those found so far.
pub(super) struct Parser<'a> {
    pub(super) file: Arc<PathBuf>,
    pub(super) src: &'a str,
    pub(super) source: NamedSource<Arc<str>>,
    pub(super) lines: LineIndex,
    pub(super) diags: Vec<RecipeDiagnostic>,
    /// Entries `{NAME}` substitution changed in the node being parsed (see [`super::params`]).
    pub(super) subst: Vec<Substituted>,
    /// Indices of `diags` that point at a `use` property instead of this source.
    pub(super) remapped: Vec<usize>,
    /// Where `use "catalog:NAME"` finds its recipe.
    pub(super) catalog: &'a dyn Catalog,
}

impl<'a> Parser<'a> {
    pub(super) fn new(file: Arc<PathBuf>, src: &'a str, catalog: &'a dyn Catalog) -> Self {
        let source = NamedSource::new(file.display().to_string(), Arc::<str>::from(src))
            .with_language("kdl");
        Parser {
            file,
            src,
            source,
            lines: LineIndex::new(src),
            diags: Vec::new(),
            subst: Vec::new(),
            remapped: Vec::new(),
            catalog,
        }
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

impl Parser<'_> {
    // --- spans -----------------------------------------------------------------------

    pub(super) fn end(span: SourceSpan) -> usize {
        span.offset() + span.len()
    }

    pub(super) fn between(start: usize, end: usize) -> SourceSpan {
        SourceSpan::new(start.into(), end.saturating_sub(start))
    }

    /// The node's name and entries, without its `{ ... }` block.
    pub(super) fn head_span(node: &KdlNode) -> SourceSpan {
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
    pub(super) fn head_line_span(&self, node: &KdlNode) -> SourceSpan {
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
    pub(super) fn block_span(&self, node: &KdlNode) -> SourceSpan {
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
    pub(super) fn inner_span(
        &self,
        entry: &KdlEntry,
        value: &str,
        offset: usize,
        len: usize,
    ) -> SourceSpan {
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
}
