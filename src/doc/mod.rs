//! Documents: a file's bytes, the YAML documents in it, a JSON model of each and the byte
//! span of every node. Helm templates are masked first ([`template`]). Nothing else in the
//! crate reads YAML.
//!
//! Hostile or odd input is bounded here and below: nesting past [`events::MAX_DEPTH`] stops
//! the event stream, alias expansion has a budget ([`tree::MAX_ALIAS_NODES`]), and a UTF-8
//! byte-order mark is kept in `text` but is not part of line 1 (line starts, columns and node
//! spans all skip it, so edits never touch it).

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

/// The chart directory of `path` (relative to `root`): its nearest ancestor holding a
/// `Chart.yaml`, relative to the root (`""` for the root itself).
pub fn chart_of(root: &Path, path: &str) -> Option<String> {
    let mut dir = Path::new(path).parent();
    while let Some(d) = dir {
        if root.join(d).join("Chart.yaml").is_file() {
            return Some(d.to_string_lossy().replace('\\', "/"));
        }
        dir = d.parent();
    }
    None
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
        Document::parse_using(path, text, kind, &events::Events)
    }

    /// [`Document::parse`] with the events of `source`: for tests that hold another parser
    /// up against patcher's as an oracle.
    #[doc(hidden)]
    pub fn parse_using<S: events::Source>(
        path: impl Into<PathBuf>,
        text: String,
        kind: FileKind,
        source: &S,
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
        let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let syntax_error = |e: events::SyntaxError| LoadError {
            path: path.clone(),
            line: e.line,
            col: e.col,
            message: if e.too_deep {
                e.message
            } else {
                format!("invalid YAML: {}", e.message)
            },
        };
        let dialect = kind.dialect();
        let load_error = |e: tree::BuildError| match e {
            tree::BuildError::Syntax(e) => syntax_error(e),
            tree::BuildError::Load(offset, message) => err_at(offset, message),
        };
        let (masked, docs) = if kind == FileKind::HelmTemplate && template::has_actions(&text) {
            let mut m = template::mask(&text).map_err(|e| LoadError {
                path: path.clone(),
                line: e.line,
                col: e.col,
                message: format!("template action: {}", e.message),
            })?;
            let mut repairs = 0;
            let docs = loop {
                match build_docs(source, &m.text, bom, dialect) {
                    Ok(docs) => break docs,
                    Err(tree::BuildError::Syntax(e)) if !e.too_deep => {
                        // An action glued to the flow node before it: blanks stand in for it
                        // (a failed parse only; files that parse are parsed once).
                        match m.glued_action_at(e.offset) {
                            Some(k) if repairs < MAX_MASK_REPAIRS => {
                                m.blank_action(k);
                                repairs += 1;
                            }
                            _ => return Err(unmaskable(&path, &text, &m, e)),
                        }
                    }
                    Err(e) => return Err(load_error(e)),
                }
            };
            (Some(m), docs)
        } else {
            (
                None,
                build_docs(source, &text, bom, dialect).map_err(load_error)?,
            )
        };
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

const BOM: &str = "\u{feff}";

/// How many glued actions ([`template::Masked::glued_action_at`]) one file may have blanked,
/// each after a failed parse: real templates have a handful; the bound keeps a hostile file
/// from costing more than this many parses.
const MAX_MASK_REPAIRS: usize = 64;

/// The load error for a template whose masked text does not parse: names the action to blame
/// and its shape when one is near the error, else the YAML error as it is.
fn unmaskable(path: &Path, text: &str, m: &Masked, e: events::SyntaxError) -> LoadError {
    match m.explain_unmaskable(text, e.offset, e.context_offset) {
        Some(u) => LoadError {
            path: path.to_path_buf(),
            line: u.line,
            col: u.col,
            message: format!(
                "template action `{}` cannot be masked: it {} (masked, the YAML fails at {}:{}: {})",
                u.action, u.shape, e.line, e.col, e.message
            ),
        },
        None => LoadError {
            path: path.to_path_buf(),
            line: e.line,
            col: e.col,
            message: {
                // No action near the error: the text itself is not YAML (the prose of a
                // NOTES or warning define, a typo). Show the line as written.
                let shown: String = text
                    .lines()
                    .nth(e.line.saturating_sub(1))
                    .unwrap_or_default()
                    .trim()
                    .chars()
                    .take(60)
                    .collect();
                format!(
                    "invalid YAML (after masking template actions): {}; no template action is to blame: line {} is not YAML as written (`{shown}`)",
                    e.message, e.line
                )
            },
        },
    }
}

/// Line start offsets; line 1 starts after a byte-order mark.
fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![if text.starts_with(BOM) { BOM.len() } else { 0 }];
    v.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    v
}

