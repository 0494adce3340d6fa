//! Inserting and removing mapping entries and list items, block or flow, in the file's
//! indentation and sequence style.

use super::*;

impl Editor<'_> {
    pub(super) fn insert_entries(
        &mut self,
        map: NodeId,
        flow: bool,
        added: &[(&String, &Value)],
        removed: &[usize],
        path: &mut Vec<String>,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(map);
        let NodeKind::Mapping { entries, .. } = &node.kind else {
            unreachable_kind()
        };
        if flow {
            let parts = added
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_text::key(k), yaml_text::flow(v)));
            let mut text = flow_tail(!entries.is_empty(), parts);
            let at = match entries.last() {
                Some(e) => self.tree.node(e.value).end.max(e.key_span.1),
                None => node.start + 1,
            };
            // A single pair in a flow sequence (`[a: 1]`) has no braces: a second pair
            // needs them, or it would be a new item.
            if let Some(first) = entries.first()
                && self.is_bare_pair(map)
            {
                self.splices.push(Splice {
                    start: first.start,
                    end: first.start,
                    text: "{".into(),
                });
                text.push('}');
            }
            self.splices.push(Splice {
                start: at,
                end: at,
                text,
            });
            return Ok(());
        }
        let Some(last) = entries.last() else {
            return Err(self.refuse(node.start, path, "empty block mapping"));
        };
        let first_key = entries[0].start;
        let indent = self.col(first_key);
        let end = self.extent_end(last.value, self.col(last.start), last.key_span.1);
        let sites = self.sites(entries, added, path, owner_line, node.start)?;
        let hidden_to = sites.iter().map(|s| s.at).fold(end, usize::max);
        self.check_hidden_keys(first_key, hidden_to, indent, added, path)?;
        let blank = self.blank_separated(entries);
        let pad = " ".repeat(indent);
        for site in sites {
            let mut lines = Vec::new();
            for (n, &k) in site.keys.iter().enumerate() {
                let (key, v) = added[k];
                if blank && n > 0 {
                    lines.push(String::new());
                }
                path.push(key.clone());
                let rendering = self.value_rendering(path, v);
                path.pop();
                push_entry(&mut lines, &yaml_text::key(key), rendering, self.style);
            }
            let mut lines: Vec<String> = lines
                .into_iter()
                .map(|l| yaml_text::indent_line(&pad, l))
                .collect();
            if blank {
                // Keep the mapping's blank-line separation: a blank line before the new key,
                // or after it when it goes before the first key.
                let before = &self.doc.text[..site.at];
                let last = before.strip_suffix('\n').unwrap_or(before);
                let after_blank = last
                    .rsplit('\n')
                    .next()
                    .is_some_and(|l| l.trim().is_empty());
                // In place of a removed key, the new one inherits its separation.
                let replaces = site.after.is_some_and(|i| removed.contains(&i));
                if site.after.is_none() {
                    lines.push(String::new());
                } else if !after_blank && !replaces {
                    lines.insert(0, String::new());
                }
            }
            self.insert_lines(site.at, lines);
        }
        Ok(())
    }

    pub(super) fn insert_lines(&mut self, at: usize, lines: Vec<String>) {
        let body = lines.join(self.nl);
        // A block scalar's final line break is part of its value, so it cannot end a file
        // that has no final newline: the file gains one then.
        let block_scalar = lines.iter().any(|l| {
            let t = l.split(" #").next().unwrap_or(l).trim_end();
            t.ends_with(['|', '>']) || t.ends_with("|-") || t.ends_with(">-")
        });
        let text = if at >= self.doc.text.len()
            && super::has_content(&self.doc.text)
            && !self.doc.text.ends_with('\n')
        {
            // A clip/keep block scalar ending the file gains no final line break from the
            // new lines: it becomes strip, which reads the same value.
            if let Some(fix) = self.chomp_fix_at_eof() {
                self.splices.push(fix);
            }
            if block_scalar {
                format!("{}{}{}", self.nl, body, self.nl)
            } else {
                format!("{}{}", self.nl, body)
            }
        } else {
            format!("{}{}", body, self.nl)
        };
        self.splices.push(Splice {
            start: at,
            end: at,
            text,
        });
    }

    /// Inserts `v` (new index `index`) just before the old item `before`, in its style.
    pub(super) fn insert_item_before(
        &mut self,
        seq: NodeId,
        flow: bool,
        before: usize,
        v: &Value,
        index: usize,
        path: &mut Vec<String>,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        let next = self.tree.node(items[before]);
        if flow {
            let text = format!("{}, ", yaml_text::flow(v));
            self.splices.push(Splice {
                start: next.start,
                end: next.start,
                text,
            });
            return Ok(());
        }
        let dash = self
            .dash_of(seq, before)
            .ok_or_else(|| self.refuse(next.start, path, "cannot find the item's `-`"))?;
        let line = self.doc.line_of(dash);
        let line_start = self.doc.line_start(line);
        if !self.doc.text[line_start..dash].trim().is_empty() {
            return Err(self.refuse(dash, path, "the item shares its line with another `-`"));
        }
        self.check_not_repeated(line, dash, path)?;
        // Comment lines right above the item describe it: insert above them.
        let mut at_line = line;
        while at_line > 0
            && self
                .doc
                .masked_line_text(at_line - 1)
                .trim_start()
                .starts_with('#')
        {
            if self.lines.get(at_line - 1).is_some() {
                break; // a masked template line, not a comment
            }
            at_line -= 1;
        }
        let line_start_at = self.doc.line_start(at_line);
        path.push(index.to_string());
        let rendering = self.value_rendering(path, v);
        path.pop();
        let mut lines = Vec::new();
        push_item_rendering(&mut lines, rendering);
        let pad = " ".repeat(dash - line_start);
        let mut text: String = lines
            .into_iter()
            .map(|l| yaml_text::indent_line(&pad, l) + self.nl)
            .collect();
        // Items separated by blank lines: keep the separation.
        if at_line > 0 && self.doc.line_text(at_line - 1).trim().is_empty() {
            text.push_str(self.nl);
        }
        self.splices.push(Splice {
            start: line_start_at,
            end: line_start_at,
            text,
        });
        Ok(())
    }

    pub(super) fn append_items(
        &mut self,
        seq: NodeId,
        flow: bool,
        new_items: &[Value],
        first_index: usize,
        path: &mut Vec<String>,
        owner_line: usize,
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        if flow {
            let text = flow_tail(!items.is_empty(), new_items.iter().map(yaml_text::flow));
            let at = match items.last() {
                Some(&last) => self.tree.node(last).end,
                None => node.start + 1,
            };
            self.splices.push(Splice {
                start: at,
                end: at,
                text,
            });
            return Ok(());
        }
        let Some(last_idx) = items.len().checked_sub(1) else {
            return Err(self.refuse(node.start, path, "empty block sequence"));
        };
        let dash = self
            .dash_of(seq, last_idx)
            .ok_or_else(|| self.refuse(node.start, path, "cannot find the last item's `-`"))?;
        let dash_col = self.col(dash);
        if !self.doc.line_text(self.doc.line_of(dash))[..dash_col]
            .trim()
            .is_empty()
        {
            return Err(self.refuse(
                dash,
                path,
                "the last item shares its line with another `-`; edit it by hand",
            ));
        }
        let end = self.extent_end(items[last_idx], dash_col, dash + 1);
        let at = self.template_safe_point(end, owner_line, node.start, path)?;
        let mut lines = Vec::new();
        for (i, v) in new_items.iter().enumerate() {
            path.push((first_index + i).to_string());
            let rendering = self.value_rendering(path, v);
            path.pop();
            push_item_rendering(&mut lines, rendering);
        }
        let pad = " ".repeat(dash_col);
        let mut lines: Vec<String> = lines
            .into_iter()
            .map(|l| yaml_text::indent_line(&pad, l))
            .collect();
        // Items separated by blank lines: keep the separation.
        let dash_line = self.doc.line_of(dash);
        if last_idx > 0 && dash_line > 0 && self.doc.line_text(dash_line - 1).trim().is_empty() {
            lines.insert(0, String::new());
        }
        self.insert_lines(at, lines);
        Ok(())
    }

    pub(super) fn remove_entry(
        &mut self,
        map: NodeId,
        idx: usize,
        flow: bool,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(map);
        let NodeKind::Mapping { entries, .. } = &node.kind else {
            unreachable_kind()
        };
        let e = &entries[idx];
        let mut child_path = path.to_vec();
        child_path.push(e.key.clone());
        if let Some(m) = &self.doc.masked
            && let Some(a) = m.inline_action_in(e.key_span.0..e.key_span.1.max(e.key_span.0 + 1))
        {
            return Err(self.refuse(
                e.key_span.0,
                &child_path,
                format!("the key comes from the template action at line {}", a.line),
            ));
        }
        self.check_not_repeated(self.doc.line_of(e.start), e.start, &child_path)?;
        let value = self.tree.node(e.value);
        if flow {
            let (start, end) = if idx > 0 {
                let prev = &entries[idx - 1];
                (
                    self.tree.node(prev.value).end.max(prev.key_span.1),
                    value.end.max(e.key_span.1),
                )
            } else {
                (e.start, entries.get(1).map_or(value.end, |n| n.start))
            };
            self.splices.push(Splice {
                start,
                end,
                text: String::new(),
            });
            return Ok(());
        }
        let line = self.doc.line_of(e.start);
        let line_start = self.doc.line_start(line);
        let key_col = e.start - line_start;
        let end = self.extent_end(e.value, key_col, e.key_span.1);
        if self.doc.text[line_start..e.start].trim().is_empty() {
            self.splices.push(Splice {
                start: line_start,
                end,
                text: String::new(),
            });
        } else if let Some(next) = entries.get(idx + 1) {
            // `- key: v` as the first key of an item: the next key moves up behind the dash.
            self.splices.push(Splice {
                start: e.start,
                end: next.start,
                text: String::new(),
            });
        } else {
            return Err(self.refuse(
                e.key_span.0,
                &child_path,
                "the key shares its line with other syntax; edit it by hand",
            ));
        }
        Ok(())
    }

    pub(super) fn remove_item(
        &mut self,
        seq: NodeId,
        idx: usize,
        flow: bool,
        path: &[String],
    ) -> Result<(), Refusal> {
        let node = self.tree.node(seq);
        let NodeKind::Sequence { items, .. } = &node.kind else {
            unreachable_kind()
        };
        let item = self.tree.node(items[idx]);
        let mut child_path = path.to_vec();
        child_path.push(idx.to_string());
        self.check_not_repeated(self.doc.line_of(item.start), item.start, &child_path)?;
        if flow {
            let (start, end) = if idx > 0 {
                (self.tree.node(items[idx - 1]).end, item.end)
            } else {
                (
                    item.start,
                    items.get(1).map_or(item.end, |&n| self.tree.node(n).start),
                )
            };
            self.splices.push(Splice {
                start,
                end,
                text: String::new(),
            });
            return Ok(());
        }
        let dash = self
            .dash_of(seq, idx)
            .ok_or_else(|| self.refuse(item.start, &child_path, "cannot find the item's `-`"))?;
        let line_start = self.doc.line_start(self.doc.line_of(dash));
        if !self.doc.text[line_start..dash].trim().is_empty() {
            return Err(self.refuse(
                dash,
                &child_path,
                "the item shares its line with other syntax; edit it by hand",
            ));
        }
        let end = self.extent_end(items[idx], dash - line_start, dash + 1);
        self.splices.push(Splice {
            start: line_start,
            end,
            text: String::new(),
        });
        Ok(())
    }

    /// Whether flow mapping `map` is a single pair without braces (`[a: 1]`).
    pub(super) fn is_bare_pair(&self, map: NodeId) -> bool {
        let node = self.tree.node(map);
        let NodeKind::Mapping {
            flow: true,
            entries,
        } = &node.kind
        else {
            return false;
        };
        // A braced mapping starts at its `{` (or the properties before it), before its
        // first entry; a bare pair starts with its key.
        entries.len() == 1 && entries[0].start <= node.start
    }

    /// Offset of the `-` of block sequence item `idx`.
    pub(super) fn dash_of(&self, seq: NodeId, idx: usize) -> Option<usize> {
        let NodeKind::Sequence { items, flow: false } = &self.tree.node(seq).kind else {
            return None;
        };
        let item = self.tree.node(items[idx]);
        let bytes = self.doc.text.as_bytes();
        let mut i = item.start;
        // An empty item (`-` alone) starts at or after its dash.
        if item.start == item.end && i > 0 && bytes.get(i.saturating_sub(1)) == Some(&b'-') {
            return Some(i - 1);
        }
        while i > 0 {
            i -= 1;
            match bytes[i] {
                b' ' | b'\t' | b'\n' | b'\r' => continue,
                b'-' => return Some(i),
                b'#' => continue,
                _ => {
                    // Skip a comment line between the dash and the item.
                    let line = self.doc.line_of(i);
                    if self
                        .doc
                        .masked_line_text(line)
                        .trim_start()
                        .starts_with('#')
                    {
                        i = self.doc.line_start(line);
                        continue;
                    }
                    return None;
                }
            }
        }
        None
    }
}

/// New flow-collection members as inserted after the last one (`, a, b`), or into an empty
/// `[]`/`{}` (`a, b`).
fn flow_tail(has_members: bool, parts: impl Iterator<Item = String>) -> String {
    let joined = parts.collect::<Vec<_>>().join(", ");
    if has_members {
        format!(", {joined}")
    } else {
        joined
    }
}
