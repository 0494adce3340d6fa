//! Argument-level edits of shell commands and the lint: pure functions on script text. The
//! edited script's syntax check is asked of the caller's [`ScriptCheck`]; nothing here starts
//! a process itself.

use super::bash_check::BashCheck;
use super::lex::{Kind, lex, unquote};
use super::parse::{Analysis, Item, ItemKind, SimpleCmd, analyse, text};
use super::{CommandEdit, EditResult, ScriptCheck, ShellError, ShellWarning, WarningKind, line_of};

/// Edits every invocation of `command` (matched by its leading words after `NAME=value`
/// prefixes, e.g. `["helm", "upgrade"]`) in `script`, applying `edits` in order.
///
/// Simple commands at any depth are matched (inside `if`/`for`/`while`/`case`/`{ }`/`( )`,
/// after `&&`/`||`/`;`/`|`); commands inside `$( )`/backquotes and heredoc bodies are never
/// matched nor touched. Fails, naming the line, when the script does not parse, when a
/// matched command has a broken continuation ([`WarningKind::CommentAfterContinuation`]),
/// when a flag to set occurs several times with other values, or when the result would not
/// pass [`super::check_syntax`] (`bash -n`, see [`edit_commands_with`]).
pub fn edit_commands(
    script: &str,
    command: &[&str],
    edits: &[CommandEdit],
) -> Result<EditResult, ShellError> {
    edit_commands_with(script, command, edits, &BashCheck)
}

/// [`edit_commands`] with the scripts checked by `checks`.
pub fn edit_commands_with(
    script: &str,
    command: &[&str],
    edits: &[CommandEdit],
    checks: &dyn ScriptCheck,
) -> Result<EditResult, ShellError> {
    if command.is_empty() {
        return Err(ShellError::new(
            "no command to match: give its leading words",
        ));
    }
    edit_impl(script, command, edits, false, checks)
}

/// Edits a folded (`>`/`>-`) YAML scalar that holds one command's arguments, such as the k3d
/// action's `args`: newlines are plain separators there (YAML folds them into spaces), so new
/// flags go on a new line with the last line's indentation, no `\`. Such a string reaches no
/// shell parser: operators, redirections, comments and backslashes at line ends in it are
/// refused (see [`lint`]), and so are values that would need quoting.
pub fn edit_folded_args(args: &str, edits: &[CommandEdit]) -> Result<EditResult, ShellError> {
    edit_folded_args_with(args, edits, &BashCheck)
}

/// [`edit_folded_args`] with the result checked by `checks`.
pub fn edit_folded_args_with(
    args: &str,
    edits: &[CommandEdit],
    checks: &dyn ScriptCheck,
) -> Result<EditResult, ShellError> {
    edit_impl(args, &[], edits, true, checks)
}

/// The leading `n` words of every simple command of `script` (after `NAME=value` prefixes;
/// cut at the first word that is not a literal), in source order — what [`edit_commands`]
/// matches against. `None` when the script does not parse.
pub fn command_heads(script: &str, n: usize) -> Option<Vec<Vec<String>>> {
    let analysis = analyse(script, false).ok()?;
    let heads = analysis
        .cmds
        .iter()
        .map(|c| {
            c.items
                .iter()
                .filter(|i| i.kind == ItemKind::Word)
                .take(n)
                .map_while(|i| literal(text(script, i.start, i.end)))
                .collect()
        })
        .collect();
    Some(heads)
}

