//! What an action's words mean where it stands: `.` inside `with`/`range` blocks (and a
//! `range` that wraps whole documents), `$name` variables declared before it, and the
//! `dict` argument a define body is read with ([`with_binding`]). Turns words into values
//! paths or says why they are not one; never reads a chart's files.

use super::expr::{
    Binding, KeyFilter, ValuesExpr, operand, rebind, unbound_reason, unquote, words_of,
};
use super::{ActionKind, BlockKind, Masked};

thread_local! {
    /// The binding of the define body being read (see [`with_binding`]).
    static BINDING: std::cell::RefCell<Option<Binding>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (which reads a define body: [`sources`](super::reads::sources),
/// [`guards`](super::reads::guards), [`reads`](super::reads::reads)) with `.` bound
/// to an include's `dict` argument. Scoped to the call, on this thread: the binding belongs
/// to the body being read, and passing it through every helper of this module would not
/// make that clearer.
pub fn with_binding<T>(binding: &Binding, f: impl FnOnce() -> T) -> T {
    let before = BINDING.with(|b| b.replace(Some(binding.clone())));
    let out = f();
    BINDING.with(|b| *b.borrow_mut() = before);
    out
}

/// `words` of an action at 1-based `line`, rewritten for the current binding (see
/// [`with_binding`]; unchanged without one).
pub(super) fn bind(m: &Masked, line: usize, words: Vec<String>) -> Vec<String> {
    BINDING.with(|b| {
        let b = b.borrow();
        let Some(binding) = b.as_ref() else {
            return words;
        };
        let dot_is_dict = !m.open_blocks_at_line(line).iter().any(|&i| {
            let blk = &m.blocks[i];
            blk.open_line != line && matches!(blk.kind, BlockKind::With | BlockKind::Range)
        });
        words
            .iter()
            .map(|w| rebind(w, binding, dot_is_dict))
            .collect()
    })
}

/// Why bound `words` read something the binding does not give.
pub(super) fn unbound(words: &[String]) -> Option<String> {
    BINDING.with(|b| b.borrow().as_ref().and_then(|b| unbound_reason(words, b)))
}

/// Parses an action at 1-based `line` (byte `offset`) of a template, resolving `.` through
/// the enclosing `with` blocks and `$variables` through their declarations; `range` bodies,
/// unresolvable `with`s and variables that are not one values path are refused with the
/// reason.
pub fn parse_in_context(
    m: &Masked,
    text: &str,
    line: usize,
    offset: usize,
    action: &str,
) -> Result<ValuesExpr, String> {
    let words = bound_words(m, text, offset, action)?;
    let ctx = context_for(m, text, line, &words)?;
    super::expr::parse_words(words, ctx.as_deref())
}

/// What `.` stands for at `line` for an action of `words`: as [`dot_context`], except that
/// inside a `range` around whole documents an action that never reads `.` (only `$…`,
/// `$.Values…` and literals) reads the root context: every copy renders it the same way.
pub(super) fn context_for(
    m: &Masked,
    text: &str,
    line: usize,
    words: &[String],
) -> Result<Option<Vec<String>>, String> {
    match dot(m, text, line)? {
        Dot::Ctx(ctx) => Ok(ctx),
        Dot::Item(_) if !words.iter().any(|w| w.starts_with('.')) => Ok(None),
        Dot::Item(open) => Err(range_body(open)),
    }
}

pub(super) fn range_body(open_line: usize) -> String {
    format!("it is inside a `range` body (line {open_line}): rendered once per item")
}

/// What `.` is at a line: the root context (`None`) or a values path, or the item of the
/// `range` opened at the line given, around whole documents.
pub(super) enum Dot {
    Ctx(Option<Vec<String>>),
    Item(usize),
}

/// Whether `block` (a `range`) wraps whole documents: nothing but comments, blank lines and
/// masked actions between the document start (file start or `---`) and its opener, and
/// between its `end` and the document end. Then each item renders the body as documents of
/// their own, and the masked body is what each of them shows.
pub(super) fn wraps_documents(m: &Masked, block: &super::Block) -> bool {
    let Some(end) = block.end_line else {
        return false;
    };
    let lines: Vec<&str> = m.text.split('\n').collect();
    let quiet = |l: &str| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    };
    let opener = (0..block.open_line.saturating_sub(1))
        .rev()
        .map(|i| lines[i])
        .take_while(|l| !l.starts_with("---"))
        .all(quiet);
    let closer = lines
        .iter()
        .skip(end)
        .take_while(|l| !l.starts_with("---"))
        .all(|l| quiet(l));
    let whole = |line: usize| {
        m.actions
            .iter()
            .filter(|a| a.line == line)
            .all(|a| a.whole_line)
    };
    opener && closer && whole(block.open_line) && whole(end)
}

/// A `{{ $name := VALUE }}` of a template file.
#[derive(Debug, Clone)]
pub(super) struct Declaration {
    name: String,
    line: usize,
    pub(super) offset: usize,
    action: String,
    /// The blocks the declaration is in (their indices): it is visible where they are open.
    blocks: Vec<usize>,
    /// The values path it holds, or why it is not one.
    pub(super) value: Result<Vec<String>, String>,
    /// `$x := omit V "k"…` / `pick V "k"…`: the keys of V's mapping it keeps (what
    /// `toYaml $x` prints).
    keys: KeyFilter,
    /// It holds the root context (`$root := .` at the top level, `$top := $`).
    root: bool,
    /// It holds what a define prints (`include "NAME" $`, `tpl (include "NAME" .) $` where
    /// `.` is the root context): the words a condition reads in its place (see
    /// [`bound_cond_words`]).
    inline: Option<Vec<String>>,
}

/// Every variable declaration of a masked template, in order, each resolved with the ones
/// before it. A variable assigned again later (`$x = …`) is not one provable path.
pub(super) fn declarations(m: &Masked, text: &str) -> Vec<Declaration> {
    let mut out: Vec<Declaration> = Vec::new();
    for a in &m.actions {
        let action = &text[a.span.clone()];
        if !action.contains('$') || !action.contains('=') {
            continue;
        }
        let words = bind(m, a.line, words_of(action));
        // `$x := V`, and `$x = V` (an assignment to a declared one).
        let (name, assign) = match words.as_slice() {
            [n, op, ..] if n.starts_with('$') && (op == ":=" || op == "=") => {
                (n.clone(), op == "=")
            }
            // `range $i, $v := …` / `with $v := …`: bound per item or to the block's value.
            [f, rest @ ..] if (f == "range" || f == "with" || f == "if") => {
                for w in rest.iter().take_while(|w| *w != ":=") {
                    let n = w.trim_end_matches(',');
                    if n.starts_with('$') && n.len() > 1 {
                        out.push(Declaration {
                            name: n.to_string(),
                            line: a.line,
                            offset: a.span.start,
                            action: action.to_string(),
                            blocks: Vec::new(),
                            value: Err(format!("it is bound by `{f}`, not to one values path")),
                            keys: KeyFilter::All,
                            root: false,
                            inline: None,
                        });
                    }
                }
                continue;
            }
            _ => continue,
        };
        if assign {
            for d in out.iter_mut().filter(|d| d.name == name) {
                if d.value.is_ok() {
                    d.value = Err(format!("it is assigned again at line {}", a.line));
                }
            }
            continue;
        }
        let blocks: Vec<usize> = m
            .open_blocks_at_line(a.line)
            .into_iter()
            .filter(|&b| m.blocks[b].open_line < a.line)
            .collect();
        let ctx = context_for(m, text, a.line, &words[2..]);
        let rhs = &words[2..];
        let root =
            matches!(rhs, [w] if w == "$") || (matches!(rhs, [w] if w == ".") && ctx == Ok(None));
        let at_root = ctx == Ok(None);
        let mut keys = KeyFilter::All;
        let value = ctx.and_then(|ctx| {
            let rhs = normalise(substitute(
                &words[2..],
                &visible(&out, m, a.line, a.span.start),
            )?);
            let (rhs, filter) = key_filtered(&rhs)?;
            keys = filter;
            super::expr::variable_value(&rhs, ctx.as_deref())
        });
        let inline = include_words(rhs, at_root);
        out.push(Declaration {
            name,
            line: a.line,
            offset: a.span.start,
            action: action.to_string(),
            blocks,
            value,
            keys,
            root,
            inline,
        });
    }
    out
}

/// The declarations visible at byte `offset` (1-based `line`): made before it, in blocks
/// still open there; the latest of a name wins.
pub(super) fn visible<'d>(
    decls: &'d [Declaration],
    m: &Masked,
    line: usize,
    offset: usize,
) -> Vec<&'d Declaration> {
    let open = m.open_blocks_at_line(line);
    let mut out: Vec<&Declaration> = Vec::new();
    for d in decls.iter().filter(|d| d.offset < offset) {
        if d.blocks.iter().all(|b| open.contains(b)) {
            out.retain(|o| o.name != d.name);
            out.push(d);
        }
    }
    out
}

