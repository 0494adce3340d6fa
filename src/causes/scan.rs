//! Matching signatures against logs: per signature the matching line nearest the failure
//! (with the message's captures filled in), causes ordered so that the one nearest the
//! failure comes first and is primary, and the logs that failed for no known reason with the
//! lines a person would read.

use std::collections::HashMap;

use regex::{Regex, RegexSet};

use super::log::{Line, Log};
use super::signature::{Pattern, Signature};

/// A signature found in the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub signature: String,
    pub description: String,
    pub source: String,
    pub job: Option<String>,
    pub step: Option<String>,
    /// 1-based line in `source` of the matching line nearest the failure (the log's last error
    /// line).
    pub line: usize,
    pub text: String,
    pub message: Option<String>,
    /// How many matches in all logs (lines, or windows for `lines`).
    pub count: usize,
    pub fixes: Vec<String>,
    pub fix_hint: Option<String>,
    /// The first cause of its log: its line is the nearest to the failure (on one line, the
    /// match further right, as a wrapped error prints its cause last).
    pub primary: bool,
}

/// A log with error lines that no signature explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub source: String,
    pub last_lines: Vec<String>,
}

/// How many error lines an unmatched log shows.
const LAST_LINES: usize = 5;

/// One match of a pattern: the reported line's index, where on it the match starts, captures.
struct Found {
    line: usize,
    column: usize,
    caps: Captures,
}

/// How hits are ordered: (log, distance of the line to the failure, column further right first).
type Order = (usize, usize, std::cmp::Reverse<usize>);

/// Every signature's hit in the first log it matches, and the unexplained logs. Hits are in
/// log order; within a log the hit whose line is nearest that log's failure comes first.
pub fn scan(signatures: &[Signature], logs: &[Log]) -> (Vec<Hit>, Vec<Unmatched>) {
    // See `Hit::primary`.
    let mut hits: Vec<(Order, Hit)> = Vec::new();
    let mut explained = vec![false; logs.len()];
    // One pass of a RegexSet over each line says which regexes can match where; captures run
    // only on those lines (most log lines match nothing).
    let mut offsets = Vec::with_capacity(signatures.len());
    let mut all: Vec<&str> = Vec::new();
    for sig in signatures {
        offsets.push(all.len());
        all.extend(sig.pattern.regexes().iter().map(Regex::as_str));
    }
    let set = RegexSet::new(&all).ok();
    let matches: Vec<Vec<Option<regex::SetMatches>>> = logs
        .iter()
        .map(|log| {
            log.lines
                .iter()
                .map(|l| set.as_ref().map(|s| s.matches(&l.text)))
                .collect()
        })
        .collect();
    let failure_at: Vec<usize> = logs.iter().map(failure_line).collect();
    for (si, sig) in signatures.iter().enumerate() {
        let mut first: Option<(Order, Hit)> = None;
        let mut count = 0;
        for (li, log) in logs.iter().enumerate() {
            // No set (too big to compile): every line is a candidate.
            let may_match = |line: usize, re: usize| {
                matches[li][line]
                    .as_ref()
                    .is_none_or(|m| m.matched(offsets[si] + re))
                    && !sig.unless.iter().any(|u| u.is_match(&log.lines[line].text))
            };
            let found = find(&sig.pattern, &log.lines, &may_match);
            if found.is_empty() {
                continue;
            }
            explained[li] = true;
            count += found.len();
            if first.is_none() {
                let anchor = failure_at[li];
                let nearest = found
                    .iter()
                    .min_by_key(|f| (f.line.abs_diff(anchor), std::cmp::Reverse(f.line)))
                    .expect("found is not empty");
                let line = &log.lines[nearest.line];
                first = Some((
                    (
                        li,
                        nearest.line.abs_diff(anchor),
                        std::cmp::Reverse(nearest.column),
                    ),
                    Hit {
                        signature: sig.name.clone(),
                        description: sig.description.clone(),
                        source: log.source.clone(),
                        job: log.job.clone(),
                        step: line.step.clone(),
                        line: line.number,
                        text: line.text.trim().to_string(),
                        message: sig.message.as_deref().map(|m| fill(m, &nearest.caps)),
                        count: 0,
                        fixes: sig.fixes.clone(),
                        fix_hint: sig.fix_hint.clone(),
                        primary: false,
                    },
                ));
            }
        }
        if let Some((key, mut hit)) = first {
            hit.count = count;
            hits.push((key, hit));
        }
    }
    hits.sort_by_key(|(key, _)| *key);
    let mut seen_log = None;
    for (key, hit) in &mut hits {
        hit.primary = seen_log != Some(key.0);
        seen_log = Some(key.0);
    }
    let unmatched = logs
        .iter()
        .zip(&explained)
        .filter(|(_, explained)| !**explained)
        .filter_map(|(log, _)| {
            let lines = lines_to_read(log);
            (!lines.is_empty()).then(|| Unmatched {
                source: log.source.clone(),
                last_lines: lines,
            })
        })
        .collect();
    (hits.into_iter().map(|(_, h)| h).collect(), unmatched)
}

