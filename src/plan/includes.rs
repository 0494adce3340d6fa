//! Named templates in the values view: a node printed by `{{- include "NAME" . | nindent N }}`
//! (the root context) is what `define "NAME"` renders, so the view splices the define's body
//! (parsed as a template fragment, its own `if`s decided from the values) in at that node.
//! Recipes then see the containers a helper prints, and an op inside lands in the values when
//! one values read prints its node, or is refused by name (a shared define is not edited).

use std::collections::HashMap;

use serde_json::Value;

use crate::doc::template::branches::Branch;
use crate::doc::template::reads::{
    Cond, Condition, Guard, IncludeSite, KeyFilter, Source, ValuesExpr,
};

use super::view::{ElseRendered, ParsedDefine, eval, fill_values, prune_unrendered};
use crate::pointer::{lookup, to_pointer};

/// How deep includes are followed (a define that includes a define that includes…). Four
/// covers the deepest chain of the idioms the view follows (template → pod template → pod
/// spec → container → probe helper); the bound also stops a define that includes itself
/// (Helm allows recursion) instead of looping.
const MAX_DEPTH: usize = 4;

/// A node of a template document that an included define prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Splice {
    /// Keys of the node in the template document's model.
    pub pointer: Vec<String>,
    pub name: String,
    /// Where the define is (file relative to the root, 1-based line).
    pub file: String,
    pub line: usize,
    /// The including action: its file (the template, or an outer define), line and offset.
    pub include_file: Option<String>,
    pub include_line: usize,
    pub include_offset: usize,
    /// How many `include`s of the define the chart has.
    pub includers: usize,
    /// Why the body was not spliced in (not YAML, or its own includes too deep).
    pub unread: Option<String>,
    /// An include that prints entries into the mapping at `pointer`: the keys it printed
    /// (`None`: it prints the node itself).
    pub entries: Option<Vec<String>>,
}

impl Splice {
    /// The splice prints the node at `keys` or one above it.
    pub fn covers(&self, keys: &[String]) -> bool {
        keys.starts_with(&self.pointer)
            && self
                .entries
                .as_ref()
                .is_none_or(|e| keys.get(self.pointer.len()).is_some_and(|k| e.contains(k)))
    }
}

/// What a template document renders, as the view sees it: the values reads of its nodes
/// (its own and those of the defines it includes), the nodes defines print, and the entries
/// an `else` branch renders.
#[derive(Debug, Clone, Default)]
pub struct Rendering {
    pub sources: Vec<Source>,
    pub splices: Vec<Splice>,
    pub from_else: Vec<ElseRendered>,
}

/// Splices every root-context include of a known define into `model` (rendered under
/// `values`), moving the define's sources into `sources` at the included node.
pub fn splice_includes(
    model: &mut Value,
    r: &mut Rendering,
    defines: &HashMap<String, ParsedDefine>,
    includes: &[IncludeSite],
    values: &Value,
) {
    splice_level(model, r, defines, includes, values, 0);
}

