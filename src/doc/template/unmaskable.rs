//! After the masked text failed to parse (the loader, `doc::Document::parse`, asks): finds an
//! inline action glued to the flow item before it and blanks it, and explains any other action
//! that masking cannot stand in for. Never changes what `mask` produces on its own.

use super::{Action, ActionKind, BOM, Masked, Unmaskable};

impl Masked {
    /// The inline action at `offset` (where a YAML parser of the masked text failed) when it
    /// is *glued* to the flow node before it: only blanks or line breaks separate it from the
    /// closing quote of a quoted scalar or the `]`/`}` of a collection, as in
    /// `["--a"{{ if .b }}, "--b"{{ end }}]`. Its output can only continue the collection
    /// (`, "--b"`) or be nothing, so a placeholder scalar there cannot parse while blanks can
    /// ([`Masked::blank_action`]). Returns its index in `actions`.
    pub fn glued_action_at(&self, offset: usize) -> Option<usize> {
        let k = self.actions.partition_point(|a| a.span.end <= offset);
        let a = self.actions.get(k)?;
        if a.whole_line || !a.span.contains(&offset) {
            return None;
        }
        let t = self.text.as_bytes();
        if t[a.span.clone()].iter().all(|c| c.is_ascii_whitespace()) {
            return None; // already blanked
        }
        let before = t[..a.span.start]
            .iter()
            .rev()
            .find(|c| !c.is_ascii_whitespace())?;
        matches!(before, b'"' | b'\'' | b']' | b'}').then_some(k)
    }

    /// Re-masks action `k` as blanks (line breaks kept): for an action glued to the node
    /// before it ([`Masked::glued_action_at`]). Same length, so spans and `unmask` hold.
    pub fn blank_action(&mut self, k: usize) {
        let Some(span) = self.actions.get(k).map(|a| a.span.clone()) else {
            return;
        };
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        for c in &mut bytes[span] {
            if *c != b'\n' && *c != b'\r' {
                *c = b' ';
            }
        }
        // Masked action bytes are ASCII and so are blanks: the text stays UTF-8.
        self.text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    }

    /// Explains a YAML error in the masked text (at byte `offset`, inside the construct that
    /// starts at `context`) as an action that masking cannot stand in for: the action to blame
    /// and what shape it is in. `None` when no inline action is near the error.
    pub fn explain_unmaskable(
        &self,
        src: &str,
        offset: usize,
        context: Option<usize>,
    ) -> Option<Unmaskable> {
        let t = self.text.as_bytes();
        let flow = context.and_then(|c| match t.get(c) {
            Some(b'[') => Some((c, "flow sequence `[...]`")),
            Some(b'{') => Some((c, "flow mapping `{...}`")),
            _ => None,
        });
        let line_of = |at: usize| t[..at.min(t.len())].iter().filter(|&&c| c == b'\n').count() + 1;
        // The inline action at the error, else the last one before it: inside the flow
        // collection the error is in, or on the error's line or the line before.
        let line_start = |at: usize| {
            t[..at.min(t.len())]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
        };
        let lower = match flow {
            Some((c, _)) => c,
            // From the line before the error, or before the construct it is in (a simple key
            // libyaml was scanning), whichever is earlier.
            None => {
                let from = context.map_or(offset, |c| c.min(offset));
                line_start(line_start(from).saturating_sub(1))
            }
        };
        let end = self.actions.partition_point(|a| a.span.start <= offset);
        let near = || {
            self.actions[..end]
                .iter()
                .rev()
                .take_while(|a| a.span.end > lower)
        };
        // Inside a flow collection, a whole-line action is a comment line, which ends a plain
        // scalar that the rendered text continues on the next line.
        if let Some((c, what)) = flow
            && let Some(a) = near().next().filter(|a| a.whole_line)
            && t[..a.span.start]
                .iter()
                .rev()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| !b",[{:\"'}]".contains(c))
        {
            return Some(self.unmaskable_at(
                src,
                a,
                format!(
                    "stands on a line of its own inside a {what} (opened at line {}): masked as \
                     a comment line, it ends the unquoted item before it, which the rendered \
                     text continues; separate the items with `,` or quote them",
                    line_of(c)
                ),
            ));
        }
        let a = near().find(|a| !a.whole_line)?;
        let text = src.get(a.span.clone())?;
        let shape = if text.starts_with("{{{") {
            "starts with `{{{`: Go templates read `{{` and then a stray `{` (Helm fails to \
             render it too); put a space between a flow mapping's `{` and the action: `{ {{`"
                .to_string()
        } else if self.glued_action_at(a.span.start).is_some()
            || t[a.span.clone()].iter().all(|c| c.is_ascii_whitespace())
        {
            "follows a quoted item or a closed collection with no `,` between: its output \
             must supply the separator, which masking cannot check"
                .to_string()
        } else if matches!(
            a.kind,
            ActionKind::Open(_) | ActionKind::Else | ActionKind::End
        ) {
            format!(
                "is a control action in the middle of a line: masking keeps every branch, so \
                 the masked line holds them all{}; put each branch on lines of its own",
                if text.starts_with("{{-") || text.ends_with("-}}") {
                    " (and its `-` trim markers join lines when rendered)"
                } else {
                    ""
                }
            )
        } else if let Some((c, what)) = flow {
            format!(
                "is inside a {what} (opened at line {}) and prints part of its syntax (items \
                 with their own commas, `key: value` pairs, brackets), which a same-length \
                 placeholder cannot stand in for; write the collection as a block list or \
                 mapping, or render the whole value with one action (`{{{{ toYaml ... }}}}`)",
                line_of(c)
            )
        } else {
            "prints YAML structure in the middle of a line, which a same-length placeholder \
             cannot stand in for; put the action on a line of its own"
                .to_string()
        };
        Some(self.unmaskable_at(src, a, shape))
    }

    fn unmaskable_at(&self, src: &str, a: &Action, shape: String) -> Unmaskable {
        let line_start = src.as_bytes()[..a.span.start]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let col = src
            .get(line_start..a.span.start)
            .map_or(0, |s| s.trim_start_matches(BOM).chars().count())
            + 1;
        let text = src.get(a.span.clone()).unwrap_or_default();
        let shown: String = text.chars().take(60).collect();
        let shown = if shown.len() < text.len() {
            format!("{shown}...")
        } else {
            shown
        };
        Unmaskable {
            line: a.line,
            col,
            action: shown.replace('\n', " "),
            shape,
        }
    }
}
