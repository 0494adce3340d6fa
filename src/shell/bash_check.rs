//! The `bash -n` syntax check: one `bash` process per distinct script text in a process,
//! shared by every check of that text and remembered; checks started inside
//! [`with_deferred_checks`] answer at once and are waited for together. Without a runnable
//! bash, the internal structural parser answers. [`BashCheck`] is this as a [`ScriptCheck`];
//! [`InternalCheck`] is the one that starts no process. Never edits a script.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::parse::check_syntax_internal;
use super::{ScriptCheck, ShellError, SyntaxChecker};

/// Checks that `script` parses: with `bash -n` when bash can be run, otherwise with the
/// internal structural parser ([`check_syntax_internal`]). Says which one did.
pub fn check_syntax(script: &str) -> Result<SyntaxChecker, ShellError> {
    BashCheck.check(script).wait()
}

/// `bash -n` in a process where bash can run (deferred inside [`with_deferred_checks`]), the
/// internal parser otherwise: what the engine gives the planner.
pub struct BashCheck;

impl ScriptCheck for BashCheck {
    fn check(&self, script: &str) -> PendingCheck {
        defer(start_syntax_check(script)).unwrap_or_else(PendingCheck::answered)
    }

    fn bash_only(&self, script: &str) -> PendingCheck {
        defer(PendingCheck(bash_n_start(script))).unwrap_or_else(PendingCheck::answered)
    }
}

/// The internal structural parser only: starts no process (pure planning, tests).
pub struct InternalCheck;

impl ScriptCheck for InternalCheck {
    fn check(&self, script: &str) -> PendingCheck {
        PendingCheck(Some(BashN::Known(
            check_syntax_internal(script).map(|()| SyntaxChecker::Internal),
        )))
    }

    fn bash_only(&self, _script: &str) -> PendingCheck {
        PendingCheck(None)
    }
}

thread_local! {
    /// The checks started inside [`with_deferred_checks`] on this thread, not yet waited for.
    static DEFERRED: std::cell::RefCell<Option<Vec<PendingCheck>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with every `bash -n` it starts left running: each such check answers "parses"
/// at once, and all are waited for when `f` returns, side by side. `Some` when every one
/// passed; `None` when one failed, and then the caller runs `f` again, undeferred: the
/// answers are remembered, so the second run gets each at once, failures included.
pub fn with_deferred_checks<T>(f: impl FnOnce() -> T) -> Option<T> {
    let outer = DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()));
    let value = f();
    let started = DEFERRED.with(|d| std::mem::replace(&mut *d.borrow_mut(), outer));
    let mut all_passed = true;
    for check in started.unwrap_or_default() {
        all_passed &= check.wait().is_ok();
    }
    all_passed.then_some(value)
}

/// A running check inside [`with_deferred_checks`] is kept for later (`Err`: its optimistic
/// answer); any other is handed back to be waited for.
pub(super) fn defer(pending: PendingCheck) -> Result<PendingCheck, SyntaxChecker> {
    let running = match &pending.0 {
        Some(BashN::Shared { slot, .. }) => slot
            .lock()
            .is_ok_and(|s| matches!(*s, BashState::Running { .. })),
        _ => false,
    };
    if !running {
        return Ok(pending);
    }
    DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(list) => {
            list.push(pending);
            Err(SyntaxChecker::Bash)
        }
        None => Ok(pending),
    })
}

/// Starts [`check_syntax`] without waiting for it: `bash -n` runs in its own process while
/// the caller goes on (a workflow with several edited scripts checks them side by side; each
/// `bash` start-up is about 1.5 ms). [`PendingCheck::wait`] gives the answer.
pub fn start_syntax_check(script: &str) -> PendingCheck {
    PendingCheck(Some(bash_n_start(script).unwrap_or_else(|| {
        BashN::Known(check_syntax_internal(script).map(|()| SyntaxChecker::Internal))
    })))
}

/// A syntax check that may still be running: see [`start_syntax_check`]. Dropped unwaited,
/// it still waits for its `bash` (no process is left behind).
pub struct PendingCheck(pub(super) Option<BashN>);

