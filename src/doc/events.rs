//! patcher's YAML event stream: saphyr-parser's events (a YAML 1.2 parser that passes the
//! yaml-test-suite) in patcher's own [`Event`] type, so that nothing past this module knows
//! which parser produced them. The adapter gives what the tree builder relies on and saphyr
//! does not give as such:
//! - byte offsets (saphyr counts characters), shifted by the caller's `base`;
//! - anchor names (saphyr numbers anchors) and tags as one string (`tag:yaml.org,2002:str`,
//!   `!local`), both read back from the text at the event;
//! - flow or block style of collections (saphyr does not say), from the opening token and
//!   whether a flow collection is open;
//! - a block scalar starting at its `|`/`>` header (saphyr's span starts at the content), an
//!   empty scalar at the point after its indicator (saphyr's span is a token near it), an
//!   implicit document start or end as a point;
//! - the innermost open flow collection as the error's context (for template diagnostics).
//!
//! Nesting depth is enforced here, while events stream: stopping at the first event past
//! [`MAX_DEPTH`] keeps refusal of hostile nesting (200 000 `[`) linear and the tree builder's
//! recursion bounded.

use saphyr_parser as sy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    StreamStart,
    StreamEnd,
    DocumentStart {
        explicit: bool,
    },
    DocumentEnd,
    Alias {
        name: String,
    },
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<Box<str>>,
        anchor: Option<Box<str>>,
    },
    SequenceStart {
        flow: bool,
        tag: Option<Box<str>>,
        anchor: Option<Box<str>>,
    },
    SequenceEnd,
    MappingStart {
        flow: bool,
        tag: Option<Box<str>>,
        anchor: Option<Box<str>>,
    },
    MappingEnd,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// Byte offsets into the input (plus the parser's `base`).
    pub start: usize,
    pub end: usize,
}

/// Deepest nesting of collections accepted. Real files stay far below it (the deepest in
/// the shared corpus of charts and workflows is 37, an Argo CRD schema); the tree builder
/// recurses once per level, so the bound also keeps the stack small. 255: saphyr-parser
/// allows no more flow levels (see `Parser::syntax_error`), and one bound is simpler to state.
pub const MAX_DEPTH: usize = 255;

/// A YAML syntax error with a 0-based byte offset and 1-based line/column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
    pub line: usize,
    pub col: usize,
    /// The innermost flow collection the error is inside (the byte offset of its `[`/`{`).
    pub context_offset: Option<usize>,
    /// Not a syntax error: the input is nested deeper than [`MAX_DEPTH`].
    pub too_deep: bool,
}

/// What the tree builder reads events from: [`Parser`], or in tests another parser's
/// events as an oracle.
pub trait EventSource {
    /// The next event; `None` after `StreamEnd`.
    fn next_event(&mut self) -> Result<Option<Event>, SyntaxError>;
    /// The next event without consuming it.
    fn peek_event(&mut self) -> Result<Option<&Event>, SyntaxError>;
    /// Reads the rest of the input: `Err` when it holds a syntax error.
    fn finish_events(&mut self) -> Result<(), SyntaxError> {
        while self.next_event()?.is_some() {}
        Ok(())
    }
}

/// Opens an [`EventSource`] over an input, with `base` added to its offsets (see
/// [`Parser::new`]).
pub trait Source {
    type Events<'s>: EventSource;
    fn open<'s>(&self, input: &'s str, base: usize) -> Result<Self::Events<'s>, SyntaxError>;
}

/// patcher's event source: [`Parser`].
pub struct Events;

impl Source for Events {
    type Events<'s> = Parser<'s>;
    fn open<'s>(&self, input: &'s str, base: usize) -> Result<Parser<'s>, SyntaxError> {
        Parser::new(input, base)
    }
}

/// The parser over one input, giving its events one at a time: the tree builder consumes
/// each as it comes, so no list of a file's events is ever held (on a 2.7 MB CRD that list
/// was the largest allocation of a plan).
pub struct Parser<'a> {
    inner: sy::Parser<'a, sy::StrInput<'a>>,
    input: &'a str,
    offsets: Offsets<'a>,
    base: usize,
    /// Starts (in `input`) of the open collections, and whether each is flow.
    open: Vec<(usize, bool)>,
    /// End (in `input`) of the last event given: where a block scalar's header is looked for.
    last_end: usize,
    peeked: Option<Event>,
    /// Past `StreamEnd` (`Ok`) or an error (`Err`, given again on every later call).
    finished: Option<Result<(), SyntaxError>>,
}

