//! The corpus test: every real chart and workflow in ../shared/corpus loads; every template
//! masks and unmasks byte-identically; and a generated edit suite per file (replace a leaf,
//! add a key to a nested mapping, append to a list, remove a key, ensure a list item from a
//! YAML snippet) either verifies or is refused with a named reason — never a wrong write.
//! "Wrong" is checked independently of patcher's own model: for files without templates the
//! new text, read by yaml_serde, must equal yaml_serde's reading of the old text plus the ops.
//!
//! Run with `cargo test --test corpus -- --nocapture` to see the counts.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use json_patch::PatchOperation;
use patcher::change::PlannedOp;
use patcher::doc::{Document, FileKind, NodeKind, template};
use patcher::edit::{self, verify};
use patcher::recipe::Origin;
use serde_json::{Value, json};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn all_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    yaml_files(&corpus.join("charts"), &mut files);
    yaml_files(&corpus.join("workflows"), &mut files);
    files.sort();
    files
}

#[derive(Default)]
struct Tally {
    attempted: usize,
    verified: usize,
    refused: BTreeMap<String, usize>,
    wrong: Vec<String>,
}

/// The kinds of generated edits.
const KINDS: [&str; 5] = [
    "replace-leaf",
    "add-nested-key",
    "append-item",
    "remove-key",
    "ensure-item",
];

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn corpus_files_load_and_generated_edits_verify_or_are_refused() {
    let corpus = common::corpus();
    let files = all_files(&corpus);
    assert!(
        files.len() > 500,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let mut load_errors = Vec::new();
    let mut model_mismatch = Vec::new();
    let mut tallies: BTreeMap<(bool, &str), Tally> = BTreeMap::new();
    let mut loaded = 0;
    for path in &files {
        let rel = path.strip_prefix(&corpus).unwrap_or(path);
        let kind = FileKind::detect(&corpus, rel);
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                load_errors.push(format!("{}: {e}", rel.display()));
                continue;
            }
        };
        let doc = match Document::parse(rel, text.clone(), kind) {
            Ok(d) => d,
            Err(e) => {
                load_errors.push(e.to_string());
                continue;
            }
        };
        loaded += 1;
        let templated = doc.masked.is_some();
        if !templated {
            // Our model, read as YAML 1.2, must agree with yaml_serde on every document.
            let ours = Document::parse(rel, text.clone(), FileKind::Yaml).map(|d| d.models());
            let theirs = serde_models(&text);
            // A comments-only file has no document; yaml_serde reads it as one null.
            let empty = |m: &Vec<Value>| m.is_empty() || m.as_slice() == [Value::Null];
            if let (Ok(a), Some(b)) = (ours, theirs)
                && a != b
                && !(empty(&a) && empty(&b))
            {
                model_mismatch.push(rel.display().to_string());
            }
        }
        for (k, ops) in generate(&doc) {
            let t = tallies.entry((templated, k)).or_default();
            t.attempted += 1;
            match run_edit(&doc, ops.clone()) {
                Ok(new_text) => {
                    if !templated && let Err(why) = independent_check(&text, &new_text, &ops) {
                        t.wrong.push(format!("{} [{k}]: {why}", rel.display()));
                    } else {
                        t.verified += 1;
                    }
                }
                Err(reason) => {
                    if std::env::var_os("CORPUS_VERBOSE")
                        .is_some_and(|v| reason.contains(v.to_str().unwrap_or("")))
                    {
                        eprintln!("verify refusal: {} [{k}]: {reason}", rel.display());
                    }
                    *t.refused.entry(reason).or_default() += 1
                }
            }
        }
    }

    eprintln!(
        "\ncorpus: {} YAML files, {loaded} loaded, {} load errors",
        files.len(),
        load_errors.len()
    );
    for e in load_errors.iter().take(20) {
        eprintln!("  load error: {e}");
    }
    eprintln!(
        "model disagreements with yaml_serde: {}",
        model_mismatch.len()
    );
    for m in model_mismatch.iter().take(10) {
        eprintln!("  {m}");
    }
    let mut summary = BTreeMap::new();
    for ((templated, kind), t) in &tallies {
        let label = if *templated {
            "templates"
        } else {
            "plain YAML"
        };
        eprintln!(
            "  {label:10} {kind:15} attempted {:4}  verified {:4}  refused {:4}  wrong {}",
            t.attempted,
            t.verified,
            t.refused.values().sum::<usize>(),
            t.wrong.len()
        );
        for (reason, n) in &t.refused {
            eprintln!("      refused {n:4}× {reason}");
        }
        let s = summary.entry(*templated).or_insert((0usize, 0usize));
        s.0 += t.attempted;
        s.1 += t.verified;
    }
    let wrong: Vec<&String> = tallies.values().flat_map(|t| &t.wrong).collect();
    for w in &wrong {
        eprintln!("  WRONG: {w}");
    }
    for (templated, (attempted, verified)) in &summary {
        let pct = 100.0 * *verified as f64 / (*attempted).max(1) as f64;
        eprintln!(
            "{}: {verified}/{attempted} edits verified ({pct:.1}%)",
            if *templated {
                "templates"
            } else {
                "plain YAML"
            }
        );
    }
    assert!(wrong.is_empty(), "{} wrong writes", wrong.len());
    assert!(
        model_mismatch.is_empty(),
        "models disagree with yaml_serde: {model_mismatch:?}"
    );
    let loaded_pct = 100.0 * loaded as f64 / files.len() as f64;
    assert!(
        loaded_pct >= 99.0,
        "only {loaded_pct:.1}% of corpus files load"
    );
    let (pa, pv) = summary.get(&false).copied().unwrap_or((0, 0));
    assert!(
        pv as f64 >= 0.98 * pa as f64,
        "plain YAML: {pv}/{pa} verified (< 98%)"
    );
    let (ta, tv) = summary.get(&true).copied().unwrap_or((0, 0));
    assert!(
        tv as f64 >= 0.90 * ta as f64,
        "templates: {tv}/{ta} verified (< 90%)"
    );
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn every_corpus_template_masks_and_unmasks_byte_identically() {
    let corpus = common::corpus();
    let mut n = 0;
    let mut errors = 0;
    for path in all_files(&corpus)
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "templates"))
    {
        let text = std::fs::read_to_string(path).expect("read");
        match template::mask(&text) {
            Ok(m) => {
                assert_eq!(m.text.len(), text.len(), "{}", path.display());
                assert_eq!(m.unmask(&text), text, "{}", path.display());
                n += 1;
            }
            Err(_) => errors += 1,
        }
    }
    eprintln!("templates: {n} masked and unmasked byte-identically, {errors} not maskable");
    assert!(n > 500);
}

