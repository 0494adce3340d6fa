//! Conformance on the official YAML test suite (../shared/yaml-test-suite, the suite's `data`
//! branch: one directory per case, or per case and number, holding `in.yaml`, `test.event`
//! and, for a case that must be rejected, `error`).
//!
//! - Every valid case's events, as patcher's event source gives them, equal its `test.event`
//!   line by line: kind, flow style, anchor, tag, scalar style and value, `---` and `...`.
//! - Every `error` case is rejected.
//! - Every valid case with a mapping takes three edits through patcher's editor (add a key,
//!   replace a key's value, remove a key); each is refused or verified, and a verified edit's
//!   text, parsed again, reads as the old model with the patch applied, by patcher and, where
//!   it reads the case as patcher does, by yaml_serde. At most [`MAX_REFUSED_PERCENT`] are
//!   refused. A wider check replaces every key of the mapping by a string and by a mapping,
//!   and removes it.
//!
//! The cases that still fail are listed with a reason in tests/data/yaml-suite-known.txt: the
//! test fails on a case not listed there, and on a listed case that now passes (so the list
//! only shrinks). Run with `-- --nocapture` for the figures.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use json_patch::PatchOperation;
use patcher::change::PlannedOp;
use patcher::doc::events::{self, EventKind, ScalarStyle};
use patcher::doc::{Document, FileKind, NodeKind, Tree};
use patcher::edit::{self, verify};
use patcher::recipe::Origin;
use serde_json::Value;

struct Case {
    id: String,
    yaml: String,
    /// `None` for an `error` case.
    events: Option<String>,
}

fn cases(suite: &Path) -> Vec<Case> {
    let mut dirs = Vec::new();
    let mut stack = vec![suite.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                if p.join("in.yaml").is_file() {
                    dirs.push(p.clone());
                }
                stack.push(p);
            }
        }
    }
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let id = d
                .strip_prefix(suite)
                .unwrap_or(&d)
                .to_string_lossy()
                .replace('\\', "/");
            let read = |f: &str| std::fs::read_to_string(d.join(f));
            let error = d.join("error").exists();
            Case {
                id,
                yaml: read("in.yaml").expect("in.yaml"),
                events: if error { None } else { read("test.event").ok() },
            }
        })
        .collect()
}

/// The suite's escaping of scalar values in `test.event`.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            c => out.push(c),
        }
    }
    out
}

fn props(anchor: &Option<Box<str>>, tag: &Option<Box<str>>) -> String {
    let mut out = String::new();
    if let Some(a) = anchor {
        out.push_str(&format!(" &{a}"));
    }
    if let Some(t) = tag {
        out.push_str(&format!(" <{t}>"));
    }
    out
}

/// patcher's events of `yaml` in the suite's `test.event` notation.
fn event_lines(yaml: &str) -> Result<Vec<String>, events::SyntaxError> {
    let evs = events::parse(yaml)?;
    Ok(evs
        .iter()
        .map(|e| match &e.kind {
            EventKind::StreamStart => "+STR".to_string(),
            EventKind::StreamEnd => "-STR".to_string(),
            EventKind::DocumentStart { explicit } => {
                if *explicit { "+DOC ---" } else { "+DOC" }.to_string()
            }
            EventKind::DocumentEnd => if e.end > e.start { "-DOC ..." } else { "-DOC" }.to_string(),
            EventKind::Alias { name } => format!("=ALI *{name}"),
            EventKind::Scalar {
                value,
                style,
                tag,
                anchor,
            } => {
                let s = match style {
                    ScalarStyle::Plain => ':',
                    ScalarStyle::SingleQuoted => '\'',
                    ScalarStyle::DoubleQuoted => '"',
                    ScalarStyle::Literal => '|',
                    ScalarStyle::Folded => '>',
                };
                format!("=VAL{} {s}{}", props(anchor, tag), escape(value))
            }
            EventKind::SequenceStart { flow, tag, anchor } => {
                format!(
                    "+SEQ{}{}",
                    if *flow { " []" } else { "" },
                    props(anchor, tag)
                )
            }
            EventKind::MappingStart { flow, tag, anchor } => {
                format!(
                    "+MAP{}{}",
                    if *flow { " {}" } else { "" },
                    props(anchor, tag)
                )
            }
            EventKind::SequenceEnd => "-SEQ".to_string(),
            EventKind::MappingEnd => "-MAP".to_string(),
        })
        .collect())
}