/// `words` with each `$name` / `$name.k…` of a visible declaration replaced by the values
/// path it holds (`.Values.a.b.k…`); a variable that is not one path refuses, naming it and
/// its declaration. `$` and `$.…` (the root context) are kept.
pub(super) fn substitute(words: &[String], decls: &[&Declaration]) -> Result<Vec<String>, String> {
    substitute_in(words, decls, false)
}

/// `include "NAME" R` or `tpl (include "NAME" R) R` of the root context `R` (`$`, or `.`
/// when `at_root`), parenthesised, with `$` for the root: what a variable set to it reads.
fn include_words(rhs: &[String], at_root: bool) -> Option<Vec<String>> {
    let root = |w: &String| w == "$" || (w == "." && at_root);
    let s = |w: &str| w.to_string();
    match rhs {
        [i, n, r] if i == "include" && n.starts_with('"') && root(r) => {
            Some(vec![s("("), s("include"), n.clone(), s("$"), s(")")])
        }
        [t, o, i, n, r, c, r2]
            if t == "tpl"
                && o == "("
                && i == "include"
                && n.starts_with('"')
                && root(r)
                && c == ")"
                && root(r2) =>
        {
            Some(
                ["(", "tpl", "(", "include", n, "$", ")", "$", ")"]
                    .into_iter()
                    .map(s)
                    .collect(),
            )
        }
        _ => None,
    }
}