/// Index of the line where the log failed: its last error line, else its last line.
fn failure_line(log: &Log) -> usize {
    log.lines
        .iter()
        .rposition(|l| l.error)
        .unwrap_or(log.lines.len().saturating_sub(1))
}

/// The lines a person reads in a failure no signature knows: the last error lines (stack
/// frames and repeats left out), and the final `##[error]` line always.
fn lines_to_read(log: &Log) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in log.lines.iter().rev() {
        if !l.error || super::log::is_stack_frame(&l.text) {
            continue;
        }
        let text = l.text.trim().to_string();
        if out.contains(&text) {
            continue;
        }
        if out.len() == LAST_LINES {
            break;
        }
        out.push(text);
    }
    out.reverse();
    out
}

type Captures = HashMap<String, String>;

/// The matches of a pattern in one log.
/// `may_match(line, regex)` is false where the regex (by its index in the pattern) cannot match.
fn find(pattern: &Pattern, lines: &[Line], may_match: &dyn Fn(usize, usize) -> bool) -> Vec<Found> {
    match pattern {
        Pattern::AnyLine(res) => lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                res.iter().enumerate().find_map(|(j, re)| {
                    if !may_match(i, j) {
                        return None;
                    }
                    re.captures(&l.text).map(|c| Found {
                        line: i,
                        column: c.get(0).map_or(0, |m| m.start()),
                        caps: captures(re, &c),
                    })
                })
            })
            .collect(),
        Pattern::Within { window, lines: res } => {
            // A window starts at a line matching the first regex; every other regex must match
            // a line within `window` lines of it (before or after). Overlapping windows count
            // once: the next one starts after this one's start.
            let mut out = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if !may_match(i, 0) {
                    continue;
                }
                let Some(c0) = res[0].captures(&l.text) else {
                    continue;
                };
                let lo = i.saturating_sub(window - 1);
                let hi = (i + window).min(lines.len());
                let mut caps = captures(&res[0], &c0);
                let all = res.iter().enumerate().skip(1).all(|(j, re)| {
                    (lo..hi).any(|k| {
                        if !may_match(k, j) {
                            return false;
                        }
                        match re.captures(&lines[k].text) {
                            Some(c) => {
                                caps.extend(captures(re, &c));
                                true
                            }
                            None => false,
                        }
                    })
                });
                if all {
                    if out
                        .last()
                        .is_some_and(|prev: &Found| i < prev.line + window)
                    {
                        continue;
                    }
                    out.push(Found {
                        line: i,
                        column: c0.get(0).map_or(0, |m| m.start()),
                        caps,
                    });
                }
            }
            out
        }
    }
}

/// The named groups that took part in a match.
fn captures(re: &Regex, c: &regex::Captures<'_>) -> Captures {
    re.capture_names()
        .flatten()
        .filter_map(|n| c.name(n).map(|m| (n.to_string(), m.as_str().to_string())))
        .collect()
}