/// Finds the two seed bug patterns: a comment after a `\` continuation (`--atomic=false \  #
/// comment`, or a comment line between continued lines), and — when `folded` (the text is a
/// folded `>` scalar passed as arguments) — a `#` comment, whose words become arguments.
/// Also flags a `\` followed by trailing blanks, and a `\` at the end of a folded line.
pub fn lint(script: &str, folded: bool) -> Vec<ShellWarning> {
    let lexed = lex(script, folded);
    let toks = &lexed.tokens;
    let mut out = Vec::new();
    let warn = |out: &mut Vec<ShellWarning>, pos: usize, kind: WarningKind, message: &str| {
        out.push(ShellWarning {
            line: line_of(script, pos),
            kind,
            message: message.to_string(),
        })
    };
    if folded {
        for t in toks.iter().filter(|t| t.kind == Kind::Comment) {
            warn(
                &mut out,
                t.start,
                WarningKind::CommentInFoldedArgs,
                "`#` in a folded (`>`) scalar is not a comment: its words are passed as arguments",
            );
        }
        let mut pos = 0;
        for line in script.split_inclusive('\n') {
            if line.trim_end().ends_with('\\') {
                warn(
                    &mut out,
                    pos,
                    WarningKind::BackslashInFoldedArgs,
                    "`\\` at the end of a line of a folded scalar is no continuation: YAML folds the newline into a space",
                );
            }
            pos += line.len();
        }
        out.sort_by_key(|w| w.line);
        return out;
    }
    for (k, t) in toks.iter().enumerate() {
        let prev = k.checked_sub(1).and_then(|p| toks.get(p));
        let prev_end = prev.map_or(0, |p| p.end);
        match t.kind {
            Kind::Comment => {
                let gap = text(script, prev_end, t.start);
                let escaped_blank = prev.is_some_and(|p| {
                    p.kind == Kind::Word
                        && !gap.contains('\n')
                        && ends_with_escaped_blank(text(script, p.start, p.end))
                });
                if escaped_blank {
                    warn(
                        &mut out,
                        t.start,
                        WarningKind::CommentAfterContinuation,
                        "comment after `\\`: the backslash escapes a blank, not the newline, so the command ends on this line and the next lines run as a separate command; move the comment above the command",
                    );
                } else if gap.contains("\\\n") {
                    warn(
                        &mut out,
                        t.start,
                        WarningKind::CommentAfterContinuation,
                        "comment line inside a `\\`-continued command: the command ends here and the next lines run as a separate command; move the comment above the command",
                    );
                }
            }
            Kind::Word => {
                let raw = text(script, t.start, t.end);
                let rest = text(script, t.end, script.len());
                let line_rest = rest.split('\n').next().unwrap_or("");
                if ends_with_escaped_blank(raw) && line_rest.trim().is_empty() {
                    warn(
                        &mut out,
                        t.start,
                        WarningKind::BlankAfterBackslash,
                        "`\\` followed by trailing blanks is no line continuation: the command ends on this line",
                    );
                }
            }
            _ => {}
        }
    }
    out
}

fn ends_with_escaped_blank(raw: &str) -> bool {
    let b = raw.as_bytes();
    if b.len() < 2 || !matches!(b[b.len() - 1], b' ' | b'\t') || b[b.len() - 2] != b'\\' {
        return false;
    }
    // The backslash must itself be unescaped: count the run of backslashes.
    let run = b[..b.len() - 1]
        .iter()
        .rev()
        .take_while(|&&c| c == b'\\')
        .count();
    run % 2 == 1
}

/// The literal value of a word (quotes removed), if it has no expansion.
fn literal(raw: &str) -> Option<String> {
    let (bytes, complete) = unquote(raw.as_bytes());
    complete.then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// The literal text of a word up to its first expansion.
fn literal_prefix(raw: &str) -> String {
    String::from_utf8_lossy(&unquote(raw.as_bytes()).0).into_owned()
}

/// Characters that never need quoting in a word.
fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)
}