/// [`substitute`], except that a variable holding a define's output (see
/// [`Declaration::inline`]) is replaced by the include itself: a condition may compare what
/// the define prints (`plan::guards` knows simple defines); an output action may not.
fn substitute_in(
    words: &[String],
    decls: &[&Declaration],
    inline: bool,
) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        let Some(rest) = w
            .strip_prefix('$')
            .filter(|r| !r.is_empty() && !r.starts_with('.'))
        else {
            out.push(w.clone());
            continue;
        };
        let (name, tail) = match rest.find('.') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let name = format!("${name}");
        let Some(d) = decls.iter().rev().find(|d| d.name == name) else {
            out.push(w.clone());
            continue;
        };
        match &d.value {
            _ if d.root => out.push(format!("${tail}")),
            Ok(path) if path.is_empty() => out.push(format!(".Values{tail}")),
            // `$x` of `omit V "k"`: the same filter around V, parenthesised (what
            // `toYaml (omit V "k")` reads); `$x.k` is V's `k` unless the filter drops it.
            Ok(path) if d.keys != KeyFilter::All => {
                let base = format!(".Values.{}", path.join("."));
                let first = tail.trim_start_matches('.').split('.').next().unwrap_or("");
                let (f, ks) = match &d.keys {
                    KeyFilter::Omit(ks) => ("omit", ks),
                    KeyFilter::Pick(ks) => ("pick", ks),
                    KeyFilter::All => unreachable!("guarded above"),
                };
                if tail.is_empty() {
                    out.extend(["(".to_string(), f.to_string(), base]);
                    out.extend(ks.iter().map(|k| format!("\"{k}\"")));
                    out.push(")".to_string());
                } else if d.keys.prints(first) {
                    out.push(format!("{base}{tail}"));
                } else {
                    return Err(format!(
                        "it reads `{name}{tail}`, which `{f}` at line {} leaves out of `{name}`",
                        d.line
                    ));
                }
            }
            Ok(path) => out.push(format!(".Values.{}{tail}", path.join("."))),
            Err(_) if inline && tail.is_empty() && d.inline.is_some() => {
                out.extend(d.inline.iter().flatten().cloned())
            }
            Err(why) => {
                return Err(format!(
                    "it reads `{name}`, set at line {} by `{}`, which is not one values path: {why}",
                    d.line,
                    d.action.trim()
                ));
            }
        }
    }
    Ok(out)
}

/// The words of the action at `offset`, its variables replaced by the values paths they hold.
pub(super) fn bound_words(
    m: &Masked,
    text: &str,
    offset: usize,
    action: &str,
) -> Result<Vec<String>, String> {
    let line = m
        .actions
        .iter()
        .find(|a| a.span.start == offset)
        .map_or(0, |a| a.line);
    let words = bind(m, line, words_of(action));
    if let Some(why) = unbound(&words) {
        return Err(why);
    }
    if !words
        .iter()
        .any(|w| w.starts_with('$') && w.len() > 1 && !w.starts_with("$."))
    {
        return Ok(normalise(words));
    }
    let decls = declarations(m, text);
    substitute(&words, &visible(&decls, m, line, offset)).map(normalise)
}

/// `omit V "k"…` / `pick V "k"…` as a whole declaration value: V's words and the filter;
/// anything else unchanged (with no filter).
fn key_filtered(words: &[String]) -> Result<(Vec<String>, KeyFilter), String> {
    let (f, base, ks) = match words {
        [f, base, ks @ ..] if (f == "omit" || f == "pick") && !ks.is_empty() => (f, base, ks),
        _ => return Ok((words.to_vec(), KeyFilter::All)),
    };
    let ks: Vec<String> = ks
        .iter()
        .map(|k| unquote(k).ok_or_else(|| format!("`{f}` of a key that is not a literal: `{k}`")))
        .collect::<Result<_, _>>()?;
    let keys = match f.as_str() {
        "omit" => KeyFilter::Omit(ks),
        _ => KeyFilter::Pick(ks),
    };
    Ok((vec![base.clone()], keys))
}

