//! The expression language of one action: its words, the values path an output action reads
//! through value-preserving pipes ([`ValuesExpr`]), and simple conditions ([`Cond`]). Pure
//! functions of the action's text and of what `.` stands for; never looks at blocks or files.

use serde_json::Value;

/// What one action prints, when it is provably one values path through value-preserving
/// pipes: `{{ .Values.a.b | default 3 | quote }}`, `{{ toYaml .Values.a | nindent 8 }}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesExpr {
    /// The values keys (`a.b` → `["a", "b"]`).
    pub path: Vec<String>,
    /// `default X`: what renders when the value is empty (Helm's `empty`).
    pub default: Option<Value>,
    /// `quote`, `squote`, `toString`: the rendered value is a string.
    pub stringify: bool,
    /// `int`, `int64`, `float64`: the rendered value is a number.
    pub numeric: bool,
    /// `toYaml`: the action prints a whole node (a mapping, a list), not a scalar.
    pub to_yaml: bool,
    /// Printed by the library helper `common.tplvalues.render`: like `toYaml`, unless the
    /// value holds `{{`, which the helper renders with `tpl`.
    pub tplvalues: bool,
}

/// A simple template condition over values: a values path (true when not empty), a
/// literal, `not`, `and`/`or`, `eq`/`ne`, the ordered comparisons `lt`/`le`/`gt`/`ge`, and
/// the conversions and tests conditions use around them (`int`, `float64`, `len`, `empty`,
/// `hasKey`, `default`). Evaluated by `plan::guards`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Path(Vec<String>),
    /// A literal as written: `3` is an integer, `3.0` a float (Go templates compare them as
    /// different types), `"x"` a string, `true`/`false`.
    Lit(Value),
    /// `3` (an integer literal; `Lit` holds the rest).
    Int(i64),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Eq(Box<Cond>, Box<Cond>),
    Ne(Box<Cond>, Box<Cond>),
    Cmp(CmpOp, Box<Cond>, Box<Cond>),
    /// `int X`, `int64 X`.
    ToInt(Box<Cond>),
    /// `float64 X`.
    ToFloat(Box<Cond>),
    Len(Box<Cond>),
    Empty(Box<Cond>),
    /// `hasKey MAP "key"`.
    HasKey(Box<Cond>, String),
    /// `default D X`: X, or D when X is empty.
    Default(Box<Cond>, Box<Cond>),
}

/// The ordered comparisons of Go templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// The condition functions [`parse_cond`] knows, with their argument counts.
const COND_FNS: &[(&str, usize)] = &[
    ("not", 1),
    ("eq", 2),
    ("ne", 2),
    ("lt", 2),
    ("le", 2),
    ("gt", 2),
    ("ge", 2),
    ("int", 1),
    ("int64", 1),
    ("float64", 1),
    ("len", 1),
    ("empty", 1),
    ("hasKey", 2),
    ("default", 2),
];

pub fn parse_cond(words: &[String], ctx: Option<&[String]>) -> Result<Cond, String> {
    let mut pos = 0;
    let c = cond_expr(words, &mut pos, ctx, true)?;
    if pos != words.len() {
        return Err("more than one simple condition".into());
    }
    Ok(c)
}

/// One condition from `words[*pos..]`: a function call takes the rest (`top`) or runs to
/// its `)`.
fn cond_expr(
    words: &[String],
    pos: &mut usize,
    ctx: Option<&[String]>,
    top: bool,
) -> Result<Cond, String> {
    let w = words.get(*pos).ok_or("an empty condition")?.clone();
    *pos += 1;
    if w == "(" {
        let c = cond_call(words, pos, ctx)?;
        if words.get(*pos).map(String::as_str) != Some(")") {
            return Err("an unclosed parenthesis".into());
        }
        *pos += 1;
        return Ok(c);
    }
    if w == "and" || w == "or" || COND_FNS.iter().any(|(f, _)| *f == w) {
        if !top {
            return Err(format!("`{w}` without parentheses inside a condition"));
        }
        *pos -= 1;
        return cond_call(words, pos, ctx);
    }
    if let Ok(i) = w.parse::<i64>() {
        return Ok(Cond::Int(i));
    }
    if let Some(l) = literal(&w) {
        return Ok(Cond::Lit(l));
    }
    single_operand(&w, ctx)
        .filter(|p| !p.is_empty())
        .map(Cond::Path)
        .ok_or_else(|| format!("`{w}` is not a values path or a literal"))
}

