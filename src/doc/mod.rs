//! Documents: a file's bytes, the YAML documents in it, a JSON model of each and the byte
//! span of every node. Helm templates are masked first ([`template`]). Nothing else in the
//! crate reads YAML.

pub mod events;
pub mod template;
pub mod tree;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use events::ScalarStyle;
pub use tree::{Dialect, Entry, Node, NodeId, NodeKind, Tree};

use template::Masked;

/// What kind of file this is, which decides masking and scalar resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A chart template (`templates/` under a directory with `Chart.yaml`): masked, YAML 1.1.
    HelmTemplate,
    /// Any other file of a Helm chart (values files, Chart.yaml): YAML 1.1.
    HelmValues,
    /// Everything else (GitHub workflows, plain YAML): YAML 1.2.
    Yaml,
}

impl FileKind {
    pub fn dialect(self) -> Dialect {
        match self {
            FileKind::HelmTemplate | FileKind::HelmValues => Dialect::Yaml11,
            FileKind::Yaml => Dialect::Yaml12,
        }
    }

    /// Classifies `rel` (relative to `root`) by looking for a `Chart.yaml` in its ancestors.
    pub fn detect(root: &Path, rel: &Path) -> FileKind {
        let mut dir = rel.parent();
        let mut under_templates = false;
        while let Some(d) = dir {
            if root.join(d).join("Chart.yaml").is_file() {
                return if under_templates {
                    FileKind::HelmTemplate
                } else {
                    FileKind::HelmValues
                };
            }
            if d.file_name().is_some_and(|n| n == "templates") {
                under_templates = true;
            }
            dir = d.parent();
        }
        FileKind::Yaml
    }
}

/// One YAML document (`---`-separated) of a file.
#[derive(Debug, Clone)]
pub struct YamlDoc {
    pub index: usize,
    /// The document's byte range in the file (from its first token or `---`).
    pub start: usize,
    pub end: usize,
    pub tree: Tree,
    /// What the file's consumer reads (see [`Dialect`]).
    pub model: Value,
}

/// A whole file, parsed once. Owns the original text; node spans index into it.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub text: String,
    pub kind: FileKind,
    /// The masked view, for templates that contain actions.
    pub masked: Option<Masked>,
    pub docs: Vec<YamlDoc>,
    line_starts: Vec<usize>,
}

/// A file that could not be loaded: names the file, the 1-based line and column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

impl std::error::Error for LoadError {}

impl Document {
    /// Parses `text` as the file `path`, masking templates when `kind` says so.
    pub fn parse(
        path: impl Into<PathBuf>,
        text: String,
        kind: FileKind,
    ) -> Result<Document, LoadError> {
        let path = path.into();
        let line_starts = line_starts(&text);
        let err_at = |offset: usize, message: String| {
            let (line, col) = line_col(&line_starts, &text, offset);
            LoadError {
                path: path.clone(),
                line,
                col,
                message,
            }
        };
        if text.as_bytes().contains(&0) {
            return Err(err_at(
                text.as_bytes().iter().position(|b| *b == 0).unwrap_or(0),
                "contains NUL bytes: this looks like a binary file, not YAML".into(),
            ));
        }
        let masked = if kind == FileKind::HelmTemplate && template::has_actions(&text) {
            let m = template::mask(&text).map_err(|e| LoadError {
                path: path.clone(),
                line: e.line,
                col: e.col,
                message: format!("template action: {}", e.message),
            })?;
            Some(m)
        } else {
            None
        };
        let parse_text = masked.as_ref().map_or(text.as_str(), |m| m.text.as_str());
        let events = events::parse(parse_text).map_err(|e| {
            let hint = if masked.is_some() {
                " (after masking template actions)"
            } else {
                ""
            };
            LoadError {
                path: path.clone(),
                line: e.line,
                col: e.col,
                message: format!("invalid YAML{hint}: {}", e.message),
            }
        })?;
        let docs = build_docs(&events, parse_text, kind.dialect())
            .map_err(|(off, msg)| err_at(off, msg))?;
        Ok(Document {
            path,
            text,
            kind,
            masked,
            docs,
            line_starts,
        })
    }

