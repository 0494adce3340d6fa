//! Reading entries: strings, paths, KDL values and `(yaml)` snippets → JSON values, and
//! optional properties.

use std::sync::Arc;

use kdl::{KdlEntry, KdlValue};
use miette::SourceSpan;
use serde_json::{Number, Value};

use super::parser::Parser;
use super::spec::{Head, PATH_HELP, Spec, VALUE_HELP};
use crate::path::PathExpr;
use crate::pointer::type_name;
use crate::recipe::model::NewValue;

impl Parser<'_> {
    pub(super) fn opt_string_prop(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
    ) -> Result<Option<String>, ()> {
        self.prop_with(head, name, help, Self::string_arg)
    }

    pub(super) fn prop_with(
        &mut self,
        head: &Head<'_>,
        name: &str,
        help: &str,
        read: fn(&mut Self, &KdlEntry, &str, &str) -> Option<String>,
    ) -> Result<Option<String>, ()> {
        match head.props.get(name) {
            None => Ok(None),
            Some(entry) => read(self, entry, &format!("`{name}`"), help)
                .map(Some)
                .ok_or(()),
        }
    }

    // --- arguments ---------------------------------------------------------------------

    /// A string argument without a type annotation.
    pub(super) fn string_arg(
        &mut self,
        entry: &KdlEntry,
        what: &str,
        help: &str,
    ) -> Option<String> {
        if let Some(ty) = entry.ty() {
            self.error(
                ty.span(),
                "type annotation",
                format!("{what} takes no type annotation"),
                format!("remove `({})`; {help}", ty.value()),
            );
            return None;
        }
        match entry.value() {
            KdlValue::String(s) => Some(s.clone()),
            other => {
                self.error(
                    entry.span(),
                    "not a string",
                    format!("{what} must be a string, found {}", kdl_kind(other)),
                    help.to_string(),
                );
                None
            }
        }
    }

    pub(super) fn path_arg(&mut self, entry: &KdlEntry) -> Option<PathExpr> {
        let text = self.string_arg(entry, "a path", PATH_HELP)?;
        match PathExpr::parse(&text) {
            Ok(path) => Some(path),
            Err(err) => {
                // Point at the offending segment: up to the next `/`, at least one byte.
                let mut start = err.offset.min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let rest = &text[start..];
                let mut len = rest.find('/').unwrap_or(rest.len());
                if len == 0 {
                    if rest.is_empty() && start > 0 {
                        start -= 1; // a trailing `/`
                    }
                    len = 1;
                }
                let span = self.inner_span(entry, &text, start, len);
                self.error(
                    span,
                    "here",
                    format!("invalid path `{text}`: {}", err.message),
                    "paths are JSON Pointers (\"/spec/replicas\") plus `*` (every item or key) \
                     and `[key=value]` (list items whose `key` is `value`); in a key, write `/` \
                     as `~1` and `~` as `~0`",
                );
                None
            }
        }
    }

    /// A value: a KDL literal, or `(yaml)"..."`.
    pub(super) fn value(&mut self, entry: &KdlEntry) -> Option<NewValue> {
        match entry.ty().map(|ty| (ty, ty.value())) {
            None => {
                let value = self.plain_value(entry)?;
                Some(NewValue { value, yaml: None })
            }
            Some((_, "yaml")) => {
                let KdlValue::String(text) = entry.value() else {
                    self.error(
                        entry.span(),
                        "not a string",
                        format!(
                            "`(yaml)` needs a string holding YAML, found {}",
                            kdl_kind(entry.value())
                        ),
                        "write the YAML in quotes: (yaml)\"...\", or in a multi-line \
                         (yaml)\"\"\" ... \"\"\" block",
                    );
                    return None;
                };
                // A KDL string has no final line break, but the snippet's lines end up in a
                // YAML file where each line ends in one: parse (and keep) it that way, so a
                // trailing `|` block scalar gets the newline the file will give it.
                let mut yaml = text.clone();
                if !yaml.ends_with('\n') {
                    yaml.push('\n');
                }
                match yaml_serde::from_str::<Value>(&yaml) {
                    Ok(value) => Some(NewValue {
                        value,
                        yaml: Some(Arc::from(yaml)),
                    }),
                    Err(err) => {
                        let line = err.location().map(|l| (l.line(), l.column()));
                        let span = line
                            .and_then(|(line, col)| self.yaml_span(entry, text, line, col))
                            .unwrap_or_else(|| entry.span());
                        let at = match line {
                            Some((line, _)) => format!(" (line {line} of the snippet)"),
                            None => String::new(),
                        };
                        self.error(
                            span,
                            "invalid YAML",
                            format!("invalid YAML in `(yaml)` snippet{at}: {err}"),
                            "fix the snippet: its text must be valid YAML on its own",
                        );
                        None
                    }
                }
            }
            Some((ty, other)) => {
                self.error(
                    ty.span(),
                    "unknown type annotation",
                    format!("unknown type annotation `({other})`; only `(yaml)` is supported"),
                    format!("drop `({other})`; {VALUE_HELP}"),
                );
                None
            }
        }
    }

    pub(super) fn plain_value(&mut self, entry: &KdlEntry) -> Option<Value> {
        match entry.value() {
            KdlValue::String(s) => Some(Value::String(s.clone())),
            KdlValue::Bool(b) => Some(Value::Bool(*b)),
            KdlValue::Null => Some(Value::Null),
            KdlValue::Integer(i) => {
                let number = i64::try_from(*i)
                    .map(Number::from)
                    .or_else(|_| u64::try_from(*i).map(Number::from));
                match number {
                    Ok(n) => Some(Value::Number(n)),
                    Err(_) => {
                        self.error(
                            entry.span(),
                            "out of range",
                            format!("integer {i} does not fit in 64 bits"),
                            "use a smaller number, or a string if this is not a number",
                        );
                        None
                    }
                }
            }
            KdlValue::Float(f) => match Number::from_f64(*f) {
                Some(n) => Some(Value::Number(n)),
                None => {
                    self.error(
                        entry.span(),
                        "not a finite number",
                        "#inf, #-inf and #nan cannot be written as values",
                        "use a finite number",
                    );
                    None
                }
            },
        }
    }

    pub(super) fn number(&mut self, entry: &KdlEntry, spec: &Spec) -> Option<Number> {
        let value = self.value(entry)?;
        match value.value {
            Value::Number(n) => Some(n),
            other => {
                self.error(
                    entry.span(),
                    "not a number",
                    format!(
                        "`{}` needs a number, found {}",
                        spec.name,
                        type_name(&other)
                    ),
                    format!(
                        "write a number without quotes, e.g. `{} \"path\" 30`",
                        spec.name
                    ),
                );
                None
            }
        }
    }

    /// Where YAML line `line`, column `col` (1-based, columns in characters) of the
    /// snippet `text` is in the recipe source, when the literal can be mapped back
    /// (no escapes).
    pub(super) fn yaml_span(
        &self,
        entry: &KdlEntry,
        text: &str,
        line: usize,
        col: usize,
    ) -> Option<SourceSpan> {
        let entry_span = entry.span();
        let raw = self.src.get(entry_span.offset()..Self::end(entry_span))?;
        // The literal follows the `(yaml)` annotation.
        let lit_start = raw.find(')').map_or(0, |i| i + 1);
        let lit = &raw[lit_start..];
        let lit_trimmed = lit.trim_start();
        let lit_offset = entry_span.offset() + lit_start + (lit.len() - lit_trimmed.len());
        let hashes = lit_trimmed.len() - lit_trimmed.trim_start_matches('#').len();
        let body = &lit_trimmed[hashes..];
        // An error past the end (an unclosed `[`, say) points at the end of the last line.
        let line_count = text.split('\n').count();
        let (line, col) = if line > line_count {
            (line_count, usize::MAX)
        } else {
            (line, col)
        };
        let target_line = text.split('\n').nth(line.checked_sub(1)?)?;
        let byte_col = target_line
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(target_line.len(), |(i, _)| i);

        if let Some(multi) = body.strip_prefix("\"\"\"") {
            // `"""`, newline, lines indented by the closing line's whitespace, `"""`.
            let raw_lines: Vec<&str> = multi.split('\n').collect();
            let closing = raw_lines.last()?;
            let indent = &closing[..closing.len() - closing.trim_start().len()];
            let raw_line = raw_lines.get(line)?; // raw_lines[0] is the rest of the `"""` line
            let content = raw_line.strip_prefix(indent).unwrap_or(raw_line);
            if content != target_line && !(target_line.is_empty() && raw_line.trim().is_empty()) {
                return None;
            }
            let line_start: usize = raw_lines[..line].iter().map(|l| l.len() + 1).sum();
            let offset = lit_offset + hashes + 3 + line_start + (raw_line.len() - content.len());
            let len = target_line[byte_col..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            return Some(SourceSpan::new((offset + byte_col).into(), len));
        }
        if let Some(single) = body.strip_prefix('"') {
            // A one-line string: usable when it holds the text verbatim.
            if line != 1 || !single.starts_with(text) {
                return None;
            }
            let offset = lit_offset + hashes + 1 + byte_col;
            let len = text[byte_col..].chars().next().map_or(0, char::len_utf8);
            return Some(SourceSpan::new(offset.into(), len));
        }
        None
    }
}

pub(super) fn kdl_kind(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a float",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}
