//! Finds a template's actions: lexes `{{ ... }}` like Go's `text/template` (a string, raw
//! string, char constant or comment does not end an action) and names each action's kind from
//! its first word. Never masks text or reads YAML.

use std::ops::Range;

use super::{ActionKind, BlockKind, MaskError};

fn err_at(src: &str, offset: usize, message: String) -> MaskError {
    let before = &src.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = src
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count())
        + 1;
    MaskError { line, col, message }
}

/// Spans of all actions, in order. Fails on an action without `}}`, or on a string, raw
/// string, char constant or comment that does not end.
pub(super) fn lex(src: &str) -> Result<Vec<Range<usize>>, MaskError> {
    let b = src.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    // memmem, not `str::find`: the text between a chart's actions can be megabytes (a CRD
    // inside `{{- if }}`), and memmem's vectorised search is many times faster there.
    while let Some(p) = b.get(i..).and_then(|s| memchr::memmem::find(s, b"{{")) {
        let start = i + p;
        let end = lex_action(src, start)?;
        spans.push(start..end);
        i = end;
        if i >= b.len() {
            break;
        }
    }
    Ok(spans)
}

/// Returns the end (exclusive) of the action starting at `start` (which holds `{{`).
fn lex_action(src: &str, start: usize) -> Result<usize, MaskError> {
    let b = src.as_bytes();
    let n = b.len();
    let fail = |what: &str, at: usize| {
        let (l, c) = {
            let e = err_at(src, at, String::new());
            (e.line, e.col)
        };
        let message = if at == start {
            format!("unterminated template action: no closing `}}}}` for this `{{{{`; {what}")
        } else {
            format!("unterminated template action: {what} starting at {l}:{c} does not end")
        };
        err_at(src, start, message)
    };
    let mut j = start + 2;
    while j < n {
        match b[j] {
            b'}' if j + 1 < n && b[j + 1] == b'}' => return Ok(j + 2),
            q @ (b'"' | b'\'') => {
                let what = if q == b'"' {
                    "quoted string"
                } else {
                    "char constant"
                };
                let open = j;
                j += 1;
                loop {
                    if j >= n || b[j] == b'\n' {
                        return Err(fail(what, open));
                    }
                    match b[j] {
                        b'\\' => j += 2,
                        c if c == q => {
                            j += 1;
                            break;
                        }
                        _ => j += 1,
                    }
                }
            }
            b'`' => {
                let open = j;
                match b[j + 1..].iter().position(|&c| c == b'`') {
                    Some(p) => j = j + 1 + p + 1,
                    None => return Err(fail("raw string", open)),
                }
            }
            b'/' if j + 1 < n && b[j + 1] == b'*' => {
                let open = j;
                match src.get(j + 2..).and_then(|s| s.find("*/")) {
                    Some(p) => j = j + 2 + p + 2,
                    None => return Err(fail("comment", open)),
                }
            }
            _ => j += 1,
        }
    }
    Err(fail("the file ends first", start))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// The kind of an action from its text (`{{` through `}}`).
pub(super) fn classify(action: &[u8]) -> ActionKind {
    let mut i = 2;
    if action.get(i) == Some(&b'-') && action.get(i + 1).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    while action.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    let rest = &action[i.min(action.len())..];
    if rest.starts_with(b"/*") {
        return ActionKind::Comment;
    }
    if rest.first() == Some(&b'$') {
        let mut k = 1;
        while rest.get(k).is_some_and(|&c| is_ident(c)) {
            k += 1;
        }
        while rest.get(k).is_some_and(|&c| is_space(c)) {
            k += 1;
        }
        let assign = match rest.get(k) {
            Some(b':') => rest.get(k + 1) == Some(&b'='),
            Some(b'=') => rest.get(k + 1) != Some(&b'='),
            _ => false,
        };
        return if assign {
            ActionKind::Assign
        } else {
            ActionKind::Output
        };
    }
    let w = rest.iter().take_while(|&&c| is_ident(c)).count();
    match &rest[..w] {
        b"if" => ActionKind::Open(BlockKind::If),
        b"with" => ActionKind::Open(BlockKind::With),
        b"range" => ActionKind::Open(BlockKind::Range),
        b"define" => ActionKind::Open(BlockKind::Define),
        b"block" => ActionKind::Open(BlockKind::Block),
        b"else" => ActionKind::Else,
        b"end" => ActionKind::End,
        _ => ActionKind::Output,
    }
}

#[cfg(test)]
mod tests {
    use super::classify;
    use crate::doc::template::{ActionKind, BlockKind};

    #[test]
    fn action_kind_comes_from_first_word() {
        let cases = [
            ("{{ if .x }}", ActionKind::Open(BlockKind::If)),
            ("{{- with .x }}", ActionKind::Open(BlockKind::With)),
            (
                "{{- range $i, $v := .x }}",
                ActionKind::Open(BlockKind::Range),
            ),
            ("{{ define \"x\" }}", ActionKind::Open(BlockKind::Define)),
            ("{{ block \"x\" . }}", ActionKind::Open(BlockKind::Block)),
            ("{{if(eq 1 1)}}", ActionKind::Open(BlockKind::If)),
            ("{{- else }}", ActionKind::Else),
            ("{{else}}", ActionKind::Else),
            ("{{- else if .y }}", ActionKind::Else),
            ("{{ else with .y }}", ActionKind::Else),
            ("{{- end -}}", ActionKind::End),
            ("{{end}}", ActionKind::End),
            ("{{/* c */}}", ActionKind::Comment),
            ("{{- /* c */ -}}", ActionKind::Comment),
            ("{{- $x := 1 }}", ActionKind::Assign),
            ("{{ $x = 2 }}", ActionKind::Assign),
            ("{{ $ := . }}", ActionKind::Assign),
            ("{{ $x }}", ActionKind::Output),
            ("{{ include \"x\" . }}", ActionKind::Output),
            ("{{ toYaml .Values.x | nindent 4 }}", ActionKind::Output),
            ("{{ .Values.x }}", ActionKind::Output),
            ("{{ template \"x\" . }}", ActionKind::Output),
            ("{{ tpl .x . }}", ActionKind::Output),
            ("{{ printf \"%s\" .x | quote }}", ActionKind::Output),
            ("{{ ifx }}", ActionKind::Output),
            ("{{ endpoint }}", ActionKind::Output),
            ("{{-3}}", ActionKind::Output),
        ];
        for (src, kind) in cases {
            assert_eq!(classify(src.as_bytes()), kind, "{src}");
        }
    }
}