impl<'a> Parser<'a> {
    /// A parser of `input`, with `base` added to every offset: the caller parses a suffix of
    /// its text (after a byte-order mark). Lines and columns stay relative to `input`.
    pub fn new(input: &'a str, base: usize) -> Result<Self, SyntaxError> {
        Ok(Parser {
            inner: sy::Parser::new_from_str(input),
            input,
            offsets: Offsets::new(input),
            base,
            open: Vec::new(),
            last_end: 0,
            peeked: None,
            finished: None,
        })
    }

    /// The next event; `None` after `StreamEnd`.
    #[allow(clippy::should_implement_trait)] // fallible, so not an `Iterator`
    pub fn next(&mut self) -> Result<Option<Event>, SyntaxError> {
        match self.peeked.take() {
            Some(event) => Ok(Some(event)),
            None => self.parse_one(),
        }
    }

    /// The next event without consuming it.
    pub fn peek(&mut self) -> Result<Option<&Event>, SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = self.parse_one()?;
        }
        Ok(self.peeked.as_ref())
    }

    /// Reads the rest of the input: `Err` when it holds a syntax error. A caller that failed
    /// on what the events say asks this, so that a syntax error anywhere in the file is the
    /// one reported, as when the events were all read first.
    pub fn finish(&mut self) -> Result<(), SyntaxError> {
        while self.next()?.is_some() {}
        Ok(())
    }

    fn parse_one(&mut self) -> Result<Option<Event>, SyntaxError> {
        if let Some(finished) = &self.finished {
            return finished.clone().map(|()| None);
        }
        let result = self.parse_raw();
        match &result {
            Ok(event) if event.kind == EventKind::StreamEnd => self.finished = Some(Ok(())),
            Ok(_) => {}
            Err(e) => self.finished = Some(Err(e.clone())),
        }
        result.map(Some)
    }

    fn parse_raw(&mut self) -> Result<Event, SyntaxError> {
        loop {
            let (ev, span) = match self.inner.next_event() {
                None => {
                    let end = self.input.len();
                    return Ok(self.shift(EventKind::StreamEnd, end, end));
                }
                Some(Err(e)) => return Err(self.syntax_error(&e)),
                Some(Ok(x)) => x,
            };
            let start = self.offsets.byte(span.start.index());
            let end = self.offsets.byte(span.end.index()).max(start);
            if let Some((kind, start, end)) = self.convert(ev, start, end, span.start)? {
                self.last_end = end;
                return Ok(self.shift(kind, start, end));
            }
        }
    }

    fn shift(&self, kind: EventKind, start: usize, end: usize) -> Event {
        Event {
            kind,
            start: start + self.base,
            end: end + self.base,
        }
    }

    /// Converts one saphyr event at `start..end` (bytes in `input`) into patcher's kind and
    /// span; `None` for what patcher has no event for.
    fn convert(
        &mut self,
        ev: sy::Event<'a>,
        start: usize,
        end: usize,
        mark: sy::Marker,
    ) -> Result<Option<(EventKind, usize, usize)>, SyntaxError> {
        let text = self.input;
        Ok(Some(match ev {
            sy::Event::Nothing => return Ok(None),
            sy::Event::StreamStart => (EventKind::StreamStart, start, start),
            sy::Event::StreamEnd => (EventKind::StreamEnd, start, start),
            sy::Event::DocumentStart(explicit) => {
                // An implicit start is the point where the content starts (saphyr's span is
                // the first token).
                let end = if explicit { end } else { start };
                (EventKind::DocumentStart { explicit }, start, end)
            }
            sy::Event::DocumentEnd => {
                // Without `...`, saphyr's span is the token after the document.
                let end = if text[start..].starts_with("...") {
                    end
                } else {
                    start
                };
                (EventKind::DocumentEnd, start, end)
            }
            sy::Event::Alias(_) => {
                let name = text.get(start + 1..end).unwrap_or_default().to_string();
                (EventKind::Alias { name }, start, end)
            }
            sy::Event::Scalar(value, style, anchor_id, tag) => {
                let anchor = anchor_name(text, start, anchor_id);
                let style = match style {
                    sy::ScalarStyle::Plain => ScalarStyle::Plain,
                    sy::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    sy::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    sy::ScalarStyle::Literal => ScalarStyle::Literal,
                    sy::ScalarStyle::Folded => ScalarStyle::Folded,
                };
                let has_props = anchor.is_some() || tag.is_some();
                let (start, end) = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded if !has_props => {
                        (block_header(text, self.last_end.min(start), start), end)
                    }
                    ScalarStyle::Plain if value.is_empty() && !has_props => {
                        let at = empty_scalar_at(text, start, end);
                        (at, at)
                    }
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        (start, quoted_end(text, start, end))
                    }
                    _ => (start, end),
                };
                let mut value = value.into_owned();
                let end = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        block_scalar_at_eof(text, start, end, &mut value)
                    }
                    _ => end,
                };
                let kind = EventKind::Scalar {
                    value,
                    style,
                    tag: tag.map(|t| tag_text(&t)),
                    anchor,
                };
                (kind, start, end)
            }
            sy::Event::SequenceStart(anchor_id, tag) => {
                let b = text.as_bytes();
                let block =
                    !self.open.last().is_some_and(|&(_, flow)| flow) && b.get(start) != Some(&b'[');
                let start = match (anchor_id, &tag) {
                    (0, None) if block && !is_entry_indicator(b, start) => {
                        entry_on_line_before(b, start).unwrap_or(start)
                    }
                    _ => start,
                };
                let (flow, end) = self.open_collection(start, end, mark)?;
                let kind = EventKind::SequenceStart {
                    flow,
                    tag: tag.map(|t| tag_text(&t)),
                    anchor: anchor_name(text, start, anchor_id),
                };
                (kind, start, end)
            }
            sy::Event::MappingStart(anchor_id, tag) => {
                let (flow, end) = self.open_collection(start, end, mark)?;
                let kind = EventKind::MappingStart {
                    flow,
                    tag: tag.map(|t| tag_text(&t)),
                    anchor: anchor_name(text, start, anchor_id),
                };
                (kind, start, end)
            }
            sy::Event::SequenceEnd | sy::Event::MappingEnd => {
                let seq = matches!(ev, sy::Event::SequenceEnd);
                let flow = self.open.pop().is_some_and(|(_, flow)| flow);
                // A flow collection ends after its `]`/`}` (saphyr-parser 0.3.4's span goes on
                // over blanks and a comment after it); a block one where the next token starts,
                // as a point.
                let end = if flow { (start + 1).min(end) } else { start };
                let kind = if seq {
                    EventKind::SequenceEnd
                } else {
                    EventKind::MappingEnd
                };
                (kind, start, end)
            }
        }))
    }

    /// Opens a collection at `start..end`: whether it is flow, and the end of its event.
    fn open_collection(
        &mut self,
        start: usize,
        end: usize,
        mark: sy::Marker,
    ) -> Result<(bool, usize), SyntaxError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(SyntaxError {
                message: too_deep_message(),
                offset: start + self.base,
                line: mark.line(),
                col: mark.col() + 1,
                context_offset: None,
                too_deep: true,
            });
        }
        // saphyr says nothing of the style: a collection inside a flow one is flow (also a
        // single-pair mapping `[a: b]`, whose span is empty), else its span (empty for a
        // block collection without properties) ends with its `[` or `{` and the blanks or
        // comment after it.
        let b = self.input.as_bytes();
        let in_flow = self.open.last().is_some_and(|&(_, flow)| flow);
        let opener = (start < end)
            .then(|| skip_properties(b, start))
            .filter(|&i| i < end && matches!(b[i], b'[' | b'{'));
        let flow = in_flow || opener.is_some();
        self.open.push((start, flow));
        // A flow collection's event ends after its `[`/`{`; a block one's is the point where
        // it starts.
        Ok(match opener {
            Some(i) => (flow, i + 1),
            None if flow => (flow, end),
            None => (flow, start),
        })
    }

    fn syntax_error(&mut self, e: &sy::ScanError) -> SyntaxError {
        let m = e.marker();
        let offset = self.offsets.byte(m.index());
        let mut message = e.info().to_string();
        let (mut too_deep, mut simple_key) = (false, false);
        match e.info() {
            // saphyr-parser 0.3.4 counts open flow collections in a `u8`: the 256th `[` or `{`
            // is its "recursion limit exceeded". It is a nesting limit, reported as ours.
            "recursion limit exceeded" => {
                message = too_deep_message();
                too_deep = true;
            }
            // saphyr-parser 0.3.4's wording for a key without its `:`; the key started on an
            // earlier line, which is the context template diagnostics look from.
            "simple key expect ':'" | "simple key expected" => {
                message = "could not find expected ':' (while scanning a simple key)".into();
                simple_key = true;
            }
            // saphyr names no anchor; the alias token is at the mark.
            "while parsing node, found unknown anchor" => {
                let name = alias_name(self.input, offset);
                message =
                    format!("unknown anchor *{name} (no `&{name}` before it in this document)");
            }
            _ => {}
        }
        let b = self.input.as_bytes();
        let line_start = |at: usize| {
            b[..at.min(b.len())]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
        };
        let context_offset = self
            .open
            .iter()
            .rev()
            .find(|(_, flow)| *flow)
            .map(|&(at, _)| at)
            .or_else(|| simple_key.then(|| line_start(line_start(offset).saturating_sub(1))))
            .map(|at| at + self.base);
        SyntaxError {
            message,
            offset: offset + self.base,
            line: m.line(),
            col: m.col() + 1,
            context_offset: if too_deep { None } else { context_offset },
            too_deep,
        }
    }
}

