//! Masks every template of the shared corpus (`../shared/corpus/charts/*/templates/**`):
//! unmask must give back the exact bytes of every file, and the masked `.yaml`/`.yml`
//! templates must parse as YAML (at least 90% of them; the real rate is printed).
//!
//! Run with `cargo test --test template_corpus -- --nocapture` to see the figures.

mod common;

use std::path::{Path, PathBuf};

use patcher::doc::template::mask;
use serde::Deserialize;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn templates(charts: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(charts) else {
        return files;
    };
    let mut charts: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    charts.sort();
    for chart in charts {
        collect(&chart.join("templates"), &mut files);
    }
    files
}

/// Parses every document of `text` into JSON values; on failure, the 1-based line and reason.
/// (Stops at the first error: the document iterator does not advance past one.)
fn parse_all(text: &str) -> Result<Vec<serde_json::Value>, (usize, String)> {
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        match serde_json::Value::deserialize(doc) {
            Ok(v) => docs.push(v),
            Err(e) => {
                let line = e.location().map_or(0, |l| l.line());
                return Err((line, e.to_string()));
            }
        }
    }
    Ok(docs)
}

/// The first duplicate-key error of `text` (parsed as `yaml_serde::Value`, whose mappings
/// reject duplicate keys), if any.
fn duplicate_key(text: &str) -> Option<(usize, String)> {
    for doc in yaml_serde::Deserializer::from_str(text) {
        if let Err(e) = yaml_serde::Value::deserialize(doc) {
            let msg = e.to_string();
            if msg.contains("duplicate entry") {
                return Some((e.location().map_or(0, |l| l.line()), msg));
            }
            return None;
        }
    }
    None
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn corpus_templates_mask_unmask_and_parse() {
    let charts = common::corpus().join("charts");
    let files = templates(&charts);
    assert!(!files.is_empty(), "no templates under {}", charts.display());

    let (mut masked_ok, mut mask_err, mut yaml_files, mut parse_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut mask_errors = Vec::new();
    let mut duplicates = Vec::new();
    let mut lost_kind = Vec::new();
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for path in &files {
        let Ok(src) = std::fs::read_to_string(path) else {
            continue;
        };
        bytes += src.len();
        let rel = path
            .strip_prefix(&charts)
            .unwrap_or(path)
            .display()
            .to_string();
        let m = match mask(&src) {
            Ok(m) => m,
            Err(e) => {
                mask_err += 1;
                mask_errors.push(format!("{rel}:{}:{}: {}", e.line, e.col, e.message));
                continue;
            }
        };
        masked_ok += 1;
        assert_eq!(m.text.len(), src.len(), "{rel}: masked length differs");
        assert!(m.unmask(&src) == src, "{rel}: unmask(mask(x)) != x");
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        );
        if !yaml {
            continue;
        }
        yaml_files += 1;
        match parse_all(&m.text) {
            Ok(docs) => {
                parse_ok += 1;
                // Hiding branches must not hide a whole resource: a source with a top-level
                // `kind:` line keeps a document with a `kind`.
                let src_kind = src.lines().any(|l| l.starts_with("kind:"));
                if src_kind && !docs.iter().any(|d| d.get("kind").is_some()) {
                    lost_kind.push(rel.clone());
                }
                if let Some((line, reason)) = duplicate_key(&m.text) {
                    duplicates.push((rel, line, reason));
                }
            }
            Err((line, reason)) => failures.push((rel, line, reason)),
        }
    }
    let elapsed = started.elapsed();

    eprintln!("\ncorpus templates: {}", files.len());
    eprintln!("  masked ok:      {masked_ok}");
    eprintln!("  mask errors:    {mask_err}");
    for e in &mask_errors {
        eprintln!("    {e}");
    }
    eprintln!("  unmask identity: {masked_ok}/{masked_ok}");
    let rate = if yaml_files == 0 {
        100.0
    } else {
        parse_ok as f64 * 100.0 / yaml_files as f64
    };
    eprintln!("  yaml templates: {yaml_files}, parse ok: {parse_ok} ({rate:.1}%)");
    eprintln!("  mask+parse time: {elapsed:?} for {bytes} bytes");
    for (rel, line, reason) in failures.iter().take(40) {
        eprintln!("    {rel}:{line}: {reason}");
    }
    if failures.len() > 15 {
        eprintln!("    ... and {} more", failures.len() - 15);
    }
    eprintln!(
        "  parse ok but a mapping repeats a key: {}",
        duplicates.len()
    );
    for (rel, line, reason) in duplicates.iter().take(15) {
        eprintln!("    {rel}:{line}: {reason}");
    }
    eprintln!(
        "  parse ok but no document keeps the source's `kind:`: {}",
        lost_kind.len()
    );
    for rel in &lost_kind {
        eprintln!("    {rel}");
    }
    assert!(
        lost_kind.is_empty(),
        "masking hid whole resources: {lost_kind:?}"
    );
    assert!(rate >= 90.0, "parse rate {rate:.1}% < 90%");
}