/// The first line where two event streams part, if they do.
fn first_difference(ours: &[String], expected: &str) -> Option<String> {
    let expected: Vec<&str> = expected.lines().collect();
    for i in 0..ours.len().max(expected.len()) {
        let (a, b) = (ours.get(i).map(String::as_str), expected.get(i).copied());
        if a != b {
            return Some(format!(
                "event {}: expected {:?}, got {:?}",
                i + 1,
                b.unwrap_or("<end>"),
                a.unwrap_or("<end>")
            ));
        }
    }
    None
}

/// `id reason` lines of tests/data/yaml-suite-known.txt.
fn known() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/yaml-suite-known.txt");
    let text = std::fs::read_to_string(&path).expect("tests/data/yaml-suite-known.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_string(), why.trim().to_string())
        })
        .collect()
}

fn suite() -> PathBuf {
    let dir = common::shared().join("yaml-test-suite");
    assert!(
        dir.join("229Q/in.yaml").is_file(),
        "{} not found although build.rs found it: `touch build.rs` to re-probe",
        dir.display()
    );
    dir
}

#[test]
#[cfg_attr(
    not(has_yaml_test_suite),
    ignore = "needs yaml-test-suite: ../shared/yaml-test-suite (its `data` branch; clone this repository beside shared/)"
)]
fn every_suite_case_is_accepted_or_rejected_and_gives_its_events() {
    let cases = cases(&suite());
    assert!(
        cases.len() > 350,
        "suite looks incomplete: {} cases",
        cases.len()
    );
    let known = known();
    let (mut valid, mut accepted, mut streams, mut invalid, mut rejected) = (0, 0, 0, 0, 0);
    let mut failing: BTreeMap<String, String> = BTreeMap::new();
    for case in &cases {
        let got = event_lines(&case.yaml);
        match (&case.events, got) {
            (Some(expected), Ok(lines)) => {
                valid += 1;
                accepted += 1;
                match first_difference(&lines, expected) {
                    None => streams += 1,
                    Some(why) => {
                        failing.insert(case.id.clone(), format!("events differ: {why}"));
                    }
                }
            }
            (Some(_), Err(e)) => {
                valid += 1;
                failing.insert(
                    case.id.clone(),
                    format!("valid, rejected: {} (line {})", e.message, e.line),
                );
            }
            (None, Err(_)) => {
                invalid += 1;
                rejected += 1;
            }
            (None, Ok(_)) => {
                invalid += 1;
                failing.insert(case.id.clone(), "invalid, accepted".to_string());
            }
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    eprintln!(
        "yaml-test-suite: {} cases; valid accepted {accepted}/{valid}, invalid rejected \
         {rejected}/{invalid} (accept/reject {:.1}%); event streams as expected {streams}/{valid} \
         ({:.1}%)",
        cases.len(),
        pct(accepted + rejected, valid + invalid),
        pct(streams, valid)
    );
    for (id, why) in &failing {
        eprintln!("  {id}: {why}");
    }
    let new: Vec<&String> = failing
        .keys()
        .filter(|id| !known.contains_key(*id))
        .collect();
    let fixed: Vec<&String> = known
        .keys()
        .filter(|id| !failing.contains_key(*id))
        .collect();
    assert!(
        new.is_empty(),
        "cases failing that tests/data/yaml-suite-known.txt does not list: {new:?}"
    );
    assert!(
        fixed.is_empty(),
        "cases listed in tests/data/yaml-suite-known.txt that now pass (remove them): {fixed:?}"
    );
    assert_eq!(
        accepted + rejected,
        valid + invalid,
        "every case accepted or rejected as it should"
    );
    assert!(
        pct(streams, valid) >= 98.0,
        "event streams: {streams}/{valid}"
    );
}

fn planned(op: PatchOperation) -> PlannedOp {
    PlannedOp {
        op,
        recipe: Arc::from("suite"),
        origin: Origin {
            file: Arc::new("yaml-suite.kdl".into()),
            line: 1,
            col: 1,
        },
        snippet: None,
        placement: None,
        via: None,
    }
}

/// The first mapping with a key (depth first, the root first), anchored, tagged or not: its
/// path, and its keys that appear once (a repeated key names two entries).
fn first_mapping(
    tree: &Tree,
    id: usize,
    at: &mut Vec<String>,
) -> Option<(Vec<String>, Vec<String>)> {
    let node = tree.node(id);
    match &node.kind {
        NodeKind::Mapping { entries, .. } if !entries.is_empty() => {
            let keys = entries
                .iter()
                .filter(|e| entries.iter().filter(|o| o.key == e.key).count() == 1)
                .map(|e| e.key.clone())
                .collect();
            Some((at.clone(), keys))
        }
        NodeKind::Mapping { .. } => None,
        NodeKind::Sequence { items, .. } => items.iter().enumerate().find_map(|(i, &c)| {
            at.push(i.to_string());
            let r = first_mapping(tree, c, at);
            at.pop();
            r
        }),
        _ => None,
    }
}

/// Every document of `text` as yaml_serde (libyaml's reading, independent of patcher's
/// parser) gives it; `None` where it rejects the text or a value has no JSON form.
fn serde_models(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).ok())
        .collect()
}

