//! Block scalar tails: where a `|`/`>` value really ends, so text inserted after it leaves
//! the value exactly as it was. The parser's node ends at the last content line; with keep
//! chomping (`|+`) the blank lines after it are part of the value, and a scalar that ends
//! the file without a final line break has no final break in its value.

use super::*;

/// Chomping indicator of a block scalar header (`|`, `|-`, `>+2`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chomp {
    Clip,
    Strip,
    Keep,
}

impl Editor<'_> {
    /// The block scalar that ends node `id` (itself, or its last entry's / item's, down the
    /// tree), with its chomping and the offset just after its header's indicators.
    fn last_block_scalar(&self, id: NodeId) -> Option<(NodeId, Chomp, usize)> {
        let mut id = id;
        loop {
            let node = self.tree.node(id);
            id = match &node.kind {
                NodeKind::Mapping { entries, .. } => entries.last()?.value,
                NodeKind::Sequence { items, .. } => *items.last()?,
                NodeKind::Scalar {
                    style: ScalarStyle::Literal | ScalarStyle::Folded,
                } => {
                    let header = self.doc.text.get(node.start..)?;
                    let mut chars = header.char_indices();
                    if !matches!(chars.next(), Some((_, '|' | '>'))) {
                        return None;
                    }
                    let mut chomp = Chomp::Clip;
                    let mut end = node.start + 1;
                    for (i, c) in chars.take(2) {
                        match c {
                            '+' => chomp = Chomp::Keep,
                            '-' => chomp = Chomp::Strip,
                            '1'..='9' => {}
                            _ => break,
                        }
                        end = node.start + i + 1;
                    }
                    return Some((id, chomp, end));
                }
                _ => return None,
            };
        }
    }

    /// `line` (the first line after node `id`'s content) moved past the blank lines that a
    /// keep (`|+`/`>+`) block scalar ending the node holds as value; a last, whitespace-only
    /// line without a line break holds none and stays after the insertion point.
    pub(super) fn kept_blank_lines_end(&self, id: NodeId, mut line: usize) -> usize {
        if !matches!(self.last_block_scalar(id), Some((_, Chomp::Keep, _))) {
            return line;
        }
        while line < self.doc.line_count() && self.doc.line_text(line).trim().is_empty() {
            let next = self.doc.line_start(line + 1);
            if !self.doc.text[..next].ends_with('\n') {
                break;
            }
            line += 1;
        }
        line
    }

    /// For text appended at the very end of a file without a final line break: a clip or
    /// keep block scalar there has no final break in its value, and would gain one. Returns
    /// the splice that makes it strip (`|` → `|-`, `|+` → `|-`), which reads the same value.
    pub(super) fn chomp_fix_at_eof(&self) -> Option<Splice> {
        let text = &self.doc.text;
        let (id, chomp, header_end) = self.last_block_scalar(self.tree.root)?;
        let node = self.tree.node(id);
        if chomp == Chomp::Strip || text[node.end..].contains('\n') {
            return None;
        }
        Some(match chomp {
            Chomp::Keep => {
                let plus = node.start + text[node.start..header_end].find('+')?;
                Splice {
                    start: plus,
                    end: plus + 1,
                    text: "-".into(),
                }
            }
            _ => Splice {
                start: header_end,
                end: header_end,
                text: "-".into(),
            },
        })
    }
}
