//! Where the branch mode's messages go: stdout/stderr, or this thread's capture while
//! [`capture`] runs (`patcher fleet` applies many repositories in parallel and must not
//! interleave their lines). Never decides what to say.

use std::cell::RefCell;
use std::io::Write;

use crate::outcome::Outcome;
use crate::report::{self, Color};

thread_local! {
    /// Where this thread's messages go instead of stdout/stderr while [`capture`] runs: many
    /// repositories applied in parallel (`patcher fleet`) must not interleave their lines.
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`, collecting what the branch mode prints on this thread instead of printing it.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(String::new()));
    let value = f();
    let text = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (value, text.unwrap_or_default())
}

/// Appends to the capture; `false` when none is active.
fn captured(text: &str) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buf) => {
            buf.push_str(text);
            true
        }
        None => false,
    })
}

pub(super) fn say(msg: &str) {
    if !captured(&format!("{msg}\n")) {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

fn show(text: &str) {
    if !captured(text) {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

pub(super) fn print_outcome(outcome: &Outcome, color: Color) {
    let (out, err) = report::text(outcome, color);
    show(&out);
    if !captured(&err) {
        let _ = std::io::stderr().write_all(err.as_bytes());
    }
}