/// `value` as one literal shell word: bare when safe, else single-quoted — or, when it holds
/// `$` or `` ` ``, double-quoted with those escaped (same literal, and shellcheck does not
/// take it for an expansion that was meant to happen, SC2016).
fn quote(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_safe) {
        value.to_string()
    } else if value.contains(['$', '`']) {
        let mut out = String::with_capacity(value.len() + 4);
        out.push('"');
        for c in value.chars() {
            if matches!(c, '$' | '`' | '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn check_flag_name(name: &str) -> Result<(), ShellError> {
    if name.is_empty() || name.contains('=') || !name.chars().all(is_safe) {
        return Err(ShellError::new(format!(
            "`{name}` is not a plain flag name (letters, digits and `_@%+:,./-`, no `=`)"
        )));
    }
    Ok(())
}

/// A matched command, seen as argv.
struct Invocation<'a> {
    src: &'a str,
    cmd: &'a SimpleCmd,
    /// Indices into `cmd.items` of the words after the command's leading words, before `--`.
    args: Vec<usize>,
    /// Index into `cmd.items` of a `--` end-of-options word.
    dashdash: Option<usize>,
    /// Index into `cmd.items` of the last word before `--` (where new flags go).
    anchor: Option<usize>,
}

enum Occurrence {
    /// `--name` (at position `pos` of `args`).
    Bare(usize),
    /// `--name=value` (value: its literal, if it has no expansion).
    Eq(usize, Option<String>),
}

impl<'a> Invocation<'a> {
    fn new(src: &'a str, cmd: &'a SimpleCmd, command: &[&str]) -> Option<Self> {
        let words: Vec<usize> = (0..cmd.items.len())
            .filter(|&k| cmd.items[k].kind == ItemKind::Word)
            .collect();
        if words.len() < command.len() {
            return None;
        }
        for (&k, want) in words.iter().zip(command) {
            if literal(text(src, cmd.items[k].start, cmd.items[k].end)).as_deref() != Some(*want) {
                return None;
            }
        }
        let mut args = Vec::new();
        let mut dashdash = None;
        let mut anchor = words.get(command.len().wrapping_sub(1)).copied();
        for &k in &words[command.len()..] {
            if literal(text(src, cmd.items[k].start, cmd.items[k].end)).as_deref() == Some("--") {
                dashdash = Some(k);
                break;
            }
            args.push(k);
            anchor = Some(k);
        }
        Some(Invocation {
            src,
            cmd,
            args,
            dashdash,
            anchor,
        })
    }

    fn item(&self, k: usize) -> Item {
        self.cmd.items[k]
    }

    fn raw(&self, k: usize) -> &'a str {
        let it = self.cmd.items[k];
        text(self.src, it.start, it.end)
    }

    fn occurrences(&self, name: &str) -> Vec<Occurrence> {
        let eq = format!("{name}=");
        let mut out = Vec::new();
        for (pos, &k) in self.args.iter().enumerate() {
            let raw = self.raw(k);
            if literal(raw).as_deref() == Some(name) {
                out.push(Occurrence::Bare(pos));
            } else if literal_prefix(raw).starts_with(&eq) {
                let value = literal(raw).map(|l| l[eq.len()..].to_string());
                out.push(Occurrence::Eq(pos, value));
            }
        }
        out
    }

    /// The word after the flag at `args[pos]`, if it looks like a value (does not start
    /// with `-`, or is `-`).
    fn value_after(&self, pos: usize) -> Option<usize> {
        let k = *self.args.get(pos + 1)?;
        let prefix = literal_prefix(self.raw(k));
        (!prefix.starts_with('-') || prefix == "-").then_some(k)
    }

    /// The literal of the word after the flag at `args[pos]`, whatever it looks like.
    fn literal_after(&self, pos: usize) -> Option<String> {
        let k = *self.args.get(pos + 1)?;
        literal(self.raw(k))
    }

    /// Whether the command spans several lines.
    fn multiline(&self) -> bool {
        let (Some(first), Some(last)) = (self.cmd.items.first(), self.cmd.items.last()) else {
            return false;
        };
        text(self.src, first.start, last.end).contains('\n')
    }

    /// The splice that adds `flag` (already quoted text) to the command.
    fn add(&self, flag: &str, folded: bool) -> Splice {
        if let Some(k) = self.dashdash {
            let at = self.item(k).start;
            return Splice::insert(at, format!("{flag} "));
        }
        let Some(anchor) = self.anchor else {
            return Splice::insert(0, flag.to_string());
        };
        let at = self.item(anchor).end;
        if !self.multiline() {
            return Splice::insert(at, format!(" {flag}"));
        }
        let first_line = line_start(self.src, self.cmd.items.first().map_or(0, |i| i.start));
        let anchor_line = line_start(self.src, at);
        let indent_line = if folded || anchor_line != first_line {
            anchor_line
        } else {
            // The anchor is on the command's first line: use the first continued line.
            text(self.src, first_line, self.src.len())
                .find('\n')
                .map_or(self.src.len(), |p| first_line + p + 1)
        };
        let indent: String = text(self.src, indent_line, self.src.len())
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if folded {
            return Splice::insert(at, format!("\n{indent}{flag}"));
        }
        Splice::insert(at, format!(" \\\n{indent}{flag}"))
    }

    /// The splice that removes items `a..=b` (and the layout around them).
    fn remove(&self, a: usize, b: usize) -> Splice {
        let items = &self.cmd.items;
        let first = items[a].start;
        let last = items[b].end;
        let next = items.get(b + 1).map(|n| n.start);
        let next_same_line = next.filter(|&n| !text(self.src, last, n).contains('\n'));
        let ls = line_start(self.src, first);
        let first_on_line = text(self.src, ls, first)
            .chars()
            .all(|c| c == ' ' || c == '\t');
        let prev_end = a.checked_sub(1).map(|p| items[p].end);
        match (first_on_line, next_same_line, prev_end) {
            (true, Some(n), _) => Splice::delete(first, n),
            (_, _, Some(p)) => Splice::delete(p, last),
            (_, Some(n), None) => Splice::delete(first, n),
            (_, None, None) => Splice::delete(first, next.unwrap_or(last)),
        }
    }
}

