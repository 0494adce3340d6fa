//! Which branch of each `if`/`with` block a line of a template sits in, as data: the block's
//! branch conditions in order and the branch taken by the line, the `define` it is in, and
//! which lines of a branch print anything. `plan::guards` evaluates these against values;
//! nothing here looks at values or knows about edits.

use super::expr::{parse_cond, words_of};
use super::{ActionKind, BlockKind, Masked};

pub use super::expr::{CmpOp, Cond, with_define_outputs};

/// One `if`/`with` block and one of its branches.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// 1-based line of the `if`/`with`, and its text.
    pub open_line: usize,
    pub action: String,
    /// The condition of each branch in order: the opener's, then each `else if`'s; `None`
    /// for a plain `else`. `Err` says why a condition is not a simple one.
    pub chain: Vec<Option<Result<Cond, String>>>,
    /// The branch meant (0 = the first).
    pub taken: usize,
    /// 1-based first and last line of each branch's body.
    pub bodies: Vec<(usize, usize)>,
}

/// The blocks open at 1-based `line` (outermost first; a block opened on the line itself is
/// not around it), each with the branch the line is in.
pub fn branches_at(m: &Masked, text: &str, line: usize) -> Vec<Branch> {
    branches_at_with(m, line, |b| block(m, text, b))
}

/// [`branches_at`], with each block's branches from `block` (given the block's index: what
/// [`block`] says of it, cached by a caller that asks for many lines of one file).
pub fn branches_at_with(
    m: &Masked,
    line: usize,
    mut block: impl FnMut(usize) -> Option<Branch>,
) -> Vec<Branch> {
    m.open_blocks_at_line(line)
        .into_iter()
        .filter(|&b| {
            m.blocks[b].open_line != line
                && matches!(m.blocks[b].kind, BlockKind::If | BlockKind::With)
        })
        .filter_map(|b| {
            let mut br = block(b)?;
            br.taken = taken_at(m, b, line);
            Some(br)
        })
        .collect()
}

/// The block whose opener or `else if` is the action at 1-based `line`: the block a
/// condition read decides.
pub fn decided_at(m: &Masked, text: &str, line: usize) -> Option<Branch> {
    let b = decided_block_at(m, line)?;
    let mut br = block(m, text, b)?;
    br.taken = taken_at(m, b, line);
    Some(br)
}

/// The index of the block [`decided_at`] reads, and the branch `line` takes in it.
pub fn decided_block_at(m: &Masked, line: usize) -> Option<usize> {
    let on_line = |b: &super::Block| {
        matches!(b.kind, BlockKind::If | BlockKind::With)
            && (b.open_line == line || b.else_lines.contains(&line))
    };
    // Two blocks deciding on one line: which one a read there belongs to is not known.
    if m.blocks.iter().filter(|b| on_line(b)).count() != 1 {
        return None;
    }
    m.blocks.iter().position(on_line)
}

/// The branch of block `b` that 1-based `line` is in (0 = the first).
pub fn taken_at(m: &Masked, b: usize, line: usize) -> usize {
    m.blocks[b]
        .else_lines
        .iter()
        .filter(|&&e| e <= line)
        .count()
}

/// Block `b` of `m` as a [`Branch`] (`taken` 0); `None` when its opener is not found.
pub fn block(m: &Masked, text: &str, b: usize) -> Option<Branch> {
    let blk = &m.blocks[b];
    let opener = m
        .actions
        .iter()
        .find(|a| a.line == blk.open_line && a.kind == ActionKind::Open(blk.kind))?;
    let action = text[opener.span.clone()].to_string();
    // The opener's condition with `.` resolved (a `with` inside a `with`).
    let first = super::reads::conditions_at(m, text, blk.open_line + 1)
        .into_iter()
        .find(|c| c.line == blk.open_line)
        .map(|c| c.cond)
        .or_else(|| {
            let words = words_of(&action);
            Some(parse_cond(words.get(1..).unwrap_or_default(), None))
        });
    let mut chain = vec![first];
    for &e in &blk.else_lines {
        let cond = m
            .actions
            .iter()
            .find(|a| a.line == e && a.kind == ActionKind::Else)
            .and_then(|a| {
                let words = words_of(&text[a.span.clone()]);
                (words.get(1).map(String::as_str) == Some("if"))
                    .then(|| parse_cond(words.get(2..).unwrap_or_default(), None))
            });
        chain.push(cond);
    }
    let mut starts = vec![blk.open_line];
    starts.extend(blk.else_lines.iter().copied());
    let end = blk.end_line.unwrap_or(usize::MAX);
    let bodies = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| (s + 1, starts.get(i + 1).copied().unwrap_or(end) - 1))
        .collect();
    Some(Branch {
        open_line: blk.open_line,
        action,
        chain,
        taken: 0,
        bodies,
    })
}