pub(super) enum BashN {
    Known(Result<SyntaxChecker, ShellError>),
    /// A `bash -n` of `script` that was running when this check asked: every check of the
    /// same text shares its slot.
    Shared {
        script: String,
        slot: BashSlot,
    },
}

/// One `bash -n` process and, once someone has waited for it, its answer.
type BashSlot = Arc<Mutex<BashState>>;

pub(super) enum BashState {
    Running {
        child: std::process::Child,
        writer: Option<std::thread::JoinHandle<()>>,
    },
    Done(Result<(), ShellError>),
    /// The process could not be waited for: each check falls back to the internal parser.
    Lost,
}

impl PendingCheck {
    /// A check that has its answer already (a deferred one's is optimistic).
    fn answered(checker: SyntaxChecker) -> PendingCheck {
        PendingCheck(Some(BashN::Known(Ok(checker))))
    }

    /// Waits for the check; a script whose `bash -n` could not be waited for is checked by
    /// the internal parser instead.
    pub fn wait(mut self) -> Result<SyntaxChecker, ShellError> {
        match self.0.take().map(BashN::finish) {
            Some(Ok(answer)) => answer,
            Some(Err(script)) => check_syntax_internal(&script).map(|()| SyntaxChecker::Internal),
            None => Ok(SyntaxChecker::Internal),
        }
    }

    /// Like [`PendingCheck::wait`], but only `bash`'s answer counts: without a runnable bash
    /// the script is taken as it is.
    pub(super) fn wait_bash(mut self) -> Result<(), ShellError> {
        match self.0.take().map(BashN::finish) {
            Some(Ok(answer)) => answer.map(drop),
            _ => Ok(()),
        }
    }
}

impl BashN {
    /// The answer, waiting for a running `bash`; `Err(script)` when it could not be waited for.
    fn finish(self) -> Result<Result<SyntaxChecker, ShellError>, String> {
        match self {
            BashN::Known(answer) => Ok(answer),
            BashN::Shared { script, slot } => {
                // The first check to wait reaps the process, holding the slot meanwhile;
                // the others then read its answer.
                let Ok(mut state) = slot.lock() else {
                    return Err(script);
                };
                if let BashState::Running { .. } = &*state
                    && let BashState::Running { child, writer } =
                        std::mem::replace(&mut *state, BashState::Lost)
                    && let Some(answer) = bash_n_finish(child, writer)
                {
                    *state = BashState::Done(answer);
                }
                match &*state {
                    BashState::Done(answer) => Ok(answer.clone().map(|()| SyntaxChecker::Bash)),
                    _ => Err(script),
                }
            }
        }
    }
}

impl Drop for PendingCheck {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            let _ = state.finish();
        }
    }
}

/// Whether `bash` can be run: false once spawning it failed (so it is not tried again).
#[cfg(test)]
fn bash_available() -> bool {
    start_syntax_check("true\n").wait() == Ok(SyntaxChecker::Bash)
}

static NO_BASH: AtomicBool = AtomicBool::new(false);

/// The `bash -n` of each distinct script in a process, running or answered: a plan and its
/// re-plan, a step checked by the planner and again by the shell edit, or many workflows with
/// the same step, ask about the same text. A second check of a script still being checked
/// joins the running process instead of starting another.
fn bash_n_seen() -> &'static Mutex<HashMap<String, BashSlot>> {
    static SEEN: OnceLock<Mutex<HashMap<String, BashSlot>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// Starts `bash -n` on the script, or joins the one already started for the same text, or
