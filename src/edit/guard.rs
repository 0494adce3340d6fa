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
    /// that belong to it (see DESIGN "Helm templates").
    pub(super) fn extent_end(&self, value: NodeId, key_col: usize, key_end: usize) -> usize {
        let node = self.tree.node(value);
        let mut line = self.doc.line_of(node.end.max(key_end).saturating_sub(1)) + 1;
        let empty = is_empty_value(self.doc, node);
        while let Some((kind, col)) = self.lines.get(line) {
            let belongs = matches!(
                kind,
                ActionKind::Output | ActionKind::Comment | ActionKind::Assign
            ) && (empty || col > key_col);
            if !belongs {
                break;
            }
            line += 1;
        }
        // Blocks opened inside the entry (`{{- if }}` … `{{- else }}` … `{{- end }}` around
        // its last lines) end with it: include their else branches and `end` lines.
        if let Some(m) = &self.doc.masked {
            let base = m.open_blocks_at_line(self.doc.line_of(key_end) + 1);
            while line < self.doc.line_count() {
                let here = m.open_blocks_at_line(line + 1);
                let deeper = here.len() > base.len() && here.starts_with(&base);
                if !(deeper && self.is_branch_line(line)) {
                    break;
                }
                line += 1;
            }
        }
        self.doc.line_start(line)
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

    /// Moves an insertion point past `end` lines of blocks that the parent does not share.
    pub(super) fn template_safe_point(
        &self,
        mut at: usize,
        owner_line: usize,
        offset: usize,
        path: &[String],
    ) -> Result<usize, Refusal> {
        let Some(m) = &self.doc.masked else {
            return Ok(at);
        };
        let target = m.open_blocks_at_line(owner_line + 1);
        loop {
            let line = self.doc.line_of(at);
            if at >= self.doc.text.len() {
                return Ok(at);
            }
            let here = m.open_blocks_at_line(line + 1);
            if here == target {
                return Ok(at);
            }
            if here.len() > target.len() && here.starts_with(&target) && self.is_branch_line(line) {
                at = self.doc.line_start(line + 1);
                continue;
            }
            return Err(self.refuse(
                offset,
                path,
                format!(
                    "no template-safe place to insert here: line {} is inside a template block that the parent does not share",
                    line + 1
                ),
            ));
        }
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