/// The lines of branch `i` of `b` that print something: not blank, and not only control
/// actions (`if`, `else`, `end`, comments) and blanks.
pub fn printing_lines(m: &Masked, text: &str, b: &Branch, i: usize) -> Vec<usize> {
    let Some(&(first, last)) = b.bodies.get(i) else {
        return Vec::new();
    };
    // Byte offset of line `first`: counted from the last action that starts before it (the
    // actions are in source order), not from the top of the file, for every body.
    let k = m.actions.partition_point(|a| a.line < first);
    let (from, from_line) = k
        .checked_sub(1)
        .map_or((0, 1), |j| (m.actions[j].span.start, m.actions[j].line));
    let mut start = match first - from_line {
        0 => from,
        n => match text[from..].match_indices('\n').nth(n - 1) {
            Some((i, _)) => from + i + 1,
            None => return Vec::new(),
        },
    };
    let mut out = Vec::new();
    for l in first..=last {
        let end = text[start..].find('\n').map(|n| start + n);
        let src = text[start..end.unwrap_or(text.len())].trim_end_matches('\r');
        if line_prints(m, start, src) {
            out.push(l);
        }
        match end {
            Some(n) => start = n + 1,
            None => break,
        }
    }
    out
}

/// Whether the line `src`, at byte `start`, prints: it holds an output action or text that
/// is not a control action.
fn line_prints(m: &Masked, start: usize, src: &str) -> bool {
    let mut rest = src.to_string();
    // The actions on this line (in source order, so their ends are too); blank out the
    // control actions, an output action prints.
    let i = m.actions.partition_point(|a| a.span.end <= start);
    for a in m.actions[i..]
        .iter()
        .take_while(|a| a.span.start < start + src.len())
    {
        if matches!(a.kind, ActionKind::Output) {
            return true;
        }
        let s = a.span.start.saturating_sub(start);
        let e = (a.span.end - start).min(rest.len());
        if s < e {
            rest.replace_range(s..e, &" ".repeat(e - s));
        }
    }
    !rest.trim().is_empty()
}

/// The `define` the 1-based `line` is inside, by name.
pub fn define_at(m: &Masked, text: &str, line: usize) -> Option<String> {
    m.open_blocks_at_line(line)
        .into_iter()
        .find(|&b| m.blocks[b].kind == BlockKind::Define && m.blocks[b].open_line != line)
        .and_then(|b| {
            let blk = &m.blocks[b];
            let opener = m.actions.iter().find(|a| {
                a.line == blk.open_line && a.kind == ActionKind::Open(BlockKind::Define)
            })?;
            let words = words_of(&text[opener.span.clone()]);
            super::expr::unquote(words.get(1)?)
        })
}

/// What each simple `define` of a masked file prints, as a [`Cond`] over values (by name):
/// a define whose body is nothing but `if`/`else if`/`else` blocks on simple conditions and,
/// in each branch, at most one action printing a values path (optionally `| default LIT`) or
/// a literal, with every space between actions trimmed (`{{-`, `-}}`) — external-dns's
/// `external-dns.providerName` (`.Values.provider` when it is a string, else
/// `.Values.provider.name`). Read with the root context, as `include "NAME" $` renders it;
/// other defines are left out.
pub fn simple_define_outputs(m: &Masked, text: &str) -> Vec<(String, Cond)> {
    let mut out = Vec::new();
    for b in m.blocks.iter().filter(|b| b.kind == BlockKind::Define) {
        let Some(end_line) = b.end_line else { continue };
        let Some(open) = m
            .actions
            .iter()
            .position(|a| a.line == b.open_line && a.kind == ActionKind::Open(BlockKind::Define))
        else {
            continue;
        };
        let Some(end) = m.actions.iter().rposition(|a| {
            a.line == end_line
                && a.kind == ActionKind::End
                && a.span.start >= m.actions[open].span.end
        }) else {
            continue;
        };
        let Some(name) = words_of(&text[m.actions[open].span.clone()])
            .get(1)
            .and_then(|w| super::expr::unquote(w))
        else {
            continue;
        };
        if let Some(c) = define_body_output(text, &m.actions[open..=end]) {
            out.push((name, c));
        }
    }
    out
}