/// The start of the line holding byte `pos`.
fn line_start(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1)
}

/// Replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

impl Splice {
    fn insert(at: usize, text: String) -> Self {
        Splice {
            start: at,
            end: at,
            text,
        }
    }
    fn delete(start: usize, end: usize) -> Self {
        Splice {
            start,
            end,
            text: String::new(),
        }
    }
    fn replace(item: Item, text: String) -> Self {
        Splice {
            start: item.start,
            end: item.end,
            text,
        }
    }
}

fn apply(src: &str, mut splices: Vec<Splice>) -> Result<String, ShellError> {
    splices.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = src.to_string();
    let mut limit = out.len();
    for s in splices {
        if s.start > s.end
            || s.end > limit
            || !out.is_char_boundary(s.start)
            || !out.is_char_boundary(s.end)
        {
            return Err(ShellError::new(
                "internal error: overlapping or misplaced edit",
            ));
        }
        out.replace_range(s.start..s.end, &s.text);
        limit = s.start;
    }
    Ok(out)
}

/// The splices of one edit on one invocation: `None` when it holds already. `RemoveFlag`
/// removes one occurrence per call (the caller repeats until none is left).
fn plan_edit(
    inv: &Invocation<'_>,
    edit: &CommandEdit,
    folded: bool,
) -> Result<Option<Vec<Splice>>, ShellError> {
    let src = inv.src;
    let value_text = |v: &str| -> Result<String, ShellError> {
        let q = quote(v);
        if folded && q != v {
            return Err(ShellError::new(format!(
                "the value `{v}` needs quoting, and folded arguments may reach their command without quote removal: refusing"
            )));
        }
        Ok(q)
    };
    match edit {
        CommandEdit::Flag { name, value } => {
            check_flag_name(name)?;
            let occ = inv.occurrences(name);
            match value {
                Some(v) => {
                    let has = occ.iter().any(|o| match o {
                        Occurrence::Bare(pos) => inv.literal_after(*pos).as_deref() == Some(v),
                        Occurrence::Eq(_, val) => val.as_deref() == Some(v),
                    });
                    if has {
                        return Ok(None);
                    }
                    let vt = value_text(v)?;
                    match occ.as_slice() {
                        [] => Ok(Some(vec![inv.add(&format!("{name} {vt}"), folded)])),
                        [Occurrence::Eq(pos, _)] => Ok(Some(vec![Splice::replace(
                            inv.item(inv.args[*pos]),
                            format!("{name}={vt}"),
                        )])),
                        [Occurrence::Bare(pos)] => match inv.value_after(*pos) {
                            Some(k) => Ok(Some(vec![Splice::replace(inv.item(k), vt)])),
                            None => Ok(Some(vec![Splice::insert(
                                inv.item(inv.args[*pos]).end,
                                format!(" {vt}"),
                            )])),
                        },
                        _ => Err(ShellError::at(
                            src,
                            inv.item(inv.args[0]).start,
                            format!(
                                "`{name}` occurs {} times in this command, none with value `{v}`: which one to set is ambiguous",
                                occ.len()
                            ),
                        )),
                    }
                }
                None => {
                    let holds = occ.iter().any(|o| match o {
                        Occurrence::Bare(_) => true,
                        Occurrence::Eq(_, val) => val.as_deref() == Some("true"),
                    });
                    if holds {
                        return Ok(None);
                    }
                    match occ.as_slice() {
                        [] => Ok(Some(vec![inv.add(name, folded)])),
                        [Occurrence::Eq(pos, _)] => Ok(Some(vec![Splice::replace(
                            inv.item(inv.args[*pos]),
                            name.clone(),
                        )])),
                        _ => Err(ShellError::at(
                            src,
                            inv.item(inv.args[0]).start,
                            format!(
                                "`{name}` occurs {} times in this command with values: which one to set is ambiguous",
                                occ.len()
                            ),
                        )),
                    }
                }
            }
        }
        CommandEdit::RemoveFlag { name, takes_value } => {
            check_flag_name(name)?;
            let Some(first) = inv.occurrences(name).into_iter().next() else {
                return Ok(None);
            };
            let (a, b) = match first {
                Occurrence::Eq(pos, _) => (inv.args[pos], inv.args[pos]),
                Occurrence::Bare(pos) => {
                    let k = inv.args[pos];
                    match inv.value_after(pos).filter(|_| *takes_value) {
                        Some(v) if v == k + 1 => (k, v),
                        Some(_) => {
                            return Err(ShellError::at(
                                src,
                                inv.item(k).start,
                                format!(
                                    "`{name}` and its value are separated by a redirection: refusing to remove them"
                                ),
                            ));
                        }
                        None => (k, k),
                    }
                }
            };
            Ok(Some(vec![inv.remove(a, b)]))
        }
        CommandEdit::ReplaceFlag { old, new } => {
            check_flag_name(old)?;
            check_flag_name(new)?;
            if old == new {
                return Ok(None);
            }
            let mut splices = Vec::new();
            for o in inv.occurrences(old) {
                match o {
                    Occurrence::Bare(pos) => {
                        splices.push(Splice::replace(inv.item(inv.args[pos]), new.clone()))
                    }
                    Occurrence::Eq(pos, _) => {
                        let it = inv.item(inv.args[pos]);
                        let raw = inv.raw(inv.args[pos]);
                        let Some(rest) = raw.strip_prefix(old.as_str()) else {
                            return Err(ShellError::at(
                                src,
                                it.start,
                                format!("`{raw}` quotes the flag name: refusing to rename it"),
                            ));
                        };
                        splices.push(Splice::replace(it, format!("{new}{rest}")));
                    }
                }
            }
            Ok((!splices.is_empty()).then_some(splices))
        }
    }
}

