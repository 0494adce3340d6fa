//! Template awareness for the editor: where a node's extent really ends (its template
//! lines included), where a new key or item can go without landing inside a `{{- with }}`
//! block the parent does not share, and which edits a template makes unsafe.

use super::*;

impl Editor<'_> {
    /// Refuses edits inside `define`/`block` bodies, whose text is rendered wherever they are
    /// included. (Edits inside `range` are allowed: the body is rendered once per item, and
    /// the recipe then holds for every item.)
    pub(super) fn check_not_repeated(
        &self,
        line: usize,
        offset: usize,
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        for b in m.open_blocks_at_line(line + 1) {
            let block = &m.blocks[b];
            if matches!(block.kind, BlockKind::Define | BlockKind::Block) {
                return Err(self.refuse(
                    offset,
                    path,
                    format!(
                        "the node is inside a template `{}` block opened at line {}; its text is repeated or reused when rendered, so edit it by hand",
                        block_name(block.kind),
                        block.open_line
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses to replace a value whose text is, or comes from, a template action.
    pub(super) fn check_not_template_supplied(
        &self,
        id: NodeId,
        slot: Slot,
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        let node = self.tree.node(id);
        self.check_not_repeated(self.doc.line_of(node.start), node.start, path)?;
        let span = node.start..node.end.max(node.start + 1);
        if let Some(a) = m.inline_action_in(span) {
            let action = &self.doc.text[a.span.clone()];
            return Err(self.refuse(
                node.start,
                path,
                format!("its value comes from the template action `{action}` at line {}; change the chart's values.yaml instead", a.line),
            ));
        }
        if let Slot::Entry { .. } = slot
            && is_empty_value(self.doc, node)
        {
            let next = self.doc.line_of(node.end.saturating_sub(1)) + 1;
            if let Some((ActionKind::Output, _)) = self.lines.get(next) {
                let text = self.doc.line_text(next).trim();
                return Err(self.refuse(
                    node.start,
                    path,
                    format!("its value is produced by the template line {} (`{text}`); change the chart's values.yaml instead", next + 1),
                ));
            }
        }
        Ok(())
    }

    /// The first byte after a mapping entry or sequence item, including the template lines
    /// that belong to it (see DESIGN "Helm templates") and a keep (`|+`) block scalar's
    /// trailing blank lines, which are part of its value.
    pub(super) fn extent_end(&self, value: NodeId, key_col: usize, key_end: usize) -> usize {
        let node = self.tree.node(value);
        let mut line = self.doc.line_of(node.end.max(key_end).saturating_sub(1)) + 1;
        line = self.kept_blank_lines_end(value, line);
        let empty = is_empty_value(self.doc, node);
        // A block sequence flush with its key (`volumes:` then `- name: x` at the key's
        // column) is continued by output at the key's column too.
        let flush = matches!(node.kind, NodeKind::Sequence { flow: false, .. })
            && self.col(node.start) == key_col;
        let deeper_than = if flush {
            key_col.checked_sub(1)
        } else {
            Some(key_col)
        };
        let base = self
            .doc
            .masked
            .as_ref()
            .map(|m| m.open_blocks_at_line(self.doc.line_of(key_end) + 1));
        let mut first = true;
        loop {
            let start = line;
            // Only the lines right after an empty value supply it.
            line = self.deeper_run_end(line, deeper_than, empty && first);
            first = false;
            // Blocks opened inside the entry (`{{- if }}` … `{{- else }}` … `{{- end }}`
            // around its last lines) end with it: include their else branches and `end` lines.
            if let (Some(m), Some(base)) = (&self.doc.masked, &base) {
                while line < self.doc.line_count() {
                    let here = m.open_blocks_at_line(line + 1);
                    let deeper = here.len() > base.len() && here.starts_with(base);
                    if !(deeper && self.is_branch_line(line)) {
                        break;
                    }
                    line += 1;
                }
            }
            if line == start {
                break;
            }
        }
        self.doc.line_start(line)
    }

    /// The end (0-based line) of the whole-line template actions from `from` on that still
    /// print into the entry whose key is at column `key_col`: output deeper than `deeper_than`
    /// (`nindent N`/`indent N` with N greater, or at a deeper column; `None`: any column),
    /// and `if`/`with`/`range` blocks holding only such lines. With an `empty` value
    /// (`resources:` then `{{- toYaml … }}`), any output line supplies it. Blank lines count
    /// only when a line of the run follows them.
    pub(super) fn deeper_run_end(
        &self,
        from: usize,
        deeper_than: Option<usize>,
        empty: bool,
    ) -> usize {
        let deeper = |col: usize| deeper_than.is_none_or(|d| col > d);
        let Some(m) = &self.doc.masked else {
            return from;
        };
        let (mut line, mut committed, mut depth) = (from, from, 0usize);
        let mut last_seen: Option<usize> = None;
        while line < self.doc.line_count() {
            let acts = self.lines.on_line(line);
            let text = self.doc.line_text(line);
            if acts.is_empty() {
                // Blank, or YAML text inside a block opened in the run.
                let blank = text.trim().is_empty();
                if !(blank || depth > 0 && deeper(leading_spaces(text))) {
                    break;
                }
                line += 1;
                continue;
            }
            let mut ok = true;
            for &i in acts {
                if last_seen.is_some_and(|s| s >= i) {
                    continue; // a multi-line action already looked at
                }
                last_seen = Some(i);
                let a = &m.actions[i];
                let col = self.col(a.span.start);
                match a.kind {
                    ActionKind::Open(BlockKind::Define | BlockKind::Block) => ok = false,
                    ActionKind::Open(_) => depth += 1,
                    ActionKind::Else => ok &= depth > 0,
                    ActionKind::End if depth > 0 => depth -= 1,
                    ActionKind::End => ok = false,
                    ActionKind::Output => ok &= empty || deeper(self.print_col(a)),
                    ActionKind::Comment | ActionKind::Assign => {
                        ok &= empty || depth > 0 || deeper(col)
                    }
                }
            }
            if !ok {
                break;
            }
            line += 1;
            if depth == 0 {
                committed = line;
            }
        }
        committed
    }

    /// The column an output action prints its (first) lines at: `nindent N` → N, `indent N`
    /// → its column + N, else its column; `usize::MAX` when a `{{-` joins it to the line
    /// before (it continues that line's value).
    pub(super) fn print_col(&self, a: &crate::doc::template::Action) -> usize {
        let t = &self.doc.text[a.span.clone()];
        if let Some(n) = number_after(t, "nindent") {
            return n;
        }
        if trims_left(t) {
            return usize::MAX;
        }
        let col = self.col(a.span.start);
        number_after(t, "indent").map_or(col, |n| col + n)
    }

    /// A line that only continues or closes template blocks: a whole-line `else`/`end`, a
    /// line of a hidden (`else`) branch, or a blank line.
    pub(super) fn is_branch_line(&self, line: usize) -> bool {
        if matches!(
            self.lines.get(line),
            Some((ActionKind::End | ActionKind::Else, _))
        ) {
            return true;
        }
        let start = self.doc.line_start(line);
        let hidden = self
            .doc
            .masked
            .as_ref()
            .is_some_and(|m| m.hidden.iter().any(|h| h.start <= start && start <= h.end));
        hidden || self.doc.line_text(line).trim().is_empty()
    }

    /// Moves an insertion point past `end` lines of blocks that the parent does not share,
    /// or refuses when that place is not template-safe (see `placement::check_place`).
    pub(super) fn template_safe_point(
        &self,
        at: usize,
        owner_line: usize,
        offset: usize,
        path: &[String],
    ) -> Result<usize, Refusal> {
        let target = self
            .doc
            .masked
            .as_ref()
            .map(|m| m.open_blocks_at_line(owner_line + 1))
            .unwrap_or_default();
        self.settle(at, &target).map_err(|why| {
            self.refuse(
                offset,
                path,
                format!("no template-safe place to insert here: {why}"),
            )
        })
    }

    /// Refuses to add a key that a hidden template branch (an `else`) of this mapping defines.
    pub(super) fn check_hidden_keys(
        &self,
        from: usize,
        to: usize,
        indent: usize,
        added: &[(&String, &Value)],
        path: &[String],
    ) -> Result<(), Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        for h in m.hidden.iter().filter(|h| {
            h.start >= self.doc.line_start(self.doc.line_of(from)) && h.start < to.max(from)
        }) {
            let line = &self.doc.text[h.clone()];
            if leading_spaces(line) != indent {
                continue;
            }
            let body = line.trim_start();
            for (k, _) in added {
                if body.starts_with(&format!("{k}:")) || body.starts_with(&format!("\"{k}\":")) {
                    return Err(self.refuse(
                        h.start,
                        path,
                        format!("key `{k}` is defined in another branch of a template condition (line {}); adding it here would duplicate it when that branch renders", self.doc.line_col(h.start).0),
                    ));
                }
            }
        }
        Ok(())
    }
}

pub(super) fn block_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::If => "if",
        BlockKind::With => "with",
        BlockKind::Range => "range",
        BlockKind::Define => "define",
        BlockKind::Block => "block",
    }
}

/// `N` in `… word N …` (`nindent 8`), where `word` is a whole word.
pub(super) fn number_after(t: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = t[from..].find(word).map(|i| i + from) {
        let before_ok = t[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        let rest = &t[i + word.len()..];
        if before_ok && rest.starts_with([' ', '\t']) {
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
        from = i + word.len();
    }
    None
}

/// `{{- `: the action trims the whitespace (line breaks included) before it.
pub(super) fn trims_left(action: &str) -> bool {
    action
        .strip_prefix("{{-")
        .is_some_and(|r| r.starts_with([' ', '\t', '\n', '\r']))
}

/// ` -}}`: the action trims the whitespace (line breaks included) after it.
pub(super) fn trims_right(action: &str) -> bool {
    action
        .strip_suffix("-}}")
        .is_some_and(|r| r.ends_with([' ', '\t', '\n', '\r']))
}
