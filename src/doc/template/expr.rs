//! The expression language of one action: its words, the values path an output action reads
//! through value-preserving pipes ([`ValuesExpr`]), and simple conditions ([`Cond`]). Pure
//! functions of the action's text, of what `.` stands for and (for `include` in a condition)
//! of what the chart's simple defines print ([`with_define_outputs`]); never looks at blocks
//! or files.

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
    /// Printed through `tpl` (the library helper `common.tplvalues.render`, or `tpl (toYaml
    /// V) $`): like `toYaml`, except that the value's strings holding `{{` are rendered as
    /// templates (`plan::guards::tpl_refusal` says which edits that leaves exact).
    pub tplvalues: bool,
    /// `omit V "k"…` / `pick V "k"…` around the value: which keys of the mapping print.
    pub keys: KeyFilter,
    /// The literal `key:` lines written below the action, nested under the same key: the
    /// rendered mapping is the action's output followed by them. Filled in by `reads` (the
    /// action's text does not say), `None` when there are none.
    pub siblings: Option<Siblings>,
}

/// Which keys of a printed mapping render (`omit` / `pick` around the value).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum KeyFilter {
    #[default]
    All,
    Omit(Vec<String>),
    Pick(Vec<String>),
}

impl KeyFilter {
    /// The values part prints `key` when the values hold it.
    pub fn prints(&self, key: &str) -> bool {
        match self {
            KeyFilter::All => true,
            KeyFilter::Omit(ks) => !ks.iter().any(|k| k == key),
            KeyFilter::Pick(ks) => ks.iter().any(|k| k == key),
        }
    }
}

/// The literal entries below a structure-printing action (`readinessProbe: {{- toYaml … |
/// nindent 12 }}` then `  httpGet: …`).
#[derive(Debug, Clone, PartialEq)]
pub struct Siblings {
    /// Their keys, in order.
    pub keys: Vec<String>,
    /// 1-based line of the first.
    pub line: usize,
    /// They are in a branch the masked text hides (an `else`): the editor cannot change
    /// them, and the view shows `model` for them.
    pub hidden: Option<serde_json::Map<String, Value>>,
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
    /// `typeOf X` (Go's `%T`: `string`, `float64`, `map[string]interface {}`…), `kindOf X`.
    TypeOf(Box<Cond>),
    KindOf(Box<Cond>),
    /// What a simple define prints (see [`Cond::Choice`]), as `include` returns it: a string.
    Print(Box<Cond>),
    /// A simple define's `if`/`else if`/`else` chain: the first branch whose condition holds
    /// prints its value; `include "NAME" $` of such a define is this (see
    /// [`with_define_outputs`]).
    Choice(Vec<(Cond, Cond)>),
    /// `tpl S $`: S, when S holds no `{{` (else the render is not known here).
    Tpl(Box<Cond>),
    /// `include "NAME" $` (or `.` where it is the root context): true when the define prints
    /// anything. Only `plan::includes::resolve_conditions` knows the define; it replaces this
    /// with what decides its output (unresolved, it is unknown).
    Include(String),
}

