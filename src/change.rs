//! What a run changes, as data the stages hand each other: each op the planner asks for
//! ([`PlannedOp`], with the template field a values edit stands for, [`Via`]), each verified
//! file change ([`FileChange`]) and where its ops land in the original text ([`OpSite`],
//! [`op_sites`], computed from the document and its ops alone). No stage calls live here.

use std::sync::Arc;

use json_patch::PatchOperation;
use serde::Serialize;
use serde_json::Value;

use crate::doc::Document;
use crate::pointer::pointer_keys;
use crate::recipe::{Origin, Placement};

/// One planned operation, tagged with the recipe (and recipe line) that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOp {
    pub op: PatchOperation,
    pub recipe: Arc<str>,
    pub origin: Origin,
    /// When the op's value (or part of it) came from a `(yaml)` snippet: the pointer where
    /// the snippet's root lands and the snippet text, so the editor can keep its comments
    /// and block scalars.
    pub snippet: Option<(String, Arc<str>)>,
    /// Editor data beside the op, not part of it: for an `add` of a new mapping key, the
    /// sibling it goes next to (`after=`/`before=` in the recipe).
    pub placement: Option<Placement>,
    /// On a values file: the template line and rendered pointer this op stands for.
    pub via: Option<Via>,
}

impl PlannedOp {
    pub fn path(&self) -> &str {
        match &self.op {
            PatchOperation::Add(o) => o.path.as_str(),
            PatchOperation::Remove(o) => o.path.as_str(),
            PatchOperation::Replace(o) => o.path.as_str(),
            PatchOperation::Move(o) => o.path.as_str(),
            PatchOperation::Copy(o) => o.path.as_str(),
            PatchOperation::Test(o) => o.path.as_str(),
        }
    }

    /// The op as RFC 6902 JSON with an extra `recipe` member.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.op).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("recipe".into(), Value::String(self.recipe.to_string()));
            if let Some(via) = &self.via {
                m.insert(
                    "via".into(),
                    serde_json::to_value(via).unwrap_or(Value::Null),
                );
            }
        }
        v
    }
}

/// The template line an op on a values file stands for, and the rendered pointer it sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    /// The template file, relative to the root.
    pub template: String,
    /// 1-based line of the action that reads the value.
    pub line: usize,
    /// Index of the YAML document (`---`) of the template the pointer is in.
    pub document: usize,
    /// The pointer in the rendered object (the template document) that the op changes.
    pub pointer: String,
    /// The read is in a named template the template includes: `line` is then the line of
    /// the `include`, and this says where the read is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub define: Option<DefineRead>,
    /// The `if`s around the read that are false with the values today and hold with the
    /// new value: the edit makes the field render (a `0` that disabled it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enables: Vec<GuardNote>,
    /// The chart-testing scenarios (`ci/*.yaml`, relative to the chart) the op was planned
    /// in, when not the chart's default values: the field renders only there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// Why the value is not the one a single scenario asks (`at-least` floors that differ
    /// between scenarios: the largest holds in each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Other readers of the same values path that do not render with the values the plan
    /// sees, and so are not another use (a DaemonSet beside the Deployment that `kind`
    /// chooses): where the new value renders in their objects when a scenario renders them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoRead>,
}

/// A reader of an edited values path in another template, excluded from the rendered
/// objects by an `if` that is false with the plan's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlsoRead {
    /// The template (relative to the root), its YAML document index and literal `kind`.
    pub template: String,
    /// The 1-based line of its read (or of its include of the define the read is in): the
    /// use that the other-use checks leave to render verification. Not in the output.
    #[serde(skip)]
    pub line: usize,
    pub document: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The rendered pointer that the new value changes in that document's object.
    pub pointer: String,
    /// The `if`s (text) that are false now and would render it.
    pub when: Vec<String>,
}

/// A template condition, where it is and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardNote {
    /// The file (relative to the root) and the 1-based line of the `if`/`with`.
    pub file: String,
    pub line: usize,
    pub action: String,
}

