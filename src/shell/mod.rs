//! Argument-level edits of shell commands: pure functions on script text.
//!
//! GitHub Actions `run:` scripts and command strings (like the k3d action's `args`, a
//! folded `>-` scalar) are edited by *argument*, never by substring: the script is
//! tokenized (quotes, `$( )`, `${ }`, escapes, continuations, comments, heredocs), parsed
//! into simple commands, and each edit splices only the bytes of the words it changes, so
//! indentation, line breaks and continuation style stay as they were.
//!
//! Every script produced here is checked ([`check_syntax`]: `bash -n` where bash exists, an
//! internal structural parser otherwise) and re-linted ([`lint`]); an edit that would write a
//! script that does not parse, or that adds a broken continuation, is refused with a
//! [`ShellError`] instead.
//!
//! `lex.rs` and `parse.rs` read a script into simple commands (and are the internal
//! structural check); `command_edit.rs` holds the editing and the lint (pure functions of the
//! text); `bash_check.rs` runs `bash -n`, one process per distinct script, and defers its
//! answers inside [`with_deferred_checks`]; `retry.rs` wraps a command in a retry loop. This
//! file holds the types they share.

mod bash_check;
mod command_edit;
mod lex;
mod parse;
mod retry;

pub use bash_check::{
    BashCheck, InternalCheck, PendingCheck, check_syntax, start_syntax_check, with_deferred_checks,
};
pub use command_edit::{
    command_heads, edit_commands, edit_commands_with, edit_folded_args, edit_folded_args_with, lint,
};
pub use parse::check_syntax_internal;
pub use retry::{wrap_retry, wrap_retry_with};

/// How edited scripts are checked for syntax. The editor asks through this and never picks
/// one itself: the engine gives the planner [`BashCheck`] (`bash -n`), and [`InternalCheck`]
/// starts no process, so planning does no I/O of its own.
pub trait ScriptCheck {
    /// Starts checking an edited script: bash's parser where it can run, else the internal one.
    fn check(&self, script: &str) -> PendingCheck;
    /// Starts bash's own check of a script as it was (an original bash rejects is not edited);
    /// passes at once where there is no bash to ask.
    fn bash_only(&self, script: &str) -> PendingCheck;
}

/// One argument-level edit of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandEdit {
    /// `flag "--wait"` / `flag "--timeout" "600s"`: add the flag, or set its value if present
    /// (in `--timeout 600s` or `--timeout=600s` form — the form found is kept). A new flag is
    /// written as `--name value`, the value single-quoted when it has blanks or shell
    /// metacharacters. Without a value, a present `--name=v` becomes `--name` unless `v` is
    /// `true`.
    Flag { name: String, value: Option<String> },
    /// `remove-flag "--atomic"`: removes `--atomic`, `--atomic=true|false|…`, and, when
    /// `takes_value`, the following value word (`--timeout 300s`). A flag that sat alone on a
    /// continued line takes the whole line with it (and the previous line's `\` when it was
    /// the command's last line).
    RemoveFlag { name: String, takes_value: bool },
    /// `replace-flag "--old" "--new"`: renames the flag, keeping its value.
    ReplaceFlag { old: String, new: String },
}

/// The outcome of [`edit_commands`] / [`edit_folded_args`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditResult {
    /// The edited script (the input itself when nothing changed).
    pub script: String,
    /// How many invocations of the command were found (and edited where needed).
    pub invocations: usize,
    pub changed: bool,
}

/// Why a script was not edited: the (1-based) line within the script, when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ShellError {}

impl ShellError {
    fn new(message: impl Into<String>) -> Self {
        ShellError {
            line: None,
            message: message.into(),
        }
    }

    fn at(src: &str, pos: usize, message: impl Into<String>) -> Self {
        ShellError {
            line: Some(line_of(src, pos)),
            message: message.into(),
        }
    }
}

/// Which checker accepted a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxChecker {
    /// `bash -n` (the real parser; GitHub's default shell is `bash -e {0}`).
    Bash,
    /// No runnable bash: the internal structural parser of this module.
    Internal,
}

/// What [`lint`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// `\  # comment`, or a comment line inside a `\`-continued command: the command ends
    /// there and the following lines run as a separate command.
    CommentAfterContinuation,
    /// `\` followed by trailing blanks: it escapes a blank, not the newline.
    BlankAfterBackslash,
    /// A `#` in a folded (`>`) scalar passed as arguments: not a comment, its words become
    /// arguments.
    CommentInFoldedArgs,
    /// A `\` at the end of a line of a folded scalar: the newline is folded into a space, so
    /// it is no continuation.
    BackslashInFoldedArgs,
}

/// A finding of [`lint`], at a 1-based line within the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellWarning {
    pub line: usize,
    pub kind: WarningKind,
    pub message: String,
}

impl std::fmt::Display for ShellWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The 1-based line of byte offset `pos`.
fn line_of(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}