fn pointer(keys: &[String]) -> jsonptr::PointerBuf {
    jsonptr::PointerBuf::from_tokens(keys.iter().map(|k| jsonptr::Token::new(k.as_str())))
}

/// add / replace / remove a key of the case's first mapping: `(kind, document, op)`; `None`
/// when no key of it appears once (a JSON Pointer names only the last of repeated keys).
#[allow(clippy::type_complexity)]
fn edits(doc: &Document) -> Vec<(&'static str, usize, Option<PatchOperation>)> {
    let found = doc.docs.iter().find_map(|d| {
        first_mapping(&d.tree, d.tree.root, &mut Vec::new()).map(|(p, k)| (d.index, p, k))
    });
    let Some((index, path, keys)) = found else {
        return ["add", "replace", "remove"].map(|k| (k, 0, None)).to_vec();
    };
    let key = |k: &str| {
        let mut p = path.clone();
        p.push(k.to_string());
        pointer(&p)
    };
    vec![
        (
            "add",
            index,
            Some(PatchOperation::Add(json_patch::AddOperation {
                path: key("patcher_added"),
                value: Value::String("added by patcher".into()),
            })),
        ),
        (
            "replace",
            index,
            keys.first().map(|k| {
                PatchOperation::Replace(json_patch::ReplaceOperation {
                    path: key(k),
                    value: Value::String("replaced".into()),
                })
            }),
        ),
        (
            "remove",
            index,
            keys.last()
                .map(|k| PatchOperation::Remove(json_patch::RemoveOperation { path: key(k) })),
        ),
    ]
}

/// Every key of the case's first mapping replaced by a string, replaced by a mapping, and
/// removed: the wider check (`None` as in [`edits`]).
#[allow(clippy::type_complexity)]
fn every_key_edits(doc: &Document) -> Vec<(&'static str, usize, Option<PatchOperation>)> {
    let found = doc.docs.iter().find_map(|d| {
        first_mapping(&d.tree, d.tree.root, &mut Vec::new()).map(|(p, k)| (d.index, p, k))
    });
    let Some((index, path, keys)) = found else {
        return vec![("replace", 0, None)];
    };
    if keys.is_empty() {
        return vec![("replace", index, None)];
    }
    let mut out = Vec::new();
    for k in &keys {
        let mut p = path.clone();
        p.push(k.clone());
        let path = pointer(&p);
        out.push((
            "replace",
            index,
            Some(PatchOperation::Replace(json_patch::ReplaceOperation {
                path: path.clone(),
                value: Value::String("replaced".into()),
            })),
        ));
        out.push((
            "replace by a mapping",
            index,
            Some(PatchOperation::Replace(json_patch::ReplaceOperation {
                path: path.clone(),
                value: serde_json::json!({"m": 1, "n": [1, "two"]}),
            })),
        ));
        out.push((
            "remove",
            index,
            Some(PatchOperation::Remove(json_patch::RemoveOperation { path })),
        ));
    }
    out
}

