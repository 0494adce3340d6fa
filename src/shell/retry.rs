//! `wrap_retry`: a bounded retry loop around a whole `run:` script.

use super::bash_check::BashCheck;
use super::lex::{Kind, lex};
use super::{ScriptCheck, ShellError, check_syntax_internal};

const MARKER: &str = "# patcher: retry ";

fn marker(attempts: u32, delay_secs: u32) -> String {
    format!("{MARKER}{attempts}x, {delay_secs}s apart\n")
}

/// Everything before the (indented) original script.
fn header(attempts: u32, delay_secs: u32) -> String {
    marker(attempts, delay_secs)
        + "case $- in *e*) patcher_errexit=1 ;; *) patcher_errexit= ;; esac\n\
           patcher_attempt=1\n\
           while :; do\n\
          \x20 set +e\n\
          \x20 (\n\
          \x20   if [ -n \"$patcher_errexit\" ]; then set -e; fi\n"
}

/// Everything after the original script (without a final newline).
fn footer(attempts: u32, delay_secs: u32) -> String {
    format!(
        "  )\n  \
         patcher_status=$?\n  \
         if [ -n \"$patcher_errexit\" ]; then set -e; fi\n  \
         if [ \"$patcher_status\" -eq 0 ]; then\n    \
         break\n  \
         fi\n  \
         if [ \"$patcher_attempt\" -ge {attempts} ]; then\n    \
         echo \"patcher: failed after {attempts} attempts (exit $patcher_status)\" >&2\n    \
         exit \"$patcher_status\"\n  \
         fi\n  \
         echo \"patcher: attempt $patcher_attempt of {attempts} failed (exit $patcher_status); retrying in {delay_secs}s\" >&2\n  \
         patcher_attempt=$((patcher_attempt + 1))\n  \
         sleep {delay_secs}\n\
         done"
    )
}

/// Parses `# patcher: retry 3x, 30s apart` at the start of `text`.
fn parse_marker(text: &str) -> Option<(u32, u32)> {
    let line = text.strip_prefix(MARKER)?.lines().next()?;
    let (n, rest) = line.split_once("x, ")?;
    let d = rest.strip_suffix("s apart")?;
    Some((n.parse().ok()?, d.parse().ok()?))
}

/// Wraps the script's commands in a bounded retry loop: up to `attempts` tries,
/// `delay_secs` apart, exiting with the last attempt's (non-zero) status after the last
/// failure. The original text is kept inside a subshell, indented by four spaces (except
/// lines inside heredoc bodies and multi-line quoted words, which are left byte-for-byte);
/// the subshell runs with the script's own `set -e` state, which the loop saves and restores
/// around it, so errexit keeps working inside the body (an `if ( … )` or `( … ) || …`
/// construct would silently disable it).
///
/// The wrapper starts with `# patcher: retry Nx, Ds apart`. Idempotent: a script already
/// wrapped with the same numbers is returned unchanged; with other numbers, only the
/// wrapper's numbers are rewritten. A marked wrapper that was edited by hand is refused.
pub fn wrap_retry(script: &str, attempts: u32, delay_secs: u32) -> Result<String, ShellError> {
    wrap_retry_with(script, attempts, delay_secs, &BashCheck)
}

/// [`wrap_retry`] with the wrapped script checked by `checks`.
pub fn wrap_retry_with(
    script: &str,
    attempts: u32,
    delay_secs: u32,
    checks: &dyn ScriptCheck,
) -> Result<String, ShellError> {
    if attempts == 0 {
        return Err(ShellError::new("a retry loop needs at least one attempt"));
    }
    let (shebang, rest) = match script.strip_prefix("#!") {
        Some(_) => match script.find('\n') {
            Some(p) => script.split_at(p + 1),
            None => (script, ""),
        },
        None => ("", script),
    };
    if let Some((n, d)) = parse_marker(rest) {
        let body_end = rest.strip_suffix('\n').unwrap_or(rest);
        let (h, f) = (header(n, d), footer(n, d));
        if !(body_end.starts_with(&h)
            && body_end.ends_with(&f)
            && body_end.len() >= h.len() + f.len())
        {
            return Err(ShellError {
                line: Some(shebang.lines().count() + 1),
                message: "the script has a patcher retry marker but its loop was edited by hand: refusing to wrap it again".to_string(),
            });
        }
        if (n, d) == (attempts, delay_secs) {
            return Ok(script.to_string());
        }
        let inner = &body_end[h.len()..body_end.len() - f.len()];
        let tail = &rest[body_end.len()..];
        return Ok(format!(
            "{shebang}{}{inner}{}{tail}",
            header(attempts, delay_secs),
            footer(attempts, delay_secs)
        ));
    }

    let lexed = lex(rest, false);
    if let Some(e) = lexed.error {
        return Err(ShellError::at(rest, e.pos, e.message));
    }
    check_syntax_internal(rest)?;
    // Line starts that lie inside a multi-line word or a heredoc body must not move.
    let protected = |pos: usize| {
        lexed.tokens.iter().any(|t| match t.kind {
            Kind::Word => t.start < pos && pos < t.end,
            Kind::HeredocBody => t.start <= pos && pos <= t.end,
            _ => false,
        })
    };
    let mut out = String::with_capacity(rest.len() * 2 + 600);
    out.push_str(shebang);
    out.push_str(&header(attempts, delay_secs));
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if !line.trim().is_empty() && !protected(pos) {
            out.push_str("    ");
        }
        out.push_str(line);
        pos += line.len();
    }
    if !rest.is_empty() && !rest.ends_with('\n') {
        out.push('\n');
    }
    if rest.trim().is_empty() {
        out.push_str("    :\n");
    }
    out.push_str(&footer(attempts, delay_secs));
    if rest.ends_with('\n') || rest.is_empty() {
        out.push('\n');
    }
    check_syntax_internal(&out).map_err(|e| wrap_refused(&e))?;
    checks.check(&out).wait().map_err(|e| wrap_refused(&e))?;
    Ok(out)
}

fn wrap_refused(e: &ShellError) -> ShellError {
    ShellError {
        line: e.line,
        message: format!("refused: the wrapped script does not parse: {}", e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_retry_marker_round_trips() {
        assert_eq!(parse_marker(&marker(3, 30)), Some((3, 30)));
        assert_eq!(parse_marker("# patcher: retry x"), None);
    }

    #[test]
    fn shell_retry_keeps_heredoc_bodies_in_place() {
        let out = wrap_retry("cat <<EOF\nhello\nEOF\necho ok\n", 2, 1).unwrap();
        assert!(
            out.contains("    cat <<EOF\nhello\nEOF\n    echo ok\n"),
            "{out}"
        );
    }

    #[test]
    fn shell_retry_rewrites_only_the_numbers_of_an_existing_wrapper() {
        let once = wrap_retry("make\n", 3, 30).unwrap();
        assert_eq!(wrap_retry(&once, 3, 30).unwrap(), once);
        let other = wrap_retry(&once, 5, 10).unwrap();
        assert_eq!(other, wrap_retry("make\n", 5, 10).unwrap());
        let edited = once.replace("sleep 30", "sleep 31");
        assert!(wrap_retry(&edited, 3, 30).is_err());
    }
}
