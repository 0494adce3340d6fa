//! A structural parser over the tokens: checks that `if`/`fi`, `do`/`done`, `case`/`esac`,
//! braces and parentheses nest, that operators have commands on both sides and that
//! redirections have targets, and collects every simple command (with its words and
//! redirections as byte spans) for the editor. Commands inside `$( )` are part of a word
//! and are not collected. [`analyse`] lexes and parses a script (or folded arguments, one
//! command of words) for both the editor and the internal syntax check.

use super::ShellError;
use super::lex::{Kind, Op, Token, lex};

/// What a simple command is made of, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// `NAME=value` before the command name.
    Assign,
    Word,
    /// A redirection: the operator and its target word.
    Redir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub kind: ItemKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleCmd {
    pub items: Vec<Item>,
    /// Byte offset of whatever ended the command (operator, newline, end of script).
    pub term: usize,
}

/// A parse error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub pos: usize,
    pub message: String,
}

type Res<T> = Result<T, ParseError>;

const MAX_DEPTH: usize = 150;

/// Parses the tokens (comments and heredoc bodies are ignored) and returns the simple
/// commands in source order.
pub(crate) fn parse(src: &str, tokens: &[Token]) -> Res<Vec<SimpleCmd>> {
    let toks: Vec<Token> = tokens
        .iter()
        .copied()
        .filter(|t| !matches!(t.kind, Kind::Comment | Kind::HeredocBody))
        .collect();
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
        cmds: Vec::new(),
    };
    p.list(&Stop::NONE)?;
    if let Some(t) = p.peek() {
        return Err(p.unexpected(t));
    }
    Ok(p.cmds)
}

/// Where a list ends.
struct Stop {
    words: &'static [&'static str],
    rparen: bool,
    case_end: bool,
}

impl Stop {
    const NONE: Stop = Stop {
        words: &[],
        rparen: false,
        case_end: false,
    };
    const fn words(words: &'static [&'static str]) -> Stop {
        Stop {
            words,
            rparen: false,
            case_end: false,
        }
    }
}