fn line_col(starts: &[usize], text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
    // Offsets inside a byte-order mark count as column 1.
    let start = starts.get(line).copied().unwrap_or(0).min(offset);
    let col = text
        .get(start..offset)
        .map_or(offset - start, |s| s.chars().count())
        + 1;
    (line + 1, col)
}

/// The documents of `src` (from byte `bom` on), built as the parser gives the events. A
/// failure on what the events say is reported only when the rest of the text parses: a
/// syntax error anywhere in the file comes first, as it would from a parser that reads the
/// whole file before building.
fn build_docs<S: events::Source>(
    source: &S,
    src: &str,
    bom: usize,
    dialect: Dialect,
) -> Result<Vec<YamlDoc>, tree::BuildError> {
    use events::EventSource;
    let mut stream = source.open(&src[bom..], bom)?;
    match build_each_doc(&mut stream, src, dialect) {
        Err(tree::BuildError::Load(offset, message)) => {
            stream.finish_events()?;
            Err(tree::BuildError::Load(offset, message))
        }
        built => built,
    }
}

fn build_each_doc<P: events::EventSource>(
    events: &mut P,
    src: &str,
    dialect: Dialect,
) -> Result<Vec<YamlDoc>, tree::BuildError> {
    use events::EventKind;
    let mut docs = Vec::new();
    // The alias budget is per file: a bomb split over many documents is still one bomb.
    let mut expanded = tree::Weight::default();
    while let Some(event) = events.next_event()? {
        if !matches!(event.kind, EventKind::DocumentStart { .. }) {
            continue;
        }
        let start = event.start;
        let mut b = tree::Builder::new(events, src, dialect, expanded);
        let (tree, model) = b.build_document()?;
        expanded = b.expanded();
        let end = match events.next_event()? {
            Some(e) if e.kind == EventKind::DocumentEnd => e.end.max(tree.nodes[tree.root].end),
            _ => {
                return Err(tree::BuildError::Load(
                    start,
                    "document is not closed".into(),
                ));
            }
        };
        docs.push(YamlDoc {
            index: docs.len(),
            start,
            end,
            tree,
            model,
        });
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

    fn load(src: &str, kind: FileKind) -> Result<Document, LoadError> {
        Document::parse("chart/templates/t.yaml", src.to_string(), kind)
    }

    #[test]
    fn byte_order_mark_is_kept_and_lines_start_after_it() {
        let src = "\u{feff}a:\n  b: 1\n";
        let d = load(src, FileKind::Yaml).unwrap();
        assert_eq!(d.text, src);
        assert_eq!(d.models(), vec![serde_json::json!({"a": {"b": 1}})]);
        let t = &d.docs[0].tree;
        let a = t.node(t.root);
        assert_eq!(&src[a.start..a.end], "a:\n  b: 1");
        assert_eq!(t.position(&["a"]), 3);
        assert_eq!(d.line_start(0), 3);
        assert_eq!(d.line_col(3), (1, 1));
        assert_eq!(d.line_col(0), (1, 1));
        assert_eq!(d.line_text(0), "a:");
        // An explicit `---` after the mark, and templates.
        let d = load("\u{feff}---\na: 1\n", FileKind::Yaml).unwrap();
        assert_eq!(d.models(), vec![serde_json::json!({"a": 1})]);
        let d = load(
            "\u{feff}{{- if .x }}\na: {{ .v }}\n{{- end }}\n",
            FileKind::HelmTemplate,
        )
        .unwrap();
        assert_eq!(d.docs[0].model["a"].as_str().map(|s| s.len()), Some(8));
        // Errors count columns after the mark.
        let e = load("\u{feff}a: [1\n", FileKind::Yaml).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn alias_bomb_is_refused_before_it_expands() {
        let mut src = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let t = std::time::Instant::now();
        let e = load(&src, FileKind::Yaml).unwrap_err();
        assert!(t.elapsed().as_millis() < 1000, "{:?}", t.elapsed());
        assert!(e.message.contains("alias bomb"), "{e}");
        assert!(e.message.contains("100000 nodes"), "{e}");
        assert!(
            e.line > 1 && e.line <= 10,
            "at the alias that crosses the budget: {e}"
        );
    }

    #[test]
    fn alias_budget_counts_text_and_spans_documents() {
        // One long string aliased many times: few nodes, much text.
        let long = "x".repeat(1 << 20);
        let refs = vec!["*s"; 20].join(", ");
        let e = load(&format!("s: &s {long}\nl: [{refs}]\n"), FileKind::Yaml).unwrap_err();
        assert!(e.message.contains("16 MiB"), "{}", e.message);
        // Documents share the budget.
        let doc = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["1"; 100].join(","),
            vec!["*a"; 100].join(",")
        );
        let many = vec![doc; 11].join("---\n");
        assert!(load(&many, FileKind::Yaml).is_err());
        // Anchors nested in anchored collections: each level keeps another copy.
        let payload = vec!["1"; 1000].join(", ");
        let nested = format!(
            "a: {}[{payload}]{}\n",
            (0..200).map(|i| format!("&n{i} [")).collect::<String>(),
            "]".repeat(200)
        );
        let e = load(&nested, FileKind::Yaml).unwrap_err();
        assert!(e.message.contains("(at &n"), "{}", e.message);
        // One anchor over a large block is one copy: free, like the block itself.
        let big = format!("all: &all [{}]\n", vec!["[1, 2, 3]"; 40_000].join(", "));
        assert!(load(&big, FileKind::Yaml).is_ok());
        // Ordinary reuse expands.
        let d = load("base: &b {x: 1}\nuse: *b\n", FileKind::Yaml).unwrap();
        assert_eq!(d.docs[0].model["use"], serde_json::json!({"x": 1}));
    }

    #[test]
    fn deep_nesting_is_refused_quickly_with_its_line() {
        let block: String = (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let flow = format!("a:\n  b: {}", "[".repeat(200_000));
        let seqs = format!("{}x\n", "- ".repeat(100_000));
        for src in [block, flow, seqs] {
            let t = std::time::Instant::now();
            let e = load(&src, FileKind::Yaml).unwrap_err();
            assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
            assert!(e.message.contains("nested more than 255 levels"), "{e}");
            assert!(
                !e.message.starts_with("invalid YAML"),
                "valid, but refused: {e}"
            );
        }
        // In a template too, and no action is blamed.
        let src = format!(
            "a: {{{{ .Values.x }}}}\nb: [{{{{ .Values.y }}}}, {}",
            "[".repeat(300)
        );
        let e = load(&src, FileKind::HelmTemplate).unwrap_err();
        assert!(
            e.message.starts_with("collections nested more than 255"),
            "{e}"
        );
        assert_eq!(e.line, 2);
    }

    #[test]
    fn glued_template_actions_in_flow_sequences_load() {
        let src = "args: [\"--a={{ .Values.a }}\"{{ if .b }}, \"--b\"{{ end }}{{ range .c }}, {{ . | quote }}{{ end }}]\nnext: 1\n";
        let d = load(src, FileKind::HelmTemplate).unwrap();
        let m = &d.docs[0].model;
        assert_eq!(m["next"], 1);
        assert_eq!(m["args"].as_array().map(Vec::len), Some(3), "{m}");
        assert_eq!(d.masked.as_ref().unwrap().unmask(src), src);
    }

    #[test]
    fn a_value_chosen_by_an_if_over_lines_of_its_own_masks_as_the_if() {
        // grafana/promtail's hpa.yaml: the `-}}` joins the branch's line to the key's.
        let src = "{{- if .a }}\napiVersion: {{ if .b -}}\nautoscaling/v2\n{{- else -}}\nautoscaling/v2beta2\n{{- end }}\nkind: X\n{{- end }}\n";
        let d = load(src, FileKind::HelmTemplate).unwrap();
        let m = &d.docs[0].model;
        assert_eq!(m["kind"], "X", "{m}");
        assert!(
            m["apiVersion"].as_str().is_some_and(|v| v.starts_with('_')),
            "{m}"
        );
        assert_eq!(d.masked.as_ref().unwrap().unmask(src), src);
    }

    #[test]
    fn a_control_action_mid_line_before_a_broken_key_is_the_one_named() {
        // The masked text fails a line or two below the action (a key without `:`); the
        // branch holds structure, so it is not a value the `if` chooses.
        let src = "{{- if .a }}\napiVersion: {{ if .b -}}\nautoscaling/v2\n{{- else -}}\nx: y\n{{- end }}\nkind: X\n{{- end }}\n";
        let e = load(src, FileKind::HelmTemplate).unwrap_err();
        assert_eq!((e.line, e.col), (2, 13), "{e}");
        assert!(
            e.message
                .contains("is a control action in the middle of a line"),
            "{e}"
        );
    }

    #[test]
    fn unmaskable_template_shape_names_the_action_line() {
        let src = "a: 1\nb: {x: 1,\n  c: {{ .Values.c }}\n    d: 2}\n";
        let e = load(src, FileKind::HelmTemplate).unwrap_err();
        assert_eq!((e.line, e.col), (3, 6), "{e}");
        assert!(e.to_string().starts_with("chart/templates/t.yaml:3:6: template action `{{ .Values.c }}` cannot be masked: it is inside a flow mapping"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// Flow collections, quotes, actions, BOMs and anchors in any order: loading never
        /// panics, and a loaded template unmasks to its source.
        #[test]
        fn loading_odd_templates_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "[", "]", "{", "}", ", ", ": ", "\"", "'", "\n", "  ", "- ", "a", "\u{feff}",
                "{{ .Values.x }}", "{{ if .a }}", "{{ end }}", "{{{ .k }}", "{{- else -}}",
                "{{ include \"x\" (dict\n \"k\" 1) }}", "&a ", "*a", "#",
            ]),
            0..40,
        )) {
            let src = parts.concat();
            for kind in [FileKind::HelmTemplate, FileKind::Yaml] {
                if let Ok(d) = Document::parse("t.yaml", src.clone(), kind)
                    && let Some(m) = &d.masked
                {
                    proptest::prop_assert_eq!(m.unmask(&src), src.clone());
                }
            }
        }
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let e = Document::parse("bad.yaml", "a: [1\nb: 2\n".into(), FileKind::Yaml).unwrap_err();
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
        assert!(e.line >= 1);
    }

    #[test]
    fn a_syntax_error_later_in_the_file_is_reported_before_an_unknown_alias() {
        // An alias to an anchor of an earlier document: the parser lets it through, the tree
        // builder refuses it as the events stream in; the file's syntax error (line 4) is
        // still the one named, as when all events were read first.
        let src = "a: &x 1\n---\nb: *x\nc: [2\n";
        let e = Document::parse("t.yaml", src.into(), FileKind::Yaml).unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{e}");
        assert_eq!(e.line, 5, "{e}");
        let alone = Document::parse("t.yaml", "a: &x 1\n---\nb: *x\n".into(), FileKind::Yaml);
        assert_eq!(alone.unwrap_err().message, "unknown anchor *x");
    }

    #[test]
    fn anchored_keys_can_be_aliased_and_aliases_of_strings_are_keys() {
        assert_eq!(
            models("&k a: 1\nb: *k\n", FileKind::Yaml),
            vec![serde_json::json!({"a": 1, "b": "a"})]
        );
        assert_eq!(
            models("x: &k a\n*k : 2\n", FileKind::Yaml),
            vec![serde_json::json!({"x": "a", "a": 2})]
        );
        let e = load("x: &k [1]\n*k : 2\n", FileKind::Yaml).unwrap_err();
        assert!(e.message.contains("not a string (alias *k)"), "{e}");
    }

    #[test]
    fn an_alias_without_its_anchor_is_refused_with_its_name_and_line() {
        let e =
            Document::parse("t.yaml", "a: 1\nb: *missing\n".into(), FileKind::Yaml).unwrap_err();
        assert_eq!((e.line, e.col), (2, 4), "{e}");
        assert!(e.message.contains("unknown anchor *missing"), "{e}");
    }

    #[test]
    fn documents_of_a_stream_are_built_one_after_another() {
        let d =
            Document::parse("t.yaml", "a: 1\n---\nb: [2]\n...\n".into(), FileKind::Yaml).unwrap();
        let models = d.models();
        assert_eq!(
            models,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"b": [2]})]
        );
        assert_eq!(
            d.docs[1].end,
            d.text.len() - 1,
            "the second ends after its `...`"
        );
    }
}
