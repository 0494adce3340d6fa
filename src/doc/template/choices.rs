//! Masking an `if`/`else` that chooses one word in the middle of a line: the whole block, from
//! its `if` to its `end`, is one action for the YAML parser, masked as one placeholder.
//!
//! Two shapes (prometheus-blackbox-exporter's `templates/configmap.yaml`):
//!
//! - a mapping key: `{{ if .Values.secretConfig -}} stringData: {{- else -}} data: {{- end }}`,
//!   alone on its line, every branch a single `key:`: masked as one placeholder key (`_…:`),
//!   whose name patcher does not know;
//! - a scalar value: `kind: {{ if .Values.secretConfig -}} Secret {{- else -}} ConfigMap
//!   {{- end }}` (and jupyterhub's `level: {{ if .Values.debug.enabled -}} DEBUG {{- else -}}
//!   WARN {{- end }}`), every branch one plain word: masked as one placeholder scalar.
//!
//! Only a block with a plain `else` (one branch always renders) whose branches hold no other
//! action; any other shape is left to the ordinary rules (and, when it leaves invalid YAML, to
//! `Masked::explain_unmaskable`). Never changes anything but the bytes of the blocks it takes.

use std::ops::Range;

use super::{Action, ActionKind, BlockKind, LineIndex, placeholder};

/// One block masked as a single placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// From the `{{` of the `if` to the `}}` of its `end`.
    pub span: Range<usize>,
    /// 1-based line.
    pub line: usize,
    /// It chooses a mapping key (else a scalar value).
    pub key: bool,
    /// What each branch prints (a key without its `:`).
    pub words: Vec<String>,
}

/// Finds the choice blocks among `actions` and masks each into `out`.
pub(super) fn mask_choices(
    b: &[u8],
    actions: &[Action],
    lines: &LineIndex,
    out: &mut [u8],
) -> Vec<Choice> {
    let mut found = Vec::new();
    let mut k = 0;
    while k < actions.len() {
        let line = actions[k].line;
        let end = actions[k..]
            .iter()
            .position(|a| a.line != line)
            .map_or(actions.len(), |n| k + n);
        if let Some(c) = choice_on_line(b, &actions[k..end], lines) {
            let len = c.span.len();
            let mut ph = placeholder(&b[c.span.clone()], len);
            if c.key {
                ph[len - 1] = b':';
            }
            out[c.span.clone()].copy_from_slice(&ph);
            found.push(c);
        }
        k = end;
    }
    found
}

/// The choice block of one line, when the line's actions are exactly `if`, `else`… , `end`.
fn choice_on_line(b: &[u8], on_line: &[Action], lines: &LineIndex) -> Option<Choice> {
    let (first, last) = (on_line.first()?, on_line.last()?);
    if !matches!(
        first.kind,
        ActionKind::Open(BlockKind::If | BlockKind::With)
    ) || last.kind != ActionKind::End
        || on_line.len() < 3
        || on_line.iter().any(|a| a.whole_line)
        || on_line[1..on_line.len() - 1]
            .iter()
            .any(|a| a.kind != ActionKind::Else)
    {
        return None;
    }
    // Single-line actions only, and the last `else` plain: one branch always renders.
    if on_line.iter().any(|a| b[a.span.clone()].contains(&b'\n')) {
        return None;
    }
    let last_else = &b[on_line[on_line.len() - 2].span.clone()];
    let words = String::from_utf8_lossy(last_else);
    let inner = words
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim_matches('-')
        .trim();
    if inner != "else" {
        return None;
    }
    let content = lines.content(b, first.line - 1);
    let prefix = std::str::from_utf8(&b[content.start..first.span.start]).ok()?;
    let suffix = &b[last.span.end..content.end];
    if !suffix.iter().all(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let branches: Vec<&str> = on_line
        .windows(2)
        .map(|w| std::str::from_utf8(&b[w[0].span.end..w[1].span.start]).map(str::trim))
        .collect::<Result<_, _>>()
        .ok()?;
    let word = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-/".contains(&c))
    };
    let key = if prefix.trim().is_empty()
        && branches
            .iter()
            .all(|t| t.strip_suffix(':').is_some_and(word))
    {
        true
    } else if (prefix.trim_end().ends_with(':') || prefix.trim() == "-")
        && branches.iter().all(|t| word(t))
    {
        false
    } else {
        return None;
    };
    Some(Choice {
        span: first.span.start..last.span.end,
        line: first.line,
        key,
        words: branches
            .iter()
            .map(|t| t.trim_end_matches(':').to_string())
            .collect(),
    })
}
