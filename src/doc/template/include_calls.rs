//! Include calls in a template, as data: `include "NAME" ARG` actions, the `define`s that
//! answer them, and `dict` arguments. Which define an include names and with what; what the
//! define prints is read elsewhere (`reads`, `plan::includes`).

use super::context::{bind, bound_words, dot_context};
use super::expr::{Binding, dict_binding, unquote, words_of};
use super::{ActionKind, BlockKind, Masked};

/// An `include "NAME" CTX | nindent N` action that prints a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    /// The named template.
    pub name: String,
    /// Why the define is not followed, when it is not: CTX must be the root context (`$`,
    /// or `.` outside `with`/`range`), so that inside the define `.Values` are the chart's
    /// values, and the pipes after it must keep its text (`nindent N`, `indent N`, `trim`,
    /// `fromYaml | toYaml`).
    pub not_followed: Option<String>,
    /// `include "NAME" (dict "k" V …)`: what the define's `.k` stand for (`None`: CTX is the
    /// root context).
    pub binding: Option<Binding>,
    /// The action stands alone on its line among the entries of the mapping at the source's
    /// pointer (`{{- include "x.readinessProbe" . | nindent 10 }}` under `- name: app`): it
    /// prints entries into that mapping, not its value.
    pub entries: bool,
}

/// The include an output action at `a` makes, with its argument bound (the root context, or
/// a `dict` of values paths and the root), or why it is not followed.
pub(super) fn included(m: &Masked, text: &str, a: &super::Action, action: &str) -> Option<Include> {
    let words = bound_words(m, text, a.span.start, action).unwrap_or_else(|_| words_of(action));
    let words = bind(m, a.line, words);
    let (name, how) = include_call_words(&words)?;
    let ctx = dot_context(m, text, a.line);
    let (not_followed, binding) = match how {
        Err(why) => (Some(why), None),
        Ok(arg) if arg == ["$"] || (arg == ["."] && ctx == Ok(None)) => (None, None),
        Ok(arg) if arg.first().is_some_and(|w| w == "(") => {
            match ctx.ok().and_then(|c| dict_binding(&arg, c.as_deref())) {
                Some((b, _)) => (None, Some(b)),
                None => (
                    Some("it is given an argument other than the root context or a `dict`".into()),
                    None,
                ),
            }
        }
        Ok(arg) if arg == ["."] => (
            Some("it is included with `.` inside a `with` or `range`, not the root context".into()),
            None,
        ),
        Ok(arg) => (
            Some(format!(
                "it is given `{}`, not the root context (`.` or `$`) or a `dict`",
                arg.join(" ")
            )),
            None,
        ),
    };
    Some(Include {
        name,
        not_followed,
        binding,
        entries: false,
    })
}

/// Every `include "NAME" (dict …)` of a masked template file that the view follows, with
/// its binding and offset: the define's reads there are reads of the paths the dict passes.
pub fn dict_includes(m: &Masked, text: &str) -> Vec<(String, Binding, usize)> {
    let mut out: Vec<(String, Binding, usize)> = Vec::new();
    for a in m.actions.iter().filter(|a| a.kind == ActionKind::Output) {
        let action = &text[a.span.clone()];
        if !action.contains("dict") {
            continue;
        }
        if let Some(Include {
            name,
            not_followed: None,
            binding: Some(b),
            ..
        }) = included(m, text, a, action)
        {
            out.push((name, b, a.span.start));
        }
    }
    out
}

/// `include "NAME" …` or `template "NAME" …`: NAME, and the CTX word when the call is
/// `include "NAME" CTX` piped through nothing but `nindent N` / `indent N` / `trim`, else
/// why it is not followed (a `dict` argument, other pipes).
pub fn include_call(action: &str) -> Option<(String, Result<String, String>)> {
    let (name, how) = include_call_words(&words_of(action))?;
    let how = how.and_then(|arg| match arg.as_slice() {
        [ctx] if ctx == "." || ctx == "$" => Ok(ctx.clone()),
        [ctx] => Err(format!(
            "it is given `{ctx}`, not the root context (`.` or `$`)"
        )),
        _ => Err("it is given an argument other than the root context (`.` or `$`)".into()),
    });
    Some((name, how))
}