impl EventSource for Parser<'_> {
    fn next_event(&mut self) -> Result<Option<Event>, SyntaxError> {
        self.next()
    }
    fn peek_event(&mut self) -> Result<Option<&Event>, SyntaxError> {
        self.peek()
    }
}

fn too_deep_message() -> String {
    format!(
        "collections nested more than {MAX_DEPTH} levels deep; patcher refuses such files \
         (real configuration is far shallower: is this file generated or corrupted?)"
    )
}

/// The name of the alias `*name` at `at`.
fn alias_name(text: &str, at: usize) -> &str {
    let rest = text.get(at..).unwrap_or_default();
    let rest = rest.strip_prefix('*').unwrap_or(rest);
    let end = rest
        .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Parses `input` into the full event list.
pub fn parse(input: &str) -> Result<Vec<Event>, SyntaxError> {
    parse_at(input, 0)
}

/// Like [`parse`], with `base` added to every offset (see [`Parser::new`]).
pub fn parse_at(input: &str, base: usize) -> Result<Vec<Event>, SyntaxError> {
    let mut parser = Parser::new(input, base)?;
    let mut out = Vec::new();
    while let Some(event) = parser.next()? {
        out.push(event);
    }
    Ok(out)
}

/// saphyr-parser 0.3.4 reads the end of the input as a line break: when the last line of
/// the file has no line break and belongs to a block scalar (content, or blanks at least as
/// deep as its content), the value gets one `\n` too many (`s: |` then `  two` at EOF reads
/// "two\n"; YAML 1.2 §8.1.1.2 (`b-chomped-last`), libyaml and PyYAML read "two"; with `|+`
/// and blank lines, one more than there are). Drops it. For a last line of blanks deeper than
/// the content the suite's reference parser agrees with saphyr (L24T/01, listed in
/// tests/data/yaml-suite-known.txt); patcher reads it as libyaml, go-yaml (Helm) and PyYAML,
/// which are what read these files. Returns the scalar's end: after the line break that ends
/// its last content line when there is one (as when the file ends with a line break), not at
/// the end of the file past the blank lines; a last line of blanks deeper than the content
/// is content, and the scalar ends with the file, where its node ends ([`block_scalar_end`]). `start` is the block header.
fn block_scalar_at_eof(text: &str, start: usize, end: usize, value: &mut String) -> usize {
    let end = end.min(text.len());
    if !text[end..].bytes().all(|b| b == b' ' || b == b'\t') {
        return end;
    }
    let last_start = text.rfind('\n').map_or(0, |i| i + 1);
    let last = &text[last_start..];
    let body_start = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    if !last.is_empty() && last_start >= body_start && value.ends_with('\n') {
        let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
        let content_indent = text[body_start..last_start]
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(indent)
            .min();
        let within = !last.trim().is_empty() || content_indent.is_some_and(|n| last.len() >= n);
        if within {
            value.pop();
        }
    }
    // Where the tree ends the node: a last line of blanks deeper than the content is content
    // (its value keeps the blanks past the indentation), so the event ends with it too.
    let content_end = block_scalar_end(text, start, end);
    if content_end >= end {
        return content_end;
    }
    match text[content_end..end].find('\n') {
        Some(i) => content_end + i + 1,
        None => end,
    }
}

/// The end of a block scalar's last content line (the parser's span includes trailing breaks):
/// the end of its node in the tree, and what [`block_scalar_at_eof`] ends the event after.
/// A trailing line of more spaces than the content's indentation is content (`|` over
/// `  x` and `   ` reads `"x\n \n"`), so the scalar ends after it; blanks at the end of a
/// line with text are left out as before.
pub(super) fn block_scalar_end(src: &str, start: usize, end: usize) -> usize {
    let bytes = src.as_bytes();
    let end = end.min(bytes.len());
    let trimmed = || {
        let mut e = end;
        while e > start && matches!(bytes[e - 1], b'\n' | b'\r' | b' ' | b'\t') {
            e -= 1;
        }
        e
    };
    let Some(nl) = src[start..end].find('\n') else {
        return trimmed();
    };
    let body_start = start + nl + 1;
    let header = src[start..start + nl].split('#').next().unwrap_or_default();
    if header.bytes().any(|b| b.is_ascii_digit()) {
        // An explicit indentation indicator counts from the parent's indentation.
        return trimmed();
    }
    let Some(indent) = src[body_start..end]
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
    else {
        return trimmed();
    };
    // Past the last line with text: empty lines, and lines of more spaces than the
    // indentation, which are content (the parser's span may stop before them).
    let mut e = trimmed();
    let mut at = src[e..].find('\n').map_or(bytes.len(), |i| e + i + 1);
    while at < bytes.len() {
        let line_end = src[at..].find('\n').map_or(bytes.len(), |i| at + i);
        let line = src[at..line_end].trim_end_matches('\r');
        if !line.bytes().all(|b| b == b' ') {
            break;
        }
        if line.len() > indent {
            e = at + line.len();
        }
        at = line_end + 1;
    }
    e
}

/// Character index to byte offset. saphyr's marks count characters; they move mostly forward,
/// so a cursor walks from the last answer (linear over a file). ASCII text needs no walk.
struct Offsets<'a> {
    text: &'a [u8],
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            text: text.as_bytes(),
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, chars: usize) -> usize {
        let t = self.text;
        if self.ascii {
            return chars.min(t.len());
        }
        while self.chars < chars && self.bytes < t.len() {
            self.bytes += 1;
            while self.bytes < t.len() && (t[self.bytes] & 0xC0) == 0x80 {
                self.bytes += 1;
            }
            self.chars += 1;
        }
        while self.chars > chars && self.bytes > 0 {
            self.bytes -= 1;
            while self.bytes > 0 && (t[self.bytes] & 0xC0) == 0x80 {
                self.bytes -= 1;
            }
            self.chars -= 1;
        }
        self.bytes
    }
}

