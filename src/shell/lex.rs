//! Tokenizer for bash/POSIX shell scripts.
//!
//! Produces words (with their raw byte spans: quotes, escapes and `$(…)`/`${…}`/`` `…` ``
//! kept inside), operators, redirection operators, comments and heredoc bodies. Line
//! continuations (`\` + newline) between words are skipped like blanks. Nothing here
//! allocates per byte or recurses without a bound, so arbitrary input cannot panic or
//! overflow the stack.

/// Control operators. `Newline` is a command terminator like `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    AndIf,
    OrIf,
    Semi,
    /// `;;`, `;&` and `;;&`: case item terminators.
    CaseEnd,
    Pipe,
    Amp,
    LParen,
    RParen,
    Newline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Op(Op),
    /// A redirection operator, with its IO number if any (`2>&`, `>>`, `<<-`).
    Redir,
    /// `#` to the end of the line (the newline is not included).
    Comment,
    /// The lines of a here-document, up to and including its delimiter line (without the
    /// delimiter line's newline).
    HeredocBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Where and why tokenizing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub pos: usize,
    pub message: String,
}

/// The tokens read so far, and the error that stopped the tokenizer, if any.
pub(crate) struct Lexed {
    pub tokens: Vec<Token>,
    pub error: Option<LexError>,
}

/// Deepest nesting of `$(`, `${`, `"` accepted before giving up.
const MAX_DEPTH: usize = 100;

/// Tokenizes `src`. With `folded`, newlines are plain blanks (a YAML folded scalar, where
/// newlines become spaces) and no heredocs are read.
pub(crate) fn lex(src: &str, folded: bool) -> Lexed {
    let mut lexer = Lexer {
        b: src.as_bytes(),
        i: 0,
        folded,
        tokens: Vec::new(),
        pending: Vec::new(),
        expect_delim: None,
    };
    let error = lexer.run().err();
    Lexed {
        tokens: lexer.tokens,
        error,
    }
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    folded: bool,
    tokens: Vec<Token>,
    /// Heredocs whose bodies start after the next newline: (delimiter, strip leading tabs).
    pending: Vec<(Vec<u8>, bool)>,
    /// The next word is a heredoc delimiter (`true`: `<<-`).
    expect_delim: Option<bool>,
}

type Res<T> = Result<T, LexError>;