fn matched<'a>(src: &'a str, analysis: &'a Analysis, command: &[&str]) -> Vec<Invocation<'a>> {
    analysis
        .cmds
        .iter()
        .filter_map(|c| Invocation::new(src, c, command))
        .collect()
}

fn edit_impl(
    script: &str,
    command: &[&str],
    edits: &[CommandEdit],
    folded: bool,
    checks: &dyn ScriptCheck,
) -> Result<EditResult, ShellError> {
    let analysis = analyse(script, folded)?;
    let invocations = matched(script, &analysis, command).len();
    let warnings_before = lint(script, folded);
    if let (true, Some(w)) = (folded, warnings_before.first()) {
        return Err(ShellError {
            line: Some(w.line),
            message: format!("refusing to edit these folded arguments: {}", w.message),
        });
    }
    if !folded {
        for inv in matched(script, &analysis, command) {
            let first = line_of(script, inv.cmd.items.first().map_or(0, |i| i.start));
            let last = line_of(script, inv.cmd.term);
            if let Some(w) = warnings_before.iter().find(|w| {
                matches!(
                    w.kind,
                    WarningKind::CommentAfterContinuation | WarningKind::BlankAfterBackslash
                ) && (first..=last).contains(&w.line)
            }) {
                return Err(ShellError {
                    line: Some(w.line),
                    message: format!(
                        "this `{}` command has a broken continuation, so its arguments are not what they seem: {}",
                        command.join(" "),
                        w.message
                    ),
                });
            }
        }
    }

    let mut current = script.to_string();
    for edit in edits {
        for index in 0..invocations {
            // Re-read the script after every splice: spans move.
            for _ in 0..=current.len() {
                let analysis = analyse(&current, folded)?;
                let invs = matched(&current, &analysis, command);
                let Some(inv) = invs.get(index) else {
                    return Err(ShellError::new(
                        "internal error: an edit changed the number of matched commands",
                    ));
                };
                let Some(splices) = plan_edit(inv, edit, folded)? else {
                    break;
                };
                let once = !matches!(edit, CommandEdit::RemoveFlag { .. });
                current = apply(&current, splices)?;
                if once {
                    break;
                }
            }
        }
    }

    if current == script {
        // Nothing to change: what bash thinks of the script does not matter, and the checks
        // below would compare the script with itself. Spawning `bash -n` only for scripts
        // that change keeps a plan of many workflows from waiting on one process per step.
        return Ok(EditResult {
            script: current,
            invocations,
            changed: false,
        });
    }
    // Both `bash -n` runs start now and run side by side: the original's (refuse to edit a
    // script bash already rejects: its commands are not what they seem) and the edit's.
    let original = (!folded).then(|| checks.bash_only(script));
    let check_text = if folded {
        format!("cmd {}", current.replace('\n', " "))
    } else {
        current.clone()
    };
    let edited = checks.check(&check_text);
    if let Some(original) = original {
        original.wait_bash()?;
    }
    // Verify what we wrote.
    let after =
        analyse(&current, folded).map_err(|e| refused(&e, "the edited script does not parse"))?;
    if matched(&current, &after, command).len() != invocations {
        return Err(ShellError::new(
            "refused: the edit changed the number of matched commands",
        ));
    }
    edited
        .wait()
        .map_err(|e| refused(&e, "the edited script does not parse"))?;
    let warnings_after = lint(&current, folded);
    if warnings_after.len() > warnings_before.len() {
        let new = warnings_after.iter().find(|w| {
            !warnings_before
                .iter()
                .any(|b| b.kind == w.kind && b.message == w.message)
        });
        if let Some(w) = new.or(warnings_after.first()) {
            return Err(refused(
                &ShellError {
                    line: Some(w.line),
                    message: w.message.clone(),
                },
                "the edit would add a lint finding",
            ));
        }
    }
    let changed = current != script;
    Ok(EditResult {
        script: current,
        invocations,
        changed,
    })
}