thread_local! {
    /// What the chart's simple defines print, by name (see [`with_define_outputs`]).
    static DEFINE_OUTPUTS: std::cell::RefCell<Option<std::sync::Arc<std::collections::HashMap<String, Cond>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` (which parses a chart's template conditions) knowing what the chart's simple
/// defines print (`branches::simple_define_outputs`): a condition on `include "NAME" $`, or
/// on a variable set to it, is then a [`Cond`] over values. Scoped to the call on this
/// thread, like `reads::with_binding`: the defines belong to the chart being read. Without
/// it such a condition is not a simple one.
pub fn with_define_outputs<T>(
    outputs: &std::sync::Arc<std::collections::HashMap<String, Cond>>,
    f: impl FnOnce() -> T,
) -> T {
    let before = DEFINE_OUTPUTS.with(|d| d.replace(Some(outputs.clone())));
    let out = f();
    DEFINE_OUTPUTS.with(|d| *d.borrow_mut() = before);
    out
}

fn define_output(name: &str) -> Option<Cond> {
    DEFINE_OUTPUTS.with(|d| d.borrow().as_ref().and_then(|m| m.get(name).cloned()))
}

/// `include "NAME" ROOT` (ROOT the root context: `$`, or `.` where `.` is it), from
/// `words[*pos]` (the `include`) to its `)` or the end: what the define prints.
fn include_cond(words: &[String], pos: &mut usize, ctx: Option<&[String]>) -> Result<Cond, String> {
    let name = words.get(*pos + 1).and_then(|w| unquote(w));
    let root = words
        .get(*pos + 2)
        .is_some_and(|w| w == "$" || (w == "." && ctx.is_none()));
    let ends = words.get(*pos + 3).is_none_or(|w| w == ")");
    let (Some(name), true, true) = (name, root, ends) else {
        return Err("`include` of something other than a define with the root context".into());
    };
    *pos += 3;
    define_output(&name).ok_or_else(|| {
        format!(
            "define \"{name}\" does not print one values path or literal under simple conditions"
        )
    })
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
    ("typeOf", 1),
    ("kindOf", 1),
    ("kindIs", 2),
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
            "typeOf" => Cond::TypeOf(next()?),
            "kindOf" => Cond::KindOf(next()?),
            // `kindIs "string" X` is `eq (kindOf X) "string"`.
            "kindIs" => {
                let kind = next()?;
                Cond::Eq(Box::new(Cond::KindOf(next()?)), kind)
            }
            _ => Cond::Default(next()?, next()?),
        });
    }
    match f.as_str() {
        // A define `branches::simple_define_outputs` knows: what it prints, as a value.
        // Any other define with the root context: `Cond::Include`, which
        // `plan::includes::resolve_cond` replaces with when it prints anything.
        "include" => {
            let start = *pos;
            include_cond(words, pos, ctx).or_else(|_| {
                *pos = start;
                let name = words.get(*pos + 1).and_then(|w| unquote(w));
                let arg = words.get(*pos + 2).map(String::as_str);
                let root = arg == Some("$") || (arg == Some(".") && ctx.is_none());
                match name {
                    Some(name) if root => {
                        *pos += 3;
                        Ok(Cond::Include(name))
                    }
                    _ => Err("it tests the output of `include` with an argument other than the root context".into()),
                }
            })
        }
        // `tpl (include "NAME" $) $`: the define's output rendered as a template.
        "tpl" => {
            let ctx_ok =
                |w: Option<&String>| w.is_some_and(|w| w == "$" || (w == "." && ctx.is_none()));
            if words.get(*pos + 1).map(String::as_str) != Some("(")
                || words.get(*pos + 2).map(String::as_str) != Some("include")
            {
                return Err("`tpl` of something other than a define's output".into());
            }
            *pos += 2;
            let inner = include_cond(words, pos, ctx)?;
            if words.get(*pos).map(String::as_str) != Some(")") || !ctx_ok(words.get(*pos + 1)) {
                return Err("`tpl` of something other than a define's output".into());
            }
            *pos += 2;
            Ok(Cond::Tpl(Box::new(inner)))
        }
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

/// The index of the `)` that closes the `(` at `open`.
pub(super) fn closing(words: &[String], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, w) in words.iter().enumerate().skip(open) {
        match w.as_str() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `include "common.tplvalues.render" (dict "value" V "context" $) | …` (Bitnami's library
/// helper): rewrites `words` to `V | …` and returns true. V is one operand or a
/// parenthesised `(omit …)`/`(pick …)` of one (see [`key_filter`]).
fn tplvalues_call(words: &mut Vec<String>) -> Result<bool, String> {
    let is_call = words.len() > 3
        && words[0] == "include"
        && words[1] == "\"common.tplvalues.render\""
        && words[2] == "("
        && words[3] == "dict";
    if !is_call {
        return Ok(false);
    }
    let Some(close) = closing(words, 2) else {
        return Err("an unclosed parenthesis".into());
    };
    let refused =
        || "`common.tplvalues.render` is given something other than one values path".to_string();
    let mut value: Option<Vec<String>> = None;
    let mut i = 4;
    while i < close {
        let k = &words[i];
        let v_end = if words.get(i + 1).map(String::as_str) == Some("(") {
            closing(words, i + 1).ok_or_else(refused)? + 1
        } else {
            i + 2
        };
        if v_end > close {
            return Err(refused());
        }
        let v = words[i + 1..v_end].to_vec();
        match k.as_str() {
            "\"value\"" => value = Some(v),
            "\"context\"" | "\"scope\"" => {}
            _ => return Err(refused()),
        }
        i = v_end;
    }
    let Some(mut rest) = value else {
        return Err(refused());
    };
    rest.extend(words[close + 1..].iter().cloned());
    *words = rest;
    Ok(true)
}

/// `tpl (toYaml V) CTX | …` or `tpl (V | toYaml) CTX | …` (a chart that lets its values
/// hold templates: promtail's probes): rewrites `words` to `toYaml V | …` and returns true.
/// `tpl` renders the YAML text `toYaml` prints as a template, so what it prints is that text
/// except where a string of the value holds `{{`. CTX is any one word (`$`, `.`): it only
/// matters to those strings.
fn tpl_to_yaml_call(words: &mut Vec<String>) -> bool {
    // `(tpl (toYaml .) $) | nindent 4`: the same, parenthesised.
    if words.first().map(String::as_str) == Some("(")
        && words.get(1).map(String::as_str) == Some("tpl")
        && let Some(close) = closing(words, 0)
        && words.get(close + 1).is_none_or(|w| w == "|")
    {
        let mut inner = words[1..close].to_vec();
        if !tpl_to_yaml_call(&mut inner) {
            return false;
        }
        inner.extend(words[close + 1..].iter().cloned());
        *words = inner;
        return true;
    }
    if words.first().map(String::as_str) != Some("tpl")
        || words.get(1).map(String::as_str) != Some("(")
    {
        return false;
    }
    let Some(close) = closing(words, 1) else {
        return false;
    };
    let value = match &words[2..close] {
        [f, v] if f == "toYaml" => v.clone(),
        [v, bar, f] if bar == "|" && f == "toYaml" => v.clone(),
        _ => return false,
    };
    let Some(ctx) = words.get(close + 1) else {
        return false;
    };
    if ctx == "(" || ctx == "|" || words.get(close + 2).is_some_and(|w| w != "|") {
        return false;
    }
    let mut out = vec!["toYaml".to_string(), value];
    out.extend(words[close + 2..].iter().cloned());
    *words = out;
    true
}

/// A `(omit V "k"…)` or `(pick V "k"…)` of one operand V (sprig's dict functions, the
/// library-chart way to print a probe without its `enabled` switch): rewrites it in
/// `words` to V and returns the keys it keeps. Only one such group; `None` when there is
/// none.
fn key_filter(words: &mut Vec<String>) -> Result<KeyFilter, String> {
    let Some(open) = words
        .windows(2)
        .position(|w| w[0] == "(" && (w[1] == "omit" || w[1] == "pick"))
    else {
        return Ok(KeyFilter::All);
    };
    let close = closing(words, open).ok_or("an unclosed parenthesis")?;
    let f = words[open + 1].clone();
    let inner = &words[open + 2..close];
    let (base, keys) = match inner.split_first() {
        Some((b, ks)) if !ks.is_empty() => (b.clone(), ks),
        _ => return Err(format!("`{f}` without a value and keys")),
    };
    let keys: Vec<String> = keys
        .iter()
        .map(|k| unquote(k).ok_or_else(|| format!("`{f}` of a key that is not a literal: `{k}`")))
        .collect::<Result<_, _>>()?;
    words.splice(open..=close, [base]);
    Ok(if f == "omit" {
        KeyFilter::Omit(keys)
    } else {
        KeyFilter::Pick(keys)
    })
}

/// Parses an output action as one values path through value-preserving pipes (see
/// [`ValuesExpr`]); `ctx` is what `.` stands for (inside `with`).
pub fn parse_action(action: &str, ctx: Option<&[String]>) -> Result<ValuesExpr, String> {
    parse_words(words_of(action), ctx)
}

/// [`parse_action`] of an action's words (its variables already replaced by their paths).
pub(super) fn parse_words(
    mut words: Vec<String>,
    ctx: Option<&[String]>,
) -> Result<ValuesExpr, String> {
    let tplvalues = tplvalues_call(&mut words)? || tpl_to_yaml_call(&mut words);
    let keys = key_filter(&mut words)?;
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
        keys,
        siblings: None,
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
        // `omit .Values.x "k" | toYaml`: the same filter, unparenthesised.
        [f, base, ks @ ..]
            if (f == "omit" || f == "pick") && !ks.is_empty() && expr.keys == KeyFilter::All =>
        {
            let ks: Option<Vec<String>> = ks.iter().map(|k| unquote(k)).collect();
            let ks = ks.ok_or_else(|| format!("`{f}` of a key that is not a literal"))?;
            expr.keys = if f == "omit" {
                KeyFilter::Omit(ks)
            } else {
                KeyFilter::Pick(ks)
            };
            operand(std::slice::from_ref(base), ctx)
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
    if expr.keys != KeyFilter::All && !expr.to_yaml {
        return Err("it prints a mapping with `omit`/`pick` other than through `toYaml`".into());
    }
    Ok(expr)
}

/// What `.` is inside a define that an `include "NAME" (dict "k" V …)` renders: each key of
/// the dict bound to what the include passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Binding {
    pub keys: Vec<(String, Bound)>,
}

/// One value of an include's `dict`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// The root context (`$`, or `.` outside `with`/`range`): `.k.Values.x` reads `x`.
    Root,
    /// A values node: `.k.y` reads `path.y`.
    Path(Vec<String>),
    /// Anything else (a literal, a helper's output), as written.
    Other(String),
}

/// A marker word that no operand parser accepts: what `.`/`$` (the dict itself) or a key the
/// dict does not bind stand for inside a bound define.
const UNBOUND: &str = "!unbound";

/// A word of an action inside a define rendered with `binding` (`.` is the include's dict),
/// rewritten to what it reads at the root context: `.root.Values.x` → `.Values.x`,
/// `.component.probe` → `.Values.web.probe` (for `"component" .Values.web`). `dot_is_dict`
/// is false inside a `with`/`range` of the define (there `.` is rebound; `$` still is the
/// dict).
pub(super) fn rebind(w: &str, binding: &Binding, dot_is_dict: bool) -> String {
    let rest = match w.strip_prefix('$') {
        Some("") => return format!("{UNBOUND}:$"),
        Some(r) if r.starts_with('.') => r,
        Some(_) => return w.to_string(),
        None if dot_is_dict && w.starts_with('.') => w,
        None => return w.to_string(),
    };
    if rest == "." {
        return format!("{UNBOUND}:.");
    }
    let body = &rest[1..];
    let (key, tail) = match body.find('.') {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    match binding.keys.iter().find(|(k, _)| k == key).map(|(_, b)| b) {
        Some(Bound::Root) if tail.is_empty() => ".".to_string(),
        Some(Bound::Root) => tail.to_string(),
        Some(Bound::Path(p)) if p.is_empty() => format!(".Values{tail}"),
        Some(Bound::Path(p)) => format!(".Values.{}{tail}", p.join(".")),
        Some(Bound::Other(_)) | None => format!("{UNBOUND}:{w}"),
    }
}

/// Why an action that reads an unbound word (see [`rebind`]) is not one values path.
pub(super) fn unbound_reason(words: &[String], binding: &Binding) -> Option<String> {
    let w = words
        .iter()
        .find_map(|w| w.strip_prefix(UNBOUND).and_then(|r| r.strip_prefix(':')))?;
    let key = w.trim_start_matches('$').trim_start_matches('.');
    let key = key.split('.').next().unwrap_or_default();
    Some(match binding.keys.iter().find(|(k, _)| k == key) {
        Some((_, Bound::Other(v))) => {
            format!("it reads `{w}`, which the include passes as `{v}`, not a values path")
        }
        _ if key.is_empty() => format!("it uses `{w}`, the include's whole `dict` argument"),
        _ => format!("it reads `{w}`, which the include's `dict` does not pass"),
    })
}

/// The binding of `(dict "k1" V1 "k2" V2 …)` (the words from `(`): each value an operand
/// word, `$`/`.` (the root context where `.` is, `ctx` `None`), or a parenthesised group
/// (kept as written). `None` when the words are not such a dict.
pub(super) fn dict_binding(words: &[String], ctx: Option<&[String]>) -> Option<(Binding, usize)> {
    if words.first()? != "(" || words.get(1)? != "dict" {
        return None;
    }
    let close = closing(words, 0)?;
    let mut b = Binding::default();
    let mut i = 2;
    while i < close {
        let key = unquote(&words[i])?;
        let v_end = if words.get(i + 1).map(String::as_str) == Some("(") {
            closing(words, i + 1)? + 1
        } else {
            i + 2
        };
        if v_end > close {
            return None;
        }
        let v = &words[i + 1..v_end];
        let bound = match v {
            [w] if w == "$" || (w == "." && ctx.is_none()) => Bound::Root,
            [w] => match single_operand(w, ctx) {
                Some(p) if p.first().is_none_or(|k| k != "global") => Bound::Path(p),
                _ => Bound::Other(w.clone()),
            },
            _ => Bound::Other(v.join(" ")),
        };
        b.keys.push((key, bound));
        i = v_end;
    }
    Some((b, close))
}

/// The values path a `$x := VALUE` declaration holds: one operand, optionally through
/// `default (dict)` / `| default dict` (an empty mapping where the value is empty, which
/// prints no key) or `merge` of it with empty dicts; else why it is not one path (two
/// values merged, a helper's output…).
pub(super) fn variable_value(
    words: &[String],
    ctx: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let empty_dict = |ws: &[String]| {
        matches!(ws, [d] if d == "dict")
            || matches!(ws, [o, d, c] if o == "(" && d == "dict" && c == ")")
    };
    // `X | default dict` / `X | default (dict)`: only empty values are replaced.
    let mut ws: Vec<String> = words.to_vec();
    if let Some(bar) = ws.iter().rposition(|w| w == "|")
        && ws.get(bar + 1).is_some_and(|w| w == "default")
        && empty_dict(&ws[bar + 2..])
    {
        ws.truncate(bar);
    }
    // `default (dict) X` / `default dict X`.
    if ws.first().is_some_and(|w| w == "default") {
        let d = if ws.get(1).is_some_and(|w| w == "(") {
            4
        } else {
            2
        };
        if ws.len() > d && empty_dict(&ws[1..d]) {
            ws.drain(..d);
        }
    }
    if ws
        .first()
        .is_some_and(|w| w == "merge" || w == "mergeOverwrite")
    {
        // Each argument: an empty dict or an operand; provably one path only when exactly
        // one argument is a values path and the others are empty.
        let mut paths = Vec::new();
        let mut i = 1;
        while i < ws.len() {
            if ws[i] == "(" {
                let close = closing(&ws, i).ok_or("an unclosed parenthesis")?;
                if !empty_dict(&ws[i..=close]) {
                    return Err(format!(
                        "`{}` of something other than values paths and empty dicts",
                        ws[0]
                    ));
                }
                i = close + 1;
            } else if ws[i] == "dict" {
                i += 1;
            } else {
                let p = single_operand(&ws[i], ctx).ok_or_else(|| {
                    format!("`{}` of `{}`, which is not a values path", ws[0], ws[i])
                })?;
                paths.push(p);
                i += 1;
            }
        }
        return match paths.as_slice() {
            [p] => Ok(p.clone()),
            _ => Err(format!(
                "`{}` of {} values, not one values path",
                ws[0],
                paths.len()
            )),
        };
    }
    let p = operand(&ws, ctx).ok_or_else(|| match ws.first() {
        Some(f) if !f.starts_with('.') && !f.starts_with('$') => {
            format!("it is set by `{f}`, not read from one values path")
        }
        _ => "it does not read one values path".to_string(),
    })?;
    if p.first().is_some_and(|k| k == "global") {
        return Err("it reads `global` values, which the parent chart and subcharts share".into());
    }
    Ok(p)
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
        assert!(p("{{- include \"common.tplvalues.render\" (dict \"value\" (list .Values.a) \"context\" $) }}").is_err());
    }

    #[test]
    fn tpl_of_to_yaml_reads_its_value_like_the_tplvalues_helper() {
        let ctx = ["readinessProbe".to_string()];
        for a in [
            "{{- tpl (toYaml .) $ | nindent 12 }}",
            "{{- tpl (toYaml .) . | nindent 12 }}",
            "{{- tpl (. | toYaml) $ | nindent 12 }}",
            "{{ tpl (toYaml .Values.readinessProbe) . }}",
            "{{ (tpl (toYaml .) $) | nindent 4 }}",
        ] {
            let e = parse_action(a, Some(&ctx)).unwrap();
            assert!(e.to_yaml && e.tplvalues, "{a}");
            assert_eq!(e.path, vec!["readinessProbe"], "{a}");
        }
        // `tpl` of a string value (not a printed mapping), or with a computed context.
        assert!(p("{{ tpl .Values.a $ }}").unwrap_err().contains("tpl"));
        assert!(p("{{ tpl (toYaml .Values.a) (dict \"x\" 1) }}").is_err());
        assert!(p("{{ tpl (toYaml .Values.a | quote) $ }}").is_err());
    }

    #[test]
    fn omit_and_pick_name_the_keys_the_printed_mapping_keeps() {
        use super::KeyFilter;
        let e = p("{{- include \"common.tplvalues.render\" (dict \"value\" (omit .Values.readinessProbe \"enabled\" \"path\") \"context\" $) | nindent 12 }}").unwrap();
        assert_eq!(e.path, vec!["readinessProbe"]);
        assert_eq!(
            e.keys,
            KeyFilter::Omit(vec!["enabled".into(), "path".into()])
        );
        assert!(!e.keys.prints("enabled") && e.keys.prints("initialDelaySeconds"));
        let e = p("{{- toYaml (pick .Values.probe \"periodSeconds\") | nindent 12 }}").unwrap();
        assert_eq!(e.keys, KeyFilter::Pick(vec!["periodSeconds".into()]));
        assert!(e.keys.prints("periodSeconds") && !e.keys.prints("initialDelaySeconds"));
        let e = p("{{- omit .Values.probe \"enabled\" | toYaml | nindent 12 }}").unwrap();
        assert_eq!(e.keys, KeyFilter::Omit(vec!["enabled".into()]));
        // A key named by a variable is not provable; omit printed as a scalar is not a mapping.
        assert!(p("{{- toYaml (omit .Values.probe $k) | nindent 12 }}").is_err());
        assert!(p("{{ omit .Values.probe \"enabled\" }}").is_err());
    }

    #[test]
    fn a_dict_binding_rewrites_the_define_words_to_root_paths() {
        use super::{Bound, dict_binding, rebind, unbound_reason};
        let w = words_of(
            "{{ include \"x\" (dict \"root\" $ \"component\" .Values.web \"name\" \"web\") }}",
        );
        let (b, close) = dict_binding(&w[2..], None).unwrap();
        assert_eq!(w[2 + close], ")");
        assert_eq!(
            b.keys,
            vec![
                ("root".to_string(), Bound::Root),
                ("component".to_string(), Bound::Path(vec!["web".into()])),
                ("name".to_string(), Bound::Other("\"web\"".into())),
            ]
        );
        assert_eq!(rebind(".root.Values.image", &b, true), ".Values.image");
        assert_eq!(rebind(".root", &b, true), ".");
        assert_eq!(rebind("$.component.probe", &b, false), ".Values.web.probe");
        assert_eq!(rebind(".component.probe", &b, true), ".Values.web.probe");
        // Inside a `with` of the define, `.` is not the dict.
        assert_eq!(
            rebind(".initialDelaySeconds", &b, false),
            ".initialDelaySeconds"
        );
        let name = vec![rebind(".name", &b, true)];
        assert!(
            unbound_reason(&name, &b)
                .unwrap()
                .contains("passes as `\"web\"`")
        );
        let values = vec![rebind(".Values.x", &b, true)];
        assert!(
            unbound_reason(&values, &b)
                .unwrap()
                .contains("does not pass")
        );
    }

    #[test]
    fn a_variable_holds_one_path_through_default_dict_and_empty_merges_only() {
        use super::variable_value;
        let v = |a: &str| variable_value(&words_of(a), None);
        let probe = Ok(vec!["server".to_string(), "probe".to_string()]);
        assert_eq!(v(".Values.server.probe"), probe);
        assert_eq!(v(".Values.server.probe | default dict"), probe);
        assert_eq!(v("default (dict) .Values.server.probe"), probe);
        assert_eq!(v("merge (dict) .Values.server.probe"), probe);
        assert!(
            v("merge .Values.a .Values.b")
                .unwrap_err()
                .contains("2 values")
        );
        assert!(v("include \"x\" .").unwrap_err().contains("`include`"));
        assert!(v(".Values.global.x").unwrap_err().contains("global"));
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
