//! Helm template masking: turns a chart template into same-length text that a YAML parser
//! accepts, and records where every template action was, so edits can stay template-aware.
//!
//! Rules (see `mask`):
//!
//! 1. Actions are lexed like Go's `text/template`: an action runs from `{{` to the first `}}`
//!    that is not inside a string `"..."`, a raw string `` `...` ``, a char constant `'x'` or a
//!    comment `/* ... */`. Trim markers (`{{-`, `-}}`) are part of the action.
//! 2. Each action gets an [`ActionKind`] from its first word.
//! 3. An action whose line(s) hold only whitespace and actions is *whole-line*: it is masked as
//!    a comment (`#` on the action's first byte of every line it covers, `~` for the rest, line
//!    break bytes kept). Inside a YAML block scalar (`key: |` and more-indented lines) the `#`
//!    is moved right, to the block's content indentation, so the line stays scalar content
//!    instead of ending the scalar.
//! 4. Any other action is *inline*: it becomes a same-length placeholder, `_` followed by
//!    `[a-z0-9_]`, a function of the action's bytes only ([`placeholder`]). One exception:
//!    an inline action that ends a line in value position (`labels: {{ include .. | nindent
//!    4 }}`, `- {{ toYaml . | nindent 8 | trim }}`) while the next text line is a `key:` or
//!    `- ` item nested under it prints structure that those lines continue; a scalar there
//!    would not parse, so it is masked as a trailing comment (`labels: #~~~`). It stays an
//!    inline action (`whole_line == false`): its line holds other text.
//! 5. Lines of `if`/`with` branches after a whole-line `else`, and the bodies of `define`
//!    blocks, are hidden: their first non-blank byte becomes `#`. The block's first branch
//!    that holds text is never hidden (`{{- if .x }}{{ fail .. }}{{- else }}<document>`).
//!
//! 6. After a failed parse only (the loader, `doc::Document::parse`, asks): an inline action
//!    glued to the flow item before it (`["--a"{{ if .b }}, "--b"{{ end }}]`) is re-masked
//!    as blanks ([`Masked::glued_action_at`]). Other shapes that leave invalid YAML are
//!    explained with the action's line and shape ([`Masked::explain_unmaskable`]).
//!
//! Multi-line inline actions (rare) keep their line breaks; their continuation lines keep
//! whitespace as spaces and fill the rest with `_`.
//!
//! The masked text has the source's length and line breaks at the same offsets, so node spans
//! found in it are valid spans of the source.

mod actions;
mod blocks;
pub mod branches;
mod choices;
mod context;
mod expr;
mod include_calls;
pub mod reads;
mod unmaskable;

use std::ops::Range;

use actions::{classify, lex};
use blocks::{OpenIndex, build_blocks, hide_lines};
pub use choices::Choice;

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
    /// `if`/`else` blocks inside one line that choose one key or word, each masked as one
    /// placeholder (see `choices`).
    pub choices: Vec<Choice>,
    /// Index for [`Masked::open_blocks_at_line`].
    open_index: OpenIndex,
}

