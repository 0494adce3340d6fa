//! The model each parser builds, side by side: every YAML file of ../shared/corpus is loaded
//! through patcher's event source (saphyr-parser) and through libyaml-rs (its former source,
//! kept as an oracle in tests/support/libyaml_events.rs), and the two documents must agree:
//! the same files load, and each has the same documents, JSON models, node kinds, spans, key
//! spans and refusal marks. A difference is printed with the file, the node and both answers.

mod common;
#[path = "support/libyaml_events.rs"]
mod libyaml_events;

use std::path::{Path, PathBuf};

use patcher::doc::{Document, FileKind, NodeKind, Tree};

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

/// One node as a line of text: kind, span (with its text) and marks, for a readable diff.
fn describe(tree: &Tree, text: &str, id: usize) -> String {
    let n = tree.node(id);
    let kind = match &n.kind {
        NodeKind::Scalar { style } => format!("scalar {style:?}"),
        NodeKind::Mapping { flow, entries } => {
            let keys: Vec<String> = entries
                .iter()
                .map(|e| format!("{:?}@{}..{}", e.key, e.key_span.0, e.key_span.1))
                .collect();
            format!("mapping flow={flow} [{}]", keys.join(", "))
        }
        NodeKind::Sequence { flow, items } => format!("sequence flow={flow} len={}", items.len()),
        NodeKind::Alias => "alias".to_string(),
    };
    let span = text
        .get(n.start..n.end)
        .unwrap_or("<not at char boundaries>");
    let span: String = span.chars().take(60).collect();
    format!(
        "{kind} {}..{} {span:?} special={:?} dup={}",
        n.start, n.end, n.special, n.duplicate_keys
    )
}

/// The first difference between two loads of one file, if any.
fn difference(ours: &Document, theirs: &Document) -> Option<String> {
    if ours.docs.len() != theirs.docs.len() {
        return Some(format!(
            "{} documents, libyaml {}",
            ours.docs.len(),
            theirs.docs.len()
        ));
    }
    for (a, b) in ours.docs.iter().zip(&theirs.docs) {
        let d = a.index;
        if (a.start, a.end) != (b.start, b.end) {
            return Some(format!(
                "document {d} spans {}..{}, libyaml {}..{}",
                a.start, a.end, b.start, b.end
            ));
        }
        if a.model != b.model {
            return Some(format!("document {d} model differs"));
        }
        if a.tree.nodes.len() != b.tree.nodes.len() || a.tree.root != b.tree.root {
            return Some(format!(
                "document {d}: {} nodes, libyaml {}",
                a.tree.nodes.len(),
                b.tree.nodes.len()
            ));
        }
        for id in 0..a.tree.nodes.len() {
            if a.tree.nodes[id] != b.tree.nodes[id] {
                let line = ours
                    .line_col(a.tree.nodes[id].start.min(b.tree.nodes[id].start))
                    .0;
                return Some(format!(
                    "document {d} line {line} node {id}:\n    saphyr:  {}\n    libyaml: {}",
                    describe(&a.tree, &ours.text, id),
                    describe(&b.tree, &theirs.text, id)
                ));
            }
        }
    }
    None
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn saphyr_and_libyaml_build_the_same_model_and_spans_on_the_corpus() {
    let corpus = common::corpus();
    let mut files = Vec::new();
    yaml_files(&corpus.join("charts"), &mut files);
    yaml_files(&corpus.join("workflows"), &mut files);
    files.sort();
    assert!(
        files.len() > 500,
        "corpus looks incomplete: {}",
        files.len()
    );
    let (mut same, mut both_refused, mut nodes) = (0, 0, 0);
    let mut differ = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&corpus).unwrap_or(path);
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let kind = FileKind::detect(&corpus, rel);
        let ours = Document::parse(rel, text.clone(), kind);
        let theirs = Document::parse_using(rel, text, kind, &libyaml_events::Libyaml);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => match difference(a, b) {
                None => {
                    same += 1;
                    nodes += a.docs.iter().map(|d| d.tree.nodes.len()).sum::<usize>();
                }
                Some(why) => differ.push(format!("{}: {why}", rel.display())),
            },
            (Err(_), Err(_)) => both_refused += 1,
            (Ok(_), Err(e)) => differ.push(format!("{}: only libyaml refuses: {e}", rel.display())),
            (Err(e), Ok(_)) => differ.push(format!("{}: only saphyr refuses: {e}", rel.display())),
        }
    }
    eprintln!(
        "parser differential: {} files; {same} identical ({nodes} nodes), {both_refused} refused \
         by both, {} differ",
        files.len(),
        differ.len()
    );
    for d in &differ {
        eprintln!("  {d}");
    }
    assert!(
        differ.is_empty(),
        "{} files differ (listed above)",
        differ.len()
    );
}
