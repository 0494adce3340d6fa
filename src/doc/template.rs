//! Helm template masking: turns a chart template into same-length text that a YAML parser
//! accepts, and records where every template action was, so edits can stay template-aware.
//!
//! (Interface fixed by the document layer; implementation in progress.)

use std::ops::Range;

/// What a `{{ ... }}` action does to the rendered text and to block structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// `if`, `with`, `range`, `define`, `block`: opens a block closed by `end`.
    Open(BlockKind),
    /// `else`, `else if ...`, `else with ...`: starts another branch of the innermost block.
    Else,
    /// `end`.
    End,
    /// Anything that prints text: `include`, `toYaml`, `.Values.x`, `template`, `tpl`, `$x`.
    Output,
    /// `{{/* ... */}}`: prints nothing.
    Comment,
    /// `$x := ...` / `$x = ...`: prints nothing.
    Assign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    If,
    With,
    Range,
    Define,
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Bytes of the whole action, `{{` through `}}`, in the source.
    pub span: Range<usize>,
    /// 1-based line on which the action starts.
    pub line: usize,
    pub kind: ActionKind,
    /// The action's lines hold nothing but whitespace and actions, so it was masked as a
    /// comment line; otherwise it was masked as an inline same-length placeholder scalar.
    pub whole_line: bool,
}

/// A template block (`if`/`with`/`range`/`define`/`block` ... `end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// 1-based lines of the opening action, of each `else` action, and of the `end` action
    /// (`None` when the file ends first).
    pub open_line: usize,
    pub else_lines: Vec<usize>,
    pub end_line: Option<usize>,
}

/// The masked view of one template file.
#[derive(Debug, Clone)]
pub struct Masked {
    /// Same byte length as the source, with the same line breaks at the same offsets.
    pub text: String,
    pub actions: Vec<Action>,
    pub blocks: Vec<Block>,
    /// Byte ranges of source lines hidden as comments (else branches, `define` bodies), so
    /// that branches defining the same key do not collide.
    pub hidden: Vec<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskError {
    /// 1-based line and column in the source.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// True when `src` contains template syntax worth masking.
pub fn has_actions(src: &str) -> bool {
    src.contains("{{")
}

/// Masks every template action in `src` (see module docs for the rules).
pub fn mask(_src: &str) -> Result<Masked, MaskError> {
    unimplemented!("template masking lands with the document layer")
}

impl Masked {
    /// Indices into `blocks` of the blocks open at the start of 1-based `line`, outermost
    /// first (a line holding an `end` still counts as inside its block).
    pub fn open_blocks_at_line(&self, _line: usize) -> Vec<usize> {
        unimplemented!()
    }

    /// The inline-placeholder action overlapping `range`, if any.
    pub fn inline_action_in(&self, _range: Range<usize>) -> Option<&Action> {
        unimplemented!()
    }

    /// Restores the source from the masked text: the inverse of `mask`.
    pub fn unmask(&self, _source: &str) -> String {
        unimplemented!()
    }
}

/// Masks one string value with the inline/whole-line rules only (for canonical comparison).
pub fn mask_fragment(s: &str) -> String {
    s.to_string()
}
