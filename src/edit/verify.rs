//! Verification of every write: the new text re-parses to exactly the planned patch, and the
//! lines outside the edited spans are byte-identical. (The engine also re-plans the new text
//! and requires an empty plan.)

use serde_json::Value;

use crate::change::PlannedOp;
use crate::doc::{Document, template};
use crate::pointer::values_equal;

use super::{Refusal, Splice};

/// Checks `new_text` (the result of `splices` on `old`) against the planned ops.
pub fn verify(
    old: &Document,
    new_text: &str,
    splices: &[Splice],
    ops: &[(usize, Vec<PlannedOp>)],
) -> Result<Document, Refusal> {
    verify_against(old, new_text, splices, ops, None)
}

/// [`verify`] of what [`super::edit`] returned, reusing the models it patched (the same
/// `json_patch` of the same ops on the same model) instead of patching copies again.
pub fn verify_edited(
    old: &Document,
    edited: &super::Edited,
    ops: &[(usize, Vec<PlannedOp>)],
) -> Result<Document, Refusal> {
    verify_against(
        old,
        &edited.text,
        &edited.splices,
        ops,
        Some(&edited.models),
    )
}

fn verify_against(
    old: &Document,
    new_text: &str,
    splices: &[Splice],
    ops: &[(usize, Vec<PlannedOp>)],
    patched: Option<&[(usize, Value)]>,
) -> Result<Document, Refusal> {
    let refuse = |line: Option<usize>, pointer: String, message: String| Refusal {
        path: old.path.clone(),
        line,
        pointer,
        message,
    };
    check_untouched_bytes(&old.text, new_text, splices)
        .map_err(|m| refuse(None, String::new(), m))?;
    let new = Document::parse(old.path.clone(), new_text.to_string(), old.kind).map_err(|e| {
        refuse(
            Some(e.line),
            String::new(),
            format!(
                "the edited text does not parse ({}); nothing was written",
                e.message
            ),
        )
    })?;
    let old_count = old.docs.len().max(1);
    if new.docs.len() != old_count && !(old.docs.is_empty() && new.docs.len() == 1) {
        return Err(refuse(
            None,
            String::new(),
            format!(
                "the edit changed the number of documents from {} to {}",
                old.docs.len(),
                new.docs.len()
            ),
        ));
    }
    // A template's ops carry action text the re-parse sees masked: patch with masked ops.
    let patched = patched.filter(|_| old.masked.is_none());
    for (i, got) in new.docs.iter().map(|d| &d.model).enumerate() {
        let edited = ops.iter().any(|(idx, o)| *idx == i && !o.is_empty());
        let reused = patched.and_then(|p| p.iter().find(|(idx, _)| *idx == i).map(|(_, m)| m));
        let unchanged = old.docs.get(i).map(|d| &d.model).filter(|_| !edited);
        let owned;
        let expected = match reused.or(unchanged) {
            Some(m) => m,
            None => {
                let doc_ops: Vec<_> = ops
                    .iter()
                    .filter(|(idx, _)| *idx == i)
                    .flat_map(|(_, o)| o.iter().map(|p| canonical_op(&p.op, old.masked.is_some())))
                    .collect();
                let mut m = old.docs.get(i).map_or(Value::Null, |d| d.model.clone());
                json_patch::patch(&mut m, &doc_ops).map_err(|e| {
                    refuse(
                        None,
                        String::new(),
                        format!("the plan does not apply to the model: {e}"),
                    )
                })?;
                owned = m;
                &owned
            }
        };
        if !values_equal(got, expected) {
            let pointer = first_difference(got, expected, String::new());
            return Err(refuse(
                None,
                pointer.clone(),
                format!(
                    "the edited text does not mean exactly the planned patch (first difference at `{pointer}`)"
                ),
            ));
        }
    }
    check_template_structure(old, splices).map_err(|m| refuse(None, String::new(), m))?;
    Ok(new)
}