    /// Parses a standalone YAML snippet (a recipe's `(yaml)` value).
    pub fn parse_snippet(text: &str) -> Result<Document, LoadError> {
        Document::parse("<snippet>", text.to_string(), FileKind::Yaml)
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.line_starts, &self.text, offset)
    }

    /// Byte offset where 0-based line `line` starts (the text length past the end).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// 0-based line index of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The text of 0-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_start(line);
        let end = self.line_start(line + 1);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The masked (parseable) text of 0-based line `line`: differs from `line_text` only in
    /// templates, where actions are replaced.
    pub fn masked_line_text(&self, line: usize) -> &str {
        let start = self.line_start(line);
        let end = self.line_start(line + 1);
        let text = self
            .masked
            .as_ref()
            .map_or(self.text.as_str(), |m| m.text.as_str());
        text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The file's line break: CRLF when its first line break is CRLF.
    pub fn newline(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// The models of all documents, in order.
    pub fn models(&self) -> Vec<Value> {
        self.docs.iter().map(|d| d.model.clone()).collect()
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(
        text.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1),
    );
    v
}

fn line_col(starts: &[usize], text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = starts[line];
    let col = text
        .get(start..offset)
        .map_or(offset - start, |s| s.chars().count())
        + 1;
    (line + 1, col)
}

fn build_docs(
    events: &[events::Event],
    src: &str,
    dialect: Dialect,
) -> Result<Vec<YamlDoc>, (usize, String)> {
    use events::EventKind;
    let mut docs = Vec::new();
    let mut i = 0;
    while i < events.len() {
        match &events[i].kind {
            EventKind::DocumentStart { .. } => {
                let start = events[i].start;
                let mut b = tree::Builder::new(events, i + 1, src, dialect);
                let (tree, model) = b.build_document().map_err(|m| (start, m))?;
                i = b.pos();
                let end = match events.get(i) {
                    Some(e) if e.kind == EventKind::DocumentEnd => {
                        i += 1;
                        e.end.max(tree.nodes[tree.root].end)
                    }
                    _ => return Err((start, "document is not closed".into())),
                };
                docs.push(YamlDoc {
                    index: docs.len(),
                    start,
                    end,
                    tree,
                    model,
                });
            }
            _ => i += 1,
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(src: &str, kind: FileKind) -> Vec<Value> {
        Document::parse("t.yaml", src.to_string(), kind)
            .unwrap()
            .models()
    }

    #[test]
    fn model_matches_yaml_serde_for_core_scalars() {
        let src = "a: 1\nb: -2\nc: 0x10\nd: 1.5\ne: ~\nf: true\ng: yes\nh: '1'\ni: 007\nj: .inf\nk: [x, {y: z}]\n";
        let ours = models(src, FileKind::Yaml);
        let theirs: Value = yaml_serde::from_str(src).unwrap();
        assert_eq!(ours, vec![theirs]);
    }

    #[test]
    fn helm_values_read_yaml11_booleans() {
        let m = models("a: yes\nb: off\nc: 'yes'\n", FileKind::HelmValues);
        assert_eq!(m[0], serde_json::json!({"a": true, "b": false, "c": "yes"}));
    }

    #[test]
    fn multi_document_files_have_one_model_each() {
        let m = models("a: 1\n---\nb: 2\n---\n", FileKind::Yaml);
        assert_eq!(
            m,
            vec![
                serde_json::json!({"a": 1}),
                serde_json::json!({"b": 2}),
                Value::Null
            ]
        );
    }

    #[test]
    fn spans_point_at_node_text() {
        let src = "a:\n  b: \"x\"\n  c: |\n    hi\n\nd: [1, 2]\n";
        let d = Document::parse("t.yaml", src.to_string(), FileKind::Yaml).unwrap();
        let t = &d.docs[0].tree;
        let b = t.node(t.lookup(&["a", "b"]).unwrap());
        assert_eq!(&src[b.start..b.end], "\"x\"");
        let c = t.node(t.lookup(&["a", "c"]).unwrap());
        assert_eq!(&src[c.start..c.end], "|\n    hi");
        let a = t.node(t.lookup(&["a"]).unwrap());
        assert_eq!(&src[a.start..a.end], "b: \"x\"\n  c: |\n    hi");
        let dd = t.node(t.lookup(&["d"]).unwrap());
        assert_eq!(&src[dd.start..dd.end], "[1, 2]");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let e = Document::parse("bad.yaml", "a: [1\nb: 2\n".into(), FileKind::Yaml).unwrap_err();
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
        assert!(e.line >= 1);
    }
}