/// What an edit check found.
#[derive(Default)]
struct Check {
    attempted: usize,
    verified: usize,
    /// Verified edits that yaml_serde also reads as the patch.
    cross_checked: usize,
    refused: BTreeMap<String, Vec<String>>,
    wrong: Vec<String>,
    /// Verified edits of cases yaml_serde reads (as patcher does) whose edited text it
    /// rejects, though patcher, the suite and YAML 1.2 read it as the patch.
    libyaml_rejects: Vec<String>,
    no_json: Vec<String>,
}

impl Check {
    fn refused(&self) -> usize {
        self.refused.values().map(Vec::len).sum()
    }

    fn refused_percent(&self) -> f64 {
        100.0 * self.refused() as f64 / self.attempted.max(1) as f64
    }

    /// Refused by design: an alias elsewhere copies the node the edit changes or removes
    /// (the planned patch leaves the alias's value as it was, the edited text would not).
    fn by_design(&self) -> usize {
        self.refused
            .iter()
            .filter(|(why, _)| why.contains("the alias *"))
            .map(|(_, ids)| ids.len())
            .sum()
    }

    fn print(&self, name: &str) {
        eprintln!(
            "yaml-test-suite {name}: {} attempted, {} verified, {} refused ({:.1}%; {} of them \
             by design: an alias elsewhere would see the change), {} wrong ({} of the verified \
             also read as the patch by yaml_serde, which reads those cases as patcher does); {} \
             cases not counted (a collection as a mapping key, which no JSON model holds): {}",
            self.attempted,
            self.verified,
            self.refused(),
            self.refused_percent(),
            self.by_design(),
            self.wrong.len(),
            self.cross_checked,
            self.no_json.len(),
            self.no_json.join(" ")
        );
        for (why, ids) in &self.refused {
            eprintln!("  refused {}× {why}: {}", ids.len(), ids.join(" "));
        }
        for w in &self.libyaml_rejects {
            eprintln!("  yaml_serde rejects the edited text: {w}");
        }
        for w in &self.wrong {
            eprintln!("  WRONG: {w}");
        }
    }
}

