//! libyaml's events (libyaml-rs, patcher's event source before saphyr-parser) in patcher's
//! event type: the oracle of the differential tests. Not part of the product.
#![allow(dead_code)]

use std::mem::MaybeUninit;
use std::ptr::{NonNull, addr_of_mut};

use libyaml_rs as sys;

use patcher::doc::events::{
    Event, EventKind, EventSource, MAX_DEPTH, ScalarStyle, Source, SyntaxError,
};

struct Pinned<'a> {
    sys: sys::yaml_parser_t,
    _input: &'a [u8],
}

/// libyaml's parser over one input, giving its events one at a time: the tree builder
/// consumes each as it comes, so no list of a file's events is ever held (on a 2.7 MB CRD
/// that list was the largest allocation of a plan).
pub struct LibyamlParser<'a> {
    // The parser keeps a pointer into its own struct and into the input: keep it boxed.
    pinned: Box<MaybeUninit<Pinned<'a>>>,
    base: usize,
    depth: usize,
    peeked: Option<Event>,
    /// Past `StreamEnd` (`Ok`) or an error (`Err`, given again on every later call: libyaml
    /// answers a failed parser with empty events, which must not be read as events).
    finished: Option<Result<(), SyntaxError>>,
}

impl<'a> LibyamlParser<'a> {
    /// A parser of `input`, with `base` added to every offset: the caller parses a suffix of
    /// its text (after a byte-order mark). Lines and columns stay relative to `input`.
    pub fn new(input: &'a str, base: usize) -> Result<Self, SyntaxError> {
        let mut pinned: Box<MaybeUninit<Pinned>> = Box::new(MaybeUninit::uninit());
        unsafe {
            let p = pinned.as_mut_ptr();
            let parser = addr_of_mut!((*p).sys);
            if sys::yaml_parser_initialize(parser).fail {
                return Err(SyntaxError {
                    message: "out of memory".into(),
                    offset: base,
                    line: 1,
                    col: 1,
                    context_offset: None,
                    too_deep: false,
                });
            }
            sys::yaml_parser_set_encoding(parser, sys::YAML_UTF8_ENCODING);
            sys::yaml_parser_set_input_string(parser, input.as_ptr(), input.len() as u64);
            addr_of_mut!((*p)._input).write(input.as_bytes());
        }
        Ok(LibyamlParser {
            pinned,
            base,
            depth: 0,
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
        let base = self.base;
        let mut event = MaybeUninit::<sys::yaml_event_t>::uninit();
        let (converted, mark) = unsafe {
            let parser = addr_of_mut!((*self.pinned.as_mut_ptr()).sys);
            if sys::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                return Err(syntax_error(parser, base));
            }
            let ev = event.as_mut_ptr();
            let converted = convert(&*ev, base);
            let mark = (*ev).start_mark;
            sys::yaml_event_delete(ev);
            (converted, mark)
        };
        match converted.kind {
            EventKind::SequenceStart { .. } | EventKind::MappingStart { .. } => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(SyntaxError {
                        message: format!(
                            "collections nested more than {MAX_DEPTH} levels deep; patcher \
                             refuses such files (real configuration is far shallower: is \
                             this file generated or corrupted?)"
                        ),
                        offset: converted.start,
                        line: mark.line as usize + 1,
                        col: mark.column as usize + 1,
                        context_offset: None,
                        too_deep: true,
                    });
                }
            }
            EventKind::SequenceEnd | EventKind::MappingEnd => {
                self.depth = self.depth.saturating_sub(1);
            }
            _ => {}
        }
        Ok(converted)
    }
}

impl Drop for LibyamlParser<'_> {
    fn drop(&mut self) {
        unsafe {
            sys::yaml_parser_delete(addr_of_mut!((*self.pinned.as_mut_ptr()).sys));
        }
    }
}

impl EventSource for LibyamlParser<'_> {
    fn next_event(&mut self) -> Result<Option<Event>, SyntaxError> {
        self.next()
    }
    fn peek_event(&mut self) -> Result<Option<&Event>, SyntaxError> {
        self.peek()
    }
}

/// Opens [`LibyamlParser`]s for `Document::parse_using`.
pub struct Libyaml;

impl Source for Libyaml {
    type Events<'s> = LibyamlParser<'s>;
    fn open<'s>(&self, input: &'s str, base: usize) -> Result<LibyamlParser<'s>, SyntaxError> {
        LibyamlParser::new(input, base)
    }
}