/// gives its known answer. `None` when bash cannot be run.
pub(super) fn bash_n_start(script: &str) -> Option<BashN> {
    let Ok(mut seen) = bash_n_seen().lock() else {
        return None;
    };
    if let Some(slot) = seen.get(script) {
        // Answered or not, the slot gives it: `wait` reads a known answer at once.
        return Some(BashN::Shared {
            script: script.to_string(),
            slot: Arc::clone(slot),
        });
    }
    if NO_BASH.load(Ordering::Relaxed) {
        return None;
    }
    let spawned = Command::new("bash")
        .arg("-n")
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        NO_BASH.store(true, Ordering::Relaxed);
        return None;
    };
    let mut stdin = child.stdin.take()?;
    // A script that fits in the pipe's buffer is written at once; a longer one by a thread,
    // as bash reads it. A write error (bash exited early) shows in its status and stderr.
    const PIPE_BUFFER: usize = 16 * 1024;
    let writer = if script.len() <= PIPE_BUFFER {
        let _ = stdin.write_all(script.as_bytes());
        None
    } else {
        let input = script.as_bytes().to_vec();
        Some(std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        }))
    };
    let slot = Arc::new(Mutex::new(BashState::Running { child, writer }));
    seen.insert(script.to_string(), Arc::clone(&slot));
    Some(BashN::Shared {
        script: script.to_string(),
        slot,
    })
}

/// Waits for a started `bash -n`: its answer, `None` when it could not be waited for.
fn bash_n_finish(
    child: std::process::Child,
    writer: Option<std::thread::JoinHandle<()>>,
) -> Option<Result<(), ShellError>> {
    let output = child.wait_with_output().ok()?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if output.status.success() {
        return Some(Ok(()));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or("syntax error").trim();
    // "bash: line 3: syntax error near unexpected token `fi'"
    let line = first
        .split("line ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.trim().parse().ok());
    let message = first.splitn(3, ": ").nth(2).unwrap_or(first).to_string();
    Some(Err(ShellError {
        line,
        message: format!("bash -n: {message}"),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{BashN, bash_available, check_syntax, start_syntax_check, with_deferred_checks};
    use crate::shell::SyntaxChecker;

    #[test]
    fn shell_check_syntax_uses_bash_when_present() {
        let which = check_syntax("echo ok\n").unwrap();
        assert_eq!(which == SyntaxChecker::Bash, bash_available());
        let e = check_syntax("if true; then\n  echo\nfi fi\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    #[cfg_attr(not(has_bash), ignore = "needs bash")]
    fn a_script_checked_twice_while_its_bash_runs_shares_the_one_process() {
        // Texts no other test checks, so no answer is remembered yet.
        for (script, passes) in [
            ("echo shared-check-good\n", true),
            ("f() {}\necho shared-check-bad\n", false),
        ] {
            let first = start_syntax_check(script);
            let second = start_syntax_check(script);
            match (&first.0, &second.0) {
                (Some(BashN::Shared { slot: a, .. }), Some(BashN::Shared { slot: b, .. })) => {
                    assert!(Arc::ptr_eq(a, b), "the second check joins the first's bash");
                }
                _ => panic!("both checks should be bash's"),
            }
            // The later check waits first: it reaps the process, the earlier reads its answer.
            let (later, earlier) = (second.wait(), first.wait());
            assert_eq!(later, earlier);
            assert_eq!(later.is_ok(), passes, "{script}: {later:?}");
        }
    }

    #[test]
    #[cfg_attr(not(has_bash), ignore = "needs bash")]
    fn deferred_checks_answer_at_once_and_a_failure_sends_the_caller_round_again() {
        // Texts no other test checks, so the answers are not remembered yet.
        let good = "echo deferred-check-good\n";
        let bad = "f() {}\necho deferred-check-bad\n";
        let first = with_deferred_checks(|| (check_syntax(good), check_syntax(bad)));
        assert_eq!(
            first, None,
            "one deferred check failed: the caller must go round again"
        );
        let second = with_deferred_checks(|| (check_syntax(good), check_syntax(bad)))
            .expect("remembered answers are not deferred");
        assert_eq!(second.0, Ok(SyntaxChecker::Bash));
        assert!(second.1.unwrap_err().message.starts_with("bash -n:"));
        let inside = with_deferred_checks(|| check_syntax("echo deferred-check-fresh\n"));
        assert_eq!(inside, Some(Ok(SyntaxChecker::Bash)));
    }
}
