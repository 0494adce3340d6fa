//! Rendering new values as YAML text in the target file's style: plain scalars where they
//! read back as the same string in both YAML 1.1 and 1.2, double quotes otherwise, literal
//! block scalars for multi-line strings, block collections in the file's indentation.

use serde_json::Value;

use crate::doc::ScalarStyle;
use crate::doc::tree::{Dialect, resolve_plain};

/// Indentation habits of a document, detected from its own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Spaces per nesting level of mappings.
    pub unit: usize,
    /// Columns between a key and the `-` of its block sequence value (0 = `key:\n- a`).
    pub seq_offset: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            unit: 2,
            seq_offset: 2,
        }
    }
}

/// A value rendered as lines relative to column 0 (callers indent them), or inline text.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// Fits after `key: ` or `- ` on the same line.
    Inline(String),
    /// A block mapping or sequence: lines at column 0.
    Block { lines: Vec<String>, seq: bool },
    /// A block scalar: the header (`|`, `|-`) on the key line, content lines at column 0
    /// (callers indent them one level deeper than the key).
    Scalar { header: String, lines: Vec<String> },
}

/// True when `s` can be written as a plain scalar and reads back as the same string under
/// YAML 1.2 and YAML 1.1 (Helm), in block and flow context.
pub fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.chars().any(|c| unprintable(c) || c == '\u{feff}') {
        return false;
    }
    let second = s.chars().nth(1);
    match first {
        '-' | '?' | ':' if second.is_none_or(|c| c == ' ') => return false,
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => return false,
        _ => {}
    }
    if s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.contains([',', '[', ']', '{', '}'])
    {
        return false;
    }
    if !matches!(resolve_plain(s, Dialect::Yaml12), Value::String(_))
        || !matches!(resolve_plain(s, Dialect::Yaml11), Value::String(_))
    {
        return false;
    }
    !looks_numeric_in_yaml11(s)
}

/// YAML 1.1 reads some strings that 1.2 keeps as strings as numbers or dates (`0755`,
/// `1_000`, `1:30`, `2024-01-01`); quote those.
fn looks_numeric_in_yaml11(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let t = t.strip_prefix('.').unwrap_or(t);
    let Some(c) = t.chars().next() else {
        return false;
    };
    if !c.is_ascii_digit() {
        return false;
    }
    t.chars().all(|c| {
        c.is_ascii_digit() || matches!(c, '_' | ':' | '.' | 'e' | 'E' | '-' | '+' | 'x' | 'o' | 'b')
    }) || (t.len() >= 8 && t.as_bytes()[4] == b'-' && t[..4].bytes().all(|b| b.is_ascii_digit()))
}

/// Characters that need an escape: controls, and the Unicode line and paragraph separators,
/// which YAML 1.1 readers (libyaml, Helm's go-yaml) take as line breaks and YAML 1.2 readers
/// as text (U+0085 is both a control and a YAML 1.1 break).
fn unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A double-quoted YAML scalar: JSON string syntax (valid YAML), with YAML's own escapes for
/// the characters JSON leaves raw but YAML 1.1 reads as line breaks.
pub fn double_quoted(s: &str) -> String {
    let json = serde_json::to_string(s)
        .unwrap_or_else(|_| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")));
    if !json.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('\u{85}', "\\N")
        .replace('\u{2028}', "\\L")
        .replace('\u{2029}', "\\P")
}

/// Renders a mapping key.
pub fn key(k: &str) -> String {
    if plain_safe(k) {
        k.to_string()
    } else {
        double_quoted(k)
    }
}

/// Renders a scalar for inline use, keeping `prefer` (the old node's style) when it can
/// still express the value.
pub fn scalar(v: &Value, prefer: Option<ScalarStyle>) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match prefer {
            Some(ScalarStyle::SingleQuoted)
                if !s.contains(['\n', '\r']) && !s.chars().any(unprintable) =>
            {
                format!("'{}'", s.replace('\'', "''"))
            }
            Some(ScalarStyle::DoubleQuoted) => double_quoted(s),
            _ if plain_safe(s) => s.clone(),
            _ => double_quoted(s),
        },
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        other => flow(other),
    }
}

/// Flow-style rendering (for edits inside `[...]` / `{...}`).
pub fn flow(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}: {}", key(k), flow(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Value::String(s) if s.contains('\n') => double_quoted(s),
        other => scalar(other, None),
    }
}

/// Renders `v` in block style at column 0.
pub fn block(v: &Value, style: Style) -> Rendered {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut lines = Vec::new();
            for (k, child) in m {
                entry_lines(&mut lines, &key(k), child, style);
            }
            Rendered::Block { lines, seq: false }
        }
        Value::Array(a) if !a.is_empty() => {
            let mut lines = Vec::new();
            for item in a {
                item_lines(&mut lines, item, style);
            }
            Rendered::Block { lines, seq: true }
        }
        Value::String(s) if s.contains('\n') && block_scalar_ok(s) => {
            let body = s.strip_suffix('\n').unwrap_or(s);
            let header = if s.ends_with('\n') { "|" } else { "|-" };
            Rendered::Scalar {
                header: header.into(),
                lines: body.split('\n').map(str::to_string).collect(),
            }
        }
        other => Rendered::Inline(scalar(other, None)),
    }
}

