//! Issue 22, item 6: every template of the corpus (`../shared/corpus/charts/*/templates/**`)
//! and every `define` body in it either masks into YAML that parses, or is refused naming the
//! action (file:line:col, its text) and its shape — never a bare YAML error about masked text.
//! Text that is not YAML with no action near it (a define that prints prose) is refused
//! showing the line as written. The refusals are printed grouped by shape with counts
//! (`cargo test --test corpus_masking -- --nocapture`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use patcher::doc::template::{mask, reads};
use patcher::doc::{Document, FileKind};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `it is a control action …; put each branch …` → `is a control action …`: the shape, to
/// group refusals by.
fn shape(message: &str) -> String {
    let Some((_, rest)) = message.split_once("cannot be masked: it ") else {
        return message.to_string();
    };
    let upto = rest.find([';', '(', ':']).unwrap_or(rest.len());
    rest[..upto].trim().to_string()
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn every_corpus_template_and_define_masks_or_is_refused_naming_the_action() {
    let corpus = common::corpus();
    let mut files = Vec::new();
    let mut charts: Vec<PathBuf> = std::fs::read_dir(corpus.join("charts"))
        .expect("charts")
        .map(|e| e.expect("entry").path())
        .collect();
    charts.sort();
    for c in &charts {
        collect(&c.join("templates"), &mut files);
    }
    let (mut templates, mut defines) = (0, 0);
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut note = |what: String, message: String| {
            if message.contains("template action `") && message.contains("cannot be masked: it ") {
                refused.entry(shape(&message)).or_default().push(what);
            } else if message.contains("no template action is to blame: line ") {
                // Text that is not YAML without any action (a define printing prose).
                refused
                    .entry("is text that is not YAML, with no action to blame".into())
                    .or_default()
                    .push(what);
            } else {
                unexplained.push(format!("{what}: {message}"));
            }
        };
        let yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        if yaml {
            templates += 1;
            if let Err(e) = Document::parse(&rel, text.clone(), FileKind::HelmTemplate) {
                note(format!("{rel}:{}:{}", e.line, e.col), e.message);
            }
        }
        let Ok(m) = mask(&text) else { continue };
        for d in reads::defines(&rel, &m, &text) {
            defines += 1;
            if let Err(e) = Document::parse(&d.file, d.body, FileKind::HelmTemplate) {
                note(
                    format!("define \"{}\" {}:{}:{}", d.name, d.file, e.line, e.col),
                    e.message,
                );
            }
        }
    }
    eprintln!(
        "\n{templates} templates, {defines} defines; refused by shape ({} in all):",
        refused.values().map(Vec::len).sum::<usize>()
    );
    let mut by_count: Vec<_> = refused.iter().collect();
    by_count.sort_by_key(|(s, v)| (std::cmp::Reverse(v.len()), (*s).clone()));
    for (s, v) in by_count {
        eprintln!("  {:3}  it {s}", v.len());
        for w in v {
            eprintln!("         {w}");
        }
    }
    assert!(templates > 500, "only {templates} templates");
    assert!(
        unexplained.is_empty(),
        "{} refusals do not name the action and its shape:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