fn splice_level(
    model: &mut Value,
    r: &mut Rendering,
    defines: &HashMap<String, ParsedDefine>,
    includes: &[IncludeSite],
    values: &Value,
    depth: usize,
) {
    let mut i = 0;
    let mut spliced_any = false;
    while i < r.sources.len() {
        let s = &r.sources[i];
        let Some(inc) = s.include.as_ref() else {
            i += 1;
            continue;
        };
        // A node that does not render (pruned) or already holds text is not the include's.
        // An inline `key: {{ include … | nindent N }}` with nothing nested below is masked
        // as a placeholder of the action's length: the action is the whole node too.
        let placeholder = |t: &str| t.len() == s.action.len() && t.starts_with('_');
        let empty = lookup(model, &s.pointer).is_some_and(|v| {
            v.is_null() || v.as_str().is_some_and(|t| t.is_empty() || placeholder(t))
        });
        // An `if` around the include that is false prints nothing there.
        let shown = s
            .conditions
            .iter()
            .all(|c| c.cond.as_ref().is_err() || c.cond.as_ref().is_ok_and(|c| eval(c, values)));
        // Entries into a mapping: the mapping is there already; when the include does not
        // render it prints nothing, and it is no node's source.
        if inc.entries {
            if !shown || !lookup(model, &s.pointer).is_some_and(Value::is_object) {
                r.sources.remove(i);
                continue;
            }
        } else if !empty || !shown {
            i += 1;
            continue;
        }
        let inc = inc.clone();
        let s = r.sources.remove(i);
        let def = defines.get(&inc.name);
        let mut splice = Splice {
            pointer: s.pointer.clone(),
            name: inc.name.clone(),
            file: def.map_or_else(|| s.file.clone().unwrap_or_default(), |d| d.file.clone()),
            line: def.map_or(s.line, |d| d.line),
            include_file: s.file.clone(),
            include_line: s.line,
            include_offset: s.offset,
            includers: includes.iter().filter(|x| x.name == inc.name).count(),
            unread: inc.not_followed.clone(),
            // Entries not spliced in print no node that the view knows of.
            entries: inc.entries.then(Vec::new),
        };
        let body = match def.map(|d| &d.body) {
            _ if splice.unread.is_some() => {
                r.splices.push(splice);
                continue;
            }
            Some(Ok(b)) => b,
            Some(Err(why)) => {
                splice.unread = Some(why.clone());
                r.splices.push(splice);
                continue;
            }
            None => {
                splice.unread = Some(
                    "no such define in the chart's templates or its dependencies' (charts/)"
                        .to_string(),
                );
                r.splices.push(splice);
                continue;
            }
        };
        if depth >= MAX_DEPTH {
            splice.unread = Some(format!("it includes named templates {MAX_DEPTH} deep"));
            r.splices.push(splice);
            continue;
        }
        let mut fragment = body.model.clone();
        let prefix = |p: &[String]| {
            let mut k = s.pointer.clone();
            k.extend(p.iter().cloned());
            k
        };
        // An include that passes a `dict` reads the body with `.` bound to it.
        let bound = inc
            .binding
            .as_ref()
            .map(|b| body.bound(b, def.map_or("", |d| d.file.as_str())));
        let (mut sources, mut guards) = match bound {
            Some((s, g)) => (s, g),
            None => (body.sources.clone(), body.guards.clone()),
        };
        resolve_reads(&mut sources, &mut guards, defines);
        let pruned = prune_unrendered(&mut fragment, &guards, values);
        for e in &pruned.from_else {
            if let Some(p) = pruned.reindex(&e.pointer) {
                let mut e = e.clone();
                e.pointer = prefix(&p);
                r.from_else.push(e);
            }
        }
        let body_sources = pruned.reindex_sources(sources);
        fill_values(&mut fragment, &body_sources, values);
        if inc.entries {
            let added = match fragment {
                Value::Object(entries) => entries,
                Value::Null => Default::default(),
                _ => {
                    splice.unread = Some("its body is not a mapping".to_string());
                    r.splices.push(splice);
                    continue;
                }
            };
            let Ok(Value::Object(map)) = to_pointer(&s.pointer).resolve_mut(model) else {
                continue;
            };
            if let Some(k) = added.keys().find(|k| map.contains_key(*k)) {
                splice.unread = Some(format!(
                    "it prints `{k}`, which the template has too (the rendered key is not known)"
                ));
                r.splices.push(splice);
                continue;
            }
            splice.entries = Some(added.keys().cloned().collect());
            map.extend(added);
        } else if let Ok(slot) = to_pointer(&s.pointer).resolve_mut(model) {
            *slot = fragment;
        }
        // The define's nodes render only where the include does: its `if`s come first.
        for ds in &body_sources {
            let mut ds = ds.clone();
            ds.pointer = prefix(&ds.pointer);
            let mut conds = s.conditions.clone();
            conds.extend(ds.conditions);
            ds.conditions = conds;
            r.sources.push(ds);
        }
        r.splices.push(splice);
        spliced_any = true;
    }
    if spliced_any {
        // The spliced bodies may include defines of their own.
        splice_level(model, r, defines, includes, values, depth + 1);
    }
}

/// The splice that prints the node at `keys` (the innermost), if any.
pub fn splice_at<'r>(r: &'r Rendering, keys: &[String]) -> Option<&'r Splice> {
    r.splices
        .iter()
        .filter(|s| s.covers(keys))
        .max_by_key(|s| s.pointer.len())
}

/// The chain of splices from the template down to the one that prints `keys`, outermost
/// first: each include the value passes through.
pub fn splice_chain<'r>(r: &'r Rendering, keys: &[String]) -> Vec<&'r Splice> {
    let mut out: Vec<&Splice> = r.splices.iter().filter(|s| s.covers(keys)).collect();
    out.sort_by_key(|s| s.pointer.len());
    out
}

