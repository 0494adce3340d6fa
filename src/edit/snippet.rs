//! Rendering new values, from the recipe's `(yaml)` snippet text where one covers the value
//! (its comments and block scalars kept), else generated in the file's style.

use super::*;

impl Editor<'_> {
    /// Renders the new value at `path`, from the recipe's YAML snippet where it has one.
    pub(super) fn value_rendering(&mut self, path: &[String], v: &Value) -> Rendered {
        if let Some(lines) = self.snippet_lines(path, v) {
            return Rendered::Block {
                lines,
                seq: v.is_array(),
            };
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                let mut lines = Vec::new();
                let mut p = path.to_vec();
                for (k, child) in m {
                    p.push(k.clone());
                    let r = self.value_rendering(&p, child);
                    p.pop();
                    push_entry(&mut lines, &yaml_text::key(k), r, self.style);
                }
                Rendered::Block { lines, seq: false }
            }
            Value::Array(a) if !a.is_empty() => {
                let mut lines = Vec::new();
                let mut p = path.to_vec();
                for (i, child) in a.iter().enumerate() {
                    p.push(i.to_string());
                    let r = self.value_rendering(&p, child);
                    push_item_rendering(&mut lines, r);
                    p.pop();
                }
                Rendered::Block { lines, seq: true }
            }
            other => yaml_text::block(other, self.style),
        }
    }

    /// The snippet text (lines at column 0) for the value at `path`, when an op's `(yaml)`
    /// snippet covers it and its block node reads as exactly `v`.
    pub(super) fn snippet_lines(&mut self, path: &[String], v: &Value) -> Option<Vec<String>> {
        if !is_collection(v) {
            return None;
        }
        let ops = self.ops;
        for op in ops {
            let Some((at, yaml)) = &op.snippet else {
                continue;
            };
            let at_keys: Vec<String> = jsonptr::Pointer::parse(at.as_str())
                .ok()?
                .tokens()
                .map(|t| t.decoded().into_owned())
                .collect();
            if at_keys.len() > path.len() || path[..at_keys.len()] != at_keys[..] {
                continue;
            }
            let rel = &path[at_keys.len()..];
            let key = Arc::as_ptr(yaml) as *const u8;
            let snippet = self
                .snippets
                .entry(key)
                .or_insert_with(|| Document::parse_snippet(yaml).ok());
            let snippet = snippet.as_ref()?;
            let sdoc = snippet.docs.first()?;
            let id = sdoc.tree.lookup(rel)?;
            if !values_equal(crate::pointer::lookup(&sdoc.model, rel)?, v) {
                continue;
            }
            let node = sdoc.tree.node(id);
            if matches!(
                node.kind,
                NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
            ) {
                return None;
            }
            let col = node.start - snippet.line_start(snippet.line_of(node.start));
            let first = snippet.line_of(node.start);
            let last = snippet.line_of(node.end.saturating_sub(1).max(node.start));
            let mut lines = Vec::new();
            for l in first..=last {
                let text = snippet.line_text(l);
                let text = if l == first {
                    &text[col..]
                } else {
                    let strip = leading_spaces(text).min(col);
                    &text[strip..]
                };
                lines.push(text.trim_end().to_string());
            }
            return Some(lines);
        }
        None
    }
}

pub(super) fn push_entry(lines: &mut Vec<String>, key_text: &str, r: Rendered, style: Style) {
    match r {
        Rendered::Inline(s) => lines.push(format!("{key_text}: {s}")),
        Rendered::Block { lines: l, seq } => {
            lines.push(format!("{key_text}:"));
            let pad = " ".repeat(if seq { style.seq_offset } else { style.unit });
            lines.extend(l.into_iter().map(|x| yaml_text::indent_line(&pad, x)));
        }
        Rendered::Scalar { header, lines: l } => {
            lines.push(format!("{key_text}: {header}"));
            let pad = " ".repeat(style.unit);
            lines.extend(l.into_iter().map(|x| yaml_text::indent_line(&pad, x)));
        }
    }
}

/// `- value` lines for one sequence item, at column 0.
pub(super) fn push_item_rendering(lines: &mut Vec<String>, r: Rendered) {
    match r {
        Rendered::Inline(s) => lines.push(format!("- {s}")),
        Rendered::Block { lines: l, .. } => yaml_text::push_item(lines, l),
        Rendered::Scalar { header, lines: l } => {
            lines.push(format!("- {header}"));
            lines.extend(l.into_iter().map(|x| yaml_text::indent_line("  ", x)));
        }
    }
}