fn serde_models(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for d in yaml_serde::Deserializer::from_str(text) {
        out.push(Value::deserialize(d).ok()?);
    }
    Some(out)
}

fn origin() -> Origin {
    Origin {
        file: Arc::new("corpus-suite.kdl".into()),
        line: 1,
        col: 1,
    }
}

fn planned(op: PatchOperation, snippet: Option<(String, &str)>) -> PlannedOp {
    PlannedOp {
        op,
        recipe: Arc::from("suite"),
        origin: origin(),
        snippet: snippet.map(|(at, y)| (at, Arc::from(y))),
        placement: None,
        via: None,
    }
}

fn run_edit(doc: &Document, ops: Vec<(usize, Vec<PlannedOp>)>) -> Result<String, String> {
    let edited = edit::edit(doc, &ops).map_err(|r| normalize(&r.message))?;
    verify::verify(doc, &edited.text, &edited.splices, &ops)
        .map_err(|r| format!("verify: {}", normalize(&r.message)))?;
    Ok(edited.text)
}

/// Groups refusal messages by their reason (line numbers and names stripped).
fn normalize(msg: &str) -> String {
    let mut out = String::new();
    let mut in_tick = false;
    for c in msg.chars() {
        if c == '`' {
            in_tick = !in_tick;
            if in_tick {
                out.push_str("`…`");
            }
            continue;
        }
        if !in_tick {
            out.push(if c.is_ascii_digit() { '#' } else { c });
        }
    }
    out
}

/// The yaml_serde reading of the new text equals the yaml_serde reading of the old text with
/// the ops applied.
fn independent_check(old: &str, new: &str, ops: &[(usize, Vec<PlannedOp>)]) -> Result<(), String> {
    let mut expected = serde_models(old).ok_or("old text unreadable by yaml_serde")?;
    for (i, doc_ops) in ops {
        let raw: Vec<PatchOperation> = doc_ops.iter().map(|o| o.op.clone()).collect();
        json_patch::patch(&mut expected[*i], &raw).map_err(|e| e.to_string())?;
    }
    let got = serde_models(new).ok_or("new text unreadable by yaml_serde")?;
    if got == expected {
        Ok(())
    } else {
        Err("yaml_serde reads something else than the planned patch".into())
    }
}