/// `include "NAME" ARG | …`: NAME and ARG's words (one word, or a parenthesised group),
/// when the pipes keep the define's text (`nindent N`, `indent N`, `trim`, and `fromYaml`
/// followed by `toYaml`, which re-print the same mapping); else why not.
pub(super) fn include_call_words(
    words: &[String],
) -> Option<(String, Result<Vec<String>, String>)> {
    let [f, name, args @ ..] = words else {
        return None;
    };
    if f != "include" && f != "template" {
        return None;
    }
    let name = unquote(name)?;
    let arg_end = match args.first().map(String::as_str) {
        Some("(") => super::expr::closing(args, 0).map(|c| c + 1),
        Some(_) => Some(1),
        None => None,
    };
    let Some(arg_end) = arg_end.filter(|&e| args.get(e).is_none_or(|w| w == "|")) else {
        return Some((
            name,
            Err("it is given an argument other than the root context (`.` or `$`)".into()),
        ));
    };
    let (arg, pipes) = args.split_at(arg_end);
    let cmds: Vec<&[String]> = pipes.split(|w| w == "|").skip(1).collect();
    let mut parsed = false;
    let pipes_keep_text = cmds.iter().all(|cmd| match cmd {
        [f] if f == "trim" => true,
        [f] if f == "fromYaml" => {
            parsed = true;
            true
        }
        [f] if f == "toYaml" && parsed => {
            parsed = false;
            true
        }
        [f, n] => (f == "nindent" || f == "indent") && n.parse::<usize>().is_ok(),
        _ => false,
    }) && !parsed;
    if !pipes_keep_text {
        return Some((
            name,
            Err("its output goes through a pipe other than `nindent`, `indent`, `trim` or `fromYaml | toYaml`".into()),
        ));
    }
    Some((name, Ok(arg.to_vec())))
}

/// A `define "NAME"` block of a template file.
#[derive(Debug, Clone, PartialEq)]
pub struct Define {
    pub name: String,
    /// The file, relative to the root; 1-based line of the `define` action.
    pub file: String,
    pub line: usize,
    /// The file's text with everything but the define's body blanked (line breaks kept):
    /// parsed as a template, its nodes, lines and offsets are the body's own.
    pub body: String,
    /// The `define` action ends with `-}}` and its `end` starts with `{{-`: the blank text
    /// at the body's edges is trimmed (what the body prints depends on it).
    pub trims: (bool, bool),
}

/// Every `define` block of a masked template file (helpers files hold most of them).
pub fn defines(file: &str, m: &Masked, text: &str) -> Vec<Define> {
    let mut out = Vec::new();
    for b in m.blocks.iter().filter(|b| b.kind == BlockKind::Define) {
        let Some(end_line) = b.end_line else { continue };
        let Some(opener) = m
            .actions
            .iter()
            .find(|a| a.line == b.open_line && a.kind == ActionKind::Open(BlockKind::Define))
        else {
            continue;
        };
        // The last `end` on the end line closes the outermost block there: the define.
        let Some(end) = m.actions.iter().rfind(|a| {
            a.line == end_line && a.kind == ActionKind::End && a.span.start >= opener.span.end
        }) else {
            continue;
        };
        let words = words_of(&text[opener.span.clone()]);
        let Some(name) = words.get(1).and_then(|w| unquote(w)) else {
            continue;
        };
        let body_range = opener.span.end..end.span.start;
        // A blanked character becomes as many spaces as its UTF-8 bytes, so that offsets
        // stay the file's (a `…` in a comment above the define shifted them).
        let mut body = String::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            if body_range.contains(&i) || c == '\n' || c == '\r' {
                body.push(c);
            } else {
                body.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        out.push(Define {
            name,
            file: file.to_string(),
            line: b.open_line,
            body,
            trims: (
                text[opener.span.clone()].ends_with("-}}"),
                text[end.span.clone()].starts_with("{{-"),
            ),
        });
    }
    out
}