/// Sprig's `get MAP "k"` of a values path is that path's `k` (both print nothing when
/// it is missing): `get .Values.a "k"` → `.Values.a.k`, at the start of a command, and
/// `(get .Values.a "k")` the same. Other words unchanged.
pub(super) fn normalise(words: Vec<String>) -> Vec<String> {
    if !words.iter().any(|w| w == "get") {
        return words;
    }
    let key_of = |w: &String| {
        unquote(w).filter(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let starts = out.last().is_none_or(|w| w == "|" || w == ":=");
        let grouped = words[i] == "(" && words.get(i + 1).is_some_and(|w| w == "get");
        let at = if grouped { i + 1 } else { i };
        if (starts || grouped)
            && words[at] == "get"
            && let (Some(map), Some(key)) = (words.get(at + 1), words.get(at + 2))
            && map.starts_with(".Values")
            && let Some(k) = key_of(key)
            && match grouped {
                true => words.get(at + 3).is_some_and(|w| w == ")"),
                false => words.get(at + 3).is_none_or(|w| w == "|"),
            }
        {
            out.push(format!("{map}.{k}"));
            i = at + 3 + usize::from(grouped);
            continue;
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

/// [`bound_words`] of a condition (`if`/`with`): a variable set to a define's output reads
/// the include (see [`substitute_in`]).
pub(super) fn bound_cond_words(
    m: &Masked,
    text: &str,
    offset: usize,
    action: &str,
) -> Result<Vec<String>, String> {
    let line = m
        .actions
        .iter()
        .find(|a| a.span.start == offset)
        .map_or(0, |a| a.line);
    let words = bind(m, line, words_of(action));
    if let Some(why) = unbound(&words) {
        return Err(why);
    }
    if !words
        .iter()
        .any(|w| w.starts_with('$') && w.len() > 1 && !w.starts_with("$."))
    {
        return Ok(normalise(words));
    }
    let decls = declarations(m, text);
    substitute_in(&words, &visible(&decls, m, line, offset), true).map(normalise)
}

/// The values path `.` stands for at `line`: `None` at the top level (`.` is the root
/// context), else the innermost `with`'s path.
pub(super) fn dot_context(
    m: &Masked,
    text: &str,
    line: usize,
) -> Result<Option<Vec<String>>, String> {
    match dot(m, text, line)? {
        Dot::Ctx(ctx) => Ok(ctx),
        Dot::Item(open) => Err(range_body(open)),
    }
}

pub(super) fn dot(m: &Masked, text: &str, line: usize) -> Result<Dot, String> {
    let mut ctx: Option<Vec<String>> = None;
    // The `range` (around whole documents) whose item `.` is, until a `with $…` rebinds it.
    let mut item: Option<usize> = None;
    for b in m.open_blocks_at_line(line) {
        let block = &m.blocks[b];
        if block.open_line == line {
            continue;
        }
        match block.kind {
            BlockKind::Range if wraps_documents(m, block) => item = Some(block.open_line),
            BlockKind::Range => return Err(range_body(block.open_line)),
            // In a `with`'s `else` branch `.` is not rebound.
            BlockKind::With if block.else_lines.first().is_some_and(|&e| line > e) => {}
            BlockKind::With => {
                let opener = m.actions.iter().find(|a| {
                    a.line == block.open_line && a.kind == ActionKind::Open(BlockKind::With)
                });
                let Some(opener) = opener else {
                    return Err(format!(
                        "the `with` at line {} is not readable",
                        block.open_line
                    ));
                };
                let words = bind(m, block.open_line, words_of(&text[opener.span.clone()]));
                let inner: Vec<String> = words.into_iter().skip(1).collect();
                // `with $`: `.` is the root context again (inside a `range` too).
                if inner == ["$"] {
                    (ctx, item) = (None, None);
                    continue;
                }
                if let Some(open) = item {
                    if !inner.first().is_some_and(|w| w.starts_with("$.")) {
                        return Err(range_body(open));
                    }
                    item = None;
                }
                match operand(&inner, ctx.as_deref()) {
                    Some(p) => ctx = Some(p),
                    None => {
                        return Err(format!(
                            "the `with` at line {} does not read one values path",
                            block.open_line
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(item.map_or(Dot::Ctx(ctx), Dot::Item))
}