/// Parses `input` into the full event list.
pub fn parse(input: &str) -> Result<Vec<Event>, SyntaxError> {
    let mut parser = LibyamlParser::new(input, 0)?;
    let mut out = Vec::new();
    while let Some(event) = parser.next()? {
        out.push(event);
    }
    Ok(out)
}

unsafe fn syntax_error(parser: *mut sys::yaml_parser_t, base: usize) -> SyntaxError {
    unsafe {
        let prefix = &*parser;
        let problem = cstr(prefix.problem).unwrap_or_else(|| "syntax error".to_string());
        let context = cstr(prefix.context);
        let mark = prefix.problem_mark;
        let context_offset = context
            .is_some()
            .then(|| prefix.context_mark.index as usize + base);
        let message = match context {
            Some(ctx) => format!("{problem} ({ctx})"),
            None => problem,
        };
        SyntaxError {
            message,
            offset: mark.index as usize + base,
            line: mark.line as usize + 1,
            col: mark.column as usize + 1,
            context_offset,
            too_deep: false,
        }
    }
}

unsafe fn cstr(ptr: *const i8) -> Option<String> {
    let ptr = NonNull::new(ptr as *mut i8)?;
    let c = unsafe { std::ffi::CStr::from_ptr(ptr.as_ptr()) };
    Some(c.to_string_lossy().into_owned())
}

/// A tag or anchor: rare, so boxed to keep every event small (events are moved one by one
/// from the parser into the tree builder).
unsafe fn opt_bytes(ptr: *const u8) -> Option<Box<str>> {
    unsafe { cstr(ptr as *const i8).map(String::into_boxed_str) }
}

unsafe fn convert(ev: &sys::yaml_event_t, base: usize) -> Event {
    let start = ev.start_mark.index as usize + base;
    let end = ev.end_mark.index as usize + base;
    let kind = unsafe {
        match ev.type_ {
            sys::YAML_STREAM_START_EVENT => EventKind::StreamStart,
            sys::YAML_STREAM_END_EVENT => EventKind::StreamEnd,
            sys::YAML_DOCUMENT_START_EVENT => EventKind::DocumentStart {
                explicit: !ev.data.document_start.implicit,
            },
            sys::YAML_DOCUMENT_END_EVENT => EventKind::DocumentEnd,
            sys::YAML_ALIAS_EVENT => EventKind::Alias {
                name: cstr(ev.data.alias.anchor as *const i8).unwrap_or_default(),
            },
            sys::YAML_SCALAR_EVENT => {
                let s = ev.data.scalar;
                let bytes = std::slice::from_raw_parts(s.value, s.length as usize);
                EventKind::Scalar {
                    // `from_utf8` checks ASCII a word at a time; the lossy form byte by byte.
                    value: match std::str::from_utf8(bytes) {
                        Ok(v) => v.to_owned(),
                        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
                    },
                    style: match s.style {
                        sys::YAML_SINGLE_QUOTED_SCALAR_STYLE => ScalarStyle::SingleQuoted,
                        sys::YAML_DOUBLE_QUOTED_SCALAR_STYLE => ScalarStyle::DoubleQuoted,
                        sys::YAML_LITERAL_SCALAR_STYLE => ScalarStyle::Literal,
                        sys::YAML_FOLDED_SCALAR_STYLE => ScalarStyle::Folded,
                        _ => ScalarStyle::Plain,
                    },
                    tag: opt_bytes(s.tag),
                    anchor: opt_bytes(s.anchor),
                }
            }
            sys::YAML_SEQUENCE_START_EVENT => {
                let s = ev.data.sequence_start;
                EventKind::SequenceStart {
                    flow: s.style == sys::YAML_FLOW_SEQUENCE_STYLE,
                    tag: opt_bytes(s.tag),
                    anchor: opt_bytes(s.anchor),
                }
            }
            sys::YAML_SEQUENCE_END_EVENT => EventKind::SequenceEnd,
            sys::YAML_MAPPING_START_EVENT => {
                let s = ev.data.mapping_start;
                EventKind::MappingStart {
                    flow: s.style == sys::YAML_FLOW_MAPPING_STYLE,
                    tag: opt_bytes(s.tag),
                    anchor: opt_bytes(s.anchor),
                }
            }
            _ => EventKind::MappingEnd,
        }
    };
    Event { kind, start, end }
}
