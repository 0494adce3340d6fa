//! Replacing values in place: scalars in their old quoting style, folded scalars line by
//! line, and values whose type changes (a null becoming a mapping).

use super::*;

impl Editor<'_> {
    pub(super) fn replace_scalar(
        &mut self,
        id: NodeId,
        new: &Value,
        style: ScalarStyle,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(id);
        let (start, end) = (node.start, node.end);
        if let (ScalarStyle::Folded, Value::String(s)) = (style, new)
            && let Some(splice) = self.refold(start, end, s)
        {
            self.splices.push(splice);
            return Ok(());
        }
        if let (ScalarStyle::Literal | ScalarStyle::Folded, Value::String(_)) = (style, new)
            && let Rendered::Scalar { header, lines } = yaml_text::block(new, self.style)
        {
            let indicator = if style == ScalarStyle::Folded {
                header.replacen('|', ">", 1)
            } else {
                header
            };
            // Keep the old content indentation when it is deeper than the key's line.
            let header_line = self.doc.line_of(start);
            let key_indent = leading_spaces(self.doc.line_text(header_line));
            let old_indent = leading_spaces(self.doc.line_text(header_line + 1));
            let indent = if old_indent > key_indent {
                old_indent
            } else {
                key_indent + self.style.unit
            };
            let pad = " ".repeat(indent);
            let mut text = indicator;
            for l in lines {
                text.push_str(self.nl);
                text.push_str(&yaml_text::indent_line(&pad, l));
            }
            self.splices.push(Splice { start, end, text });
            return Ok(());
        }
        let prefer = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => None,
            s => Some(s),
        };
        if is_empty_value(self.doc, node) {
            // `key:` with nothing after it: write ` value` after the colon.
            self.splices.push(Splice {
                start,
                end,
                text: format!(" {}", yaml_text::scalar(new, None)),
            });
            return Ok(());
        }
        let _ = path;
        self.splices.push(Splice {
            start,
            end,
            text: yaml_text::scalar(new, prefer),
        });
        Ok(())
    }

    /// Rewrites a folded (`>`) scalar's content lines so they fold to `s`, keeping every
    /// old line that still matches (a flag added to `args: >-` becomes one new line).
    /// `None` when the old block is not simple (blank or more-indented lines) or `s` does not
    /// fit its chomping indicator.
    pub(super) fn refold(&self, start: usize, end: usize, s: &str) -> Option<Splice> {
        let header_line = self.doc.line_of(start);
        let header = self
            .doc
            .line_text(header_line)
            .get(self.col(start)..)?
            .trim_end();
        let strip = header.starts_with(">-");
        let keep_newline = !strip && !header.starts_with(">+");
        let body = match (strip, s.strip_suffix('\n')) {
            (true, None) => s,
            (false, Some(b)) if keep_newline => b,
            _ => return None,
        };
        if body.contains('\n') || body.is_empty() {
            return None;
        }
        let last_line = self.doc.line_of(end.saturating_sub(1));
        let old: Vec<&str> = (header_line + 1..=last_line)
            .map(|l| self.doc.line_text(l))
            .collect();
        let indent = leading_spaces(old.first()?);
        if old
            .iter()
            .any(|l| l.trim().is_empty() || leading_spaces(l) != indent)
        {
            return None;
        }
        let old: Vec<&str> = old.iter().map(|l| l.trim()).collect();
        // Old lines that still start the text, old lines that still end it, the rest as one line.
        let mut rest = body;
        let mut head = Vec::new();
        for l in &old {
            if rest == *l {
                head.push(*l);
                rest = "";
                break;
            }
            match rest.strip_prefix(l).and_then(|r| r.strip_prefix(' ')) {
                Some(r) => {
                    head.push(*l);
                    rest = r;
                }
                None => break,
            }
        }
        let mut tail = Vec::new();
        for l in old[head.len()..].iter().rev() {
            if rest.is_empty() {
                break;
            }
            if rest == *l {
                tail.push(*l);
                rest = "";
                break;
            }
            match rest.strip_suffix(l).and_then(|r| r.strip_suffix(' ')) {
                Some(r) => {
                    tail.push(*l);
                    rest = r;
                }
                None => break,
            }
        }
        let mut lines: Vec<&str> = head;
        if !rest.is_empty() {
            lines.push(rest);
        }
        lines.extend(tail.into_iter().rev());
        let pad = " ".repeat(indent);
        let text: String = lines
            .iter()
            .map(|l| format!("{}{pad}{l}", self.nl))
            .collect();
        let from = self.doc.line_start(header_line + 1) - self.nl.len();
        Some(Splice {
            start: from,
            end,
            text,
        })
    }

    /// Replaces a node whose type changes (or a collection that becomes empty).
    pub(super) fn replace_value(
        &mut self,
        id: NodeId,
        slot: Slot,
        new: &Value,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(id);
        let in_flow = match slot {
            Slot::Entry { map, .. } => matches!(
                self.tree.node(map).kind,
                NodeKind::Mapping { flow: true, .. }
            ),
            Slot::Item { seq, .. } => matches!(
                self.tree.node(seq).kind,
                NodeKind::Sequence { flow: true, .. }
            ),
            Slot::Root => false,
        };
        let flow_node = matches!(
            node.kind,
            NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
        );
        // `? key` or `{ key }` with no `:`: the value goes after a new one.
        let missing = self.missing_colon(id, slot);
        if in_flow && let Some((at, colon)) = &missing {
            self.splices.push(Splice {
                start: *at,
                end: *at,
                text: format!("{colon} {}", yaml_text::flow(new)),
            });
            return Ok(());
        }
        if in_flow || (flow_node && !is_collection(new)) {
            let text = if in_flow {
                // `{ key:, … }`: the colon needs a space after it before a value.
                let glued =
                    is_empty_value(self.doc, node) && self.doc.text[..node.start].ends_with(':');
                let text = yaml_text::flow(new);
                if glued { format!(" {text}") } else { text }
            } else {
                yaml_text::scalar(new, None)
            };
            self.splices.push(Splice {
                start: node.start,
                end: node.end,
                text,
            });
            return Ok(());
        }
        let rendering = self.value_rendering(path, new);
        let (region_start, base_col) = match slot {
            Slot::Entry { map, idx } => {
                let NodeKind::Mapping { entries, .. } = &self.tree.node(map).kind else {
                    unreachable_kind()
                };
                let e = &entries[idx];
                let colon = if e.start == e.key_span.0 {
                    self.after_colon(e.key_span.1)
                } else {
                    self.after_explicit_colon(e.key_span.1)
                };
                (colon, self.col(e.start))
            }
            Slot::Item { seq, idx } => {
                let dash = self
                    .dash_of(seq, idx)
                    .ok_or_else(|| self.refuse(node.start, path, "cannot find the item's `-`"))?;
                (dash + 1, self.col(dash))
            }
            Slot::Root => {
                let lines = match rendering {
                    Rendered::Inline(s) => vec![s],
                    Rendered::Block { lines, .. } => lines,
                    Rendered::Scalar { header, lines } => {
                        let mut v = vec![header];
                        v.extend(lines.into_iter().map(|l| yaml_text::indent_line("  ", l)));
                        v
                    }
                };
                let col = self.col(node.start);
                let pad = " ".repeat(col);
                let text = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            l
                        } else {
                            yaml_text::indent_line(&pad, l)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(self.nl);
                self.splices.push(Splice {
                    start: node.start,
                    end: node.end,
                    text,
                });
                return Ok(());
            }
        };
        let is_item = matches!(slot, Slot::Item { .. });
        if let Some((at, colon)) = missing {
            // Nothing to replace: the new `:` line and the value go after the key.
            let mut text = colon;
            match rendering {
                Rendered::Inline(s) => {
                    text.push(' ');
                    text.push_str(&s);
                }
                Rendered::Block { lines, seq } => {
                    let offset = if seq {
                        self.style.seq_offset
                    } else {
                        self.style.unit
                    };
                    let pad = " ".repeat(base_col + offset);
                    for l in lines {
                        text.push_str(self.nl);
                        text.push_str(&yaml_text::indent_line(&pad, l));
                    }
                }
                Rendered::Scalar { header, lines } => {
                    let pad = " ".repeat(base_col + self.style.unit);
                    text.push(' ');
                    text.push_str(&header);
                    for l in lines {
                        text.push_str(self.nl);
                        text.push_str(&yaml_text::indent_line(&pad, l));
                    }
                }
            }
            self.splices.push(Splice {
                start: at,
                end: at,
                text,
            });
            return Ok(());
        }
        let mut end = node.end.max(region_start);
        // Keep a trailing comment of the old value on the key line.
        let eol = self
            .doc
            .line_start(self.doc.line_of(end.saturating_sub(1).max(region_start)) + 1);
        let rest = self.doc.text[end..eol].trim_end_matches(['\n', '\r']);
        let comment = if rest.trim_start().starts_with('#') {
            rest.to_string()
        } else {
            String::new()
        };
        if !comment.is_empty() {
            end += rest.len();
        }
        let text = match rendering {
            Rendered::Inline(s) => format!(" {s}{comment}"),
            Rendered::Block { lines, seq } => {
                if is_item && !seq {
                    // `- a: 1` with the other keys aligned under the first.
                    let pad = " ".repeat(base_col + 2);
                    let mut t = String::new();
                    for (i, l) in lines.into_iter().enumerate() {
                        if i == 0 {
                            t.push(' ');
                            t.push_str(&l);
                            t.push_str(&comment);
                        } else {
                            t.push_str(self.nl);
                            t.push_str(&yaml_text::indent_line(&pad, l));
                        }
                    }
                    t
                } else {
                    let offset = if is_item {
                        2
                    } else if seq {
                        self.style.seq_offset
                    } else {
                        self.style.unit
                    };
                    let pad = " ".repeat(base_col + offset);
                    let mut t = comment.clone();
                    for l in lines {
                        t.push_str(self.nl);
                        t.push_str(&yaml_text::indent_line(&pad, l));
                    }
                    t
                }
            }
            Rendered::Scalar { header, lines } => {
                let pad = " ".repeat(base_col + if is_item { 2 } else { self.style.unit });
                let mut t = format!(" {header}{comment}");
                for l in lines {
                    t.push_str(self.nl);
                    t.push_str(&yaml_text::indent_line(&pad, l));
                }
                t
            }
        };
        self.splices.push(Splice {
            start: region_start,
            end,
            text,
        });
        Ok(())
    }

    /// The byte after the `:` of an explicit (`? key`) entry whose key ends at `key_end`: on a
    /// later line, past blank and comment lines; `key_end` when there is none.
    pub(super) fn after_explicit_colon(&self, key_end: usize) -> usize {
        let bytes = self.doc.text.as_bytes();
        let mut i = key_end;
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b':' => return i + 1,
                _ => break,
            }
        }
        key_end
    }

    /// The byte after the `:` that follows a key ending at `key_end`.
    pub(super) fn after_colon(&self, key_end: usize) -> usize {
        let bytes = self.doc.text.as_bytes();
        let mut i = key_end;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b':' {
            i + 1
        } else {
            key_end
        }
    }
}