/// Why an op on a node inside a define's output is not a values edit: a define is shared
/// text, which patcher does not edit.
pub fn refusal(path: &str, s: &Splice) -> String {
    let shared = match s.includers {
        0 | 1 => "which one template includes".to_string(),
        n => format!("which {n} templates include"),
    };
    match &s.unread {
        Some(why) => format!(
            "{path} is printed by define \"{}\" at {}:{} ({shared}), which patcher cannot read: {why}; edit it by hand or through values",
            s.name, s.file, s.line
        ),
        None => format!(
            "{path} is printed by define \"{}\" at {}:{}, {shared}, not from one values read; edit it by hand or through values",
            s.name, s.file, s.line
        ),
    }
}

/// The selectors of a rule that matched nothing in a document because they reach into a
/// node printed by an include the view could not follow: a named refusal each, instead of a
/// silent miss (the recipe cannot see what the chart renders there).
pub fn unread_misses(
    r: &Rendering,
    probes: &[super::Probe],
) -> Vec<(crate::recipe::Origin, String)> {
    let mut out: Vec<(crate::recipe::Origin, String)> = Vec::new();
    for p in probes.iter().filter(|p| p.matched == 0) {
        for sp in r.splices.iter().filter(|s| s.unread.is_some()) {
            let at = to_pointer(&sp.pointer).to_string();
            if !p.what.starts_with(&format!("{at}/")) {
                continue;
            }
            let msg = format!("`{}` cannot be checked: {}", p.what, refusal(&at, sp));
            if !out.iter().any(|(o, m)| *o == p.origin && *m == msg) {
                out.push((p.origin.clone(), msg));
            }
        }
    }
    out
}

/// What a define prints when it is included with the root context (`include "NAME" $`), when
/// its text decides that from the values alone: one values read through pipes, literal text,
/// or an `if`/`else` choosing between such. Built by [`define_output`]; reusable wherever a
/// template tests or compares what a helper prints.
///
/// Two readers of a define's output live side by side: `doc::template::branches::
/// simple_define_outputs` (a masked file's defines, as a `Cond` value that comparisons use:
/// `eq $providerName "webhook"`), and this one (the chart's parsed defines, with variables,
/// `get`, comments and untrimmed text between actions, only for whether it prints anything:
/// `if (include "x.secretName" $)`). A condition takes the first when it knows the define
/// (see `expr::cond_call`), else `Cond::Include`, which [`resolve_cond`] decides here.
#[derive(Debug, Clone, PartialEq)]
pub enum DefineOutput {
    Read(ValuesExpr),
    Text(String),
    /// `if C` prints the first, else the second.
    Choice(Cond, Box<DefineOutput>, Box<DefineOutput>),
}

impl DefineOutput {
    /// A condition that holds exactly when the output is not empty (what `if (include …)`
    /// tests); why not, when that depends on how a value prints (`false` prints `false`,
    /// which is not empty, but a missing value prints nothing).
    pub fn non_empty(&self) -> Result<Cond, String> {
        Ok(match self {
            DefineOutput::Text(t) => Cond::Lit(Value::Bool(!t.is_empty())),
            DefineOutput::Choice(c, a, b) => Cond::Or(vec![
                Cond::And(vec![c.clone(), a.non_empty()?]),
                Cond::And(vec![Cond::Not(Box::new(c.clone())), b.non_empty()?]),
            ]),
            DefineOutput::Read(e) => {
                let path = e.path.join(".");
                if e.to_yaml || e.stringify || e.keys != KeyFilter::All {
                    return Err(format!(
                        "it prints `.Values.{path}` through `toYaml`/`quote`, which prints text even for an empty value"
                    ));
                }
                match &e.default {
                    // An empty value takes the default, `""`: the text is empty exactly
                    // when the value is (a non-empty value prints non-empty text).
                    Some(Value::String(d)) if d.is_empty() => Cond::Path(e.path.clone()),
                    Some(d) if !super::guards::is_empty(d) => Cond::Lit(Value::Bool(true)),
                    _ if e.numeric => Cond::Lit(Value::Bool(true)),
                    _ => {
                        return Err(format!(
                            "it prints `.Values.{path}` without `default \"\"`, so whether its text is empty depends on the kind of value"
                        ));
                    }
                }
            }
        })
    }
}