/// `{name}` → the capture; a group that did not take part is left out, with the space it
/// leaves (`Job {job} failed` without a job name reads `Job failed`).
fn fill(message: &str, caps: &Captures) -> String {
    let mut out = message.to_string();
    for name in super::signature::references(message) {
        match caps.get(name) {
            Some(v) => out = out.replace(&format!("{{{name}}}"), v),
            // `{host}:{port}` without a port reads `host`, not `host:`.
            None => {
                out = out
                    .replace(&format!(":{{{name}}}"), "")
                    .replace(&format!("{{{name}}}"), "")
            }
        }
    }
    out.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::causes::log::parse_text;
    use crate::causes::signature::parse_str;

    fn sigs() -> Vec<Signature> {
        parse_str(
            Path::new("t.kdl"),
            "signature \"pair\" {\n description \"d\"\n lines 3 { line \"first (?P<n>\\\\d+)\"; line \"second\"; }\n message \"n={n}\"\n}\n",
        )
        .unwrap()
    }

    #[test]
    fn a_lines_group_matches_only_within_its_window() {
        let near = parse_text("near".into(), None, None, "x\nfirst 7\ny\nsecond\n");
        let far = parse_text("far".into(), None, None, "first 8\na\nb\nc\nsecond\n");
        let (hits, _) = scan(&sigs(), &[far, near]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].source, "near");
        assert_eq!(hits[0].line, 2);
        assert_eq!(hits[0].message.as_deref(), Some("n=7"));
        assert_eq!(hits[0].count, 1);
    }

    fn parse(src: &str) -> Vec<Signature> {
        parse_str(Path::new("t.kdl"), src).unwrap()
    }

    #[test]
    fn the_cause_nearest_the_failure_is_primary_and_on_one_line_the_one_further_right() {
        let sigs = parse(
            r#"signature "atomic" { description "d"; line "rolled back due to atomic"; }
signature "backoff" { description "d"; line "BackoffLimitExceeded"; }
signature "early" { description "d"; line "warming up failed"; }"#,
        );
        let log = parse_text(
            "l".into(),
            None,
            None,
            "warming up failed\nok\nError: release x failed, and has been rolled back due to atomic being set: job failed: BackoffLimitExceeded\n##[error]Process completed with exit code 1.\n",
        );
        let (hits, _) = scan(&sigs, &[log]);
        let order: Vec<(&str, bool)> = hits
            .iter()
            .map(|h| (h.signature.as_str(), h.primary))
            .collect();
        assert_eq!(
            order,
            [("backoff", true), ("atomic", false), ("early", false)]
        );
    }

    #[test]
    fn the_reported_line_is_the_match_nearest_the_failure() {
        let sigs = parse(
            r#"signature "s" { description "d"; line "refused (?P<n>[0-9])"; message "n={n}"; }"#,
        );
        let log = parse_text(
            "l".into(),
            None,
            None,
            "refused 1\nrefused 2\nrefused 3\nError: gave up\nbye\n",
        );
        let (hits, _) = scan(&sigs, &[log]);
        assert_eq!((hits[0].line, hits[0].count), (3, 3));
        assert_eq!(hits[0].message.as_deref(), Some("n=3"));
    }

    #[test]
    fn an_unless_line_is_not_the_signatures() {
        let sigs = parse(
            r#"signature "svc" { description "d"; line "connection refused"; unless "probe failed"; }"#,
        );
        let probe = parse_text(
            "p".into(),
            None,
            None,
            "Liveness probe failed: dial tcp 10.0.0.1:80: connect: connection refused\n",
        );
        let app = parse_text(
            "a".into(),
            None,
            None,
            "dial tcp 10.0.0.1:5432: connect: connection refused\n",
        );
        let (hits, unmatched) = scan(&sigs, &[probe, app]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].source, "a");
        assert_eq!(unmatched[0].source, "p");
    }

    #[test]
    fn a_capture_that_did_not_take_part_is_left_out_of_the_message() {
        let caps: Captures = HashMap::new();
        assert_eq!(
            fill("Job {job} ran out of retries", &caps),
            "Job ran out of retries"
        );
        assert_eq!(
            fill(
                "{host}:{port} refused the connection",
                &caps_of(&[("host", "db")])
            ),
            "db refused the connection",
            "no dangling separator where the port was not printed"
        );
    }

    fn caps_of(pairs: &[(&str, &str)]) -> Captures {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_miss_shows_error_lines_without_stack_frames_or_repeats() {
        let log = parse_text(
            "l".into(),
            None,
            None,
            "building\nerror[E0308]: mismatched types\n   at Foo.bar (x.js:1:2)\nERR! Redis Client Error!\nERR! Redis Client Error!\nall done\n##[error]Process completed with exit code 1.\ncleanup\n",
        );
        let (_, unmatched) = scan(&[], &[log]);
        assert_eq!(
            unmatched[0].last_lines,
            [
                "error[E0308]: mismatched types",
                "ERR! Redis Client Error!",
                "Process completed with exit code 1."
            ]
        );
    }

    #[test]
    fn a_lines_group_may_match_in_either_order() {
        let log = parse_text("l".into(), None, None, "second\nfirst 1\n");
        let (hits, _) = scan(&sigs(), &[log]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].line, 2);
    }
}