/// A tag as one string, as the YAML spec resolves it: `!!str` is `tag:yaml.org,2002:str`,
/// `!x` stays `!x`, a verbatim `!<u>` is `u`.
fn tag_text(tag: &sy::Tag) -> Box<str> {
    format!("{}{}", tag.handle, tag.suffix).into_boxed_str()
}

/// The name of the anchor among the properties at `start` (saphyr gives only its number):
/// the properties are `&name` and `!tag` in either order, separated by blanks, line breaks or
/// comments.
fn anchor_name(text: &str, start: usize, anchor_id: usize) -> Option<Box<str>> {
    if anchor_id == 0 {
        return None;
    }
    let b = text.as_bytes();
    let mut i = start;
    for _ in 0..2 {
        i = skip_separation(b, i);
        match b.get(i) {
            Some(b'&') => {
                let name_end = i
                    + 1
                    + b[i + 1..]
                        .iter()
                        .position(|c| c.is_ascii_whitespace() || b",[]{}".contains(c))
                        .unwrap_or(b.len() - i - 1);
                return Some(text.get(i + 1..name_end).unwrap_or_default().into());
            }
            Some(b'!') => {
                i += b[i..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace())
                    .unwrap_or(b.len() - i);
            }
            _ => break,
        }
    }
    Some("".into())
}