/// What define `name` prints when included with the root context (see [`DefineOutput`]):
/// its body may declare variables and hold comments; what prints must be one output action
/// (one values path through pipes), literal text, or one `if`/`else if`/`else` whose
/// branches each print one such. Why not, naming the define, otherwise.
pub fn define_output(
    name: &str,
    defines: &HashMap<String, ParsedDefine>,
) -> Result<DefineOutput, String> {
    let d = defines.get(name).ok_or_else(|| {
        format!("there is no define \"{name}\" in the chart's templates or its dependencies'")
    })?;
    let at = format!("define \"{name}\" at {}:{}", d.file, d.line);
    let body = d.body.as_ref().map_err(|why| format!("{at}: {why}"))?;
    let doc = &body.doc;
    let m = doc
        .masked
        .as_ref()
        .ok_or_else(|| format!("{at} is not a template"))?;
    let mut next = 0;
    let (items, stop) = body_items(m, &doc.text, &mut next, body.trims)?;
    if stop.is_some() {
        return Err(format!("{at} has an `else`/`end` outside any block"));
    }
    let out = one_output(m, &doc.text, items).map_err(|why| format!("{at} {why}"))?;
    Ok(out)
}

/// A piece of a define's printed text.
enum Item {
    Text(String),
    /// An output action (index into the masked actions).
    Out(usize),
    /// An `if` block: the opener's index and each branch's items.
    If(usize, Vec<Vec<Item>>),
}

/// The items from action `*next` to the `else`/`end` that ends the level (returned; `None`
/// at the body's end). Text between actions is trimmed as their `{{-`/`-}}` say, and at the
/// body's edges as the `define` and its `end` do (`trims`).
fn body_items(
    m: &crate::doc::template::Masked,
    text: &str,
    next: &mut usize,
    trims: (bool, bool),
) -> Result<(Vec<Item>, Option<usize>), String> {
    use crate::doc::template::{ActionKind, BlockKind};
    let mut items = Vec::new();
    // The printed text between two actions (`None`: the body's edges), or `None` when it is
    // blank text at an edge that nothing trims: the body's own line breaks print then, but
    // which of the blanks are the body's (outside it everything is blanked) is not known.
    let segment = |from: Option<usize>, to: Option<usize>| -> Option<String> {
        let (start, trim_start) = match from {
            Some(i) => (
                m.actions[i].span.end,
                text[m.actions[i].span.clone()].ends_with("-}}"),
            ),
            None => (0, trims.0),
        };
        let (end, trim_end) = match to {
            Some(i) => (
                m.actions[i].span.start,
                text[m.actions[i].span.clone()].starts_with("{{-"),
            ),
            None => (text.len(), trims.1),
        };
        let mut t = text.get(start..end).unwrap_or_default();
        let edge = from.is_none() || to.is_none();
        if edge && t.trim().is_empty() && !(trim_start || trim_end) {
            return None;
        }
        if trim_start {
            t = t.trim_start();
        }
        if trim_end {
            t = t.trim_end();
        }
        Some(t.to_string())
    };
    loop {
        let prev = next.checked_sub(1);
        let cur = (*next < m.actions.len()).then_some(*next);
        let Some(t) = segment(prev, cur) else {
            return Err(
                "prints blank text at its start or end that its `define`/`end` does not trim"
                    .into(),
            );
        };
        if !t.is_empty() {
            items.push(Item::Text(t));
        }
        let Some(i) = cur else {
            return Ok((items, None));
        };
        *next += 1;
        match m.actions[i].kind {
            ActionKind::Comment | ActionKind::Assign => {}
            ActionKind::Output => items.push(Item::Out(i)),
            ActionKind::Else | ActionKind::End => return Ok((items, Some(i))),
            ActionKind::Open(BlockKind::If) => {
                let mut branches = Vec::new();
                loop {
                    let (b, stop) = body_items(m, text, next, trims)?;
                    branches.push(b);
                    match stop.map(|s| m.actions[s].kind) {
                        Some(ActionKind::Else) => {}
                        Some(_) => break,
                        None => return Err("has an `if` without its `end`".into()),
                    }
                }
                items.push(Item::If(i, branches));
            }
            ActionKind::Open(k) => {
                return Err(format!(
                    "has a `{}` block (line {}), which is more than a choice of one value",
                    format!("{k:?}").to_lowercase(),
                    m.actions[i].line
                ));
            }
        }
    }
}

