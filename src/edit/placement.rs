//! Where new keys go in a block mapping: the recipe's `after=`/`before=` sibling, else
//! after the last sibling; in templates only at a template-safe place (outside blocks the
//! mapping does not share, not glued to a neighbour by a `-}}`/`{{-` trim marker), falling
//! back to after an earlier sibling, then before the first; and with a blank line around the
//! new key where the mapping's keys are separated by blank lines.

use crate::doc::Entry;
use crate::recipe::Placement;

use super::guard::{trims_left, trims_right};
use super::*;

/// Where one or more new keys go.
pub(super) struct Site {
    pub at: usize,
    /// The entry it follows (`None`: before the first).
    pub after: Option<usize>,
    /// Indices into the added keys, in their order.
    pub keys: Vec<usize>,
}

impl Editor<'_> {
    /// Picks the insertion point of each added key of block mapping `entries`.
    pub(super) fn sites(
        &self,
        entries: &[Entry],
        added: &[(&String, &Value)],
        path: &[String],
        owner_line: usize,
        offset: usize,
    ) -> Result<Vec<Site>, Refusal> {
        let target = self
            .doc
            .masked
            .as_ref()
            .map(|m| m.open_blocks_at_line(owner_line + 1))
            .unwrap_or_default();
        // The default order of preference: after the last sibling, after earlier ones, then
        // before the first.
        let default: Vec<Option<usize>> = (0..entries.len())
            .rev()
            .map(Some)
            .chain(std::iter::once(None))
            .collect();
        let mut sites: Vec<Site> = Vec::new();
        for (k, (key, _)) in added.iter().enumerate() {
            let hinted = self.hint(path, key).and_then(|h| {
                let (name, after) = match h {
                    Placement::After(n) => (n, true),
                    Placement::Before(n) => (n, false),
                };
                let i = entries.iter().position(|e| &e.key == name)?;
                Some(if after { Some(i) } else { i.checked_sub(1) })
            });
            let mut first_reason = None;
            let mut found = None;
            for cand in hinted.into_iter().chain(default.iter().copied()) {
                let point = match cand {
                    Some(i) => self.after_entry(entries, i, &target),
                    None => self.before_first(entries, owner_line, &target),
                };
                match point {
                    Ok(at) => {
                        found = Some((at, cand));
                        break;
                    }
                    Err(why) => {
                        first_reason.get_or_insert(why);
                    }
                }
            }
            let Some((at, after)) = found else {
                return Err(self.refuse(
                    offset,
                    path,
                    format!(
                        "no template-safe place to insert `{key}` here: {}; no other place between the mapping's keys is safe either",
                        first_reason.unwrap_or_else(|| "the mapping has no keys".into())
                    ),
                ));
            };
            match sites.iter_mut().find(|s| s.at == at) {
                Some(s) => s.keys.push(k),
                None => sites.push(Site {
                    at,
                    after,
                    keys: vec![k],
                }),
            }
        }
        Ok(sites)
    }

    /// The recipe's placement hint for the new key `key` under `path`.
    fn hint(&self, path: &[String], key: &str) -> Option<&Placement> {
        let mut full = path.to_vec();
        full.push(key.to_string());
        let pointer = crate::pointer::to_pointer(&full);
        self.ops
            .iter()
            .find(|o| {
                matches!(o.op, json_patch::PatchOperation::Add(_)) && o.path() == pointer.as_str()
            })
            .and_then(|o| o.placement.as_ref())
    }

    /// The end of entry `idx`'s whole extent, moved past the `else`/`end` lines of blocks
    /// the mapping does not share; or why no key can go there.
    fn after_entry(
        &self,
        entries: &[Entry],
        idx: usize,
        target: &[usize],
    ) -> Result<usize, String> {
        let e = &entries[idx];
        let end = self.extent_end(e.value, self.col(e.start), e.key_span.1);
        self.settle(end, target)
            .map_err(|why| format!("after `{}`, {why}", e.key))
    }

    /// The start of the first key's line (above the comment lines that describe it, when the
    /// mapping is nested under a key).
    fn before_first(
        &self,
        entries: &[Entry],
        owner_line: usize,
        target: &[usize],
    ) -> Result<usize, String> {
        let first = entries.first().ok_or("the mapping has no keys")?;
        let mut line = self.doc.line_of(first.start);
        let line_start = self.doc.line_start(line);
        if !self.doc.text[line_start..first.start].trim().is_empty() {
            return Err(format!(
                "before `{}`, the key shares its line with other syntax",
                first.key
            ));
        }
        while line > owner_line + 1
            && self.lines.get(line - 1).is_none()
            && self
                .doc
                .masked_line_text(line - 1)
                .trim_start()
                .starts_with('#')
        {
            line -= 1;
        }
        let at = self.doc.line_start(line);
        self.check_place(at, target)
            .map(|()| at)
            .map_err(|why| format!("before `{}`, {why}", first.key))
    }

    /// Moves `at` past the `else`/`end` and blank lines of blocks the mapping does not share,
    /// then checks the place.
    pub(super) fn settle(&self, mut at: usize, target: &[usize]) -> Result<usize, String> {
        if let Some(m) = &self.doc.masked {
            while at < self.doc.text.len() {
                let line = self.doc.line_of(at);
                let here = m.open_blocks_at_line(line + 1);
                if !(here.len() > target.len()
                    && here.starts_with(target)
                    && self.is_branch_line(line))
                {
                    break;
                }
                at = self.doc.line_start(line + 1);
            }
        }
        self.check_place(at, target).map(|()| at)
    }

    /// A line start where inserted lines render exactly once and on their own lines: inside
    /// the same template blocks as the mapping, not after an action whose `-}}` trims the line
    /// break that follows, and not before one whose `{{-` trims the line break before it
    /// unless what it prints starts on a new line anyway.
    fn check_place(&self, at: usize, target: &[usize]) -> Result<(), String> {
        let Some(m) = &self.doc.masked else {
            return Ok(());
        };
        let text = &self.doc.text;
        let line = self.doc.line_of(at.min(text.len()));
        if at < text.len() && m.open_blocks_at_line(line + 1) != target {
            return Err(format!(
                "line {} is inside a template block that the mapping does not share",
                line + 1
            ));
        }
        let before = text[..at].trim_end().len();
        if let Some(a) = m.actions.iter().find(|a| a.span.end == before)
            && trims_right(&text[a.span.clone()])
        {
            return Err(format!(
                "the `-}}}}` of `{}` at line {} would join the new line to the text before it",
                text[a.span.clone()].trim(),
                a.line
            ));
        }
        let after = text.len() - text[at..].trim_start().len();
        if let Some(i) = m.actions.iter().position(|a| a.span.start == after)
            && trims_left(&text[m.actions[i].span.clone()])
            && !self.starts_new_line(i)
        {
            let a = &m.actions[i];
            return Err(format!(
                "the `{{{{-` of `{}` at line {} would join what it prints to the new line",
                text[a.span.clone()].trim(),
                a.line
            ));
        }
        Ok(())
    }

    /// Whether what follows action `i`, once its `{{-` has trimmed the line break before it,
    /// still starts on a new line: it prints `nindent` output, or it prints nothing and is
    /// followed by its own line break (for a block: its `else`/`end` too), by the end of the
    /// file, or (after its own `-}}`) by another action of which all this holds.
    fn starts_new_line(&self, i: usize) -> bool {
        let Some(m) = &self.doc.masked else {
            return true;
        };
        let text = &self.doc.text;
        let newline_after = |j: usize| {
            let b = &m.actions[j];
            let rest = &text[b.span.end..];
            if !trims_right(&text[b.span.clone()]) {
                return rest.split('\n').next().is_some_and(|l| l.trim().is_empty());
            }
            let next = text.len() - rest.trim_start().len();
            next == text.len()
                || m.actions[j + 1..]
                    .first()
                    .is_some_and(|n| n.span.start == next && self.starts_new_line(j + 1))
        };
        let a = &m.actions[i];
        match a.kind {
            ActionKind::Output => guard::number_after(&text[a.span.clone()], "nindent").is_some(),
            ActionKind::Open(_) => {
                let mut depth = 0usize;
                for (j, b) in m.actions.iter().enumerate().skip(i + 1) {
                    match b.kind {
                        ActionKind::Open(_) => depth += 1,
                        ActionKind::End if depth == 0 => {
                            return newline_after(i) && newline_after(j);
                        }
                        ActionKind::End => depth -= 1,
                        ActionKind::Else if depth == 0 && !newline_after(j) => return false,
                        _ => {}
                    }
                }
                false
            }
            _ => newline_after(i),
        }
    }

    /// Whether the mapping's keys are separated by blank lines (most gaps between them hold
    /// one), so a new key gets one too.
    pub(super) fn blank_separated(&self, entries: &[Entry]) -> bool {
        let gaps = entries.len().saturating_sub(1);
        let blank = entries
            .windows(2)
            .filter(|w| {
                let from = self
                    .doc
                    .line_of(self.tree.node(w[0].value).end.max(w[0].key_span.1));
                let to = self.doc.line_of(w[1].start);
                (from + 1..to).any(|l| self.doc.line_text(l).trim().is_empty())
            })
            .count();
        gaps > 0 && blank * 2 > gaps
    }
}
