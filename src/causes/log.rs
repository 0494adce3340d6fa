//! Reading CI logs into lines: plain text, GitHub's timestamped format (an RFC 3339 prefix per
//! line, `##[group]`/`##[error]` markers) and zip archives as the Actions "download logs"
//! endpoint returns them (`<job>/<n>_<step>.txt` entries, plus top-level `<n>_<job>.txt`).
//! Timestamps, markers and ANSI colours are stripped; line numbers stay 1-based in the
//! original file or archive entry.

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// One log (a file, a zip entry, a job's log from the API).
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    /// The file, or `job/step` for an archive entry or a fetched job.
    pub source: String,
    pub job: Option<String>,
    /// The step, when the log is one step's (an archive's `<job>/<n>_<step>.txt`).
    pub step: Option<String>,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// 1-based, in the original file or entry.
    pub number: usize,
    /// Without timestamp, `##[…]` marker and ANSI escapes.
    pub text: String,
    /// The step this line belongs to: the log's own, else the last `##[group]Run …` title.
    pub step: Option<String>,
    /// Marked `##[error]`, or worded like an error (see [`is_error_line`]).
    pub error: bool,
}

/// The largest log patcher reads (per file or archive entry): bigger ones are refused rather
/// than filling memory (a zip bomb).
const MAX_BYTES: u64 = 256 * 1024 * 1024;

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z ?").expect("constant regex")
});
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")
        .expect("constant regex")
});
static ERROR_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[\s:\[])(error|fatal|panic)(:|\s*\[|!)|\bfailed\b|\bfailure\b|exit (code|status) [1-9]|Exception\b|(?-i:[a-z]Error):|connection refused|^Traceback|\bERR!|no space left on device|out of memory|\bOOMKilled\b|^\s*\d+:\d+\s+error\s|^\s*(error|fatal)\b|panicked at",
    )
    .expect("constant regex")
});
/// A stack frame: JavaScript, Java and .NET `at …`, Python `File "…", line N`, Go `file.go:N`,
/// a native frame `N: 0x…`.
static STACK_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s+at \S|^\s*File ".*", line \d+|^\s+\S+\.go:\d+|^\s*\d+: 0x[0-9a-f]+\s"#)
        .expect("constant regex")
});
static ZERO_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b0 (failed|failures?)\b|\bfailed(_| )?[=:]\s*0\b").expect("constant regex")
});

/// Reads a log file or zip archive (`-`: standard input).
pub fn read_path(path: &Path) -> Result<Vec<Log>, String> {
    let mut bytes = Vec::new();
    let shown = path.display().to_string();
    let read = if shown == "-" {
        std::io::stdin().take(MAX_BYTES + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("error: {shown}: cannot read the log: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "error: {shown}: larger than {} MiB; pass the failing job's log rather than the whole archive",
            MAX_BYTES / 1024 / 1024
        ));
    }
    let name = if shown == "-" { "(stdin)" } else { &shown };
    from_bytes(name, &bytes)
}

/// A log from bytes: a zip archive (by its magic number) or text.
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Vec<Log>, String> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return from_zip(name, bytes);
    }
    Ok(vec![parse_text(
        name.to_string(),
        None,
        None,
        &String::from_utf8_lossy(bytes),
    )])
}

/// The entries of an Actions log archive. Per-step entries (`<job>/<n>_<step>.txt`) are read;
/// a top-level `<n>_<job>.txt` repeats its job's steps, so it is read only for a job that
/// has no step entries (newer archives have only those).
pub fn from_zip(name: &str, bytes: &[u8]) -> Result<Vec<Log>, String> {
    let bad = |e: &dyn std::fmt::Display| {
        format!(
            "error: {name}: not a readable zip archive ({e}); pass the archive the Actions API returned, or a plain log"
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut entries: Vec<(String, String)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| bad(&e))?;
        let entry = file.name().map_err(|e| bad(&e))?.to_string();
        if file.is_dir() || !entry.ends_with(".txt") {
            continue;
        }
        let mut data = Vec::new();
        (&mut file)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(&e))?;
        if data.len() as u64 > MAX_BYTES {
            return Err(format!(
                "error: {name}: entry {entry} is larger than {} MiB",
                MAX_BYTES / 1024 / 1024
            ));
        }
        entries.push((entry, String::from_utf8_lossy(&data).into_owned()));
    }
    entries.sort_by_key(|e| natural_key(&e.0));
    let jobs_with_steps: Vec<String> = entries
        .iter()
        .filter_map(|(e, _)| e.split_once('/').map(|(job, _)| job.to_string()))
        .collect();
    let mut out = Vec::new();
    for (entry, text) in &entries {
        match entry.rsplit_once('/') {
            Some((job, file)) => {
                if file == "system.txt" {
                    continue; // the runner's own set-up log
                }
                let step = strip_order(file);
                out.push(parse_text(
                    format!("{job}/{step}"),
                    Some(job.to_string()),
                    Some(step),
                    text,
                ));
            }
            None => {
                let job = strip_order(entry);
                if jobs_with_steps.contains(&job) {
                    continue;
                }
                out.push(parse_text(job.clone(), Some(job), None, text));
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "error: {name}: the archive holds no .txt logs; pass the archive of a run's logs"
        ));
    }
    Ok(out)
}

/// `3_Helm upgrade.txt` → `Helm upgrade`.
fn strip_order(file: &str) -> String {
    let file = file.strip_suffix(".txt").unwrap_or(file);
    match file.split_once('_') {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            rest.to_string()
        }
        _ => file.to_string(),
    }
}