/// A template action whose masked form leaves invalid YAML: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmaskable {
    /// 1-based line and column of the action in the source.
    pub line: usize,
    pub col: usize,
    /// The action's text (shortened, on one line).
    pub action: String,
    /// What shape it is in, and what to do.
    pub shape: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskError {
    /// 1-based line and column in the source.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for MaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for MaskError {}

/// True when `src` contains template syntax worth masking.
pub fn has_actions(src: &str) -> bool {
    memchr::memmem::find(src.as_bytes(), b"{{").is_some()
}

/// Masks every template action in `src` (see module docs for the rules). A UTF-8 byte-order
/// mark is kept as it is and is not text of the first line (so `\u{feff}{{- if .x }}` is
/// still a whole-line action).
pub fn mask(src: &str) -> Result<Masked, MaskError> {
    let Some(rest) = src.strip_prefix(BOM) else {
        return mask_text(src);
    };
    let mut m = mask_text(rest)?;
    let shift = |r: &mut Range<usize>| *r = r.start + BOM.len()..r.end + BOM.len();
    m.actions.iter_mut().for_each(|a| shift(&mut a.span));
    m.hidden.iter_mut().for_each(shift);
    m.text.insert_str(0, BOM);
    Ok(m)
}

const BOM: &str = "\u{feff}";

fn mask_text(src: &str) -> Result<Masked, MaskError> {
    if !has_actions(src) {
        return Ok(Masked {
            text: src.to_owned(),
            actions: Vec::new(),
            blocks: Vec::new(),
            hidden: Vec::new(),
            choices: Vec::new(),
            open_index: OpenIndex::default(),
        });
    }
    let bytes = src.as_bytes();
    let spans = lex(src)?;
    let lines = LineIndex::new(bytes);
    let mut out = bytes.to_vec();
    let actions = mask_actions(bytes, &spans, &lines, &mut out, Mode::File);
    // Before hiding: a hidden line's `#` must stay.
    let choices = choices::mask_choices(bytes, &actions, &lines, &mut out);
    let (blocks, else_whole_line) = build_blocks(&actions);
    let value_blocks = value_blocks(bytes, &actions, &blocks, &lines);
    let hidden = hide_lines(&blocks, &else_whole_line, &value_blocks, &lines, &mut out);
    let open_index = OpenIndex::new(&blocks);
    let text = String::from_utf8(out).map_err(|e| MaskError {
        line: 1,
        col: 1,
        message: format!("internal error: masking produced invalid UTF-8 ({e})"),
    })?;
    Ok(Masked {
        text,
        actions,
        blocks,
        hidden,
        choices,
        open_index,
    })
}

/// Masks one string value with the lexing and masking rules of [`mask`] only (no hidden
/// branches, no blocks), treating each line of `s` as a file line: an action alone on its
/// line becomes a `#~~~` comment, any other becomes its content-addressed placeholder.
///
/// This matches how a *block scalar's* lines (`|`, `|-`) are masked inside a file. A
/// single-line plain or quoted scalar always shares its file line with a key, `- ` or a
/// quote, so its actions are inline there: canonicalize such values with
/// [`mask_fragment_inline`]. On an unterminated action, returns `s` unchanged.
pub fn mask_fragment(s: &str) -> String {
    mask_fragment_with(s, Mode::FragmentLines)
}

/// Like [`mask_fragment`], but every action becomes its inline placeholder, as it does in a
/// plain or quoted scalar that shares its line with other text (`key: "{{ .Values.x }}"`).
/// On an unterminated action, returns `s` unchanged.
pub fn mask_fragment_inline(s: &str) -> String {
    mask_fragment_with(s, Mode::FragmentInline)
}

fn mask_fragment_with(s: &str, mode: Mode) -> String {
    if !has_actions(s) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let Ok(spans) = lex(s) else {
        return s.to_owned();
    };
    let lines = LineIndex::new(bytes);
    let mut out = bytes.to_vec();
    mask_actions(bytes, &spans, &lines, &mut out, mode);
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// The content-addressed inline placeholder for an action's bytes: `_` followed by the base-36
/// digits of the action's 64-bit FNV-1a hash, truncated or padded with `_` to `len` bytes.
/// Always a valid YAML plain scalar (as a key, a value, in flow collections, inside quotes)
/// that resolves to a string.
pub fn placeholder(action: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.max(14));
    out.push(b'_');
    let mut h = fnv1a64(action);
    let mut digits = [0u8; 13];
    let mut n = 0;
    loop {
        let d = (h % 36) as u8;
        digits[n] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        n += 1;
        h /= 36;
        if h == 0 {
            break;
        }
    }
    out.extend(digits[..n].iter().rev());
    out.resize(len, b'_');
    out
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Masked {
    /// Indices into `blocks` of the blocks open at the start of 1-based `line`, outermost
    /// first (a line holding an `end` still counts as inside its block).
    pub fn open_blocks_at_line(&self, line: usize) -> Vec<usize> {
        self.open_index.at_line(line)
    }

    /// The inline-placeholder action overlapping `range`, if any. An empty range is a point:
    /// it overlaps an action it falls strictly inside of.
    pub fn inline_action_in(&self, range: Range<usize>) -> Option<&Action> {
        let first = self.actions.partition_point(|a| a.span.end <= range.start);
        self.actions[first..]
            .iter()
            .take_while(|a| a.span.start < range.end.max(range.start.saturating_add(1)))
            .find(|a| {
                !a.whole_line
                    && if range.is_empty() {
                        a.span.start < range.start && range.start < a.span.end
                    } else {
                        a.span.start < range.end && range.start < a.span.end
                    }
            })
    }

    /// `msg` with every placeholder of this file's inline actions replaced by the action's
    /// source text in backticks (shortened, on one line): placeholders are masking's own
    /// names and must never reach a user. `source` is the text `mask` was called with.
    pub fn name_placeholders(&self, source: &str, msg: &str) -> String {
        if !msg.contains('_') {
            return msg.to_string();
        }
        let t = self.text.as_bytes();
        let mut out = msg.to_string();
        // A choice block first: its placeholder starts where its `if` does.
        for c in &self.choices {
            let Some(ph) = t
                .get(c.span.clone())
                .and_then(|p| std::str::from_utf8(p).ok())
            else {
                continue;
            };
            let ph = ph.trim_end_matches(':').trim_end_matches('_');
            if ph.len() >= 5 && out.contains(ph) {
                out =
                    replace_eating_padding(&out, ph, &format!("`{}`", self.choice_text(source, c)));
            }
        }
        for a in self
            .actions
            .iter()
            .filter(|a| !a.whole_line && !self.in_choice(a))
        {
            let Some(masked) = t.get(a.span.clone()) else {
                continue;
            };
            // The placeholder is on the action's first line (more lines keep their breaks).
            let first = masked.split(|&c| c == b'\n').next().unwrap_or_default();
            if first.first() != Some(&b'_') || first.len() < 5 {
                continue; // masked as a trailing comment or blanked: no name to leak
            }
            let Ok(ph) = std::str::from_utf8(first) else {
                continue;
            };
            // Longest first: a placeholder padded with `_` is a prefix of nothing else.
            let full = ph.trim_end_matches('_');
            if full.len() < 5 {
                continue;
            }
            // Whole, or cut short by a message that shortens values (`_1eg9o2…`).
            let ph = if out.contains(full) {
                full
            } else if !out.contains("...") && !out.contains('…') {
                continue;
            } else {
                match (8..full.len()).rev().find(|&n| {
                    ["...", "…"]
                        .iter()
                        .any(|ell| out.contains(&format!("{}{ell}", &full[..n])))
                }) {
                    Some(n) => &full[..n],
                    None => continue,
                }
            };
            let shown = format!("`{}`", action_text(source, a));
            out = replace_eating_padding(&out, ph, &shown);
        }
        out
    }

    /// The action is one of a choice block's (`if`, `else`, `end` masked as one placeholder).
    pub fn in_choice(&self, a: &Action) -> bool {
        self.choices
            .iter()
            .any(|c| c.span.start <= a.span.start && a.span.end <= c.span.end)
    }

    /// A choice block's source text as users see it: at most 60 characters.
    pub fn choice_text(&self, source: &str, c: &Choice) -> String {
        let text = source.get(c.span.clone()).unwrap_or_default();
        let shown: String = text.chars().take(60).collect();
        if shown.len() < text.len() {
            format!("{shown}...")
        } else {
            shown
        }
    }

    /// Restores the source from the masked text: the inverse of `mask`. Copies the source's
    /// bytes back over every masked range (action spans and hidden lines) of `self.text`;
    /// `source` must be the text `mask` was called with (given any other text, of another
    /// length or splitting a character, it returns `source` unchanged).
    pub fn unmask(&self, source: &str) -> String {
        if source.len() != self.text.len() {
            return source.to_owned();
        }
        let mut out = self.text.as_bytes().to_vec();
        let src = source.as_bytes();
        for r in self
            .actions
            .iter()
            .map(|a| a.span.clone())
            .chain(self.choices.iter().map(|c| c.span.clone()))
            .chain(self.hidden.iter().cloned())
        {
            out[r.clone()].copy_from_slice(&src[r]);
        }
        String::from_utf8(out).unwrap_or_else(|_| source.to_owned())
    }
}

/// `text` with every `ph` (and the `_` padding after it) replaced by `shown`.
fn replace_eating_padding(text: &str, ph: &str, shown: &str) -> String {
    let mut rebuilt = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(ph) {
        rebuilt.push_str(&rest[..i]);
        rebuilt.push_str(shown);
        rest = rest[i + ph.len()..].trim_start_matches('_');
    }
    rebuilt.push_str(rest);
    rebuilt
}

/// An action's source text as users see it in messages: at most 60 characters, on one line.
pub fn action_text(source: &str, a: &Action) -> String {
    let text = source.get(a.span.clone()).unwrap_or_default();
    let shown: String = text.chars().take(60).collect();
    let shown = if shown.len() < text.len() {
        format!("{shown}...")
    } else {
        shown
    };
    shown.replace(['\n', '\r'], " ")
}

// ---------------------------------------------------------------------------------------------
// Lines

/// Start offsets of `\n`-separated lines.
struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    fn new(b: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', b).map(|i| i + 1));
        LineIndex {
            starts,
            len: b.len(),
        }
    }

    fn count(&self) -> usize {
        self.starts.len()
    }

    /// Byte range of 0-based line `l`, without its `\n` (and without a `\r` before it).
    fn content(&self, b: &[u8], l: usize) -> Range<usize> {
        let start = self.starts[l];
        let mut end = self.starts.get(l + 1).map_or(self.len, |&s| s - 1);
        if end > start && b[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

// ---------------------------------------------------------------------------------------------
// Masking

/// How [`mask_actions`] treats a text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A template file: whole-line actions become comments (indented into block scalars),
    /// and an action that ends a `key:` / `- ` line followed by nested lines becomes a
    /// trailing comment.
    File,
    /// One string value read as file lines (the content of a block scalar): whole-line
    /// actions become comments; nothing else.
    FragmentLines,
    /// One string value whose actions all share their line with other text.
    FragmentInline,
}

/// Masks the actions at `spans` into `out` and returns them.
fn mask_actions(
    b: &[u8],
    spans: &[Range<usize>],
    lines: &LineIndex,
    out: &mut [u8],
    mode: Mode,
) -> Vec<Action> {
    // Lines holding something other than whitespace and actions.
    let mut has_text = vec![false; lines.count()];
    let mut line = 0;
    let mut pos = 0;
    // Line by line (memchr finds the breaks), stopping at each line's first non-blank.
    let mut note_gap = |from: usize, to: usize, line: &mut usize| {
        let mut start = from;
        loop {
            let end = memchr::memchr(b'\n', &b[start..to]).map_or(to, |p| start + p);
            if !has_text[*line] && b[start..end].iter().any(|&c| !is_blank(c)) {
                has_text[*line] = true;
            }
            if end == to {
                break;
            }
            *line += 1;
            start = end + 1;
        }
    };
    // (first, last) 0-based lines of each action.
    let mut action_lines = Vec::with_capacity(spans.len());
    for s in spans {
        note_gap(pos, s.start, &mut line);
        let first = line;
        line += memchr::memchr_iter(b'\n', &b[s.clone()]).count();
        action_lines.push((first, line));
        pos = s.end;
    }
    note_gap(pos, b.len(), &mut line);

    let whole: Vec<bool> = action_lines
        .iter()
        .map(|&(first, last)| {
            mode != Mode::FragmentInline && !has_text[first..=last].contains(&true)
        })
        .collect();
    let (scalars, trailing) = if mode == Mode::File {
        let scalars = BlockScalars::find(b, lines, &has_text);
        let trailing =
            trailing_value_actions(b, spans, &action_lines, &whole, lines, &has_text, &scalars);
        (scalars, trailing)
    } else {
        (BlockScalars::default(), vec![false; spans.len()])
    };

    let mut actions = Vec::with_capacity(spans.len());
    for (k, (s, &(first, _))) in spans.iter().zip(&action_lines).enumerate() {
        if whole[k] {
            mask_as_comment(b, s.clone(), first, lines, &scalars, out);
        } else if trailing[k] {
            mask_as_comment(b, s.clone(), first, lines, &BlockScalars::default(), out);
        } else {
            mask_inline(b, s.clone(), out);
        }
        actions.push(Action {
            span: s.clone(),
            line: first + 1,
            kind: classify(&b[s.clone()]),
            whole_line: whole[k],
        });
    }
    actions
}

/// Inline actions that end a line in value position (after `key: ` or `- `) while the next
/// text line is nested under that key or item and is itself a `key:` or `- ` item: the
/// action's output is structure (`toYaml ... | nindent 4`, `toYaml . | nindent 8 | trim`)
/// that the nested lines continue, so a placeholder scalar there would not parse. These are
/// masked as a trailing comment instead (only the first action of the trailing run). Lines
/// inside block scalars are left alone (any text parses there).
fn trailing_value_actions(
    b: &[u8],
    spans: &[Range<usize>],
    action_lines: &[(usize, usize)],
    whole: &[bool],
    lines: &LineIndex,
    has_text: &[bool],
    scalars: &BlockScalars,
) -> Vec<bool> {
    let n = lines.count();
    let mut result = vec![false; spans.len()];
    if whole.iter().all(|&w| w) {
        // Only actions that share their line are candidates: skip the pass over every line.
        return result;
    }
    // next_text[l]: first line after l with text that is not a YAML comment.
    let mut next_text = vec![None; n];
    let mut next = None;
    for l in (0..n).rev() {
        next_text[l] = next;
        if has_text[l] {
            let t = &b[lines.content(b, l)];
            if t.iter().find(|&&c| !is_blank(c)) != Some(&b'#') {
                next = Some(l);
            }
        }
    }
    let mut k = 0;
    while k < spans.len() {
        if whole[k] {
            k += 1;
            continue;
        }
        // The run of actions from k separated by blanks only, on one line.
        let mut m = k;
        while m + 1 < spans.len()
            && b[spans[m].end..spans[m + 1].start]
                .iter()
                .all(|&c| c == b' ' || c == b'\t')
        {
            m += 1;
        }
        let (first, _) = action_lines[k];
        let (_, last) = action_lines[m];
        let line_end = lines.content(b, last).end;
        let rest_blank = b[spans[m].end.min(line_end)..line_end]
            .iter()
            .all(|&c| is_blank(c));
        let line_start = lines.starts[first];
        let before = &b[line_start..spans[k].start];
        if rest_blank
            && first == last
            && scalars.indent_at(first).is_none()
            && let Some(owner) = value_owner_column(before)
            && let Some(nl) = next_text[last]
        {
            let t = &b[lines.content(b, nl)];
            if indent_of(t) > owner && is_structural(&t[indent_of(t)..]) {
                result[k] = true;
            }
        }
        k = m + 1;
    }
    result
}

/// Per block: whether it chooses a scalar *value* over lines of its own, as in
///
/// ```text
/// apiVersion: {{ if .Capabilities.APIVersions.Has "autoscaling/v2" -}}
/// autoscaling/v2
/// {{- else -}}
/// autoscaling/v2beta2
/// {{- end }}
/// ```
///
/// (grafana/promtail's `hpa.yaml`): an inline `if`/`with` that ends a line in value position
/// with a `-}}` trim marker (so the next line's text joins the key's line when rendered), and
/// whose body lines are plain text, not `key:` or `- ` structure. Its first branch's lines are
/// hidden too (rule 5): the key's value is the `if`'s placeholder.
fn value_blocks(b: &[u8], actions: &[Action], blocks: &[Block], lines: &LineIndex) -> Vec<bool> {
    let openers = actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Open(_)));
    blocks
        .iter()
        .zip(openers)
        .map(|(blk, a)| {
            if a.whole_line
                || !matches!(blk.kind, BlockKind::If | BlockKind::With)
                || !b[a.span.clone()].ends_with(b"-}}")
            {
                return false;
            }
            let Some(end) = blk.end_line else {
                return false;
            };
            let l = a.line - 1;
            let r = lines.content(b, l);
            if a.span.end > r.end
                || !b[a.span.end..r.end].iter().all(|&c| is_blank(c))
                || value_owner_column(&b[r.start..a.span.start]).is_none()
            {
                return false;
            }
            // Every line of the body is plain text or only actions, never structure.
            (a.line..end - 1).all(|k| {
                let t = &b[lines.content(b, k)];
                let t = &t[indent_of(t)..];
                t.starts_with(b"{{") || !is_structural(t)
            })
        })
        .collect()
}

/// For the text before a trailing action: when it ends in value position (`key: `, `- `),
/// the column that nested lines must be indented beyond (the key's or the dash's column).
fn value_owner_column(before: &[u8]) -> Option<usize> {
    if !before.last().is_some_and(|&c| c == b' ' || c == b'\t') {
        return None;
    }
    let end = before.iter().rposition(|&c| !is_blank(c))? + 1;
    let t = &before[..end];
    let indent = indent_of(t);
    match t.last() {
        Some(b':') => {
            // The key's column: after the line's leading `- ` indicators.
            let mut col = indent;
            while t[col..].starts_with(b"- ") {
                col += 2;
                col += indent_of(&t[col..]);
            }
            Some(col)
        }
        Some(b'-') if end == 1 || is_blank(t[end - 2]) => Some(end - 1),
        _ => None,
    }
}

/// A line (from its first non-blank byte) that is a block sequence item or a mapping entry.
fn is_structural(t: &[u8]) -> bool {
    let end = t.iter().rposition(|&c| !is_blank(c)).map_or(0, |p| p + 1);
    let t = &t[..end];
    t == b"-" || t.starts_with(b"- ") || t.ends_with(b":") || t.windows(2).any(|w| w == b": ")
}

/// Whole-line action: `#` on the action's first byte of each line it covers, `~` elsewhere,
/// line breaks kept. Inside a block scalar the `#` moves right to the scalar's content indent
/// (spaces before it), so the line stays scalar content.
fn mask_as_comment(
    b: &[u8],
    span: Range<usize>,
    first_line: usize,
    lines: &LineIndex,
    scalars: &BlockScalars,
    out: &mut [u8],
) {
    let mut line = first_line;
    let mut at_line_start = true;
    let mut i = span.start;
    while i < span.end {
        let c = b[i];
        if c == b'\n' || c == b'\r' {
            out[i] = c;
            if c == b'\n' {
                line += 1;
            }
            at_line_start = true;
            i += 1;
            continue;
        }
        if at_line_start {
            at_line_start = false;
            // Column of this byte, and the indent a block scalar needs here.
            let col = i - lines.starts[line];
            let want = scalars.indent_at(line).unwrap_or(0);
            let mut pad = want.saturating_sub(col);
            while pad > 0 && i < span.end && b[i] != b'\n' && b[i] != b'\r' {
                out[i] = b' ';
                i += 1;
                pad -= 1;
            }
            if i < span.end && b[i] != b'\n' && b[i] != b'\r' {
                out[i] = b'#';
                i += 1;
            }
            continue;
        }
        out[i] = b'~';
        i += 1;
    }
}

/// Inline action: the content-addressed placeholder on the action's first line. On further
/// lines (rare), whitespace stays whitespace (as spaces) and other bytes become `_`, so
/// indentation is kept.
fn mask_inline(b: &[u8], span: Range<usize>, out: &mut [u8]) {
    let action = &b[span.clone()];
    let ph = placeholder(action, action.len());
    let mut first_line = true;
    for (k, &c) in action.iter().enumerate() {
        let i = span.start + k;
        out[i] = if c == b'\n' || c == b'\r' {
            first_line = false;
            c
        } else if first_line {
            ph[k]
        } else if c == b' ' || c == b'\t' {
            b' '
        } else {
            b'_'
        };
    }
}

/// Lines that are content of a YAML block scalar (`key: |`, `- >-` ...), with the indentation
/// that content needs. Found with a light scan of the source: a line whose text (outside
/// actions) ends in a block-scalar header starts one; it runs over the following lines that
/// are blank, whole-line actions, or indented more than the header line.
#[derive(Default)]
struct BlockScalars {
    /// (first line, last line, content indent), 0-based lines, sorted.
    runs: Vec<(usize, usize, usize)>,
}

impl BlockScalars {
    fn find(b: &[u8], lines: &LineIndex, has_text: &[bool]) -> BlockScalars {
        let mut runs = Vec::new();
        let n = lines.count();
        let mut l = 0;
        while l < n {
            let r = lines.content(b, l);
            let text = &b[r.clone()];
            if !has_text[l] || !ends_with_block_header(text) {
                l += 1;
                continue;
            }
            let header_indent = indent_of(text);
            // Content lines: blank lines, action-only lines, lines indented more than the
            // header. The content indent is the first text line's indent.
            let mut content_indent = None;
            let mut last = l;
            let mut k = l + 1;
            while k < n {
                let t = &b[lines.content(b, k)];
                if t.iter().all(|&c| is_blank(c)) || !has_text[k] {
                    k += 1;
                    continue;
                }
                let ind = indent_of(t);
                if ind <= header_indent {
                    break;
                }
                content_indent.get_or_insert(ind);
                last = k;
                k += 1;
            }
            if let Some(ci) = content_indent {
                runs.push((l + 1, last, ci));
                l = last + 1;
            } else {
                l += 1;
            }
        }
        BlockScalars { runs }
    }

    fn indent_at(&self, line: usize) -> Option<usize> {
        let i = self.runs.partition_point(|&(_, last, _)| last < line);
        self.runs
            .get(i)
            .filter(|&&(first, _, _)| first <= line)
            .map(|&(_, _, ind)| ind)
    }
}

fn indent_of(text: &[u8]) -> usize {
    text.iter().take_while(|&&c| c == b' ').count()
}

/// Whether a line ends in a block scalar header: `|` or `>` with optional indentation and
/// chomping indicators, after `key:`, `- ` or at the start, and before an optional comment.
fn ends_with_block_header(text: &[u8]) -> bool {
    // Strip a trailing comment (` #...`) only when it follows the header.
    let mut t = text;
    while let Some((&last, rest)) = t.split_last() {
        if is_blank(last) {
            t = rest;
        } else {
            break;
        }
    }
    let mut end = t.len();
    // Most lines have no `#` at all: memrchr rules them out before the pairwise search.
    if memchr::memrchr(b'#', t).is_some()
        && let Some(p) = t.windows(2).rposition(|w| w == b" #")
    {
        let before = &t[..p];
        if before
            .last()
            .is_some_and(|&c| matches!(c, b'|' | b'>' | b'-' | b'+'))
            || before.last().is_some_and(|c| c.is_ascii_digit())
        {
            end = p;
        }
    }
    let t = &t[..end];
    let mut k = t.len();
    let mut indicators = 0;
    while k > 0 && (matches!(t[k - 1], b'-' | b'+') || t[k - 1].is_ascii_digit()) && indicators < 2
    {
        k -= 1;
        indicators += 1;
    }
    if k == 0 || !matches!(t[k - 1], b'|' | b'>') {
        return false;
    }
    let before = &t[..k - 1];
    let trimmed_len = before
        .iter()
        .rposition(|&c| !is_blank(c))
        .map_or(0, |p| p + 1);
    if trimmed_len == 0 {
        return true;
    }
    // `key: |`, `- |`, `key: !!tag |`, `- key: |`: the header follows a blank after `:`/`-`
    // (or a tag / anchor).
    if trimmed_len == before.len() {
        return false;
    }
    let prev = &before[..trimmed_len];
    matches!(prev.last(), Some(b':') | Some(b'-'))
        || prev
            .rsplit(|&c| c == b' ')
            .next()
            .is_some_and(|w| w.starts_with(b"!") || w.starts_with(b"&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(src: &str) -> Masked {
        match mask(src) {
            Ok(m) => m,
            Err(e) => panic!("mask failed: {e}"),
        }
    }

    fn text(src: &str) -> String {
        m(src).text
    }

    fn ph(action: &str) -> String {
        String::from_utf8(placeholder(action.as_bytes(), action.len())).unwrap()
    }

    /// The whole-line mask of a single-line action.
    fn c(action: &str) -> String {
        format!("#{}", "~".repeat(action.len() - 1))
    }

    fn yaml(text: &str) -> yaml_serde::Value {
        yaml_serde::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn messages_name_the_action_instead_of_its_placeholder() {
        let src = "a: {{ include \"x.probe\" . | nindent 4 }}-x\nb: {{ .Values.b }}\n";
        let masked = m(src);
        let long = ph("{{ include \"x.probe\" . | nindent 4 }}");
        let short = ph("{{ .Values.b }}");
        let msg = format!("/a is a string ({long}-x), /b is {short}");
        assert_eq!(
            masked.name_placeholders(src, &msg),
            "/a is a string (`{{ include \"x.probe\" . | nindent 4 }}`-x), /b is `{{ .Values.b }}`"
        );
        // A message cut short keeps the part of the placeholder it shows: named too.
        let cut = format!("is {}...", &long[..10]);
        assert!(
            masked.name_placeholders(src, &cut).contains("`{{ include"),
            "{}",
            masked.name_placeholders(src, &cut)
        );
    }

    #[test]
    fn source_without_actions_is_copied() {
        let src = "a: 1\nb: { c: 2 }\n";
        let r = m(src);
        assert_eq!(r.text, src);
        assert!(r.actions.is_empty() && r.blocks.is_empty() && r.hidden.is_empty());
        assert!(!has_actions(src));
        assert!(has_actions("a: {{ .x }}"));
    }

    #[test]
    fn whole_line_if_becomes_comment() {
        // 12 bytes in, 12 bytes out.
        assert_eq!(text("  {{- if .X }}\n"), "  #~~~~~~~~~~~\n");
        let r = m("  {{- if .X }}\n");
        assert!(r.actions[0].whole_line);
        assert_eq!(r.actions[0].kind, ActionKind::Open(BlockKind::If));
    }

    #[test]
    fn several_actions_on_one_line_are_all_whole_line() {
        let r = m("{{- end }}{{- end }}\n");
        assert_eq!(r.text, "#~~~~~~~~~#~~~~~~~~~\n");
        assert!(
            r.actions
                .iter()
                .all(|a| a.whole_line && a.kind == ActionKind::End)
        );
    }

    #[test]
    fn whole_line_output_at_column_zero_becomes_comment() {
        let src = "resources:\n{{ toYaml .Values.resources | indent 12 }}\nnext: 1\n";
        let r = m(src);
        assert_eq!(
            r.text,
            "resources:\n#~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\nnext: 1\n"
        );
        assert!(r.actions[0].whole_line);
        assert_eq!(r.actions[0].kind, ActionKind::Output);
    }

    #[test]
    fn multi_line_action_masked_on_every_line() {
        let src = "x:\n  {{- include \"x\" (dict\n    \"a\" 1) }}\ny: 2\n";
        let r = m(src);
        assert_eq!(
            r.text,
            format!(
                "x:\n  {}\n{}\ny: 2\n",
                c("{{- include \"x\" (dict"),
                c("    \"a\" 1) }}")
            )
        );
        assert!(r.actions[0].whole_line);
        assert_eq!(r.actions[0].line, 2);
        assert_eq!(r.text.len(), src.len());
    }

    #[test]
    fn inline_action_becomes_same_length_plain_scalar() {
        let a = "{{ .Values.name }}";
        let p = ph(a);
        assert_eq!(p.len(), a.len());
        assert!(p.starts_with('_'));
        assert!(
            p[1..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        // As a value, a key, a sequence item, inside flow collections and inside quotes.
        let src = format!(
            "v: {a}\n{a}: k\ns:\n  - {a}\nf: [{a}, x]\ng: {{k: {a}}}\nq: \"{a}\"\nsq: '{a}'\nmix: a-{a}-b\n"
        );
        let r = m(&src);
        assert!(r.actions.iter().all(|x| !x.whole_line));
        let v = yaml(&r.text);
        assert_eq!(v["v"].as_str(), Some(p.as_str()));
        assert_eq!(v[p.as_str()].as_str(), Some("k"));
        assert_eq!(v["s"][0].as_str(), Some(p.as_str()));
        assert_eq!(v["f"][0].as_str(), Some(p.as_str()));
        assert_eq!(v["g"]["k"].as_str(), Some(p.as_str()));
        assert_eq!(v["q"].as_str(), Some(p.as_str()));
        assert_eq!(v["sq"].as_str(), Some(p.as_str()));
        assert_eq!(v["mix"].as_str(), Some(format!("a-{p}-b").as_str()));
    }

    #[test]
    fn placeholder_is_content_addressed() {
        let src = "a: {{ .x }}\nb:\n  c: {{ .x }}\nd: {{ .y }}\n";
        let r = m(src);
        let t = |k: usize| &r.text[r.actions[k].span.clone()];
        assert_eq!(t(0), t(1));
        assert_ne!(t(0), t(2));
        assert_eq!(t(0), ph("{{ .x }}"));
        // Short actions are truncated, long ones padded with `_`.
        assert_eq!(ph("{{}}").len(), 4);
        let long = format!("{{{{ {} }}}}", "x".repeat(60));
        assert!(ph(&long).ends_with("_____"));
        assert_eq!(ph(&long).len(), long.len());
        // Digits only still resolve to a string.
        assert!(yaml(&format!("k: {}", ph("{{}}")))["k"].is_string());
    }

    #[test]
    fn string_containing_close_braces_does_not_end_action() {
        let src = "a: {{ printf \"}}\\\"}}\" .x }} tail\n";
        let r = m(src);
        assert_eq!(r.actions.len(), 1);
        assert_eq!(
            &src[r.actions[0].span.clone()],
            "{{ printf \"}}\\\"}}\" .x }}"
        );
        assert!(r.text.ends_with(" tail\n"));
    }

    #[test]
    fn raw_strings_char_constants_and_comments_do_not_end_action() {
        let src = "a: {{ `}}\n}}` }}\nb: {{ '}' }}\nc: {{/* }} */}}\n";
        let r = m(src);
        let spans: Vec<&str> = r.actions.iter().map(|a| &src[a.span.clone()]).collect();
        assert_eq!(spans, ["{{ `}}\n}}` }}", "{{ '}' }}", "{{/* }} */}}"]);
        assert_eq!(r.actions[2].kind, ActionKind::Comment);
        assert_eq!(r.actions[1].line, 3);
    }

    #[test]
    fn multi_line_inline_action_keeps_line_breaks() {
        let src = "a: {{ include \"x\" (dict\r\n      \"k\" 1) }}\nb: 1\n";
        let r = m(src);
        let t = &r.text;
        assert_eq!(t.len(), src.len());
        assert_eq!(t.find("\r\n"), src.find("\r\n"));
        assert!(t.starts_with("a: _"));
        assert!(t.contains("\r\n      ___ __ __\nb: 1"), "{t}");
        assert!(!r.actions[0].whole_line);
        assert_eq!(yaml(t)["b"].as_u64(), Some(1));
    }

    #[test]
    fn non_ascii_inside_action_becomes_ascii_of_same_length() {
        let src = "a: {{ \"héllo ✓\" }}\n{{/* größe */}}\n";
        let r = m(src);
        assert_eq!(r.text.len(), src.len());
        assert!(r.text.is_ascii());
        assert_eq!(r.unmask(src), src);
    }

    #[test]
    fn crlf_line_breaks_are_kept() {
        let src = "{{- if .x }}\r\na: {{ .y }}\r\n{{- end }}\r\n";
        let r = m(src);
        assert_eq!(
            r.text,
            format!("#~~~~~~~~~~~\r\na: {}\r\n#~~~~~~~~~\r\n", ph("{{ .y }}"))
        );
    }

    #[test]
    fn unterminated_action_reports_line_and_col() {
        let e = mask("a: 1\nb: x {{ .Values.x\nc: 2\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 6));
        assert!(e.message.contains("unterminated"), "{}", e.message);
        // Columns count characters.
        let e = mask("ä: {{ .x").unwrap_err();
        assert_eq!((e.line, e.col), (1, 4));
        // Strings, raw strings, char constants and comments that do not end.
        for (src, what) in [
            ("a: {{ \"x }}\nb\n", "quoted string"),
            ("a: {{ `x }}\n", "raw string"),
            ("a: {{ 'x }}\n", "char constant"),
            ("a: {{/* x }}\n", "comment"),
        ] {
            let e = mask(src).unwrap_err();
            assert_eq!((e.line, e.col), (1, 4), "{src}");
            assert!(e.message.contains(what), "{src}: {}", e.message);
        }
    }

    #[test]
    fn else_branch_lines_are_hidden() {
        let src = "\
spec:
  {{- if .a }}
  type: A
  {{- else if .b }}
  type: B
  {{- else }}
  type: C
  {{- end }}
";
        let r = m(src);
        assert_eq!(
            r.text,
            format!(
                "spec:\n  {}\n  type: A\n  {}\n  #ype: B\n  {}\n  #ype: C\n  {}\n",
                c("{{- if .a }}"),
                c("{{- else if .b }}"),
                c("{{- else }}"),
                c("{{- end }}")
            )
        );
        let line = |n: usize| {
            let start: usize = src.split_inclusive('\n').take(n - 1).map(str::len).sum();
            start..start + src.lines().nth(n - 1).unwrap().len()
        };
        assert_eq!(r.hidden, vec![line(5), line(7)]);
        // No duplicate key: `yaml_serde::Value` rejects duplicates.
        assert_eq!(yaml(&r.text)["spec"]["type"].as_str(), Some("A"));
        assert_eq!(r.unmask(src), src);
    }

    #[test]
    fn else_branch_stays_visible_when_earlier_branches_hold_no_text() {
        let src = "\
{{- if kindIs \"invalid\" .Values.max }}
{{- fail \"max must be set\" }}
{{- else }}
kind: PodDisruptionBudget
spec:
  {{- if .Values.existing }}
  # an existing one is used
  {{- else if .Values.a }}
  a: 1
  {{- else }}
  a: 2
  {{- end }}
{{- end }}
";
        let r = m(src);
        let v = yaml(&r.text);
        assert_eq!(v["kind"].as_str(), Some("PodDisruptionBudget"));
        assert_eq!(
            v["spec"]["a"].as_u64(),
            Some(1),
            "the first branch with text"
        );
        assert_eq!(r.hidden.len(), 1);
        assert_eq!(&src[r.hidden[0].clone()], "  a: 2");
    }

    #[test]
    fn with_else_hides_too_but_range_else_and_inline_else_do_not() {
        let r = m("{{- with .a }}\nk: 1\n{{- else }}\nk: 2\n{{- end }}\n");
        assert!(r.text.contains("\n#: 2\n"));
        let r = m("{{- range .a }}\nk: 1\n{{- else }}\nj: 2\n{{- end }}\n");
        assert!(r.hidden.is_empty());
        let src = "k: {{ if .a }}1\n{{ else }}2{{ end }}\nj: 3\n";
        let r = m(src);
        assert!(r.hidden.is_empty());
        assert!(r.actions.iter().all(|a| !a.whole_line));
    }

    #[test]
    fn define_body_is_hidden() {
        let src = "{{- define \"x.labels\" -}}\napp: {{ .Chart.Name }}\n\nsub:\n  tier: web\n{{- end }}\nkind: A\n";
        let r = m(src);
        assert_eq!(
            r.text,
            format!(
                "{}\n#pp: {}\n\n#ub:\n  #ier: web\n{}\nkind: A\n",
                c("{{- define \"x.labels\" -}}"),
                &ph("{{ .Chart.Name }}"),
                c("{{- end }}")
            )
        );
        assert_eq!(
            r.hidden.len(),
            4,
            "blank lines in a hidden region are recorded too"
        );
        assert_eq!(r.blocks[0].kind, BlockKind::Define);
        assert_eq!(yaml(&r.text)["kind"].as_str(), Some("A"));
    }

    #[test]
    fn nested_blocks_inside_hidden_region_are_tracked() {
        let src = "\
{{- if .a }}
k: 1
{{- else }}
{{- if .b }}
k: 2
{{- else }}
k: 3
{{- end }}
{{- end }}
";
        let r = m(src);
        assert_eq!(r.blocks.len(), 2);
        assert_eq!(r.blocks[1].open_line, 4);
        assert_eq!(r.blocks[1].else_lines, vec![6]);
        assert_eq!(r.blocks[1].end_line, Some(8));
        assert_eq!(r.hidden.len(), 5, "lines 4..=8, each once");
        assert_eq!(yaml(&r.text)["k"].as_u64(), Some(1));
    }

    #[test]
    fn hidden_line_starting_with_non_ascii_stays_utf8() {
        let src = "{{- if .a }}\nä: 1\n{{- else }}\nä: 2\n{{- end }}\n";
        let r = m(src);
        assert!(r.text.contains("\n#~: 2\n"));
        assert_eq!(r.unmask(src), src);
    }

    #[test]
    fn blocks_record_open_else_and_end_lines() {
        let src = "\
{{- if .a }}
{{- range .b }}
x
{{- end }}
{{- else }}
{{- with .c }}
{{- end }}
{{- end }}
";
        let r = m(src);
        let got: Vec<_> = r
            .blocks
            .iter()
            .map(|b| (b.kind, b.open_line, b.else_lines.clone(), b.end_line))
            .collect();
        assert_eq!(
            got,
            vec![
                (BlockKind::If, 1, vec![5], Some(8)),
                (BlockKind::Range, 2, vec![], Some(4)),
                (BlockKind::With, 6, vec![], Some(7)),
            ]
        );
    }

    #[test]
    fn unbalanced_end_is_ignored_and_unclosed_block_has_no_end() {
        let r = m("{{ end }}\n{{- else }}\na: 1\n");
        assert!(r.blocks.is_empty());
        let r = m("{{- if .a }}\n{{- with .b }}\na: 1\n{{- end }}\n");
        assert_eq!(r.blocks[0].end_line, None);
        assert_eq!(r.blocks[1].end_line, Some(4));
        assert_eq!(r.open_blocks_at_line(5), vec![0]);
        assert_eq!(r.open_blocks_at_line(100), vec![0]);
    }

    #[test]
    fn open_blocks_at_line_lists_outermost_first() {
        let src = "\
a: 1
{{- if .a }}
b: 2
{{- with .b }}
c: 3
{{- end }}
d: 4
{{- end }}{{- if .c }}
e: 5
{{- end }}
";
        let r = m(src);
        assert_eq!(r.blocks.len(), 3);
        let at: Vec<Vec<usize>> = (1..=11).map(|l| r.open_blocks_at_line(l)).collect();
        assert_eq!(
            at,
            vec![
                Vec::<usize>::new(), // 1
                Vec::<usize>::new(), // 2: the `if` line itself
                vec![0],             // 3
                vec![0],             // 4
                vec![0, 1],          // 5
                vec![0, 1],          // 6: the `end` line is inside
                vec![0],             // 7
                vec![0],             // 8: ends block 0, opens block 2
                vec![2],             // 9
                vec![2],             // 10
                Vec::<usize>::new(), // 11
            ]
        );
        assert_eq!(r.open_blocks_at_line(0), Vec::<usize>::new());
    }

    #[test]
    fn blocks_opened_and_closed_on_one_line_are_never_open() {
        let r =
            m("a: {{ if .x }}1{{ end }}\n{{- if .y }}{{ with .z }}\nb: 2\n{{- end }}{{ end }}\n");
        assert_eq!(r.blocks.len(), 3);
        assert!(r.open_blocks_at_line(2).is_empty());
        assert_eq!(r.open_blocks_at_line(3), vec![1, 2]);
        assert_eq!(r.open_blocks_at_line(4), vec![1, 2]);
        assert!(r.open_blocks_at_line(5).is_empty());
    }

    #[test]
    fn inline_action_in_finds_overlapping_inline_action_only() {
        let src = "{{- if .a }}\nname: {{ .x }}-{{ .y }}\n{{- end }}\n";
        let r = m(src);
        let x = src.find("{{ .x").unwrap();
        let y = src.find("{{ .y").unwrap();
        assert_eq!(
            r.inline_action_in(0..src.len()).map(|a| a.span.start),
            Some(x)
        );
        assert_eq!(
            r.inline_action_in(x + 3..y + 2).map(|a| a.span.start),
            Some(x)
        );
        assert_eq!(
            r.inline_action_in(y - 1..y + 1).map(|a| a.span.start),
            Some(y)
        );
        assert!(
            r.inline_action_in(0..5).is_none(),
            "whole-line actions are not inline"
        );
        assert!(
            r.inline_action_in(x - 6..x).is_none(),
            "touching is not overlapping"
        );
        assert!(
            r.inline_action_in(x..x).is_none(),
            "a point at an edge is outside"
        );
        assert_eq!(
            r.inline_action_in(x + 1..x + 1).map(|a| a.span.start),
            Some(x)
        );
    }

    /// prometheus-blackbox-exporter's `templates/configmap.yaml`: a key and a kind chosen by
    /// an if/else in the middle of their line; jupyterhub's log level likewise.
    #[test]
    fn an_if_else_choosing_a_key_or_word_mid_line_is_one_placeholder() {
        let src = "kind: {{ if .Values.s -}} Secret {{- else -}} ConfigMap {{- end }}\n\
                   {{ if .Values.s -}} stringData: {{- else -}} data: {{- end }}\n  a: |\n    x\n\
                   log:\n  level: {{ if .d -}} DEBUG {{- else -}} WARN {{- end }}\n";
        let r = m(src);
        assert_eq!(r.choices.len(), 3, "{r:?}");
        assert_eq!(
            (r.choices[1].key, r.choices[1].words.clone()),
            (true, vec!["stringData".to_string(), "data".to_string()])
        );
        assert!(!r.choices[0].key && !r.choices[2].key);
        let v = masks_to_yaml(src);
        let map = v.as_mapping().expect("mapping");
        let key = map
            .keys()
            .filter_map(|k| k.as_str())
            .find(|k| k.starts_with('_'))
            .expect("a placeholder key");
        assert_eq!(v[key]["a"].as_str(), Some("x\n"));
        let kind = v["kind"].as_str().expect("kind");
        assert!(kind.starts_with('_') && !kind.contains(' '), "{kind}");
        // Messages name the block, not its placeholder.
        let named = r.name_placeholders(src, &format!("kind is {kind}"));
        assert_eq!(
            named,
            "kind is `{{ if .Values.s -}} Secret {{- else -}} ConfigMap {{- end }}`"
        );
    }

    #[test]
    fn a_mid_line_if_without_a_plain_else_or_with_actions_in_a_branch_is_no_choice() {
        for src in [
            "kind: {{ if .a -}} A {{- else if .b -}} B {{- end }}\n",
            "kind: {{ if .a -}} A {{- end }}\n",
            "class: {{ if .a }}\"\"{{ else }}{{ .b }}{{ end }}\n",
            "kind: {{ if .a -}} A {{- else -}} B {{- end }} # note\n",
        ] {
            assert!(m(src).choices.is_empty(), "{src}");
        }
    }

    /// Masks `src`, checks the invariants, and parses the masked text.
    fn masks_to_yaml(src: &str) -> yaml_serde::Value {
        let r = m(src);
        assert_eq!(r.text.len(), src.len());
        assert_eq!(r.unmask(src), src);
        yaml(&r.text)
    }

    #[test]
    fn inline_actions_inside_flow_sequences_mask_to_items() {
        let a = "{{ .Values.a }}";
        // Quoted (inside a longer string), unquoted bare items, first, last, adjacent.
        let v = masks_to_yaml(&format!(
            "args: [\"--a={{{{ .Values.x }}}}\", \"--b\", '--c={{{{ .Values.c }}}}', {a}]\n\
             bare: [{a}, b, {a},{a}]\nquoted: [\"{a}\", '{a}']\n"
        ));
        assert_eq!(v["args"].as_sequence().map(Vec::len), Some(4));
        assert_eq!(v["bare"].as_sequence().map(Vec::len), Some(4));
        assert_eq!(v["bare"][0].as_str(), Some(ph(a).as_str()));
        assert_eq!(v["quoted"][1].as_str(), Some(ph(a).as_str()));
        // A long sequence over several lines, one item per line.
        let items: Vec<String> = (0..40)
            .map(|i| format!("    \"--flag{i}={{{{ .Values.f{i} }}}}\",\n"))
            .collect();
        let v = masks_to_yaml(&format!("args: [\n{}    last]\n", items.concat()));
        assert_eq!(v["args"].as_sequence().map(Vec::len), Some(41));
    }

    #[test]
    fn inline_actions_inside_flow_mappings_mask_to_keys_and_values() {
        let v = masks_to_yaml(
            "a: {a: {{ .Values.x }}}\nb: { {{ .Values.k }}: v, k2: \"{{ .Values.v }}\" }\n",
        );
        assert_eq!(v["a"]["a"].as_str(), Some(ph("{{ .Values.x }}").as_str()));
        assert_eq!(v["b"][ph("{{ .Values.k }}").as_str()].as_str(), Some("v"));
    }

    #[test]
    fn action_spanning_a_line_break_inside_a_flow_collection_masks() {
        let v = masks_to_yaml(
            "a: [x, {{ include \"y\" (dict\n      \"k\" 1) }}, z]\n\
             b: {k: \"{{ include \"y\" (dict\n      \"k\" 1) }}\"}\n",
        );
        assert_eq!(v["a"].as_sequence().map(Vec::len), Some(3));
        assert_eq!(v["a"][2].as_str(), Some("z"));
        assert!(v["b"]["k"].is_string());
    }

    #[test]
    fn action_glued_after_a_quoted_item_is_found_and_blanked() {
        let src = "args: [\"--a\"{{ if .b }}, \"--b\"{{ end }}]\n";
        let mut r = m(src);
        // As placeholders the actions do not parse: they follow a closed node.
        assert!(yaml_serde::from_str::<yaml_serde::Value>(&r.text).is_err());
        let at = src.find("{{ if").unwrap();
        assert_eq!(r.glued_action_at(at), Some(0));
        assert_eq!(r.glued_action_at(at - 1), None, "not inside the action");
        r.blank_action(0);
        assert_eq!(r.glued_action_at(at), None, "already blanked");
        let at = src.find("{{ end").unwrap();
        assert_eq!(r.glued_action_at(at), Some(1));
        r.blank_action(1);
        assert_eq!(r.text.len(), src.len());
        assert_eq!(r.unmask(src), src);
        let v = yaml(&r.text);
        assert_eq!(v["args"][1].as_str(), Some("--b"));
        // After a closed collection too; an action after other text is not glued.
        let src = "a: [[x]{{ if .b }}, [y]{{ end }}]\nb: [x{{ .c }}]\n";
        let r = m(src);
        assert_eq!(r.glued_action_at(src.find("{{ if").unwrap()), Some(0));
        assert_eq!(r.glued_action_at(src.find("{{ .c").unwrap()), None);
    }

    #[test]
    fn unmaskable_shapes_are_explained_with_the_action_line() {
        // `{{{`: Go reads `{{` then a stray `{`.
        let src = "a: 1\nb: {{{ .Values.k }}: 1}\n";
        let r = m(src);
        let err = yaml_serde::from_str::<yaml_serde::Value>(&r.text).unwrap_err();
        let off = src.find(": 1}").unwrap();
        let u = r.explain_unmaskable(src, off, None).unwrap();
        assert_eq!((u.line, u.col), (2, 4), "{err}");
        assert_eq!(u.action, "{{{ .Values.k }}");
        assert!(u.shape.contains("`{ {{`"), "{}", u.shape);
        // Inside a flow mapping, printing syntax.
        let src = "a: {x: 1,\n  b: {{ .Values.b }}\n    c: 2}\n";
        let r = m(src);
        let off = src.find("c: 2").unwrap();
        let u = r.explain_unmaskable(src, off, Some(3)).unwrap();
        assert_eq!((u.line, u.col), (2, 6));
        assert!(
            u.shape.contains("flow mapping `{...}` (opened at line 1)"),
            "{}",
            u.shape
        );
        // A control action mid-line whose branches share the line.
        let src = "{{ if .a -}} x: {{- else -}} y: {{- end }}\n  k: v\n";
        let r = m(src);
        let u = r
            .explain_unmaskable(src, src.find("y:").unwrap() + 1, None)
            .unwrap();
        assert_eq!(u.action, "{{- else -}}");
        assert!(
            u.shape.contains("control action") && u.shape.contains("trim"),
            "{}",
            u.shape
        );
        // A whole-line action between the lines of an unquoted flow item.
        let src = "a: [ --x=1\n  {{- if .x }}\n  y\n  {{- end }}\n  ]\n";
        let r = m(src);
        let u = r
            .explain_unmaskable(src, src.find("y\n").unwrap(), Some(3))
            .unwrap();
        assert_eq!((u.line, u.col, u.action.as_str()), (2, 3, "{{- if .x }}"));
        assert!(
            u.shape.contains("line of its own inside a flow sequence"),
            "{}",
            u.shape
        );
        // No action near the error: nothing to blame.
        let src = "{{- if .a }}\na: 1\n{{- end }}\nb: [1\n";
        let r = m(src);
        assert_eq!(r.explain_unmaskable(src, src.len() - 1, None), None);
    }

    #[test]
    fn byte_order_mark_is_kept_and_not_text_of_line_one() {
        let src = "\u{feff}{{- if .a }}\nk: {{ .v }}\n{{- end }}\n";
        let r = m(src);
        assert!(r.text.starts_with("\u{feff}#~~"), "{:?}", r.text);
        assert!(r.actions[0].whole_line);
        assert_eq!(&src[r.actions[1].span.clone()], "{{ .v }}");
        assert_eq!(r.actions[1].line, 2);
        assert_eq!(r.unmask(src), src);
        let e = mask("\u{feff}a: {{ .x").unwrap_err();
        assert_eq!((e.line, e.col), (1, 4));
    }

    #[test]
    fn unmask_restores_source() {
        let src = "{{- define \"a\" }}\nx: 1\n{{- end }}\n{{- if .a }}\nk: {{ .b }}\n{{- else }}\nk: 2\n{{- end }}\n";
        let r = m(src);
        assert_ne!(r.text, src);
        assert_eq!(r.unmask(src), src);
    }

    #[test]
    fn value_position_action_followed_by_nested_keys_becomes_trailing_comment() {
        let src = "\
metadata:
  labels: {{- include \"x.labels\" . | nindent 4 }}
    app: web
spec:
  tsc:
  - {{ toYaml . | nindent 4 | trim }}
    labelSelector: {}
";
        let r = m(src);
        assert!(r.text.contains("  labels: #~~~~"));
        assert!(r.text.contains("  - #~~~~"));
        assert!(r.actions.iter().all(|a| !a.whole_line));
        let v = yaml(&r.text);
        assert_eq!(v["metadata"]["labels"]["app"].as_str(), Some("web"));
        assert!(v["spec"]["tsc"][0]["labelSelector"].is_mapping());
        // Not nested (or plain scalar continuation): a placeholder as usual.
        let r = m("a: {{ .x }}\nb: 1\n");
        assert!(r.text.starts_with("a: _"));
        let r = m("a: {{ .x }}\n  more words\n");
        assert!(r.text.starts_with("a: _"));
    }

    #[test]
    fn whole_line_action_inside_block_scalar_stays_scalar_content() {
        let src = "\
data:
  config.yaml: |
    a: 1
{{ toYaml .Values.extra | indent 4 }}
    b: 2
{{- end }}
kind: X
";
        let r = m(src);
        assert!(r.text.contains("\n    #~~~~"), "{}", r.text);
        let v = yaml(&r.text);
        let cfg = v["data"]["config.yaml"].as_str().unwrap();
        assert!(
            cfg.starts_with("a: 1\n#~~") && cfg.ends_with("b: 2\n"),
            "{cfg:?}"
        );
        assert_eq!(v["kind"].as_str(), Some("X"));
        assert!(
            r.text.contains("\n#~~~~~~~~~\nkind"),
            "after the scalar: a comment"
        );
    }

    #[test]
    fn mask_fragment_masks_lines_like_a_file() {
        let s = "echo {{ .Values.x }}\n{{- if .y }}\nrun\n{{- end }}";
        assert_eq!(
            mask_fragment(s),
            format!(
                "echo {}\n#~~~~~~~~~~~\nrun\n#~~~~~~~~~",
                ph("{{ .Values.x }}")
            )
        );
        // Same placeholder as in a file.
        let file = m("k: {{ .Values.x }}\n").text;
        assert!(file.ends_with(&format!(
            "{}\n",
            mask_fragment("{{ .Values.x }}x").trim_end_matches('x')
        )));
        assert_eq!(mask_fragment("no actions"), "no actions");
        assert_eq!(mask_fragment("bad {{ .x"), "bad {{ .x");
        // No hiding in fragments.
        assert!(mask_fragment("{{ if .a }}\nx\n{{ else }}\ny\n{{ end }}").contains("\ny\n"));
    }

    #[test]
    fn mask_fragment_inline_uses_placeholders_only() {
        assert_eq!(
            mask_fragment_inline("{{ .Values.x }}"),
            ph("{{ .Values.x }}")
        );
        let file = m("k: \"{{ .Values.x }}\"\n");
        let v = yaml(&file.text);
        assert_eq!(
            v["k"].as_str(),
            Some(mask_fragment_inline("{{ .Values.x }}").as_str())
        );
        assert_eq!(mask_fragment_inline("bad {{ .x"), "bad {{ .x");
    }

    #[test]
    fn deep_nesting_and_many_actions_stay_fast() {
        let n = 20_000;
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!(
                "{{{{- if .a{i} }}}}\nk{i}: {{{{ .v }}}}\n{{{{- else }}}}\n"
            ));
        }
        for _ in 0..n {
            src.push_str("{{- end }}\n");
        }
        let t = std::time::Instant::now();
        let r = m(&src);
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        assert_eq!(r.blocks.len(), n);
        assert_eq!(r.open_blocks_at_line(3 * n + 1).len(), n);
        assert_eq!(r.open_blocks_at_line(4 * n).len(), 1);
        assert_eq!(r.unmask(&src), src);
    }

    fn breaks(s: &str) -> Vec<(usize, u8)> {
        s.bytes()
            .enumerate()
            .filter(|&(_, c)| c == b'\n' || c == b'\r')
            .collect()
    }

    fn check(src: &str) {
        let Ok(r) = mask(src) else {
            return;
        };
        assert_eq!(r.text.len(), src.len());
        assert_eq!(breaks(&r.text), breaks(src));
        assert_eq!(r.unmask(src), src);
        for w in r.actions.windows(2) {
            assert!(w[0].span.end <= w[1].span.start);
        }
        let lines = src.split('\n').count();
        for l in 0..=lines + 1 {
            for &i in &r.open_blocks_at_line(l) {
                assert!(i < r.blocks.len());
            }
        }
        for a in &r.actions {
            let found = r.inline_action_in(a.span.clone()).map(|x| x.span.clone());
            if a.whole_line {
                assert_eq!(found, None);
            } else {
                assert_eq!(found, Some(a.span.clone()));
            }
        }
        for w in r.hidden.windows(2) {
            assert!(w[0].end < w[1].start);
        }
        for h in &r.hidden {
            assert!(h.end <= src.len() && !src[h.clone()].contains('\n'));
            assert!(h.start == 0 || src.as_bytes()[h.start - 1] == b'\n');
        }
        let f = mask_fragment(src);
        assert_eq!(f.len(), src.len());
        assert_eq!(breaks(&f), breaks(src));
        assert_eq!(mask_fragment_inline(src).len(), src.len());
    }

    fn templateish() -> impl Strategy<Value = String> {
        let tokens = prop::sample::select(vec![
            "{{",
            "}}",
            "{{-",
            "-}}",
            "{{- ",
            " -}}",
            " ",
            "  ",
            "-",
            "- ",
            "\"",
            "'",
            "`",
            "\\",
            "\n",
            "\r\n",
            "\r",
            "if",
            "else",
            "end",
            "with",
            "range",
            "define",
            "$x := ",
            "/*",
            "*/",
            "key: ",
            "a",
            "é",
            "✓",
            "|",
            "|-\n",
            "#",
            ":",
            "{",
            "}",
            "[",
            "]",
            ".Values.x",
            "\t",
        ]);
        prop::collection::vec(tokens, 0..60).prop_map(|v| v.concat())
    }

    /// Lines of a chart template: every action terminates, so masking must succeed.
    fn template_lines() -> impl Strategy<Value = String> {
        let lines = prop::sample::select(vec![
            "{{- if .Values.a }}\n",
            "  {{- else if .b }}\n",
            "{{- else }}\n",
            "{{- end }}\n",
            "{{- end }}{{- end }}\n",
            "  {{- with .Values.c }}\n",
            "{{- range $k, $v := .x }}\n",
            "{{- define \"x\" -}}\n",
            "key: value\n",
            "  key: {{ .Values.x | quote }}\n",
            "  - {{ toYaml . | nindent 4 | trim }}\n",
            "    nested: 1\n",
            "labels: {{- include \"l\" . | nindent 4 }}\n",
            "data: |\n",
            "  script: |-\n",
            "{{ toYaml .Values.r | indent 4 }}\n",
            "    echo \"{{ .Values.y }}\" '}}'\n",
            "{{/* a\n}} comment */}}\n",
            "{{ `raw\n}}` }} x\n",
            "\r\n",
            "\n",
            "ä: {{ \"ö\" }}\n",
            "---\n",
        ]);
        prop::collection::vec(lines, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn mask_keeps_length_line_breaks_and_unmask_identity(src in templateish()) {
            check(&src);
        }

        #[test]
        fn template_lines_always_mask_and_keep_invariants(src in template_lines()) {
            prop_assert!(mask(&src).is_ok(), "{src:?}");
            check(&src);
        }

        #[test]
        fn mask_never_panics_on_arbitrary_text(src in "\\PC*[{}\n\"'`]*\\PC*") {
            check(&src);
        }

        #[test]
        fn well_formed_actions_always_mask(
            parts in prop::collection::vec(("[a-z: \n-]{0,8}", "[a-z .\"$]{0,8}"), 0..20)
        ) {
            let mut src = String::new();
            for (text, body) in &parts {
                src.push_str(text);
                let body: String = body.chars().filter(|&c| c != '"').collect();
                src.push_str(&format!("{{{{ {body} }}}}"));
            }
            prop_assert!(mask(&src).is_ok(), "{src:?}");
            check(&src);
        }
    }
}