/// The output of one level's items: nothing, or exactly one item.
fn one_output(
    m: &crate::doc::template::Masked,
    text: &str,
    mut items: Vec<Item>,
) -> Result<DefineOutput, String> {
    if items.len() > 1 {
        return Err("prints more than one value or text".into());
    }
    let Some(item) = items.pop() else {
        return Ok(DefineOutput::Text(String::new()));
    };
    match item {
        Item::Text(t) => Ok(DefineOutput::Text(t)),
        Item::Out(i) => {
            let a = &m.actions[i];
            let action = &text[a.span.clone()];
            crate::doc::template::reads::parse_in_context(m, text, a.line, a.span.start, action)
                .map(DefineOutput::Read)
                .map_err(|why| {
                    format!(
                        "prints `{}` (line {}), which is not one values path: {why}",
                        action.trim(),
                        a.line
                    )
                })
        }
        Item::If(i, branches) => {
            let line = m.actions[i].line;
            let block = crate::doc::template::branches::decided_at(m, text, line)
                .ok_or_else(|| format!("has an `if` at line {line} that is not readable"))?;
            let mut outs = branches
                .into_iter()
                .map(|b| one_output(m, text, b))
                .collect::<Result<Vec<_>, _>>()?;
            let mut chain = block.chain;
            // Without a plain `else`, nothing prints when no branch holds.
            if chain.last().is_some_and(Option::is_some) {
                chain.push(None);
                outs.push(DefineOutput::Text(String::new()));
            }
            let mut out = outs.pop().unwrap_or(DefineOutput::Text(String::new()));
            chain.pop();
            while let (Some(c), Some(o)) = (chain.pop(), outs.pop()) {
                let c = c
                    .ok_or("has an `else` before its last branch")?
                    .map_err(|why| {
                        format!("has an `if` at line {line} that is not simple: {why}")
                    })?;
                out = DefineOutput::Choice(c, Box::new(o), Box::new(out));
            }
            Ok(out)
        }
    }
}

fn has_include(c: &Cond) -> bool {
    match c {
        Cond::Include(_) => true,
        Cond::Path(_) | Cond::Lit(_) | Cond::Int(_) => false,
        Cond::Not(a)
        | Cond::ToInt(a)
        | Cond::ToFloat(a)
        | Cond::Len(a)
        | Cond::Empty(a)
        | Cond::HasKey(a, _) => has_include(a),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().any(has_include),
        Cond::TypeOf(a) | Cond::KindOf(a) | Cond::Print(a) | Cond::Tpl(a) => has_include(a),
        Cond::Choice(chain) => chain.iter().any(|(c, v)| has_include(c) || has_include(v)),
        Cond::Eq(a, b) | Cond::Ne(a, b) | Cond::Cmp(_, a, b) | Cond::Default(a, b) => {
            has_include(a) || has_include(b)
        }
    }
}