fn refused(e: &ShellError, why: &str) -> ShellError {
    ShellError {
        line: e.line,
        message: format!("refused: {why}: {}", e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::{edit_commands, lint};
    use crate::shell::check_syntax_internal;
    use crate::shell::{CommandEdit, EditResult, ShellError, WarningKind};

    fn flag(name: &str, value: Option<&str>) -> CommandEdit {
        CommandEdit::Flag {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    fn remove(name: &str, takes_value: bool) -> CommandEdit {
        CommandEdit::RemoveFlag {
            name: name.into(),
            takes_value,
        }
    }

    fn helm(script: &str, edits: &[CommandEdit]) -> EditResult {
        match edit_commands(script, &["helm", "upgrade"], edits) {
            Ok(r) => r,
            Err(e) => panic!("{e}\n{script}"),
        }
    }

    #[test]
    fn shell_flag_is_appended_inline_on_a_single_line() {
        let r = helm("helm upgrade x ./c > log\n", &[flag("--wait", None)]);
        assert_eq!(r.script, "helm upgrade x ./c --wait > log\n");
        assert_eq!((r.invocations, r.changed), (1, true));
    }

    #[test]
    fn shell_flag_value_is_set_in_either_form() {
        let r = helm(
            "helm upgrade --timeout 300s --max=1\n",
            &[flag("--timeout", Some("600s")), flag("--max", Some("2"))],
        );
        assert_eq!(r.script, "helm upgrade --timeout 600s --max=2\n");
    }

    #[test]
    fn shell_values_needing_quotes_are_single_quoted() {
        let r = helm("helm upgrade\n", &[flag("--description", Some("it's a b"))]);
        assert_eq!(r.script, "helm upgrade --description 'it'\\''s a b'\n");
        assert!(!helm(&r.script, &[flag("--description", Some("it's a b"))]).changed);
    }

    #[test]
    fn shell_remove_flag_cleans_up_its_continued_line() {
        let src = "helm upgrade x \\\n  --atomic \\\n  --timeout 300s\n";
        let r = helm(src, &[remove("--timeout", true)]);
        assert_eq!(r.script, "helm upgrade x \\\n  --atomic\n");
        let r = helm(src, &[remove("--atomic", false)]);
        assert_eq!(r.script, "helm upgrade x \\\n  --timeout 300s\n");
        let r = helm(
            "helm upgrade x \\\n  --atomic --wait \\\n  --y\n",
            &[remove("--atomic", false)],
        );
        assert_eq!(r.script, "helm upgrade x \\\n  --wait \\\n  --y\n");
    }

    #[test]
    fn shell_flags_after_double_dash_are_not_flags() {
        let r = edit_commands(
            "kubectl exec pod -- ls --wait\n",
            &["kubectl", "exec"],
            &[flag("--wait", None), remove("--x", false)],
        )
        .unwrap();
        assert_eq!(r.script, "kubectl exec pod --wait -- ls --wait\n");
    }

    #[test]
    fn shell_unparsable_input_names_the_line() {
        let e =
            edit_commands("echo a\nif true; then\n  helm upgrade\n", &["helm"], &[]).unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = check_syntax_internal("echo ok\necho 'open\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn shell_ambiguous_repeated_flag_is_refused() {
        let e = helm_err(
            "helm upgrade --set a=1 --set b=2\n",
            &[flag("--set", Some("c=3"))],
        );
        assert!(e.message.contains("ambiguous"), "{e}");
        // …but a value already present holds.
        assert!(
            !helm(
                "helm upgrade --set a=1 --set b=2\n",
                &[flag("--set", Some("b=2"))]
            )
            .changed
        );
    }

    fn helm_err(script: &str, edits: &[CommandEdit]) -> ShellError {
        edit_commands(script, &["helm", "upgrade"], edits).unwrap_err()
    }

    #[test]
    fn shell_lint_finds_escaped_blank_before_comment() {
        let w = lint("helm x \\\n  --a \\  # no\n  --b\n", false);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].line, w[0].kind),
            (2, WarningKind::CommentAfterContinuation)
        );
        let w = lint("helm x \\\n  # no\n  --b\n", false);
        assert_eq!(
            (w[0].line, w[0].kind),
            (2, WarningKind::CommentAfterContinuation)
        );
        assert!(lint("echo a\\ b # fine\necho \\\\ # fine\n", false).is_empty());
    }
}