/// Sorts `job/10_x` after `job/2_y`.
fn natural_key(entry: &str) -> (String, u64, String) {
    let (dir, file) = entry.rsplit_once('/').unwrap_or(("", entry));
    let n = file
        .split_once('_')
        .and_then(|(n, _)| n.parse::<u64>().ok())
        .unwrap_or(0);
    (dir.to_string(), n, file.to_string())
}

/// The log of an Actions job as the API returns it (`job` is the job's name).
pub fn of_job(job: String, text: &str) -> Log {
    parse_text(job.clone(), Some(job), None, text)
}

/// Splits a text log into cleaned lines.
pub fn parse_text(source: String, job: Option<String>, step: Option<String>, text: &str) -> Log {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut group_step: Option<String> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let no_ts = TIMESTAMP.replace(raw, "");
        let clean = ANSI.replace_all(&no_ts, "");
        let mut text: &str = &clean;
        let mut error = false;
        if let Some(rest) = text.strip_prefix("##[group]") {
            if let Some(run) = rest.strip_prefix("Run ") {
                group_step = Some(shorten(run));
            }
            text = rest;
        } else if text.starts_with("##[endgroup]") {
            text = "";
        } else if let Some(rest) = text.strip_prefix("##[error]") {
            error = true;
            text = rest;
        } else if let Some(rest) = ["##[warning]", "##[notice]", "##[debug]", "##[command]"]
            .iter()
            .find_map(|m| text.strip_prefix(m))
        {
            text = rest;
        }
        let error = error || is_error_line(text);
        lines.push(Line {
            number: i + 1,
            text: text.to_string(),
            step: step.clone().or_else(|| group_step.clone()),
            error,
        });
    }
    // A trailing newline is not a line.
    if lines.last().is_some_and(|l| l.text.is_empty()) && text.ends_with('\n') {
        lines.pop();
    }
    Log {
        source,
        job,
        step,
        lines,
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Whether a line is a frame of a stack trace (not a line a person reads first).
pub fn is_stack_frame(text: &str) -> bool {
    STACK_FRAME.is_match(text)
}

/// Whether a line reads as a failure: `Error:`, `FATAL`, `failed`, a non-zero exit code, an
/// exception or Python traceback, npm's `ERR!`, a full disk, running out of memory, a lint
/// error (`12:5  error  …`) — but not a summary of zero failures ("0 failed", "0 errors").
pub fn is_error_line(text: &str) -> bool {
    ERROR_WORD.is_match(text) && !ZERO_FAILED.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_markers_and_colours_are_stripped_with_original_line_numbers() {
        let text = "\u{feff}2024-05-01T10:00:00.1234567Z ##[group]Run helm upgrade --install threads ./chart\n\
                    2024-05-01T10:00:01.0000000Z \x1b[31mError:\x1b[0m UPGRADE FAILED\n\
                    2024-05-01T10:00:02.0000000Z ##[endgroup]\n\
                    2024-05-01T10:00:03.0000000Z ##[error]Process completed with exit code 1.\n";
        let log = parse_text("job.log".into(), None, None, text);
        assert_eq!(log.lines.len(), 4);
        assert_eq!(log.lines[1].number, 2);
        assert_eq!(log.lines[1].text, "Error: UPGRADE FAILED");
        assert_eq!(
            log.lines[1].step.as_deref(),
            Some("helm upgrade --install threads ./chart")
        );
        assert!(log.lines[3].error);
        assert_eq!(log.lines[3].text, "Process completed with exit code 1.");
    }

    #[test]
    fn zero_failures_are_not_errors() {
        for ok in [
            "test result: ok. 12 passed; 0 failed; 0 ignored",
            "Found 0 errors in 12 files",
            "helm upgrade --set errors.enabled=false",
            "errors_total 0",
            "mirror: terror: a lowercase word before `error:` is no class name",
            "threads-migrations: Jobs active: 1, jobs failed: 0, jobs succeeded: 0",
        ] {
            assert!(!is_error_line(ok), "{ok}");
        }
        for bad in [
            "System.IO.IOException: No space left on device : '/home/runner/_diag/x.log'",
            "npm ERR! code ELIFECYCLE",
            "Error from server: Get https://10.142.0.39:10250/containerLogs/a/b/c: x509: bad",
            "  35:18  error  Empty block statement  no-empty",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            "Error: UPGRADE FAILED: timed out",
            "FATAL: password authentication failed",
            "Process completed with exit code 1.",
            // An exception class named `…Error` (Python, JavaScript), a refused connection.
            "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
            "TypeError: Cannot read properties of undefined",
            "mysql connect fail:(2003, \"Can't connect to MySQL server on 'db' ([Errno 111] Connection refused)\")",
        ] {
            assert!(is_error_line(bad), "{bad}");
        }
    }

    #[test]
    fn stack_frames_are_told_apart() {
        for frame in [
            "   at System.IO.RandomAccess.WriteAtOffset(SafeFileHandle handle)",
            "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1247:16)",
            "  File \"/app/main.py\", line 4, in <module>",
            "        helm.sh/helm/v3/cmd/helm/upgrade.go:202",
            " 3: 0xd5c940 v8::Utils::ReportOOMFailure(v8::internal::Isolate*) [node]",
        ] {
            assert!(is_stack_frame(frame), "{frame}");
        }
        assert!(!is_stack_frame(
            "Error: connect ECONNREFUSED 127.0.0.1:6379"
        ));
        assert!(!is_stack_frame("at least one error occurred"));
    }

    #[test]
    fn order_prefixes_are_dropped_from_entry_names() {
        assert_eq!(
            strip_order("3_Helm upgrade (dev cluster).txt"),
            "Helm upgrade (dev cluster)"
        );
        assert_eq!(strip_order("system.txt"), "system");
        assert!(natural_key("a/10_x.txt") > natural_key("a/2_y.txt"));
    }
}