fn cond_call(words: &[String], pos: &mut usize, ctx: Option<&[String]>) -> Result<Cond, String> {
    let f = words.get(*pos).ok_or("an empty condition")?.clone();
    let args_from = |pos: &mut usize| -> Result<Vec<Cond>, String> {
        *pos += 1;
        let mut args = Vec::new();
        while *pos < words.len() && words[*pos] != ")" {
            args.push(cond_expr(words, pos, ctx, false)?);
        }
        Ok(args)
    };
    if let Some(&(_, n)) = COND_FNS.iter().find(|(name, _)| *name == f) {
        let args = args_from(pos)?;
        if args.len() != n {
            return Err(format!("`{f}` with {} arguments, not {n}", args.len()));
        }
        let mut args = args.into_iter().map(Box::new);
        let mut next = || {
            args.next()
                .ok_or_else(|| format!("`{f}` is missing an argument"))
        };
        return Ok(match f.as_str() {
            "not" => Cond::Not(next()?),
            "eq" => Cond::Eq(next()?, next()?),
            "ne" => Cond::Ne(next()?, next()?),
            "lt" | "le" | "gt" | "ge" => {
                let op = match f.as_str() {
                    "lt" => CmpOp::Lt,
                    "le" => CmpOp::Le,
                    "gt" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                Cond::Cmp(op, next()?, next()?)
            }
            "int" | "int64" => Cond::ToInt(next()?),
            "float64" => Cond::ToFloat(next()?),
            "len" => Cond::Len(next()?),
            "empty" => Cond::Empty(next()?),
            "hasKey" => {
                let map = next()?;
                match *next()? {
                    Cond::Lit(Value::String(k)) => Cond::HasKey(map, k),
                    _ => return Err("`hasKey` with a key that is not a string literal".into()),
                }
            }
            _ => Cond::Default(next()?, next()?),
        });
    }
    match f.as_str() {
        "and" => Ok(Cond::And(args_from(pos)?)),
        "or" => Ok(Cond::Or(args_from(pos)?)),
        _ => {
            *pos += 1;
            if (words.len() == *pos || words[*pos] == ")")
                && let Some(p) = single_operand(&f, ctx).filter(|p| !p.is_empty())
            {
                return Ok(Cond::Path(p));
            }
            Err(format!(
                "`{f}` is not a simple condition (a values path, not, and, or, eq, ne, lt, le, gt, ge, int, float64, len, empty, hasKey, default)"
            ))
        }
    }
}

/// The words of an action (trim markers and braces removed), strings kept whole.
pub fn words_of(action: &str) -> Vec<String> {
    let inner = action.trim();
    let inner = inner.strip_prefix("{{").unwrap_or(inner);
    let inner = inner.strip_suffix("}}").unwrap_or(inner);
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() || c == '|' || c == '(' || c == ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if !c.is_whitespace() {
                    out.push(c.to_string());
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A values path from one operand word (`.Values.a.b`, `$.Values.a`, `.` or `.x` inside a
/// `with`), or `index BASE "k"...`.
pub(super) fn operand(words: &[String], ctx: Option<&[String]>) -> Option<Vec<String>> {
    match words {
        [w] => single_operand(w, ctx),
        [f, base, keys @ ..] if f == "index" && !keys.is_empty() => {
            let mut p = single_operand(base, ctx)?;
            for k in keys {
                p.push(unquote(k)?);
            }
            Some(p)
        }
        _ => None,
    }
}

pub(super) fn single_operand(w: &str, ctx: Option<&[String]>) -> Option<Vec<String>> {
    let rest = w.strip_prefix('$').unwrap_or(w);
    if rest == ".Values" {
        return Some(Vec::new());
    }
    if let Some(p) = rest.strip_prefix(".Values.") {
        return path_keys(p);
    }
    if w.starts_with('$') {
        return None;
    }
    let ctx = ctx?;
    if w == "." {
        return Some(ctx.to_vec());
    }
    let p = w.strip_prefix('.')?;
    let mut out = ctx.to_vec();
    out.extend(path_keys(p)?);
    Some(out)
}

fn path_keys(p: &str) -> Option<Vec<String>> {
    let keys: Vec<String> = p.split('.').map(str::to_string).collect();
    keys.iter()
        .all(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(keys)
}

pub(super) fn unquote(w: &str) -> Option<String> {
    w.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .map(str::to_string)
}

fn literal(w: &str) -> Option<Value> {
    if let Some(s) = unquote(w) {
        return Some(Value::String(s));
    }
    match w {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Ok(i) = w.parse::<i64>() {
        return Some(Value::from(i));
    }
    w.parse::<f64>()
        .ok()
        .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
}

const FNS: &[&str] = &[
    "quote", "squote", "int", "int64", "float64", "toString", "toYaml", "trim",
];

/// `include "common.tplvalues.render" (dict "value" V "context" $) | …` (Bitnami's library
/// helper): rewrites `words` to `V | …` and returns true. Any other `value` than one operand
/// (`(omit .Values.x "enabled")`) is refused.
fn tplvalues_call(words: &mut Vec<String>) -> Result<bool, String> {
    let is_call = words.len() > 3
        && words[0] == "include"
        && words[1] == "\"common.tplvalues.render\""
        && words[2] == "("
        && words[3] == "dict";
    if !is_call {
        return Ok(false);
    }
    let Some(close) = words.iter().position(|w| w == ")") else {
        return Err("an unclosed parenthesis".into());
    };
    let args = &words[4..close];
    let mut value = None;
    for pair in args.chunks(2) {
        match pair {
            [k, v] if k == "\"value\"" => value = Some(v.clone()),
            [k, _] if k == "\"context\"" || k == "\"scope\"" => {}
            _ => {
                return Err(
                    "`common.tplvalues.render` is given something other than one values path"
                        .into(),
                );
            }
        }
    }
    let Some(value) = value.filter(|v| v != "(") else {
        return Err(
            "`common.tplvalues.render` is given something other than one values path".into(),
        );
    };
    let mut rest = vec![value];
    rest.extend(words[close + 1..].iter().cloned());
    *words = rest;
    Ok(true)
}

/// Parses an output action as one values path through value-preserving pipes (see
/// [`ValuesExpr`]); `ctx` is what `.` stands for (inside `with`).
pub fn parse_action(action: &str, ctx: Option<&[String]>) -> Result<ValuesExpr, String> {
    let mut words = words_of(action);
    let tplvalues = tplvalues_call(&mut words)?;
    if words.iter().any(|w| w == "(" || w == ")") {
        return Err("a parenthesised expression is not one provable values path".into());
    }
    let commands: Vec<&[String]> = words.split(|w| w == "|").collect();
    let mut expr = ValuesExpr {
        path: Vec::new(),
        default: None,
        stringify: false,
        numeric: false,
        to_yaml: tplvalues,
        tplvalues,
    };
    let Some((first, rest)) = commands.split_first() else {
        return Err("an empty action".into());
    };
    let apply = |f: &str, expr: &mut ValuesExpr| match f {
        "quote" | "squote" | "toString" => expr.stringify = true,
        "int" | "int64" | "float64" => expr.numeric = true,
        "toYaml" => expr.to_yaml = true,
        _ => {}
    };
    let unsupported = |w: &str| {
        if w == "tpl" {
            "it goes through `tpl` (the value is itself a template)".to_string()
        } else if w == "include" || w == "template" {
            format!("it is printed by `{w}` of a helper, not read from one values path")
        } else {
            format!("`{w}` is not a value-preserving pipe")
        }
    };
    let path = match *first {
        [f, lit, op] if f == "default" => {
            expr.default =
                Some(literal(lit).ok_or_else(|| format!("`default {lit}` is not a literal"))?);
            operand(std::slice::from_ref(op), ctx)
        }
        [f, args @ ..] if FNS.contains(&f.as_str()) && !args.is_empty() => {
            apply(f, &mut expr);
            operand(args, ctx)
        }
        [f, ..] if !f.starts_with('.') && !f.starts_with('$') && f != "index" => {
            return Err(unsupported(f));
        }
        ws => operand(ws, ctx),
    };
    expr.path = path.ok_or("it does not read one values path")?;
    for cmd in rest {
        match *cmd {
            [f] if FNS.contains(&f.as_str()) => apply(f, &mut expr),
            [f, n] if (f == "nindent" || f == "indent") && n.parse::<usize>().is_ok() => {}
            [f, lit] if f == "default" => {
                expr.default =
                    Some(literal(lit).ok_or_else(|| format!("`default {lit}` is not a literal"))?);
            }
            [f, ..] => return Err(unsupported(f)),
            [] => return Err("an empty pipe".into()),
        }
    }
    if expr.path.first().is_some_and(|k| k == "global") {
        return Err("it reads `global` values, which the parent chart and subcharts share".into());
    }
    if expr.path.is_empty() {
        return Err("it prints all of `.Values`".into());
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{Cond, ValuesExpr, parse_action, parse_cond, words_of};

    fn p(a: &str) -> Result<ValuesExpr, String> {
        parse_action(a, None)
    }

    #[test]
    fn plain_dollar_and_index_forms_read_the_same_path() {
        for a in [
            "{{ .Values.a.b }}",
            "{{ $.Values.a.b }}",
            "{{ index .Values \"a\" \"b\" }}",
            "{{- .Values.a.b -}}",
        ] {
            assert_eq!(
                p(a).map(|e| e.path),
                Ok(vec!["a".into(), "b".into()]),
                "{a}"
            );
        }
    }

    #[test]
    fn pipes_and_default_in_both_forms() {
        let e = p("{{ .Values.a | default 600 | int }}").unwrap();
        assert_eq!(e.default, Some(Value::from(600)));
        assert!(e.numeric);
        let e = p("{{ default \"x\" .Values.a | quote }}").unwrap();
        assert_eq!(e.default, Some(Value::from("x")));
        assert!(e.stringify);
        let e = p("{{- toYaml .Values.a.probe | nindent 12 }}").unwrap();
        assert!(e.to_yaml);
        assert_eq!(e.path, vec!["a", "probe"]);
        assert_eq!(
            parse_action("{{- toYaml . | nindent 8 }}", Some(&["p".to_string()])).map(|e| e.path),
            Ok(vec!["p".to_string()])
        );
    }

    #[test]
    fn simple_conditions_parse_and_others_are_named() {
        let w = |s: &str| words_of(s).into_iter().skip(1).collect::<Vec<_>>();
        let c = parse_cond(&w("{{- if and .Values.a (not .Values.b) }}"), None).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Path(vec!["a".into()]),
                Cond::Not(Box::new(Cond::Path(vec!["b".into()])))
            ])
        );
        let c = parse_cond(&w("{{ if eq .Values.mode \"ci\" }}"), None).unwrap();
        assert_eq!(
            c,
            Cond::Eq(
                Box::new(Cond::Path(vec!["mode".into()])),
                Box::new(Cond::Lit(Value::from("ci")))
            )
        );
        assert!(parse_cond(&w("{{ if .Capabilities.APIVersions.Has \"x\" }}"), None).is_err());
        assert!(parse_cond(&w("{{ if include \"x\" . }}"), None).is_err());
    }

    #[test]
    fn the_tplvalues_helper_reads_its_value_like_to_yaml() {
        let e = p("{{- include \"common.tplvalues.render\" (dict \"value\" .Values.a.probe \"context\" $) | nindent 12 }}").unwrap();
        assert!(e.to_yaml && e.tplvalues);
        assert_eq!(e.path, vec!["a", "probe"]);
        assert!(p("{{- include \"common.tplvalues.render\" (dict \"value\" (omit .Values.a \"enabled\") \"context\" $) }}").is_err());
    }

    #[test]
    fn other_shapes_are_refused_with_a_reason() {
        assert!(p("{{ tpl .Values.a . }}").unwrap_err().contains("tpl"));
        assert!(p("{{ include \"x\" . }}").unwrap_err().contains("include"));
        assert!(p("{{ .Values.global.x }}").unwrap_err().contains("global"));
        assert!(p("{{ .Values.a | upper }}").unwrap_err().contains("upper"));
        assert!(p("{{ .Release.Name }}").is_err());
    }
}
