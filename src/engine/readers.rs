//! The readers of an edited values path that the plan's values do not render (a DaemonSet's
//! pod spec beside the Deployment that `.Values.kind` chooses): they are no other use of the
//! value (see `plan::route::other_uses`), but a scenario that renders them (`-f
//! ci/daemonset-values.yml`) shows the new value there. This finds, for each, the template
//! document and the rendered pointer the value lands at, so that the plan says so and render
//! verification expects exactly that change. It reads the templates; it never decides
//! whether an edit is safe.

use std::collections::HashMap;
use std::path::Path;

use crate::change::AlsoRead;
use crate::doc::template::reads::{self, Source};
use crate::doc::{Document, FileKind};
use crate::plan::guards::{self, LineFacts};
use crate::plan::route::{ValuesEdit, line_renders};
use crate::plan::view::ValuesView;
use crate::pointer::{pointer_keys, to_pointer};

/// Parsed templates, by path relative to the root (`None`: unreadable or not YAML).
pub(super) type Parsed = HashMap<String, Option<Document>>;

/// Every reader of `edit`'s values path that renders neither with the values today nor with
/// the edit: a read of a template, or an include of the define the edit's read is in.
pub(super) fn unrendered(
    root: &Path,
    edit: &ValuesEdit,
    view: &ValuesView,
    parsed: &mut Parsed,
) -> Vec<AlsoRead> {
    let keys = &edit.keys;
    let after = guards::with_edit(&view.model, keys, edit.value.as_ref());
    let facts_of = |file: &str, line: usize| view.lines.get(&(file.to_string(), line));
    let hidden = |f: &LineFacts| {
        f.define.is_none()
            && line_renders(f, view, &view.model, 0) == Some(false)
            && line_renders(f, view, &after, 0) == Some(false)
    };
    let mut out = Vec::new();
    // A template's own read of the path (a DaemonSet that prints `.Values.livenessProbe`).
    for r in view.reads.iter() {
        let own = r.file == edit.read_file && r.offset == edit.offset;
        if own || r.condition || r.through.is_some() || !keys.starts_with(&r.path) {
            continue;
        }
        let Some(facts) = facts_of(&r.file, r.line).filter(|f| hidden(f)) else {
            continue;
        };
        let rest = &keys[r.path.len()..];
        let found = locate(root, &r.file, parsed, |s| {
            s.include.is_none() && s.offset == r.offset && s.file.is_none()
        });
        if let Some((document, kind, at)) = found {
            push(
                &mut out, &r.file, r.line, document, kind, &at, rest, facts, view,
            );
        }
    }
    // An include of the define the read is in, from another template.
    let (Some(name), Some(outer), Some(own_site)) =
        (edit.defines.first(), &edit.outer, edit.through.first())
    else {
        return out;
    };
    let via = pointer_keys(&edit.via.pointer);
    let Some(rest) = via.get(outer.len()..).filter(|_| via.starts_with(outer)) else {
        return out;
    };
    for site in view.includes.iter().filter(|s| s.name == *name) {
        if (site.file == own_site.0 && site.offset == own_site.1) || site.dict {
            continue;
        }
        let Some(facts) = facts_of(&site.file, site.line).filter(|f| hidden(f)) else {
            continue;
        };
        let found = locate(root, &site.file, parsed, |s| {
            s.include.is_some() && s.offset == site.offset && s.file.is_none()
        });
        if let Some((document, kind, at)) = found {
            push(
                &mut out, &site.file, site.line, document, kind, &at, rest, facts, view,
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn push(
    out: &mut Vec<AlsoRead>,
    template: &str,
    line: usize,
    document: usize,
    kind: Option<String>,
    at: &[String],
    rest: &[String],
    facts: &LineFacts,
    view: &ValuesView,
) {
    let mut keys = at.to_vec();
    keys.extend(rest.iter().cloned());
    // The blocks that keep it from rendering: those whose branch today is not the line's.
    let when = facts
        .branches
        .iter()
        .filter(|b| guards::taken(b, &view.model).is_some_and(|t| t != Some(b.taken)))
        .map(|b| b.action.trim().to_string())
        .collect();
    let a = AlsoRead {
        template: template.to_string(),
        line,
        document,
        kind,
        pointer: to_pointer(&keys).to_string(),
        when,
    };
    if !out.contains(&a) {
        out.push(a);
    }
}

/// The document of `file` with a source that `is` picks: its index, literal `kind`, and the
/// source's pointer.
fn locate(
    root: &Path,
    file: &str,
    parsed: &mut Parsed,
    is: impl Fn(&Source) -> bool,
) -> Option<(usize, Option<String>, Vec<String>)> {
    let doc = parsed
        .entry(file.to_string())
        .or_insert_with(|| {
            let text = std::fs::read_to_string(root.join(file)).ok()?;
            Document::parse(file, text, FileKind::HelmTemplate).ok()
        })
        .as_ref()?;
    (0..doc.docs.len()).find_map(|i| {
        let s = reads::sources(doc, i).into_iter().find(|s| is(s))?;
        // A kind masked as a placeholder (`_…`) is not literal.
        let kind = doc.docs[i]
            .model
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .filter(|k| !k.starts_with('_'))
            .map(str::to_string);
        Some((i, kind, s.pointer))
    })
}