/// A literal block scalar can carry `s` exactly: no trailing blank lines (needs `|+`), no
/// leading spaces on the first line (needs an indentation indicator), no control chars.
fn block_scalar_ok(s: &str) -> bool {
    !s.ends_with("\n\n")
        && !s.starts_with([' ', '\n'])
        && !s.chars().any(|c| unprintable(c) && c != '\n')
        && !s.split('\n').any(|l| l.ends_with(' '))
}

/// Appends `key: value` lines (column 0) for one mapping entry.
pub fn entry_lines(out: &mut Vec<String>, key_text: &str, v: &Value, style: Style) {
    match block(v, style) {
        Rendered::Inline(s) => out.push(format!("{key_text}: {s}")),
        Rendered::Block { lines, seq } => {
            out.push(format!("{key_text}:"));
            let pad = " ".repeat(if seq { style.seq_offset } else { style.unit });
            out.extend(lines.into_iter().map(|l| indent_line(&pad, l)));
        }
        Rendered::Scalar { header, lines } => {
            out.push(format!("{key_text}: {header}"));
            let pad = " ".repeat(style.unit);
            out.extend(lines.into_iter().map(|l| indent_line(&pad, l)));
        }
    }
}

/// Appends `- value` lines (column 0) for one sequence item.
pub fn item_lines(out: &mut Vec<String>, v: &Value, style: Style) {
    match block(v, style) {
        Rendered::Inline(s) => out.push(format!("- {s}")),
        Rendered::Block { lines, .. } => push_item(out, lines),
        Rendered::Scalar { header, lines } => {
            out.push(format!("- {header}"));
            out.extend(lines.into_iter().map(|l| indent_line("  ", l)));
        }
    }
}

/// `- ` before the first line, two spaces before the others.
pub fn push_item(out: &mut Vec<String>, lines: Vec<String>) {
    for (i, l) in lines.into_iter().enumerate() {
        if i == 0 {
            out.push(format!("- {l}"));
        } else {
            out.push(indent_line("  ", l));
        }
    }
}

/// Prefixes `pad` unless the line is empty (no trailing whitespace on blank lines).
pub fn indent_line(pad: &str, l: String) -> String {
    if l.is_empty() { l } else { format!("{pad}{l}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_and_paragraph_separators_are_escaped_so_yaml_1_1_reads_them_as_text() {
        let s = "one\u{2028}two\u{2029}three\u{85}four";
        assert_eq!(double_quoted(s), "\"one\\Ltwo\\Pthree\\Nfour\"");
        assert!(!plain_safe("one\u{2028}two"));
        assert!(!block_scalar_ok("one\u{2028}two\nthree"));
        // The single-quoted style cannot escape them: it gives way to double quotes.
        let v = json!("one\u{2028}two");
        assert_eq!(scalar(&v, Some(ScalarStyle::SingleQuoted)), "\"one\\Ltwo\"");
        // libyaml, the YAML 1.1 reader, gives the string back.
        let doc = crate::doc::Document::parse_snippet(&format!("k: {}\n", double_quoted(s)))
            .expect("parses");
        assert_eq!(doc.docs[0].model, json!({ "k": s }));
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes",
            "on",
            "true",
            "1",
            "0755",
            "1:30",
            "1e3",
            "",
            " x",
            "a: b",
            "#x",
            "- x",
            "null",
            "2024-01-01",
        ] {
            assert!(!plain_safe(s), "{s:?} must be quoted");
        }
        for s in [
            "OnFailure",
            "60s",
            "busybox:1.36",
            "--atomic",
            "http://x/y",
            "a-b_c",
        ] {
            assert!(plain_safe(s), "{s:?} can be plain");
        }
    }

    #[test]
    fn block_mapping_uses_style() {
        let v = json!({"a": {"b": 1}, "c": [1, {"d": "x"}]});
        let Rendered::Block { lines, .. } = block(
            &v,
            Style {
                unit: 4,
                seq_offset: 0,
            },
        ) else {
            panic!()
        };
        assert_eq!(lines, vec!["a:", "    b: 1", "c:", "- 1", "- d: x"]);
    }

    #[test]
    fn multi_line_string_is_literal_block() {
        let Rendered::Scalar { header, lines } = block(&json!("a\nb\n"), Style::default()) else {
            panic!()
        };
        assert_eq!(
            (header.as_str(), lines),
            ("|", vec!["a".to_string(), "b".to_string()])
        );
    }
}
