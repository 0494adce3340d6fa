//! KDL text for what init writes: `use` lines with always-quoted strings, and comments
//! wrapped to a width.

use super::propose::{Arg, Use};

/// `use "catalog:NAME" name="..." key="value" n=6`.
pub fn use_line(u: &Use) -> String {
    let mut out = format!("use {}", quote(&format!("catalog:{}", u.recipe)));
    if let Some(n) = &u.name {
        out.push_str(&format!(" name={}", quote(n)));
    }
    for (k, v) in &u.args {
        let v = match v {
            Arg::Str(s) => quote(s),
            Arg::Int(i) => i.to_string(),
        };
        out.push_str(&format!(" {k}={v}"));
    }
    out
}

/// A KDL v2 quoted string: `\` and `"` escaped, control characters as escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub use crate::wrap::wrap;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_round_trip_through_the_kdl_parser() {
        for s in [
            "{{ .Release.Name }}-postgresql",
            r#"say "hi" \ bye"#,
            "tab\there\nnext",
            "${{ github.workflow }}",
        ] {
            let doc: kdl::KdlDocument = format!("n {}", quote(s)).parse().unwrap();
            let got = doc.nodes()[0].entries()[0].value().as_string().unwrap();
            assert_eq!(got, s);
        }
    }

    #[test]
    fn a_use_line_has_its_name_then_its_parameters_in_order() {
        let u = Use {
            recipe: "wait-for-service",
            name: Some("wait-for-postgres".into()),
            args: vec![("host", Arg::Str("db".into())), ("port", Arg::Int(5432))],
            about: String::new(),
        };
        assert_eq!(
            use_line(&u),
            r#"use "catalog:wait-for-service" name="wait-for-postgres" host="db" port=5432"#
        );
    }

    #[test]
    fn wrap_keeps_words_whole_and_lines_within_the_width() {
        let lines = wrap("one two three four five six", 9);
        assert_eq!(lines, vec!["one two", "three", "four five", "six"]);
    }
}