/// Reserved words that cannot start a command.
const RESERVED: &[&str] = &["then", "elif", "else", "fi", "do", "done", "esac", "}"];

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    cmds: Vec<SimpleCmd>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.toks.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<Token> {
        self.toks.get(self.i + k).copied()
    }

    fn text(&self, t: Token) -> &str {
        self.src.get(t.start..t.end).unwrap_or("")
    }

    fn is_word(&self, t: Option<Token>, w: &str) -> bool {
        matches!(t, Some(t) if t.kind == Kind::Word && self.text(t) == w)
    }

    fn is_op(t: Option<Token>, op: Op) -> bool {
        matches!(t, Some(t) if t.kind == Kind::Op(op))
    }

    fn unexpected(&self, t: Token) -> ParseError {
        let shown = match t.kind {
            Kind::Op(Op::Newline) => "newline".to_string(),
            _ => format!("`{}`", self.text(t)),
        };
        ParseError {
            pos: t.start,
            message: format!("syntax error near unexpected token {shown}"),
        }
    }

    fn eof(&self, what: &str) -> ParseError {
        ParseError {
            pos: self.src.len(),
            message: format!("unexpected end of script: expected {what}"),
        }
    }

    fn expect_word(&mut self, w: &str) -> Res<()> {
        match self.peek() {
            Some(t) if t.kind == Kind::Word && self.text(t) == w => {
                self.i += 1;
                Ok(())
            }
            Some(t) => Err(self.unexpected(t)),
            None => Err(self.eof(&format!("`{w}`"))),
        }
    }

    fn skip_newlines(&mut self) {
        while Self::is_op(self.peek(), Op::Newline) {
            self.i += 1;
        }
    }

    fn at_stop(&self, stop: &Stop) -> bool {
        let t = self.peek();
        (stop.rparen && Self::is_op(t, Op::RParen))
            || (stop.case_end && Self::is_op(t, Op::CaseEnd))
            || stop.words.iter().any(|w| self.is_word(t, w))
    }

    /// A list of and-or lists separated by `;`, `&` or newlines, up to `stop`. Returns the
    /// number of and-or lists read.
    fn list(&mut self, stop: &Stop) -> Res<usize> {
        let mut n = 0;
        loop {
            self.skip_newlines();
            if self.peek().is_none() || self.at_stop(stop) {
                return Ok(n);
            }
            self.and_or()?;
            n += 1;
            match self.peek() {
                Some(t) if matches!(t.kind, Kind::Op(Op::Semi | Op::Amp | Op::Newline)) => {
                    self.i += 1;
                }
                None => return Ok(n),
                Some(_) if self.at_stop(stop) => return Ok(n),
                Some(t) => return Err(self.unexpected(t)),
            }
        }
    }

    /// A list that must not be empty, followed by `close`.
    fn body(&mut self, stop: &Stop, close_what: &str) -> Res<()> {
        let start = self.peek();
        if self.list(stop)? == 0 {
            return Err(match start {
                Some(t) => self.unexpected(t),
                None => self.eof(close_what),
            });
        }
        Ok(())
    }

    fn and_or(&mut self) -> Res<()> {
        self.pipeline()?;
        while Self::is_op(self.peek(), Op::AndIf) || Self::is_op(self.peek(), Op::OrIf) {
            self.i += 1;
            self.skip_newlines();
            self.pipeline()?;
        }
        Ok(())
    }

    fn pipeline(&mut self) -> Res<()> {
        let mut prefixed = false;
        if self.is_word(self.peek(), "!") {
            self.i += 1;
            prefixed = true;
        }
        if self.is_word(self.peek(), "time") {
            self.i += 1;
            prefixed = true;
            if self.is_word(self.peek(), "-p") {
                self.i += 1;
            }
        }
        // bash accepts a bare `!` or `time` (an empty pipeline).
        let ends = match self.peek() {
            None => true,
            Some(t) => matches!(
                t.kind,
                Kind::Op(Op::Newline | Op::Semi | Op::Amp | Op::AndIf | Op::OrIf)
            ),
        };
        if prefixed && ends {
            return Ok(());
        }
        self.command()?;
        while Self::is_op(self.peek(), Op::Pipe) {
            self.i += 1;
            self.skip_newlines();
            self.command()?;
        }
        Ok(())
    }

    fn command(&mut self) -> Res<()> {
        let Some(t) = self.peek() else {
            return Err(self.eof("a command"));
        };
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                pos: t.start,
                message: "commands nested too deeply".to_string(),
            });
        }
        self.depth += 1;
        let r = self.command_inner(t);
        self.depth -= 1;
        r
    }

    fn command_inner(&mut self, t: Token) -> Res<()> {
        match t.kind {
            Kind::Op(Op::LParen) => {
                match self.peek_at(1) {
                    Some(n) if n.kind == Kind::Op(Op::LParen) && n.start == t.end => {
                        self.balanced_parens()?;
                    }
                    _ => {
                        self.i += 1;
                        self.body(
                            &Stop {
                                words: &[],
                                rparen: true,
                                case_end: false,
                            },
                            "`)`",
                        )?;
                        match self.peek() {
                            Some(c) if c.kind == Kind::Op(Op::RParen) => self.i += 1,
                            Some(c) => return Err(self.unexpected(c)),
                            None => return Err(self.eof("`)`")),
                        }
                    }
                }
                self.redirections()
            }
            Kind::Word => {
                match self.text(t) {
                    "if" => self.if_clause()?,
                    "while" | "until" => {
                        self.i += 1;
                        self.body(&Stop::words(&["do"]), "`do`")?;
                        self.do_group()?;
                    }
                    "for" | "select" => self.for_clause()?,
                    "case" => self.case_clause()?,
                    "{" => {
                        self.i += 1;
                        self.body(&Stop::words(&["}"]), "`}`")?;
                        self.expect_word("}")?;
                    }
                    "[[" => {
                        self.i += 1;
                        loop {
                            match self.peek() {
                                None => return Err(self.eof("`]]`")),
                                Some(w) => {
                                    self.i += 1;
                                    if w.kind == Kind::Word && self.text(w) == "]]" {
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    "function" => {
                        self.i += 1;
                        match self.peek() {
                            Some(n) if n.kind == Kind::Word => self.i += 1,
                            Some(n) => return Err(self.unexpected(n)),
                            None => return Err(self.eof("a function name")),
                        }
                        if Self::is_op(self.peek(), Op::LParen) {
                            self.i += 1;
                            match self.peek() {
                                Some(c) if c.kind == Kind::Op(Op::RParen) => self.i += 1,
                                Some(c) => return Err(self.unexpected(c)),
                                None => return Err(self.eof("`)`")),
                            }
                        }
                        self.skip_newlines();
                        return self.command();
                    }
                    w if RESERVED.contains(&w) => return Err(self.unexpected(t)),
                    _ => return self.simple(),
                }
                self.redirections()
            }
            Kind::Redir => self.simple(),
            _ => Err(self.unexpected(t)),
        }
    }

    /// `(( … ))` and the `((…))` of an arithmetic `for`: skips tokens to the matching `)`.
    fn balanced_parens(&mut self) -> Res<()> {
        let mut open = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.eof("`))`")),
                Some(t) => {
                    self.i += 1;
                    match t.kind {
                        Kind::Op(Op::LParen) => open += 1,
                        Kind::Op(Op::RParen) => {
                            open = open.saturating_sub(1);
                            if open == 0 {
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn redirections(&mut self) -> Res<()> {
        while matches!(self.peek(), Some(t) if t.kind == Kind::Redir) {
            self.i += 1;
            self.redir_target()?;
        }
        Ok(())
    }

    fn redir_target(&mut self) -> Res<Token> {
        match self.peek() {
            Some(t) if t.kind == Kind::Word => {
                self.i += 1;
                Ok(t)
            }
            Some(t) => Err(self.unexpected(t)),
            None => Err(self.eof("a redirection target")),
        }
    }

    fn do_group(&mut self) -> Res<()> {
        self.expect_word("do")?;
        self.body(&Stop::words(&["done"]), "`done`")?;
        self.expect_word("done")
    }

    fn if_clause(&mut self) -> Res<()> {
        self.i += 1;
        self.body(&Stop::words(&["then"]), "`then`")?;
        self.expect_word("then")?;
        self.body(&Stop::words(&["elif", "else", "fi"]), "`fi`")?;
        while self.is_word(self.peek(), "elif") {
            self.i += 1;
            self.body(&Stop::words(&["then"]), "`then`")?;
            self.expect_word("then")?;
            self.body(&Stop::words(&["elif", "else", "fi"]), "`fi`")?;
        }
        if self.is_word(self.peek(), "else") {
            self.i += 1;
            self.body(&Stop::words(&["fi"]), "`fi`")?;
        }
        self.expect_word("fi")
    }

    fn for_clause(&mut self) -> Res<()> {
        self.i += 1;
        match self.peek() {
            Some(t) if t.kind == Kind::Op(Op::LParen) => {
                self.balanced_parens()?;
                if Self::is_op(self.peek(), Op::Semi) {
                    self.i += 1;
                }
            }
            Some(t) if t.kind == Kind::Word => {
                self.i += 1;
                self.skip_newlines();
                if self.is_word(self.peek(), "in") {
                    self.i += 1;
                    while matches!(self.peek(), Some(w) if w.kind == Kind::Word) {
                        self.i += 1;
                    }
                    match self.peek() {
                        Some(s) if matches!(s.kind, Kind::Op(Op::Semi | Op::Newline)) => {
                            self.i += 1
                        }
                        Some(s) => return Err(self.unexpected(s)),
                        None => return Err(self.eof("`do`")),
                    }
                } else if Self::is_op(self.peek(), Op::Semi) {
                    self.i += 1;
                }
            }
            Some(t) => return Err(self.unexpected(t)),
            None => return Err(self.eof("a loop variable")),
        }
        self.skip_newlines();
        self.do_group()
    }

    fn case_clause(&mut self) -> Res<()> {
        self.i += 1;
        match self.peek() {
            Some(t) if t.kind == Kind::Word => self.i += 1,
            Some(t) => return Err(self.unexpected(t)),
            None => return Err(self.eof("a word after `case`")),
        }
        self.skip_newlines();
        self.expect_word("in")?;
        loop {
            self.skip_newlines();
            if self.is_word(self.peek(), "esac") {
                self.i += 1;
                return Ok(());
            }
            if Self::is_op(self.peek(), Op::LParen) {
                self.i += 1;
            }
            loop {
                match self.peek() {
                    Some(t) if t.kind == Kind::Word => self.i += 1,
                    Some(t) => return Err(self.unexpected(t)),
                    None => return Err(self.eof("`esac`")),
                }
                if Self::is_op(self.peek(), Op::Pipe) {
                    self.i += 1;
                } else {
                    break;
                }
            }
            match self.peek() {
                Some(t) if t.kind == Kind::Op(Op::RParen) => self.i += 1,
                Some(t) => return Err(self.unexpected(t)),
                None => return Err(self.eof("`)`")),
            }
            self.list(&Stop {
                words: &["esac"],
                rparen: false,
                case_end: true,
            })?;
            match self.peek() {
                Some(t) if t.kind == Kind::Op(Op::CaseEnd) => self.i += 1,
                Some(_) if self.is_word(self.peek(), "esac") => {}
                Some(t) => return Err(self.unexpected(t)),
                None => return Err(self.eof("`esac`")),
            }
        }
    }

    fn simple(&mut self) -> Res<()> {
        let mut items = Vec::new();
        let mut named = false;
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::Word => {
                    self.i += 1;
                    if !named && is_assignment(self.text(t)) {
                        items.push(Item {
                            kind: ItemKind::Assign,
                            start: t.start,
                            end: t.end,
                        });
                        continue;
                    }
                    if !named
                        && Self::is_op(self.peek(), Op::LParen)
                        && Self::is_op(self.peek_at(1), Op::RParen)
                        && items.is_empty()
                    {
                        // `name() compound-command`
                        self.i += 2;
                        self.skip_newlines();
                        return self.command();
                    }
                    named = true;
                    items.push(Item {
                        kind: ItemKind::Word,
                        start: t.start,
                        end: t.end,
                    });
                }
                Kind::Redir => {
                    self.i += 1;
                    let target = self.redir_target()?;
                    items.push(Item {
                        kind: ItemKind::Redir,
                        start: t.start,
                        end: target.end,
                    });
                }
                _ => break,
            }
        }
        if items.is_empty() {
            return Err(match self.peek() {
                Some(t) => self.unexpected(t),
                None => self.eof("a command"),
            });
        }
        let term = self.peek().map_or(self.src.len(), |t| t.start);
        self.cmds.push(SimpleCmd { items, term });
        Ok(())
    }
}

/// `NAME=…`, `NAME+=…`, `NAME[i]=…`.
pub(crate) fn is_assignment(word: &str) -> bool {
    let b = word.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    let mut j = 1;
    while matches!(b.get(j), Some(c) if c.is_ascii_alphanumeric() || *c == b'_') {
        j += 1;
    }
    if b.get(j) == Some(&b'[') {
        match b[j..].iter().position(|&c| c == b']') {
            Some(p) => j += p + 1,
            None => return false,
        }
    }
    if b.get(j) == Some(&b'+') {
        j += 1;
    }
    b.get(j) == Some(&b'=')
}

/// The internal structural check: quotes and substitutions close, compound commands nest,
/// operators have commands on both sides, redirections have targets, heredocs are read.
/// Meant to be weaker than bash's parser, never stronger: it accepts some scripts bash
/// rejects, and a differential property test (tests/shell_edits.rs) checks that it rejects
/// none that `bash -n` accepts.
pub fn check_syntax_internal(script: &str) -> Result<(), ShellError> {
    analyse(script, false).map(|_| ())
}

pub(super) fn text(src: &str, start: usize, end: usize) -> &str {
    src.get(start..end).unwrap_or("")
}

/// The simple commands of a script (for folded arguments: one command of all the words).
pub(super) struct Analysis {
    pub(super) cmds: Vec<SimpleCmd>,
}

pub(super) fn analyse(src: &str, folded: bool) -> Result<Analysis, ShellError> {
    let lexed = lex(src, folded);
    if let Some(e) = lexed.error {
        return Err(ShellError::at(src, e.pos, e.message));
    }
    if folded {
        if let Some(t) = lexed.tokens.iter().find(|t| t.kind != Kind::Word) {
            let what = if t.kind == Kind::Comment {
                "a `#` comment (its words would become arguments)".to_string()
            } else {
                format!("the shell operator `{}`", text(src, t.start, t.end))
            };
            return Err(ShellError::at(
                src,
                t.start,
                format!("folded arguments contain {what}: refusing to edit them"),
            ));
        }
        let items: Vec<Item> = lexed
            .tokens
            .iter()
            .map(|t| Item {
                kind: ItemKind::Word,
                start: t.start,
                end: t.end,
            })
            .collect();
        return Ok(Analysis {
            cmds: vec![SimpleCmd {
                items,
                term: src.len(),
            }],
        });
    }
    let cmds = parse(src, &lexed.tokens).map_err(|e| ShellError::at(src, e.pos, e.message))?;
    Ok(Analysis { cmds })
}

#[cfg(test)]
mod tests {
    use super::super::lex::lex;
    use super::*;

    fn check(src: &str) -> Result<Vec<SimpleCmd>, ParseError> {
        let lexed = lex(src, false);
        assert_eq!(lexed.error, None);
        parse(src, &lexed.tokens)
    }

    #[test]
    fn shell_parse_accepts_compound_commands() {
        for src in [
            "if a; then b; elif c; then d; else e; fi",
            "for i in 1 2 3; do echo $i; done",
            "for i\ndo echo; done",
            "for ((i=0; i<3; i++)); do echo; done",
            "while true; do break; done > log 2>&1",
            "case $x in a|b) echo;; (c) ;; *) x ;& esac",
            "f() { echo; }\nfunction g { echo; }",
            "a && b || { c; d; } | e &",
            "( cd x && make ) && (( i++ ))",
            "[[ ( $a == b ) && -n $c ]] && echo",
            "X=1 Y=(a b) cmd >out <in",
            "! true\ntime -p sleep 1\n!\ntime; !",
            "cat <<EOF\n(fi\nEOF\n",
        ] {
            assert!(check(src).is_ok(), "{src}: {:?}", check(src));
        }
    }

    #[test]
    fn shell_parse_rejects_broken_structure() {
        for src in [
            "if a; then b",
            "if a; then fi",
            "for i in 1; do echo",
            "a &&",
            "| a",
            "a ;;",
            "echo )",
            "{ echo; ",
            "case x in a) echo",
            "cat >",
            "fi",
            "done",
        ] {
            assert!(check(src).is_err(), "{src} should not parse");
        }
    }

    #[test]
    fn shell_parse_collects_simple_commands_in_bodies() {
        let cmds = check("for i in 1; do\n  A=1 helm x >f && break || {\n echo; }\ndone").unwrap();
        assert_eq!(cmds.len(), 3);
        let kinds: Vec<ItemKind> = cmds[0].items.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                ItemKind::Assign,
                ItemKind::Word,
                ItemKind::Word,
                ItemKind::Redir
            ]
        );
    }

    #[test]
    fn shell_parse_assignment_words() {
        assert!(is_assignment("A=1"));
        assert!(is_assignment("a_b+=x"));
        assert!(is_assignment("arr[1]=x"));
        assert!(!is_assignment("--a=b"));
        assert!(!is_assignment("1A=b"));
    }
}