/// A values read inside the body of a `define`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefineRead {
    pub name: String,
    /// The file holding the define (relative to the root) and the read's 1-based line.
    pub file: String,
    pub line: usize,
}

impl Via {
    /// `read by templates/api.yaml:9 as /spec/x`; for a read in a define, `read by
    /// templates/_helpers.tpl:230 in define "x.podSpec", included at templates/api.yaml:40,
    /// as /spec/…`. File names are shown relative to `chart` when inside it.
    pub fn describe(&self, chart: &str) -> String {
        let rel = |f: &'_ str| -> String {
            f.strip_prefix(chart)
                .and_then(|t| t.strip_prefix('/'))
                .filter(|_| !chart.is_empty())
                .unwrap_or(f)
                .to_string()
        };
        let read = match &self.define {
            None => format!(
                "read by {}:{} as {}",
                rel(&self.template),
                self.line,
                self.pointer
            ),
            Some(d) => format!(
                "read by {}:{} in define \"{}\", included at {}:{}, as {}",
                rel(&d.file),
                d.line,
                d.name,
                rel(&self.template),
                self.line,
                self.pointer
            ),
        };
        let guards: Vec<String> = self
            .enables
            .iter()
            .map(|g| format!("`{}` at {}:{}", g.action.trim(), rel(&g.file), g.line))
            .collect();
        let mut out = if guards.is_empty() {
            read
        } else {
            format!(
                "{read}; with the new value {} holds, so the field renders",
                guards.join(" and ")
            )
        };
        match self.scenarios.as_slice() {
            [] => {}
            [one] => out.push_str(&format!(" (in the {one} scenario)")),
            [rest @ .., last] => out.push_str(&format!(
                " (in the {} and {last} scenarios)",
                rest.join(", ")
            )),
        }
        let also: Vec<String> = self
            .also
            .iter()
            .map(|a| {
                let kind = a.kind.as_ref().map_or(String::new(), |k| format!(" ({k})"));
                let when = if a.when.is_empty() {
                    String::new()
                } else {
                    let conds: Vec<String> = a.when.iter().map(|w| format!("`{w}`")).collect();
                    format!(" when {} holds", conds.join(" and "))
                };
                format!("{}{kind} as {}{when}", rel(&a.template), a.pointer)
            })
            .collect();
        if !also.is_empty() {
            out.push_str(&format!("; also rendered by {}", also.join(", ")));
        }
        if let Some(n) = &self.note {
            out.push_str(&format!("; {n}"));
        }
        out
    }
}

/// One file the plan changes, already verified.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Relative to the root, with `/` separators.
    pub path: String,
    pub old_text: String,
    pub new_text: String,
    /// The file did not exist (`create=#true`).
    pub created: bool,
    /// Ops by document index.
    pub docs: Vec<(usize, Vec<PlannedOp>)>,
    /// Where each op lands in the old text and what was there, parallel to `docs`.
    pub sites: Vec<Vec<OpSite>>,
    /// Guarded text edits (`text` rules), for files that are not YAML.
    pub text_ops: Vec<TextOp>,
}

/// One applied `text` edit, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOp {
    pub recipe: Arc<str>,
    pub origin: Origin,
    pub summary: String,
    /// 1-based line in the old text.
    pub line: usize,
}

/// Where an op applies in the original file: the node it changes, or the nearest existing
/// parent when it adds something, and the value found there before the change.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSite {
    /// 1-based line and column.
    pub line: usize,
    pub col: usize,
    /// The old value at the op's path (`None` when the path did not exist).
    pub found: Option<Value>,
    /// The op's path in the original document (list indices before earlier insertions and
    /// removals in the same patch).
    pub pointer: String,
}