#[allow(clippy::type_complexity)]
fn edit_check(edits: fn(&Document) -> Vec<(&'static str, usize, Option<PatchOperation>)>) -> Check {
    let cases = cases(&suite());
    // PATCHER_SUITE_SHOW="ID ID": print those cases' edits, for debugging.
    let show = std::env::var("PATCHER_SUITE_SHOW").unwrap_or_default();
    let show: Vec<&str> = show.split_whitespace().collect();
    let mut c = Check::default();
    for case in cases.iter().filter(|c| c.events.is_some()) {
        let has_mapping = case.events.as_deref().is_some_and(|e| e.contains("+MAP"));
        let doc = match Document::parse(&case.id, case.yaml.clone(), FileKind::Yaml) {
            Ok(d) => d,
            Err(e) if e.message.starts_with("a mapping key that is not a") => {
                // A collection as a key: no JSON model holds it, so no JSON Patch names it.
                c.no_json.push(case.id.clone());
                continue;
            }
            Err(e) => {
                if has_mapping {
                    c.attempted += 1;
                    c.refused
                        .entry(format!("load: {}", e.message))
                        .or_default()
                        .push(case.id.clone());
                }
                continue;
            }
        };
        if !doc.docs.iter().any(|d| {
            d.tree.nodes.iter().any(
                |n| matches!(&n.kind, NodeKind::Mapping { entries, .. } if !entries.is_empty()),
            )
        }) {
            continue;
        }
        // yaml_serde's reading of the case, where it reads it as patcher does.
        let independent_old = serde_models(&case.yaml).filter(|old| *old == doc.models());
        for (kind, index, op) in edits(&doc) {
            c.attempted += 1;
            let Some(op) = op else {
                c.refused
                    .entry(format!("{kind}: no key of the mapping appears once"))
                    .or_default()
                    .push(case.id.clone());
                continue;
            };
            let ops = vec![(index, vec![planned(op.clone())])];
            if show.iter().any(|s| *s == case.id) {
                let e = edit::edit(&doc, &ops);
                eprintln!(
                    "--- {} [{kind}] {:?}\n{}\n--- edited:\n{}",
                    case.id,
                    op,
                    case.yaml,
                    e.map_or_else(|r| format!("refused: {}", r.message), |e| e.text)
                );
            }
            let result = edit::edit(&doc, &ops).map_err(|r| r.message).and_then(|e| {
                verify::verify(&doc, &e.text, &e.splices, &ops)
                    .map(|_| e.text)
                    .map_err(|r| format!("verify: {}", r.message))
            });
            let text = match result {
                Err(why) => {
                    let why: String = why.chars().take(90).collect();
                    c.refused
                        .entry(format!("{kind}: {why}"))
                        .or_default()
                        .push(case.id.clone());
                    continue;
                }
                Ok(text) => text,
            };
            let mut expected = doc.models();
            json_patch::patch(&mut expected[index], &[op]).expect("patch");
            let at = format!("{} [{kind}]", case.id);
            match Document::parse(&case.id, text.clone(), FileKind::Yaml) {
                Ok(new) if new.models() == expected => {}
                Ok(_) => {
                    c.wrong.push(format!("{at}: reads otherwise"));
                    continue;
                }
                Err(e) => {
                    c.wrong.push(format!("{at}: does not parse: {e}"));
                    continue;
                }
            }
            // An independent reader that reads the case as patcher does must read the edit
            // as the patch too.
            match independent_old.as_ref().map(|_| serde_models(&text)) {
                None => c.verified += 1,
                Some(Some(new)) if new == expected => {
                    c.verified += 1;
                    c.cross_checked += 1;
                }
                Some(Some(_)) => c.wrong.push(format!("{at}: yaml_serde reads otherwise")),
                Some(None) => {
                    c.verified += 1;
                    c.libyaml_rejects.push(at);
                }
            }
        }
    }
    c
}

/// Most edits of the suite's mappings that may be refused, in percent of those attempted
/// (issue 23's goal). The refusals are listed by reason with `-- --nocapture`.
const MAX_REFUSED_PERCENT: f64 = 5.0;

/// The same bound for the wider check (every key replaced by a string and by a mapping, and
/// removed): today's figure is 4.5%, 40 of its 42 refusals by design (an alias would see the
/// change).
const MAX_REFUSED_PERCENT_EVERY_KEY: f64 = 5.0;

/// Edits that yaml_serde (libyaml) cannot read back although it reads the original: DK95/05
/// has a blank line of a space and a tab (` \t`) between two keys; libyaml reads it there but
/// not after a new block value or at the start of the text, where YAML 1.2 (and the suite)
/// read it as a blank line.
const LIBYAML_REJECTS_EDIT: &[&str] = &["DK95/05 [replace by a mapping]", "DK95/05 [remove]"];

#[test]
#[cfg_attr(
    not(has_yaml_test_suite),
    ignore = "needs yaml-test-suite: ../shared/yaml-test-suite (its `data` branch; clone this repository beside shared/)"
)]
fn edits_of_every_suite_mapping_verify_or_are_refused_and_none_is_wrong() {
    let c = edit_check(edits);
    c.print("edits (add, replace and remove a key)");
    assert!(c.wrong.is_empty(), "{} wrong edits", c.wrong.len());
    assert!(
        c.libyaml_rejects.is_empty(),
        "yaml_serde rejects edits: {:?}",
        c.libyaml_rejects
    );
    assert!(
        c.refused_percent() <= MAX_REFUSED_PERCENT,
        "{}/{} edits refused (> {MAX_REFUSED_PERCENT}%)",
        c.refused(),
        c.attempted
    );
}

#[test]
#[cfg_attr(
    not(has_yaml_test_suite),
    ignore = "needs yaml-test-suite: ../shared/yaml-test-suite (its `data` branch; clone this repository beside shared/)"
)]
fn every_key_of_every_suite_mapping_is_replaced_or_removed_and_none_is_wrong() {
    let c = edit_check(every_key_edits);
    c.print("every-key edits (replace by a string, by a mapping, remove)");
    assert!(c.wrong.is_empty(), "{} wrong edits", c.wrong.len());
    assert_eq!(
        c.libyaml_rejects, LIBYAML_REJECTS_EDIT,
        "edits yaml_serde rejects (LIBYAML_REJECTS_EDIT lists the known ones)"
    );
    assert!(
        c.refused_percent() <= MAX_REFUSED_PERCENT_EVERY_KEY,
        "{}/{} edits refused (> {MAX_REFUSED_PERCENT_EVERY_KEY}%)",
        c.refused(),
        c.attempted
    );
}