/// Template actions and blocks are either untouched or removed whole: no splice cuts
/// through an action, removes one end of a block (or an `else`) without the rest, or inserts
/// an unbalanced block.
fn check_template_structure(old: &Document, splices: &[Splice]) -> Result<(), String> {
    let Some(m) = &old.masked else {
        return Ok(());
    };
    let removed = |at: usize| splices.iter().any(|s| s.start <= at && at < s.end);
    for a in &m.actions {
        for s in splices {
            let overlap = a.span.start < s.end && s.start < a.span.end;
            let inside = s.start <= a.span.start && a.span.end <= s.end;
            if overlap && !inside {
                return Err(format!(
                    "an edit cuts through the template action at line {}",
                    a.line
                ));
            }
        }
    }
    // Pair each block's opening, `else` and `end` actions; they go together or not at all.
    let mut stack: Vec<Vec<&template::Action>> = Vec::new();
    for a in &m.actions {
        match a.kind {
            template::ActionKind::Open(_) => stack.push(vec![a]),
            template::ActionKind::Else => {
                if let Some(top) = stack.last_mut() {
                    top.push(a);
                }
            }
            template::ActionKind::End => {
                if let Some(mut parts) = stack.pop() {
                    parts.push(a);
                    let gone: Vec<bool> = parts.iter().map(|p| removed(p.span.start)).collect();
                    if gone.iter().any(|g| *g) && !gone.iter().all(|g| *g) {
                        return Err(format!(
                            "the edit would remove part of the template block opened at line {}",
                            parts[0].line
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    // Inserted lines right after an action whose ` -}}` trims the following line break would
    // be joined to the text before it when rendered; masked, the action looks like a comment.
    for s in splices
        .iter()
        .filter(|s| s.start == s.end && s.text.contains('\n'))
    {
        let before = old.text[..s.start].trim_end().len();
        if before < s.start
            && let Some(a) = m.actions.iter().find(|a| a.span.end == before)
            && super::guard::trims_right(&old.text[a.span.clone()])
        {
            return Err(format!(
                "the inserted lines follow the template action at line {} whose `-}}}}` would join them to the text before it",
                a.line
            ));
        }
    }
    for s in splices.iter().filter(|s| template::has_actions(&s.text)) {
        let inserted =
            template::mask(&s.text).map_err(|e| format!("inserted text: {}", e.message))?;
        if inserted.blocks.iter().any(|b| b.end_line.is_none()) {
            return Err("the inserted text opens a template block it does not close".into());
        }
    }
    Ok(())
}

/// In templates, expected strings are compared in masked form (actions in recipe snippets
/// become the same placeholders the re-parse sees).
fn canonical_op(op: &json_patch::PatchOperation, templated: bool) -> json_patch::PatchOperation {
    if !templated {
        return op.clone();
    }
    let mut op = op.clone();
    match &mut op {
        json_patch::PatchOperation::Add(o) => mask_strings(&mut o.value),
        json_patch::PatchOperation::Replace(o) => mask_strings(&mut o.value),
        _ => {}
    }
    op
}

fn mask_strings(v: &mut Value) {
    match v {
        // A multi-line value is a block scalar (its lines are file lines); a one-line value
        // shares its line with its key, so its actions are inline placeholders.
        Value::String(s) if template::has_actions(s) => {
            *s = if s.contains('\n') {
                template::mask_fragment(s)
            } else {
                template::mask_fragment_inline(s)
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask_strings),
        Value::Object(m) => {
            let old = std::mem::take(m);
            for (k, mut child) in old {
                mask_strings(&mut child);
                let k = if template::has_actions(&k) {
                    template::mask_fragment_inline(&k)
                } else {
                    k
                };
                m.insert(k, child);
            }
        }
        _ => {}
    }
}

/// Every byte outside the splices must be where the splices put it.
pub fn check_untouched_bytes(old: &str, new: &str, splices: &[Splice]) -> Result<(), String> {
    let mut old_at = 0;
    let mut new_at = 0;
    for s in splices {
        let keep = &old[old_at..s.start];
        if new.get(new_at..new_at + keep.len()) != Some(keep) {
            return Err(format!(
                "bytes before offset {} changed outside the planned edits",
                s.start
            ));
        }
        new_at += keep.len() + s.text.len();
        old_at = s.end;
    }
    if new.get(new_at..) != Some(&old[old_at..]) {
        return Err("bytes after the last edit changed".into());
    }
    Ok(())
}

fn first_difference(a: &Value, b: &Value, at: String) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if values_equal(v, w) => {}
                    Some(w) => {
                        return first_difference(
                            v,
                            w,
                            format!("{at}/{}", crate::path::escape_key(k)),
                        );
                    }
                    None => return format!("{at}/{}", crate::path::escape_key(k)),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map_or(at.clone(), |k| {
                    format!("{at}/{}", crate::path::escape_key(k))
                })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if !values_equal(v, w) {
                    return first_difference(v, w, format!("{at}/{i}"));
                }
            }
            at
        }
        _ => {
            if at.is_empty() {
                "/".into()
            } else {
                at
            }
        }
    }
}