/// The output of the actions strictly between `acts[0]` (the `define`) and the last (its
/// `end`); `None` when it is not a simple one (see [`simple_define_outputs`]).
fn define_body_output(text: &str, acts: &[super::Action]) -> Option<Cond> {
    // Every gap between two actions is whitespace that one of them trims.
    for w in acts.windows(2) {
        let gap = &text[w[0].span.end..w[1].span.start];
        let trimmed =
            text[w[0].span.clone()].ends_with("-}}") || text[w[1].span.clone()].starts_with("{{-");
        if !gap.is_empty() && (!gap.trim().is_empty() || !trimmed) {
            return None;
        }
    }
    // A stack of open `if`s: each branch's condition and what it printed so far.
    struct Frame {
        branches: Vec<(Cond, Option<Cond>)>,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut top: Option<Cond> = None;
    let print = |slot: &mut Option<Cond>, c: Cond| -> Option<()> {
        // Two printing actions in one branch concatenate: not one value.
        if slot.is_some() {
            return None;
        }
        *slot = Some(c);
        Some(())
    };
    for a in &acts[1..acts.len() - 1] {
        let words = words_of(&text[a.span.clone()]);
        match a.kind {
            ActionKind::Comment => {}
            ActionKind::Open(BlockKind::If) => {
                let c = parse_cond(words.get(1..)?, None).ok()?;
                stack.push(Frame {
                    branches: vec![(c, None)],
                });
            }
            ActionKind::Else => {
                let f = stack.last_mut()?;
                let c = match words.get(1).map(String::as_str) {
                    None => Cond::Lit(serde_json::Value::Bool(true)),
                    Some("if") => parse_cond(words.get(2..)?, None).ok()?,
                    Some(_) => return None,
                };
                f.branches.push((c, None));
            }
            ActionKind::End => {
                let f = stack.pop()?;
                let mut chain: Vec<(Cond, Cond)> = f
                    .branches
                    .into_iter()
                    .map(|(c, p)| {
                        (
                            c,
                            p.unwrap_or(Cond::Lit(serde_json::Value::String(String::new()))),
                        )
                    })
                    .collect();
                chain.push((
                    Cond::Lit(serde_json::Value::Bool(true)),
                    Cond::Lit(serde_json::Value::String(String::new())),
                ));
                let slot = match stack.last_mut() {
                    Some(outer) => &mut outer.branches.last_mut()?.1,
                    None => &mut top,
                };
                print(slot, Cond::Choice(chain))?;
            }
            ActionKind::Output => {
                let leaf = match words.as_slice() {
                    [w] => single_leaf(w)?,
                    [w, bar, d, lit] if bar == "|" && d == "default" => {
                        Cond::Default(Box::new(single_leaf(lit)?), Box::new(single_leaf(w)?))
                    }
                    [d, lit, w] if d == "default" => {
                        Cond::Default(Box::new(single_leaf(lit)?), Box::new(single_leaf(w)?))
                    }
                    // `COND | ternary "a" "b"` (selenium's `useKEDA`): sprig's `ternary`
                    // takes a bool; anything else stops the render (no branch holds).
                    [cond @ .., bar, t, a, b] if bar == "|" && t == "ternary" => {
                        let c = parse_cond(cond, None).ok()?;
                        let is = |v: bool| {
                            Cond::Eq(
                                Box::new(c.clone()),
                                Box::new(Cond::Lit(serde_json::Value::Bool(v))),
                            )
                        };
                        Cond::Choice(vec![
                            (is(true), single_leaf(a)?),
                            (is(false), single_leaf(b)?),
                        ])
                    }
                    _ => return None,
                };
                let slot = match stack.last_mut() {
                    Some(f) => &mut f.branches.last_mut()?.1,
                    None => &mut top,
                };
                print(slot, Cond::Print(Box::new(leaf)))?;
            }
            _ => return None,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    Some(top.unwrap_or(Cond::Lit(serde_json::Value::String(String::new()))))
}

/// A values path read from the root context, or a literal.
fn single_leaf(w: &str) -> Option<Cond> {
    match parse_cond(&[w.to_string()], None).ok()? {
        c @ (Cond::Path(_) | Cond::Lit(_) | Cond::Int(_)) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_in_an_else_branch_knows_the_branches_before_it() {
        let text = "a:\n{{- if .Values.x }}\n  b: 1\n{{- else if eq .Values.k \"y\" }}\n  b: 2\n{{- else }}\n  b: 3\n{{- end }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let at = |l| branches_at(&m, text, l);
        assert_eq!(at(3)[0].taken, 0);
        assert_eq!(at(5)[0].taken, 1);
        assert_eq!(at(7)[0].taken, 2);
        let b = &at(7)[0];
        assert_eq!(b.chain.len(), 3);
        assert!(matches!(b.chain[1], Some(Ok(Cond::Eq(_, _)))));
        assert!(b.chain[2].is_none());
        assert_eq!(b.bodies, vec![(3, 3), (5, 5), (7, 7)]);
        assert_eq!(printing_lines(&m, text, b, 1), vec![5]);
        let d = decided_at(&m, text, 2).unwrap();
        assert_eq!((d.open_line, d.taken), (2, 0));
        let two = "{{- if .Values.a }}{{- if .Values.b }}\nk: 1\n{{- end }}{{- end }}\n";
        let m = crate::doc::template::mask(two).unwrap();
        assert_eq!(decided_at(&m, two, 1), None);
    }

    #[test]
    fn printing_lines_skip_control_actions_and_blanks() {
        let text = "{{- if .Values.x }}\n\n  {{- /* c */}}\n  key: {{ .Values.x }}\n  {{- if .Values.y }}\n  {{- end }}\n{{- end }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let b = decided_at(&m, text, 1).unwrap();
        assert_eq!(printing_lines(&m, text, &b, 0), vec![4]);
    }

    #[test]
    fn a_define_that_prints_a_values_path_under_simple_ifs_is_a_choice() {
        // external-dns's `_helpers.tpl`.
        let text = "{{- define \"x.providerName\" -}}\n{{- if eq (typeOf .Values.provider) \"string\" }}\n{{- .Values.provider }}\n{{- else }}\n{{- .Values.provider.name }}\n{{- end }}\n{{- end }}\n{{- define \"x.two\" -}}\n{{ .Values.a }}-{{ .Values.b }}\n{{- end }}\n{{- define \"x.spaced\" }}\n{{ .Values.a }}\n{{- end }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        let outs = simple_define_outputs(&m, text);
        // `x.two` prints two values, `x.spaced` a line break before its value.
        assert_eq!(outs.len(), 1, "{outs:?}");
        let (name, c) = &outs[0];
        assert_eq!(name, "x.providerName");
        let Cond::Choice(chain) = c else {
            panic!("{c:?}")
        };
        assert_eq!(chain.len(), 3);
        assert!(matches!(&chain[0].0, Cond::Eq(a, _) if matches!(**a, Cond::TypeOf(_))));
        assert_eq!(
            chain[1].1,
            Cond::Print(Box::new(Cond::Path(vec!["provider".into(), "name".into()])))
        );
    }

    #[test]
    fn the_define_a_line_is_in_is_named() {
        let text = "{{- define \"x.probe\" -}}\n{{- with .Values.p }}\nk: {{ . }}\n{{- end }}\n{{- end }}\n";
        let m = crate::doc::template::mask(text).unwrap();
        assert_eq!(define_at(&m, text, 3).as_deref(), Some("x.probe"));
        assert_eq!(define_at(&m, text, 1), None);
    }
}