/// Past blanks, line breaks and comments from `i`.
fn skip_separation(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => {
                i += b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .unwrap_or(b.len() - i)
            }
            _ => break,
        }
    }
    i
}

/// Where a block scalar without properties starts: its `|` or `>` header, the first indicator
/// token from `from` (the end of the event before it) on. saphyr's span starts at the content.
fn block_header(text: &str, from: usize, content: usize) -> usize {
    let b = text.as_bytes();
    let mut i = from;
    while i < content {
        i = skip_separation(b, i);
        match b.get(i) {
            Some(b'|' | b'>') if i < content => return i,
            Some(_) if i < content => {
                // An indicator (`:`, `-`, `?`, `---`) or the rest of the token before.
                while i < content && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    content
}

/// Where an empty plain scalar is (libyaml's answer, the one the tree builder was made for):
/// right after the `:` or `-` it follows, else where its span starts (the token after it).
/// saphyr-parser 0.3.4 gives an empty span *at* a `:` and, for a `-`, one after the blanks
/// that follow it.
fn empty_scalar_at(text: &str, start: usize, end: usize) -> usize {
    let b = text.as_bytes();
    if b.get(start) == Some(&b':') && end <= start + 1 {
        return start + 1;
    }
    match text.get(start..end) {
        Some("-" | "?") => end,
        _ => dash_before(b, start).map_or(start, |dash| dash + 1),
    }
}

/// The `-` that only blanks separate from `at`, if any. saphyr-parser 0.3.4 puts a block
/// sequence entry's token (and so an empty entry) after the blanks that follow its `-`.
fn dash_before(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at.min(b.len());
    while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    (i > 0 && b[i - 1] == b'-').then(|| i - 1)
}

/// Whether a block sequence entry's `-` is at `i`.
fn is_entry_indicator(b: &[u8], i: usize) -> bool {
    b.get(i) == Some(&b'-') && b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
}

/// The `-` that starts the line of `at` when only blanks and a comment follow it before `at`.
/// saphyr-parser 0.3.4 starts an indentless sequence (`key:` then `- a` at its indentation)
/// at its first entry's token, after the `-`, its blanks and any comment.
fn entry_on_line_before(b: &[u8], at: usize) -> Option<usize> {
    let at = at.min(b.len());
    let line = b[..at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let dash = line + b[line..at].iter().position(|&c| c != b' ' && c != b'\t')?;
    if !is_entry_indicator(b, dash) {
        return None;
    }
    let rest = skip_separation(b, dash + 1);
    (rest >= at).then_some(dash)
}

/// Past the properties (`&anchor`, `!tag`) and separation at `i`.
fn skip_properties(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_separation(b, i);
        match b.get(i) {
            Some(b'&' | b'!') => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            _ => return i,
        }
    }
}

/// The end of a quoted scalar, after its closing quote: saphyr-parser 0.3.4's span goes on
/// over the blanks and a comment after it. `limit` is saphyr's end.
fn quoted_end(text: &str, start: usize, limit: usize) -> usize {
    let b = text.as_bytes();
    let open = skip_properties(b, start);
    let Some(&q) = b.get(open) else {
        return limit;
    };
    let mut i = open + 1;
    while i < limit {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            b'\'' if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_offsets_are_bytes() {
        let src = "é: \"x\"\nb: [1, 2]\n";
        let evs = parse(src).unwrap();
        let scalars: Vec<_> = evs
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Scalar { .. }))
            .map(|e| &src[e.start..e.end])
            .collect();
        assert_eq!(scalars, vec!["é", "\"x\"", "b", "1", "2"]);
    }

    #[test]
    fn a_parser_that_failed_gives_the_same_error_again_not_empty_events() {
        let mut p = Parser::new("a: [1\n", 0).unwrap();
        let first = loop {
            match p.next() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the input does not parse"),
                Err(e) => break e,
            }
        };
        assert_eq!(p.next().unwrap_err(), first);
        assert_eq!(p.peek().unwrap_err(), first);
        assert_eq!(p.finish().unwrap_err(), first);
    }

    #[test]
    fn a_parser_past_the_stream_end_gives_no_more_events() {
        let mut p = Parser::new("a\n", 0).unwrap();
        let mut kinds = Vec::new();
        while let Some(e) = p.next().unwrap() {
            kinds.push(e.kind);
        }
        assert_eq!(kinds.last(), Some(&EventKind::StreamEnd));
        assert_eq!(p.next(), Ok(None));
        assert_eq!(p.finish(), Ok(()));
    }

    /// The event of a block scalar ends where its node in the tree ends, past the node's last
    /// line break if it has one: one reading of where the scalar stops, not two.
    #[test]
    fn a_block_scalar_event_ends_with_its_node_also_on_a_deeper_blank_last_line() {
        let cases = [
            // L24T/01: the last line's third space is content.
            ("foo: |\n  x\n   ", "|\n  x\n   ", "x\n "),
            ("foo: |\n  x\n  ", "|\n  x\n", "x\n"),
            ("foo: |+\n  x\n    ", "|+\n  x\n    ", "x\n  "),
            ("foo: |\n  x\n   \n", "|\n  x\n   \n", "x\n \n"),
            ("foo: |\n  x\n\n", "|\n  x\n", "x\n"),
            ("s: |\n  two", "|\n  two", "two"),
        ];
        for (src, span, want) in cases {
            let e = parse(src)
                .unwrap()
                .into_iter()
                .find(|e| matches!(&e.kind, EventKind::Scalar { style, .. } if *style == ScalarStyle::Literal))
                .unwrap();
            let EventKind::Scalar { value, .. } = &e.kind else {
                unreachable!()
            };
            assert_eq!(
                (&src[e.start..e.end], value.as_str()),
                (span, want),
                "{src:?}"
            );
            let node_end = block_scalar_end(src, e.start, e.end);
            assert!(
                node_end == e.end || &src[node_end..e.end] == "\n",
                "{src:?}: node ends at {node_end}, event at {}",
                e.end
            );
        }
    }

    /// Values as YAML 1.2 (and libyaml, PyYAML) read them; saphyr-parser 0.3.4 gives each of
    /// these one more `\n` (see `block_scalar_at_eof`).
    #[test]
    fn a_block_scalar_ending_the_input_without_a_line_break_gains_no_line_break() {
        let value_of = |src: &str| {
            parse(src)
                .unwrap()
                .into_iter()
                .filter_map(|e| match e.kind {
                    EventKind::Scalar { value, .. } => Some(value),
                    _ => None,
                })
                .skip_while(|v| v != "s")
                .nth(1)
                .unwrap()
        };
        for (src, want) in [
            ("s: |\n  one\n\n  two", "one\n\ntwo"),
            ("a:\n  s: |\n    line", "line"),
            ("s: |\n  one\n\n  two\n\n  ", "one\n\ntwo\n"),
            ("s: |+\n  one\n\n  two\n\n  ", "one\n\ntwo\n\n"),
            ("s: >\n  one\n\n  two", "one\ntwo"),
            ("s: >+\n  one\n\n  two", "one\ntwo"),
            ("s: |2+\n  one\n\n  two\n\n  ", "one\n\ntwo\n\n"),
            // Unchanged: a line break ends the input, or the header strips.
            ("s: |\n  two\n", "two\n"),
            ("s: |+\n  two\n\n", "two\n\n"),
            ("s: |-\n  two", "two"),
            ("s: |\n  two\nt: 1", "two\n"),
            // The last line is the parent's (less deep than the content): no extra break.
            ("a:\n  s: |\n    two\n  ", "two\n"),
            ("a:\n  s: |\n    two\n    ", "two\n"),
            ("a:\n  s: |\n    two\n      ", "two\n  "),
            (
                "a:\n  k: 1\n  s: |\n    one\n\n    two\n\n  ",
                "one\n\ntwo\n",
            ),
        ] {
            assert_eq!(value_of(src), want, "{src:?}");
        }
    }

    #[test]
    fn syntax_error_has_line_and_col() {
        let err = parse("a: b\n  c: d\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn base_shifts_offsets_but_not_lines() {
        let evs = parse_at("a: [1]\n", 3).unwrap();
        let seq = evs
            .iter()
            .find(|e| matches!(e.kind, EventKind::SequenceStart { .. }))
            .unwrap();
        assert_eq!((seq.start, seq.end), (6, 7));
        let err = parse_at("a: [1\n", 3).unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.context_offset, Some(6), "the `[` the error is inside");
    }

    #[test]
    fn nesting_past_the_limit_is_refused_at_the_first_level_too_deep() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1);
        let err = parse(&deep).unwrap_err();
        assert!(
            err.message.contains("nested more than 255"),
            "{}",
            err.message
        );
        assert_eq!(err.offset, MAX_DEPTH, "at the first `[` too deep");
    }

    #[test]
    fn deep_flow_nesting_is_refused_in_linear_time() {
        // Parsed to the end, a scanner's work per token can grow with the open flow levels.
        let deep = "[".repeat(200_000);
        let t = std::time::Instant::now();
        assert!(parse(&deep).is_err());
        assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
    }

    /// The text of each event's span, with its kind's name.
    fn spans(src: &str) -> Vec<(String, &str)> {
        parse(src)
            .unwrap()
            .into_iter()
            .map(|e| {
                let name = format!("{:?}", e.kind);
                let name = name
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                (name, &src[e.start..e.end])
            })
            .collect()
    }

    fn span_of<'s>(src: &'s str, kind: &str, nth: usize) -> &'s str {
        spans(src)
            .into_iter()
            .filter(|(k, _)| k == kind)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {kind} #{nth} in {src:?}"))
            .1
    }

    #[test]
    fn a_block_scalar_starts_at_its_header_not_its_content() {
        // saphyr-parser 0.3.4 starts the span at the content.
        let src = "a: |\n  x\nb: >- # a | b\n\n  y\nc:\n  - |2\n     z\n";
        assert!(span_of(src, "Scalar", 1).starts_with("|\n  x"));
        assert!(span_of(src, "Scalar", 3).starts_with(">- # a | b\n\n  y"));
        assert!(span_of(src, "Scalar", 5).starts_with("|2\n     z"));
        // With properties the span starts at them, as saphyr gives it.
        assert!(span_of("a: &x !!str |\n  t\n", "Scalar", 1).starts_with("&x !!str |"));
    }

    #[test]
    fn an_empty_value_is_the_point_after_its_indicator() {
        // saphyr-parser 0.3.4: an empty span at the `:`, after the blanks following a `-`.
        let src = "a:\nb:\n- \n-\nc: 1\n";
        let at: Vec<usize> = parse(src)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(&e.kind, EventKind::Scalar { value, .. } if value.is_empty()))
            .map(|e| {
                assert_eq!(e.start, e.end);
                e.start
            })
            .collect();
        assert_eq!(at, vec![2, 7, 10]);
    }

    #[test]
    fn an_indentless_sequence_starts_at_its_first_dash() {
        // saphyr-parser 0.3.4 starts it after `- ` (and any comment there).
        assert_eq!(span_of("k:\n- --a\n- b\n", "SequenceStart", 0), "");
        let ev = parse("k:\n- --a\n- b\n").unwrap();
        let seq = ev
            .iter()
            .find(|e| matches!(e.kind, EventKind::SequenceStart { .. }));
        assert_eq!(seq.map(|e| e.start), Some(3));
        let ev = parse("k:\n-   # c\n  x\n").unwrap();
        let seq = ev
            .iter()
            .find(|e| matches!(e.kind, EventKind::SequenceStart { .. }));
        assert_eq!(seq.map(|e| e.start), Some(3));
    }

    #[test]
    fn quoted_scalars_and_flow_ends_stop_before_a_comment_after_them() {
        // saphyr-parser 0.3.4's spans of these tokens run on over blanks and a comment.
        let src = "a: \"q\"  # \"z\"\nb: 'it''s' # x\nc: [ \"x\" ]   # c ]\nd: {x: 1 }  # }\n";
        assert_eq!(span_of(src, "Scalar", 1), "\"q\"");
        assert_eq!(span_of(src, "Scalar", 3), "'it''s'");
        assert_eq!(span_of(src, "SequenceEnd", 0), "]");
        assert_eq!(span_of(src, "MappingEnd", 0), "}");
    }

    #[test]
    fn flow_collections_are_told_from_block_ones() {
        let ev = parse("a: [ x, {y: 1}, z: 2 ]\nb: { }\nc:\n  d: [e]\n[k]: v\n").unwrap();
        let flows: Vec<(bool, usize, usize)> =
            ev.iter()
                .filter_map(|e| match e.kind {
                    EventKind::SequenceStart { flow, .. }
                    | EventKind::MappingStart { flow, .. } => Some((flow, e.start, e.end)),
                    _ => None,
                })
                .collect();
        assert_eq!(
            flows,
            vec![
                (false, 0, 0),
                (true, 3, 4),
                (true, 8, 9),
                (true, 16, 16),
                (true, 26, 27),
                (false, 35, 35),
                (true, 38, 39),
                (true, 42, 43),
            ]
        );
    }

    #[test]
    fn anchors_and_tags_are_named_as_written() {
        let ev = parse("a: &x !!str v\nb: !local &y [1]\nc: *x\nd: !<tag:e.com,1:t> w\n").unwrap();
        let props: Vec<(Option<&str>, Option<&str>)> = ev
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Scalar { tag, anchor, .. }
                | EventKind::SequenceStart { tag, anchor, .. }
                    if tag.is_some() || anchor.is_some() =>
                {
                    Some((anchor.as_deref(), tag.as_deref()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            props,
            vec![
                (Some("x"), Some("tag:yaml.org,2002:str")),
                (Some("y"), Some("!local")),
                (None, Some("tag:e.com,1:t")),
            ]
        );
        assert!(
            ev.iter()
                .any(|e| e.kind == EventKind::Alias { name: "x".into() })
        );
    }

    #[test]
    fn offsets_are_bytes_after_multibyte_text_anywhere() {
        let src = "ü: \"日本\"\nb: [é, ö]\nc: |\n  ß\n";
        let scalars: Vec<&str> = parse(src)
            .unwrap()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Scalar { .. }))
            .map(|e| src[e.start..e.end].trim_end())
            .collect();
        assert_eq!(scalars, vec!["ü", "\"日本\"", "b", "é", "ö", "c", "|\n  ß"]);
        let bad = "é: [ö\n";
        let err = parse(bad).unwrap_err();
        assert!(bad.is_char_boundary(err.offset), "{err:?}");
        assert_eq!(err.context_offset, Some(4), "the `[`, in bytes");
    }

    #[test]
    fn an_alias_without_its_anchor_names_it() {
        let err = parse("a: *nope\n").unwrap_err();
        assert!(
            err.message.contains("unknown anchor *nope"),
            "{}",
            err.message
        );
        assert_eq!((err.offset, err.line, err.col), (3, 1, 4));
    }

    #[test]
    fn a_key_without_its_colon_is_named_with_the_line_it_started_before() {
        let err = parse("a: 1\nb\nc: 2\n").unwrap_err();
        assert_eq!(
            err.message,
            "could not find expected ':' (while scanning a simple key)"
        );
        assert_eq!(err.line, 3);
        assert_eq!(err.context_offset, Some(5), "the line before the error");
    }
}