/// Generates one edit of each kind for the first document with a mapping root.
/// Ops grouped by document index, as `edit::edit` takes them.
type DocOps = Vec<(usize, Vec<PlannedOp>)>;

fn generate(doc: &Document) -> Vec<(&'static str, DocOps)> {
    let Some((index, ydoc)) = doc
        .docs
        .iter()
        .enumerate()
        .find(|(_, d)| d.model.is_object())
    else {
        return Vec::new();
    };
    let model = &ydoc.model;
    let mut out = Vec::new();
    let wrap = |ops: Vec<PlannedOp>| vec![(index, ops)];
    let mut paths = Vec::new();
    collect(model, &mut Vec::new(), &mut paths);
    let block = |p: &[String]| {
        ydoc.tree.lookup(p).is_some_and(|id| {
            !matches!(
                ydoc.tree.node(id).kind,
                NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
            )
        })
    };
    // replace-leaf: the first scalar leaf.
    if let Some((p, v)) = paths
        .iter()
        .find(|(_, v)| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
    {
        let new = match v {
            Value::String(s) => Value::String(format!("{s}-patched")),
            Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) as i64 + 1),
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        };
        out.push((
            KINDS[0],
            wrap(vec![planned(
                PatchOperation::Replace(json_patch::ReplaceOperation {
                    path: ptr(p),
                    value: new,
                }),
                None,
            )]),
        ));
    }
    // add-nested-key: the first non-empty mapping at depth >= 2.
    if let Some((p, _)) = paths
        .iter()
        .find(|(p, v)| p.len() >= 2 && matches!(v, Value::Object(m) if !m.is_empty()) && block(p))
    {
        let mut k = p.clone();
        k.push("patcherAdded".into());
        out.push((
            KINDS[1],
            wrap(vec![planned(
                PatchOperation::Add(json_patch::AddOperation {
                    path: ptr(&k),
                    value: json!({"enabled": true, "note": "added by patcher"}),
                }),
                None,
            )]),
        ));
    }
    // append-item: the first non-empty list.
    if let Some((p, Value::Array(a))) = paths
        .iter()
        .find(|(p, v)| matches!(v, Value::Array(a) if !a.is_empty()) && block(p))
    {
        let mut k = p.clone();
        k.push(a.len().to_string());
        let value = if a[0].is_object() {
            json!({"name": "patcher-added", "value": "x"})
        } else {
            json!("patcher-added")
        };
        out.push((
            KINDS[2],
            wrap(vec![planned(
                PatchOperation::Add(json_patch::AddOperation {
                    path: ptr(&k),
                    value,
                }),
                None,
            )]),
        ));
    }
    // remove-key: the last key of the first nested mapping with at least two keys.
    if let Some((p, Value::Object(m))) = paths
        .iter()
        .find(|(p, v)| !p.is_empty() && matches!(v, Value::Object(m) if m.len() >= 2))
    {
        let mut k = p.clone();
        k.push(m.keys().next_back().cloned().unwrap_or_default());
        out.push((
            KINDS[3],
            wrap(vec![planned(
                PatchOperation::Remove(json_patch::RemoveOperation { path: ptr(&k) }),
                None,
            )]),
        ));
    }
    // ensure-item: a snippet item appended to the first list of mappings.
    if let Some((p, Value::Array(a))) = paths.iter().find(|(p, v)| {
        matches!(v, Value::Array(a) if a.first().is_some_and(Value::is_object)) && block(p)
    }) {
        let mut k = p.clone();
        k.push(a.len().to_string());
        let snippet = "name: wait-for-it  # added by patcher\nimage: busybox:1.36\nargs:\n  - |\n    until nc -z db 5432; do\n      sleep 5\n    done\n";
        let value: Value = yaml_serde::from_str(snippet).expect("snippet");
        let at = ptr(&k).to_string();
        out.push((
            KINDS[4],
            wrap(vec![planned(
                PatchOperation::Add(json_patch::AddOperation {
                    path: ptr(&k),
                    value,
                }),
                Some((at, snippet)),
            )]),
        ));
    }
    out
}

fn collect<'a>(v: &'a Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Value)>) {
    out.push((at.clone(), v));
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(k.clone());
                collect(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(i.to_string());
                collect(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn ptr(keys: &[String]) -> jsonptr::PointerBuf {
    patcher::pointer::to_pointer(keys)
}