/// `cond` with each `include "NAME" $` replaced by the condition that decides whether the
/// define prints anything ([`define_output`]); why not, naming the define.
pub fn resolve_cond(
    cond: &Cond,
    defines: &HashMap<String, ParsedDefine>,
    depth: usize,
) -> Result<Cond, String> {
    if !has_include(cond) {
        return Ok(cond.clone());
    }
    let r = |c: &Cond| resolve_cond(c, defines, depth).map(Box::new);
    // Only whether a define prints anything is known here, not what: an include whose text
    // is compared, converted or printed is not decided (`branches::simple_define_outputs`
    // decides those it can, before this).
    let v = |c: &Cond| match has_include(c) {
        true => Err(
            "it uses what a define prints as a value, not only whether it prints anything"
                .to_string(),
        ),
        false => Ok(Box::new(c.clone())),
    };
    Ok(match cond {
        Cond::Include(name) => {
            if depth >= MAX_DEPTH {
                return Err(format!(
                    "it tests what define \"{name}\" prints, through named templates {MAX_DEPTH} deep"
                ));
            }
            let at = defines
                .get(name)
                .map(|d| format!(" (at {}:{})", d.file, d.line))
                .unwrap_or_default();
            let c = define_output(name, defines)
                .and_then(|o| o.non_empty())
                .map_err(|why| format!("it tests what define \"{name}\"{at} prints: {why}"))?;
            resolve_cond(&c, defines, depth + 1)?
        }
        Cond::Not(a) => Cond::Not(r(a)?),
        Cond::Empty(a) => Cond::Empty(r(a)?),
        Cond::ToInt(a) => Cond::ToInt(v(a)?),
        Cond::ToFloat(a) => Cond::ToFloat(v(a)?),
        Cond::Len(a) => Cond::Len(v(a)?),
        Cond::HasKey(a, k) => Cond::HasKey(v(a)?, k.clone()),
        Cond::TypeOf(a) => Cond::TypeOf(v(a)?),
        Cond::KindOf(a) => Cond::KindOf(v(a)?),
        Cond::Print(a) => Cond::Print(v(a)?),
        Cond::Tpl(a) => Cond::Tpl(v(a)?),
        Cond::Choice(chain) => Cond::Choice(
            chain
                .iter()
                .map(|(c, out)| Ok((resolve_cond(c, defines, depth)?, *v(out)?)))
                .collect::<Result<_, String>>()?,
        ),
        Cond::And(cs) => Cond::And(
            cs.iter()
                .map(|c| resolve_cond(c, defines, depth))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(cs) => Cond::Or(
            cs.iter()
                .map(|c| resolve_cond(c, defines, depth))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Eq(a, b) => Cond::Eq(v(a)?, v(b)?),
        Cond::Ne(a, b) => Cond::Ne(v(a)?, v(b)?),
        Cond::Cmp(op, a, b) => Cond::Cmp(*op, v(a)?, v(b)?),
        Cond::Default(a, b) => Cond::Default(v(a)?, v(b)?),
        Cond::Path(_) | Cond::Lit(_) | Cond::Int(_) => cond.clone(),
    })
}

fn resolve_in(c: &mut Result<Cond, String>, defines: &HashMap<String, ParsedDefine>) {
    if let Ok(cond) = c
        && has_include(cond)
    {
        *c = resolve_cond(cond, defines, 0);
    }
}

/// [`resolve_cond`] in every condition of `conds` (their `else if`s and the blocks around
/// an `else` branch's action too): an include that is not provable becomes the reason.
pub fn resolve_conditions(conds: &mut [Condition], defines: &HashMap<String, ParsedDefine>) {
    for c in conds {
        resolve_in(&mut c.cond, defines);
        for e in &mut c.elses {
            if let Some(ec) = &mut e.cond {
                resolve_in(ec, defines);
            }
            if let Some(alt) = &mut e.alt {
                resolve_conditions(&mut alt.guards, defines);
            }
        }
    }
}

/// [`resolve_conditions`] for a document's sources and guarded entries.
pub fn resolve_reads(
    sources: &mut [Source],
    guards: &mut [Guard],
    defines: &HashMap<String, ParsedDefine>,
) {
    for s in sources {
        resolve_conditions(&mut s.conditions, defines);
    }
    for g in guards {
        resolve_conditions(&mut g.conditions, defines);
    }
}

/// [`resolve_cond`] in the branch conditions of a line's facts.
pub fn resolve_branches(branches: &mut [Branch], defines: &HashMap<String, ParsedDefine>) {
    for b in branches {
        for c in b.chain.iter_mut().flatten() {
            resolve_in(c, defines);
        }
    }
}

/// Why whether the node at `keys` (an op's pointer) renders cannot be decided from
/// `values`, if it cannot: the read that prints it (the one `route` would follow: the
/// deepest at or above `keys`, inside the define output holding it) sits in an `if`/`with`
/// whose condition is not a simple one, with no condition outside it false. Such a node is
/// unchecked for the op's recipe, and not a refusal of the recipe's other nodes (which
/// render, or not, whatever that condition says). With the message, the pointer of the
/// read's node.
pub fn undecided_guard(
    r: &Rendering,
    keys: &[String],
    values: &Value,
    template: &str,
) -> Option<(String, Vec<String>)> {
    let splice = splice_at(r, keys);
    let source = r
        .sources
        .iter()
        .filter(|s| keys.starts_with(&s.pointer))
        .filter(|s| splice.is_none_or(|sp| s.pointer.starts_with(&sp.pointer)))
        .max_by_key(|s| s.pointer.len())?;
    for c in &source.conditions {
        match &c.cond {
            Err(why) => {
                let file = source.file.as_deref().unwrap_or(template);
                let why = format!(
                    "{} is printed by `{}` at {file}:{}, inside `{}` at line {}, which is not provable from the values ({why}): whether it renders is not known, so it is not checked",
                    crate::pointer::to_pointer(keys),
                    source.action.trim(),
                    source.line,
                    c.action.trim(),
                    c.line
                );
                return Some((why, source.pointer.clone()));
            }
            Ok(cond) if super::guards::truth(cond, values) == Some(false) => return None,
            Ok(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::template::reads;
    use crate::doc::{Document, FileKind};
    use serde_json::json;

    /// The chart's defines of one helpers text, parsed as the engine parses them.
    fn defines_of(text: &str) -> HashMap<String, ParsedDefine> {
        let m = crate::doc::template::mask(text).unwrap();
        reads::defines("t/_helpers.tpl", &m, text)
            .into_iter()
            .map(|d| {
                let doc = Document::parse(&d.file, d.body.clone(), FileKind::HelmTemplate).unwrap();
                let body = crate::plan::view::DefineBody {
                    model: doc.models().into_iter().next().unwrap_or(Value::Null),
                    sources: reads::sources(&doc, 0),
                    guards: reads::guards(&doc, 0),
                    doc: std::sync::Arc::new(doc),
                    trims: d.trims,
                };
                let p = ParsedDefine {
                    name: d.name.clone(),
                    file: d.file,
                    line: d.line,
                    body: Ok(body),
                };
                (d.name, p)
            })
            .collect()
    }

    fn truth(defines: &HashMap<String, ParsedDefine>, name: &str, values: Value) -> Option<bool> {
        let c = resolve_cond(&Cond::Include(name.into()), defines, 0).unwrap();
        super::super::guards::truth(&c, &values)
    }

    #[test]
    fn a_define_of_one_values_path_through_get_and_default_decides_an_include_guard() {
        let d = defines_of(
            "{{- define \"x.secret\" -}}\n{{- $w := .Values.web | default dict -}}\n{{- $s := get $w \"existingSecret\" | default dict -}}\n{{- get $s \"name\" | default \"\" -}}\n{{- end -}}\n",
        );
        assert_eq!(
            resolve_cond(&Cond::Include("x.secret".into()), &d, 0),
            Ok(Cond::Path(vec![
                "web".into(),
                "existingSecret".into(),
                "name".into()
            ]))
        );
        assert_eq!(truth(&d, "x.secret", json!({"web": {}})), Some(false));
        assert_eq!(
            truth(
                &d,
                "x.secret",
                json!({"web": {"existingSecret": {"name": "s"}}})
            ),
            Some(true)
        );
    }

    #[test]
    fn a_define_that_chooses_between_texts_is_a_choice_of_the_values() {
        let d = defines_of(
            "{{- define \"x.mode\" -}}\n{{- if .Values.tls.enabled -}}\nhttps\n{{- else if .Values.plain -}}\n{{- else -}}\nhttp\n{{- end -}}\n{{- end -}}\n",
        );
        assert_eq!(
            truth(&d, "x.mode", json!({"tls": {"enabled": true}})),
            Some(true)
        );
        assert_eq!(truth(&d, "x.mode", json!({"plain": true})), Some(false));
        assert_eq!(truth(&d, "x.mode", json!({})), Some(true));
    }

    #[test]
    fn defines_whose_output_is_not_provably_empty_or_not_are_refused_with_the_reason() {
        let why = |text: &str, name: &str| {
            resolve_cond(&Cond::Include(name.into()), &defines_of(text), 0).unwrap_err()
        };
        // `false` prints `false`: without `default ""` the text's emptiness is the kind's.
        assert!(
            why(
                "{{- define \"a\" -}}\n{{- .Values.a -}}\n{{- end -}}\n",
                "a"
            )
            .contains("without `default \"\"`")
        );
        // The body's own line breaks print when neither its markers nor the define's trim them.
        assert!(
            why(
                "{{ define \"b\" }}\n{{ .Values.b | default \"\" }}\n{{ end }}\n",
                "b"
            )
            .contains("does not trim")
        );
        assert!(
            why("{{- define \"c\" -}}\n{{- .Values.a | default \"\" -}}-{{- .Values.b | default \"\" -}}\n{{- end -}}\n", "c")
                .contains("more than one")
        );
        assert!(
            why(
                "{{- define \"d\" -}}\n{{- range .Values.l }}x{{ end -}}\n{{- end -}}\n",
                "d"
            )
            .contains("`range` block")
        );
        assert!(why("", "missing").contains("no define \"missing\""));
    }
}
