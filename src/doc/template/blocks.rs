//! Template blocks (`if`/`with`/`range`/`define`/`block` ... `end`): pairs their actions,
//! hides the lines of `else` branches and `define` bodies, and indexes which blocks are open at
//! each line. Never lexes actions or masks them.

use std::ops::Range;

use super::{Action, ActionKind, Block, BlockKind, LineIndex, is_blank};

/// Blocks in opening order, and for each block whether each of its `else` actions is
/// whole-line.
pub(super) fn build_blocks(actions: &[Action]) -> (Vec<Block>, Vec<Vec<bool>>) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut else_whole: Vec<Vec<bool>> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for a in actions {
        match a.kind {
            ActionKind::Open(kind) => {
                stack.push(blocks.len());
                blocks.push(Block {
                    kind,
                    open_line: a.line,
                    else_lines: Vec::new(),
                    end_line: None,
                });
                else_whole.push(Vec::new());
            }
            ActionKind::Else => {
                if let Some(&top) = stack.last() {
                    blocks[top].else_lines.push(a.line);
                    else_whole[top].push(a.whole_line);
                }
            }
            ActionKind::End => {
                if let Some(top) = stack.pop() {
                    blocks[top].end_line = Some(a.line);
                }
            }
            ActionKind::Output | ActionKind::Comment | ActionKind::Assign => {}
        }
    }
    (blocks, else_whole)
}

/// Hides the lines of else branches (after a whole-line `else`) of `if`/`with` blocks and the
/// bodies of `define` blocks: the first non-blank byte (character) of each becomes `#`.
///
/// A branch is kept visible when it is the block's first branch with text: hiding exists so
/// that branches defining the same key do not collide, and when the earlier branches hold no
/// text (`{{- if .Values.existing }}{{- else }}<the whole document>{{- end }}`, or a
/// `fail` guard) there is nothing to collide with, while hiding would hide the document.
///
/// A block that chooses a key's value over lines of its own (`value_blocks`, see
/// `super::value_blocks`) has its first branch hidden too: its text is the value.
pub(super) fn hide_lines(
    blocks: &[Block],
    else_whole: &[Vec<bool>],
    value_blocks: &[bool],
    lines: &LineIndex,
    out: &mut [u8],
) -> Vec<Range<usize>> {
    let n = lines.count();
    if !blocks
        .iter()
        .any(|b| b.kind == BlockKind::Define || !b.else_lines.is_empty())
        && !value_blocks.contains(&true)
    {
        return Vec::new();
    }
    // texts_before[l]: lines before 1-based line l whose masked text is not blank, a comment
    // or a masked action line.
    let mut texts_before = vec![0usize; n + 2];
    for l in 0..n {
        let r = lines.content(out, l);
        let first = out[r].iter().find(|&&c| !is_blank(c));
        let text = first.is_some_and(|&c| c != b'#');
        texts_before[l + 2] = texts_before[l + 1] + usize::from(text);
    }
    let texts_in = |from: usize, to: usize| {
        let (from, to) = (from.min(n + 1), to.min(n + 1));
        texts_before[to].saturating_sub(texts_before[from])
    };
    // Line `l` (1-based) hidden iff covered; ranges are exclusive of their ends.
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for (i, (b, whole)) in blocks.iter().zip(else_whole).enumerate() {
        let end = b.end_line.unwrap_or(n + 1);
        if value_blocks.get(i).copied().unwrap_or(false) {
            let first_end = b.else_lines.first().copied().unwrap_or(end);
            regions.push((b.open_line + 1, first_end));
        }
        match b.kind {
            BlockKind::If | BlockKind::With if !b.else_lines.is_empty() => {
                // Branch k runs from boundary k (exclusive) to boundary k+1 (exclusive).
                let boundaries: Vec<usize> = std::iter::once(b.open_line)
                    .chain(b.else_lines.iter().copied())
                    .chain(std::iter::once(end))
                    .collect();
                let first_with_text = boundaries
                    .windows(2)
                    .position(|w| texts_in(w[0] + 1, w[1]) > 0);
                for (k, w) in boundaries.windows(2).enumerate().skip(1) {
                    let after_whole_line_else = whole.get(k - 1).copied().unwrap_or(false);
                    if after_whole_line_else && first_with_text != Some(k) {
                        regions.push((w[0] + 1, w[1]));
                    }
                }
            }
            BlockKind::Define => regions.push((b.open_line + 1, end)),
            _ => {}
        }
    }
    if regions.is_empty() {
        return Vec::new();
    }
    // Coverage count per line by a difference array: linear however regions nest.
    let mut delta = vec![0i64; n + 2];
    for (from, to) in regions {
        let to = to.min(n + 1);
        if from < to {
            delta[from] += 1;
            delta[to] -= 1;
        }
    }
    let mut hidden = Vec::new();
    let mut depth = 0;
    for (l1, d) in delta.iter().enumerate().take(n + 1) {
        depth += d;
        if depth <= 0 || l1 == 0 {
            continue;
        }
        let r = lines.content(out, l1 - 1);
        if let Some(p) = out[r.clone()].iter().position(|&c| !is_blank(c)) {
            let i = r.start + p;
            if out[i] != b'#' {
                out[i] = b'#';
                // A multi-byte character: its continuation bytes become `~`.
                let mut k = i + 1;
                while k < r.end && (out[k] & 0xC0) == 0x80 {
                    out[k] = b'~';
                    k += 1;
                }
            }
        }
        hidden.push(r);
    }
    hidden
}

/// Which blocks are open at the start of each line: the innermost open block changes only at
/// a few lines (`transitions`), and every block knows the block open around it (`parents`).
#[derive(Debug, Clone, Default)]
pub(super) struct OpenIndex {
    /// (first 1-based line, innermost open block from that line on), strictly increasing.
    transitions: Vec<(usize, Option<usize>)>,
    parents: Vec<Option<usize>>,
}

impl OpenIndex {
    pub(super) fn new(blocks: &[Block]) -> OpenIndex {
        // Block i is open at lines open_line+1 ..= end_line (to the end when unclosed). The
        // intervals nest (a stack built them), and blocks are sorted by opening.
        let last_line = |b: &Block| b.end_line.unwrap_or(usize::MAX);
        let mut transitions: Vec<(usize, Option<usize>)> = Vec::new();
        let mut record = |line: usize, inner: Option<usize>| match transitions.last_mut() {
            Some(t) if t.0 == line => t.1 = inner,
            _ => transitions.push((line, inner)),
        };
        let mut parents = vec![None; blocks.len()];
        let mut stack: Vec<usize> = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let start = b.open_line + 1;
            while let Some(&top) = stack.last() {
                let end = last_line(&blocks[top]);
                if end < start {
                    stack.pop();
                    record(end + 1, stack.last().copied());
                } else {
                    break;
                }
            }
            parents[i] = stack.last().copied();
            if last_line(b) >= start {
                stack.push(i);
                record(start, Some(i));
            }
        }
        while let Some(top) = stack.pop() {
            let end = last_line(&blocks[top]);
            if end == usize::MAX {
                break;
            }
            record(end + 1, stack.last().copied());
        }
        OpenIndex {
            transitions,
            parents,
        }
    }

    pub(super) fn at_line(&self, line: usize) -> Vec<usize> {
        let k = self.transitions.partition_point(|&(l, _)| l <= line);
        let mut inner = if k == 0 {
            None
        } else {
            self.transitions[k - 1].1
        };
        let mut chain = Vec::new();
        while let Some(i) = inner {
            chain.push(i);
            inner = self.parents.get(i).copied().flatten();
        }
        chain.reverse();
        chain
    }
}