fn err<T>(pos: usize, message: &str) -> Res<T> {
    Err(LexError {
        pos,
        message: message.to_string(),
    })
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        self.tokens.push(Token { kind, start, end });
    }

    fn run(&mut self) -> Res<()> {
        loop {
            // Blanks and line continuations.
            while let Some(c) = self.at(self.i) {
                if c == b' ' || c == b'\t' || (self.folded && c == b'\n') {
                    self.i += 1;
                } else if c == b'\\' && matches!(self.at(self.i + 1), Some(b'\n') | None) {
                    // A continuation, or a lone `\` at the end of the script (bash drops it).
                    self.i = (self.i + 2).min(self.b.len());
                } else {
                    break;
                }
            }
            let Some(c) = self.at(self.i) else {
                return Ok(());
            };
            let start = self.i;
            match c {
                b'\n' => {
                    self.push(Kind::Op(Op::Newline), start, start + 1);
                    self.i += 1;
                    self.read_heredocs();
                }
                b'#' => {
                    let end = self.line_end(start);
                    self.push(Kind::Comment, start, end);
                    self.i = end;
                }
                b'&' => match self.at(start + 1) {
                    Some(b'&') => self.op(Op::AndIf, 2),
                    Some(b'>') => {
                        let n = if self.at(start + 2) == Some(b'>') {
                            3
                        } else {
                            2
                        };
                        self.push(Kind::Redir, start, start + n);
                        self.i += n;
                    }
                    _ => self.op(Op::Amp, 1),
                },
                b'|' => match self.at(start + 1) {
                    Some(b'|') => self.op(Op::OrIf, 2),
                    Some(b'&') => self.op(Op::Pipe, 2),
                    _ => self.op(Op::Pipe, 1),
                },
                b';' => match (self.at(start + 1), self.at(start + 2)) {
                    (Some(b';'), Some(b'&')) => self.op(Op::CaseEnd, 3),
                    (Some(b';'), _) | (Some(b'&'), _) => self.op(Op::CaseEnd, 2),
                    _ => self.op(Op::Semi, 1),
                },
                b'(' => self.op(Op::LParen, 1),
                b')' => self.op(Op::RParen, 1),
                b'<' | b'>' if self.at(start + 1) != Some(b'(') => {
                    let end = self.redir_op(start);
                    self.push(Kind::Redir, start, end);
                    self.i = end;
                }
                _ => self.word(start)?,
            }
        }
    }

    fn op(&mut self, op: Op, len: usize) {
        let start = self.i;
        self.push(Kind::Op(op), start, start + len);
        self.i += len;
    }

    fn line_end(&self, from: usize) -> usize {
        self.b[from.min(self.b.len())..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |p| from + p)
    }

    /// Reads a redirection operator at `i` (`<`, `<<`, `<<-`, `<<<`, `<>`, `<&`, `>`, `>>`,
    /// `>&`, `>|`) and returns its end; notes heredocs.
    fn redir_op(&mut self, i: usize) -> usize {
        let next = self.at(i + 1);
        if self.at(i) == Some(b'<') {
            match next {
                Some(b'<') => match self.at(i + 2) {
                    Some(b'<') => i + 3,
                    Some(b'-') => {
                        self.expect_delim = Some(true);
                        i + 3
                    }
                    _ => {
                        self.expect_delim = Some(false);
                        i + 2
                    }
                },
                Some(b'>') | Some(b'&') => i + 2,
                _ => i + 1,
            }
        } else {
            match next {
                Some(b'>') | Some(b'&') | Some(b'|') => i + 2,
                _ => i + 1,
            }
        }
    }

    fn word(&mut self, start: usize) -> Res<()> {
        let end = self.scan_word(start)?;
        self.i = end;
        // An IO number: `2>`, `1>&`.
        let digits = end > start && self.b[start..end].iter().all(u8::is_ascii_digit);
        if digits
            && matches!(self.at(end), Some(b'<') | Some(b'>'))
            && self.at(end + 1) != Some(b'(')
        {
            let op_end = self.redir_op(end);
            self.push(Kind::Redir, start, op_end);
            self.i = op_end;
            return Ok(());
        }
        self.push(Kind::Word, start, end);
        if let Some(strip) = self.expect_delim.take() {
            let (delim, _) = unquote(&self.b[start..end]);
            self.pending.push((delim, strip));
        }
        Ok(())
    }

    /// The end of the word starting at `start`.
    fn scan_word(&self, start: usize) -> Res<usize> {
        let mut j = start;
        // Process substitution `<(…)` / `>(…)`.
        if matches!(self.at(j), Some(b'<') | Some(b'>')) && self.at(j + 1) == Some(b'(') {
            j = self.scan_parens(j + 1, 0)?;
        }
        while let Some(c) = self.at(j) {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b')' => break,
                b'(' => {
                    // `arr=(…)`, extglob `@(…)` and friends continue the word.
                    let prev = if j > start { self.at(j - 1) } else { None };
                    if matches!(
                        prev,
                        Some(b'=') | Some(b'@') | Some(b'!') | Some(b'+') | Some(b'*') | Some(b'?')
                    ) {
                        j = self.scan_parens(j, 0)?;
                    } else {
                        break;
                    }
                }
                b'\\' if j + 1 == self.b.len() => break,
                b'\\' => j += 2,
                b'\'' => j = self.scan_single(j)?,
                b'"' => j = self.scan_double(j, 0)?,
                b'$' => j = self.scan_dollar(j, 0)?,
                b'`' => j = self.scan_backtick(j)?,
                _ => j += 1,
            }
        }
        Ok(j)
    }

    /// `i` at `'`; returns the position after the closing quote.
    fn scan_single(&self, i: usize) -> Res<usize> {
        match self.b[(i + 1).min(self.b.len())..]
            .iter()
            .position(|&c| c == b'\'')
        {
            Some(p) => Ok(i + 1 + p + 1),
            None => err(i, "unterminated single quote"),
        }
    }

    /// `i` at `$` of `$'…'`.
    fn scan_ansi(&self, i: usize) -> Res<usize> {
        let mut j = i + 2;
        while let Some(c) = self.at(j) {
            match c {
                b'\\' => j += 2,
                b'\'' => return Ok(j + 1),
                _ => j += 1,
            }
        }
        err(i, "unterminated $'…' quote")
    }

    /// `i` at `"`.
    fn scan_double(&self, i: usize, depth: usize) -> Res<usize> {
        if depth > MAX_DEPTH {
            return err(i, "quotes and substitutions nested too deeply");
        }
        let mut j = i + 1;
        while let Some(c) = self.at(j) {
            match c {
                b'\\' => j += 2,
                b'"' => return Ok(j + 1),
                // `$"` / `$'` are no quotes inside double quotes.
                b'$' if matches!(self.at(j + 1), Some(b'"') | Some(b'\'')) => j += 1,
                b'$' => j = self.scan_dollar(j, depth + 1)?,
                b'`' => j = self.scan_backtick(j)?,
                _ => j += 1,
            }
        }
        err(i, "unterminated double quote")
    }

    /// `i` at `` ` ``.
    fn scan_backtick(&self, i: usize) -> Res<usize> {
        let mut j = i + 1;
        while let Some(c) = self.at(j) {
            match c {
                b'\\' => j += 2,
                b'`' => return Ok(j + 1),
                _ => j += 1,
            }
        }
        err(i, "unterminated backquote")
    }

    /// `i` at `$`: `$(…)`, `$((…))`, `${…}`, `$'…'`, `$"…"` or a plain `$`.
    fn scan_dollar(&self, i: usize, depth: usize) -> Res<usize> {
        match self.at(i + 1) {
            Some(b'(') => self.scan_parens(i + 1, depth + 1),
            Some(b'{') => self.scan_braces(i + 1, depth + 1),
            Some(b'\'') => self.scan_ansi(i),
            Some(b'"') => self.scan_double(i + 1, depth + 1),
            _ => Ok(i + 1),
        }
    }

    /// `i` at `(`; returns the position after the matching `)`. Quotes, escapes, nested
    /// substitutions and comments inside are skipped.
    fn scan_parens(&self, i: usize, depth: usize) -> Res<usize> {
        if depth > MAX_DEPTH {
            return err(i, "substitutions nested too deeply");
        }
        let mut open = 0usize;
        let mut j = i;
        let mut word_start = true;
        while let Some(c) = self.at(j) {
            match c {
                b'(' => {
                    open += 1;
                    j += 1;
                    word_start = true;
                    continue;
                }
                b')' => {
                    open = open.saturating_sub(1);
                    j += 1;
                    if open == 0 {
                        return Ok(j);
                    }
                    word_start = true;
                    continue;
                }
                b'#' if word_start => j = self.line_end(j),
                b'\\' => j += 2,
                b'\'' => j = self.scan_single(j)?,
                b'"' => j = self.scan_double(j, depth + 1)?,
                b'`' => j = self.scan_backtick(j)?,
                b'$' => j = self.scan_dollar(j, depth + 1)?,
                _ => j += 1,
            }
            word_start = matches!(c, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|');
        }
        err(i, "unterminated `(`: missing `)`")
    }

    /// `i` at `{` of `${`; returns the position after the closing `}`: like bash, the first
    /// `}` outside quotes and nested substitutions (a plain `{` inside does not nest).
    fn scan_braces(&self, i: usize, depth: usize) -> Res<usize> {
        if depth > MAX_DEPTH {
            return err(i, "substitutions nested too deeply");
        }
        let mut j = i + 1;
        while let Some(c) = self.at(j) {
            match c {
                b'}' => return Ok(j + 1),
                b'\\' => j += 2,
                b'\'' => j = self.scan_single(j)?,
                b'"' => j = self.scan_double(j, depth + 1)?,
                b'`' => j = self.scan_backtick(j)?,
                b'$' => j = self.scan_dollar(j, depth + 1)?,
                _ => j += 1,
            }
        }
        err(i, "unterminated `${`: missing `}`")
    }

    /// After a newline: the bodies of the heredocs opened on the line just ended.
    fn read_heredocs(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if self.folded {
            return;
        }
        for (delim, strip) in pending {
            let body_start = self.i;
            loop {
                if self.i >= self.b.len() {
                    // Delimited by end of file (bash warns, and accepts it).
                    let end = self.b.len();
                    self.push(Kind::HeredocBody, body_start, end);
                    break;
                }
                let end = self.line_end(self.i);
                let mut line = &self.b[self.i..end];
                if strip {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                if line == delim.as_slice() {
                    self.push(Kind::HeredocBody, body_start, end);
                    self.i = (end + 1).min(self.b.len());
                    break;
                }
                self.i = (end + 1).min(self.b.len());
                if end >= self.b.len() {
                    self.push(Kind::HeredocBody, body_start, end);
                    break;
                }
            }
        }
    }
}

/// Quote removal on a word's raw bytes, up to the first expansion (`$…`, `` ` ``).
/// Returns the unquoted text and whether the whole word was literal (no expansion).
pub(crate) fn unquote(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(raw.len());
    let mut j = 0;
    while let Some(&c) = raw.get(j) {
        match c {
            b'\\' => {
                match raw.get(j + 1) {
                    Some(b'\n') => {}
                    Some(&n) => out.push(n),
                    None => out.push(b'\\'),
                }
                j += 2;
            }
            b'\'' => {
                let rest = &raw[j + 1..];
                let n = rest.iter().position(|&c| c == b'\'').unwrap_or(rest.len());
                out.extend_from_slice(&rest[..n]);
                j += n + 2;
            }
            b'"' => {
                j += 1;
                while let Some(&c) = raw.get(j) {
                    match c {
                        b'"' => break,
                        b'\\' => {
                            match raw.get(j + 1) {
                                Some(&n) if matches!(n, b'$' | b'`' | b'"' | b'\\') => out.push(n),
                                Some(b'\n') => {}
                                Some(&n) => {
                                    out.push(b'\\');
                                    out.push(n);
                                }
                                None => out.push(b'\\'),
                            }
                            j += 2;
                        }
                        b'$' | b'`' => return (out, false),
                        _ => {
                            out.push(c);
                            j += 1;
                        }
                    }
                }
                j += 1;
            }
            b'$' if raw.get(j + 1).is_some() => return (out, false),
            b'`' => return (out, false),
            _ => {
                out.push(c);
                j += 1;
            }
        }
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let lexed = lex(src, false);
        assert_eq!(lexed.error, None, "{src:?}");
        lexed
            .tokens
            .iter()
            .map(|t| (t.kind, &src[t.start..t.end]))
            .collect()
    }

    #[test]
    fn shell_lex_words_keep_quotes_and_substitutions() {
        let src = r#"echo "a $(b "c)" d)" 'e f' $'g\'h' ${x:-"}"} a\ b"#;
        let words: Vec<&str> = kinds(src).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            words,
            [
                "echo",
                r#""a $(b "c)" d)""#,
                "'e f'",
                r"$'g\'h'",
                r#"${x:-"}"}"#,
                r"a\ b"
            ]
        );
    }

    #[test]
    fn shell_lex_operators_redirections_and_comments() {
        let src = "a && b || c; d | e 2>&1 >>f # c ) (\n";
        let got = kinds(src);
        assert!(got.contains(&(Kind::Op(Op::AndIf), "&&")));
        assert!(got.contains(&(Kind::Op(Op::OrIf), "||")));
        assert!(got.contains(&(Kind::Redir, "2>&")));
        assert!(got.contains(&(Kind::Redir, ">>")));
        assert!(got.contains(&(Kind::Comment, "# c ) (")));
    }

    #[test]
    fn shell_lex_heredoc_body_is_one_token() {
        let src = "cat <<'EOF' > x\nhelm upgrade \"\nEOF\necho ok\n";
        let got = kinds(src);
        assert!(got.contains(&(Kind::HeredocBody, "helm upgrade \"\nEOF")));
        assert!(got.contains(&(Kind::Word, "ok")));
    }

    #[test]
    fn shell_lex_unquote_stops_at_expansions() {
        assert_eq!(unquote(b"\"--a\"'b'\\c"), (b"--abc".to_vec(), true));
        assert_eq!(unquote(b"--x=\"$Y\""), (b"--x=".to_vec(), false));
    }

    #[test]
    fn shell_lex_reports_unterminated_quotes() {
        let lexed = lex("echo 'abc\n", false);
        assert_eq!(lexed.error.map(|e| e.pos), Some(5));
    }
}