/// Locates `pointer` in document `index` of `doc`: the deepest node along it that exists.
pub fn locate(doc: &Document, index: usize, pointer: &str) -> OpSite {
    let Some(ydoc) = doc.docs.get(index) else {
        return OpSite {
            line: 1,
            col: 1,
            found: None,
            pointer: pointer.to_string(),
        };
    };
    let keys = pointer_keys(pointer);
    let found = crate::pointer::lookup(&ydoc.model, &keys).cloned();
    let (line, col) = doc.line_col(ydoc.tree.position(&keys));
    OpSite {
        line,
        col,
        found,
        pointer: pointer.to_string(),
    }
}

/// The site of each op of one document in the original text. Ops apply in order, so an op's
/// path counts list items after the insertions and removals before it: map it back through
/// them first. A node inside an item that an earlier op inserted did not exist: it is sited
/// at the item it goes before (or its list), with nothing found.
pub fn op_sites(doc: &Document, index: usize, ops: &[PlannedOp]) -> Vec<OpSite> {
    // The model as the ops so far left it: cloned only once an op changes it for a later op.
    let null = Value::Null;
    let mut model = std::borrow::Cow::Borrowed(doc.docs.get(index).map_or(&null, |d| &d.model));
    // (list path, index, inserted?) of each list insertion or removal so far.
    let mut shifts: Vec<(Vec<String>, usize, bool)> = Vec::new();
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let tokens = pointer_keys(op.path());
        let mut keys = tokens.clone();
        // Keys past `existing` lie inside an item an earlier op inserted.
        let mut existing = keys.len();
        for (list, k, inserted) in shifts.iter().rev() {
            let n = list.len();
            if keys.len() <= n || keys[..n] != list[..] {
                continue;
            }
            let Ok(j) = keys[n].parse::<usize>() else {
                continue;
            };
            if *inserted {
                if j == *k {
                    existing = existing.min(n + 1);
                } else if j > *k {
                    keys[n] = (j - 1).to_string();
                }
            } else if j >= *k {
                keys[n] = (j + 1).to_string();
            }
        }
        let into_list = matches!(
            tokens
                .split_last()
                .map(|(_, list)| crate::pointer::lookup(&model, list)),
            Some(Some(Value::Array(_)))
        );
        let mut site = locate(
            doc,
            index,
            &crate::pointer::to_pointer(&keys[..existing]).to_string(),
        );
        site.pointer = crate::pointer::to_pointer(&keys).to_string();
        // A new list item goes before the one at its index: nothing was there.
        if existing < keys.len() || (into_list && matches!(op.op, PatchOperation::Add(_))) {
            site.found = None;
        }
        out.push(site);
        if let Some((last, list)) = tokens.split_last()
            && let Some(Value::Array(items)) = crate::pointer::lookup(&model, list)
        {
            match &op.op {
                PatchOperation::Add(_) => {
                    let k = if last == "-" {
                        Some(items.len())
                    } else {
                        last.parse().ok()
                    };
                    if let Some(k) = k {
                        shifts.push((list.to_vec(), k, true));
                    }
                }
                PatchOperation::Remove(_) => {
                    if let Ok(k) = last.parse() {
                        shifts.push((list.to_vec(), k, false));
                    }
                }
                _ => {}
            }
        }
        if out.len() < ops.len() {
            let _ = json_patch::patch(model.to_mut(), std::slice::from_ref(&op.op));
        }
    }
    out
}

impl FileChange {
    /// For a values file: each op that stands for a template field, with the template line
    /// and the rendered pointer it changes (what a render check may see differ).
    pub fn vias(&self) -> Vec<(&PlannedOp, &crate::change::Via)> {
        self.docs
            .iter()
            .flat_map(|(_, ops)| ops)
            .filter_map(|o| o.via.as_ref().map(|v| (o, v)))
            .collect()
    }

    /// Names of the recipes with ops in this file, in order of first appearance.
    pub fn recipes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let names = self
            .docs
            .iter()
            .flat_map(|(_, ops)| ops.iter().map(|o| &o.recipe));
        for name in names.chain(self.text_ops.iter().map(|t| &t.recipe)) {
            if !out.iter().any(|r| **r == **name) {
                out.push(name.to_string());
            }
        }
        out
    }
}
